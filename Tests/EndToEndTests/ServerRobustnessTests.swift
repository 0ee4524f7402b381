import Testing
import Foundation
import GRDB
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Bad input, stuck parts and shutdown, against the real binary.
@Suite(.serialized) struct ServerRobustnessTests {
    @Test func badInputGetsAClearJSONErrorAndIsLogged() async throws {
        let harness = try ServerHarness()
        let url = harness.url + "/v1/actions/user_registration"
        let malformed = try await post(url, "{not json")
        #expect(malformed.status == 400)
        #expect(malformed.json["error"] as? String == "malformed_json")
        #expect(malformed.json["verdict"] as? String == "Deny")
        let missing = try await post(url, #"{"user_data":{"first_name":"x"}}"#)
        #expect(missing.status == 400)
        #expect(missing.json["message"] as? String == "missing required field user_data.email")
        let invalidUTF8 = try await http("POST", url, body: [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])
        #expect(invalidUTF8.status == 400)
        #expect(invalidUTF8.json["error"] as? String == "invalid_utf8")
        let huge = try await http("POST", url, body: [UInt8](repeating: 0x20, count: 70_000))
        #expect(huge.status == 413)
        #expect(huge.json["error"] as? String == "body_too_large")
        let unknown = try await http("GET", harness.url + "/v2/nothing")
        #expect(unknown.status == 404)
        #expect(unknown.json["error"] as? String == "not_found")
        let wrongMethod = try await http("GET", url)
        #expect(wrongMethod.status == 405)
        let badEvent = try await post(harness.url + "/v1/events", #"{"event":"authentication.password_failed","data":{}}"#)
        #expect(badEvent.status == 400)
        // 60,000 nested arrays fit in 64 KiB: refused with a reason, not a stack overflow.
        let deep = try await post(url, #"{"user_data":{"email":"a@b.io"},"x":"# + String(repeating: "[", count: 30_000)
                                  + String(repeating: "]", count: 30_000) + "}")
        #expect(deep.status == 400)
        #expect((deep.json["message"] as? String)?.contains("nesting deeper than 512 levels") == true)
        let nested = try await post(url, #"{"user_data":{"email":"a@b.io"},"x":"# + String(repeating: "[", count: 500)
                                    + String(repeating: "]", count: 500) + "}")
        #expect(nested.status == 200)

        let events = try await harness.waitForEvents(6)
        #expect(events.count == 6)
        #expect(events.filter { $0.outcome == .ok }.count == 1)
        #expect(events.filter { $0.outcome != .ok }.allSatisfy { $0.outcome == .invalidRequest && $0.decidedBy == .invalid })
        // Still healthy afterwards.
        #expect(try await http("GET", harness.url + "/healthz").status == 200)
    }

    @Test func aLockedDatabaseNeverHoldsADecisionAndLosesNothing() async throws {
        let harness = try ServerHarness()
        _ = try await harness.register("warmup@example.com")
        _ = try await harness.waitForEvents(1)
        // Another process-like connection takes the write lock and keeps it for 2 s.
        let blocker = try DatabaseQueue(path: harness.databasePath)
        let hold = Task.detached {
            try blocker.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN EXCLUSIVE")
                Thread.sleep(forTimeInterval: 2)
                try db.execute(sql: "COMMIT")
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        var slowest = 0.0
        for i in 0..<20 {
            let answer = try await harness.register("locked\(i)@example.com")
            #expect(answer.json["verdict"] as? String == "Allow")
            slowest = max(slowest, answer.seconds)
        }
        #expect(slowest < 0.1, "slowest decision took \(slowest) s while the database was locked")
        try await hold.value
        let events = try await harness.waitForEvents(21, timeout: 10)
        #expect(events.count == 21)
    }

    @Test func sigtermFinishesInFlightRequestsFlushesTheLogAndExitsZero() async throws {
        let harness = try ServerHarness()
        let endpoint = try startExampleEndpoint()
        try harness.ctl("endpoint", "set", "authentication", endpoint.baseURL + "/hook/ok?latency_ms=700")
        try await harness.settingsApplied()
        for i in 0..<50 { _ = try await harness.register("burst\(i)@example.com") }
        let inFlight = Task { try await harness.authenticate("slow@example.com") }
        try await Task.sleep(for: .milliseconds(200))
        let status = harness.server.stop()
        #expect(status == 0)
        let answer = try await inFlight.value
        #expect(answer.json["verdict"] as? String == "Allow", "the request in flight was answered")
        #expect(try await BlockingWork.run { try harness.store().eventCount() } == 51, "every decision is on disk after exit")
    }

    @Test func metricsAndHealth() async throws {
        let harness = try ServerHarness()
        _ = try await harness.register("a@example.com")
        _ = try await post(harness.url + "/v1/actions/authentication", "{}")
        let metrics = try await http("GET", harness.url + "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains(#"actions_decisions_total{action="user_registration",verdict="Allow",outcome="ok"} 1"#))
        #expect(metrics.text.contains(#"actions_decisions_total{action="authentication",verdict="Deny",outcome="invalid_request"} 1"#))
        #expect(metrics.text.contains("actions_decision_duration_seconds_bucket"))
        #expect(metrics.text.contains("actions_event_queue_depth"))
        #expect(metrics.text.contains("actions_events_dropped 0"))
        #expect(metrics.text.contains("actions_circuit_open"))
        let health = try await http("GET", harness.url + "/healthz")
        #expect(health.json["status"] as? String == "ok")
    }
}
