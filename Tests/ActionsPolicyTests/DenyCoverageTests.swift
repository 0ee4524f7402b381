import Testing
import ActionsProtocol
import ActionsDomain
@testable import ActionsPolicy

/// "Already denied by rule N": a deny entry covers a new one when it denies every attempt the new
/// one would, and no allow entry of the same kind lets some through.
@Suite struct DenyCoverageTests {
    let now: Int64 = 1_800_000_000_000

    func covering(_ kind: EntryKind, _ value: String, scope: RuleScope = .all, in entries: [ListEntry]) -> Int64? {
        DenyCoverage.coveringEntry(for: ListEntry(kind: kind, value: value, scope: scope), in: RuleSet(entries: entries), nowMs: now)?.id
    }

    @Test func theSameValueAWildcardOrAWiderNetworkCovers() {
        let rules = [ListEntry(id: 1, kind: .domain, value: "*.spam.example"),
                     ListEntry(id: 2, kind: .ip, value: "203.0.113.0/24"),
                     ListEntry(id: 3, kind: .email, value: "eve@example.com"),
                     ListEntry(id: 4, kind: .domain, value: "bad.example")]
        #expect(covering(.domain, "mx.spam.example", in: rules) == 1)
        #expect(covering(.domain, "*.eu.spam.example", in: rules) == 1)
        #expect(covering(.email, "bot@mx.spam.example", in: rules) == 1, "a domain deny covers every address at it")
        #expect(covering(.domain, "example.com", in: rules) == nil, "an email entry covers one address, not its domain")
        #expect(covering(.ip, "203.0.113.77", in: rules) == 2)
        #expect(covering(.ip, "203.0.113.128/25", in: rules) == 2)
        #expect(covering(.ip, "203.0.112.0/23", in: rules) == nil, "a wider network is not covered by a narrower one")
        #expect(covering(.email, "eve@example.com", in: rules) == 3)
        #expect(covering(.domain, "bad.example", in: rules) == 4)
        #expect(covering(.domain, "*.bad.example", in: rules) == nil, "an exact domain does not cover its subdomains")
        #expect(covering(.domain, "other.example", in: rules) == nil)
    }

    @Test func anAllowEntryShadowExpiryOrNarrowerScopeLeavesItUncovered() {
        let base = [ListEntry(id: 1, kind: .ip, value: "203.0.113.0/24"), ListEntry(id: 2, kind: .domain, value: "*.spam.example")]
        #expect(covering(.ip, "203.0.113.0/24", in: base + [ListEntry(id: 9, effect: .allow, kind: .ip, value: "203.0.113.5")]) == nil)
        #expect(covering(.domain, "mx.spam.example", in: base + [ListEntry(id: 9, effect: .allow, kind: .domain, value: "mx.spam.example")]) == nil)
        #expect(covering(.ip, "203.0.113.9", in: [ListEntry(id: 1, kind: .ip, value: "203.0.113.0/24", shadow: true)]) == nil)
        #expect(covering(.ip, "203.0.113.9", in: [ListEntry(id: 1, kind: .ip, value: "203.0.113.0/24", expiresMs: now - 1)]) == nil)
        let authOnly = [ListEntry(id: 1, kind: .ip, value: "203.0.113.0/24", scope: .authentication)]
        #expect(covering(.ip, "203.0.113.9", in: authOnly) == nil, "a new entry for both types is not covered by one for logins")
        #expect(covering(.ip, "203.0.113.9", scope: .authentication, in: authOnly) == 1)
    }
}
