import ActionsProtocol
import ActionsStore

/// Header figures kept up to date from the tail instead of re-reading the table each tick:
/// a bounded window of recent samples per action type, and per-second buckets for the sparklines.
public struct LiveStats: Sendable, Equatable {
    public var windowMs: Int64 = 60_000
    /// Sparkline buckets: one per second, oldest first.
    public let buckets = 60
    private var samples: [ActionType: [StatSample]] = [:]
    /// Samples older than this are dropped; also caps memory at `maxSamples` per type.
    private let maxSamples = 200_000
    /// When the log began (its oldest event), so rates are not diluted while it is younger than
    /// the window; nil until known.
    public var logStartMs: Int64?

    public init() {}

    /// Test decisions (`actionsctl test`) are left out: they are not traffic.
    public mutating func add(_ events: [Event]) {
        add(events.filter { !$0.isTest }.map(StatSample.init))
    }

    public mutating func add(_ new: [StatSample]) {
        if logStartMs == nil, let first = new.map(\.timeMs).min() { logStartMs = first }
        for sample in new {
            let type = sample.actionType
            samples[type, default: []].append(sample)
        }
    }

    /// Drops what fell out of the window.
    public mutating func expire(nowMs: Int64) {
        for type in samples.keys {
            let cutoff = nowMs - windowMs
            if let first = samples[type]?.firstIndex(where: { $0.timeMs >= cutoff }) {
                if first > 0 { samples[type]?.removeFirst(first) }
            } else {
                samples[type] = []
            }
            if let count = samples[type]?.count, count > maxSamples { samples[type]?.removeFirst(count - maxSamples) }
        }
    }

    public func window(_ type: ActionType, nowMs: Int64) -> WindowStats {
        let list = samples[type] ?? []
        var stats = WindowStats(windowMs: windowMs, samples: list.lazy.map { ($0.verdict, $0.outcome, $0.latencyUs) })
        stats.coveredMs = logStartMs.map { nowMs - $0 }
        return stats
    }

    /// Decisions and denials per second over the last `buckets` seconds, oldest first.
    public func sparkline(_ type: ActionType, nowMs: Int64) -> (decisions: [Int], denials: [Int]) {
        var decisions = Array(repeating: 0, count: buckets)
        var denials = Array(repeating: 0, count: buckets)
        for sample in samples[type] ?? [] {
            let age = Int((nowMs - sample.timeMs) / 1000)
            guard age >= 0, age < buckets else { continue }
            decisions[buckets - 1 - age] += 1
            if sample.verdict == .deny { denials[buckets - 1 - age] += 1 }
        }
        return (decisions, denials)
    }
}
