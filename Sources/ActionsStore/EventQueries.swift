import ActionsDomain
import Foundation
import ActionsProtocol

/// What the dashboard and `actionsctl events` filter on. Every field narrows the result.
package struct EventFilter: Sendable, Equatable {
    package var deniedOnly = false
    /// Any outcome other than `ok`.
    package var failuresOnly = false
    package var actionType: ActionType?
    /// Exactly this authentication method (`Password`, `GoogleOAuth`, ...), as the context gave it.
    package var authMethod: String?
    /// Exactly this organization id.
    package var organizationId: String?
    /// Decided by exactly this actions-server node.
    package var node: String?
    /// Decided by this rule, or hit by it in shadow mode.
    package var ruleId: Int64?
    /// Only events with a shadow hit.
    package var shadowHitsOnly = false
    /// Only the decisions of this W3C trace (32 hex digits, as `traceparent` carried it).
    package var traceId: String?
    /// Only this outcome.
    package var outcome: Outcome?
    /// Leave out test decisions (`actionsctl test`).
    package var excludeTests = false
    /// Case-insensitive substring of email, domain, IP, reason, authentication method,
    /// organization id or device fingerprint.
    package var text = ""
    package var sinceMs: Int64?
    /// With a text filter, look only at the newest this-many events. LIKE cannot use an index, so an
    /// interactive reader bounds the scan (the dashboard: 100,000 rows); nil scans everything.
    package var textScanLimit: Int?
    /// Set by `searchLatest` for one step of a search: ids in `(above, atMost]`, and whether the
    /// text is matched by scanning those rows alone or through the index alone.
    var idWindow: IDWindow?
    struct IDWindow: Sendable, Equatable {
        var above: Int64, atMost: Int64
    }
    var textBy: TextSource = .indexAndScan
    enum TextSource: Sendable, Equatable { case indexAndScan, scanOnly, indexOnly }

    package init(deniedOnly: Bool = false, failuresOnly: Bool = false, actionType: ActionType? = nil,
                text: String = "", sinceMs: Int64? = nil, textScanLimit: Int? = nil, authMethod: String? = nil,
                organizationId: String? = nil, node: String? = nil, ruleId: Int64? = nil, shadowHitsOnly: Bool = false,
                excludeTests: Bool = false) {
        self.node = node
        self.ruleId = ruleId
        self.shadowHitsOnly = shadowHitsOnly
        self.excludeTests = excludeTests
        self.authMethod = authMethod
        self.organizationId = organizationId
        self.textScanLimit = textScanLimit
        self.deniedOnly = deniedOnly
        self.failuresOnly = failuresOnly
        self.actionType = actionType
        self.text = text
        self.sinceMs = sinceMs
    }

    /// True when nothing narrows the result (the scan bound alone does not).
    package var isEmpty: Bool {
        !deniedOnly && !failuresOnly && actionType == nil && text.isEmpty && sinceMs == nil && authMethod == nil
            && organizationId == nil && node == nil && ruleId == nil && !shadowHitsOnly && !excludeTests && outcome == nil
            && traceId == nil
    }
}

extension EventFilter {
    /// Searches of three characters or more go through the trigram index and cover the whole log;
    /// shorter ones have no trigram to look up, and scan (bounded by `textScanLimit`).
    package static func searchIsIndexed(_ text: String) -> Bool {
        text.trimmingCharacters(in: .whitespaces).unicodeScalars.count >= 3
    }

    /// The case searches compare in: Unicode's lowercase mapping, with the final sigma as the
    /// other sigma (lowercasing writes `ς` or `σ` by position, so `ΣΊΣΥΦΟΣ.GR` lowers to
    /// `σίσυφοσ.gr` and would miss a search for `σίσυφος`). The same on both backends:
    /// `actions_lower` in SQL (`Store.lowerFunction`, PostgreSQL's pg5).
    package static func foldCase(_ text: String) -> String {
        let lower = text.lowercased()
        // ς is CF 82 in UTF-8: most texts never hold a CF byte and return as they are.
        return lower.utf8.contains(0xCF) ? String(lower.map { $0 == "ς" ? "σ" : $0 }) : lower
    }

