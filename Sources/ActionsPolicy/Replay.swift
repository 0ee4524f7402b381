import ActionsProtocol
import ActionsDomain

/// Re-evaluates logged decisions against local policy (no endpoint calls), in log order, with
/// rate windows rebuilt from the same events: what `actionsctl replay` prints, and the impact
/// preview of a rule before it is added.
package struct Replay {
    package struct RuleImpact: Sendable, Equatable {
        /// Allowed attempts the rule would deny.
        package var newlyDenied = 0
        /// Attempts a rule denied that would no longer be denied by local policy.
        package var noLongerDenied = 0
        /// Distinct people (normalized emails, else addresses) among the newly denied.
        package var users: Set<String> = []
    }

    package let book: RuleBook
    package let foldAddresses: Bool
    private let counter = RateCounter()
    package private(set) var examined = 0
    package private(set) var changed = 0
    /// By the rule that changes the verdict.
    package private(set) var impact: [Int64: RuleImpact] = [:]

    package init(book: RuleBook, foldAddresses: Bool = false) {
        self.book = book
        self.foldAddresses = foldAddresses
    }

    /// Takes the next logged decision. Test decisions and invalid requests are not replayed.
    package mutating func add(_ event: Event) {
        guard event.isAttempt else { return }
        examined += 1
        let attempt = Attempt(event)
        let local = PolicyEvaluator.evaluate(attempt, book: book, counter: counter,
                                             options: .init(record: true, foldAddresses: foldAddresses))
        if local.denied, event.verdict == .allow, let rule = local.rule {
            changed += 1
            impact[rule, default: RuleImpact()].newlyDenied += 1
            impact[rule]?.users.insert(attempt.email.isEmpty ? (event.ip ?? "") : attempt.email)
        } else if !local.denied, event.verdict == .deny, event.decidedBy == .policy, let was = event.ruleId {
            // A lockout (no rule id) is state, not a rule: it is not replayed.
            changed += 1
            impact[local.rule ?? was, default: RuleImpact()].noLongerDenied += 1
        }
    }

    /// The id a previewed rule takes: it is not in the store.
    package static let candidateID: Int64 = -1

    /// The book with a candidate rule added, for a preview.
    package static func withCandidate(_ rules: RuleSet, entry: ListEntry? = nil, rate: RateRule? = nil) -> RuleBook {
        var rules = rules
        if var entry {
            entry.id = candidateID
            entry.shadow = false
            rules.entries.append(entry)
        }
        if var rate {
            rate.id = candidateID
            rate.shadow = false
            rules.rates.append(rate)
        }
        return RuleBook(rules)
    }
}

extension DecisionLog {
    /// Replays the decisions logged since `sinceMs` through `replay`, a page at a time.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func replay(_ replay: inout Replay, sinceMs: Int64) throws(Failure) {
        try forEachEvent(sinceMs: sinceMs) { replay.add($0) }
    }
}

/// "would have denied N of the last 24 h's allowed attempts (M distinct users)", for
/// `deny add --preview`, `rate add --preview` and the dashboard.
package enum ImpactPreview {
    package static let windowMs: Int64 = 24 * 3_600_000

    /// Entries are compared in their normalized spelling, as they will be stored. Normalizing is
    /// idempotent, so an entry its caller normalized already is left as it is; one that cannot be
    /// normalized cannot be stored either, and its caller has refused it before this.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package static func run<Log: DecisionLog>(_ store: Log, entry: ListEntry? = nil, rate: RateRule? = nil,
                                             nowMs: Int64 = WallClock.nowMs()) throws(Log.Failure) -> Replay.RuleImpact {
        var entry = entry
        if let candidate = entry, let normalized = try? ListEntry.normalize(candidate.value, kind: candidate.kind) {
            entry?.value = normalized
        }
        let rules = try store.rules(includeExpired: false, nowMs: nowMs)
        var replay = Replay(book: Replay.withCandidate(rules, entry: entry, rate: rate), foldAddresses: try store.foldAddresses())
        try store.replay(&replay, sinceMs: nowMs - windowMs)
        return replay.impact[Replay.candidateID] ?? Replay.RuleImpact()
    }

    package static func sentence(_ impact: Replay.RuleImpact) -> String {
        let n = impact.newlyDenied, m = impact.users.count
        return "would have denied \(n) of the last 24 h's allowed attempts (\(m) distinct user\(m == 1 ? "" : "s"))"
    }
}
