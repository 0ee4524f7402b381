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
        ("OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES", "The resource the spans are reported under (service.name actions-server unless one of these names another)."),
        ("OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_CERTIFICATE", "How spans are sent: http/protobuf (the default) or http/json (grpc is refused: not built in); headers such as an API key; TLS with an https endpoint."),
        ("OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_*", "Which decisions are recorded (parentbased_always_on, the default: all, unless the identity service's traceparent says not sampled; also always_on, always_off, traceidratio and their parentbased_ forms) and how spans are batched. OTEL_BSP_EXPORT_TIMEOUT is 5 s here; a shutdown waits at most twice that for a collector that does not answer."),
        ("OTEL_PROPAGATORS", "tracecontext (W3C), the only propagator actions-server speaks; any other value is refused at start (exit status 78, EX_CONFIG, as for the other refused settings)."),
        ("OTEL_LOG_LEVEL", "The exporter's own log level (by default, the server's --log-level)."),
        ("OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none", "Turn the export off again."),
    ]

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// Whether the environment asks for spans.
    static func isRequested(_ environment: [String: String]) -> Bool {
        let named = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].contains {
            !(environment[$0] ?? "").trimmingCharacters(in: .whitespaces).isEmpty
        }
        let disabled = environment["OTEL_SDK_DISABLED"]?.lowercased() == "true"
            || environment["OTEL_TRACES_EXPORTER"]?.lowercased() == "none"
        return named && !disabled
    }

    /// Settings swift-otel would accept and then fail on at run time (a gRPC exporter, which is not
    /// built in, other propagators, remote samplers) are refused at start, naming the variable.
    static func check(_ environment: [String: String]) throws(Refused) {
        func allow(_ name: String, _ allowed: Set<String>, _ why: String) throws(Refused) {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return }
            let values = raw.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let refused = values.first(where: { !allowed.contains($0) }) {
                throw Refused(description: "\(name)=\(raw): \(refused) is not supported (\(why); use \(allowed.sorted().joined(separator: " or ")))")
            }
        }
        try allow("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", ["http/protobuf", "http/json"], "only OTLP over HTTP is built in")
        if environment["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == nil {
            try allow("OTEL_EXPORTER_OTLP_PROTOCOL", ["http/protobuf", "http/json"], "only OTLP over HTTP is built in")
        }
        try allow("OTEL_TRACES_EXPORTER", ["otlp", "none"], "spans go to an OTLP collector or nowhere")
        try allow("OTEL_PROPAGATORS", ["tracecontext"],
                  "the trace goes on to the customer's endpoint as a W3C traceparent, and only that is read")
        try allow("OTEL_TRACES_SAMPLER", ["always_on", "always_off", "traceidratio", "parentbased_always_on",
                                          "parentbased_always_off", "parentbased_traceidratio"], "no remote sampler is built in")
    }

    /// The tracer for the engine and the service that batches and sends its spans (run it first
    /// in the group, so it stops last and flushes the spans of the requests that finished), or
    /// nil when the environment does not ask for spans. Reads files (certificates): call it off
    /// the cooperative pool.
    static func make(environment: [String: String], logLevel: Logger.Level,
                     logger: Logger) throws -> (tracer: any Tracer, service: any Service)? {
        guard isRequested(environment) else { return nil }
        try check(environment)
        var configuration = OTel.Configuration.default
        // swift-otel prefers a service name set here over OTEL_RESOURCE_ATTRIBUTES' one.
        let attributes = environment["OTEL_RESOURCE_ATTRIBUTES"] ?? ""
        if environment["OTEL_SERVICE_NAME"] == nil && !attributes.contains("service.name=") {
            configuration.serviceName = "actions-server"
        }
        configuration.traces.enabled = true
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.diagnosticLogger = .custom(logger)
        // swift-otel sets its logger's level itself (OTEL_LOG_LEVEL, else info): follow --log-level.
        switch logLevel {
        case .trace: configuration.diagnosticLogLevel = .trace
        case .debug: configuration.diagnosticLogLevel = .debug
        case .info, .notice: configuration.diagnosticLogLevel = .info
        case .warning: configuration.diagnosticLogLevel = .warning
        case .error, .critical: configuration.diagnosticLogLevel = .error
        }
        // Each export gives up after this (the specification's 30 s would hold a shutdown behind a
        // collector that does not answer: one export in flight, then the final flush, each up to
        // this long); OTEL_BSP_EXPORT_TIMEOUT overrides it.
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(5)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (backend.factory, backend.service)
    }
}