    /// Every trigram of the text, quoted, joined by AND: what the contentless trigram index can
    /// answer (it keeps no positions, so a phrase cannot be asked for).
    package static func trigramQuery(_ text: String) -> String {
        let scalars = Array(foldCase(text.trimmingCharacters(in: .whitespaces)).unicodeScalars)
        var seen: Set<String> = []
        var terms: [String] = []
        for start in 0...(scalars.count - 3) {
            var gram = ""
            gram.unicodeScalars.append(contentsOf: scalars[start..<(start + 3)])
            if seen.insert(gram).inserted { terms.append("\"" + gram.replacingOccurrences(of: "\"", with: "\"\"") + "\"") }
        }
        return terms.joined(separator: " AND ")
    }

    /// The same test `whereClauses` applies in SQL, for events a reader already holds (the tail).
    package func matches(_ event: Event) -> Bool {
        matcher()(event)
    }

    /// `matches`, with the search text folded once for all the events it is applied to (a
    /// dashboard refresh tests a thousand), and nothing at all done when nothing narrows.
    package func matcher() -> (Event) -> Bool {
        if isEmpty { return { _ in true } }
        let needle = Self.foldCase(text.trimmingCharacters(in: .whitespaces))
        let traceId = traceId?.lowercased()
        return { event in self.matches(event, needle: needle, traceId: traceId) }
    }

    private func matches(_ event: Event, needle: String, traceId: String?) -> Bool {
        if deniedOnly && event.verdict != .deny { return false }
        if failuresOnly && event.outcome == .ok { return false }
        if let actionType, event.actionType != actionType { return false }
        if let sinceMs, event.timeMs < sinceMs { return false }
        if let authMethod, event.authMethod != authMethod { return false }
        if let organizationId, event.organizationId != organizationId { return false }
        if let node, event.node != node { return false }
        if let ruleId, event.ruleId != ruleId && event.shadowRuleId != ruleId { return false }
        if shadowHitsOnly && event.shadowRuleId == nil { return false }
        if excludeTests && event.isTest { return false }
        if let outcome, event.outcome != outcome { return false }
        if let traceId, event.traceId != traceId { return false }
        if !needle.isEmpty {
            let haystacks = [event.email, event.emailDomain, event.ip, event.reason, event.authMethod, event.organizationId,
                             event.deviceFingerprint].compactMap { $0.map(Self.foldCase) }
            if !haystacks.contains(where: { $0.contains(needle) }) { return false }
        }
        return true
    }
}


