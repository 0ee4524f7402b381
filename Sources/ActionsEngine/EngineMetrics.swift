import CoreMetrics
import Metrics
import Prometheus
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The server's Prometheus metrics, through swift-metrics. Every labelled series is created once
/// up front, so recording a decision is an array index and an atomic add.
package final class EngineMetrics: Sendable {
    package let registry = PrometheusCollectorRegistry()
    /// Labelled series in flat arrays, found by the labels' case positions (`slot`): hashing a
    /// dictionary key per decision cost more than the atomic add it found (callgrind).
    private let decisions: [CoreMetrics.Counter?]
    private let latency: [CoreMetrics.Timer]
    private let endpointLatency: [CoreMetrics.Timer]
    private let endpointFailures: [CoreMetrics.Counter?]
    private let circuitOpen: [CoreMetrics.Gauge]
    private let queueDepth: CoreMetrics.Gauge
    private let dropped: CoreMetrics.Gauge
    private let rejected: CoreMetrics.Gauge
    private let written: CoreMetrics.Gauge
    private let rateSubjects: CoreMetrics.Gauge
    private let logStuck: CoreMetrics.Gauge
    private let searchLagEvents: CoreMetrics.Gauge
    private let searchLagSeconds: CoreMetrics.Gauge
    private let rateEvicted: CoreMetrics.Gauge
    /// Requests refused before they were decided (a missing token, a bad signature), by route
    /// and reason: counted here and nowhere in the event log, which holds decisions.
    private let refusals: [String: CoreMetrics.Counter]
    static let refusalReasons = ["missing_token", "wrong_token", "missing_signature", "malformed_signature", "stale_timestamp",
                                 "future_timestamp", "signature_mismatch", "no_secret", "unreadable_body"]

    package init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        var decisions = [CoreMetrics.Counter?](repeating: nil, count: Self.slots)
        var endpointFailures = [CoreMetrics.Counter?](repeating: nil, count: Self.slots)
        for type in ActionType.allCases {
            for verdict in Verdict.allCases {
                for outcome in Outcome.allCases {
                    decisions[Self.slot(type, verdict, outcome)] = CoreMetrics.Counter(
                        label: "actions_decisions_total",
                        dimensions: [("action", type.rawValue), ("verdict", verdict.rawValue), ("outcome", outcome.rawValue)],
                        factory: factory)
                }
            }
            for outcome in Outcome.allCases where outcome != .ok {
                endpointFailures[Self.slot(type, nil, outcome)] = CoreMetrics.Counter(
                    label: "actions_endpoint_failures_total",
                    dimensions: [("action", type.rawValue), ("outcome", outcome.rawValue)], factory: factory)
            }
        }
        self.decisions = decisions
        self.endpointFailures = endpointFailures
        latency = ActionType.allCases.map { type in
            CoreMetrics.Timer(label: "actions_decision_duration_seconds", dimensions: [("action", type.rawValue)], factory: factory)
        }
        endpointLatency = ActionType.allCases.map { type in
            CoreMetrics.Timer(label: "actions_endpoint_duration_seconds", dimensions: [("action", type.rawValue)], factory: factory)
        }
        circuitOpen = ActionType.allCases.map { type in
            CoreMetrics.Gauge(label: "actions_circuit_open", dimensions: [("action", type.rawValue)], factory: factory)
        }
        queueDepth = CoreMetrics.Gauge(label: "actions_event_queue_depth", factory: factory)
        dropped = CoreMetrics.Gauge(label: "actions_events_dropped", factory: factory)
        rejected = CoreMetrics.Gauge(label: "actions_events_rejected", factory: factory)
        written = CoreMetrics.Gauge(label: "actions_events_written", factory: factory)
        logStuck = CoreMetrics.Gauge(label: "actions_event_log_stuck", factory: factory)
        searchLagEvents = CoreMetrics.Gauge(label: "actions_search_index_lag_events", factory: factory)
        searchLagSeconds = CoreMetrics.Gauge(label: "actions_search_index_lag_seconds", factory: factory)
        rateSubjects = CoreMetrics.Gauge(label: "actions_rate_subjects", factory: factory)
        rateEvicted = CoreMetrics.Gauge(label: "actions_rate_subjects_evicted", factory: factory)
        var refusals: [String: CoreMetrics.Counter] = [:]
        for route in APIRoute.all {
            for reason in Self.refusalReasons {
                refusals[route.path + " " + reason] = CoreMetrics.Counter(
                    label: "actions_requests_refused_total", dimensions: [("route", route.path), ("reason", reason)], factory: factory)
            }
        }
        self.refusals = refusals
    }

    /// Subjects the rate windows track, and those forgotten to stay within `rate.max_subjects`.
    func recordRates(subjects: Int, evicted: Int) {
        rateSubjects.record(subjects)
        rateEvicted.record(evicted)
    }

    /// Events the search index has not reached, and how long the oldest of them has waited.
    func recordSearchLag(events: Int64, oldestMs: Int64?, nowMs: Int64) {
        let seconds = Double(max(0, nowMs - (oldestMs ?? nowMs))) / 1000
        searchLagEvents.record(events)
        searchLagSeconds.record(seconds)
        searchLagLast.withLock { $0 = (events, seconds) }
    }

    /// The index's lag as last reported: /healthz names it past a threshold.
    var searchLag: (events: Int64, seconds: Double) { searchLagLast.withLock { $0 } }
    private let searchLagLast = Mutex<(events: Int64, seconds: Double)>((0, 0))

    func recordRefusal(route: String, reason: String) {
        refusals[route + " " + reason]?.increment()
    }

    private static let slots = ActionType.allCases.count * (Verdict.allCases.count + 1) * Outcome.allCases.count

    /// The cases in order, made once: `allCases` builds a new array on every call, and the slot
    /// lookups of every decision made three (about 500 instructions, callgrind).
    private static let types = ActionType.allCases, verdicts = Verdict.allCases, outcomes = Outcome.allCases

    private static func index(_ type: ActionType) -> Int { types.firstIndex(of: type)! }

    /// The position of a series labelled `type`, `verdict` (nil: none) and `outcome`.
    private static func slot(_ type: ActionType, _ verdict: Verdict?, _ outcome: Outcome) -> Int {
        let verdictPosition = verdict.map { verdicts.firstIndex(of: $0)! + 1 } ?? 0
        return (index(type) * (verdicts.count + 1) + verdictPosition) * outcomes.count + outcomes.firstIndex(of: outcome)!
    }

    func record(_ event: Event, type: ActionType) {
        decisions[Self.slot(type, event.verdict, event.outcome)]?.increment()
        let position = Self.index(type)
        latency[position].recordMicroseconds(event.latencyUs)
        if let endpoint = event.endpointLatencyUs { endpointLatency[position].recordMicroseconds(endpoint) }
        if event.outcome != .ok { endpointFailures[Self.slot(type, nil, event.outcome)]?.increment() }
    }

    func recordCircuit(_ state: CircuitState) {
        circuitOpen[Self.index(state.actionType)].record(state.phase == .closed ? 0 : (state.phase == .open ? 1 : 0.5))
    }

    func recordWriter(_ stats: EventWriter.Stats, nowMs: Int64 = WallClock.nowMs()) {
        // 1 while events wait on the log longer than a healthy commit takes (a locked, full or
        // lost database): what the "log unavailable" alert watches.
        logStuck.record(stats.isStuck(nowMs: nowMs) ? 1 : 0)
        queueDepth.record(stats.queued)
        dropped.record(stats.dropped)
        rejected.record(stats.rejected)
        written.record(stats.written)
    }

    package func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
