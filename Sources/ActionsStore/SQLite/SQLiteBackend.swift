import ActionsDomain
import ActionsProtocol
import CSQLiteConfig
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// A store on a SQLite file, through GRDB: WAL, a busy timeout, `BEGIN IMMEDIATE` writes, and the
/// search index in a file of its own (`SearchIndexFile`). Everything that is SQLite's alone lives
/// here; the statements both databases run are written once over `SQLSession`.
struct SQLiteBackend: Sendable {
    let path: String
    let writer: any DatabaseWriter
    let isReadOnly: Bool
    /// A writable store's search index (its own file), or why it could not be opened; nil when
    /// read-only. Searches read the file wherever it exists; without it they scan the log.
    let searchIndex: Result<SearchIndexFile, StoreError>?

    /// Process-wide SQLite settings, made once before the first connection opens: memory
    /// statistics off (see the shim; callgrind counted about 1,500 instructions a decision for
    /// them), and `file:` URIs on for attaching the search index read-only.
    static let configured: Void = {
        _ = actions_sqlite_disable_memory_statistics()
        _ = actions_sqlite_enable_uri()
    }()

    /// `actions_lower(text)`: the case folding searches compare in (`EventFilter.foldCase`),
    /// which SQLite's own lower() and LIKE apply to ASCII alone.
    static let lowerFunction = DatabaseFunction("actions_lower", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map(EventFilter.foldCase)
    }

    /// Opens (and unless `create` is false, creates) the file and brings its schema up to date;
    /// see `Store.init`.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    init(path: String, access: Store.Access, create: Bool, readOnly: Bool, busyTimeout: TimeInterval,
         fileMode: mode_t, syncEveryCommit: Bool) throws(StoreError) {
        self.path = path
        _ = Self.configured
        // Permission first: a user outside the state directory's group cannot even see whether
        // the file exists, and "does not exist" would send them looking in the wrong place.
        var info = stat()
        if stat(path, &info) != 0 ? errno == EACCES : Glibc.access(path, R_OK) != 0 {
            // The group to join: the file's, or when it cannot even be seen, its directory's.
            if Glibc.access(path, F_OK) != 0 { _ = stat(SQLiteFile.directory(of: path), &info) }
            let group = info.st_gid == 0 ? "" : getgrgid(info.st_gid).map { " (" + String(cString: $0.pointee.gr_name) + ")" } ?? ""
            throw .cannotOpen(path: path, reason: "permission denied: this user may not read it; operators join its group\(group)")
        }
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists {
            if !create || readOnly { throw .missingDatabase(path: path) }
            try SQLiteFile.create(path, mode: fileMode)
        }
        let writable = Glibc.access(path, W_OK) == 0
        let readOnly = readOnly || !writable
        self.isReadOnly = readOnly

        // The search index's own file (see SearchIndexFile), made by a store that can write.
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
                    throw Self.openFailure(path, error)
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
                throw Self.openFailure(path, error)
            }
        }
        writer = opened!
        while true {
            do {
                try migrate()
                return
            } catch {
                guard contended(error) else { throw (error as? StoreError) ?? Self.openFailure(path, error) }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }

    /// Why the file could not be opened. A lock held past the busy timeout, a full or failing disk
    /// keep their SQLite code, so they count as passing failures (`isTransient`: actionsctl and
    /// actions-server exit 75, and the unit restarts the server); anything else cannot be opened
    /// as it is (69), SQLITE_CANTOPEN included: a file this user cannot open stays so.
    private static func openFailure(_ path: String, _ error: any Error) -> StoreError {
        if let code = (error as? DatabaseError)?.resultCode.primaryResultCode,
           [ResultCode.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR].contains(code) {
            return .sqlite(code: code.rawValue, message: "cannot open database \(path): \(message(error))")
        }
        return .cannotOpen(path: path, reason: message(error))
    }

    /// Throws StoreError for what retrying cannot fix (a newer or older schema), else GRDB's error.
    private func migrate() throws {
        let migrator = Schema.migrator
        let applied = try writer.read { try migrator.appliedIdentifiers($0) }
        let unknown = applied.subtracting(Schema.known).sorted()
        if !unknown.isEmpty { throw StoreError.schemaTooNew(path: path, unknown: unknown) }
        let missing = Schema.known.filter { !applied.contains($0) }
        if missing.isEmpty { return }
        if isReadOnly { throw StoreError.schemaTooOld(path: path, missing: missing) }
        try migrator.migrate(writer)
    }

    /// Migration identifiers recorded in the file.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func appliedMigrations() throws(StoreError) -> Set<String> {
        try read { try Schema.migrator.appliedIdentifiers($0) }
    }

    /// A write transaction that takes the write lock up front (BEGIN IMMEDIATE), so a read-then-write
    /// never fails with SQLITE_BUSY_SNAPSHOT, which a busy timeout does not cover.
    ///
    /// - Parameter deadlineNs: a monotonic instant (`MonotonicClock`) after which the write is not
    ///   started: a caller that has given up by then gets SQLITE_BUSY instead of a write that lands
    ///   after it answered. Writes queue behind each other, so this bounds the queueing; the busy
    ///   timeout bounds the write itself.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func write<T>(deadlineNs: UInt64? = nil, _ body: (Database) throws -> T) throws(StoreError) -> T {
        if isReadOnly { throw .readOnly(path: path) }
        do {
            return try writer.writeWithoutTransaction { db in
                if let deadlineNs, MonotonicClock.nowNs() > deadlineNs {
                    throw StoreError.sqlite(code: 5 /* SQLITE_BUSY */, message: "database is busy; gave up waiting for the write lock")
                }
                return try db.immediateTransaction(body)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A read in one snapshot.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try writer.read(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func transaction<T>(write: Bool, deadlineNs: UInt64?, _ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        write ? try self.write(deadlineNs: deadlineNs) { try body(SQLiteSession(db: $0)) } : try read { try body(SQLiteSession(db: $0)) }
    }

    /// Appends a batch of events, and the writer's status row when given, in one transaction
    /// (SQLite's write lock already orders ids with commits; see `Store.append`).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func append(_ events: some Collection<some EventRow>, status: WriterStatus?) throws(StoreError) {
        try write { db in
            try RowBinder.insert(events, db)
            if let status { try Store.record(status, SQLiteSession(db: db)) }
        }
    }

    /// Changes whenever another connection commits; never for this connection's own commits.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func dataVersion() throws(StoreError) -> Int {
        try read { try Int.fetchOne($0, sql: "PRAGMA data_version") ?? 0 }
    }

    /// Adds up to `batch` events to the index file (a read-only store has none: `writing` refuses it).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func indexSearch(batch: Int) throws(StoreError) -> Int {
        switch searchIndex {
        case .success(let index)?: return try index.index(batch: batch)
        case .failure(let error)?: throw error
        case nil: throw .readOnly(path: path)
        }
    }

    /// The index is a file of its own: a batch of events leaves it before it leaves the log (see
    /// `SearchIndexFile.remove`).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func removeFromSearch(upTo lastID: Int64) throws(StoreError) {
        if case .success(let index)? = searchIndex { try index.remove(upTo: lastID) }
    }

    /// A tailer that stays open keeps the WAL from being recycled; this truncates it when possible.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func checkpoint() {
        _ = try? writer.writeWithoutTransaction { try $0.checkpoint(.truncate) }
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