extension Store {
    /// When the oldest event still in the log was decided; nil for an empty log.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func firstEventTimeMs() throws(StoreError) -> Int64? {
        try reading { try $0.int64("SELECT ts_ms FROM events ORDER BY id LIMIT 1") }
    }

    /// The newest `limit` events matching the filter, newest first; `beforeID` pages further back.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func latestEvents(_ filter: EventFilter = EventFilter(), limit: Int = 100, beforeID: Int64? = nil) throws(StoreError) -> [Event] {
        try reading { db in
            var (clauses, arguments) = try Self.whereClauses(filter, db)
            if let beforeID {
                clauses.append("id < ?")
                arguments.append(beforeID)
            }
            let sql = "SELECT \(EventColumn.selectList) FROM events \(Self.indexHint(filter, db)) \(Self.whereSQL(clauses)) ORDER BY id DESC LIMIT ?"
            arguments.append(limit)
            return try db.rows(sql, arguments).map(Event.init(row:))
        }
    }

    /// Events newer than `afterID`, oldest first: the tail.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func events(after afterID: Int64, _ filter: EventFilter = EventFilter(), limit: Int = 1000) throws(StoreError) -> [Event] {
        try reading { db in
            var (clauses, arguments) = try Self.whereClauses(filter, db)
            clauses.append("id > ?")
            arguments.append(afterID)
            let sql = "SELECT \(EventColumn.selectList) FROM events \(Self.indexHint(filter, db)) \(Self.whereSQL(clauses)) ORDER BY id ASC LIMIT ?"
            arguments.append(limit)
            return try db.rows(sql, arguments).map(Event.init(row:))
        }
    }

    /// The events whose ids fall in any of these ranges, oldest first: the holes a tail left
    /// behind, asked for again in case a late commit filled them.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func events(inIDRanges ranges: [ClosedRange<Int64>], limit: Int = 10_000) throws(StoreError) -> [Event] {
        guard !ranges.isEmpty else { return [] }
        return try reading { db in
            let clauses = ranges.map { _ in "(id BETWEEN ? AND ?)" }.joined(separator: " OR ")
            let arguments: [any SQLBindable] = ranges.flatMap { [$0.lowerBound, $0.upperBound] } + [limit]
            return try db.rows("SELECT \(EventColumn.selectList) FROM events WHERE \(clauses) ORDER BY id ASC LIMIT ?", arguments)
                .map(Event.init(row:))
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func event(id: Int64) throws(StoreError) -> Event? {
        try reading { db in
            try db.row("SELECT \(EventColumn.selectList) FROM events WHERE id = ?", [id]).map(Event.init(row:))
        }
    }

    /// Hands every event after `afterID` that matches `filter` to `body`, oldest first, reading a
    /// page at a time (a day of a busy log does not fit in memory at once). Returns the last id
    /// read, `afterID` when there was none.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func forEachEvent(after afterID: Int64, _ filter: EventFilter = EventFilter(), pageSize: Int = 20_000,
                             _ body: (Event) -> Void) throws(StoreError) -> Int64 {
        var after = afterID
        while true {
            let page = try events(after: after, filter, limit: pageSize)
            page.forEach(body)
            after = page.last?.id ?? after
            if page.count < pageSize { return after }
        }
    }

    /// An id to read on from with `events(after:)` that misses no event at or after `ms` (see
    /// `idBound`: it may take in up to `orderSlackMs` before it).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func firstEventID(atOrAfterMs ms: Int64) throws(StoreError) -> Int64 {
        try reading { db in try Self.idBound(atOrAfter: ms, db) }
    }

    /// The newest `limit` ids, newest first (the primary key alone).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func newestEventIDs(limit: Int) throws(StoreError) -> [Int64] {
        try reading { try $0.rows("SELECT id FROM events ORDER BY id DESC LIMIT ?", [limit]).map { $0.int64(0) } }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func maxEventID() throws(StoreError) -> Int64 {
        try reading { try $0.int64("SELECT max(id) FROM events") ?? 0 }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func eventCount() throws(StoreError) -> Int {
        try reading { Int(try $0.int64("SELECT count(*) FROM events") ?? 0) }
    }

    /// An id at or below every event at or after a time: a time bound as an id bound, which every
    /// index (they all end in rowid) can use. Ids follow commit order and times decision order,
    /// which differ (nodes' clocks, late commits) by up to `orderSlackMs`: so the bound is the
    /// newest event by time from before `ms - orderSlackMs`, which every later-committed event
    /// follows in time. (The oldest event in the window was the bound: events committed just
    /// before it with later times were dropped, and the attack panel and the header undercounted.)
    /// 0 when the log holds nothing that old. Never above the first event in the window less
    /// one, so a node whose clock runs minutes slow (its fresh events dated before the window)
    /// cannot push the bound up past the others' events. The exact `ts_ms` test goes beside it.
    static func idBound(atOrAfter ms: Int64, _ db: any SQLSession) throws -> Int64 {
        let before = try db.int64("SELECT id FROM events WHERE ts_ms < ? ORDER BY ts_ms DESC LIMIT 1", [ms - orderSlackMs]) ?? 0
        return min(before, try firstID(atOrAfter: ms, db) - 1)
    }

    /// How far commit order may stray from time order and a time bound still find every event.
    static let orderSlackMs: Int64 = 60_000

    /// The first event at or after a time, by time: where retention cuts the log (it keeps the
    /// log one contiguous id range).
    static func firstID(atOrAfter ms: Int64, _ db: any SQLSession) throws -> Int64 {
        try db.int64("SELECT id FROM events WHERE ts_ms >= ? ORDER BY ts_ms LIMIT 1", [ms]) ?? Int64.max
    }

    static func whereClauses(_ filter: EventFilter, _ db: any SQLSession) throws -> ([String], [any SQLBindable]) {
        var clauses: [String] = []
        var arguments: [any SQLBindable] = []
        if filter.deniedOnly {
            clauses.append("verdict = 'Deny'")
        }
        if filter.failuresOnly {
            clauses.append("failed = 1")
        }
        if let type = filter.actionType {
            clauses.append("action_type = ?")
            arguments.append(type.rawValue)
        }
        if let since = filter.sinceMs {
            clauses.append("id >= ?")
            arguments.append(try idBound(atOrAfter: since, db))
            clauses.append("ts_ms >= ?")
            arguments.append(since)
        }
        // Texts compare in their stored spelling (`StoredText`).
        if let method = filter.authMethod {
            clauses.append("auth_method = ?")
            arguments.append(StoredText.encode(method))
        }
        if let organization = filter.organizationId {
            clauses.append("organization_id = ?")
            arguments.append(StoredText.encode(organization))
        }
        if let node = filter.node {
            clauses.append("node = ?")
            arguments.append(StoredText.encode(node))
        }
        if let rule = filter.ruleId {
            clauses.append("(rule_id = ? OR shadow_rule_id = ?)")
            arguments += [rule, rule]
        }
        if let trace = filter.traceId {
            clauses.append("trace_id = ?")
            arguments.append(trace.lowercased())
        }
        if filter.shadowHitsOnly {
            // Rule ids are positive: a range the partial index serves (IS NOT NULL alone would
            // walk the table by id).
            clauses.append("shadow_rule_id > 0")
        }
        if filter.excludeTests {
            clauses.append("is_test = 0")
        }
        if let outcome = filter.outcome {
            clauses.append("outcome = ?")
            arguments.append(outcome.rawValue)
        }
        let text = filter.text.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty {
            // Case is folded as `EventFilter.matches` folds it (`EventFilter.foldCase`), so
            // `élodie` finds `ÉLODIE`. SQLite's LIKE folds ASCII alone: a needle with other
            // letters compares `actions_lower(column)`, the same mapping registered as a function
            // (`SQLiteBackend.lowerFunction`). An ASCII needle keeps the native LIKE, several times cheaper
            // on the scans of short searches, and asks the function only of values holding other
            // characters (a Kelvin sign lowers to `k`: `\u{212A}EVIN@x` is found by `kevin`).
            // PostgreSQL's `actions_lower` is lower() under ICU's root collation, whatever the
            // database's own (pg5), and its trigram index is built on it.
            let folded = EventFilter.foldCase(text)
            let pattern = "%" + StoredText.encode(folded).replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            let columns = Schema.searchColumns
            let nativeFold = db.dialect.likeFoldsASCII && folded.utf8.allSatisfy { $0 < 0x80 }
            /// The test of one column against `pattern`, and its arguments.
            func like(_ column: String) -> (String, [any SQLBindable]) {
                let folding = "actions_lower(\(column)) LIKE ? ESCAPE '\\'"
                guard nativeFold else { return (folding, [pattern]) }
                return ("(\(column) LIKE ? ESCAPE '\\' OR (\(column) GLOB '*[^ -~]*' AND \(folding)))", [pattern, pattern])
            }
            let reasonLike = like("reason")
            if let window = filter.idWindow {
                clauses.append("id > ? AND id <= ?")
                arguments += [window.above, window.atMost]
            }
            if filter.textBy == .indexOnly {
                let candidates = db.dialect.searchCandidates(pattern: pattern, text: text, reasonLike: reasonLike)
                clauses.append("id IN (\(candidates.sql))")
                arguments += candidates.arguments
            } else if filter.textBy == .indexAndScan && EventFilter.searchIsIndexed(text) {
                // The trigram index finds the candidates in the whole log up to its mark (on
                // SQLite in the index's own file, see SearchIndexFile.attach); the rows after it
                // (normally under 10 seconds' or 20,000 of them, see SearchIndexer) are scanned.
                // The per-column test below keeps only true matches (SQLite's index answers "has
                // every trigram", each in any of its columns; PostgreSQL's indexed text joins the
                // columns). SQLite keeps reasons apart, once per distinct reason (Schema v10).
                let candidates = db.dialect.searchCandidates(pattern: pattern, text: text, reasonLike: reasonLike)
                // With a scan bound, only the newest unindexed rows are scanned (an index far behind, on
                // a log it has just started to fill); the dashboard says so.
                let mark = "(SELECT value FROM \(db.dialect.searchMark))"
                let tail = filter.textScanLimit == nil ? mark : "\(db.dialect.greatest)(\(mark), \(Self.newestRowsBound))"
                clauses.append("(id IN (\(candidates.sql)) OR id > \(tail))")
                arguments += candidates.arguments
                if let limit = filter.textScanLimit { arguments.append(limit) }
            }
            let tests = columns.map(like)
            clauses.append("(" + tests.map(\.0).joined(separator: " OR ") + ")")
            arguments += tests.flatMap(\.1)
            if let limit = filter.textScanLimit, !EventFilter.searchIsIndexed(text), filter.textBy == .indexAndScan {
                clauses.append("id > \(Self.newestRowsBound)")
                arguments.append(limit)
            }
        }
        return (clauses, arguments)
    }

    /// Shadow hits are few: SQLite, without statistics, would rather walk the table by id than
    /// take the partial index a range on `shadow_rule_id` allows. PostgreSQL plans it alone.
    static func indexHint(_ filter: EventFilter, _ db: any SQLSession) -> String {
        filter.shadowHitsOnly && filter.ruleId == nil ? db.dialect.indexedBy("events_shadow") : ""
    }

    static func whereSQL(_ clauses: [String]) -> String {
        clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
    }
}

