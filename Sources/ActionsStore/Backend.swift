import ActionsDomain
import Foundation

/// The two databases a store runs on, and the only place that tells them apart: each operation
/// below hands over to `SQLiteBackend` or `PostgresDatabase`, which hold what is theirs alone
/// (opening, transactions, bulk appends, the search index, stopping a statement, noticing a
/// change). Store code above is written once over `SQLSession`, and the SQL text that still
/// differs is `SQLDialect`'s. A closed enum rather than a protocol: the event writer's generic
/// append stays specialized, with no existential between it and the database.
enum Backend: Sendable {
    case sqlite(SQLiteBackend)
    case postgres(PostgresDatabase)

    var dialect: SQLDialect {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// A transaction in one snapshot: a write takes the write lock first (SQLite's BEGIN
    /// IMMEDIATE); `deadlineNs`, a monotonic instant after which a write is not started (on
    /// PostgreSQL it also bounds the wait for a connection).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func transaction<T>(write: Bool, deadlineNs: UInt64?, _ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        switch self {
        case .sqlite(let sqlite): try sqlite.transaction(write: write, deadlineNs: deadlineNs, body)
        case .postgres(let database): try database.transaction(readOnly: !write, deadlineNs: deadlineNs, body)
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func append(_ events: some Collection<some EventRow>, status: WriterStatus?, retrying: Bool) throws(StoreError) {
        switch self {
        case .sqlite(let sqlite): try sqlite.append(events, status: status)
        case .postgres(let database): try database.append(events, status: status, retrying: retrying)
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func appliedMigrations() throws(StoreError) -> Set<String> {
        switch self {
        case .sqlite(let sqlite): try sqlite.appliedMigrations()
        case .postgres(let database): try PostgresSchema.applied(database)
        }
    }

    /// The migrations this build knows.
    var knownMigrations: [String] {
        switch self {
        case .sqlite: Schema.known
        case .postgres: PostgresSchema.known
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func dataVersion() throws(StoreError) -> Int {
        switch self {
        case .sqlite(let sqlite): try sqlite.dataVersion()
        case .postgres(let database): try database.dataVersion()
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func indexSearch(batch: Int) throws(StoreError) -> Int {
        switch self {
        case .sqlite(let sqlite): try sqlite.indexSearch(batch: batch)
        case .postgres(let database): try database.indexSearch(batch: batch)
        }
    }

    /// Before events are deleted: SQLite's index is a file of its own, and its entries for them
    /// go first. PostgreSQL's index rows go with their events.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func removeFromSearch(upTo lastID: Int64) throws(StoreError) {
        if case .sqlite(let sqlite) = self { try sqlite.removeFromSearch(upTo: lastID) }
    }

    /// Stops the statement running now: SQLite's `sqlite3_interrupt` (on the connection); on
    /// PostgreSQL, whose pool serves every thread, the one `thread` runs, by a cancel request.
    func interrupt(thread: UInt?) {
        switch self {
        case .sqlite(let sqlite): sqlite.writer.interrupt()
        case .postgres(let database): if let thread { database.cancel(onThread: thread) }
        }
    }

    /// SQLite: truncates the WAL when it can. PostgreSQL has nothing to do.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func checkpoint() {
        if case .sqlite(let sqlite) = self { sqlite.checkpoint() }
    }

    /// Ends a PostgreSQL store's connection pools (a SQLite store closes with its last reference).
    func close() {
        if case .postgres(let database) = self { database.close() }
    }

    /// The PostgreSQL server written to now, `host:port`; nil on SQLite.
    var writeHost: String? {
        if case .postgres(let database) = self { return database.currentWriteHost }
        return nil
    }

    /// PostgreSQL: LISTENs for policy changes (see `Store.listenForChanges`). SQLite has no
    /// notifications: returns at once.
    func listenForChanges(_ onChange: @escaping @Sendable () async -> Void) async throws {
        if case .postgres(let database) = self { try await database.listenForChanges(onChange) }
    }
}
