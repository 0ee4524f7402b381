import ArgumentParser
import Foundation
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The search index against the load (issue 27 §1): the indexer runs at SCHED_IDLE, so under
/// saturation it falls behind, and it catches up once the load falls; at 70 % of saturation
/// it keeps up. The lag is read from the store itself (events past the index's mark, and the
/// age of the oldest), twice a second, by a thread of this process.
extension ServerBench {
    func indexLag(_ directory: URL) throws {
        section("server: search index lag (indexer at SCHED_IDLE): \(duration) s of saturation (wrk -c\(connections)), then \(duration * 2) s at 70 % of it")
        let db = directory.appendingPathComponent("index-lag.db").path
        let store = try Store(path: db)
        try store.addListEntry(ListEntry(kind: .domain, value: "mailinator.com"), by: Operator(user: "bench"))
        let server = try Child(binary("actions-server"), ["--db", db, "--port", "0", "--log-level", "error"],
                               environment: ["ACTIONS_SECRET": Self.secret])
        defer { server.stop() }
        let url = server.url + "/v1/actions/user_registration"
        let script = try wrkScript(directory)
        let reader = try Store(path: db, create: false, readOnly: true)

        let saturation = LagSampler(store: reader)
        let saturated = try wrk(url, script: script)
        let atEnd = saturation.latest
        let stopped = Date()
        let caughtUp = saturation.waitUntilCaughtUp(timeout: 300)
        saturation.stop()
        report(String(format: "saturation: %.0f req/s; index behind at the end by %lld events (oldest %.1f s), at most %.1f s; caught up %@",
                      saturated.rate, atEnd.events, atEnd.seconds, saturation.maxSeconds,
                      caughtUp ? String(format: "%.1f s after the load stopped", Date().timeIntervalSince(stopped)) : "not within 300 s"))

        // 70 %: wrk paced by a per-connection delay (each connection sends, waits for the answer,
        // then waits `delay` ms), with enough connections for the target rate.
        let target = saturated.rate * 0.7
        let delayMs = 10
        let pacedScript = directory.appendingPathComponent("paced.lua").path
        try (try String(contentsOfFile: script, encoding: .utf8) + "\ndelay = function() return \(delayMs) end\n")
            .write(toFile: pacedScript, atomically: true, encoding: .utf8)
        // A first guess counts only the delay; a 3 s run calibrates it for the answer's own time.
        var paced = max(1, Int((target * Double(delayMs) / 1000).rounded(.up)))
        let trial = parse(try capture("wrk", ["-t2", "-c\(paced)", "-d3s", "-s", pacedScript, url]))
        if trial.rate > 0 { paced = max(1, Int((Double(paced) * target / trial.rate).rounded())) }
        let steady = LagSampler(store: reader)
        let result = parse(try capture("wrk", ["-t2", "-c\(paced)", "-d\(duration * 2)s", "--latency", "-s", pacedScript, url]))
        steady.stop()
        report(String(format: "at %.0f req/s (%.0f %% of saturation): index lag p50 %.1f s, max %.1f s (at most %lld events behind)",
                      result.rate, saturated.rate > 0 ? result.rate / saturated.rate * 100 : 0,
                      steady.percentileSeconds(0.5), steady.maxSeconds, steady.maxEvents))
    }
}

/// Reads the index's lag from the store twice a second on a thread of its own.
final class LagSampler: Sendable {
    struct Sample { var events: Int64; var seconds: Double }
    private let samples = Mutex<[Sample]>([])
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)
    private let store: Store

    init(store: Store) {
        self.store = store
        Thread.detachNewThread { [self] in
            while running.load(ordering: .relaxed) {
                if let lag = try? store.searchLag() {
                    let seconds = lag.oldestMs.map { max(0, Double(WallClock.nowMs() - $0) / 1000) } ?? 0
                    samples.withLock { $0.append(Sample(events: lag.events, seconds: seconds)) }
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
            done.signal()
        }
    }

    var latest: Sample { samples.withLock { $0.last ?? Sample(events: 0, seconds: 0) } }
    var maxSeconds: Double { samples.withLock { $0.map(\.seconds).max() ?? 0 } }
    var maxEvents: Int64 { samples.withLock { $0.map(\.events).max() ?? 0 } }

    func percentileSeconds(_ p: Double) -> Double {
        let sorted = samples.withLock { $0.map(\.seconds) }.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    /// Waits until the index has reached the log's end.
    func waitUntilCaughtUp(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.25)
            if let lag = try? store.searchLag(), lag.events == 0 { return true }
        }
        return false
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        done.wait()
    }
}
