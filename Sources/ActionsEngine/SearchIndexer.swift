import Logging
import ServiceLifecycle
import ActionsProtocol
import ActionsStore

/// Keeps the search index up with the log, in batches of up to 50,000 events, one transaction
/// each. Indexing behind the writer rather than in its commits keeps ingest at full speed; a
/// fresh index over an existing log fills at that pace too. The event writer never waits for a
/// batch: on SQLite the index is a file of its own (`SearchIndexFile`), on PostgreSQL rows of
/// their own. In a cluster every node runs one; they take turns on the index's mark.
///
/// It waits for a batch worth writing: 20,000 events, or 10 seconds. Each FTS5 batch writes a
/// new segment holding every distinct trigram it saw, so small batches cost far more per event
/// (callgrind, in the sqlite3 shell: 74k instructions an event in batches of 200, 63k in 1,000,
/// 41k in 5,000, 36k in 20,000). Searches scan the events the index has not reached, so results
/// are the same, and the dashboard scans the newest 100,000 at most.
struct SearchIndexer: Service {
    var store: Store
    var logger: Logger
    /// Where the index's lag is reported (`actions_search_index_lag_events`, `_seconds`).
    var metrics: EngineMetrics?
    var batch = 20_000
    var maxDelay: Duration = .seconds(10)

    func run() async {
        let store = self.store
        await cancelWhenGracefulShutdown {
            var lastRun = ContinuousClock.now
            while !Task.isCancelled {
                do {
                    // The lag decides when a batch is due and is reported; unknown, the batch is due.
                    let lag = try? await BlockingWork.run { try store.searchLag() }
                    if let lag { metrics?.recordSearchLag(events: lag.events, oldestMs: lag.oldestMs, nowMs: WallClock.nowMs()) }
                    let due = ContinuousClock.now - lastRun >= maxDelay || (lag?.events ?? Int64(batch)) >= Int64(batch)
                    if due {
                        // Catch up without pausing while a backlog remains (a fresh index on an old log).
                        // At idle CPU priority: indexing never takes a core that decisions need.
                        while try await BlockingWork.runWhenIdle({ try store.indexSearch() }) == 50_000, !Task.isCancelled {}
                        lastRun = .now
                    }
                } catch {
                    if !Task.isCancelled { logger.warning("search index not updated", metadata: ["error": "\(error)"]) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
