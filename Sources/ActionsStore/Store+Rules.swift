import ActionsDomain
import Foundation
import ActionsProtocol

extension Store {
    static let ruleColumns = "id, effect, kind, value, scope, reason, message, shadow, source, rate_limit, window_ms, created_by, created_ms, expires_ms"

    /// Every rule (deny and allow entries, rate rules), oldest first.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func rules(includeExpired: Bool = true, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> RuleSet {
        var set = try reading { db in try Self.rules(db) }
        // Expired entries are few: filter only when there are some (a copy of 110,000 entries is not free).
        if !includeExpired, set.entries.contains(where: { !$0.isActive(nowMs: nowMs) }) || set.rates.contains(where: { !$0.isActive(nowMs: nowMs) }) {
            set.entries.removeAll { !$0.isActive(nowMs: nowMs) }
            set.rates.removeAll { !$0.isActive(nowMs: nowMs) }
        }
        return set
    }

    /// The deny and allow entries (of one effect, when given).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func listEntries(_ effect: ListEffect? = nil, includeExpired: Bool = true,
                            nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> [ListEntry] {
        try rules(includeExpired: includeExpired, nowMs: nowMs).entries.filter { effect == nil || $0.effect == effect }
    }

    static func rules(_ db: any SQLSession, where condition: String = "", _ arguments: [any SQLBindable] = []) throws -> RuleSet {
        var set = RuleSet()
        try db.forEachRow("SELECT \(ruleColumns) FROM rules \(condition) ORDER BY id", arguments) { row in
            guard let scope = RuleScope(rawValue: row.string(4)) else { return }
            let source = row.string(8)
            if row.string(1) == "rate" {
                guard let key = RateKey(rawValue: row.string(2)) else { return }
                set.rates.append(RateRule(id: row.int64(0), key: key, limit: row.int(9), windowMs: row.int64(10), scope: scope,
                                          reason: row.optionalString(5), message: row.optionalString(6), shadow: row.bool(7),
                                          createdBy: row.string(11), createdMs: row.int64(12), expiresMs: row.optionalInt64(13)))
            } else {
                guard let effect = ListEffect(rawValue: row.string(1)), let kind = EntryKind(rawValue: row.string(2)) else { return }
                set.entries.append(ListEntry(id: row.int64(0), effect: effect, kind: kind, value: row.string(3), scope: scope,
                                             reason: row.optionalString(5), message: row.optionalString(6), shadow: row.bool(7),
                                             source: source.isEmpty ? nil : source, createdBy: row.string(11),
                                             createdMs: row.int64(12), expiresMs: row.optionalInt64(13)))
            }
        }
        return set
    }

    /// Adds a deny or allow entry (or replaces the one with the same effect, kind, value, scope and
    /// source); audited.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func addListEntry(_ entry: ListEntry, by actor: Operator) throws(StoreError) -> ListEntry {
        var entry = entry
        entry.value = try StoreError.checking { () throws(InvalidValue) in try ListEntry.normalize(entry.value, kind: entry.kind) }
        entry.createdBy = actor.user
        entry.createdMs = WallClock.nowMs()
        let saved = entry
        let id = try saveRule(effect: saved.effect.rawValue, kind: saved.kind.rawValue, value: saved.value, scope: saved.scope,
                              reason: saved.reason, message: saved.message, shadow: saved.shadow, source: saved.source,
                              rate: nil, createdMs: saved.createdMs, expiresMs: saved.expiresMs, by: actor,
                              audit: "scope=\(saved.scope.rawValue)\(saved.shadow ? " shadow" : "") reason=\(saved.reason ?? "") expires=\(saved.expiresMs.map(String.init) ?? "never")")
        entry.id = id
        return entry
    }

    /// Adds a rate rule (or replaces the one with the same key, rate and scope); audited.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func addRateRule(_ rule: RateRule, by actor: Operator) throws(StoreError) -> RateRule {
        guard rule.limit > 0, rule.windowMs > 0 else { throw .invalidValue("a rate needs a positive limit and window") }
        var rule = rule
        rule.createdBy = actor.user
        rule.createdMs = WallClock.nowMs()
        let saved = rule
        rule.id = try saveRule(effect: "rate", kind: saved.key.rawValue, value: saved.spec, scope: saved.scope,
                               reason: saved.reason, message: saved.message, shadow: saved.shadow, source: nil,
                               rate: (saved.limit, saved.windowMs), createdMs: saved.createdMs, expiresMs: saved.expiresMs,
                               by: actor, audit: "scope=\(saved.scope.rawValue)\(saved.shadow ? " shadow" : "") message=\(saved.message ?? "")")
        return rule
    }

    private func saveRule(effect: String, kind: String, value: String, scope: RuleScope, reason: String?, message: String?,
                          shadow: Bool, source: String?, rate: (limit: Int, windowMs: Int64)?, createdMs: Int64,
                          expiresMs: Int64?, by actor: Operator, audit: String) throws(StoreError) -> Int64 {
        try writing { db in
            try db.execute("""
                INSERT INTO rules(effect, kind, value, scope, reason, message, shadow, source, rate_limit, window_ms,
                                  created_by, created_ms, expires_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(effect, kind, value, scope, source) DO UPDATE SET reason = excluded.reason,
                    message = excluded.message, shadow = excluded.shadow, created_by = excluded.created_by,
                    created_ms = excluded.created_ms, expires_ms = excluded.expires_ms
                """, [effect, kind, value, scope.rawValue, reason, message, shadow, source ?? "", rate?.limit, rate?.windowMs,
                      actor.user, createdMs, expiresMs])
            let id = try db.int64("SELECT id FROM rules WHERE effect = ? AND kind = ? AND value = ? AND scope = ? AND source = ?",
                                  [effect, kind, value, scope.rawValue, source ?? ""]) ?? 0
            try Self.audit(db, by: actor, action: "\(effect).add", target: "rule \(id): \(kind) \(value)", old: nil, new: audit)
            try Self.bumpConfigVersion(db)
            return id
        }
    }

    /// Removes a rule of any kind by id; audited. Throws notFound when there is none.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func removeRule(id: Int64, by actor: Operator) throws(StoreError) -> String {
        let removed: String? = try writing { db in
            guard let old = try Self.rules(db, where: "WHERE id = ?", [id]).label(of: id) else { return nil }
            try db.execute("DELETE FROM rules WHERE id = ?", [id])
            try Self.audit(db, by: actor, action: "rule.remove", target: "rule \(id)", old: old, new: nil)
            try Self.bumpConfigVersion(db)
            return old
        }
        guard let removed else { throw .notFound("rule \(id)") }
        return removed
    }

    /// Promotes a shadow rule to enforcing (`shadow: false`) or demotes an enforcing one to shadow;
    /// audited. Returns the rule's description; notFound when there is none.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func setShadow(_ shadow: Bool, rule id: Int64, by actor: Operator) throws(StoreError) -> String {
        let label: String? = try writing { db in
            let rules = try Self.rules(db, where: "WHERE id = ?", [id])
            guard let label = rules.label(of: id) else { return nil }
            let was = rules.entries.first?.shadow ?? rules.rates.first?.shadow ?? false
            try db.execute("UPDATE rules SET shadow = ? WHERE id = ?", [shadow, id])
            try Self.audit(db, by: actor, action: shadow ? "rule.demote" : "rule.promote", target: "rule \(id): \(label)",
                           old: was ? "shadow" : "enforcing", new: shadow ? "shadow" : "enforcing")
            try Self.bumpConfigVersion(db)
            return label
        }
        guard let label else { throw .notFound("rule \(id)") }
        return label
    }

    /// Replaces an imported list's entries with `values` in one transaction: what the source no
    /// longer names is removed, what is new is added, and nothing else is touched (entries added
    /// by hand, other sources). With `dryRun`, only says what would change.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func importEntries(_ values: [String], source: String, effect: ListEffect = .deny, kind: EntryKind,
                              scope: RuleScope = .all, reason: String? = nil, shadow: Bool = false, dryRun: Bool = false,
                              by actor: Operator) throws(StoreError) -> ListImport.Result {
        guard !source.isEmpty else { throw .invalidValue("an import needs a source name") }
        var wanted: [String] = []
        var seen: Set<String> = []
        for value in values {
            let normalized = try StoreError.checking { () throws(InvalidValue) in try ListEntry.normalize(value, kind: kind) }
            if seen.insert(normalized).inserted { wanted.append(normalized) }
        }
        let nowMs = WallClock.nowMs()
        let keep = seen
        return try writing { db in
            let current = try Self.rules(db, where: "WHERE effect = ? AND kind = ? AND source = ?",
                                         [effect.rawValue, kind.rawValue, source]).entries
            let present = Set(current.filter { $0.scope == scope }.map(\.value))
            let added = wanted.filter { !present.contains($0) }
            let removed = current.filter { $0.scope != scope || !keep.contains($0.value) }
            let result = ListImport.Result(added: added, removed: removed.map(\.value), unchanged: present.intersection(keep).count)
            if dryRun || (added.isEmpty && removed.isEmpty) { return result }
            for batch in removed.map(\.id).chunked(500) {
                try db.execute("DELETE FROM rules WHERE id IN (\(Array(repeating: "?", count: batch.count).joined(separator: ", ")))",
                               batch.map { $0 as any SQLBindable })
            }
            for batch in added.chunked(500) {
                let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
                var arguments: [any SQLBindable] = []
                for value in batch {
                    arguments += [effect.rawValue, kind.rawValue, value, scope.rawValue, reason, shadow, source, actor.user, nowMs]
                }
                try db.execute("""
                    INSERT INTO rules(effect, kind, value, scope, reason, shadow, source, created_by, created_ms)
                    VALUES \(Array(repeating: row, count: batch.count).joined(separator: ", "))
                    """, arguments)
            }
            try Self.audit(db, by: actor, action: "\(effect.rawValue).import", target: "source \(source) (\(kind.rawValue))",
                           old: "\(current.count) entries", new: "\(wanted.count) entries: +\(added.count) -\(removed.count)")
            try Self.bumpConfigVersion(db)
            return result
        }
    }
}

