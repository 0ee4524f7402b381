import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// OTLP span export: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, every decision is a server span
/// (a child of the identity service's traceparent) and every endpoint call a client span whose
/// context is the traceparent the endpoint receives. A receiver decodes what swift-otel sends
/// with OpenTelemetry's own protobuf definitions.
@Suite(.serialized) struct TraceExportTests {
    /// The decoded spans, one JSON object per line, as scripts/otlp_receiver.py writes them.
    static func spans(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    @Test func decisionsAndEndpointCallsReachTheCollectorAsOneTrace() async throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spansFile = directory.appendingPathComponent("spans.jsonl").path
        let received = directory.appendingPathComponent("traceparents").path
        let receiver = try ServiceProcess("/usr/bin/env", ["python3", Paths.root.appendingPathComponent("scripts/otlp_receiver.py").path],
                                          environment: ["SPANS_FILE": spansFile])
        defer { receiver.kill() }
        let endpoint = try ServiceProcess("/usr/bin/env", ["python3", Paths.root.appendingPathComponent("scripts/workos_endpoint.py").path,
                                                           ServerHarness.secret], environment: ["RECORD_TRACES": received])
        defer { endpoint.kill() }
        // A batch delay longer than the test: the spans arrive only because a SIGTERM flushes them.
        let harness = try ServerHarness(extraEnvironment: ["OTEL_EXPORTER_OTLP_ENDPOINT": receiver.baseURL,
                                                           "OTEL_BSP_SCHEDULE_DELAY": "600000"])
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/actions/user-registration")
        try harness.ctl("deny", "add", "domain", "blocked.example")
        try await harness.settingsApplied()

        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736", parent = "00f067aa0ba902b7"
        let context = #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"ana@example.com"}}"#
        let traced = try await post(harness.url + "/v1/actions/user_registration", context,
                                    headers: ["traceparent": "00-\(traceID)-\(parent)-01"])
        #expect(traced.json["decided_by"] as? String == "endpoint", "\(traced.text)")
        let denied = try await harness.register("eve@blocked.example")
        #expect(denied.json["verdict"] as? String == "Deny")
        let events = try await harness.waitForEvents(2)
        #expect(Self.spans(spansFile).isEmpty, "batched, not yet sent")
        #expect(harness.server.stop() == 0)

        let spans = Self.spans(spansFile)
        #expect(spans.count == 3, "two decisions and one endpoint call: \(spans)")
        let decisions = spans.filter { $0["kind"] as? String == "server" }
        let calls = spans.filter { $0["kind"] as? String == "client" }
        #expect(spans.allSatisfy { $0["service"] as? String == "actions-server" && $0["content_type"] as? String == "application/x-protobuf" })

        // The traced decision continues the identity service's trace, and the endpoint call is its child.
        let decision = try #require(decisions.first { $0["trace_id"] as? String == traceID }, "\(decisions)")
        #expect(decision["parent_span_id"] as? String == parent)
        #expect(decision["name"] as? String == "decision user_registration")
        let attributes = try #require(decision["attributes"] as? [String: Any])
        let event = try #require(events.first { $0.email == "ana@example.com" })
        #expect(attributes["actions.verdict"] as? String == "Allow")
        #expect(attributes["actions.outcome"] as? String == "ok")
        #expect(attributes["actions.decided_by"] as? String == "endpoint")
        #expect(attributes["actions.event_id"] as? String == event.uid)
        #expect(event.traceId == traceID)
        let call = try #require(calls.first)
        #expect(call["trace_id"] as? String == traceID && call["parent_span_id"] as? String == decision["span_id"] as? String)
        let callAttributes = try #require(call["attributes"] as? [String: Any])
        #expect(callAttributes["url.full"] as? String == endpoint.baseURL + "/actions/user-registration")
        #expect((callAttributes["http.response.status_code"] as? NSNumber)?.intValue == 200)
        #expect(call["status"] as? String == "unset")
        // What the endpoint received is the client span's own context.
        let forwarded = try String(contentsOfFile: received, encoding: .utf8).split(separator: "\n").first.map(String.init)
        #expect(forwarded == "00-\(traceID)-\(call["span_id"] as? String ?? "?")-01")

        // A decision without a traceparent starts a trace of its own, and the event keeps its id.
        let local = try #require(decisions.first { $0["trace_id"] as? String != traceID })
        let localEvent = try #require(events.first { $0.email == "eve@blocked.example" })
        #expect(localEvent.traceId == local["trace_id"] as? String && localEvent.traceId?.count == 32)
        #expect(local["parent_span_id"] as? String == "")
        let localAttributes = try #require(local["attributes"] as? [String: Any])
        #expect(localAttributes["actions.verdict"] as? String == "Deny")
        #expect(localAttributes["actions.decided_by"] as? String == "policy")
        #expect((localAttributes["actions.rule_id"] as? NSNumber)?.int64Value == localEvent.ruleId)
        #expect(try harness.ctl("events", "--trace", local["trace_id"] as? String ?? "?").contains("eve@blocked.example"))
    }

