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
    public init(path: String, access: Access = .single, create: Bool = true, readOnly: Bool = false,
                busyTimeout: TimeInterval = 5, fileMode: mode_t = 0o600) throws(StoreError) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists {
            if !create || readOnly { throw .missingDatabase(path: path) }
            let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, fileMode)
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
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            // Bound the WAL file even when a tailer keeps a read transaction open.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        do {
            switch access {
            case .pool: db = try DatabasePool(path: path, configuration: config)
            case .single:
                let queue = try DatabaseQueue(path: path, configuration: config)
                if !readOnly { try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") } }
                db = queue
            }
        } catch {
            throw .cannotOpen(path: path, reason: Self.message(error))
        }
        try migrate()
    }

    private func migrate() throws(StoreError) {
        let migrator = Schema.migrator
        do {
            let applied = try db.read { try migrator.appliedIdentifiers($0) }
            let unknown = applied.subtracting(Schema.known).sorted()
            if !unknown.isEmpty { throw StoreError.schemaTooNew(path: path, unknown: unknown) }
            let missing = Schema.known.filter { !applied.contains($0) }
            if missing.isEmpty { return }
            if isReadOnly { throw StoreError.schemaTooOld(path: path, missing: missing) }
            try migrator.migrate(db)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .cannotOpen(path: path, reason: Self.message(error))
        }
    }

    /// A write transaction that takes the write lock up front (BEGIN IMMEDIATE), so a read-then-write
    /// never fails with SQLITE_BUSY_SNAPSHOT, which a busy timeout does not cover.
    public func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        if isReadOnly { throw .readOnly(path: path) }
        do {
            return try db.writeWithoutTransaction { db in
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
            throw .sqlite(Self.message(error))
        }
    }

    public func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try db.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .sqlite(Self.message(error))
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

    static func message(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "\(error.resultCode)"
        }
        return "\(error)"
    }
}
