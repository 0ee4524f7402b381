import Logging
import ServiceLifecycle
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Keeps the search index up with the log, in batches of up to 20,000 events, one transaction
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
///
/// On SQLite, batches run at idle CPU priority (`BlockingWork.runWhenIdle`), so under saturation
/// a batch may wait for minutes; the lag is therefore measured and reported by a loop of its own,
/// at normal priority, every second, and never goes stale while a batch waits for a core.
struct SearchIndexer: Service {
    var store: Store
    var logger: Logger
    /// Where the index's lag is reported (`actions_search_index_lag_events`, `_seconds`).
    var metrics: EngineMetrics?
    /// Events per transaction, and the backlog a batch waits for: at idle priority a batch may be
    /// starved while it holds the index file's write lock (retention's index cleanup waits for
    /// it), so batches are the size the cost curve above flattens at, not larger.
    var batch = 20_000
    var maxDelay: Duration = .seconds(10)

    func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                if let metrics { group.addTask { await reportLag(to: metrics) } }
                group.addTask { await index() }
            }
        }
    }

    private func reportLag(to metrics: EngineMetrics) async {
        let store = self.store
        while !Task.isCancelled {
            if let lag = try? await BlockingWork.run({ try store.searchLag() }) {
                metrics.recordSearchLag(events: lag.events, oldestMs: lag.oldestMs, nowMs: WallClock.nowMs())
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// One batch. On SQLite the indexing CPU is this process's, so it runs at idle priority; on
    /// PostgreSQL it is the database server's, and a starved thread here would only hold a
    /// transaction (and its row lock on the index's mark) open longer.
    private func indexBatch(_ store: Store) async throws -> Int {
        let batchSize = batch
        return store.isPostgres
            ? try await BlockingWork.run { try store.indexSearch(batch: batchSize) }
            : try await BlockingWork.runWhenIdle { try store.indexSearch(batch: batchSize) }
    }

    private func index() async {
        let store = self.store
        var lastRun = ContinuousClock.now
        while !Task.isCancelled {
            do {
                // Unknown lag (the read failed): the batch is due.
                let lag = try? await BlockingWork.run { try store.searchLag() }
                let due = ContinuousClock.now - lastRun >= maxDelay || (lag?.events ?? Int64(batch)) >= Int64(batch)
                if due {
                    // Catch up without pausing while a backlog remains (a fresh index on an old log).
                    while try await indexBatch(store) == batch, !Task.isCancelled {}
                    lastRun = .now
                }
            } catch {
                if !Task.isCancelled { logger.warning("search index not updated", metadata: ["error": "\(error)"]) }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
