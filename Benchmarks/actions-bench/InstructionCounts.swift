import ActionsDomain
import ActionsStore
import AsyncHTTPClient
import Foundation
import NIOCore

/// Instructions per request, counted by callgrind: the figure that shows a change on a shared,
/// noisy machine, where req/s and CPU time swing with the host. Each server runs under valgrind
/// (about 50× slower, so the counts come from a fixed number of requests, not a duration). The
/// counters are zeroed after a warm-up, the same requests are sent to each, and the dump is taken
/// once the event writer and the search indexer have caught up, so their work per event counts.
struct InstructionCounts {
    var directory: URL
    /// Where the callgrind dumps go (callgrind.N.1, one per variant, in order), for callgrind_annotate.
    var output: URL
    var requests: Int
    var connections: Int
    var warmUp = 300

    struct Variant {
        var name: String
        var binary: String
        var arguments: [String]
        var database: String?
    }

    struct Count {
        var name: String
        var perRequest: Double
        var stages: [(String, Double)]
        /// Work done once a second or so, whatever the load (see `periodic`), over the counted run,
        /// divided by its requests.
        var periodic: Double
        /// The same per second of the counted run (which under callgrind lasts seconds).
        var periodicPerSecond: Double
        var seconds: Double
        var top: [(String, Double)]
    }

    /// The stages of a decision: synchronous functions, whose inclusive counts callgrind gets
    /// right (an async function's inclusive count also takes in whatever its continuations resume).
    static let stages: [(label: String, function: String)] = [
        ("decode the context", "static ActionContext.decodeChecked(_:from:)"),
        ("local policy", "static PolicyEvaluator.evaluate("),
        ("the verdict's JSON", "static DecisionAnswer.bytes("),
        ("queue the event", "EventWriter.submit("),
        ("write the response (Hummingbird)", "ResponseWriter.write(response:body:)"),
        ("event writer thread, per event", "EventWriter.writeLoop()"),
        ("search indexer, per event", "Store.indexSearch(batch:)"),
    ]

    /// Work a server does on a timer, not per request: polling the config version, the node's
    /// heartbeat, reading the index's lag, the writer's status row. Under callgrind a run of a few
    /// thousand requests lasts 10–20 s, so this work, about 1.2 million instructions a second,
    /// showed as 4,500–9,500 instructions "per request": at the real rate of tens of thousands of
    /// requests a second it is a fraction of one. Counted apart, per second, and left out of the
    /// decision path. (Synchronous functions, as above.)
    ///
    /// Only for this bench's traffic: sign-ups, no rate rules, no lockouts. A lockout bumps the
    /// config version and makes the next poll a full reload, and the rate windows' sync reads
    /// every other node's events, so neither is a fixed cost in general (and the sync is not
    /// listed). The writer's status row stays in the writer's stage line above.
    static let periodic = ["LivePolicy.reload(force:)", "Store.heartbeat(", "Store.searchLag()", "static Store.record(_:_:)"]

    /// Functions a thread runs in and never returns from while the dump is taken: callgrind_annotate
    /// lists the whole thread's cost as theirs, which says nothing about where it goes.
    static let threadRoots = ["clone", "start_thread", "ThreadOpsPosix", "setupThreadAndEventLoop", "(@guaranteed NIOThread)",
                              "NIOThreadPool._start", "NSThreadStart", "Thread.main()", "EventWriter.run()", "BlockingWork.startThread",
                              "BlockingWork.runOnThread", "(below main)"]

    static func available() -> Bool {
        (try? capture("valgrind", ["--version"]))?.hasPrefix("valgrind") == true
    }

