import Testing
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// What breaks auth infrastructure in production, against the real binary: another process
/// holding the database, a shutdown while it does, endpoints and clients that stall.
@Suite(.serialized) struct ServerFaultTests {
    /// `sqlite3` (another process) holds `BEGIN EXCLUSIVE` on the file for `seconds`. Returns once
    /// the lock is held: `BEGIN` waits out a commit of the server's writer (`.timeout`), and the
    /// caller's clock starts from a held lock, not from a process that may still be starting.
    final class SQLiteLock {
        struct NotTaken: Error {}
        let process = Process()
        private let input = Pipe()
        private let output = Pipe()

        init(path: String, seconds: Int) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["sqlite3", path]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            input.fileHandleForWriting.write(Data("""
                .bail on
                .timeout 5000
                BEGIN EXCLUSIVE;
                UPDATE meta SET value = value WHERE key = 'nothing';
                .print locked
                .shell sleep \(seconds)
                COMMIT;

                """.utf8))
            try input.fileHandleForWriting.close()
            // Empty at end of file: sqlite3 gave up (`.bail on`) without the lock.
            guard String(decoding: output.fileHandleForReading.availableData, as: UTF8.self).contains("locked") else {
                throw NotTaken()
            }
        }

        func wait() { process.waitUntilExit() }
        deinit { if process.isRunning { process.terminate() } }
    }

    @Test func anotherProcessHoldingTheDatabaseNeverStallsADecision() async throws {
        let harness = try ServerHarness()
        _ = try await harness.register("warmup@example.com")
        _ = try await harness.waitForEvents(1)
        // Held well past the 8 s of decisions below: each answered while it was held did not wait on it.
        let lock = try SQLiteLock(path: harness.databasePath, seconds: 14)
        try await Task.sleep(for: .milliseconds(300))
        let start = Date()
        // Failed logins need the database: they wait (never on the threads that decide) and
        // answer 503 so the caller retries, or count once the lock is gone.
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        let waiting = URLSession(configuration: configuration)
        let loginEvents = Task {
            try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        try await post(harness.url + "/v1/events",
                                       #"{"event":"authentication.password_failed","data":{"email":"victim\#(i)@example.com"}}"#,
                                       session: waiting)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        var slowest = 0.0
        var decided = 1
        while Date().timeIntervalSince(start) < 8 {
            let answer = try await harness.register("during-lock\(decided)@example.com")
            #expect(answer.json["verdict"] as? String == "Allow")
            #expect(lock.process.isRunning, "a decision was answered only once the lock was gone (\(answer.seconds) s)")
            slowest = max(slowest, answer.seconds)
            decided += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(decided > 10, "\(decided - 1) decisions in 8 s while another process held the database")
        // Each far quicker than the database's 2 s busy wait: none waited on it.
        #expect(slowest < 1, "slowest decision took \(slowest) s while another process held the database")
        print(String(format: "lock: %d decisions while sqlite3 held BEGIN EXCLUSIVE, slowest %.1f ms", decided - 1, slowest * 1000))
        // Still deciding, but the log is stuck: health says so.
        let health = try await http("GET", harness.url + "/healthz")
        #expect(health.json["status"] as? String == "degraded")
        #expect((health.json["problems"] as? [String])?.first?.contains("event log stuck") == true)
        let answers = try await loginEvents.value
        #expect(answers.allSatisfy { $0.status == 503 || $0.status == 200 })
        #expect(lock.process.isRunning, "login events were answered only once the lock was gone (\(answers.map(\.seconds).max() ?? 0) s)")
        #expect(answers.contains { $0.status == 503 && $0.json["error"] as? String == "store_unavailable" })
        lock.wait()
        let events = try await harness.waitForEvents(decided, timeout: 15)
        #expect(events.count == decided, "every decision made during the lock is in the log after it")
        #expect(try await http("GET", harness.url + "/healthz").json["status"] as? String == "ok")
    }

    @Test func sigtermWhileTheDatabaseIsHeldEndsWithinTheGracePeriod() async throws {
        let harness = try ServerHarness()
        _ = try await harness.register("warmup@example.com")
        _ = try await harness.waitForEvents(1)
        let lock = try SQLiteLock(path: harness.databasePath, seconds: 60)
        try await Task.sleep(for: .milliseconds(300))
        for i in 0..<5 { _ = try await harness.register("stuck\(i)@example.com") }
        // Let the writer take the batch and start retrying it.
        try await Task.sleep(for: .milliseconds(500))
        let start = Date()
        let status = harness.server.stop()
        let took = Date().timeIntervalSince(start)
        #expect(status == 0)
        // 5 s of grace, plus at most one 2 s busy wait already under way: over while the lock (60 s) holds.
        #expect(lock.process.isRunning, "shutdown took \(took) s, until the lock was gone")
        lock.process.terminate()
    }

    @Test func theEndpointTimeoutCoversTheResponseBody() async throws {
        let harness = try ServerHarness()
        let endpoint = try startExampleEndpoint()
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/hook/stall-body", "--timeout-ms", "1000")
        try harness.ctl("mode", "set", "user_registration", "fail-closed")
        try await harness.settingsApplied()
        let answer = try await harness.register("stalled@example.com")
        #expect(answer.seconds < 10, "the decision took \(answer.seconds) s with a 1 s endpoint timeout (the body stalls 30 s)")
        #expect(answer.json["verdict"] as? String == "Deny")
        #expect(answer.json["outcome"] as? String == "timeout")
    }

    @Test func unfinishedHeadersAndTricklingBodiesAreCutOff() async throws {
        let harness = try ServerHarness(config: "[server]\nidle_timeout_ms = 800\nread_timeout_ms = 1500\n")
        // 100 clients that never finish their headers.
        let stalled = try (0..<100).map { _ in try RawConnection(port: harness.server.port) }
        for connection in stalled { connection.send("POST /v1/actions/user_registration HTTP/1.1\r\nHost: x\r\n") }
        // One that sends its body a byte at a time, each byte well inside the idle timeout.
        let trickle = try RawConnection(port: harness.server.port)
        trickle.send("POST /v1/actions/user_registration HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
        let trickling = Task.detached {
            var sent = 0
            while sent < 200 && trickle.send("{") {
                sent += 1
                usleep(200_000)
            }
            return sent
        }
        // Real requests are still served meanwhile.
        #expect(try await harness.register("real@example.com").status == 200)
        for connection in stalled {
            #expect(connection.readUntilClosed(timeout: 3) != nil, "a connection with unfinished headers was left open")
        }
        let sent = await trickling.value
        #expect(sent < 20, "the trickling body was still accepted after \(sent) bytes")
        // An idle keep-alive connection is closed too.
        let idle = try RawConnection(port: harness.server.port)
        #expect(idle.readUntilClosed(timeout: 3) != nil)
    }
}
