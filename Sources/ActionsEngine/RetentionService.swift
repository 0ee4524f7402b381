import Logging
import ServiceLifecycle
import ActionsDomain
import ActionsStore

/// Prunes old events every minute, as configured (`retention.max_age_days`, `retention.max_rows`);
/// without a retention setting it only waits for its group to shut down. Pruning blocks on
/// SQLite, so it runs on the blocking pool.
struct RetentionService: Service {
    var store: Store
    var maxAgeDays: Int?
    var maxRows: Int?
    /// Failed-login counts idle longer than the lockout window lock no one: they go every run.
    /// The window is read each run (SIGHUP may change it; a wider one must not prune live counts).
    var lockoutWindowMs: @Sendable () -> Int64
    var logger: Logger

    init(store: Store, config: EngineConfig, logger: Logger, lockoutWindowMs: @escaping @Sendable () -> Int64) {
        self.store = store
        self.maxAgeDays = config.retentionMaxAgeDays
        self.maxRows = config.retentionMaxRows
        self.lockoutWindowMs = lockoutWindowMs
        self.logger = logger
    }

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pruneOnce()
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }

    func pruneOnce() async {
        let store = self.store, maxAgeMs = maxAgeDays.map { Int64($0) * 86_400_000 }, maxRows = self.maxRows
        let idleMs = max(lockoutWindowMs(), 3_600_000)
        // Each on its own: a failure of one does not skip the other.
        do {
            let counts = try await BlockingWork.run { () throws(StoreError) -> Int in try store.pruneLoginFailures(idleMs: idleMs) }
            if counts > 0 { logger.info("retention pruned idle failed-login counts", metadata: ["deleted": "\(counts)"]) }
        } catch {
            logger.warning("retention of failed-login counts failed", metadata: ["error": "\(error)"])
        }
        guard maxAgeDays != nil || maxRows != nil else { return }
        do {
            let deleted = try await BlockingWork.run { try store.prune(maxAgeMs: maxAgeMs, maxRows: maxRows) }
            if deleted > 0 { logger.info("retention pruned events", metadata: ["deleted": "\(deleted)"]) }
        } catch {
            logger.warning("retention failed", metadata: ["error": "\(error)"])
        }
    }
}
