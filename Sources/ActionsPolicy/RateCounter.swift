import Synchronization
import ActionsProtocol
import ActionsStore

/// What a rate rule counts one attempt under: an address, a network, a domain or an account.
public enum RateSubject: Hashable, Sendable {
    case network(AddressBits)
    case text(String)

    /// The subject this attempt counts under for `key`; nil when the attempt has none (no IP,
    /// no email), and then the rule does not apply.
    public static func of(_ attempt: Attempt, key: RateKey, foldAddresses: Bool) -> RateSubject? {
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
public final class RateCounter: Sendable {
    private let windows = Mutex<[Int64: [RateSubject: [Int64]]]>([:])

    public init() {}

    public struct Count: Sendable {
        public var rule: RateRule
        /// Attempts inside the window before this one (at most the limit).
        public var before: Int
        public var isOver: Bool { before >= rule.limit }
    }

    /// Counts the attempt under every active rule in scope (unless `record` is false: a test or
    /// a preview only looks) and returns each rule's count before it.
    public func admit(_ attempt: Attempt, rules: [RateRule], foldAddresses: Bool, record: Bool = true) -> [Count] {
        var counts: [Count] = []
        let now = attempt.timeMs
        windows.withLock { windows in
            for rule in rules where rule.scope.covers(attempt.type) && rule.isActive(nowMs: now) {
                guard let subject = RateSubject.of(attempt, key: rule.key, foldAddresses: foldAddresses) else { continue }
                let start = now - rule.windowMs
                let times = windows[rule.id]?[subject] ?? []
                // Times are sorted; count those inside (start, now] from the newest back.
                var inside = 0
                for time in times.reversed() { if time > start && time <= now { inside += 1 } else if time <= start { break } }
                counts.append(Count(rule: rule, before: inside))
                if record { Self.insert(now, into: &windows[rule.id, default: [:]][subject, default: []], keep: rule.limit) }
            }
        }
        return counts
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
    public func prune(rules: [RateRule], nowMs: Int64) {
        let windowByID = Dictionary(rules.map { ($0.id, $0.windowMs) }, uniquingKeysWith: { a, _ in a })
        windows.withLock { windows in
            for (id, subjects) in windows {
                guard let window = windowByID[id] else { windows[id] = nil; continue }
                windows[id] = subjects.filter { ($0.value.last ?? 0) > nowMs - window }
            }
        }
    }

    /// Forgets everything (before counts are rebuilt from the log).
    public func reset() { windows.withLock { $0 = [:] } }

    /// Subjects tracked, over all rules (for metrics and tests).
    public var subjectCount: Int { windows.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
