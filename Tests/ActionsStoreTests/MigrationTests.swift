import Testing
import Foundation
import GRDB
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore

@Suite struct MigrationTests {
    @Test func migratesAnEmptyFileToTheLatestSchemaWithPrivateMode() throws {
        let path = temporaryDatabasePath()
        let store = try Store(path: path)
        let applied = try store.db.read { try Schema.migrator.appliedIdentifiers($0) }
        #expect(applied == Set(Schema.known))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let settings = try store.settings()
        #expect(settings[.authentication]?.errorMode == .failClosed)
        #expect(settings[.userRegistration]?.timeoutMs == 5000)
    }

    /// v8 moves deny entries into the rules table: ids, values and audit-worthy fields survive, and
    /// new rules continue the id sequence.
    @Test func upgradesDenyEntriesIntoRulesKeepingTheirIds() throws {
        let path = temporaryDatabasePath()
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: Schema.v7)
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO deny_entries(id, kind, value, scope, reason, message, created_by, created_ms, expires_ms)
                    VALUES (7, 'domain', 'mailinator.com', 'all', 'disposable', 'Use a work address.', 'ops', 5, NULL),
                           (9, 'ip', '203.0.113.0/24', 'authentication', NULL, NULL, 'ops', 6, 99)
                    """)
            }
        }
        let store = try Store(path: path)
        let entries = try store.listEntries(.deny)
        #expect(entries.map(\.id) == [7, 9])
        #expect(entries[0].value == "mailinator.com" && entries[0].reason == "disposable" && entries[0].message == "Use a work address.")
        #expect(entries[1].scope == .authentication && entries[1].expiresMs == 99 && !entries[1].shadow && entries[1].source == nil)
        let next = try store.addListEntry(ListEntry(effect: .allow, kind: .domain, value: "mailinator.com"), by: Operator(user: "t"))
        #expect(next.id == 10, "an allow entry beside the deny entry of the same value, with the next id")
    }

    /// v11 rebuilds the search index by column: a log indexed under v10 is indexed again from the
    /// start, reasons included, and found through the new index.
    @Test func upgradesAVersionTenSearchIndexByReindexingTheLog() throws {
        let path = temporaryDatabasePath()
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: Schema.v10)
        }
        do {
            // Events written and indexed under v10, through the v10 statements the indexer ran.
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                for n in 0..<3 {
                    try db.execute(sql: """
                        INSERT INTO events(uid, ts_ms, action_type, action_id, email, email_domain, verdict, decided_by,
                                           reason, outcome, latency_us, error_mode)
                        VALUES (?, 1, 'authentication', 'a1', ?, 'needle.io', 'Deny', 'policy', 'deny-listed (rule 7)',
                                'ok', 5, 'fail-closed')
                        """, arguments: ["evt_\(n)", "old\(n)@needle.io"])
                }
                try db.execute(sql: """
                    INSERT INTO events_search(rowid, body) SELECT id, \(Schema.searchText(row: nil, .sqlite)) FROM events;
                    INSERT INTO search_reasons(reason) VALUES ('deny-listed (rule 7)');
                    INSERT INTO search_reason_events SELECT 1, id FROM events;
                    UPDATE meta SET value = 3 WHERE key = 'search_indexed_up_to';
                    """)
            }
        }
        let store = try Store(path: path)
        #expect(try store.searchBacklog() == 3, "the old index is dropped and the log queued again")
        #expect(try store.indexSearch() == 3)
        func search(_ text: String) throws -> [Event] { try store.latestEvents(EventFilter(text: text, textScanLimit: 1), limit: 10) }
        #expect(try search("needle").count == 3)
        #expect(try search("old1@").map(\.uid) == ["evt_1"])
        #expect(try search("(rule 7)").count == 3)
        // Retention keeps the index consistent: pruned events leave it first.
        _ = try store.prune(maxAgeMs: nil, maxRows: 1)
        #expect(try search("needle").map(\.uid) == ["evt_2"])
        #expect(try search("(rule 7)").count == 1)
    }

    @Test func upgradesAVersionOneDatabaseKeepingItsEvents() throws {
        let path = temporaryDatabasePath()
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: Schema.v1)
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO events(uid, ts_ms, action_type, action_id, verdict, decided_by, outcome, latency_us, error_mode)
                    VALUES ('evt_old', 1, 'authentication', 'a1', 'Deny', 'error_mode', 'timeout', 5, 'fail-closed')
                    """)
            }
        }
        let store = try Store(path: path)
        let events = try store.latestEvents(EventFilter(failuresOnly: true))
        #expect(events.map(\.uid) == ["evt_old"])
        #expect(events.first?.outcome == .timeout)
        #expect(try store.circuits().isEmpty)
    }

    /// The denied and failure listings must stay index walks on a large log (issue 2's ≤20 ms), now
    /// through partial indexes that hold only denied or failed rows.
    @Test func deniedAndFailureListingsWalkTheirPartialIndexes() throws {
        let store = try Store(path: temporaryDatabasePath())
        func plan(_ condition: String, hint: String = "") throws -> String {
            try store.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT * FROM events \(hint) WHERE \(condition) AND id >= 1 ORDER BY id DESC LIMIT 100")
                    .map { $0["detail"] as String? ?? "" }.joined(separator: "; ")
            }
        }
        #expect(try plan("verdict = 'Deny'").contains("USING INDEX events_denied"))
        #expect(try plan("failed = 1").contains("USING INDEX events_failed"))
        let shadowFilter = EventFilter(shadowHitsOnly: true)
        let shadowSQL = try store.read { db in
            (try Store.whereClauses(shadowFilter, SQLiteSession(db: db)).0.joined(separator: " AND "), Store.indexHint(shadowFilter, SQLiteSession(db: db)))
        }
        #expect(try plan(shadowSQL.0, hint: shadowSQL.1).contains("USING INDEX events_shadow"))
        let rulePlan = try plan("(rule_id = 3 OR shadow_rule_id = 3)")
        #expect(rulePlan.contains("events_rule") && rulePlan.contains("events_shadow"), "\(rulePlan)")
        let partial = try store.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%' ORDER BY name")
        }
        #expect(partial == ["events_denied", "events_failed", "events_rule", "events_shadow"])
    }

    @Test func aNewerSchemaIsAClearErrorNotACrash() throws {
        let path = temporaryDatabasePath()
        _ = try Store(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v9_from_the_future')") }
        #expect(throws: StoreError.schemaTooNew(path: path, unknown: ["v9_from_the_future"])) { try Store(path: path) }
        #expect(StoreError.schemaTooNew(path: path, unknown: ["v9"]).description.contains("newer schema"))
    }

    @Test func aMissingDatabaseIsReportedWhenNotCreating() {
        let path = temporaryDatabasePath()
        #expect(throws: StoreError.missingDatabase(path: path)) { try Store(path: path, create: false) }
    }

    @Test func readOnlyOpeningRefusesWrites() throws {
        let path = temporaryDatabasePath()
        _ = try Store(path: path)
        let store = try Store(path: path, readOnly: true)
        #expect(store.isReadOnly)
        #expect(throws: StoreError.readOnly(path: path)) { try store.setErrorMode(.failOpen, for: .authentication, by: tester) }
    }
}
