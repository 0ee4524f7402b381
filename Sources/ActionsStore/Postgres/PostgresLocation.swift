import ActionsDomain
import Foundation
import ActionsProtocol

/// A `postgres://` or `postgresql://` URL as libpq users write it:
/// `postgres://user[:password]@host[:port][,host2[:port2]...]/database?sslmode=MODE&sslrootcert=FILE&target_session_attrs=ATTRS`.
/// The password may instead come from `PGPASSWORD`, so that it need not show in `ps`; `PGSSLMODE`,
/// `PGSSLROOTCERT` and `PGTARGETSESSIONATTRS` give the others when the URL does not, as with libpq.
package struct PostgresLocation: Sendable, Equatable {
    package enum SSLMode: String, Sendable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// libpq's `target_session_attrs`: which of the hosts a session may use. The hosts are tried
    /// in order; `prefer-standby` tries them all for a standby first, then takes any.
    package enum TargetSessionAttrs: String, Sendable, CaseIterable {
        case any
        case readWrite = "read-write"
        case readOnly = "read-only"
        case primary, standby
        case preferStandby = "prefer-standby"

        /// Whether a server in this state will do. `readOnly` is its `transaction_read_only`
        /// (on for a standby, or where `default_transaction_read_only` is set), as libpq checks
        /// for read-write and read-only; primary and standby ask `pg_is_in_recovery()`.
        func accepts(inRecovery: Bool, readOnly: Bool, lastPass: Bool) -> Bool {
            switch self {
            case .any: return true
            case .readWrite: return !readOnly
            case .readOnly: return readOnly
            case .primary: return !inRecovery
            case .standby: return inRecovery
            case .preferStandby: return inRecovery || lastPass
            }
        }

        /// Reads go to a standby where one is wanted: writes (policy changes, events) then need
        /// a primary of their own.
        var readsFromStandby: Bool { self == .readOnly || self == .standby || self == .preferStandby }
    }

    /// One of the URL's hosts.
    package struct Host: Sendable, Equatable, CustomStringConvertible {
        package var name: String
        package var port: Int
        package var description: String { name.contains(":") ? "[\(name)]:\(port)" : "\(name):\(port)" }
    }

    /// The hosts, in the order they are tried (one for most URLs).
    package var hosts: [Host]
    package var user: String
    package var password: String?
    package var database: String
    package var sslMode: SSLMode
    /// The CA certificates a server's certificate is checked against (verify-ca, verify-full, and
    /// require when the file exists): libpq's `sslrootcert`, by default `~/.postgresql/root.crt`;
    /// `system` means the system's trust store.
    package var sslRootCert: String
    package var targetSessionAttrs: TargetSessionAttrs

    /// More hosts than any real cluster lists; a URL with more is refused before any is tried.
    static let maxHosts = 16

    package static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    package init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        // A `#` or a second `@` in a password makes URL parsers read part of it as the host, port
        // or fragment: refuse such a URL (percent-encode the password, or use PGPASSWORD), and
        // never name what was parsed from it. Several hosts (`h1:5432,h2:5432`) are taken apart
        // here, each read as a URL's host and port; the URL's parser sees the first alone.
        let invalid = StoreError.invalidValue("not a PostgreSQL URL: \(Self.redact(text)) (expected postgres://user[:password]@host[:port][,host2[:port2]...]/database; percent-encode @ / ? # in a password, or use PGPASSWORD)")
        guard Self.isURL(text), Self.authorityHasOneAt(text), let (first, hosts) = Self.splitHosts(text) else { throw invalid }
        guard hosts.count <= Self.maxHosts else { throw .invalidValue("a PostgreSQL URL may list at most \(Self.maxHosts) hosts; this one lists \(hosts.count)") }
        var parsedHosts: [Host] = []
        for host in hosts {
            guard let components = URLComponents(string: "postgres://" + host), let name = components.host, !name.isEmpty,
                  components.path.isEmpty, components.query == nil, components.fragment == nil, components.user == nil,
                  (1...65_535).contains(components.port ?? 5432) else { throw invalid }
            // An IPv6 literal keeps its brackets in URLComponents; the resolver wants it bare.
            let bare = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
            parsedHosts.append(Host(name: bare, port: components.port ?? 5432))
        }
        guard let components = URLComponents(string: first), components.fragment == nil else { throw invalid }
        self.hosts = parsedHosts
        self.user = components.user.flatMap { $0.removingPercentEncoding } ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.user : (path.removingPercentEncoding ?? path)
        var attrs = environment["PGTARGETSESSIONATTRS"].flatMap { $0.isEmpty ? nil : $0 }
        var mode = environment["PGSSLMODE"].flatMap { $0.isEmpty ? nil : $0 }
        var rootCert = environment["PGSSLROOTCERT"].flatMap { $0.isEmpty ? nil : $0 }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode": mode = item.value ?? ""
            case "sslrootcert": rootCert = item.value ?? ""
            case "target_session_attrs": attrs = item.value ?? ""
            default:
                throw .invalidValue("unsupported PostgreSQL URL parameter \(TerminalText.escape(item.name)) (sslmode, sslrootcert and target_session_attrs are understood)")
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
        guard let target = TargetSessionAttrs(rawValue: attrs ?? TargetSessionAttrs.any.rawValue) else {
            throw .invalidValue("target_session_attrs must be \(TargetSessionAttrs.allCases.map(\.rawValue).joined(separator: ", ")); got \(TerminalText.escape(attrs ?? ""))")
        }
        self.targetSessionAttrs = target
    }

    /// The URL with its first host alone in place of the list, and the list's entries; nil when
    /// an entry is empty (`h1,,h2`, a trailing comma).
    static func splitHosts(_ text: String) -> (String, [String])? {
        guard let scheme = text.range(of: "://") else { return nil }
        let rest = text[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let hostStart = rest[..<authorityEnd].lastIndex(of: "@").map { rest.index(after: $0) } ?? rest.startIndex
        let list = rest[hostStart..<authorityEnd]
        let hosts = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let first = hosts.first, !hosts.contains(where: \.isEmpty) else { return nil }
        return (String(text[..<hostStart]) + first + text[authorityEnd...], hosts)
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
    package var redacted: String {
        let parameters = (sslMode == .prefer ? [] : ["sslmode=\(sslMode.rawValue)"])
            + (targetSessionAttrs == .any ? [] : ["target_session_attrs=\(targetSessionAttrs.rawValue)"])
        return "postgres://\(user)@\(hosts.map(\.description).joined(separator: ","))/\(database)"
            + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }

    /// A URL that did not parse, for its error: its scheme only. Where a URL parser fails, nothing
    /// says where a password ends (`postgres://user:secret` without a host reads as a port; a `#`,
    /// `/` or `@` in a password splits it anywhere), so none of the rest is shown (found by the fuzzer).
    static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return "(not a URL)" }
        return TerminalText.escape(String(text[..<scheme.upperBound].prefix(16))) + "***"
    }
}
