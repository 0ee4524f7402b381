import Foundation
import GRDB
import ActionsProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The shared SQLite file: actions-server writes it, actions-top and actionsctl read and edit it.
public final class Store: Sendable {
    public enum Access: Sendable {
        /// A pool of connections (WAL lets readers run beside the writer). For the server.
        case pool
        /// One serialized connection. For the dashboard and the CLI; `PRAGMA data_version` needs
        /// the same connection each time to detect other processes' commits.
        case single
    }

    public let path: String
    public let db: any DatabaseWriter
    public let isReadOnly: Bool

    /// `ACTIONS_DB`, else `./actions.db`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["ACTIONS_DB"], !path.isEmpty { return path }
        return "./actions.db"
    }

    /// Opens (and unless `create` is false, creates) the database and brings its schema up to date.
    /// - Parameters:
    ///   - busyTimeout: how long a statement waits for another process's lock before failing.
    ///   - readOnly: never write; also forced when the file is not writable by this user.
    ///   - fileMode: permissions of a new file; 0600 by default so other users cannot read the log.
    ///   - syncEveryCommit: `synchronous = FULL`, an fsync per commit, so a commit survives power
    ///   loss (durable events); otherwise NORMAL, which survives a process crash.
    public init(path: String, access: Access = .single, create: Bool = true, readOnly: Bool = false,
                busyTimeout: TimeInterval = 5, fileMode: mode_t = 0o600, syncEveryCommit: Bool = false) throws(StoreError) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists {
            if !create || readOnly { throw .missingDatabase(path: path) }
            let fd = Glibc.open(path, O_CREAT | O_RDWR | O_CLOEXEC, fileMode)
            guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            fchmod(fd, fileMode) // umask must not widen or narrow what was asked for
            close(fd)
        }
        let writable = Glibc.access(path, W_OK) == 0
        let readOnly = readOnly || !writable
        self.isReadOnly = readOnly

        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(busyTimeout)
        config.label = "actions"
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: syncEveryCommit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            }
            // Bound the WAL file even when a tailer keeps a read transaction open.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
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
                    if !readOnly { try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") } }
                    opened = queue
                }
            } catch {
                guard contended(error), (error as? DatabaseError)?.resultCode == .SQLITE_BUSY else {
                    throw .cannotOpen(path: path, reason: Self.message(error))
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        db = opened!
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

    private static func openError(_ error: any Error, path: String) -> StoreError {
        (error as? StoreError) ?? .cannotOpen(path: path, reason: message(error))
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
    public func write<T>(deadlineNs: UInt64? = nil, _ body: (Database) throws -> T) throws(StoreError) -> T {
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

    public func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try db.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Changes whenever another connection commits; never for this connection's own commits.
    /// Meaningful with `.single` access, where every read uses the same connection.
    public func dataVersion() throws(StoreError) -> Int {
        try read { try Int.fetchOne($0, sql: "PRAGMA data_version") ?? 0 }
    }

    /// Bumped by every change a running server must pick up.
    public func configVersion() throws(StoreError) -> Int64 {
        try read { try Int64.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'config_version'") ?? 0 }
    }

    static func bumpConfigVersion(_ db: Database) throws {
        try db.execute(sql: "UPDATE meta SET value = value + 1 WHERE key = 'config_version'")
    }

    /// A tailer that stays open keeps the WAL from being recycled; this truncates it when possible.
    public func checkpoint() {
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
