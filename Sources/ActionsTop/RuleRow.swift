import ActionsProtocol
import ActionsStore

/// One line of the rules screen: a deny or allow entry or a rate rule, with its hits.
public struct RuleRow: Sendable, Equatable, Identifiable {
    public enum Kind: String, Sendable { case deny, allow, rate }

    public var id: Int64
    public var kind: Kind
    /// `domain example.com`, `ip 203.0.113.0/24`, `ip-prefix 20/10m`.
    public var target: String
    public var scope: RuleScope
    public var shadow: Bool
    public var expiresMs: Int64?
    /// The reason, the user message of a rate rule, or the imported list's name.
    public var note: String
    public var createdBy: String
    public var hits = RuleHits()

    public init(id: Int64, kind: Kind, target: String, scope: RuleScope = .all, shadow: Bool = false, expiresMs: Int64? = nil,
                note: String = "", createdBy: String = "", hits: RuleHits = RuleHits()) {
        self.id = id
        self.kind = kind
        self.target = target
        self.scope = scope
        self.shadow = shadow
        self.expiresMs = expiresMs
        self.note = note
        self.createdBy = createdBy
        self.hits = hits
    }

    public func isActive(nowMs: Int64) -> Bool { expiresMs.map { $0 > nowMs } ?? true }

    /// `deny domain example.com`.
    public var label: String { "\(kind.rawValue) \(target)" }

    /// Every rule, by id, with its hits.
    public static func rows(_ rules: RuleSet, hits: [Int64: RuleHits] = [:]) -> [RuleRow] {
        let entries = rules.entries.map { entry in
            RuleRow(id: entry.id, kind: entry.effect == .deny ? .deny : .allow, target: "\(entry.kind.rawValue) \(entry.value)",
                    scope: entry.scope, shadow: entry.shadow, expiresMs: entry.expiresMs,
                    note: [entry.reason, entry.source.map { "list \($0)" }].compactMap { $0 }.joined(separator: " · "),
                    createdBy: entry.createdBy, hits: hits[entry.id] ?? RuleHits())
        }
        let rates = rules.rates.map { rule in
            RuleRow(id: rule.id, kind: .rate, target: "\(rule.key.rawValue) \(rule.spec)", scope: rule.scope, shadow: rule.shadow,
                    expiresMs: rule.expiresMs, note: rule.reason ?? rule.message ?? "", createdBy: rule.createdBy,
                    hits: hits[rule.id] ?? RuleHits())
        }
        return (entries + rates).sorted { $0.id < $1.id }
    }
}