/// Bulk lists: one value per line, `#` starts a comment.
package enum ListImport {
    package struct Result: Sendable, Equatable {
        package var added: [String]
        package var removed: [String]
        package var unchanged: Int
    }

    /// One line of a list file: its value, or why it cannot be one.
    package enum Entry: Sendable, Equatable {
        case value(String)
        case notUTF8
    }

    /// The values in a list file (LF, CRLF or CR line ends alike, see `TextLines`), with their
    /// line numbers; blank lines and comments skipped.
    package static func values(in bytes: some Collection<UInt8>) -> [(line: Int, entry: Entry)] {
        TextLines.lines(bytes).compactMap { line in
            guard let text = line.text else { return (line.number, .notUTF8) }
            let content = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let value = content.trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? nil : (line.number, .value(value))
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

/// How often each rule decided, and was hit in shadow mode, over a period.
package struct RuleHits: Sendable, Equatable {
    package var decided = 0
    package var shadow = 0

    package init(decided: Int = 0, shadow: Int = 0) {
        self.decided = decided
        self.shadow = shadow
    }
}

extension Store {
    /// Per rule id: the decisions it made and its shadow hits since `sinceMs` (test decisions left out).
    /// `scanLimit` bounds the scan to the newest this-many events (an interactive reader).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func ruleHits(sinceMs: Int64, scanLimit: Int? = nil) throws(StoreError) -> [Int64: RuleHits] {
        try reading { db in
            var first = try Self.idBound(atOrAfter: sinceMs, db)
            if let scanLimit { first = max(first, (try db.int64("SELECT max(id) FROM events") ?? 0) - Int64(scanLimit)) }
            var hits: [Int64: RuleHits] = [:]
            for row in try db.rows("""
                SELECT rule_id, count(*) FROM events WHERE id >= ? AND ts_ms >= ? AND rule_id IS NOT NULL AND is_test = 0 GROUP BY rule_id
                """, [first, sinceMs]) {
                hits[row.int64(0), default: RuleHits()].decided = row.int(1)
            }
            for row in try db.rows("""
                SELECT shadow_rule_id, count(*) FROM events WHERE shadow_rule_id IS NOT NULL AND id >= ? AND ts_ms >= ? AND is_test = 0
                GROUP BY shadow_rule_id
                """, [first, sinceMs]) {
                hits[row.int64(0), default: RuleHits()].shadow = row.int(1)
            }
            return hits
        }
    }
}
