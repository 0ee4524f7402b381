import ActionsDomain
import Foundation
import PostgresNIO

/// What a PostgreSQL store does its own way (see `Backend`): the statements both databases run
/// are written once, over `SQLSession`.
extension PostgresDatabase {
    /// Connects to the database at `url` and brings its schema up to date; see `Store.init`.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    static func open(url: String, readOnly: Bool, busyTimeout: TimeInterval) throws(StoreError) -> PostgresDatabase {
        let location = try PostgresLocation(url: url)
        // Waiting for a connection takes at most the busy timeout (the dashboard's 0.5 s: an
        // outage slows its keys only that much); a statement on a live connection may run 5 s
        // or the busy timeout if longer; connecting may take at least 1 s.
        let busyMs = Int(busyTimeout * 1000)
        let database = try PostgresDatabase(location: location, connectionWaitMs: max(250, busyMs),
                                            statementTimeoutMs: max(5000, busyMs), lockWaitMs: max(250, busyMs),
                                            connectTimeoutMs: max(1000, busyMs))
        do {
            try PostgresSchema.migrate(database, readOnly: readOnly)
        } catch {
            database.close()
            throw error
        }
        return database
    }

    /// Appends a batch of events, and the writer's status row when given, in one transaction,
    /// by COPY. The transaction first takes an advisory lock, so that ids are assigned and
    /// committed in one order across every node (see `Store.append`). `retrying`: a batch whose
    /// last try may have committed is looked for first, and not written twice.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func append(_ events: some Collection<some EventRow>, status: WriterStatus?, retrying: Bool) throws(StoreError) {
        try transaction(readOnly: false, deadlineNs: nil) { db in
            try db.execute("SELECT pg_advisory_xact_lock(?)", [PostgresSchema.eventOrderLock])
            if retrying, let first = events.first, try Self.holds(first, and: events.dropFirst(events.count - 1).first ?? first, db) {
                if let status { try Store.record(status, db) }
                return
            }
            if !events.isEmpty, let session = db as? PostgresSession {
                try copy(events, columns: Event.insertColumns, session: session)
            }
            if let status { try Store.record(status, db) }
        }
    }

    /// Whether the log holds both events (by time, which `events_by_time` indexes, and uid).
    private static func holds(_ first: some EventRow, and last: some EventRow, _ db: any SQLSession) throws -> Bool {
        let found = try db.int64("SELECT count(DISTINCT uid) FROM events WHERE ts_ms BETWEEN ? AND ? AND uid IN (?, ?)",
                                 [min(first.timeMs, last.timeMs), max(first.timeMs, last.timeMs), first.uid, last.uid]) ?? 0
        return found == (first.uid == last.uid ? 1 : 2)
    }

    /// A value that moves with new events, settings, circuit states and heartbeats: PostgreSQL
    /// has no `data_version`.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func dataVersion() throws(StoreError) -> Int {
        try transaction(readOnly: true, deadlineNs: nil) { db in
            Int(try db.int64("""
                SELECT (SELECT coalesce(max(id), 0) FROM events) * 31
                     + (SELECT value FROM meta WHERE key = 'config_version') * 17
                     + (SELECT coalesce(max(updated_ms), 0) FROM circuit_state)
                     + (SELECT coalesce(max(updated_ms), 0) FROM writer_status)
                     + (SELECT coalesce(max(updated_ms), 0) FROM nodes)
                """) ?? 0)
        }
    }

    /// The index is a table beside the log, filled in the log's own transactions. Several nodes
    /// may run this at once: the row lock on the mark serializes them.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func indexSearch(batch: Int) throws(StoreError) -> Int {
        try transaction(readOnly: false, deadlineNs: nil) { db in
            let upTo = try db.int64("SELECT value FROM meta WHERE key = 'search_indexed_up_to' FOR UPDATE") ?? 0
            guard let range = try db.row("SELECT count(*), max(id) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?) AS batch",
                                         [upTo, batch]),
                  let last = range.optionalInt64(1) else { return 0 }
            try db.execute("INSERT INTO events_search(id, body) SELECT id, \(Schema.searchText(row: nil, .postgres)) FROM events WHERE id > ? AND id <= ?",
                           [upTo, last])
            try db.execute("UPDATE meta SET value = ? WHERE key = 'search_indexed_up_to'", [last])
            return range.int(0)
        }
    }

    /// Calls `onChange` whenever another process commits a policy change (LISTEN on the channel
    /// `Store.bumpConfigVersion` notifies), until cancelled or the connection fails; see
    /// `Store.listenForChanges`. On the primary (where the store writes): a standby neither
    /// receives notifications nor allows LISTEN. After a failover, the next call listens on the
    /// new primary.
    func listenForChanges(_ onChange: @escaping @Sendable () async -> Void) async throws {
        let endpoint = try await BlockingWork.run { try self.endpoint(forWrite: true) }
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
                serverLost(forWrite: true, Self.storeError(error, host: endpoint.host))
            }
            throw error
        }
    }
}
