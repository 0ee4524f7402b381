import Foundation
import ActionsProtocol

/// A `postgres://` or `postgresql://` URL as libpq users write it:
/// `postgres://user[:password]@host[:port]/database?sslmode=MODE&sslrootcert=FILE`.
/// The password may instead come from `PGPASSWORD`, so that it need not show in `ps`; `PGSSLMODE`
/// and `PGSSLROOTCERT` give the other two when the URL does not, as with libpq.
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
    /// The CA certificates a server's certificate is checked against (verify-ca, verify-full, and
    /// require when the file exists): libpq's `sslrootcert`, by default `~/.postgresql/root.crt`;
    /// `system` means the system's trust store.
    public var sslRootCert: String

    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        // A `#` or a second `@` in a password makes URL parsers read part of it as the host, port
        // or fragment: refuse such a URL (percent-encode the password, or use PGPASSWORD), and
        // never name what was parsed from it.
        guard Self.isURL(text), let components = URLComponents(string: text), let host = components.host, !host.isEmpty,
              components.fragment == nil, Self.authorityHasOneAt(text) else {
            throw .invalidValue("not a PostgreSQL URL: \(Self.redact(text)) (expected postgres://user[:password]@host[:port]/database; percent-encode @ / ? # in a password, or use PGPASSWORD)")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = components.user.flatMap { $0.removingPercentEncoding } ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.user : (path.removingPercentEncoding ?? path)
        var mode = environment["PGSSLMODE"].flatMap { $0.isEmpty ? nil : $0 }
        var rootCert = environment["PGSSLROOTCERT"].flatMap { $0.isEmpty ? nil : $0 }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode": mode = item.value ?? ""
            case "sslrootcert": rootCert = item.value ?? ""
            default:
                throw .invalidValue("unsupported PostgreSQL URL parameter \(TerminalText.escape(item.name)) (sslmode and sslrootcert are understood)")
            }
        }
        // libpq: sslrootcert=system makes verify-full the default, and refuses any weaker mode
        // (the system's CAs vouch for names, so anything less would trust any of them for any host).
        if rootCert == "system" && mode == nil { mode = SSLMode.verifyFull.rawValue }
        guard let parsed = SSLMode(rawValue: mode ?? SSLMode.prefer.rawValue) else {
            throw .invalidValue("sslmode must be disable, allow, prefer, require, verify-ca or verify-full; got \(TerminalText.escape(mode ?? ""))")
        }
        self.sslMode = parsed
        if rootCert == "system" && parsed != .verifyFull {
            throw .invalidValue("sslmode=\(parsed.rawValue) may not be used with sslrootcert=system (use verify-full)")
        }
        guard rootCert != "" else { throw .invalidValue("sslrootcert is empty (give a file, or system)") }
        self.sslRootCert = rootCert ?? Self.defaultRootCert(environment: environment)
    }

    /// The authority (after `://`, up to the first `/` or `?`) has at most one `@`, and none
    /// follows it: otherwise the user information holds a raw `@`, `/`, `?` or `#`.
    static func authorityHasOneAt(_ text: String) -> Bool {
        guard let scheme = text.range(of: "://") else { return false }
        let rest = text[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return !rest.contains("#") }
        return !rest[rest.index(after: at)...].contains("@") && !rest[..<at].contains(where: { "/?#".contains($0) })
    }

    /// libpq's default: `~/.postgresql/root.crt` of the user running the program.
    static func defaultRootCert(environment: [String: String]) -> String {
        var home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
        if home == nil, let entry = getpwuid(geteuid()), let directory = entry.pointee.pw_dir { home = String(cString: directory) }
        return (home ?? "/") + "/.postgresql/root.crt"
    }

    /// The URL without its password, for messages and the dashboard's title.
    public var redacted: String {
        "postgres://\(user)@\(host):\(port)/\(database)" + (sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    /// A URL that did not parse, for its error: its scheme only. Where a URL parser fails, nothing
    /// says where a password ends (`postgres://user:secret` without a host reads as a port; a `#`,
    /// `/` or `@` in a password splits it anywhere), so none of the rest is shown (found by the fuzzer).
    static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return "(not a URL)" }
        return TerminalText.escape(String(text[..<scheme.upperBound].prefix(16))) + "***"
    }
}
