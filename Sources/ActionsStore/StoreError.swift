import ActionsDomain

/// What went wrong with the store, in words an operator can act on.
package enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingDatabase(path: String)
    case cannotOpen(path: String, reason: String)
    case schemaTooNew(path: String, unknown: [String])
    case schemaTooOld(path: String, missing: [String])
    case readOnly(path: String)
    case invalidValue(String)
    case notFound(String)
    /// An SQLite failure with its primary result code (SQLITE_BUSY = 5, SQLITE_CORRUPT = 11, ...),
    /// so callers decide by code, never by the English text of the message.
    case sqlite(code: Int32, message: String)
    /// A PostgreSQL failure: its SQLSTATE when the server sent one, and whether it may pass by
    /// itself (the server unreachable or restarting, a connection lost, a serialization conflict).
    case postgres(sqlState: String?, message: String, transient: Bool)

    package var description: String {
        switch self {
        case .missingDatabase(let path):
            return "database \(path) does not exist (start actions-server, or pass --db / set ACTIONS_DB)"
        case .cannotOpen(let path, let reason):
            return "cannot open database \(path): \(reason)"
        case .schemaTooNew(let path, let unknown):
            return "database \(path) has a newer schema than this binary knows (\(unknown.joined(separator: ", "))); upgrade actions"
        case .schemaTooOld(let path, let missing):
            return "database \(path) needs migrations \(missing.joined(separator: ", ")); open it once read-write to upgrade"
        case .readOnly(let path):
            return "database \(path) is read-only here"
        case .invalidValue(let why):
            return why
        case .notFound(let what):
            return "\(what) not found"
        case .sqlite(_, let message):
            return "database error: \(message)"
        case .postgres(let state, let message, _):
            return "database error: \(message)" + (state.map { " [SQLSTATE \($0)]" } ?? "")
        }
    }

    /// The SQLite primary result code, when SQLite reported the failure.
    package var sqliteCode: Int32? {
        if case .sqlite(let code, _) = self { return code }
        return nil
    }

    /// A failure that may pass by itself: another process holds the lock (BUSY, LOCKED), the disk is
    /// full or failing for now (FULL, IOERR), or the file cannot be opened yet (CANTOPEN).
    /// Corruption, a read-only file, constraint and schema errors would fail the same way forever.
    package var isTransient: Bool {
        if case .postgres(_, _, let transient) = self { return transient }
        guard let code = sqliteCode else { return false }
        return Self.transientCodes.contains(code)
    }

    /// A failure that may be one row's own: PostgreSQL refused a value (SQLSTATE class 22, data
    /// exception, or 23, integrity constraint), or SQLite a row (CONSTRAINT, TOOBIG, MISMATCH).
    /// Written alone, the other rows of its batch may succeed.
    package var mayBeOneRows: Bool {
        switch self {
        case .postgres(let state?, _, false): return state.hasPrefix("22") || state.hasPrefix("23")
        case .sqlite(let code, _): return [19 /* CONSTRAINT */, 18 /* TOOBIG */, 20 /* MISMATCH */].contains(code & 0xff)
        default: return false
        }
    }

    static let transientCodes: Set<Int32> = [5 /* BUSY */, 6 /* LOCKED */, 10 /* IOERR */, 13 /* FULL */, 14 /* CANTOPEN */,
                                              15 /* PROTOCOL */]
}

extension StoreError {
    /// The value of `body`, whose refusal of a value becomes the store's `invalidValue`.
    package static func checking<T>(_ body: () throws(InvalidValue) -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch {
            throw .invalidValue(error.description)
        }
    }
}

extension StoreError {
    /// The sysexits.h status a command exits with when it meets this failure, for scripts and
    /// service managers to act on (actionsctl's and actions-server's man pages list them): 65 a
    /// value the store refuses, 66 no such database, 69 the database unusable (a schema from
    /// another version, a read-only file), 77 permission denied, 75 a failure that may pass
    /// (locked, unreachable: try again). 64 stays for usage errors, which these are not.
    package var exitStatus: Int32 {
        if isTransient { return 75 }            // EX_TEMPFAIL
        switch self {
        case .invalidValue, .notFound: return 65    // EX_DATAERR
        case .missingDatabase: return 66            // EX_NOINPUT
        case .cannotOpen(_, let reason) where reason.hasPrefix("permission denied"): return 77   // EX_NOPERM
        case .postgres("3D000"?, _, _): return 66   // the database does not exist
        default: return 69                          // EX_UNAVAILABLE
        }
    }
}
