import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The header's time window, cycled with `w`.
package enum StatsWindow: Int, CaseIterable, Sendable {
    case oneMinute, fiveMinutes, oneHour, oneDay

    package var ms: Int64 { [60_000, 300_000, 3_600_000, 86_400_000][rawValue] }
    package var label: String { ["1m", "5m", "1h", "24h"][rawValue] }
    package var next: StatsWindow { StatsWindow(rawValue: (rawValue + 1) % Self.allCases.count) ?? .oneMinute }
}

/// Header figures kept up to date from the tail instead of re-reading the table each tick, for
/// windows of a minute to a day in bounded memory: per action type, one bucket per second for the
/// last five minutes and one per minute for the last day. A bucket counts decisions, denials and
/// failures by outcome, and keeps latencies as a log-scale histogram (8 bins per doubling, so a
/// percentile is within ±4.5 %). About 3 MiB, however busy the server.
package struct LiveStats: Sendable, Equatable {
    package var window: StatsWindow = .oneMinute
    package var windowMs: Int64 { window.ms }
    /// Sparkline points across the window, oldest first.
    package let buckets = 60
    /// When the log began (its oldest event), so rates are not diluted while it is younger than
    /// the window; nil until known.
    package var logStartMs: Int64?
    /// The oldest moment the buckets cover when a reload was capped (a busy log's last day); the
    /// header says so, rather than show a shorter period as the whole window.
    package var coveredSinceMs: Int64?

    private var seconds: [ActionType: Ring] = [:]
    private var minutes: [ActionType: Ring] = [:]

    package init() {}

    /// Test decisions (`actionsctl test`) are left out: they are not traffic.
    package mutating func add(_ events: [Event]) {
        // compactMap, not filter then map: a filtered copy retained every field of every event.
        add(events.compactMap { $0.isTest ? nil : StatSample($0) })
    }

    package mutating func add(_ new: [StatSample]) {
        if logStartMs == nil, let first = new.map(\.timeMs).min() { logStartMs = first }
        for sample in new {
            seconds[sample.actionType, default: Ring(count: 300, spanMs: 1000)].add(sample)
            minutes[sample.actionType, default: Ring(count: 1440, spanMs: 60_000)].add(sample)
        }
    }

    /// Forgets everything (before a reload for another window).
    package mutating func reset() {
        seconds = [:]
        minutes = [:]
        coveredSinceMs = nil
    }

    package func window(_ type: ActionType, nowMs: Int64) -> WindowStats {
        let total = ring(type)?.sum(fromMs: nowMs - windowMs + 1, toMs: nowMs, latencies: true) ?? Bucket()
        var stats = WindowStats(windowMs: windowMs)
        stats.total = total.count
        stats.denied = total.denied
        stats.allowed = total.count - total.denied
        for (index, count) in total.failures.enumerated() where count > 0 { stats.failures[Outcome.allCases[index]] = count }
        stats.p50Us = total.latency.percentile(0.50)
        stats.p95Us = total.latency.percentile(0.95)
        stats.p99Us = total.latency.percentile(0.99)
        let since = max(logStartMs ?? .min, coveredSinceMs ?? .min)
        stats.coveredMs = since == .min ? nil : nowMs - since
        return stats
    }

    /// Decisions and denials per point, `buckets` points across the window, oldest first; each
    /// point is a whole number of buckets, aligned to them.
    package func sparkline(_ type: ActionType, nowMs: Int64) -> (decisions: [Int], denials: [Int]) {
        guard let ring = ring(type) else { return (Array(repeating: 0, count: buckets), Array(repeating: 0, count: buckets)) }
        let span = ring.spanMs
        let step = max(span, windowMs / Int64(buckets) / span * span)
        let last = nowMs - ((nowMs % span) + span) % span
        var decisions: [Int] = [], denials: [Int] = []
        for point in 0..<buckets {
            let end = last - Int64(buckets - 1 - point) * step
            let bucket = ring.sum(fromMs: end - step + span, toMs: end, latencies: false)
            decisions.append(bucket.count)
            denials.append(bucket.denied)
        }
        return (decisions, denials)
    }

    /// Latencies over the window per doubling, for the histogram pane: (upper bound in µs, count).
    package func latencyHistogram(_ type: ActionType, nowMs: Int64) -> [(upToUs: Int64, count: Int)] {
        ring(type)?.sum(fromMs: nowMs - windowMs + 1, toMs: nowMs, latencies: true).latency.octaves() ?? []
    }

    /// Seconds for windows of up to five minutes, minutes beyond.
    private func ring(_ type: ActionType) -> Ring? {
        windowMs <= 300_000 ? seconds[type] : minutes[type]
    }
}

