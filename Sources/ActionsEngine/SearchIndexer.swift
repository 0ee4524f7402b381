import Logging
import ServiceLifecycle
import ActionsStore

/// Keeps the search index up with the log: every second, the events written since, in
/// batches of up to 50,000 (one transaction each, so the event writer waits at most one batch).
/// Indexing behind the writer rather than in its commits keeps ingest at full speed; a fresh
/// index over an existing log fills at that pace too. In a cluster every node runs one; they
/// take turns on the index's mark.
struct SearchIndexer: Service {
    var store: Store
    var logger: Logger

    func run() async {
        let store = self.store
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    // Catch up without pausing while a backlog remains (a fresh index on an old log).
                    while try await BlockingWork.run({ try store.indexSearch() }) == 50_000, !Task.isCancelled {}
                } catch {
                    if !Task.isCancelled { logger.warning("search index not updated", metadata: ["error": "\(error)"]) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
