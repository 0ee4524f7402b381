import Testing
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsTestSupport

/// A PostgreSQL primary and a synchronous standby made with `pg_basebackup -R` on loopback, a
/// durable actions-server given both hosts with `target_session_attrs=read-write`, load from
/// several clients and the dashboard open; then the primary crashes (`pg_ctl -m immediate`) and
/// the standby is promoted, as an orchestrator would. Every answered decision must be in the
/// promoted database, and decisions must resume there without a restart.
@Suite(.serialized) struct FailoverTests {
    struct Answer: Sendable {
        var eventID: String
        var outcome: String
        var sentNs: UInt64
        var answeredNs: UInt64
    }

    final class Shared: Sendable {
        let answers = Mutex<[Answer]>([])
        let failures = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    /// Two clusters of their own (never the shared test cluster), stopped at the end.
    final class Pair: @unchecked Sendable {
        let directory = Paths.temporaryDirectory()
        let primaryPort = freePort()
        let standbyPort = freePort()
        var primaryDirectory: String { directory.appendingPathComponent("primary").path }
        var standbyDirectory: String { directory.appendingPathComponent("standby").path }
        static let script = Paths.root.appendingPathComponent("scripts/pg-cluster").path

        /// Through `TestPostgres.command` (posix_spawn, output to a file, no signal blocked): the
        /// server a subcommand starts must inherit no pipe of this process, nor its signal mask.
        func cluster(_ arguments: String...) throws {
            let result = TestPostgres.command(Self.script, arguments)
            guard result.status == 0 else { throw TestFailure("pg-cluster \(arguments.joined(separator: " ")): \(result.output)") }
        }

        init() throws {
            try cluster("start", primaryDirectory, "\(primaryPort)")
            try cluster("standby", standbyDirectory, "\(standbyPort)", "\(primaryPort)")
            try cluster("sync", primaryDirectory)
        }

        /// Both hosts, primary first, as an operator writes them.
        func url(_ attrs: String) -> String {
            "postgres://postgres@127.0.0.1:\(primaryPort),127.0.0.1:\(standbyPort)/actions?sslmode=disable&target_session_attrs=\(attrs)"
        }

        var standbyURL: String { "postgres://postgres@127.0.0.1:\(standbyPort)/actions?sslmode=disable" }

