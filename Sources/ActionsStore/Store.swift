import ActionsDomain
import Foundation
import GRDB
import ActionsProtocol

/// The shared store: a SQLite file on one machine, or a PostgreSQL database for a cluster.
/// actions-server writes it; actions-top and actionsctl read and edit it. Every operation is
/// written once, as SQL both backends run (`SQLSession`). The SQL text that differs is
/// `SQLDialect`'s; what differs below the SQL (opening, bulk appends, the search index, stopping a
/// statement) is `Backend`'s, and this type never asks which database it is on.
package final class Store: Sendable {
    package enum Access: Sendable {
        /// A pool of connections (WAL lets readers run beside the writer). For the server.
        case pool
        /// One serialized connection. For the dashboard and the CLI; `PRAGMA data_version` needs
        /// the same connection each time to detect other processes' commits.
        case single
    }

    /// The file, or the PostgreSQL URL without its password.
    package let path: String
    /// The database below, and everything that is its alone (see `Backend`).
    let backend: Backend
    package let isReadOnly: Bool

    /// A SQLite store's own side, and its GRDB connection, for tests (`@testable`; benchmarks use
    /// GRDB of their own). Internal: they crash on PostgreSQL, and store code goes through
    /// `Backend` instead.
    var sqlite: SQLiteBackend {
        guard case .sqlite(let sqlite) = backend else { preconditionFailure("\(path) is not a SQLite store") }
        return sqlite
    }
    var db: any DatabaseWriter { sqlite.writer }
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T { try sqlite.write(body) }
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T { try sqlite.read(body) }

    package var isPostgres: Bool { backend.dialect == .postgres }

    /// `ACTIONS_DB`, else `./actions.db`.
    package static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["ACTIONS_DB"], !path.isEmpty { return path }
        return "./actions.db"
    }

    /// Opens (and unless `create` is false, creates) the database and brings its schema up to date.
    /// - Parameters:
    ///   - busyTimeout: how long a statement waits for another process's lock before failing.
    ///   - readOnly: never write; also forced when the file is not writable by this user.
    ///   - fileMode: permissions of a new file; 0600 by default so other users cannot read the log
    ///   (0660 in a directory its group may write to: see `createFile`).
    ///   - syncEveryCommit: `synchronous = FULL`, an fsync per commit, so a commit survives power
    ///   loss (durable events); otherwise NORMAL, which survives a process crash.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package init(path: String, access: Access = .single, create: Bool = true, readOnly: Bool = false,
                busyTimeout: TimeInterval = 5, fileMode: mode_t = 0o600, syncEveryCommit: Bool = false) throws(StoreError) {
        if PostgresLocation.isURL(path) {
            let database = try PostgresDatabase.open(url: path, readOnly: readOnly, busyTimeout: busyTimeout)
            self.path = database.location.redacted
            isReadOnly = readOnly
            backend = .postgres(database)
        } else {
            let sqlite = try SQLiteBackend(path: path, access: access, create: create, readOnly: readOnly, busyTimeout: busyTimeout,
                                           fileMode: fileMode, syncEveryCommit: syncEveryCommit)
            self.path = path
            isReadOnly = sqlite.isReadOnly
            backend = .sqlite(sqlite)
        }
    }

    /// Deletes the SQLite log at `path` and every file beside it that is its (WAL, shared memory,
    /// search index): for benchmarks and tools that make a log and throw it away. Nothing may
    /// have it open.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package static func removeSQLiteLog(at path: String) {
        for file in SQLiteFile.all(ofLog: path) { try? FileManager.default.removeItem(atPath: file) }
    }

    /// The PostgreSQL server this store writes to now, `host:port` (a failover moves it); nil on SQLite.
    package var databaseServer: String? { backend.writeHost }

    /// Migration identifiers recorded in the database.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func appliedMigrations() throws(StoreError) -> Set<String> { try backend.appliedMigrations() }

    /// Ends a PostgreSQL store's connection pool (a SQLite store closes with its last reference).
    package func close() { backend.close() }

    /// A write transaction on either backend: it takes the write lock first (SQLite's BEGIN
    /// IMMEDIATE, so a read-then-write never fails with SQLITE_BUSY_SNAPSHOT, which a busy timeout
    /// does not cover).
    ///
    /// - Parameter deadlineNs: a monotonic instant (`MonotonicClock`) after which the write is not
    ///   started: a caller that has given up by then gets SQLITE_BUSY instead of a write that lands
    ///   after it answered. On PostgreSQL it also bounds the wait for a connection.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func writing<T>(deadlineNs: UInt64? = nil, _ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        if isReadOnly { throw .readOnly(path: path) }
        return try backend.transaction(write: true, deadlineNs: deadlineNs, body)
    }

    /// A read on either backend, in one snapshot.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func reading<T>(_ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        try backend.transaction(write: false, deadlineNs: nil, body)
    }

    /// Changes whenever another connection commits; never for this connection's own commits.
    /// Meaningful with `.single` access, where every read uses the same connection. On
    /// PostgreSQL, a value that moves with new events, settings, circuit states and heartbeats.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func dataVersion() throws(StoreError) -> Int { try backend.dataVersion() }

    /// Bumped by every change a running server must pick up, lockouts included.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func configVersion() throws(StoreError) -> Int64 { try policyVersions().config }

    /// What a running server's policy was read at. `config` moves with every change, as it always
    /// has; `lockouts` moves, in the same transaction, with every lockout started or lifted. When
    /// both moved by the same amount, lockouts were all that changed, and a server re-reads only
    /// them. A lockout is the one change an attacker makes happen (ten failed logins start one):
    /// each used to make every node read and compile its whole rule book again (138 ms with 100k
    /// deny entries), back to back under a credential-stuffing run.
    ///
    /// Why `config` still moves with lockouts: binaries from before `lockouts` existed (a cluster
    /// upgraded node by node, an old actionsctl) read `config` alone, so they still see every
    /// lockout, and what they change moves `config` alone, which the new ones read as "more than
    /// lockouts": a full reload. Either way nothing is missed.
    package struct PolicyVersions: Sendable, Equatable {
        package var config: Int64
        package var lockouts: Int64

        package init(config: Int64 = -1, lockouts: Int64 = -1) {
            self.config = config
            self.lockouts = lockouts
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func policyVersions() throws(StoreError) -> PolicyVersions {
        try reading { db in
            // lockout_version has no row until the first lockout: no migration, so a log an older
            // binary made or still uses keeps working.
            var versions = PolicyVersions(config: 0, lockouts: 0)
            for row in try db.rows("SELECT key, value FROM meta WHERE key IN ('config_version', 'lockout_version')") {
                if row.string(0) == "config_version" { versions.config = row.int64(1) } else { versions.lockouts = row.int64(1) }
            }
            return versions
        }
    }

    /// On PostgreSQL this also notifies every listening node; the notice goes out on commit, with
    /// the change, and never for a change rolled back.
    static func bumpConfigVersion(_ db: any SQLSession) throws {
        try db.execute("UPDATE meta SET value = value + 1 WHERE key = 'config_version'")
        if let notice = db.dialect.configChangeNotice { try db.execute(notice) }
    }

    /// A lockout started or ended: both versions move (see `PolicyVersions`), and on PostgreSQL
    /// every node is notified. Returns the lockout version this change made.
    @discardableResult
    static func bumpLockoutVersion(_ db: any SQLSession) throws -> Int64 {
        try bumpConfigVersion(db)
        return try db.int64("""
            INSERT INTO meta(key, value) VALUES ('lockout_version', 1)
            ON CONFLICT(key) DO UPDATE SET value = meta.value + 1 RETURNING value
            """) ?? 0
    }

    /// Stops the statement running on this store now, from another thread: SQLite's
    /// `sqlite3_interrupt` (it fails with SQLITE_INTERRUPT); on PostgreSQL, whose pool serves
    /// every thread, the statement the thread `thread` (`Store.currentThread` there) runs now,
    /// by a cancel request (it fails with 57014).
    package func interrupt(thread: UInt? = nil) { backend.interrupt(thread: thread) }

    /// The calling thread, as `interrupt(thread:)` names it.
    package static var currentThread: UInt { PostgresDatabase.currentThread }

    /// A tailer that stays open keeps the WAL from being recycled; this truncates it when possible.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func checkpoint() { backend.checkpoint() }

    /// PostgreSQL: calls `onChange` whenever another process commits a policy change (LISTEN on
    /// the channel `Store.bumpConfigVersion` notifies), until cancelled or the connection fails;
    /// then throws, and the caller checks the version itself (a notice sent while the connection
    /// was down is lost) before listening again. A SQLite store has no notifications: returns at once.
    package func listenForChanges(_ onChange: @escaping @Sendable () async -> Void) async throws {
        try await backend.listenForChanges(onChange)
    }
}
