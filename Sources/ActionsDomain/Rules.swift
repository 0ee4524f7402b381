import ActionsProtocol

/// What a list entry does when it matches.
package enum ListEffect: String, Sendable, CaseIterable, Codable {
    case deny
    /// An exception: beats deny entries and rate rules (never a lockout).
    case allow
}

/// What a deny or allow entry names.
package enum EntryKind: String, Sendable, CaseIterable, Codable {
    /// `example.com`, or `*.example.com` for its subdomains.
    case domain
    case email
    /// One address or a CIDR block, IPv4 or IPv6.
    case ip

    package init?(name: String) {
        switch name.lowercased() {
        case "domain", "email-domain", "email_domain": self = .domain
        case "email": self = .email
        case "ip", "cidr": self = .ip
        default: return nil
        }
    }
}

/// Which action types a rule applies to.
package enum RuleScope: String, Sendable, CaseIterable, Codable {
    case all
    case userRegistration = "user_registration"
    case authentication

    package func covers(_ type: ActionType) -> Bool {
        self == .all || rawValue == type.rawValue
    }

    package init?(name: String) {
        if name.lowercased() == "all" { self = .all; return }
        guard let type = ActionType(name: name) else { return nil }
        self.init(rawValue: type.rawValue)
    }
}

/// A deny or allow entry. Rules of every kind share one id sequence, so `rule promote ID` and an
/// event's rule id name exactly one rule.
package struct ListEntry: Sendable, Equatable, Identifiable {
    package var id: Int64
    package var effect: ListEffect
    package var kind: EntryKind
    package var value: String
    package var scope: RuleScope
    package var reason: String?
    /// Shown to the user who is denied.
    package var message: String?
    /// Logged when it would change a verdict, but changes none.
    package var shadow: Bool
    /// The imported list it came from (`deny import --source`); nil when added by hand.
    package var source: String?
    package var createdBy: String
    package var createdMs: Int64
    package var expiresMs: Int64?

    package init(id: Int64 = 0, effect: ListEffect = .deny, kind: EntryKind, value: String, scope: RuleScope = .all,
                reason: String? = nil, message: String? = nil, shadow: Bool = false, source: String? = nil,
                createdBy: String = "", createdMs: Int64 = 0, expiresMs: Int64? = nil) {
        self.id = id
        self.effect = effect
        self.kind = kind
        self.value = value
        self.scope = scope
        self.reason = reason
        self.message = message
        self.shadow = shadow
        self.source = source
        self.createdBy = createdBy
        self.createdMs = createdMs
        self.expiresMs = expiresMs
    }

    package func isActive(nowMs: Int64) -> Bool { expiresMs.map { $0 > nowMs } ?? true }

    /// `deny domain example.com`, for audit lines, reasons and traces.
    package var label: String { "\(effect.rawValue) \(kind.rawValue) \(value)" }

    /// Puts a value in the spelling decisions compare in (`Normalize`: case, compatibility forms,
    /// trailing dot, punycode; IPv4-mapped IPv6 as IPv4) and checks it for its kind; a clear error
    /// when it cannot match anything.
    package static func normalize(_ value: String, kind: EntryKind) throws(InvalidValue) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .domain:
            // Host name rules (STD3) and UTS #46, sizes first; a top-level label of digits only
            // is an IP address or a typo, never a mail domain.
            let normalized: String
            do {
                normalized = try Normalize.checkedDomain(trimmed, hostname: true)
            } catch {
                throw .invalidValue("not an email domain: \(error.description) (use example.com or *.example.com)")
            }
            let bare = normalized.hasPrefix("*.") ? String(normalized.dropFirst(2)) : normalized
            guard let top = bare.split(separator: ".").last, !top.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw .invalidValue("not an email domain: \(TerminalText.escape(String(value.prefix(80)))) is an IP address (use --kind ip)")
            }
            return normalized
        case .email:
            let normalized: String
            do {
                normalized = try Normalize.checkedEmailAndDomain(trimmed).email
            } catch {
                throw .invalidValue("not an email address: \(error.description)")
            }
            let parts = normalized.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .invalidValue("not an email address: \(TerminalText.escape(String(value.prefix(254))))")
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

/// What a rate rule counts attempts by.
package enum RateKey: String, Sendable, CaseIterable, Codable {
    case ip
    /// The IPv4 /24 or IPv6 /64 around the address: one network, however many addresses it rotates through.
    case ipPrefix = "ip-prefix"
    /// The email's normalized domain.
    case domain
    /// The account (`Normalize.accountKey`, folded when the store's fold-addresses switch is on).
    case email

    package init?(name: String) {
        switch name.lowercased() {
        case "ip": self = .ip
        case "ip-prefix", "ip_prefix", "prefix", "network": self = .ipPrefix
        case "domain", "email-domain", "email_domain": self = .domain
        case "email", "account": self = .email
        default: return nil
        }
    }
}

/// At most `limit` attempts per key within any `windowMs` (a sliding window: exact, no bucket
/// that resets); the attempt over the limit is denied.
package struct RateRule: Sendable, Equatable, Identifiable {
    package var id: Int64
    package var key: RateKey
    package var limit: Int
    package var windowMs: Int64
    package var scope: RuleScope
    package var reason: String?
    package var message: String?
    package var shadow: Bool
    package var createdBy: String
    package var createdMs: Int64
    package var expiresMs: Int64?

    package init(id: Int64 = 0, key: RateKey, limit: Int, windowMs: Int64, scope: RuleScope = .all, reason: String? = nil,
                message: String? = nil, shadow: Bool = false, createdBy: String = "", createdMs: Int64 = 0, expiresMs: Int64? = nil) {
        self.id = id
        self.key = key
        self.limit = limit
        self.windowMs = windowMs
        self.scope = scope
        self.reason = reason
        self.message = message
        self.shadow = shadow
        self.createdBy = createdBy
        self.createdMs = createdMs
        self.expiresMs = expiresMs
    }

    package func isActive(nowMs: Int64) -> Bool { expiresMs.map { $0 > nowMs } ?? true }

    /// `20/10m`: the form `rate add` takes and lists.
    package var spec: String { "\(limit)/\(DurationText.text(windowMs))" }

    package var label: String { "rate \(key.rawValue) \(spec)" }

    /// Parses `LIMIT/WINDOW` (`20/10m`, `100/1h`) into a limit and a window.
    package static func parse(_ spec: String) throws(InvalidValue) -> (limit: Int, windowMs: Int64) {
        let parts = spec.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let limit = Int(parts[0]), limit > 0, limit <= 1_000_000,
              let window = DurationText.milliseconds(parts[1]), window <= 7 * 86_400_000 else {
            throw .invalidValue("not a rate: \(spec) (use LIMIT/WINDOW, such as 20/10m; a limit of 1 to 1000000 and a window of at most 7d)")
        }
        return (limit, window)
    }
}

/// Every rule, as decisions and the dashboard see them.
package struct RuleSet: Sendable, Equatable {
    package var entries: [ListEntry]
    package var rates: [RateRule]

    package init(entries: [ListEntry] = [], rates: [RateRule] = []) {
        self.entries = entries
        self.rates = rates
    }

    /// The rule with this id, described (`deny domain example.com`), for events and traces.
    package func label(of id: Int64) -> String? {
        entries.first { $0.id == id }?.label ?? rates.first { $0.id == id }?.label
    }
}
