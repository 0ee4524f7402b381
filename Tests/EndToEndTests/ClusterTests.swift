import Testing
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsTestSupport

/// Two actions-server nodes sharing one PostgreSQL database, with actionsctl and actions-top.
final class Cluster: @unchecked Sendable {
    let database: String
    let directory = Paths.temporaryDirectory()
    var nodes: [ServiceProcess] = []
    let names = ["node-a", "node-b"]

    init(config: String = "") throws {
        database = try TestPostgres.newDatabase()
        let configPath = directory.appendingPathComponent("actions.toml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        for name in names {
            nodes.append(try ServiceProcess(Paths.binary("actions-server"),
                                            ["--db", database, "--node", name, "--port", "0", "--config", configPath, "--log-level", "warning"],
                                            environment: ["ACTIONS_SECRET": ServerHarness.secret]))
        }
    }

    func url(_ node: Int) -> String { nodes[node].baseURL }

    @discardableResult
    func ctl(_ arguments: String...) throws -> String {
        let result = try run(Paths.binary("actionsctl"), arguments, environment: ["ACTIONS_DB": database])
        guard result.status == 0 else { throw TestFailure("actionsctl \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout
    }

    @available(*, noasync, message: "opens a store, which blocks: from async code, call it inside `BlockingWork.run { }`")
    func store() throws -> Store { try Store(path: database, create: false) }

    /// The policy version in the shared store now.
    func configVersion() async throws -> Int64 { try await BlockingWork.run { try self.store().configVersion() } }

    static func registration(_ email: String) -> String {
        #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"\#(email)","first_name":"A","last_name":"B"},"ip_address":"198.51.100.7"}"#
    }

    static func authentication(_ email: String) -> String {
        #"{"object":"authentication_action_context","user":{"object":"user","id":"user_1","email":"\#(email)","first_name":"A","last_name":"B","email_verified":true,"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"},"ip_address":"198.51.100.7"}"#
    }

    func register(_ email: String, on node: Int) async throws -> HTTPAnswer {
        try await post(url(node) + "/v1/actions/user_registration", Self.registration(email))
    }

    func authenticate(_ email: String, on node: Int) async throws -> HTTPAnswer {
        try await post(url(node) + "/v1/actions/authentication", Self.authentication(email))
    }

    func failedLogin(_ email: String, on node: Int) async throws -> HTTPAnswer {
        try await post(url(node) + "/v1/events", #"{"event":"authentication.password_failed","data":{"email":"\#(email)"}}"#)
    }

    /// Both nodes decide with at least this policy version.
    /// `field`: config_version (settings and rules), or lockout_version (lockouts, which move apart).
    func policyApplied(_ version: Int64, field: String = "config_version", timeout: Double = 5) async -> Double? {
        await eventually(timeout: timeout, interval: 0.01) {
            for node in nodes.indices {
                let seen = (try? await http("GET", url(node) + "/healthz").json[field] as? Int) ?? -1
                if Int64(seen) < version { return false }
            }
            return true
        }
    }

    deinit {
        for node in nodes { node.kill() }
    }
}

@Suite(.serialized) struct ClusterTests {
    @Test func aLockoutIsCountedAcrossBothNodes() async throws {
        let cluster = try Cluster(config: "[lockout]\nthreshold = 4\nlockout_seconds = 600\n")
        let before = try await BlockingWork.run { try cluster.store().policyVersions() }
        // Failures alternate between the nodes; the fourth locks whichever node sees it.
        var statuses: [String] = []
        for attempt in 0..<4 {
            statuses.append(try await cluster.failedLogin("mallory@example.com", on: attempt % 2).json["status"] as? String ?? "")
        }
        #expect(statuses == ["counted", "counted", "counted", "locked"])
        let version = try await BlockingWork.run { try cluster.store().policyVersions() }
        #expect(version.lockouts == before.lockouts + 1 && version.config == before.config + 1,
                "a lockout moves both versions by one (lockouts alone changed): \(before) -> \(version)")
        #expect(await cluster.policyApplied(version.lockouts, field: "lockout_version") != nil)
        for node in 0..<2 {
            let answer = try await cluster.authenticate("mallory@example.com", on: node)
            #expect(answer.json["verdict"] as? String == "Deny", "node \(node): \(answer.json)")
        }
        // Simultaneous failures on both nodes lose no count.
        async let a: [HTTPAnswer] = (0..<10).asyncMap { _ in try await cluster.failedLogin("race@example.com", on: 0) }
        async let b: [HTTPAnswer] = (0..<10).asyncMap { _ in try await cluster.failedLogin("race@example.com", on: 1) }
        _ = try await (a, b)
        let record = try await BlockingWork.run { try cluster.store().loginFailures(includeUnlocked: true).first { $0.email == "race@example.com" } }
        // Four lock; the six after each node's lockout are counted too (20 failures in all).
        #expect(record?.failures == 20)
    }

    @Test func aModeFlipReachesBothNodesWithinASecond() async throws {
        let cluster = try Cluster(config: "[circuit]\nfailure_threshold = 1000\n")
        try cluster.ctl("endpoint", "set", "user_registration", "http://127.0.0.1:\(freePort())/dead", "--timeout-ms", "200")
        #expect(await cluster.policyApplied(try await cluster.configVersion()) != nil)
        for node in 0..<2 { #expect(try await cluster.register("a@example.com", on: node).json["verdict"] as? String == "Deny") }
        try cluster.ctl("mode", "set", "user_registration", "fail-open")
        let took = await cluster.policyApplied(try await cluster.configVersion(), timeout: 1)
        #expect(took != nil, "a node still decided with the old policy after 1 s")
        for node in 0..<2 { #expect(try await cluster.register("a@example.com", on: node).json["verdict"] as? String == "Allow") }
        print("cluster: mode flip applied on both nodes in \(Int((took ?? 1) * 1000)) ms")
    }

    /// actions-top on the shared database: both nodes' rows in one table, with a node column; a
    /// domain added from the dashboard is denied by a node; a killed node is marked silent.
    @Test func theDashboardShowsBothNodesAndMarksAKilledOne() async throws {
        let cluster = try Cluster()
        for node in 0..<2 { _ = try await cluster.register("u\(node)@example.com", on: node) }
        let top = try TmuxSession("\(Paths.binary("actions-top")) --refresh 200", width: 132, height: 40,
                                  environment: ["TERM": "xterm-256color", "ACTIONS_DB": cluster.database, "LANG": "C.UTF-8"])
        let screen = try await top.waitFor("u1@example.com")
        #expect(screen.contains("NODE") && screen.contains("node-a") && screen.contains("node-b"), "\(screen)")

        try await top.addDenyEntry(["domain", "blocked.example", "", "from the dashboard", ""], expectingCount: 1)
        #expect(await cluster.policyApplied(try await cluster.configVersion()) != nil)
        #expect(try await cluster.register("eve@blocked.example", on: 1).json["verdict"] as? String == "Deny")

        cluster.nodes[1].kill()
        try top.send("Escape")
        try top.send("N")
        let nodes = try await top.waitFor(timeout: 15, "node-b marked silent") { screen in
            screen.split(separator: "\n").contains { $0.contains("node-b") && $0.contains("SILENT") }
        }
        #expect(nodes.split(separator: "\n").contains { $0.contains("node-a") && $0.contains(" up ") }, "\(nodes)")
        #expect(try cluster.ctl("nodes").contains("SILENT"))
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    /// kill -9 of one node under load: the other keeps answering, and every decision it answered
    /// is in the shared log.
    @Test func aNodeKilledUnderLoadLeavesTheOtherAnsweringAndLosingNothing() async throws {
        let cluster = try Cluster()
        let session = URLSession(configuration: .ephemeral)
        defer { session.invalidateAndCancel() }
        func load(_ node: Int, count: Int) async -> (answered: Int, failed: Int) {
            var answered = 0, failed = 0
            for i in 0..<count {
                let answer = try? await post(cluster.url(node) + "/v1/actions/user_registration",
                                             Cluster.registration("n\(node)-\(i)@example.com"), session: session)
                if answer?.status == 200 { answered += 1 } else { failed += 1 }
            }
            return (answered, failed)
        }
        async let survivor = load(0, count: 400)
        async let victim = load(1, count: 400)
        try await Task.sleep(for: .milliseconds(300))
        cluster.nodes[1].kill()
        let (kept, _) = (await survivor, await victim)
        #expect(kept.failed == 0, "the surviving node failed \(kept.failed) requests")
        // The survivor flushes on a graceful stop; its acknowledged decisions are all there.
        #expect(cluster.nodes[0].stop() == 0)
        let logged = try await BlockingWork.run { try cluster.store().latestEvents(EventFilter(node: "node-a"), limit: 10_000).count }
        #expect(logged == kept.answered, "node-a answered \(kept.answered), logged \(logged)")
    }

    /// PostgreSQL down: decisions go on from the last policy without waiting on the database,
    /// failed logins get 503 (retry, never silently uncounted), /healthz says degraded, the
    /// dashboard says "database unreachable"; back up, the dashboard reconnects by itself and every
    /// queued event is written: as many events as answered decisions. This stops and restarts the
    /// shared test cluster, so the suite runs with --no-parallel (README's test command).
    @Test func anOutageAndARestartUnderTrafficLoseNothing() async throws {
        let cluster = try Cluster()
        try cluster.ctl("deny", "add", "domain", "mailinator.com")
        #expect(await cluster.policyApplied(try await cluster.configVersion()) != nil)
        var answered = 0
        for i in 0..<20 { if try await cluster.register("before\(i)@example.com", on: i % 2).status == 200 { answered += 1 } }

        let top = try TmuxSession("\(Paths.binary("actions-top")) --refresh 200", width: 132, height: 30,
                                  environment: ["TERM": "xterm-256color", "ACTIONS_DB": cluster.database, "LANG": "C.UTF-8"])
        try await top.waitFor("before19@")
        try TestPostgres.stop()
        var slowest = 0.0
        for i in 0..<40 {
            let start = Date()
            let answer = try await cluster.register(i % 4 == 0 ? "x\(i)@mailinator.com" : "during\(i)@example.com", on: i % 2)
            slowest = max(slowest, Date().timeIntervalSince(start))
            #expect(answer.status == 200)
            if i % 4 == 0 { #expect(answer.json["verdict"] as? String == "Deny") }
            answered += 1
        }
        let refused = try await cluster.failedLogin("someone@example.com", on: 0)
        #expect(refused.status == 503)
        #expect(refused.json["error"] as? String == "store_unavailable")
        let degraded = await eventually(timeout: 6) {
            (try? await http("GET", cluster.url(0) + "/healthz").json["status"] as? String) == "degraded"
        }
        #expect(degraded != nil, "/healthz did not report the stuck event log")
        try await top.waitFor("database unreachable", timeout: 15)
        try TestPostgres.start()
        // The dashboard reconnects by itself: the warning goes, and the queued rows arrive.
        try await top.waitFor(timeout: 20, "the dashboard recovered") { screen in
            !screen.contains("database unreachable") && screen.contains("during39@")
        }
        try top.send("q")

        // A restart under traffic: connections drop, the writer retries.
        let traffic = Task {
            var sent = 0
            for i in 0..<200 {
                if (try? await cluster.register("after\(i)@example.com", on: i % 2))?.status == 200 { sent += 1 }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return sent
        }
        try await Task.sleep(for: .milliseconds(500))
        try TestPostgres.restart()
        answered += await traffic.value
        let store = try await BlockingWork.run { try cluster.store() }
        let all = await eventually(timeout: 30) { [answered] in ((try? store.eventCount()) ?? 0) >= answered }
        let written = try await BlockingWork.run { try store.eventCount() }
        #expect(all != nil, "events written: \(written) of \(answered) answered")
        #expect(written == answered)
        print("cluster: slowest decision while PostgreSQL was down \(Int(slowest * 1000)) ms")
        #expect(slowest < 0.1)
    }
}

extension Range where Bound == Int {
    func asyncMap<T: Sendable>(_ transform: @Sendable (Int) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for value in self { results.append(try await transform(value)) }
        return results
    }
}

@Suite(.serialized) struct ClusterRateTests {
    /// A rate rule counts both nodes' attempts: each node adds the other's from the shared log
    /// within about a second.
    @Test func aRateLimitHoldsAcrossBothNodes() async throws {
        let cluster = try Cluster()
        try cluster.ctl("rate", "add", "ip", "4/10m", "--action", "user_registration", "--message", "Too many sign-ups from your network")
        #expect(await cluster.policyApplied(try await cluster.configVersion()) != nil)
        for attempt in 0..<4 {
            let answer = try await cluster.register("user\(attempt)@example.com", on: attempt % 2)
            #expect(answer.json["verdict"] as? String == "Allow", "attempt \(attempt): \(answer.json)")
        }
        // Each node has seen two of the four itself; within the sync interval both see all four.
        let bothDeny = try await eventually(timeout: 5, interval: 0.2) {
            for node in 0..<2 {
                let answer = try await cluster.register("late\(node)@example.com", on: node)
                if answer.json["verdict"] as? String != "Deny" { return false }
                #expect(answer.json["error_message"] as? String == "Too many sign-ups from your network")
            }
            return true
        }
        #expect(bothDeny != nil, "a node still allowed the fifth attempt from one address")
    }
}