extension Database {
    /// `body` in a transaction that takes the write lock up front (BEGIN IMMEDIATE), committed
    /// when it returns, rolled back when it throws.
    ///
    /// BEGIN and COMMIT are cached statements: GRDB's `inTransaction` parses both again on every
    /// transaction, about 12,000 of the 75,000 instructions the two cost (callgrind), which the
    /// event writer pays once per batch (in durable mode at 32 connections, a batch is about 16
    /// events). The rest is `inTransaction`'s own handling: what throws is rolled back (when
    /// SQLite has not rolled back already, after SQLITE_FULL or IOERR), a COMMIT that fails
    /// (SQLITE_BUSY) too, and a body that returns after SQLite aborted the transaction ends in
    /// SQLITE_ABORT, not a COMMIT.
    ///
    /// One thing GRDB's version also did: while its transaction block ran, its own statement calls
    /// refused to run once SQLite had aborted the transaction. So a body must not catch an error
    /// and go on writing: after an automatic rollback, what it wrote next would commit statement
    /// by statement. No body here does (they throw what they meet), and the bound inserts step
    /// SQLite directly, where GRDB never checked.
    func immediateTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body(self)
            guard isInsideTransaction else {
                throw DatabaseError(resultCode: .SQLITE_ABORT, message: "Transaction was aborted")
            }
            try cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            try? rollback() // only when a transaction is still open; the first error is the one thrown
            throw error
        }
    }
}
