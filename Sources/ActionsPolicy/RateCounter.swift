import Synchronization
import ActionsProtocol
import ActionsDomain

/// What a rate rule counts one attempt under: an address, a network, a domain or an account.
package enum RateSubject: Hashable, Sendable {
    case network(AddressBits)
    case text(String)

    /// The subject this attempt counts under for `key`; nil when the attempt has none (no IP,
    /// no email), and then the rule does not apply.
    package static func of(_ attempt: Attempt, key: RateKey, foldAddresses: Bool) -> RateSubject? {
        switch key {
        case .ip: return attempt.address.map { .network(AddressBits($0)) }
        case .ipPrefix:
            // IPv4 /24 (of the 128-bit mapped form, /120), IPv6 /64.
            return attempt.address.map { .network(AddressBits($0).masked($0.isIPv4 ? 120 : 64)) }
        case .domain: return attempt.domain.isEmpty ? nil : .text(attempt.domain)
        case .email: return attempt.email.isEmpty ? nil : .text(Normalize.accountKey(attempt.email, foldAddresses: foldAddresses))
        }
    }
}

/// Sliding-window counts for rate rules: per rule and subject, the times of the last `limit`
/// attempts. An attempt is over the limit when `limit` attempts already fall inside the window
/// before it, so the window is exact and never resets on a boundary; memory is at most `limit`
/// times per subject.
///
/// Every attempt in a rule's scope counts, denied ones included, so that a client that keeps
/// retrying stays limited. Attempts may arrive out of order (other nodes' decisions, read from
/// the shared log a moment later); they are inserted in time order.
///
/// Bounded: at most `maxSubjects` subjects are tracked over all rules (each holds at most `limit`
/// times). Past that, the subjects seen least recently are forgotten first, an eighth of the
/// bound at a time, and counted (`evicted`): a flood of distinct emails cannot grow memory
/// without end, and what it pushes out are the subjects idle longest.
package final class RateCounter: Sendable {
    private struct State {
        var windows: [Int64: [RateSubject: [Int64]]] = [:]
        var subjects = 0
        var evicted = 0
    }
    private let state = Mutex(State())
    package let maxSubjects: Int

    package static let defaultMaxSubjects = 200_000

    package init(maxSubjects: Int = RateCounter.defaultMaxSubjects) {
        self.maxSubjects = max(1, maxSubjects)
    }

    /// Subjects forgotten to stay within `maxSubjects`, since the start.
    package var evicted: Int { state.withLock { $0.evicted } }

    package struct Count: Sendable {
        package var rule: RateRule
        /// Attempts inside the window before this one (at most the limit).
        package var before: Int
        package var isOver: Bool { before >= rule.limit }
    }

    /// Counts the attempt under every active rule in scope (unless `record` is false: a test or
    /// a preview only looks) and returns each rule's count before it.
    package func admit(_ attempt: Attempt, rules: [RateRule], foldAddresses: Bool, record: Bool = true) -> [Count] {
        var counts: [Count] = []
        let now = attempt.timeMs
        let maxSubjects = self.maxSubjects
        state.withLock { state in
            for rule in rules where rule.scope.covers(attempt.type) && rule.isActive(nowMs: now) {
                guard let subject = RateSubject.of(attempt, key: rule.key, foldAddresses: foldAddresses) else { continue }
                let start = now - rule.windowMs
                let times = state.windows[rule.id]?[subject] ?? []
                // Times are sorted; count those inside (start, now] from the newest back.
                var inside = 0
                for time in times.reversed() { if time > start && time <= now { inside += 1 } else if time <= start { break } }
                counts.append(Count(rule: rule, before: inside))
                guard record else { continue }
                if times.isEmpty { state.subjects += 1 }
                Self.insert(now, into: &state.windows[rule.id, default: [:]][subject, default: []], keep: rule.limit)
            }
            if state.subjects > maxSubjects { Self.evictOldest(&state, keeping: maxSubjects - max(1, maxSubjects / 8)) }
        }
        return counts
    }

    /// Forgets the subjects whose newest attempt is oldest until `keeping` remain.
    private static func evictOldest(_ state: inout State, keeping: Int) {
        var newest: [(time: Int64, rule: Int64, subject: RateSubject)] = []
        newest.reserveCapacity(state.subjects)
        for (rule, subjects) in state.windows {
            for (subject, times) in subjects { newest.append((times.last ?? 0, rule, subject)) }
        }
        newest.sort { $0.time < $1.time }
        let excess = newest.count - keeping
        guard excess > 0 else { return }
        for entry in newest.prefix(excess) { state.windows[entry.rule]?[entry.subject] = nil }
        state.subjects = newest.count - excess
        state.evicted += excess
    }

    private static func insert(_ time: Int64, into times: inout [Int64], keep: Int) {
        if let last = times.last, last > time {
            let position = times.firstIndex { $0 > time } ?? times.endIndex
            times.insert(time, at: position)
        } else {
            times.append(time)
        }
        if times.count > keep { times.removeFirst(times.count - keep) }
    }

    /// Forgets rules no longer in `rules`, and subjects whose newest attempt left the window.
    package func prune(rules: [RateRule], nowMs: Int64) {
        let windowByID = Dictionary(rules.map { ($0.id, $0.windowMs) }, uniquingKeysWith: { a, _ in a })
        state.withLock { state in
            for (id, subjects) in state.windows {
                guard let window = windowByID[id] else { state.windows[id] = nil; continue }
                state.windows[id] = subjects.filter { ($0.value.last ?? 0) > nowMs - window }
            }
            state.subjects = state.windows.values.reduce(0) { $0 + $1.count }
        }
    }

    /// Forgets everything (before counts are rebuilt from the log).
    package func reset() {
        state.withLock { state in
            state.windows = [:]
            state.subjects = 0
        }
    }

    /// Subjects tracked, over all rules (for metrics and tests).
    package var subjectCount: Int { state.withLock { $0.subjects } }
}
