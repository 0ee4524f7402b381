import Logging
import ServiceLifecycle
import ActionsStore

/// Prunes old events every minute, as configured (`retention.max_age_days`, `retention.max_rows`);
/// without a retention setting it only waits for its group to shut down. Pruning blocks on
/// SQLite, so it runs on the blocking pool.
struct RetentionService: Service {
    var store: Store
    var maxAgeDays: Int?
    var maxRows: Int?
    var logger: Logger

    init(store: Store, config: EngineConfig, logger: Logger) {
        self.store = store
        self.maxAgeDays = config.retentionMaxAgeDays
        self.maxRows = config.retentionMaxRows
        self.logger = logger
    }

    func run() async {
        guard maxAgeDays != nil || maxRows != nil else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pruneOnce()
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }

    func pruneOnce() async {
        let store = self.store, maxAgeMs = maxAgeDays.map { Int64($0) * 86_400_000 }, maxRows = self.maxRows
        do {
            let deleted = try await BlockingWork.run { try store.prune(maxAgeMs: maxAgeMs, maxRows: maxRows) }
            if deleted > 0 { logger.info("retention pruned events", metadata: ["deleted": "\(deleted)"]) }
        } catch {
            logger.warning("retention failed", metadata: ["error": "\(error)"])
        }
    }
}
