import ActionsProtocol
import ActionsDomain
import ActionsStore

/// One line of the rules screen: a deny or allow entry or a rate rule, with its hits.
package struct RuleRow: Sendable, Equatable, Identifiable {
    package enum Kind: String, Sendable { case deny, allow, rate }

    package var id: Int64
    package var kind: Kind
    /// `domain example.com`, `ip 203.0.113.0/24`, `ip-prefix 20/10m`.
    package var target: String
    package var scope: RuleScope
    package var shadow: Bool
    package var expiresMs: Int64?
    /// The reason, the user message of a rate rule, or the imported list's name.
    package var note: String
    package var createdBy: String
    package var hits = RuleHits()

    package init(id: Int64, kind: Kind, target: String, scope: RuleScope = .all, shadow: Bool = false, expiresMs: Int64? = nil,
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

    package func isActive(nowMs: Int64) -> Bool { expiresMs.map { $0 > nowMs } ?? true }

    /// `deny domain example.com`.
    package var label: String { "\(kind.rawValue) \(target)" }

    /// Every rule, by id, with its hits.
    package static func rows(_ rules: RuleSet, hits: [Int64: RuleHits] = [:]) -> [RuleRow] {
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
