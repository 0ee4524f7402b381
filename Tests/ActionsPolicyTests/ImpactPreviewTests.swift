import Testing
import ActionsProtocol
import ActionsDomain
@testable import ActionsPolicy

/// Policy reads the log only through `DecisionLog`: here a log in memory, no database at all.
@Suite struct ImpactPreviewTests {
    struct MemoryLog: DecisionLog {
        typealias Failure = Never
        var events: [Event]
        var ruleSet = RuleSet()

        func maxEventID() -> Int64 { events.compactMap(\.id).max() ?? 0 }
        func firstEventID(atOrAfterMs ms: Int64) -> Int64 { (events.first { $0.timeMs >= ms }?.id ?? maxEventID() + 1) - 1 }
        func forEachAttempt(after afterID: Int64, pageSize: Int, _ body: (LoggedAttempt) -> Void) -> Int64 {
            for event in events where (event.id ?? 0) > afterID && event.isAttempt {
                body(LoggedAttempt(id: event.id ?? 0, timeMs: event.timeMs, actionType: event.actionType, email: event.email,
                                   ip: event.ip, node: event.node))
            }
            return maxEventID()
        }
        func forEachEvent(sinceMs: Int64, _ body: (Event) -> Void) { events.filter { $0.timeMs >= sinceMs }.forEach(body) }
        func rules(includeExpired: Bool, nowMs: Int64) -> RuleSet { ruleSet }
        func foldAddresses() -> Bool { false }
    }

    static let nowMs: Int64 = 1_800_000_000_000

    static func allowed(_ id: Int64, _ email: String, hoursAgo: Int64 = 1) -> Event {
        Event(id: id, uid: "evt_\(id)", timeMs: nowMs - hoursAgo * 3_600_000, actionType: .userRegistration, actionId: "act_\(id)",
              email: email, emailDomain: Normalize.emailAndDomain(email).domain, ip: "198.51.100.\(id % 200)",
              verdict: .allow, decidedBy: .endpoint)
    }

    /// An entry as an operator types it (any case, a trailing dot) previews as it will be stored.
    @Test func aPreviewCountsTheLastDaysAllowedAttemptsTheEntryWouldDeny() throws {
        let log = MemoryLog(events: [
            Self.allowed(1, "a@mailinator.com"), Self.allowed(2, "b@Mailinator.com"), Self.allowed(3, "a@mailinator.com"),
            Self.allowed(4, "c@example.com"), Self.allowed(5, "old@mailinator.com", hoursAgo: 30),
        ])
        for typed in ["mailinator.com", "MAILINATOR.COM.", " Mailinator.com "] {
            let impact = ImpactPreview.run(log, entry: ListEntry(kind: .domain, value: typed), nowMs: Self.nowMs)
            #expect(impact.newlyDenied == 3, "\(typed)")
            #expect(impact.users == ["a@mailinator.com", "b@mailinator.com"], "\(typed)")
        }
        let none = ImpactPreview.run(log, entry: ListEntry(kind: .domain, value: "example.org"), nowMs: Self.nowMs)
        #expect(none.newlyDenied == 0)
    }
}
