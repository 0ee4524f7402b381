import ActionsDomain
import Foundation
import GRDB
import CSQLiteConfig
import ActionsProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The shared store: a SQLite file on one machine, or a PostgreSQL database for a cluster.
/// actions-server writes it; actions-top and actionsctl read and edit it. Every operation is
/// written once, as SQL both backends run (`SQLSession`); the few statements that differ ask the
/// session's dialect.
package final class Store: Sendable {
    enum Backend: Sendable {
        case sqlite(any DatabaseWriter)
        case postgres(PostgresDatabase)
    }
    package enum Access: Sendable {
        /// A pool of connections (WAL lets readers run beside the writer). For the server.
        case pool
        /// One serialized connection. For the dashboard and the CLI; `PRAGMA data_version` needs
        /// the same connection each time to detect other processes' commits.
        case single
    }

    /// The file, or the PostgreSQL URL without its password.
    package let path: String
    let backend: Backend
    /// A writable SQLite store's search index (its own file), or why it could not be opened.
    let searchIndex: Result<SearchIndexFile, StoreError>?
    package let isReadOnly: Bool

    /// The GRDB connection of a SQLite store. Internal: it crashes on PostgreSQL, so nothing outside
    /// the store reaches it (tests inspect the file with `@testable`, benchmarks with GRDB of their own).
    var db: any DatabaseWriter {
        guard case .sqlite(let db) = backend else { preconditionFailure("\(path) is not a SQLite store") }
        return db
    }

    package var isPostgres: Bool {
        if case .postgres = backend { return true }
        return false
    }

    /// Process-wide SQLite settings, made once before the first connection opens: memory
    /// statistics off (see the shim; callgrind counted about 1,500 instructions a decision for
    /// them), and `file:` URIs on for attaching the search index read-only.
    static let sqliteConfigured: Void = {
        _ = actions_sqlite_disable_memory_statistics()
        _ = actions_sqlite_enable_uri()
    }()

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
            let location = try PostgresLocation(url: path)
            self.path = location.redacted
            self.isReadOnly = readOnly
            // Waiting for a connection takes at most the busy timeout (the dashboard's 0.5 s: an
            // outage slows its keys only that much); a statement on a live connection may run 5 s
            // or the busy timeout if longer; connecting may take at least 1 s.
            let busyMs = Int(busyTimeout * 1000)
            let database = try PostgresDatabase(location: location, connectionWaitMs: max(250, busyMs),
                                                 statementTimeoutMs: max(5000, busyMs), lockWaitMs: max(250, busyMs),
                                                 connectTimeoutMs: max(1000, busyMs))
            self.backend = .postgres(database)
            self.searchIndex = nil
            do {
                try PostgresSchema.migrate(database, readOnly: readOnly)
            } catch {
                database.close()
                throw error
            }
            return
        }
        self.path = path
        _ = Self.sqliteConfigured
        // Permission first: a user outside the state directory's group cannot even see whether
        // the file exists, and "does not exist" would send them looking in the wrong place.
        var info = stat()
        if stat(path, &info) != 0 ? errno == EACCES : Glibc.access(path, R_OK) != 0 {
            // The group to join: the file's, or when it cannot even be seen, its directory's.
            if Glibc.access(path, F_OK) != 0 { _ = stat(Self.directory(of: path), &info) }
            let group = info.st_gid == 0 ? "" : getgrgid(info.st_gid).map { " (" + String(cString: $0.pointee.gr_name) + ")" } ?? ""
            throw .cannotOpen(path: path, reason: "permission denied: this user may not read it; operators join its group\(group)")
        }
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists {
            if !create || readOnly { throw .missingDatabase(path: path) }
            try Self.createFile(path, mode: fileMode)
        }
        let writable = Glibc.access(path, W_OK) == 0
        let readOnly = readOnly || !writable
        self.isReadOnly = readOnly

        // The search index's own file (see SearchIndexFile), made by a store that can write.
        // Searches read it wherever it exists; without it they scan the log.
        if readOnly {
            searchIndex = nil
        } else {
            do throws(StoreError) {
                searchIndex = .success(try SearchIndexFile(logPath: path, busyTimeout: busyTimeout, fileMode: fileMode))
            } catch {
                searchIndex = .failure(error)
            }
        }
        let searchPath = SearchIndexFile.path(forLog: path)
        let searchURI = FileManager.default.fileExists(atPath: searchPath) ? SearchIndexFile.readOnlyURI(searchPath) : nil

        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(busyTimeout)
        config.label = "actions"
        config.prepareDatabase { db in
            // Bound the WAL file even when a tailer keeps a read transaction open.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            try SearchIndexFile.attach(searchURI, to: db)
            db.add(function: Self.lowerFunction)
        }
        // Several processes may open a new file at the same moment. Switching it to WAL and
        // migrating it take locks that SQLite sometimes refuses at once (SQLITE_BUSY without
        // calling the busy handler, to avoid a deadlock), and GRDB's migrator can start a migration
        // another process has just applied. Each such failure means another process made
        // progress, so trying again converges; the deadline bounds it.
        let deadlineNs = MonotonicClock.nowNs() + UInt64(max(busyTimeout, 2) * 1e9)
        func contended(_ error: any Error) -> Bool {
            MonotonicClock.nowNs() < deadlineNs && !(error is StoreError)
        }
        var opened: (any DatabaseWriter)?
        while opened == nil {
            do {
                switch access {
                case .pool: opened = try DatabasePool(path: path, configuration: config)
                case .single:
                    let queue = try DatabaseQueue(path: path, configuration: config)
                    if !readOnly { try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA main.journal_mode = WAL") } }
                    opened = queue
                }
            } catch {
                guard contended(error), (error as? DatabaseError)?.resultCode == .SQLITE_BUSY else {
                    throw .cannotOpen(path: path, reason: Self.message(error))
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        // Set after opening, not in prepareDatabase: a DatabasePool switches its writer to WAL
        // after that hook and sets `synchronous = NORMAL` as it does, which made durable mode
        // commit without a single fsync.
        if !readOnly {
            do {
                try opened!.writeWithoutTransaction { db in
                    try db.execute(sql: syncEveryCommit ? "PRAGMA main.synchronous = FULL" : "PRAGMA main.synchronous = NORMAL")
                }
            } catch {
                throw .cannotOpen(path: path, reason: Self.message(error))
            }
        }
        backend = .sqlite(opened!)
        while true {
            do {
                try migrate()
                return
            } catch {
                guard contended(error) else { throw Self.openError(error, path: path) }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }

    /// Creates an empty file with exactly `mode`: the umask must not widen or narrow what was
    /// asked for (the log and its search index hold emails and addresses).
    ///
    /// `like`: a file beside an existing one (the search index beside its log) takes that file's
    /// mode, owner and group: run as root, actionsctl once made a root-owned index the service
    /// user could not open. (SQLite does the same for its -wal and -shm files.)
    /// `actions_lower(text)`: the case folding searches compare in (`EventFilter.foldCase`),
    /// which SQLite's own lower() and LIKE apply to ASCII alone.
    static let lowerFunction = DatabaseFunction("actions_lower", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map(EventFilter.foldCase)
    }

    /// The PostgreSQL server this store writes to now, `host:port` (a failover moves it); nil on SQLite.
    package var databaseServer: String? {
        guard case .postgres(let database) = backend else { return nil }
        return database.currentWriteHost
    }

    static func createFile(_ path: String, mode: mode_t, like sibling: String? = nil) throws(StoreError) {
        var model = stat()
        var copied = sibling.map { stat($0, &model) == 0 } ?? false
        // A directory shared with a group (the service's state directory: setgid, group rwx, no
        // access for others, 2770 actions:actions, which operators join): a new database is
        // readable and writable by the group too, and in its group, so `actions-top` and
        // `actionsctl` work for them without root, whoever made it. SQLite's -wal and -shm take
        // the directory's group from the setgid bit. Anywhere else (a world-writable /tmp
        // included) only its owner can read the log.
        var directory = stat()
        if !copied, stat(Self.directory(of: path), &directory) == 0, Self.isSharedWithGroup(directory) {
            model = directory
            model.st_mode = (mode | 0o060) & 0o770
            copied = true
        }
        // Made here or not at all: O_EXCL and O_NOFOLLOW, so that a symlink planted in the
        // database's directory (root running actionsctl) never makes or hands over another file.
        let fd = Glibc.open(path, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_CLOEXEC, copied ? model.st_mode & 0o777 : mode)
        guard fd >= 0 else {
            // Another process made it a moment ago: that file is the one to open.
            if errno == EEXIST, lstat(path, &model) == 0, model.st_mode & S_IFMT == S_IFREG { return }
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        fchmod(fd, copied ? model.st_mode & 0o777 : mode)
        // Root hands the file to the model's owner and group; anyone else can give it the group
        // (as a member of it), so a file an operator made is still the service's to open.
        if copied { _ = geteuid() == 0 ? fchown(fd, model.st_uid, model.st_gid) : fchown(fd, uid_t.max, model.st_gid) }
        Glibc.close(fd)
    }

    static func directory(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Setgid, its group may enter and write, others may not: a directory meant for a group.
    static func isSharedWithGroup(_ directory: stat) -> Bool {
        directory.st_mode & S_ISGID != 0 && directory.st_mode & 0o070 == 0o070 && directory.st_mode & 0o007 == 0
    }

    private static func openError(_ error: any Error, path: String) -> StoreError {
        (error as? StoreError) ?? .cannotOpen(path: path, reason: message(error))
    }

    /// Migration identifiers recorded in the database.
    func appliedMigrations() throws(StoreError) -> Set<String> {
        switch backend {
        case .sqlite(let db):
            do {
                return try db.read { try Schema.migrator.appliedIdentifiers($0) }
            } catch {
                throw Self.storeError(error)
            }
        case .postgres(let database):
            return try PostgresSchema.applied(database)
        }
    }

    /// Ends a PostgreSQL store's connection pool (a SQLite store closes with its last reference).
    package func close() {
        if case .postgres(let database) = backend { database.close() }
    }

    /// Throws StoreError for what retrying cannot fix (a newer or older schema), else GRDB's error.
    private func migrate() throws {
        let migrator = Schema.migrator
        let applied = try db.read { try migrator.appliedIdentifiers($0) }
        let unknown = applied.subtracting(Schema.known).sorted()
        if !unknown.isEmpty { throw StoreError.schemaTooNew(path: path, unknown: unknown) }
        let missing = Schema.known.filter { !applied.contains($0) }
        if missing.isEmpty { return }
        if isReadOnly { throw StoreError.schemaTooOld(path: path, missing: missing) }
        try migrator.migrate(db)
    }

    /// A write transaction that takes the write lock up front (BEGIN IMMEDIATE), so a read-then-write
    /// never fails with SQLITE_BUSY_SNAPSHOT, which a busy timeout does not cover.
    ///
    /// - Parameter deadlineNs: a monotonic instant (`MonotonicClock`) after which the write is not
    ///   started: a caller that has given up by then gets SQLITE_BUSY instead of a write that lands
    ///   after it answered. Writes queue behind each other, so this bounds the queueing; the busy
    ///   timeout bounds the write itself.
    func write<T>(deadlineNs: UInt64? = nil, _ body: (Database) throws -> T) throws(StoreError) -> T {
        if isReadOnly { throw .readOnly(path: path) }
        do {
            return try db.writeWithoutTransaction { db in
                if let deadlineNs, MonotonicClock.nowNs() > deadlineNs {
                    throw StoreError.sqlite(code: 5 /* SQLITE_BUSY */, message: "database is busy; gave up waiting for the write lock")
                }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A write transaction on either backend (on PostgreSQL, `deadlineNs` also bounds the wait for
    /// a connection).
    func writing<T>(deadlineNs: UInt64? = nil, _ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        if isReadOnly { throw .readOnly(path: path) }
        switch backend {
        case .sqlite: return try write(deadlineNs: deadlineNs) { try body(SQLiteSession(db: $0)) }
        case .postgres(let database): return try database.transaction(readOnly: false, deadlineNs: deadlineNs, body)
        }
    }

    /// A read on either backend, in one snapshot.
    func reading<T>(_ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        switch backend {
        case .sqlite: return try read { try body(SQLiteSession(db: $0)) }
        case .postgres(let database): return try database.transaction(readOnly: true, deadlineNs: nil, body)
        }
    }

    /// A GRDB read on a SQLite store (internal, as `db` is).
    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try db.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Changes whenever another connection commits; never for this connection's own commits.
    /// Meaningful with `.single` access, where every read uses the same connection. On
    /// PostgreSQL, a value that moves with new events, settings, circuit states and heartbeats.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func dataVersion() throws(StoreError) -> Int {
        switch backend {
        case .sqlite:
            return try read { try Int.fetchOne($0, sql: "PRAGMA data_version") ?? 0 }
        case .postgres:
            return try reading { db in
                Int(try db.int64("""
                    SELECT (SELECT coalesce(max(id), 0) FROM events) * 31
                         + (SELECT value FROM meta WHERE key = 'config_version') * 17
                         + (SELECT coalesce(max(updated_ms), 0) FROM circuit_state)
                         + (SELECT coalesce(max(updated_ms), 0) FROM writer_status)
                         + (SELECT coalesce(max(updated_ms), 0) FROM nodes)
                    """) ?? 0)
            }
        }
    }

    /// Bumped by every change a running server must pick up.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func configVersion() throws(StoreError) -> Int64 {
        try reading { try $0.int64("SELECT value FROM meta WHERE key = 'config_version'") ?? 0 }
    }

    /// On PostgreSQL this also notifies every listening node; the notice goes out on commit, with
    /// the change, and never for a change rolled back.
    static func bumpConfigVersion(_ db: any SQLSession) throws {
        try db.execute("UPDATE meta SET value = value + 1 WHERE key = 'config_version'")
        if db.dialect == .postgres { try db.execute("NOTIFY \(PostgresSchema.configChannel)") }
    }

    /// Stops the statement running on this store now, from another thread: SQLite's
    /// `sqlite3_interrupt` (it fails with SQLITE_INTERRUPT); on PostgreSQL, whose pool serves
    /// every thread, the statement the thread `thread` (`Store.currentThread` there) runs now,
    /// by a cancel request (it fails with 57014).
    package func interrupt(thread: UInt? = nil) {
        switch backend {
        case .sqlite(let db): db.interrupt()
        case .postgres(let database): if let thread { database.cancel(onThread: thread) }
        }
    }

    /// The calling thread, as `interrupt(thread:)` names it.
    package static var currentThread: UInt { PostgresDatabase.currentThread }

    /// A tailer that stays open keeps the WAL from being recycled; this truncates it when possible.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func checkpoint() {
        guard case .sqlite(let db) = backend else { return }
        _ = try? db.writeWithoutTransaction { try $0.checkpoint(.truncate) }
    }

    /// A GRDB error as a StoreError that keeps SQLite's primary result code.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            return .sqlite(code: error.resultCode.rawValue, message: message(error))
        }
        return .sqlite(code: 1 /* SQLITE_ERROR */, message: message(error))
    }

    static func message(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "\(error.resultCode)"
        }
        return "\(error)"
    }
}
