import Testing
import ActionsProtocol
import ActionsDomain
@testable import ActionsPolicy

@Suite struct PrecedenceTests {
    func evaluate(_ book: RuleBook, _ a: Attempt, counter: RateCounter? = nil, lockout: LoginFailures? = nil) -> LocalVerdict {
        PolicyEvaluator.evaluate(a, book: book, counter: counter, lockout: lockout)
    }

    @Test func anAllowEntryBeatsDenyEntries() throws {
        // An imported disposable list names proton.me; the operator allows it, and one address inside a blocked domain.
        let book = RuleBook(RuleSet(entries: [try entry(1, .domain, "proton.me"), try entry(2, .domain, "mailinator.com"),
                                              try entry(3, .allow, .domain, "proton.me"),
                                              try entry(4, .allow, .email, "qa@mailinator.com")]))
        let proton = evaluate(book, attempt("a@Proton.me"))
        #expect(!proton.denied)
        #expect(proton.rule == 3, "the allow entry is the deciding rule")
        #expect(!evaluate(book, attempt("QA@mailinator.com")).denied)
        let other = evaluate(book, attempt("x@mailinator.com"))
        #expect(other.denied && other.rule == 2)
        #expect(other.message == PolicyEvaluator.defaultMessage(.domain))
        let untouched = evaluate(book, attempt("x@example.com"))
        #expect(!untouched.denied && untouched.rule == nil)
    }

    @Test func anAllowEntryBeatsRateRulesButNotALockout() throws {
        let rate = RateRule(id: 9, key: .ip, limit: 1, windowMs: 60_000, message: "slow down")
        let book = RuleBook(RuleSet(entries: [try entry(5, .allow, .ip, "198.51.100.0/24")], rates: [rate]))
        let counter = RateCounter()
        #expect(!evaluate(book, attempt("a@x.io", ip: "198.51.100.7", at: 1), counter: counter).denied)
        let second = evaluate(book, attempt("b@x.io", ip: "198.51.100.7", at: 2), counter: counter)
        #expect(!second.denied && second.rule == 5, "the office network is exempt from the rate rule")
        let elsewhere = [evaluate(book, attempt("a@x.io", ip: "203.0.113.1", at: 3), counter: counter),
                         evaluate(book, attempt("a@x.io", ip: "203.0.113.1", at: 4), counter: counter)]
        #expect(!elsewhere[0].denied && elsewhere[1].denied && elsewhere[1].rule == 9 && elsewhere[1].message == "slow down")

        let locked = LoginFailures(email: "a@x.io", failures: 5, windowStartMs: 0, lockedUntilMs: 600_000, updatedMs: 0)
        let login = evaluate(book, attempt("a@x.io", ip: "198.51.100.7", type: .authentication, at: 10), lockout: locked)
        #expect(login.denied, "an allow entry does not lift a lockout")
        #expect(login.rule == nil && login.reason?.contains("locked out") == true)
    }

    @Test func shadowRulesAreLoggedAndChangeNoVerdict() throws {
        let book = RuleBook(RuleSet(entries: [try entry(1, .domain, "spam.test", shadow: true),
                                              try entry(2, .domain, "bad.test"),
                                              try entry(3, .allow, .email, "vip@bad.test", shadow: true)],
                                    rates: [RateRule(id: 4, key: .domain, limit: 1, windowMs: 60_000, shadow: true)]))
        let counter = RateCounter()
        let wouldDeny = evaluate(book, attempt("a@spam.test", at: 1), counter: counter)
        #expect(!wouldDeny.denied && wouldDeny.rule == nil)
        #expect(wouldDeny.shadowRule == 1 && wouldDeny.shadowReason?.contains("would deny") == true)
        let wouldAllow = evaluate(book, attempt("vip@bad.test", at: 2), counter: counter)
        #expect(wouldAllow.denied && wouldAllow.rule == 2 && wouldAllow.shadowRule == 3)
        #expect(evaluate(book, attempt("b@ok.test", at: 3), counter: counter).shadowRule == nil)
        let overShadowRate = evaluate(book, attempt("c@ok.test", at: 4), counter: counter)
        #expect(!overShadowRate.denied && overShadowRate.shadowRule == 4, "a shadow rate rule only logs")
    }
}
