import ActionsProtocol
import ActionsDomain

/// Whether a deny entry about to be added would change anything: an enforcing deny entry that
/// already covers every attempt it would match (the same value, a wildcard over the domain, a
/// network around the address or the network), with no allow entry of the same kind that lets
/// some of them through. The dashboard says "already denied by rule N" instead of offering a
/// second rule for what rule N does.
package enum DenyCoverage {
    /// The covering entry, if every action type the new entry's scope names is covered.
    package static func coveringEntry(for entry: ListEntry, in rules: RuleSet, nowMs: Int64) -> ListEntry? {
        let types: [ActionType] = ActionType.allCases.filter { entry.scope.covers($0) }
        var found: ListEntry?
        for type in types {
            guard let covering = covering(entry, type: type, rules: rules, nowMs: nowMs) else { return nil }
            found = found ?? covering
        }
        return found
    }

    private static func covering(_ entry: ListEntry, type: ActionType, rules: RuleSet, nowMs: Int64) -> ListEntry? {
        func usable(_ candidate: ListEntry, _ effect: ListEffect) -> Bool {
            candidate.effect == effect && !candidate.shadow && candidate.isActive(nowMs: nowMs) && candidate.scope.covers(type)
        }
        switch entry.kind {
        case .ip:
            guard let network = IPNetwork(entry.value) else { return nil }
            let networks = rules.entries.filter { $0.kind == .ip }.compactMap { candidate in IPNetwork(candidate.value).map { (candidate, $0) } }
            // A deny network at least as wide around this one; no allow network overlapping it.
            let overlapped = networks.contains { candidate, other in
                usable(candidate, .allow) && (other.contains(network.address) || network.contains(other.address))
            }
            guard !overlapped else { return nil }
            return networks.first { candidate, other in
                usable(candidate, .deny) && other.prefix <= network.prefix && other.contains(network.address)
            }?.0
        case .email, .domain:
            // The engine's own matching, probed with an attempt the new entry would match, over
            // the entries that cover all of it: for an email, email and domain entries (a domain
            // deny covers every address at it); for a domain, domain entries (an email entry
            // covers one address, not the domain); for a new wildcard, wildcards only, with a
            // probe one label below it (an exact entry covers no other subdomain).
            let sameKind = rules.entries.filter { candidate in
                entry.kind == .email ? candidate.kind != .ip
                    : candidate.kind == .domain && (!isWildcard(entry.value) || isWildcard(candidate.value))
            }
            let book = RuleBook(RuleSet(entries: sameKind))
            let domain = isWildcard(entry.value) ? "probe-0" + entry.value.dropFirst(1) : entry.value
            let attempt = Attempt(type: type, timeMs: nowMs, email: entry.kind == .email ? entry.value : "probe@" + domain, ip: nil)
            guard book.match(.allow, attempt, nowMs: nowMs) == nil, let deny = book.match(.deny, attempt, nowMs: nowMs), usable(deny, .deny)
            else { return nil }
            return deny
        }
    }

    private static func isWildcard(_ value: String) -> Bool { value.hasPrefix("*.") }
}
