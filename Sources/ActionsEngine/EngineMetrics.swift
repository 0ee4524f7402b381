import CoreMetrics
import Metrics
import Prometheus
import ActionsProtocol
import ActionsStore

/// The server's Prometheus metrics, through swift-metrics. Every labelled series is created once
/// up front, so recording a decision is a lookup and an atomic add.
public final class EngineMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let decisions: [Series: CoreMetrics.Counter]
    private let latency: [ActionType: CoreMetrics.Timer]
    private let endpointLatency: [ActionType: CoreMetrics.Timer]
    private let endpointFailures: [Series: CoreMetrics.Counter]
    private let circuitOpen: [ActionType: CoreMetrics.Gauge]
    private let queueDepth: CoreMetrics.Gauge
    private let dropped: CoreMetrics.Gauge
    private let written: CoreMetrics.Gauge

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        var decisions: [Series: CoreMetrics.Counter] = [:]
        var latency: [ActionType: CoreMetrics.Timer] = [:]
        var endpointLatency: [ActionType: CoreMetrics.Timer] = [:]
        var endpointFailures: [Series: CoreMetrics.Counter] = [:]
        var circuitOpen: [ActionType: CoreMetrics.Gauge] = [:]
        for type in ActionType.allCases {
            for verdict in Verdict.allCases {
                for outcome in Outcome.allCases {
                    decisions[Series(type: type, verdict: verdict, outcome: outcome)] = CoreMetrics.Counter(
                        label: "actions_decisions_total",
                        dimensions: [("action", type.rawValue), ("verdict", verdict.rawValue), ("outcome", outcome.rawValue)],
                        factory: factory)
                }
            }
            for outcome in Outcome.allCases where outcome != .ok {
                endpointFailures[Series(type: type, verdict: nil, outcome: outcome)] = CoreMetrics.Counter(
                    label: "actions_endpoint_failures_total",
                    dimensions: [("action", type.rawValue), ("outcome", outcome.rawValue)], factory: factory)
            }
            latency[type] = CoreMetrics.Timer(label: "actions_decision_duration_seconds", dimensions: [("action", type.rawValue)], factory: factory)
            endpointLatency[type] = CoreMetrics.Timer(label: "actions_endpoint_duration_seconds", dimensions: [("action", type.rawValue)], factory: factory)
            circuitOpen[type] = CoreMetrics.Gauge(label: "actions_circuit_open", dimensions: [("action", type.rawValue)], factory: factory)
        }
        self.decisions = decisions
        self.latency = latency
        self.endpointLatency = endpointLatency
        self.endpointFailures = endpointFailures
        self.circuitOpen = circuitOpen
        queueDepth = CoreMetrics.Gauge(label: "actions_event_queue_depth", factory: factory)
        dropped = CoreMetrics.Gauge(label: "actions_events_dropped", factory: factory)
        written = CoreMetrics.Gauge(label: "actions_events_written", factory: factory)
    }

    /// The labels of one series, as a hashable key (no string building on the decision path).
    private struct Series: Hashable {
        var type: ActionType
        var verdict: Verdict?
        var outcome: Outcome
    }

    func record(_ event: Event, type: ActionType) {
        decisions[Series(type: type, verdict: event.verdict, outcome: event.outcome)]?.increment()
        latency[type]?.recordMicroseconds(event.latencyUs)
        if let endpoint = event.endpointLatencyUs { endpointLatency[type]?.recordMicroseconds(endpoint) }
        if event.outcome != .ok { endpointFailures[Series(type: type, verdict: nil, outcome: event.outcome)]?.increment() }
    }

    func recordCircuit(_ state: CircuitState) {
        circuitOpen[state.actionType]?.record(state.phase == .closed ? 0 : (state.phase == .open ? 1 : 0.5))
    }

    func recordWriter(_ stats: EventWriter.Stats) {
        queueDepth.record(stats.queued)
        dropped.record(stats.dropped)
        written.record(stats.written)
    }

    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
