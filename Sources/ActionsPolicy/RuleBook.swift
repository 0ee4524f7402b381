import ActionsProtocol
import ActionsDomain

/// The rules compiled for lookups, rebuilt on every policy change: hash maps for exact emails and
/// domains, a map of parent domains for `*.domain`, and per prefix length a map of masked
/// addresses for IPs and CIDRs. A lookup costs a few hash probes however many entries there are
/// (100k domains and 10k CIDRs: see `actions-bench engine`).
package struct RuleBook: Sendable {
    package let rules: RuleSet
    /// Indexed by `slot(effect, shadow)`.
    private var indexes: [EntryIndex]
    /// Active rate rules, enforcing and shadow.
    package let rates: [RateRule]

    package init(_ rules: RuleSet = RuleSet()) {
        self.rules = rules
        var indexes = Array(repeating: EntryIndex(), count: 4)
        // Most entries are deny entries; sizing their tables once saves rehashing as they grow.
        indexes[0].reserve(rules.entries.count)
        for (position, entry) in rules.entries.enumerated() { indexes[Self.slot(entry.effect, entry.shadow)].add(entry, at: position) }
        for index in indexes.indices { indexes[index].finish() }
        self.indexes = indexes
        self.rates = rules.rates
    }

    package var isEmpty: Bool { rules.entries.isEmpty && rates.isEmpty }

    private static func slot(_ effect: ListEffect, _ shadow: Bool) -> Int {
        (effect == .deny ? 0 : 2) + (shadow ? 1 : 0)
    }

    /// The first active entry of this effect (enforcing, or shadow) in scope that matches: email,
    /// then domain, then IP (the most specific network first).
    package func match(_ effect: ListEffect, shadow: Bool = false, _ attempt: Attempt, nowMs: Int64) -> ListEntry? {
        let index = indexes[Self.slot(effect, shadow)]
        guard !index.isEmpty else { return nil }
        return index.match(attempt, in: rules.entries, nowMs: nowMs)
    }
}

/// The entries under one key, as positions in the rule set's entry list: nearly always one, so
/// the first is held inline and only further ones (other scopes or sources) take an array.
/// Copies of the entries themselves, or an array per key, made compiling 110,000 entries about
/// twice as slow.
struct EntryList: Sendable {
    var first: Int32
    var rest: [Int32] = []

    func first(in entries: [ListEntry], where usable: (ListEntry) -> Bool) -> ListEntry? {
        if usable(entries[Int(first)]) { return entries[Int(first)] }
        return rest.lazy.map { entries[Int($0)] }.first(where: usable)
    }
}

extension Dictionary where Value == EntryList {
    mutating func add(_ position: Int, at key: Key) {
        if self[key] == nil { self[key] = EntryList(first: Int32(position)) } else { self[key]?.rest.append(Int32(position)) }
    }
}

struct EntryIndex: Sendable {
    private var emails: [String: EntryList] = [:]
    private var domains: [String: EntryList] = [:]
    /// `*.example.com` under `example.com`: a domain looks up each of its parents.
    private var wildcards: [Substring: EntryList] = [:]
    private var networks: [NetworkKey: EntryList] = [:]
    /// Emails, domains, wildcard parents and networks all hash into one filter: a lookup that
    /// finds its bit clear skips the table.
    private var filter = MembershipFilter(capacity: 0)
    /// How many labels the wildcards' parents have (`*.example.com`: 2): only suffixes of those
    /// lengths are looked up.
    private var wildcardLabels: UInt64 = 0
    /// The prefix lengths present, longest first.
    private var prefixes: [(prefix: Int, isIPv4: Bool)] = []
    private(set) var isEmpty = true

    struct NetworkKey: Hashable, Sendable {
        var bits: AddressBits
        var prefix: Int
    }

    mutating func reserve(_ count: Int) {
        domains.reserveCapacity(count)
    }

    mutating func add(_ entry: ListEntry, at position: Int) {
        isEmpty = false
        switch entry.kind {
        case .email: emails.add(position, at: entry.value)
        case .domain:
            if entry.value.hasPrefix("*.") {
                wildcards.add(position, at: entry.value.dropFirst(2))
            } else {
                domains.add(position, at: entry.value)
            }
        case .ip:
            guard let network = IPNetwork(entry.value) else { return }
            networks.add(position, at: NetworkKey(bits: AddressBits(network.address).masked(network.prefix), prefix: network.prefix))
        }
    }

    mutating func finish() {
        filter = MembershipFilter(capacity: emails.count + domains.count + wildcards.count + networks.count)
        for key in emails.keys { filter.insert(MembershipFilter.hash(key)) }
        for key in domains.keys { filter.insert(MembershipFilter.hash(key)) }
        for key in wildcards.keys {
            filter.insert(MembershipFilter.hash(key))
            wildcardLabels |= 1 << UInt64(min(63, Self.labelCount(key.utf8)))
        }
        for key in networks.keys { filter.insert(MembershipFilter.hash(key.bits, prefix: key.prefix)) }
        prefixes = Set(networks.keys.map { PrefixLength(prefix: $0.prefix, isIPv4: $0.bits.isIPv4) })
            .sorted { $0.prefix > $1.prefix }.map { ($0.prefix, $0.isIPv4) }
    }

    private struct PrefixLength: Hashable { var prefix: Int; var isIPv4: Bool }

    static func labelCount(_ utf8: some Collection<UInt8>) -> Int {
        utf8.reduce(1) { $1 == UInt8(ascii: ".") ? $0 + 1 : $0 }
    }

    func match(_ attempt: Attempt, in entries: [ListEntry], nowMs: Int64) -> ListEntry? {
        func usable(_ entry: ListEntry) -> Bool { entry.scope.covers(attempt.type) && entry.isActive(nowMs: nowMs) }

        if !emails.isEmpty, !attempt.email.isEmpty, filter.mayContain(MembershipFilter.hash(attempt.email)),
           let hit = emails[attempt.email]?.first(in: entries, where: usable) { return hit }
        let domain = attempt.domain
        if !domain.isEmpty {
            if !domains.isEmpty, filter.mayContain(MembershipFilter.hash(domain)),
               let hit = domains[domain]?.first(in: entries, where: usable) { return hit }
            // "*.example.com" covers a.example.com and deeper, not example.com itself (as in TLS wildcards).
            if !wildcards.isEmpty {
                // Walked as bytes: the dots are ASCII, so each byte index after one is a valid String index.
                let utf8 = domain.utf8
                var labels = Self.labelCount(utf8)
                var start = utf8.startIndex
                while let dot = utf8[start...].firstIndex(of: UInt8(ascii: ".")) {
                    start = utf8.index(after: dot)
                    labels -= 1
                    guard labels < 64, wildcardLabels & (1 << UInt64(labels)) != 0 else { continue }
                    let parent = domain[start...]
                    guard filter.mayContain(MembershipFilter.hash(parent)) else { continue }
                    if let hit = wildcards[parent]?.first(in: entries, where: usable) { return hit }
                }
            }
        }
        if !prefixes.isEmpty, let address = attempt.address {
            let bits = AddressBits(address)
            for (prefix, isIPv4) in prefixes where isIPv4 == address.isIPv4 {
                let masked = bits.masked(prefix)
                guard filter.mayContain(MembershipFilter.hash(masked, prefix: prefix)) else { continue }
                if let hit = networks[NetworkKey(bits: masked, prefix: prefix)]?.first(in: entries, where: usable) { return hit }
            }
        }
        return nil
    }
}
