/// What went wrong with the store, in words an operator can act on.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingDatabase(path: String)
    case cannotOpen(path: String, reason: String)
    case schemaTooNew(path: String, unknown: [String])
    case schemaTooOld(path: String, missing: [String])
    case readOnly(path: String)
    case invalidValue(String)
    case notFound(String)
    case sqlite(String)

    public var description: String {
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
        case .sqlite(let message):
            return "database error: \(message)"
        }
    }
}
