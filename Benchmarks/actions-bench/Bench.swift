import ArgumentParser
import ActionsEngine
import ActionsStore
import Foundation

/// Benchmarks that print figures. Run in release: `scripts/bench` builds and runs them all.
/// Started with the main thread parked, so valgrind can run it (see `runWithMainThreadParked`).
@main
enum BenchMain {
    static func main() {
        // Piped into `head`, a SIGPIPE would end the bench before it stops the servers it started,
        // and they would run on, disturbing every later figure. Ignored, the bench finishes and
        // cleans up; what it prints after the reader left is lost, as it would be anyway.
        signal(SIGPIPE, SIG_IGN)
        runWithMainThreadParked { await Bench.main() }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions-bench",
        abstract: "Benchmarks for the store, the server and the dashboard; prints figures, side by side.",
        subcommands: [StoreBench.self, EngineBench.self, ServerBench.self, TopBench.self, BackfillBench.self, BaselineServer.self])
}

/// Median and percentiles of a list of durations in milliseconds.
struct Summary: CustomStringConvertible {
    var values: [Double]

    func percentile(_ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    var description: String {
        String(format: "p50 %.3f ms  p95 %.3f ms  p99 %.3f ms  max %.3f ms  (n=%d)",
               percentile(0.5), percentile(0.95), percentile(0.99), values.max() ?? 0, values.count)
    }
}

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
}

func section(_ title: String) {
    report("\n== \(title)")
}

/// Prints a line at once (unbuffered), so figures show up as they are measured even through a pipe.
func report(_ line: String) {
    announce(line)
}

/// Runs `body` on a new SQLite log at `path`, then deletes it with its WAL and search index
/// (on a blocking thread), whether the bench ended well or not.
func withScratchLog(_ path: String, _ body: () async throws -> Void) async throws {
    let ended: Result<Void, any Error>
    do { ended = .success(try await body()) } catch { ended = .failure(error) }
    _ = try? await BlockingWork.run { Store.removeSQLiteLog(at: path) }
    try ended.get()
}