    /// A collector that accepts connections and never answers costs the decisions nothing, and
    /// holds a shutdown at most for the export in flight and the last batch (5 s each).
    @Test func aSilentCollectorHoldsNeitherDecisionsNorShutdown() async throws {
        let silent = try ServiceProcess("/usr/bin/env", ["python3", "-c", """
            import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(128)
            print(f"listening on {s.getsockname()[1]}", flush=True)
            time.sleep(3600)
            """])
        defer { silent.kill() }
        let harness = try ServerHarness(extraEnvironment: ["OTEL_EXPORTER_OTLP_ENDPOINT": silent.baseURL,
                                                           "OTEL_BSP_SCHEDULE_DELAY": "50"])
        for index in 0..<20 {
            let answer = try await harness.register("user\(index)@example.com")
            #expect(answer.status == 200 && answer.json["verdict"] as? String == "Allow")
        }
        #expect(try await harness.waitForEvents(20).count == 20)
        let decisions = try await BlockingWork.run { try harness.store().latestEvents(limit: 20).map(\.latencyUs) }
        #expect(decisions.allSatisfy { $0 < 1_000_000 }, "a decision waited on the collector: \(decisions) µs")
        #expect(try await http("GET", harness.url + "/healthz").status == 200)
        let start = Date()
        #expect(harness.server.stop() == 0)
        let took = Date().timeIntervalSince(start)
        #expect(took < 2 * 5 + 5, "SIGTERM took \(took) s")
    }

    /// Settings the exporter cannot serve stop the server at start, naming the variable, before
    /// the database is touched; none crashes it.
    @Test func unsupportedSettingsAreRefusedAtStart() throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("actions.db").path
        let settings: [(String, String)] = [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
                                            ("OTEL_PROPAGATORS", "tracecontext,baggage"), ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
                                            ("OTEL_TRACES_EXPORTER", "zipkin")]
        for (name, value) in settings {
            let result = try run(Paths.binary("actions-server"), ["--db", database, "--port", "0"],
                                 environment: ["ACTIONS_SECRET": ServerHarness.secret,
                                               "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", name: value])
            #expect(result.status == 78, "\(name)=\(value): exit \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("\(name)=\(value)") && result.stderr.contains("not supported"), "\(result.stderr)")
            #expect(!result.stderr.contains("Usage:"), "a setting is not a usage error: \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: database), "refused before the store was created")
    }

    /// OTEL_SDK_DISABLED wins over an endpoint, as the specification says: no spans.
    @Test func theSpecificationsSwitchTurnsItOff() async throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spansFile = directory.appendingPathComponent("spans.jsonl").path
        let receiver = try ServiceProcess("/usr/bin/env", ["python3", Paths.root.appendingPathComponent("scripts/otlp_receiver.py").path],
                                          environment: ["SPANS_FILE": spansFile])
        defer { receiver.kill() }
        let harness = try ServerHarness(extraEnvironment: ["OTEL_EXPORTER_OTLP_ENDPOINT": receiver.baseURL, "OTEL_SDK_DISABLED": "true",
                                                           "OTEL_BSP_SCHEDULE_DELAY": "10"])
        #expect(try await harness.register("ana@example.com").json["verdict"] as? String == "Allow")
        let events = try await harness.waitForEvents(1)
        #expect(harness.server.stop() == 0)
        #expect(Self.spans(spansFile).isEmpty)
        #expect(events.first?.traceId == nil, "no trace without tracing or a traceparent")
    }
}
