import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
import Tracing

/// Spans for decisions, for a tracer the server was given (swift-otel's OTLP exporter, when the
/// operator sets `OTEL_EXPORTER_OTLP_ENDPOINT`): one server span per decision, a child of the
/// identity service's `traceparent`, and a client span per endpoint call, whose context is the
/// `traceparent` the endpoint receives. With no tracer (the default) nothing here runs and the
/// engine carries the trace on by hand (`TraceParent.child()`), so tracing off costs nothing.
struct DecisionSpans: Sendable {
    let tracer: (any Tracer)?

    /// The decision's span, or nil when tracing is off.
    func decision(_ type: ActionType, parent: TraceParent?) -> DecisionSpan? {
        guard let tracer else { return nil }
        var context = ServiceContext.topLevel
        if let parent { tracer.extract(["traceparent": parent.header], into: &context, using: HeaderCarrier()) }
        let span = tracer.startAnySpan("decision \(type.rawValue)", context: context, ofKind: .server)
        span.attributes["actions.action_type"] = type.rawValue
        return DecisionSpan(span: span, tracer: tracer)
    }
}

/// A started span and the tracer that propagates its context.
struct DecisionSpan: Sendable {
    let span: any Span
    let tracer: any Tracer

    /// The span's context as a W3C header: what a call made inside it carries, and (its trace id)
    /// what the event keeps, so a decision is found from the trace even when the identity service
    /// sent none. Nil when the tracer propagates another format (`OTEL_PROPAGATORS`).
    var traceParent: TraceParent? {
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: HeaderCarrier())
        return headers["traceparent"].flatMap(TraceParent.init(header:))
    }

    /// A client span for the call to the customer's endpoint, named by OpenTelemetry's HTTP
    /// conventions (the method; the URL as an attribute).
    func endpointCall(url: String) -> DecisionSpan {
        let child = tracer.startAnySpan("POST", context: span.context, ofKind: .client)
        child.attributes["http.request.method"] = "POST"
        child.attributes["url.full"] = Self.redacted(url)
        return DecisionSpan(span: child, tracer: tracer)
    }

    /// The URL as the semantic conventions want it recorded: no user and password, and no query
    /// (where tokens travel), since the collector is another party.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparsable URL)" }
        if components.user != nil || components.password != nil {
            components.user = "REDACTED"
            components.password = components.password == nil ? nil : "REDACTED"
        }
        if components.query != nil { components.query = "REDACTED" }
        return components.string ?? "(unparsable URL)"
    }

    /// Ends an endpoint call's span with what came back.
    func endCall(_ result: EndpointResult) {
        if let status = result.httpStatus { span.attributes["http.response.status_code"] = status }
        span.attributes["actions.outcome"] = result.outcome.rawValue
        if !result.succeeded {
            span.setStatus(SpanStatus(code: .error, message: "\(result.outcome.rawValue): \(result.detail ?? "")"))
        }
        span.end()
    }

    /// Ends the decision's span with the event's verdict, outcome, deciding part and rule.
    func endDecision(_ event: Event) {
        span.attributes["actions.verdict"] = event.verdict.rawValue
        span.attributes["actions.outcome"] = event.outcome.rawValue
        span.attributes["actions.decided_by"] = event.decidedBy.rawValue
        span.attributes["actions.event_id"] = event.uid
        if let rule = event.ruleId { span.attributes["actions.rule_id"] = rule }
        if let rule = event.shadowRuleId { span.attributes["actions.shadow_rule_id"] = rule }
        if event.isTest { span.attributes["actions.test"] = true }
        span.end()
    }
}

/// `traceparent` in and out of a plain dictionary: the tracer's propagator reads and writes it.
private struct HeaderCarrier: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