/// Counts and latency percentiles over a time window.
package struct WindowStats: Sendable, Equatable {
    package var windowMs: Int64
    package var total = 0
    package var allowed = 0
    package var denied = 0
    /// Events per outcome other than ok.
    package var failures: [Outcome: Int] = [:]
    package var p50Us: Int64 = 0
    package var p95Us: Int64 = 0
    package var p99Us: Int64 = 0

    package init(windowMs: Int64) { self.windowMs = windowMs }

    /// How much of the window the figures actually cover: less than `windowMs` while the log is
    /// younger than the window (a server started 8 s ago has 8 s of decisions, not 60).
    package var coveredMs: Int64?

    package var perSecond: Double {
        let span = max(min(coveredMs ?? windowMs, windowMs), 1000)
        return windowMs > 0 ? Double(total) * 1000 / Double(span) : 0
    }
    package var failureCount: Int { failures.values.reduce(0, +) }

    /// Builds stats from (verdict, outcome, latency) triples.
    package init<S: Sequence>(windowMs: Int64, samples: S) where S.Element == (Verdict, Outcome, Int64) {
        self.init(windowMs: windowMs)
        var latencies: [Int64] = []
        for (verdict, outcome, latency) in samples {
            total += 1
            if verdict == .allow { allowed += 1 } else { denied += 1 }
            if outcome != .ok { failures[outcome, default: 0] += 1 }
            latencies.append(latency)
        }
        latencies.sort()
        p50Us = Self.percentile(latencies, 0.50)
        p95Us = Self.percentile(latencies, 0.95)
        p99Us = Self.percentile(latencies, 0.99)
    }

    /// Nearest-rank percentile.
    package static func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}