/// A fixed number of buckets, each `spanMs` long, indexed by time; a bucket found holding an
/// older period is cleared before reuse.
struct Ring: Sendable, Equatable {
    let spanMs: Int64
    private var slots: [Bucket]
    private var starts: [Int64]

    init(count: Int, spanMs: Int64) {
        self.spanMs = spanMs
        slots = Array(repeating: Bucket(), count: count)
        starts = Array(repeating: .min, count: count)
    }

    mutating func add(_ sample: StatSample) {
        let start = sample.timeMs - ((sample.timeMs % spanMs) + spanMs) % spanMs
        let index = Int((start / spanMs) % Int64(slots.count) + Int64(slots.count)) % slots.count
        if starts[index] != start {
            // An older period (or a sample older than the ring, which is dropped).
            guard start > starts[index] else { return }
            slots[index] = Bucket()
            starts[index] = start
        }
        slots[index].add(sample)
    }

    func sum(fromMs: Int64, toMs: Int64, latencies: Bool) -> Bucket {
        var total = Bucket()
        for index in slots.indices where starts[index] != .min && starts[index] + spanMs > fromMs && starts[index] <= toMs {
            total.merge(slots[index], latencies: latencies)
        }
        return total
    }
}

struct Bucket: Sendable, Equatable {
    var count = 0
    var denied = 0
    /// Indexed like `Outcome.allCases`; ok stays zero.
    var failures = [Int](repeating: 0, count: Outcome.allCases.count)
    var latency = LatencyHistogram()

    mutating func add(_ sample: StatSample) {
        count += 1
        if sample.verdict == .deny { denied += 1 }
        if sample.outcome != .ok, let index = Outcome.allCases.firstIndex(of: sample.outcome) { failures[index] += 1 }
        latency.add(sample.latencyUs)
    }

    mutating func merge(_ other: Bucket, latencies: Bool) {
        count += other.count
        denied += other.denied
        for index in failures.indices { failures[index] += other.failures[index] }
        if latencies { latency.merge(other.latency) }
    }
}

/// Latencies by log-scale bin: 8 bins per doubling from 1 µs to about 2^30 µs (18 minutes).
struct LatencyHistogram: Sendable, Equatable {
    static let binsPerOctave = 8.0
    static let binCount = 8 * 31
    private var bins: [UInt32] = []
    private(set) var total = 0

    static func bin(_ micros: Int64) -> Int {
        micros <= 1 ? 0 : min(binCount - 1, Int(log2(Double(micros)) * binsPerOctave))
    }

    /// The middle of a bin (geometric), as the value reported for it.
    static func value(_ bin: Int) -> Int64 {
        Int64(exp2((Double(bin) + 0.5) / binsPerOctave).rounded())
    }

    mutating func add(_ micros: Int64) {
        if bins.isEmpty { bins = Array(repeating: 0, count: Self.binCount) }
        bins[Self.bin(micros)] += 1
        total += 1
    }

    mutating func merge(_ other: LatencyHistogram) {
        guard other.total > 0 else { return }
        if bins.isEmpty { bins = Array(repeating: 0, count: Self.binCount) }
        for index in bins.indices { bins[index] += other.bins[index] }
        total += other.total
    }

    /// Nearest-rank percentile, to the bin.
    func percentile(_ p: Double) -> Int64 {
        guard total > 0 else { return 0 }
        let rank = max(1, Int((p * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in bins.enumerated() {
            seen += Int(count)
            if seen >= rank { return Self.value(index) }
        }
        return Self.value(bins.count - 1)
    }

    /// Counts per doubling (bins merged), from the first non-empty to the last.
    func octaves() -> [(upToUs: Int64, count: Int)] {
        guard total > 0 else { return [] }
        let perOctave = Int(Self.binsPerOctave)
        var result: [(Int64, Int)] = []
        for octave in 0..<(Self.binCount / perOctave) {
            let count = bins[(octave * perOctave)..<((octave + 1) * perOctave)].reduce(0) { $0 + Int($1) }
            result.append((Int64(1) << (octave + 1), count))
        }
        let first = result.firstIndex { $0.1 > 0 } ?? 0
        let last = result.lastIndex { $0.1 > 0 } ?? 0
        return Array(result[first...last])
    }
}
