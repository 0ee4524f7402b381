import GRDB
import ActionsProtocol

public enum DenyKind: String, Sendable, CaseIterable, Codable {
    /// `example.com`, or `*.example.com` for its subdomains.
    case domain
    case email
    /// One address or a CIDR block, IPv4 or IPv6.
    case ip

    public init?(name: String) {
        switch name.lowercased() {
        case "domain", "email-domain", "email_domain": self = .domain
        case "email": self = .email
        case "ip", "cidr": self = .ip
        default: return nil
        }
    }
}

/// Which action types an entry applies to.
public enum DenyScope: String, Sendable, CaseIterable, Codable {
    case all
    case userRegistration = "user_registration"
    case authentication

    public func covers(_ type: ActionType) -> Bool {
        self == .all || rawValue == type.rawValue
    }

    public init?(name: String) {
        if name.lowercased() == "all" { self = .all; return }
        guard let type = ActionType(name: name) else { return nil }
        self.init(rawValue: type.rawValue)
    }
}

public struct DenyEntry: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var kind: DenyKind
    public var value: String
    public var scope: DenyScope
    public var reason: String?
    /// Shown to the user who is denied.
    public var message: String?
    public var createdBy: String
    public var createdMs: Int64
    public var expiresMs: Int64?

    public init(id: Int64 = 0, kind: DenyKind, value: String, scope: DenyScope = .all, reason: String? = nil,
                message: String? = nil, createdBy: String = "", createdMs: Int64 = 0, expiresMs: Int64? = nil) {
        self.id = id
        self.kind = kind
        self.value = value
        self.scope = scope
        self.reason = reason
        self.message = message
        self.createdBy = createdBy
        self.createdMs = createdMs
        self.expiresMs = expiresMs
    }

    public func isActive(nowMs: Int64) -> Bool { expiresMs.map { $0 > nowMs } ?? true }

    /// Puts a value in the spelling decisions compare in (`Normalize`: case, compatibility forms,
    /// trailing dot, punycode; IPv4-mapped IPv6 as IPv4) and checks it for its kind; a clear error
    /// when it cannot match anything.
    public static func normalize(_ value: String, kind: DenyKind) throws(StoreError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .domain:
            let normalized = Normalize.domain(trimmed)
            let bare = normalized.hasPrefix("*.") ? String(normalized.dropFirst(2)) : normalized
            let hostPattern = bare.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            guard !bare.isEmpty, !bare.hasPrefix("."), !bare.contains(".."), hostPattern else {
                throw .invalidValue("not an email domain: \(value) (use example.com or *.example.com)")
            }
            return normalized
        case .email:
            let normalized = Normalize.email(trimmed)
            let parts = normalized.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .invalidValue("not an email address: \(value)")
            }
            return normalized
        case .ip:
            guard let network = IPNetwork(trimmed) else {
                throw .invalidValue("not an IP address or CIDR block: \(value)")
            }
            return network.prefix == 128 ? network.address.description : network.description
        }
    }
}

extension Store {
    public func denyEntries(includeExpired: Bool = true, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> [DenyEntry] {
        try reading { db in try Self.denyEntries(db) }.filter { includeExpired || $0.isActive(nowMs: nowMs) }
    }

    static func denyEntries(_ db: any SQLSession) throws -> [DenyEntry] {
        try db.rows("""
            SELECT id, kind, value, scope, reason, message, created_by, created_ms, expires_ms FROM deny_entries ORDER BY id
            """).compactMap { row in
            guard let kind = DenyKind(rawValue: row.string(1)), let scope = DenyScope(rawValue: row.string(3)) else { return nil }
            return DenyEntry(id: row.int64(0), kind: kind, value: row.string(2), scope: scope, reason: row.optionalString(4),
                             message: row.optionalString(5), createdBy: row.string(6), createdMs: row.int64(7),
                             expiresMs: row.optionalInt64(8))
        }
    }

    /// Adds an entry (or replaces the one with the same kind, value and scope); audited.
    @discardableResult
    public func addDenyEntry(_ entry: DenyEntry, by actor: Operator) throws(StoreError) -> DenyEntry {
        var entry = entry
        entry.value = try DenyEntry.normalize(entry.value, kind: entry.kind)
        entry.createdBy = actor.user
        entry.createdMs = WallClock.nowMs()
        let toSave = entry
        return try writing { db in
            var saved = toSave
            try db.execute("""
                INSERT INTO deny_entries(kind, value, scope, reason, message, created_by, created_ms, expires_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(kind, value, scope) DO UPDATE SET reason = excluded.reason, message = excluded.message,
                    created_by = excluded.created_by, created_ms = excluded.created_ms, expires_ms = excluded.expires_ms
                """, [saved.kind.rawValue, saved.value, saved.scope.rawValue, saved.reason, saved.message,
                     saved.createdBy, saved.createdMs, saved.expiresMs])
            saved.id = try db.int64("SELECT id FROM deny_entries WHERE kind = ? AND value = ? AND scope = ?",
                                    [saved.kind.rawValue, saved.value, saved.scope.rawValue]) ?? 0
            try Self.audit(db, by: actor, action: "deny.add", target: "\(saved.kind.rawValue):\(saved.value)", old: nil,
                           new: "scope=\(saved.scope.rawValue) reason=\(saved.reason ?? "") expires=\(saved.expiresMs.map(String.init) ?? "never")")
            try Self.bumpConfigVersion(db)
            return saved
        }
    }

    /// Removes an entry by id; audited. Throws notFound when there is none.
    public func removeDenyEntry(id: Int64, by actor: Operator) throws(StoreError) {
        let removed: Bool = try writing { db in
            guard let old = try Self.denyEntries(db).first(where: { $0.id == id }) else { return false }
            try db.execute("DELETE FROM deny_entries WHERE id = ?", [id])
            try Self.audit(db, by: actor, action: "deny.remove", target: "\(old.kind.rawValue):\(old.value)",
                           old: "scope=\(old.scope.rawValue) reason=\(old.reason ?? "")", new: nil)
            try Self.bumpConfigVersion(db)
            return true
        }
        if !removed { throw .notFound("deny-list entry \(id)") }
    }
}