extension Store {
    /// Stats over `[now - windowMs, now]`, read from the covering time index only.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func stats(windowMs: Int64, nowMs: Int64 = WallClock.nowMs(), actionType: ActionType? = nil) throws(StoreError) -> WindowStats {
        try reading { db in
            var sql = "SELECT verdict, outcome, latency_us FROM events \(Self.byTime(db)) WHERE ts_ms >= ? AND ts_ms <= ?"
            var arguments: [any SQLBindable] = [nowMs - windowMs, nowMs]
            if let actionType {
                sql += " AND action_type = ?"
                arguments.append(actionType.rawValue)
            }
            let samples = try db.rows(sql, arguments).map { row in
                (Verdict(lenient: row.string(0)) ?? .deny, Outcome(rawValue: row.string(1)) ?? .invalidResponse, row.int64(2))
            }
            return WindowStats(windowMs: windowMs, samples: samples)
        }
    }
}

/// The few columns the dashboard's header needs from each recent event.
package struct StatSample: Sendable, Equatable {
    package var actionType: ActionType
    package var timeMs: Int64
    package var verdict: Verdict
    package var outcome: Outcome
    package var latencyUs: Int64

    package init(actionType: ActionType, timeMs: Int64, verdict: Verdict, outcome: Outcome, latencyUs: Int64) {
        self.actionType = actionType
        self.timeMs = timeMs
        self.verdict = verdict
        self.outcome = outcome
        self.latencyUs = latencyUs
    }

    package init(_ event: Event) {
        self.init(actionType: event.actionType, timeMs: event.timeMs, verdict: event.verdict, outcome: event.outcome,
                  latencyUs: event.latencyUs)
    }
}

