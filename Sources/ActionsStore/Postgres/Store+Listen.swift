import ActionsDomain
import Logging
import PostgresNIO

extension Store {
    /// PostgreSQL: calls `onChange` whenever another process commits a policy change (LISTEN on
    /// the channel `Store.bumpConfigVersion` notifies), until cancelled or the connection fails;
    /// then throws, and the caller checks the version itself (a notice sent while the connection
    /// was down is lost) before listening again. A SQLite store has no notifications: returns at once.
    /// On the primary (where the store writes): a standby neither receives notifications nor
    /// allows LISTEN. After a failover, the next call listens on the new primary.
    package func listenForChanges(_ onChange: @escaping @Sendable () async -> Void) async throws {
        guard case .postgres(let database) = backend else { return }
        let endpoint = try await BlockingWork.run { try database.endpoint(forWrite: true) }
        do {
            try await endpoint.client.withConnection { connection in
                try await connection.listen(on: PostgresSchema.configChannel) { notifications in
                    // Listening from here on: anything committed before is caught by the caller's check.
                    await onChange()
                    for try await _ in notifications { await onChange() }
                }
            }
        } catch {
            // Often the first to know the primary is gone: the store looks for the new one now
            // (not when the listener was cancelled: a shutdown is no failover).
            if !Task.isCancelled && !(error is CancellationError) {
                database.serverLost(forWrite: true, PostgresDatabase.storeError(error, host: endpoint.host))
            }
            throw error
        }
    }
}
