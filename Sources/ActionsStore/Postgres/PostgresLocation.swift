import Foundation

/// A `postgres://` or `postgresql://` URL as libpq users write it:
/// `postgres://user[:password]@host[:port]/database?sslmode=disable|prefer|require|verify-full`.
/// The password may instead come from `PGPASSWORD`, so that it need not show in `ps`.
public struct PostgresLocation: Sendable, Equatable {
    public enum SSLMode: String, Sendable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        guard Self.isURL(text), let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw .invalidValue("not a PostgreSQL URL: \(Self.redact(text)) (expected postgres://user[:password]@host[:port]/database)")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = components.user.flatMap { $0.removingPercentEncoding } ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.user : (path.removingPercentEncoding ?? path)
        var mode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let parsed = SSLMode(rawValue: value) else {
                    throw .invalidValue("sslmode must be disable, allow, prefer, require, verify-ca or verify-full; got \(item.value ?? "")")
                }
                mode = parsed
            default:
                throw .invalidValue("unsupported PostgreSQL URL parameter \(item.name) (only sslmode is understood)")
            }
        }
        self.sslMode = mode
    }

    /// The URL without its password, for messages and the dashboard's title.
    public var redacted: String {
        "postgres://\(user)@\(host):\(port)/\(database)" + (sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    /// A URL's text with any password replaced, for errors about URLs that did not parse.
    static func redact(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://***"
    }
}
