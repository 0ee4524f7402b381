import ActionsProtocol
import ActionsStore

/// Who is attacking now: over the header's window, the most denied domains, networks (IPv4 /24,
/// IPv6 /64), emails and deny reasons, and the endpoint's failure outcomes, each with its count and
/// trend (the window's second half against its first). Computed from the window's denied and
/// failed decisions; pure, so it is tested without a store.
public struct TopOffenders: Sendable, Equatable {
    public enum Group: Int, CaseIterable, Sendable {
        case domains, networks, emails, reasons, failures

        public var title: String {
            ["denied domains", "denied networks (/24, /64)", "denied emails", "deny reasons", "endpoint failures"][rawValue]
        }
    }

    public struct Row: Sendable, Equatable {
        public var group: Group
        public var key: String
        public var count: Int
        /// In the window's second half and first half.
        public var recent: Int
        public var earlier: Int

        public enum Trend: Sendable { case rising, steady, falling }
        public var trend: Trend {
            if recent > earlier * 3 / 2 + 1 { return .rising }
            if earlier > recent * 3 / 2 + 1 { return .falling }
            return .steady
        }

        /// The entry that would deny this row's key, when it names something a deny entry can.
        public var denyEntry: ListEntry? {
            switch group {
            case .domains: return ListEntry(kind: .domain, value: key)
            case .networks: return ListEntry(kind: .ip, value: key)
            case .emails: return ListEntry(kind: .email, value: key)
            case .reasons, .failures: return nil
            }
        }
    }

    public var rows: [Group: [Row]] = [:]
    /// How many denied and failed decisions the figures come from, and whether a cap cut them.
    public var denied = 0
    public var failed = 0
    public var capped = false

    public init() {}

    public init(denied: [Event], failed: [Event], nowMs: Int64, windowMs: Int64, limit: Int = 10, capped: Bool = false) {
        self.denied = denied.count
        self.failed = failed.count
        self.capped = capped
        let middle = nowMs - windowMs / 2
        var counts: [Group: [String: (recent: Int, earlier: Int)]] = [:]
        func count(_ group: Group, _ key: String?, _ event: Event) {
            guard let key, !key.isEmpty else { return }
            var value = counts[group, default: [:]][key] ?? (0, 0)
            if event.timeMs >= middle { value.recent += 1 } else { value.earlier += 1 }
            counts[group, default: [:]][key] = value
        }
        // Policy's denials only: a fail-closed answer to a failing endpoint is no verdict on the
        // domain (gmail.com looked like an attacker); those count under failures.
        for event in denied where !event.isTest && event.decidedBy != .errorMode && event.decidedBy != .circuit {
            count(.domains, event.emailDomain, event)
            count(.networks, event.ip.flatMap(Self.network), event)
            count(.emails, event.email.map { Normalize.email($0) }, event)
            count(.reasons, event.reason.map(Self.reasonKey), event)
        }
        for event in failed where !event.isTest && event.outcome != .ok { count(.failures, event.outcome.rawValue, event) }
        for (group, keys) in counts {
            rows[group] = keys.map { Row(group: group, key: $0.key, count: $0.value.recent + $0.value.earlier, recent: $0.value.recent,
                                         earlier: $0.value.earlier) }
                .sorted { ($0.count, $1.key) > ($1.count, $0.key) }.prefix(limit).map { $0 }
        }
    }

    /// The IPv4 /24 or IPv6 /64 around an address, as a CIDR a deny entry takes.
    static func network(_ ip: String) -> String? {
        guard let address = IPAddress(ip) else { return nil }
        return IPNetwork("\(address)/\(address.isIPv4 ? 24 : 64)")?.canonical.description
    }

    /// A reason without its particulars: `deny domain x.com (rule 3): disposable` is counted as
    /// `deny domain x.com (rule 3)`, `rate ip 20/10m (rule 4): 25 attempts...` as its rule.
    static func reasonKey(_ reason: String) -> String {
        if let rule = reason.range(of: "(rule "), let close = reason[rule.upperBound...].firstIndex(of: ")") {
            return String(reason[...close])
        }
        // One row per kind of reason, not per count: "locked out after 101 failed logins" and
        // "...103..." are one, "locked out after # failed logins" (the emails group shows whose).
        var key = ""
        var inNumber = false
        for character in reason.prefix(while: { $0 != ":" && $0 != ";" }) {
            if character.isASCII && character.isNumber {
                if !inNumber { key.append("#") }
                inNumber = true
            } else {
                key.append(character)
                inNumber = false
            }
        }
        return key
    }

    /// What a row filters the event table to.
    public static func filter(for row: Row, base: EventFilter) -> EventFilter {
        var filter = base
        filter.text = ""
        filter.outcome = nil
        switch row.group {
        case .domains, .emails:
            filter.deniedOnly = true
            filter.text = row.key
        case .reasons:
            filter.deniedOnly = true
            // Up to the first number the row stands for ("locked out after #" is every count).
            let words = row.key.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            filter.text = words.isEmpty ? row.key.replacingOccurrences(of: "#", with: "") : words
        case .networks:
            filter.deniedOnly = true
            // The prefix as it is written in the log: a /24 is its first three octets.
            if let network = IPNetwork(row.key), network.address.isIPv4 {
                filter.text = network.address.description.split(separator: ".").prefix(3).joined(separator: ".") + "."
            } else {
                filter.text = String(row.key.prefix { $0 != "/" }.dropLast(while: { $0 == ":" }))
            }
        case .failures:
            filter.failuresOnly = true
            filter.deniedOnly = false
            filter.outcome = Outcome(rawValue: row.key)
        }
        return filter
    }
}

extension Substring {
    func dropLast(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[..<end]
    }
}
