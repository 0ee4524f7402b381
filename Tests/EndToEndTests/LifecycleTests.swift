import Testing
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The server's life as an operator sees it: SIGTERM's documented order, and SIGHUP's reload.
@Suite(.serialized) struct LifecycleTests {
    /// Stop accepting, finish the request in flight, flush the log, exit 0.
    @Test func sigtermStopsAcceptingFinishesInFlightFlushesAndExitsZero() async throws {
        let endpoint = try startExampleEndpoint()
        defer { endpoint.stop() }
        let harness = try ServerHarness()
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/hook/allow?latency_ms=1500", "--timeout-ms", "5000")
        try await harness.settingsApplied()

        // The endpoint takes 1.5 s: the decision is in flight when SIGTERM arrives.
        async let inFlight = harness.register("slow@example.com")
        try await Task.sleep(for: .milliseconds(400))
        harness.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        // Meanwhile a new connection is refused: the listener is closed first.
        let refused = (try? RawConnection(port: harness.server.port)) == nil
        let answer = try await inFlight
        let status = harness.server.stop()

        #expect(refused, "a new connection was accepted after SIGTERM")
        #expect(answer.status == 200)
        #expect(answer.json["verdict"] as? String == "Allow")
        #expect(answer.json["decided_by"] as? String == "endpoint")
        #expect(status == 0, "exit status \(status): \(harness.server.outputAfterExit())")
        let eventID = try #require(answer.json["event_id"] as? String)
        let logged = try await BlockingWork.run { try harness.store().events(after: 0).map(\.uid) }
        #expect(logged.contains(eventID), "the in-flight decision's event was not flushed before exit")
        // Its last heartbeat says it stopped, so dashboards do not show it as gone silent.
        let nodes = try harness.ctl("nodes")
        #expect(nodes.contains("\tstopped\t") && !nodes.contains("SILENT"), "\(nodes)")
        // How far the search index trails the log is said under the table, as the store has it
        // (it waits for 20,000 events or 10 s, so on a slow machine it may have caught up).
        let lag = try await BlockingWork.run { try harness.store().searchLag().events }
        let listed = try run(Paths.binary("actionsctl"), ["nodes"], environment: ["ACTIONS_DB": harness.databasePath])
        #expect(listed.stderr.contains(lag == 0 ? "search index: up to date" : "search index: \(lag) event\(lag == 1 ? "" : "s") behind the log"),
                "\(listed.stderr)")
        let json = try harness.ctl("nodes", "--json")
        #expect(json.contains(#""search_index_lag_events":\#(lag)"#), "\(json)")
        #expect(try await BlockingWork.run { try harness.store().nodes().allSatisfy { $0.stoppedMs != nil } })
    }

    /// Secrets rotate without a restart; a change that needs one is named; a broken file is refused.
    @Test func sighupReloadsSecretsNamesRestartOnlyChangesAndKeepsRunningOnABrokenFile() async throws {
        let harness = try ServerHarness(config: "[actions.user_registration]\nsecret = \"first\"\n", logLevel: "info")
        let body = Array(#"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"rotate@example.com","first_name":"R","last_name":"S"},"ip_address":"198.51.100.9"}"#.utf8)
        func status(signedWith secret: String) async throws -> Int {
            try await http("POST", harness.url + "/actions/user-registration", body: body,
                           headers: ["WorkOS-Signature": RequestSigner(secret: secret).header(for: body)]).status
        }
        #expect(try await status(signedWith: "first") == 200)
        #expect(try await status(signedWith: "second") == 401)

        try "[actions.user_registration]\nsecrets = [\"second\", \"first\"]\n[events]\nqueue_capacity = 500\n"
            .write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.signal(SIGHUP)
        let rotated = await eventually(timeout: 5) { (try? await status(signedWith: "second")) == 200 }
        #expect(rotated != nil, "the new secret was not accepted after SIGHUP")
        #expect(try await status(signedWith: "first") == 200, "the old secret must still verify during the rotation")

        // A file that no longer parses: the running configuration stays.
        try "[actions.user_registration\nsecrets = ".write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await status(signedWith: "second") == 200)

        #expect(harness.server.stop() == 0)
        let log = harness.server.outputAfterExit()
        #expect(log.contains("SIGHUP: configuration reloaded") && log.contains("secrets"), "\(log)")
        #expect(log.contains("need a restart") && log.contains("events.queue_capacity"), "\(log)")
        #expect(log.contains("configuration not reloaded"), "\(log)")
    }
}