        deinit {
            _ = TestPostgres.command(Self.script, ["stop", primaryDirectory])
            _ = TestPostgres.command(Self.script, ["stop", standbyDirectory])
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test func aPromotedStandbyTakesOverAndNothingAnsweredIsLost() async throws {
        let pair = try Pair()
        let server = try ServiceProcess(Paths.binary("actions-server"),
                                        ["--db", pair.url("read-write"), "--port", "0", "--durable-events", "--log-level", "critical"],
                                        environment: ["ACTIONS_SECRET": ServerHarness.secret])
        defer { server.stop() }
        // The dashboard reads from the standby while it is one, and keeps showing events after.
        let top = try TmuxSession("\(Paths.binary("actions-top")) --refresh 200 --db '\(pair.url("prefer-standby"))'", width: 132, height: 40)

        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        configuration.timeoutIntervalForRequest = 30
        let session = URLSession(configuration: configuration)
        let shared = Shared()
        let url = server.baseURL + "/v1/actions/user_registration"
        let load = Task { [session] in
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<6 {
                    group.addTask {
                        var n = 0
                        while !shared.stop.load(ordering: .relaxed) {
                            n += 1
                            let sent = MonotonicClock.nowNs()
                            guard let answer = try? await post(url, #"{"user_data":{"email":"f\#(client)n\#(n)@failover.example"}}"#, session: session),
                                  answer.status == 200, let id = answer.json["event_id"] as? String,
                                  let outcome = answer.json["outcome"] as? String else {
                                shared.failures.add(1, ordering: .relaxed)
                                try? await Task.sleep(for: .milliseconds(20))
                                continue
                            }
                            let now = MonotonicClock.nowNs()
                            shared.answers.withLock { $0.append(Answer(eventID: id, outcome: outcome, sentNs: sent, answeredNs: now)) }
                        }
                    }
                }
            }
        }
        func healthz() async -> [String: Any] { (try? await http("GET", server.baseURL + "/healthz").json) ?? [:] }

        try await Task.sleep(for: .seconds(2))
        let first = await healthz()["database_server"] as? String
        #expect(first == "127.0.0.1:\(pair.primaryPort)")
        _ = try await top.waitFor("@failover.example", timeout: 15)

        // A store that reads from the standby writes through the primary: a standby would refuse
        // the write (25006).
        let viaStandby = try run(Paths.binary("actionsctl"), ["deny", "add", "domain", "standby-write.example"],
                                 environment: ["ACTIONS_DB": pair.url("prefer-standby")])
        #expect(viaStandby.status == 0, "a write from a prefer-standby store: \(viaStandby.stderr)")
        let readBack = await eventually(timeout: 5) {
            (try? run(Paths.binary("actionsctl"), ["deny", "list"], environment: ["ACTIONS_DB": pair.standbyURL]))?.stdout
                .contains("standby-write.example") == true
        }
        #expect(readBack != nil, "the entry did not reach the standby (read there with a plain URL)")

        // The primary crashes; the orchestrator promotes the standby.
        try pair.cluster("kill", pair.primaryDirectory)
        let killedNs = MonotonicClock.nowNs()
        // With no primary at all, a prefer-standby reader still opens and reads (the schema is
        // checked on the standby; nothing is written to open a store).
        let primaryless = try run(Paths.binary("actionsctl"), ["deny", "list"], environment: ["ACTIONS_DB": pair.url("prefer-standby")])
        #expect(primaryless.status == 0 && primaryless.stdout.contains("standby-write.example"), "\(primaryless.stderr)")
        try pair.cluster("promote", pair.standbyDirectory)
        let promotedNs = MonotonicClock.nowNs()

        // Decisions committed on the new primary: answered `ok` for requests sent after the kill.
        let resumed = await eventually(timeout: 30, interval: 0.1) {
            shared.answers.withLock { $0.contains { $0.sentNs > killedNs && $0.outcome == "ok" } }
        }
        #expect(resumed != nil, "decisions did not resume on the promoted standby within 30 s")
        try await Task.sleep(for: .seconds(2))
        shared.stop.store(true, ordering: .relaxed)
        await load.value
        session.invalidateAndCancel()

        let moved = await eventually(timeout: 10) { await healthz()["database_server"] as? String == "127.0.0.1:\(pair.standbyPort)" }
        let health = await healthz()
        #expect(moved != nil, "/healthz does not name the promoted server: \(health)")
        let drained = await eventually(timeout: 15) { (await healthz()["events_queued"] as? Int) == 0 }
        let queued = await healthz()["events_queued"] as? Int
        #expect(drained != nil, "events still queued: \(String(describing: queued))")
        let nodes = try run(Paths.binary("actionsctl"), ["nodes"], environment: ["ACTIONS_DB": pair.standbyURL])
        #expect(nodes.stdout.contains("db=127.0.0.1:\(pair.standbyPort)"), "actionsctl nodes: \(nodes.stdout) \(nodes.stderr)")

        // Policy changes reach the node on the new primary (LISTEN resumed there, or the version check).
        let before = (await healthz()["config_version"] as? Int) ?? 0
        let flipped = try run(Paths.binary("actionsctl"), ["mode", "set", "user_registration", "fail-open"], environment: ["ACTIONS_DB": pair.url("read-write")])
        #expect(flipped.status == 0, "\(flipped.stderr)")
        let applied = await eventually(timeout: 5) { ((await healthz()["config_version"] as? Int) ?? 0) > before }
        #expect(applied != nil, "the node did not pick up a change made on the promoted primary")

        // Every answer given, before, during and after, is in the promoted database.
        let all = shared.answers.withLock { $0 }
        let store = try await BlockingWork.run { try Store(path: pair.standbyURL, create: false) }
        let rows = try await BlockingWork.run {
            var rows: [String] = []
            try store.forEachEvent(after: 0) { rows.append($0.uid) }
            return rows
        }
        let logged = Set(rows)
        let lost = all.filter { !logged.contains($0.eventID) }
        // A batch whose COMMIT the dying primary never confirmed is retried on the new one, and
        // found there when the standby already held it: never written twice.
        #expect(rows.count == logged.count, "\(rows.count - logged.count) events were written twice")
        let beforeCrash = all.filter { $0.answeredNs < killedNs }.count
        let unavailable = all.filter { $0.outcome != "ok" }.count
        let firstOK = all.filter { $0.sentNs > killedNs && $0.outcome == "ok" }.map(\.answeredNs).min() ?? 0
        let resumeSeconds = Double(firstOK &- killedNs) / 1e9
        #expect(beforeCrash > 20, "the server answered under load before the crash (\(beforeCrash))")
        #expect(lost.isEmpty, "\(lost.count) of \(all.count) answered decisions are missing from the promoted database")
        print("failover: \(all.count) decisions answered (\(beforeCrash) before the crash, \(unavailable) by the error mode as log_unavailable), "
              + "\(lost.count) lost; promoted \(String(format: "%.2f", Double(promotedNs - killedNs) / 1e9)) s after the crash, "
              + "committed decisions resumed \(String(format: "%.2f", resumeSeconds)) s after it; \(shared.failures.load(ordering: .relaxed)) requests failed")

        // The dashboard followed: events decided after the failover reach its table.
        let newest = try #require(all.max { $0.answeredNs < $1.answeredNs })
        let event = try #require(try await BlockingWork.run { try store.latestEvents(limit: 1).first })
        _ = try await top.waitFor(TerminalText.escape(event.email ?? newest.eventID), timeout: 15)
    }
}
