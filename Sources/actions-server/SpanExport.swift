import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OTLP span export with swift-otel, off unless the operator names a collector the OpenTelemetry
/// way: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). The other
/// `OTEL_*` variables (service name, headers, protocol, sampler, batching) are swift-otel's, read
/// as the specification says. Only traces: the server's logs and metrics stay its own (stderr,
/// /metrics), so nothing global is bootstrapped and the tracer goes to the engine directly.
enum SpanExport {
    static let variables: [(String, String)] = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "A collector's OTLP/HTTP base URL (http://host:4318): spans go to its /v1/traces, one per decision with a child per endpoint call (attributes actions.verdict, actions.outcome, actions.decided_by, actions.rule_id). Unset, the default, exports nothing and costs nothing. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names the full URL instead."),
        ("OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES", "The resource the spans are reported under (actions-server by default)."),
        ("OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_CERTIFICATE", "How spans are sent: http/protobuf (the default) or http/json; headers such as an API key; TLS with an https endpoint."),
        ("OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_*", "Which decisions are recorded (parentbased_always_on: all, unless the identity service's traceparent says not sampled) and how spans are batched."),
        ("OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none", "Turn the export off again."),
    ]

    /// Whether the environment asks for spans.
    static func isRequested(_ environment: [String: String]) -> Bool {
        let named = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].contains {
            !(environment[$0] ?? "").trimmingCharacters(in: .whitespaces).isEmpty
        }
        let disabled = environment["OTEL_SDK_DISABLED"]?.lowercased() == "true"
            || environment["OTEL_TRACES_EXPORTER"]?.lowercased() == "none"
        return named && !disabled
    }

    /// The tracer for the engine and the service that batches and sends its spans (run it first
    /// in the group, so it stops last and flushes the spans of the requests that finished), or
    /// nil when the environment does not ask for spans.
    static func make(environment: [String: String], logger: Logger) throws -> (tracer: any Tracer, service: any Service)? {
        guard isRequested(environment) else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "actions-server"
        configuration.traces.enabled = true
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.diagnosticLogger = .custom(logger)
        // The last batch, on SIGTERM, waits at most this for the collector (the specification's
        // 30 s would hold a shutdown behind a dead collector); OTEL_BSP_EXPORT_TIMEOUT overrides it.
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(5)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (backend.factory, backend.service)
    }
}
