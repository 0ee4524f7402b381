import ActionsProtocol
import ActionsStore

/// The rules compiled for lookups, rebuilt on every policy change: hash maps for exact emails and
/// domains, a map of parent domains for `*.domain`, and per prefix length a map of masked
/// addresses for IPs and CIDRs. A lookup costs a few hash probes however many entries there are
/// (100k domains and 10k CIDRs: see `actions-bench engine`).
public struct RuleBook: Sendable {
    public let rules: RuleSet
    /// Indexed by `slot(effect, shadow)`.
    private var indexes: [EntryIndex]
    /// Active rate rules, enforcing and shadow.
    public let rates: [RateRule]

    public init(_ rules: RuleSet = RuleSet()) {
        self.rules = rules
        var indexes = Array(repeating: EntryIndex(), count: 4)
        for entry in rules.entries { indexes[Self.slot(entry.effect, entry.shadow)].add(entry) }
        for index in indexes.indices { indexes[index].finish() }
        self.indexes = indexes
        self.rates = rules.rates
    }

    public var isEmpty: Bool { rules.entries.isEmpty && rates.isEmpty }

    private static func slot(_ effect: ListEffect, _ shadow: Bool) -> Int {
        (effect == .deny ? 0 : 2) + (shadow ? 1 : 0)
    }

    /// The first active entry of this effect (enforcing, or shadow) in scope that matches: email,
    /// then domain, then IP (the most specific network first).
    public func match(_ effect: ListEffect, shadow: Bool = false, _ attempt: Attempt, nowMs: Int64) -> ListEntry? {
        let index = indexes[Self.slot(effect, shadow)]
        guard !index.isEmpty else { return nil }
        return index.match(attempt, nowMs: nowMs)
    }
}

struct EntryIndex: Sendable {
    private var emails: [String: [ListEntry]] = [:]
    private var domains: [String: [ListEntry]] = [:]
    /// `*.example.com` under `example.com`: a domain looks up each of its parents.
    private var wildcards: [Substring: [ListEntry]] = [:]
    private var networks: [NetworkKey: [ListEntry]] = [:]
    /// The prefix lengths present, longest first.
    private var prefixes: [(prefix: Int, isIPv4: Bool)] = []
    private(set) var isEmpty = true

    struct NetworkKey: Hashable, Sendable {
        var bits: AddressBits
        var prefix: Int
    }

    mutating func add(_ entry: ListEntry) {
        isEmpty = false
        switch entry.kind {
        case .email: emails[entry.value, default: []].append(entry)
        case .domain:
            if entry.value.hasPrefix("*.") {
                wildcards[entry.value.dropFirst(2), default: []].append(entry)
            } else {
                domains[entry.value, default: []].append(entry)
            }
        case .ip:
            guard let network = IPNetwork(entry.value) else { return }
            let key = NetworkKey(bits: AddressBits(network.address).masked(network.prefix), prefix: network.prefix)
            networks[key, default: []].append(entry)
        }
    }

    mutating func finish() {
        prefixes = Set(networks.keys.map { PrefixLength(prefix: $0.prefix, isIPv4: $0.bits.isIPv4) })
            .sorted { $0.prefix > $1.prefix }.map { ($0.prefix, $0.isIPv4) }
    }

    private struct PrefixLength: Hashable { var prefix: Int; var isIPv4: Bool }

    func match(_ attempt: Attempt, nowMs: Int64) -> ListEntry? {
        func usable(_ entry: ListEntry) -> Bool { entry.scope.covers(attempt.type) && entry.isActive(nowMs: nowMs) }

        if !emails.isEmpty, !attempt.email.isEmpty, let hit = emails[attempt.email]?.first(where: usable) { return hit }
        let domain = attempt.domain
        if !domain.isEmpty {
            if !domains.isEmpty, let hit = domains[domain]?.first(where: usable) { return hit }
            // "*.example.com" covers a.example.com and deeper, not example.com itself (as in TLS wildcards).
            if !wildcards.isEmpty {
                var rest = domain[...]
                while let dot = rest.firstIndex(of: ".") {
                    rest = rest[rest.index(after: dot)...]
                    if let hit = wildcards[rest]?.first(where: usable) { return hit }
                }
            }
        }
        if !prefixes.isEmpty, let address = attempt.address {
            let bits = AddressBits(address)
            for (prefix, isIPv4) in prefixes where isIPv4 == address.isIPv4 {
                if let hit = networks[NetworkKey(bits: bits.masked(prefix), prefix: prefix)]?.first(where: usable) { return hit }
            }
        }
        return nil
    }
}
