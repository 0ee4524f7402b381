import Testing
import ActionsProtocol
import ActionsDomain
@testable import ActionsPolicy

@Suite struct RateCounterTests {
    func over(_ counter: RateCounter, _ rule: RateRule, _ a: Attempt, fold: Bool = false) -> Bool {
        counter.admit(a, rules: [rule], foldAddresses: fold).first?.isOver ?? false
    }

    @Test func theWindowSlidesInsteadOfResetting() {
        // 3 per 10 s. A fixed bucket would let 3 at t=9 s and 3 more at t=10 s through.
        let rule = RateRule(id: 1, key: .ip, limit: 3, windowMs: 10_000)
        let counter = RateCounter()
        for t: Int64 in [9_000, 9_100, 9_200] { #expect(!over(counter, rule, attempt("a@b.c", ip: "192.0.2.1", at: t))) }
        #expect(over(counter, rule, attempt("a@b.c", ip: "192.0.2.1", at: 10_000)), "still three inside (0 s, 10 s]")
        #expect(over(counter, rule, attempt("a@b.c", ip: "192.0.2.1", at: 19_000)), "9.1, 9.2 and 10.0 s are inside (9 s, 19 s]")
        #expect(!over(counter, rule, attempt("a@b.c", ip: "192.0.2.1", at: 20_001)), "only 19.0 s is left inside")
        #expect(!over(counter, rule, attempt("a@b.c", ip: "192.0.2.2", at: 20_001)), "another address has its own count")
    }

    @Test func keysFollowTheNormalization() {
        let counter = RateCounter()
        let prefix = RateRule(id: 1, key: .ipPrefix, limit: 2, windowMs: 60_000)
        #expect(!over(counter, prefix, attempt("a@b.c", ip: "203.0.113.1", at: 1)))
        #expect(!over(counter, prefix, attempt("a@b.c", ip: "::ffff:203.0.113.77", at: 2)), "mapped IPv6 is the same /24")
        #expect(over(counter, prefix, attempt("a@b.c", ip: "203.0.113.200", at: 3)))
        #expect(!over(counter, prefix, attempt("a@b.c", ip: "203.0.114.1", at: 4)))
        let six = RateRule(id: 2, key: .ipPrefix, limit: 1, windowMs: 60_000)
        #expect(!over(counter, six, attempt("a@b.c", ip: "2001:db8:1:2::1", at: 5)))
        #expect(over(counter, six, attempt("a@b.c", ip: "2001:db8:1:2:ffff::9", at: 6)), "one /64")
        #expect(!over(counter, six, attempt("a@b.c", ip: "2001:db8:1:3::1", at: 7)))

        let domain = RateRule(id: 3, key: .domain, limit: 1, windowMs: 60_000)
        #expect(!over(counter, domain, attempt("a@Bücher.de", at: 1)))
        #expect(over(counter, domain, attempt("b@xn--bcher-kva.de.", at: 2)))

        let account = RateRule(id: 4, key: .email, limit: 1, windowMs: 60_000)
        #expect(!over(counter, account, attempt("a.b+1@gmail.com", at: 1), fold: true))
        #expect(over(counter, account, attempt("AB@gmail.com", at: 2), fold: true), "folded: one person")
        #expect(!over(counter, account, attempt("x.y+1@gmail.com", at: 3), fold: false))
        #expect(!over(counter, account, attempt("xy@gmail.com", at: 4), fold: false), "unfolded by default")
    }

    @Test func lateAttemptsFromOtherNodesCountInTimeOrder() {
        let rule = RateRule(id: 1, key: .ip, limit: 2, windowMs: 1000)
        let counter = RateCounter()
        _ = counter.admit(attempt("a@b.c", ip: "192.0.2.1", at: 5000), rules: [rule], foldAddresses: false)
        // Another node's attempt, read from the log afterwards but made earlier.
        _ = counter.admit(attempt("a@b.c", ip: "192.0.2.1", at: 4500), rules: [rule], foldAddresses: false)
        #expect(over(counter, rule, attempt("a@b.c", ip: "192.0.2.1", at: 5100)))
        #expect(over(counter, rule, attempt("a@b.c", ip: "192.0.2.1", at: 5600)), "5.0 and 5.1 s are inside (4.6 s, 5.6 s]")
        counter.prune(rules: [], nowMs: 10_000)
        #expect(counter.subjectCount == 0, "a removed rule's counts are dropped")
    }

    @Test func aTestOrPreviewDoesNotCount() {
        let rule = RateRule(id: 1, key: .ip, limit: 1, windowMs: 1000)
        let counter = RateCounter()
        for t: Int64 in 1...5 { _ = counter.admit(attempt("a@b.c", ip: "192.0.2.1", at: t), rules: [rule], foldAddresses: false, record: false) }
        #expect(!over(counter, rule, attempt("a@b.c", ip: "192.0.2.1", at: 6)))
    }

    @Test func rateSpecsParseAndReject() throws {
        #expect(try RateRule.parse("20/10m") == (20, 600_000))
        #expect(RateRule(key: .ip, limit: 20, windowMs: 600_000).spec == "20/10m")
        #expect(RateRule(key: .ip, limit: 5, windowMs: 90_000).spec == "5/90s")
        for bad in ["20", "0/10m", "20/0m", "x/10m", "20/10", "20/8d", "-1/1m"] {
            #expect(throws: InvalidValue.self, "\(bad)") { try RateRule.parse(bad) }
        }
    }
}

/// A flood of distinct subjects cannot grow the windows without end: past the bound, those seen
/// least recently are forgotten first, and counted.
@Suite struct RateCounterBoundTests {
    @Test func subjectsAreCappedOldestFirst() {
        let counter = RateCounter(maxSubjects: 1000)
        let rule = RateRule(id: 1, key: .email, limit: 3, windowMs: 3_600_000)
        for n in 0..<5000 {
            let attempt = Attempt(type: .userRegistration, timeMs: 1_000_000 + Int64(n), email: "flood\(n)@example.com", ip: nil)
            _ = counter.admit(attempt, rules: [rule], foldAddresses: false)
        }
        #expect(counter.subjectCount <= 1000)
        #expect(counter.evicted >= 4000)
        // The newest subjects are still counted; the oldest were forgotten.
        let newest = Attempt(type: .userRegistration, timeMs: 2_000_000, email: "flood4999@example.com", ip: nil)
        #expect(counter.admit(newest, rules: [rule], foldAddresses: false, record: false).first?.before == 1)
        let oldest = Attempt(type: .userRegistration, timeMs: 2_000_000, email: "flood0@example.com", ip: nil)
        #expect(counter.admit(oldest, rules: [rule], foldAddresses: false, record: false).first?.before == 0)
    }
}
