import Testing
import ActionsProtocol
import ActionsDomain
@testable import ActionsPolicy

func attempt(_ email: String, ip: String? = nil, type: ActionType = .userRegistration, at timeMs: Int64 = 0) -> Attempt {
    Attempt(type: type, timeMs: timeMs, email: email, ip: ip)
}

func entry(_ id: Int64, _ effect: ListEffect, _ kind: EntryKind, _ value: String, scope: RuleScope = .all,
           shadow: Bool = false, expiresMs: Int64? = nil) throws -> ListEntry {
    ListEntry(id: id, effect: effect, kind: kind, value: try ListEntry.normalize(value, kind: kind), scope: scope,
              shadow: shadow, expiresMs: expiresMs)
}

/// A deny entry.
func entry(_ id: Int64, _ kind: EntryKind, _ value: String, scope: RuleScope = .all, shadow: Bool = false,
           expiresMs: Int64? = nil) throws -> ListEntry {
    try entry(id, .deny, kind, value, scope: scope, shadow: shadow, expiresMs: expiresMs)
}

@Suite struct RuleBookTests {
    @Test func entriesHonourKindScopeWildcardsAndExpiry() throws {
        let book = RuleBook(RuleSet(entries: [
            try entry(1, .domain, "gmail.com"),
            try entry(2, .domain, "*.corp.example"),
            try entry(3, .email, "eve@x.io", scope: .authentication),
            try entry(4, .ip, "10.0.0.0/8", expiresMs: 1000),
            try entry(5, .ip, "2001:db8::/32"),
        ]))
        func match(_ a: Attempt, nowMs: Int64 = 0) -> Int64? { book.match(.deny, a, nowMs: nowMs)?.id }
        #expect(match(attempt("A@GMAIL.COM")) == 1)
        #expect(match(attempt("a@mail.gmail.com")) == nil, "gmail.com does not cover subdomains")
        #expect(match(attempt("a@eu.corp.example")) == 2)
        #expect(match(attempt("a@deep.eu.corp.example")) == 2)
        #expect(match(attempt("a@corp.example")) == nil, "*.corp.example does not cover the apex")
        #expect(match(attempt("a@xcorp.example")) == nil, "a suffix must start at a label")
        #expect(match(attempt("eve@x.io")) == nil, "scoped to authentication")
        #expect(match(attempt("Eve@X.io", type: .authentication)) == 3)
        #expect(match(attempt("a@b.c", ip: "10.1.2.3"), nowMs: 999) == 4)
        #expect(match(attempt("a@b.c", ip: "10.1.2.3"), nowMs: 1000) == nil, "expired")
        #expect(match(attempt("a@b.c", ip: "2001:db8:0:1::9")) == 5)
        #expect(match(attempt("a@b.c", ip: "not an ip")) == nil)
        #expect(book.match(.allow, attempt("a@gmail.com"), nowMs: 0) == nil, "deny entries are not allow entries")
    }

    @Test func theMostSpecificNetworkMatchesFirst() throws {
        let book = RuleBook(RuleSet(entries: [try entry(1, .ip, "10.0.0.0/8"), try entry(2, .ip, "10.1.2.0/24"),
                                              try entry(3, .ip, "10.1.2.3"), try entry(4, .ip, "::/0")]))
        #expect(book.match(.deny, attempt("a@b.c", ip: "10.1.2.3"), nowMs: 0)?.id == 3)
        #expect(book.match(.deny, attempt("a@b.c", ip: "10.1.2.4"), nowMs: 0)?.id == 2)
        #expect(book.match(.deny, attempt("a@b.c", ip: "10.9.9.9"), nowMs: 0)?.id == 1)
        #expect(book.match(.deny, attempt("a@b.c", ip: "11.0.0.1"), nowMs: 0) == nil, "::/0 is IPv6 only")
        #expect(book.match(.deny, attempt("a@b.c", ip: "2001:db8::1"), nowMs: 0)?.id == 4)
    }

    @Test func variantsCannotSlipPastEntries() throws {
        let book = RuleBook(RuleSet(entries: [try entry(1, .domain, "bücher.de"), try entry(2, .email, "CEO@Example.com"),
                                              try entry(3, .ip, "203.0.113.0/24"), try entry(4, .domain, "*.evil.test")]))
        func denied(_ email: String, ip: String? = nil) -> Bool { book.match(.deny, attempt(email, ip: ip), nowMs: 0) != nil }
        for email in ["a@bücher.de", "a@BÜCHER.de", "a@xn--bcher-kva.de", "a@bücher.de.", "a@XN--BCHER-KVA.DE",
                      "ceo@example.com", "CEO@EXAMPLE.COM.", "ｃｅｏ@example.com", "x@a.evil.test.", "x@A.EVIL.TEST"] {
            #expect(denied(email), "\(email)")
        }
        #expect(denied("ok@example.org", ip: "::ffff:203.0.113.5"), "IPv4-mapped IPv6 is the IPv4 address")
        #expect(denied("ok@example.org", ip: "::FFFF:203.0.113.200"))
        #expect(!denied("ok@example.org", ip: "::ffff:203.0.114.5"))
        #expect(!denied("ok@example.org", ip: "2001:db8::203.0.113.5"), "only the mapped prefix is IPv4")
        #expect(!denied("ceo@example.org"))
        #expect(!denied("x@evil.test"), "*. covers subdomains only")
    }
}

@Suite struct RuleBookScaleTests {
    /// The membership filter in front of the tables may let absent keys through, never hide a
    /// present one: every one of thousands of entries still matches, wildcards at every depth too.
    @Test func theFilterNeverHidesAnEntry() throws {
        var entries: [ListEntry] = []
        for i in 0..<3000 {
            entries.append(try entry(Int64(entries.count + 1), .domain, "d\(i).example"))
            entries.append(try entry(Int64(entries.count + 1), .domain, "*.w\(i).\(i % 3 == 0 ? "deep.sub." : "")example"))
            entries.append(try entry(Int64(entries.count + 1), .ip, "10.\(i % 256).\(i / 256).0/\(16 + i % 9)"))
        }
        let book = RuleBook(RuleSet(entries: entries))
        for i in 0..<3000 {
            #expect(book.match(.deny, attempt("a@D\(i).example"), nowMs: 0) != nil, "d\(i)")
            let parent = "w\(i).\(i % 3 == 0 ? "deep.sub." : "")example"
            #expect(book.match(.deny, attempt("a@x.y.\(parent)"), nowMs: 0) != nil, "*.\(parent)")
            #expect(book.match(.deny, attempt("a@\(parent)"), nowMs: 0) == nil, "the apex of *.\(parent)")
            #expect(book.match(.deny, attempt("a@b.c", ip: "10.\(i % 256).\(i / 256).0"), nowMs: 0) != nil)
        }
        #expect(book.match(.deny, attempt("a@d3000.example", ip: "11.0.0.1"), nowMs: 0) == nil)
    }
}