    /// Runs each variant and returns the counts, in order.
    func run(_ variants: [Variant], bodies: [[UInt8]], path: String) async throws -> [Count] {
        let bin = directory.appendingPathComponent("callgrind-bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        var counts: [Count] = []
        for variant in variants {
            // valgrind 3.19 cannot read the DWARF 5 debug info Swift's toolchain writes; the
            // symbol table, which is all the breakdown needs, survives --strip-debug.
            let copy = bin.appendingPathComponent(URL(fileURLWithPath: variant.binary).lastPathComponent).path
            if !FileManager.default.fileExists(atPath: copy) {
                try FileManager.default.copyItem(atPath: variant.binary, toPath: copy)
                _ = try capture("strip", ["--strip-debug", copy])
            }
            let out = output.appendingPathComponent("callgrind.\(counts.count)").path
            let child = try Child("/usr/bin/env", ["valgrind", "--tool=callgrind", "--callgrind-out-file=\(out)", copy] + variant.arguments,
                                  environment: ["ACTIONS_SECRET": ServerBench.secret])
            defer { child.stop() }
            let pid = String(child.process.processIdentifier)
            try await send(warmUp, to: child.url + path, bodies: bodies)
            try await settle(variant.database, events: warmUp)
            _ = try capture("callgrind_control", ["--zero", pid])
            let started = ContinuousClock.now
            try await send(requests, to: child.url + path, bodies: bodies)
            try await settle(variant.database, events: warmUp + requests)
            _ = try capture("callgrind_control", ["--dump", pid])
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            // callgrind numbers its dumps: OUT.1 is the first after start.
            let dump = out + ".1"
            let annotated = try capture("sh", ["-c", "callgrind_annotate --inclusive=yes --threshold=100 '\(dump)' | swift demangle --simplified"])
            let selfCost = try capture("sh", ["-c", "callgrind_annotate --inclusive=no --threshold=100 '\(dump)' | swift demangle --simplified"])
            let total = Self.totals(in: try String(contentsOfFile: dump, encoding: .utf8))
            let n = Double(requests)
            let stages = Self.stages.compactMap { stage in
                Self.inclusive(of: stage.function, in: annotated).map { (stage.label, $0 / n) }
            }
            let top = Self.functions(in: selfCost).filter { row in !Self.threadRoots.contains { row.name.contains($0) } }
                .prefix(15).map { ($0.name, $0.count / n) }
            let periodic = Self.periodic.compactMap { Self.inclusive(of: $0, in: annotated) }.reduce(0, +)
            counts.append(Count(name: variant.name, perRequest: total / n, stages: stages, periodic: periodic / n,
                                periodicPerSecond: periodic / max(seconds, 0.001), seconds: seconds,
                                top: Array(top)))
        }
        return counts
    }

    /// `count` requests, at most `connections` in flight on kept-alive connections.
    func send(_ count: Int, to url: String, bodies: [[UInt8]]) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<count {
                    if i >= connections { try await group.next() }
                    group.addTask {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(bytes: bodies[i % bodies.count]))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Waits until the log holds `events` rows and the search index has caught up with them.
    func settle(_ database: String?, events: Int) async throws {
        guard let database else { return }
        let store = try await Store.open(path: database)
        for _ in 0..<600 {
            if try await BlockingWork.run({ try store.eventCount() >= events && store.searchBacklog() == 0 }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("the log did not catch up with \(events) events")
    }

    static func totals(in dump: String) -> Double {
        let line = dump.split(separator: "\n").first { $0.hasPrefix("totals:") || $0.hasPrefix("summary:") }
        return Double(line?.split(separator: " ").last ?? "") ?? 0
    }

    /// `(count, function)` rows of callgrind_annotate's output, most first.
    static func functions(in annotated: String) -> [(name: String, count: Double)] {
        annotated.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let first = trimmed.first, first.isNumber, let space = trimmed.firstIndex(of: " ") else { return nil }
            guard let count = Double(trimmed[..<space].replacingOccurrences(of: ",", with: "")) else { return nil }
            // "1,234 (5.6%)  file:function [object]"
            guard let colon = trimmed.range(of: ":") else { return nil }
            var name = String(trimmed[colon.upperBound...])
            if let bracket = name.range(of: " [", options: .backwards) { name = String(name[..<bracket.lowerBound]) }
            return (name, count)
        }
    }

    /// The largest inclusive count of a function whose name starts with `function`.
    static func inclusive(of function: String, in annotated: String) -> Double? {
        functions(in: annotated).first { $0.name.hasPrefix(function) || $0.name.hasPrefix("specialized " + function) }?.count
    }

    static func show(_ counts: [Count]) {
        guard let bare = counts.first else { return }
        for count in counts {
            var line = String(format: "%@: %.0f instructions/request", count.name, count.perRequest)
            if count.name != bare.name { line += String(format: ", %.2f× the bare handler's", count.perRequest / bare.perRequest) }
            report(line)
            // The decision path alone: the indexer works behind it, at idle priority, and the
            // periodic work is not per request.
            if let indexer = count.stages.first(where: { $0.0.hasPrefix("search indexer") })?.1 {
                let decisionPath = count.perRequest - indexer - count.periodic
                var path = String(format: "  decision path (HTTP, decision, event writer): %.0f instructions/request", decisionPath)
                if count.name != bare.name { path += String(format: ", %.2f× the bare handler's", decisionPath / bare.perRequest) }
                report(path)
                report(String(format: "    periodic work (config poll, heartbeat, index lag, writer status): %.0fk instructions/s over the %.1f s run, %.0f per request here, left out above",
                              count.periodicPerSecond / 1000, count.seconds, count.periodic))
            }
            for (label, value) in count.stages {
                report("    " + label.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%8.0f", value))
            }
        }
        for count in counts {
            report("top functions by own instructions per request, \(count.name):")
            for (name, value) in count.top { report(String(format: "    %8.0f  %@", value, String(name.prefix(110)))) }
        }
    }
}
