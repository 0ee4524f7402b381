import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Every endpoint fault under both error modes, and the circuit breaker, against the real binary.
@Suite(.serialized) struct EndpointFaultTests {
    static let faults: [(path: String, outcome: Outcome)] = [
        ("/hook/timeout", .timeout),
        ("/hook/500", .httpStatus),
        ("/hook/garbage", .invalidResponse),
        ("/hook/bad-signature", .badSignature),
        ("/hook/stale", .badSignature),
        ("/hook/wrong-object", .invalidResponse),
    ]

    @Test(arguments: [ErrorMode.failOpen, ErrorMode.failClosed], StoreBackend.allCases)
    func eachFaultFollowsTheErrorMode(mode: ErrorMode, backend: StoreBackend) async throws {
        // A high circuit threshold so every fault reaches the endpoint.
        let harness = try ServerHarness(backend: backend, config: "[circuit]\nfailure_threshold = 1000\n")
        let endpoint = try startExampleEndpoint()
        try harness.ctl("mode", "set", "authentication", mode.rawValue)
        let refusedURL = "http://127.0.0.1:\(freePort())/hook/ok"
        for (url, outcome) in Self.faults.map({ (endpoint.baseURL + $0.path, $0.outcome) }) + [(refusedURL, .connectError)] {
            try harness.ctl("endpoint", "set", "authentication", url, "--timeout-ms", "300")
            let applied = await eventually(timeout: 2) {
                (try? harness.store().settings(for: .authentication).endpointURL) == url
            }
            #expect(applied != nil)
            try await Task.sleep(for: .milliseconds(400))
            let answer = try await harness.authenticate("ana@example.com")
            #expect(answer.status == 200)
            #expect(answer.json["verdict"] as? String == mode.verdict.rawValue, "\(url) under \(mode)")
            #expect(answer.json["decided_by"] as? String == "error_mode", "\(url)")
            #expect(answer.json["outcome"] as? String == outcome.rawValue, "\(url)")
            #expect(answer.seconds < 10, "the 300 ms timeout bounds the wait (the slow endpoint takes 30 s)")
        }
        let events = try await harness.waitForEvents(7)
        #expect(Set(events.map(\.outcome)) == Set(Self.faults.map(\.outcome) + [.connectError]))
        #expect(events.allSatisfy { $0.errorMode == mode && $0.detail != nil })
    }

    @Test(arguments: StoreBackend.allCases) func theCircuitOpensHalfOpensAndCloses(_ backend: StoreBackend) async throws {
        let port = freePort()
        let harness = try ServerHarness(backend: backend, config: "[circuit]\nfailure_threshold = 3\ncooldown_seconds = 2\n")
        try harness.ctl("mode", "set", "authentication", "fail-open")
        try harness.ctl("endpoint", "set", "authentication", "http://127.0.0.1:\(port)/hook/deny", "--timeout-ms", "500")
        try await harness.settingsApplied()

        // The endpoint is down: three failures open the circuit.
        for _ in 0..<3 {
            #expect(try await harness.authenticate("ana@example.com").json["outcome"] as? String == "connect_error")
        }
        let rejected = try await harness.authenticate("ana@example.com")
        #expect(rejected.json["outcome"] as? String == "circuit_open")
        #expect(rejected.json["decided_by"] as? String == "circuit")
        #expect(rejected.json["verdict"] as? String == "Allow")
        let opened = try await eventually { try await BlockingWork.run { try harness.ctl("circuit").contains("authentication\topen") } }
        #expect(opened != nil, "actions-top can see the open circuit in the store")

        // The endpoint comes back; after the cool-down one probe goes through and closes the circuit.
        let endpoint = try startExampleEndpoint(port: port)
        #expect(try await harness.authenticate("ana@example.com").json["outcome"] as? String == "circuit_open")
        try await Task.sleep(for: .milliseconds(2100))
        let probe = try await harness.authenticate("ana@example.com")
        #expect(probe.json["outcome"] as? String == "ok")
        #expect(probe.json["verdict"] as? String == "Deny", "the endpoint's own verdict again")
        #expect((probe.json["reason"] as? String)?.contains("probe") == true)
        let closed = try await eventually { try await BlockingWork.run { try harness.ctl("circuit").contains("authentication\tclosed") } }
        #expect(closed != nil)
        endpoint.stop()
    }

    @Test func aFailedProbeReopensTheCircuit() async throws {
        let harness = try ServerHarness(config: "[circuit]\nfailure_threshold = 2\ncooldown_seconds = 1\n")
        try harness.ctl("endpoint", "set", "user_registration", "http://127.0.0.1:\(freePort())/hook/ok", "--timeout-ms", "300")
        try await harness.settingsApplied()
        for _ in 0..<2 { _ = try await harness.register("a@example.com") }
        #expect(try await harness.register("a@example.com").json["outcome"] as? String == "circuit_open")
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await harness.register("a@example.com").json["outcome"] as? String == "connect_error", "the probe")
        let after = try await harness.register("a@example.com")
        #expect(after.json["outcome"] as? String == "circuit_open")
        #expect(after.json["verdict"] as? String == "Deny", "fail-closed is the default")
    }
}
