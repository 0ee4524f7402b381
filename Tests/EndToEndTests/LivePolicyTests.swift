import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

@Suite(.serialized) struct LivePolicyTests {
    @Test(arguments: StoreBackend.allCases) func aModeFlippedByActionsctlAppliesWithinOneSecond(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend, config: "[circuit]\nfailure_threshold = 1000\n")
        try harness.ctl("endpoint", "set", "authentication", "http://127.0.0.1:\(freePort())/hook/ok", "--timeout-ms", "200")
        try await harness.settingsApplied()
        #expect(try await harness.authenticate("ana@example.com").json["verdict"] as? String == "Deny")

        let changed = Date()
        let output = try harness.ctl("mode", "set", "authentication", "fail-open")
        #expect(output.contains("fail-closed -> fail-open"))
        // The promise is 250 ms; ten times it leaves a busy machine room and still fails a poll
        // that stopped (the next full reload is minutes away).
        let took = try await eventually(timeout: 2.5, interval: 0.02) {
            try await harness.authenticate("ana@example.com").json["verdict"] as? String == "Allow"
        }
        #expect(took != nil, "not applied \(Date().timeIntervalSince(changed)) s after the change")

        let audit = try harness.ctl("audit")
        #expect(audit.contains("mode.set\tauthentication\tfail-closed\t->\tfail-open"))
    }

    @Test(arguments: StoreBackend.allCases) func lockoutAfterRepeatedFailuresAndUnlock(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend, config: "[lockout]\nthreshold = 3\nlockout_seconds = 600\n")
        let failed = #"{"event":"authentication.password_failed","data":{"email":"Mallory@acme.io","user_id":"user_m","ip_address":"198.51.100.66"}}"#
        for expected in ["counted", "counted", "locked"] {
            let answer = try await post(harness.url + "/v1/events", failed)
            #expect(answer.status == 200)
            #expect(answer.json["status"] as? String == expected)
        }
        let denied = try await harness.authenticate("mallory@acme.io")
        #expect(denied.json["verdict"] as? String == "Deny")
        #expect(denied.json["decided_by"] as? String == "policy")
        #expect((denied.json["error_message"] as? String)?.contains("Too many failed sign-in attempts") == true)
        // Registration is not locked; other users are not locked.
        #expect(try await harness.authenticate("ana@acme.io").json["verdict"] as? String == "Allow")
        // A success reported while locked does not unlock, and the answer says so.
        let success = #"{"event":"authentication.succeeded","data":{"email":"mallory@acme.io"}}"#
        let whileLocked = try await post(harness.url + "/v1/events", success)
        #expect(whileLocked.json["status"] as? String == "still_locked")
        #expect(whileLocked.json["locked_until_ms"] as? Int != nil)
        #expect(try await harness.authenticate("mallory@acme.io").json["verdict"] as? String == "Deny")

        #expect(try harness.ctl("lockouts", "list").contains("mallory@acme.io\tfailures=3\tlocked until"))
        try harness.ctl("lockouts", "unlock", "mallory@acme.io")
        let unlocked = try await eventually(timeout: 2) {
            try await harness.authenticate("mallory@acme.io").json["verdict"] as? String == "Allow"
        }
        #expect(unlocked != nil)
        #expect(try harness.ctl("audit").contains("lockout.unlock\tmallory@acme.io"))

        // A success resets the count.
        _ = try await post(harness.url + "/v1/events", failed)
        #expect(try await post(harness.url + "/v1/events", success).json["status"] as? String == "reset")
        #expect(try await post(harness.url + "/v1/events", failed).json["failures"] as? Int == 1)
    }

    @Test func actionsctlRejectsBadInputWithAMessageAndNonZeroExit() throws {
        let harness = try ServerHarness()
        let ctl = Paths.binary("actionsctl")
        let env = ["ACTIONS_DB": harness.databasePath]
        let cases: [[String]] = [
            ["mode", "set", "signup", "fail-open"],
            ["mode", "set", "authentication", "maybe"],
            ["deny", "add", "ip", "10.0.0.0/99"],
            ["deny", "add", "planet", "mars"],
            ["endpoint", "set", "authentication", "ftp://example.com"],
            ["lockouts", "unlock", "nobody@example.com"],
            ["events", "--since", "yesterday"],
        ]
        for arguments in cases {
            let result = try run(ctl, arguments, environment: env)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains("Error"), "\(arguments): \(result.stderr)")
        }
        let missing = try run(ctl, ["mode", "get"], environment: ["ACTIONS_DB": "/nonexistent/actions.db"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("does not exist"))
    }

    @Test(arguments: StoreBackend.allCases) func twoProcessesWriteSettingsWhileTheWriterRunsWithoutLockErrors(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let traffic = Task {
            var sent = 0
            while !Task.isCancelled && sent < 400 {
                _ = try? await harness.register("load\(sent)@example.com")
                sent += 1
            }
            return sent
        }
        // Two actionsctl processes at once, repeatedly, while the event writer commits.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<2 {
                group.addTask {
                    for i in 0..<15 {
                        try harness.ctl("deny", "add", "domain", "w\(worker)-\(i).example")
                        try harness.ctl("mode", "set", "user_registration", i % 2 == 0 ? "fail-open" : "fail-closed")
                    }
                }
            }
            try await group.waitForAll()
        }
        let sent = await traffic.value
        let store = try await BlockingWork.run { try harness.store() }
        #expect(try await BlockingWork.run { try store.listEntries(.deny).count } == 30)
        let logged = await eventually { (try? store.eventCount()) == sent }
        #expect(logged != nil, "every decision logged: \(sent)")
    }
}
