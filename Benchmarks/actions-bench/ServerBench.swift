import ArgumentParser
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsTestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// Throughput against a bare Hummingbird handler (wrk), the latency the engine adds around an
/// endpoint at 1,000 req/s, and decision time with the circuit open (open-loop, no coordinated omission).
struct ServerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Engine throughput, overhead and circuit-open latency.")

    @Option(help: "Seconds per wrk run.") var duration = 6
    /// 128: enough clients in flight that durable mode is bound by its cost. Each durable client
    /// waits for its event's commit before it sends again, so at 32 the rounds measured how long
    /// clients wait on commits (42 % of the bare handler's req/s, with the CPU half idle), not
    /// what a decision costs; the bare handler and background mode read the same at either.
    @Option(help: "wrk connections (each a client sending its next request once answered).") var connections = 128
    @Option(help: "Alternating throughput rounds.") var rounds = 5
    @Option(help: "wrk connection counts the throughput rounds alternate between, comma-separated (durable mode is bound by its commit pipeline at few connections, by CPU at many).")
    var throughputConnections = "32,128"
    @Option(help: "Requests per second for the latency runs.") var rate = 1000
    @Option(help: "Seconds per latency run.") var latencySeconds = 10
    @Flag(help: "Skip the throughput rounds.") var latencyOnly = false
    @Flag(help: "Also count instructions per request under callgrind (needs valgrind): bare handler, background, durable, and background with 100k domains and 10k CIDRs.")
    var instructions = false
    @Flag(help: "Only count instructions (implies --instructions).") var instructionsOnly = false
    @Option(help: "Requests per instruction count, after a warm-up of 300.") var instructionRequests = 3000
    @Option(help: "Keep the callgrind dumps in this directory (callgrind.N.1 per variant, in order).") var callgrindOut: String?
    @Option(help: "A PostgreSQL server (postgres://user@host:port/db): adds a node on PostgreSQL to the rounds (background and durable), and two nodes sharing it.")
    var postgres: String?
    @Flag(help: "With --postgres: also a durable node over a primary with a synchronous standby of its own (scripts/pg-cluster on loopback, both hosts in the URL).")
    var syncStandby = false

    static let secret = "bench-secret"

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("actions-bench-server-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        if instructions || instructionsOnly { try await countInstructions(directory) }
        if instructionsOnly { return }
        let postgresDatabase = try postgres.map { try freshDatabase(on: $0) }
        let pair = postgres != nil && syncStandby && !latencyOnly ? try StandbyPair(directory: directory) : nil
        defer { pair?.stop() }
        if !latencyOnly { try throughput(directory, postgres: postgresDatabase, syncStandby: try pair.map { try freshDatabase(on: $0.url) }) }
        if !latencyOnly { try indexLag(directory) }
        if let postgres { try twoNodes(directory, database: try freshDatabase(on: postgres)) }
        try await overhead(directory)
    }

    /// The wrk script's rotation of bodies (some deny-listed), for clients in this process.
    static let bodies = (1...20).map { i in
        Array(#"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"user\#(i)@\#(i % 10 == 0 ? "mailinator.com" : "example.com")","first_name":"A","last_name":"B"},"ip_address":"198.51.100.\#(i)","user_agent":"wrk"}"#.utf8)
    }

    func countInstructions(_ directory: URL) async throws {
        section("server: instructions per request (callgrind; \(instructionRequests) requests after a warm-up, \(connections) connections)")
        guard InstructionCounts.available() else {
            report("skipped: valgrind is not installed (apt-get install valgrind)")
            return
        }
        func database(_ name: String, realistic: Bool = false) throws -> String {
            let path = directory.appendingPathComponent(name).path
            let store = try Store(path: path)
            try store.addListEntry(ListEntry(kind: .domain, value: "mailinator.com"), by: Operator(user: "bench"))
            try store.addListEntry(ListEntry(kind: .ip, value: "203.0.113.0/24"), by: Operator(user: "bench"))
            if realistic { try loadRealisticPolicy(into: store) }
            return path
        }
        func server(_ name: String, _ db: String, _ flags: [String] = []) -> InstructionCounts.Variant {
            .init(name: name, binary: binary("actions-server"), arguments: ["--db", db, "--port", "0", "--log-level", "error"] + flags, database: db)
        }
        let variants = [
            InstructionCounts.Variant(name: "bare handler", binary: binary("actions-bench"), arguments: ["baseline"]),
            server("background", try database("count-background.db")),
            server("durable", try database("count-durable.db"), ["--durable-events"]),
            server("background, 100k domains + 10k CIDRs", try database("count-realistic.db", realistic: true)),
        ]
        let output = callgrindOut.map { URL(fileURLWithPath: $0) } ?? directory
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let counter = InstructionCounts(directory: directory, output: output, requests: instructionRequests, connections: connections)
        InstructionCounts.show(try await counter.run(variants, bodies: Self.bodies, path: "/v1/actions/user_registration"))
    }

    /// A wrk Lua script that POSTs a rotation of bodies (some deny-listed).
    func wrkScript(_ directory: URL) throws -> String {
        let path = directory.appendingPathComponent("post.lua").path
        try """
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            local bodies = {}
            for i = 1, 20 do
              local domain = (i % 10 == 0) and "mailinator.com" or "example.com"
              bodies[i] = '{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"user' .. i .. '@' .. domain .. '","first_name":"A","last_name":"B"},"ip_address":"198.51.100.' .. i .. '","user_agent":"wrk"}'
            end
            local n = 0
            request = function()
              n = n + 1
              return wrk.format(nil, nil, nil, bodies[(n % 20) + 1])
            end
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    struct WrkResult {
        var rate: Double
        var requests: Int
        var errors: Int
        /// The 99th percentile of the answers' latency, in ms (wrk --latency): a stall that holds
        /// every waiting answer (durable mode behind a lock) shows here long before it shows in req/s.
        var p99Ms: Double = 0
    }

    func wrk(_ url: String, script: String, connections: Int? = nil) throws -> WrkResult {
        parse(try capture("wrk", ["-t2", "-c\(connections ?? self.connections)", "-d\(duration)s", "--latency", "-s", script, url]))
    }

    func parse(_ output: String) -> WrkResult {
        func number(after marker: String) -> Double {
            guard let line = output.split(separator: "\n").first(where: { $0.contains(marker) }) else { return 0 }
            return Double(line.split(separator: " ").compactMap { Double($0) }.first ?? 0)
        }
        let requests = output.split(separator: "\n").first { $0.contains("requests in") }
            .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") } ?? 0
        let errors = Int(number(after: "Non-2xx")) + Int(number(after: "Socket errors") > 0 ? 1 : 0)
        return WrkResult(rate: number(after: "Requests/sec:"), requests: requests, errors: errors, p99Ms: p99Milliseconds(output))
    }

    /// "     99%   12.34ms" in wrk's latency distribution (wrk picks the unit), in ms.
    func p99Milliseconds(_ output: String) -> Double {
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, fields[0] == "99%" else { continue }
            let scales: [(String, Double)] = [("us", 0.001), ("ms", 1), ("s", 1000), ("m", 60_000)]
            for (unit, scale) in scales where fields[1].hasSuffix(unit) {
                return (Double(fields[1].dropLast(unit.count)) ?? 0) * scale
            }
        }
        return 0
    }

    /// A new, empty database on the PostgreSQL server `url` names (made with psql).
    func freshDatabase(on url: String) throws -> String {
        let name = "actions_bench_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        _ = try capture("psql", [url, "-qAt", "-c", "CREATE DATABASE \(name)"])
        // The path replaced by hand: URLComponents does not read libpq's several hosts.
        guard let scheme = url.range(of: "://"), let slash = url[scheme.upperBound...].firstIndex(of: "/") else {
            throw ValidationError("not a URL: \(url)")
        }
        let query = url[slash...].firstIndex(of: "?").map { String(url[$0...]) } ?? ""
        return String(url[..<slash]) + "/" + name + query
    }

    /// Alternates the bare handler, the engine in background mode and the engine in durable mode
    /// (`--durable-events`: each answer waits for its fsync'd commit), at each connection count,
    /// `rounds` times each, and compares medians: on a shared two-core machine one run of each is
    /// too noisy to compare.
    func throughput(_ directory: URL, postgres: String?, syncStandby: String?) throws {
        let counts = throughputConnections.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        guard !counts.isEmpty else { throw ValidationError("--throughput-connections: give counts such as 32,128") }
        section("server: throughput with local policy, every decision logged (wrk -t2 -c\(counts.map(String.init).joined(separator: "/")) -d\(duration)s, \(rounds) alternating rounds)")
        let script = try wrkScript(directory)
        /// One configuration's figures at one connection count.
        struct Series {
            var rates: [Double] = [], cpu: [Double] = [], ratios: [Double] = [], p99: [Double] = []
        }
        struct Mode {
            var name: String
            var flags: [String]
            var db: String
            var environment: [String: String] = [:]
            var series: [Int: Series] = [:]
            var answered = 0
        }
        var modes = [Mode(name: "background", flags: [], db: directory.appendingPathComponent("background.db").path),
                     Mode(name: "durable", flags: ["--durable-events"], db: directory.appendingPathComponent("durable.db").path)]
        // Span export on (a span per decision, batched to a sink that keeps nothing): what tracing
        // costs beside background mode, where it is off and costs nothing.
        let sink = try Child(binary("actions-bench"), ["baseline"])
        defer { sink.stop() }
        modes.insert(Mode(name: "background + OTLP spans", flags: [], db: directory.appendingPathComponent("spans.db").path,
                          environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": sink.url]), at: 1)
        if let postgres {
            modes.append(Mode(name: "postgres", flags: [], db: postgres))
            modes.append(Mode(name: "postgres durable", flags: ["--durable-events"], db: try freshDatabase(on: postgres)))
        }
        if let syncStandby { modes.append(Mode(name: "postgres durable, sync standby", flags: ["--durable-events"], db: syncStandby)) }
        for mode in modes {
            let store = try Store(path: mode.db)
            try store.addListEntry(ListEntry(kind: .domain, value: "mailinator.com"), by: Operator(user: "bench"))
            try store.addListEntry(ListEntry(kind: .ip, value: "203.0.113.0/24"), by: Operator(user: "bench"))
        }
        var base: [Int: Series] = [:]
        /// Runs wrk against a fresh child; returns the result and the child's CPU µs per request.
        func measure(_ child: Child, _ path: String, connections: Int) throws -> (WrkResult, Double) {
            let before = cpuSeconds(of: child.process.processIdentifier)
            let result = try wrk(child.url + path, script: script, connections: connections)
            let cpu = cpuSeconds(of: child.process.processIdentifier) - before
            child.stop() // SIGTERM: actions-server flushes the event log before exiting
            return (result, result.requests > 0 ? cpu * 1e6 / Double(result.requests) : 0)
        }
        for round in 1...rounds {
            for count in counts {
                let (bare, bareMicros) = try measure(try Child(binary("actions-bench"), ["baseline"]), "/v1/actions/user_registration",
                                                     connections: count)
                base[count, default: Series()].rates.append(bare.rate)
                base[count, default: Series()].p99.append(bare.p99Ms)
                base[count, default: Series()].cpu.append(bareMicros)
                var line = String(format: "round %d, %d connections: bare handler %.0f req/s (%.1f µs CPU/req, p99 %.1f ms)",
                                  round, count, bare.rate, bareMicros, bare.p99Ms)
                for index in modes.indices {
                    let server = try Child(binary("actions-server"), ["--db", modes[index].db, "--port", "0", "--log-level", "error"] + modes[index].flags,
                                           environment: ["ACTIONS_SECRET": Self.secret].merging(modes[index].environment) { $1 })
                    let (engine, micros) = try measure(server, "/v1/actions/user_registration", connections: count)
                    modes[index].answered += engine.requests
                    modes[index].series[count, default: Series()].rates.append(engine.rate)
                    modes[index].series[count, default: Series()].cpu.append(micros)
                    modes[index].series[count, default: Series()].ratios.append(engine.rate / bare.rate)
                    modes[index].series[count, default: Series()].p99.append(engine.p99Ms)
                    line += String(format: ", %@ %.0f req/s (%.1f µs CPU/req, %.0f %%, p99 %.1f ms, non-2xx %d)", modes[index].name, engine.rate, micros,
                                   engine.rate / bare.rate * 100, engine.p99Ms, engine.errors)
                }
                report(line)
            }
        }
        for count in counts {
            let bare = base[count] ?? Series()
            let baseMedian = Summary(values: bare.rates).percentile(0.5), baseCPUMedian = Summary(values: bare.cpu).percentile(0.5)
            report(String(format: "median at %d connections: bare handler %.0f req/s, %.1f µs CPU/req, p99 %.1f ms", count, baseMedian, baseCPUMedian,
                          Summary(values: bare.p99).percentile(0.5)))
            for mode in modes {
                let series = mode.series[count] ?? Series()
                let cpu = Summary(values: series.cpu).percentile(0.5)
                // CPU per request is steadier than req/s on a shared machine: it does not depend on how
                // much of the two cores other jobs took during a round. It includes the event writer thread.
                report(String(format: "median at %d connections: %@ %.0f req/s, ratio %.0f %% of the bare handler (range %.0f–%.0f %%); CPU %.1f µs/req, %.2f× the bare handler's; p99 %.1f ms",
                              count, mode.name, Summary(values: series.rates).percentile(0.5), Summary(values: series.ratios).percentile(0.5) * 100,
                              (series.ratios.min() ?? 0) * 100, (series.ratios.max() ?? 0) * 100, cpu, baseCPUMedian > 0 ? cpu / baseCPUMedian : 0,
                              Summary(values: series.p99).percentile(0.5)))
            }
        }
        for mode in modes {
            let rows = try Store(path: mode.db).eventCount()
            // wrk stops counting at its deadline; answers still in flight then are logged but not counted by wrk.
            report("\(mode.name): requests counted by wrk \(mode.answered), events logged \(rows), lost \(max(0, mode.answered - rows))")
        }
    }

    /// Two nodes on one PostgreSQL database, loaded at once (wrk -t1 each): aggregate decisions/s,
    /// then every row counted.
    func twoNodes(_ directory: URL, database: String) throws {
        section("server: two nodes sharing one PostgreSQL database (wrk -t1 -c\(connections / 2) each, \(duration)s)")
        let script = try wrkScript(directory)
        let store = try Store(path: database)
        try store.addListEntry(ListEntry(kind: .domain, value: "mailinator.com"), by: Operator(user: "bench"))
        let nodes = try ["a", "b"].map { name in
            try Child(binary("actions-server"), ["--db", database, "--node", name, "--port", "0", "--log-level", "error"],
                      environment: ["ACTIONS_SECRET": Self.secret])
        }
        let results = Mutex<[WrkResult]>([])
        let group = DispatchGroup()
        for node in nodes {
            group.enter()
            let url = node.url + "/v1/actions/user_registration"
            Thread.detachNewThread { [self] in
                let output = try? capture("wrk", ["-t1", "-c\(max(1, connections / 2))", "-d\(duration)s", "-s", script, url])
                results.withLock { $0.append(parse(output ?? "")) }
                group.leave()
            }
        }
        group.wait()
        for node in nodes { node.stop() }
        let all = results.withLock { $0 }
        let total = all.reduce(0) { $0 + $1.rate }, requests = all.reduce(0) { $0 + $1.requests }
        let rows = try store.eventCount()
        report(String(format: "two nodes: %.0f + %.0f = %.0f decisions/s; requests counted by wrk %d, events logged %d, lost %d",
                      all.first?.rate ?? 0, all.last?.rate ?? 0, total, requests, rows, max(0, requests - rows)))
    }

    func overhead(_ directory: URL) async throws {
        section("server: latency at \(rate) req/s, open loop (latency measured from each request's scheduled start)")
        let endpoint = try Child(binary("actions-server"), ["example-endpoint", "--port", "0", "--secret", Self.secret])
        defer { endpoint.stop() }
        let db = directory.appendingPathComponent("overhead.db").path
        let config = directory.appendingPathComponent("bench.toml").path
        try "[circuit]\nfailure_threshold = 1\ncooldown_seconds = 3600\n".write(toFile: config, atomically: true, encoding: .utf8)
        let store = try await Store.open(path: db)
        let endpointURL = endpoint.url
        try await BlockingWork.run {
            try store.setEndpoint(endpointURL + "/hook/allow", timeoutMs: 2000, for: .authentication, by: Operator(user: "bench"))
            try store.setErrorMode(.failOpen, for: .userRegistration, by: Operator(user: "bench"))
            try store.setEndpoint("http://127.0.0.1:9/dead", timeoutMs: 500, for: .userRegistration, by: Operator(user: "bench"))
        }
        let server = try Child(binary("actions-server"), ["--db", db, "--port", "0", "--config", config, "--log-level", "error"],
                               environment: ["ACTIONS_SECRET": Self.secret])
        defer { server.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)

        let context = Array(#"{"object":"authentication_action_context","user":{"object":"user","id":"u1","email":"ana@example.com"},"ip_address":"198.51.100.7"}"#.utf8)
        // One-second runs, alternating, so a hiccup of the shared machine is as likely to land on
        // either side (one long run after the other compared two different stretches of noise).
        var direct: [Double] = [], through: [Double] = []
        for _ in 0..<latencySeconds {
            direct += try await openLoop(client: client, url: endpoint.url + "/hook/allow", body: context, signed: true, seconds: 1)
            through += try await openLoop(client: client, url: server.url + "/v1/actions/authentication", body: context,
                                          signed: false, seconds: 1)
        }
        report("endpoint called directly:   \(Summary(values: direct))")
        report("through actions-server:     \(Summary(values: through))")
        report(String(format: "added at p99 (HTTP, side by side): %.3f ms;  at p50: %.3f ms",
                     through.isEmpty ? 0 : Summary(values: through).percentile(0.99) - Summary(values: direct).percentile(0.99),
                     through.isEmpty ? 0 : Summary(values: through).percentile(0.5) - Summary(values: direct).percentile(0.5)))
        // The engine's own account: decision time minus the endpoint call, per event.
        try await Task.sleep(for: .seconds(1))
        let limit = rate * latencySeconds
        let events = try await BlockingWork.run { try store.latestEvents(EventFilter(actionType: .authentication), limit: limit) }
        let added = events.compactMap { event in event.endpointLatencyUs.map { Double(event.latencyUs - $0) / 1000 } }
        report("engine overhead per event (decision − endpoint call): \(Summary(values: added))")
        // Where a tail comes from: the endpoint call as the engine timed it (against the direct
        // calls above), the whole decision, and what the HTTP layer adds around it.
        report("endpoint call, as the engine timed it:  \(Summary(values: events.compactMap { $0.endpointLatencyUs.map { Double($0) / 1000 } }))")
        report("decision, as the engine timed it:       \(Summary(values: events.map { Double($0.latencyUs) / 1000 }))")

        // Trip the circuit (threshold 1), then measure decisions that never call the endpoint.
        let registration = Array(#"{"user_data":{"email":"bo@example.com"},"ip_address":"198.51.100.8"}"#.utf8)
        _ = try await openLoop(client: client, url: server.url + "/v1/actions/user_registration", body: registration, signed: false, seconds: 1)
        let open = try await openLoop(client: client, url: server.url + "/v1/actions/user_registration", body: registration, signed: false)
        try await Task.sleep(for: .seconds(1))
        let decisions = try await BlockingWork.run {
            try store.latestEvents(EventFilter(actionType: .userRegistration), limit: limit)
                .filter { $0.outcome == .circuitOpen }.map { Double($0.latencyUs) / 1000 }
        }
        report("circuit open, HTTP round trip: \(Summary(values: open))")
        report("circuit open, decision time:   \(Summary(values: decisions))")
        try await client.shutdown()
    }

    /// Sends at a fixed rate regardless of answers; each latency counts from the scheduled start.
    func openLoop(client: HTTPClient, url: String, body: [UInt8], signed: Bool, seconds: Int? = nil) async throws -> [Double] {
        let total = rate * (seconds ?? latencySeconds)
        let interval = 1_000_000_000 / UInt64(rate)
        let start = DispatchTime.now().uptimeNanoseconds + 20_000_000
        return await withTaskGroup(of: Double?.self) { group in
            for i in 0..<total {
                let scheduled = start + UInt64(i) * interval
                let now = DispatchTime.now().uptimeNanoseconds
                if scheduled > now { try? await Task.sleep(nanoseconds: scheduled - now) }
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    if signed { request.headers.add(name: SignatureHeader.name, value: RequestSigner(secret: Self.secret).header(for: body)) }
                    request.body = .bytes(ByteBuffer(bytes: body))
                    guard let response = try? await client.execute(request, timeout: .seconds(10)),
                          (try? await response.body.collect(upTo: 1 << 20)) != nil else { return nil }
                    return Double(DispatchTime.now().uptimeNanoseconds - scheduled) / 1_000_000
                }
            }
            var latencies: [Double] = []
            for await latency in group { if let latency { latencies.append(latency) } }
            return latencies
        }
    }
}

/// A primary and a synchronous standby of it on loopback (`scripts/pg-cluster`), for the
/// durable run over synchronous replication. The URL names both, primary first.
struct StandbyPair {
    let directory: URL
    let url: String
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/pg-cluster").path

    init(directory: URL) throws {
        self.directory = directory.appendingPathComponent("pg-pair")
        let primaryPort = Int.random(in: 40_000..<50_000), standbyPort = primaryPort + 1
        try Self.cluster(["start", self.directory.appendingPathComponent("primary").path, "\(primaryPort)"])
        try Self.cluster(["standby", self.directory.appendingPathComponent("standby").path, "\(standbyPort)", "\(primaryPort)"])
        try Self.cluster(["sync", self.directory.appendingPathComponent("primary").path])
        url = "postgres://postgres@127.0.0.1:\(primaryPort),127.0.0.1:\(standbyPort)/actions?sslmode=disable&target_session_attrs=read-write"
    }

    func stop() {
        for name in ["primary", "standby"] { try? Self.cluster(["stop", directory.appendingPathComponent(name).path]) }
    }

    /// Through `TestPostgres.command` (posix_spawn, every signal at its default, output to a
    /// file): this process ignores SIGPIPE, and a pg-cluster standby that inherited that hung.
    static func cluster(_ arguments: [String]) throws {
        let result = TestPostgres.command(script, arguments)
        guard result.status == 0 else { throw ValidationError("pg-cluster \(arguments.joined(separator: " ")) failed: \(result.output)") }
    }
}
