import Testing
import Foundation
import GRDB
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The database's disk fills up under a running server, then frees up again.
/// Needs root (it mounts a small tmpfs); CI runs as root.
@Suite(.serialized) struct DiskFullTests {
    /// A 3 MiB tmpfs holding the database, and a filler file that takes whatever space is left.
    final class SmallDisk {
        let directory = Paths.temporaryDirectory()
        var filler: String { directory.appendingPathComponent("filler").path }
        var database: String { directory.appendingPathComponent("actions.db").path }

        init() throws {
            let mounted = try run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", directory.path])
            guard mounted.status == 0 else { throw TestFailure("cannot mount a tmpfs (root needed): \(mounted.stderr)") }
        }

        func fill() throws {
            // dd stops with "No space left on device", which is the point.
            _ = try run("/usr/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
            _ = try run("/usr/bin/sync", [])
        }

        func free() throws { try FileManager.default.removeItem(atPath: filler) }

        deinit {
            _ = try? run("/usr/bin/umount", ["-l", directory.path])
            try? FileManager.default.removeItem(at: directory)
        }
    }

    func start(_ disk: SmallDisk, durable: Bool) throws -> ServiceProcess {
        let config = disk.directory.appendingPathComponent("a.toml").path
        try "[events]\nqueue_capacity = 200\ndurable_wait_ms = 500\n".write(toFile: config, atomically: true, encoding: .utf8)
        return try ServiceProcess(Paths.binary("actions-server"),
                                  ["--db", disk.database, "--port", "0", "--config", config, "--log-level", "critical"]
                                      + (durable ? ["--durable-events"] : []),
                                  environment: ["ACTIONS_SECRET": ServerHarness.secret])
    }

    func register(_ server: ServiceProcess, _ email: String) async throws -> HTTPAnswer {
        try await post(server.baseURL + "/v1/actions/user_registration", #"{"user_data":{"email":"\#(email)"}}"#)
    }

    @Test func theServerKeepsDecidingCountsWhatItCouldNotWriteAndRecovers() async throws {
        let disk = try SmallDisk()
        let server = try start(disk, durable: false)
        defer { server.kill() }
        #expect(try await register(server, "before@example.com").status == 200)
        try await Task.sleep(for: .milliseconds(300))
        try disk.fill()

        var slowest = 0.0
        for i in 0..<400 {
            let answer = try await register(server, "full\(i)@example.com")
            #expect(answer.json["verdict"] as? String == "Allow")
            slowest = max(slowest, answer.seconds)
        }
        #expect(slowest < 0.2, "a decision took \(slowest) s on a full disk")
        // Stuck means the oldest waiting event has waited over 2 s.
        try await Task.sleep(for: .milliseconds(2500))
        let health = try await http("GET", server.baseURL + "/healthz")
        #expect(health.json["status"] as? String == "degraded")
        #expect((health.json["events_dropped"] as? Int ?? 0) >= 200, "a 200-event queue cannot hold 400: \(health.text)")
        let metrics = try await http("GET", server.baseURL + "/metrics").text
        #expect(!metrics.contains("actions_events_dropped 0\n"))

        try disk.free()
        let recovered = await eventually(timeout: 15) {
            (try? await http("GET", server.baseURL + "/healthz").json["status"] as? String) == "ok"
        }
        #expect(recovered != nil, "the writer recovered by itself once space returned")
        let path = disk.database
        let store = try await BlockingWork.run { try Store(path: path, create: false) }
        let integrity = try await DatabaseQueue(path: disk.database).read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        #expect(integrity == "ok")
        let health2 = try await http("GET", server.baseURL + "/healthz").json
        let dropped = health2["events_dropped"] as? Int ?? -1
        // Everything not counted as dropped is on disk.
        #expect(try await BlockingWork.run { try store.eventCount() } == 401 - dropped, "dropped \(dropped)")
        // The dashboard reads the writer's status row once it can be written again.
        let status = await eventually(timeout: 5) { ((try? store.writerStatuses().first?.dropped) ?? 0) == dropped }
        #expect(status != nil)
    }

    @Test func durableModeAnswersByTheErrorModeWhenItCannotLog() async throws {
        let disk = try SmallDisk()
        let server = try start(disk, durable: true)
        defer { server.kill() }
        let ok = try await register(server, "before@example.com")
        #expect(ok.json["verdict"] as? String == "Allow")
        #expect(ok.json["outcome"] as? String == "ok")
        try disk.fill()
        let refused = try await register(server, "full@example.com")
        // Bounded by events.durable_wait_ms, not by the disk: a write stuck on it would never answer.
        #expect(refused.seconds < 10, "answered after \(refused.seconds) s")
        #expect(refused.json["verdict"] as? String == "Deny", "fail-closed by default: never allowed silently")
        #expect(refused.json["outcome"] as? String == "log_unavailable")
        try disk.free()
        let back = await eventually(timeout: 10) {
            (try? await register(server, "after@example.com").json["outcome"] as? String) == "ok"
        }
        #expect(back != nil)
    }
}