extension Store {
    /// Samples since a time, from the covering time index alone (no table reads).
    /// `limit`: at most the newest this-many events (a day of a busy log is millions of rows).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func statSamples(sinceMs: Int64, limit: Int? = nil) throws(StoreError) -> [StatSample] {
        try reading { db in
            var sql = "SELECT action_type, ts_ms, verdict, outcome, latency_us FROM events \(Self.byTime(db)) WHERE ts_ms >= ?"
            var arguments: [any SQLBindable] = [sinceMs]
            if let limit {
                sql += " AND id > \(Self.newestRowsBound)"
                arguments.append(limit)
            }
            return try db.rows(sql, arguments).compactMap { row in
                guard let type = ActionType(rawValue: row.string(0)) else { return nil }
                return StatSample(actionType: type, timeMs: row.int64(1), verdict: Verdict(lenient: row.string(2)) ?? .deny,
                                  outcome: Outcome(rawValue: row.string(3)) ?? .invalidResponse, latencyUs: row.int64(4))
            }
        }
    }

    /// `id > newestRowsBound`, with the count bound to its `?`: the newest that-many events (ids
    /// are assigned in order on both backends).
    static let newestRowsBound = "(SELECT coalesce(max(id), 0) FROM events) - ?"

    /// SQLite: read the stats through their covering time index (its planner sometimes preferred
    /// the partial verdict index). PostgreSQL plans this well by itself.
    static func byTime(_ db: any SQLSession) -> String {
        db.dialect.indexedBy("events_by_time")
    }

    /// Migration identifiers in the database that this binary does not know (a newer writer upgraded it).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func unknownMigrations() throws(StoreError) -> [String] {
        try appliedMigrations().subtracting(backend.knownMigrations).sorted()
    }
}
