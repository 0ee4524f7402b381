import ActionsProtocol
import ActionsStore

/// The deny list compiled for lookups: hash sets for exact emails and domains, suffixes for
/// `*.domain`, and a list of networks for IPs and CIDRs. Built once per settings change.
public struct DenyMatcher: Sendable {
    private var emails: [String: [DenyEntry]] = [:]
    private var domains: [String: [DenyEntry]] = [:]
    private var wildcardDomains: [(suffix: String, entry: DenyEntry)] = []
    private var networks: [(network: IPNetwork, entry: DenyEntry)] = []

    public init(entries: [DenyEntry]) {
        for entry in entries {
            switch entry.kind {
            case .email: emails[entry.value, default: []].append(entry)
            case .domain:
                if entry.value.hasPrefix("*.") {
                    wildcardDomains.append(("." + entry.value.dropFirst(2), entry))
                } else {
                    domains[entry.value, default: []].append(entry)
                }
            case .ip:
                if let network = IPNetwork(entry.value) { networks.append((network, entry)) }
            }
        }
    }

    /// The first active entry in scope that matches the context, checked email, domain, then IP.
    public func match(_ context: ActionContext, nowMs: Int64) -> DenyEntry? {
        match(type: context.type, email: Normalize.email(context.email), domain: context.emailDomain, ip: context.ipAddress,
              nowMs: nowMs)
    }

    /// The same, for a caller that has already normalized the email and domain (`Normalize`;
    /// entries are stored normalized).
    public func match(type: ActionType, email: String, domain: String, ip: String?, nowMs: Int64) -> DenyEntry? {
        func usable(_ entry: DenyEntry) -> Bool { entry.scope.covers(type) && entry.isActive(nowMs: nowMs) }

        if !emails.isEmpty, let hit = emails[email]?.first(where: usable) { return hit }
        if !domain.isEmpty {
            if let hit = domains[domain]?.first(where: usable) { return hit }
            // "*.example.com" covers a.example.com and deeper, not example.com itself (as in TLS wildcards).
            if let hit = wildcardDomains.first(where: { domain.hasSuffix($0.suffix) && usable($0.entry) }) { return hit.entry }
        }
        if !networks.isEmpty, let ip, let address = IPAddress(ip) {
            if let hit = networks.first(where: { $0.network.contains(address) && usable($0.entry) }) { return hit.entry }
        }
        return nil
    }
}
