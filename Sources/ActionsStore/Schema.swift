import ActionsDomain
import GRDB

/// Versioned migrations. Each identifier is applied once, in order; a database that carries
/// identifiers this list does not know was written by a newer binary.
enum Schema {
    static let v1 = "v1_initial"
    static let v2 = "v2_circuit_and_writer_status"
    static let v3 = "v3_partial_event_indexes"
    static let v4 = "v4_sliding_lockout_window"
    static let v5 = "v5_event_context_fields"
    static let v6 = "v6_event_node"
    static let v7 = "v7_nodes"
    static let v8 = "v8_rules"
    static let v9 = "v9_event_search"
    static let v10 = "v10_leaner_search_index"
    static let v11 = "v11_search_index_by_column"
    static let v12 = "v12_search_index_in_its_own_file"
    static let v13 = "v13_node_database_server"
    static let v14 = "v14_node_stopped"
    static let v15 = "v15_node_url"
    static let v16 = "v16_event_trace_id"

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(v1) { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY,
                    uid TEXT NOT NULL,
                    ts_ms INTEGER NOT NULL,
                    action_type TEXT NOT NULL,
                    action_id TEXT NOT NULL,
                    user_id TEXT,
                    email TEXT,
                    email_domain TEXT,
                    ip TEXT,
                    user_agent TEXT,
                    verdict TEXT NOT NULL,
                    decided_by TEXT NOT NULL,
                    reason TEXT,
                    error_message TEXT,
                    outcome TEXT NOT NULL,
                    http_status INTEGER,
                    latency_us INTEGER NOT NULL,
                    endpoint_latency_us INTEGER,
                    error_mode TEXT NOT NULL
                );
                -- Windowed stats read only this index (it covers every column they need).
                CREATE INDEX events_by_time ON events(ts_ms, action_type, verdict, outcome, latency_us);
                -- (verdict, rowid): "denied, newest first" walks this backwards and stops at the limit.
                CREATE INDEX events_by_verdict ON events(verdict);

                CREATE TABLE action_settings (
                    action_type TEXT PRIMARY KEY,
                    error_mode TEXT NOT NULL DEFAULT 'fail-closed',
                    endpoint_url TEXT,
                    timeout_ms INTEGER NOT NULL DEFAULT 5000,
                    enabled INTEGER NOT NULL DEFAULT 1,
                    updated_ms INTEGER NOT NULL DEFAULT 0
                );
                INSERT INTO action_settings(action_type) VALUES ('user_registration'), ('authentication');

                CREATE TABLE deny_entries (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    value TEXT NOT NULL,
                    scope TEXT NOT NULL DEFAULT 'all',
                    reason TEXT,
                    message TEXT,
                    created_by TEXT NOT NULL,
                    created_ms INTEGER NOT NULL,
                    expires_ms INTEGER,
                    UNIQUE(kind, value, scope)
                );

                CREATE TABLE login_failures (
                    email TEXT PRIMARY KEY,
                    user_id TEXT,
                    failures INTEGER NOT NULL,
                    window_start_ms INTEGER NOT NULL,
                    locked_until_ms INTEGER,
                    last_ip TEXT,
                    updated_ms INTEGER NOT NULL
                );

                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY,
                    ts_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    ssh_connection TEXT,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    old_value TEXT,
                    new_value TEXT
                );

                -- config_version is bumped by every change a server must pick up, so it can poll one row.
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT INTO meta VALUES ('config_version', 1);
                """)
        }
        migrator.registerMigration(v2) { db in
            try db.execute(sql: """
                -- Endpoint error text and response excerpt, for the dashboard's detail view.
                ALTER TABLE events ADD COLUMN detail TEXT;
                -- Failures-only listing: (failed, rowid) walked backwards.
                ALTER TABLE events ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
                UPDATE events SET failed = (outcome <> 'ok');
                CREATE INDEX events_failed ON events(failed);

                CREATE TABLE circuit_state (
                    action_type TEXT PRIMARY KEY,
                    state TEXT NOT NULL DEFAULT 'closed',
                    consecutive_failures INTEGER NOT NULL DEFAULT 0,
                    opened_ms INTEGER,
                    last_error TEXT,
                    updated_ms INTEGER NOT NULL DEFAULT 0
                );

                -- Each event writer reports here, so another process can see a writer dropping events.
                CREATE TABLE writer_status (
                    pid INTEGER PRIMARY KEY,
                    started_ms INTEGER NOT NULL,
                    updated_ms INTEGER NOT NULL,
                    queued INTEGER NOT NULL,
                    written INTEGER NOT NULL,
                    dropped INTEGER NOT NULL,
                    last_error TEXT
                );
                """)
        }
        migrator.registerMigration(v3) { db in
            try db.execute(sql: """
                -- Only denied and failed rows are ever looked up by verdict or failure, and they are the
                -- minority: partial indexes skip the index write for every allowed, ok row (the writer's
                -- ingest rate rose by about a quarter, 222k to 275k events/s).
                DROP INDEX events_by_verdict;
                CREATE INDEX events_denied ON events(verdict) WHERE verdict = 'Deny';
                DROP INDEX events_failed;
                CREATE INDEX events_failed ON events(failed) WHERE failed = 1;
                """)
        }
        migrator.registerMigration(v4) { db in
            try db.execute(sql: """
                -- The failed logins inside the lockout window, comma-separated Unix ms: the window
                -- slides instead of starting at the first failure.
                ALTER TABLE login_failures ADD COLUMN recent_ms TEXT NOT NULL DEFAULT '';
                """)
        }
        migrator.registerMigration(v5) { db in
            try db.execute(sql: """
                -- From the context, when the identity service sent them, to show and filter on.
                ALTER TABLE events ADD COLUMN auth_method TEXT;
                ALTER TABLE events ADD COLUMN organization_id TEXT;
                ALTER TABLE events ADD COLUMN device_fingerprint TEXT;
                """)
        }
        migrator.registerMigration(v6) { db in
            try db.execute(sql: """
                -- The actions-server node that decided (a cluster shares one log).
                ALTER TABLE events ADD COLUMN node TEXT;
                """)
        }
        migrator.registerMigration(v7) { db in
            try db.execute(sql: Schema.nodesTable)
        }
        migrator.registerMigration(v8) { db in
            try db.execute(sql: Schema.rulesTable("INTEGER PRIMARY KEY"))
            try db.execute(sql: Schema.rulesFromDenyEntries)
            try db.execute(sql: Schema.eventRuleColumns)
        }
        migrator.registerMigration(v9) { db in
            // Search over the whole log: a trigram index of each event's searchable text. It is
            // contentless (the text is in events already) with no positions (detail none), which keeps
            // it small; a search asks for all of the term's trigrams and rechecks the candidates.
            // It is filled behind the log, in large batches (`Store.indexSearch`), not by a trigger:
            // indexing each small commit of the event writer cut its ingest rate to a tenth.
            // `search_indexed_up_to` is the last event id indexed; only those leave it on delete.
            try db.execute(sql: """
                CREATE VIRTUAL TABLE events_search USING fts5(body, content='', tokenize='trigram', detail='none');
                INSERT INTO meta VALUES ('search_indexed_up_to', 0);
                CREATE TRIGGER events_search_delete AFTER DELETE ON events
                WHEN old.id <= (SELECT value FROM meta WHERE key = 'search_indexed_up_to') BEGIN
                    INSERT INTO events_search(events_search, rowid, body) VALUES ('delete', old.id, \(Schema.searchText(row: "old", .sqlite)));
                END;
                """)
        }
        migrator.registerMigration(v10) { db in
            // The same search, cheaper to fill: `actions-bench server --instructions` counted 50k
            // instructions an event to index before, 31k after.
            // - Reasons repeat from event to event but were half the trigrams. Each distinct reason
            //   is kept once (`search_reasons`) with the events that gave it (`search_reason_events`);
            //   a search matches the reasons with LIKE and takes their events.
            // - No per-row size record (columnsize=0): a search never ranks.
            // - The email's domain only where the email does not already hold it.
            // The new text would not delete rows indexed with the old one, so the index is rebuilt
            // behind the log.
            try db.execute(sql: """
                DROP TRIGGER events_search_delete;
                DROP TABLE events_search;
                CREATE VIRTUAL TABLE events_search USING fts5(body, content='', tokenize='trigram', detail='none', columnsize=0);
                CREATE TABLE search_reasons (id INTEGER PRIMARY KEY, reason TEXT NOT NULL UNIQUE);
                CREATE TABLE search_reason_events (
                    reason_id INTEGER NOT NULL,
                    event_id INTEGER NOT NULL,
                    PRIMARY KEY (reason_id, event_id)
                ) WITHOUT ROWID;
                UPDATE meta SET value = 0 WHERE key = 'search_indexed_up_to';
                CREATE TRIGGER events_search_delete AFTER DELETE ON events
                WHEN old.id <= (SELECT value FROM meta WHERE key = 'search_indexed_up_to') BEGIN
                    INSERT INTO events_search(events_search, rowid, body) VALUES ('delete', old.id, \(Schema.searchText(row: "old", .sqlite)));
                    DELETE FROM search_reason_events
                    WHERE reason_id = (SELECT id FROM search_reasons WHERE reason = old.reason) AND event_id = old.id;
                END;
                """)
        }
        migrator.registerMigration(v11) { db in
            // One index column per searched column instead of one joined text: SQLite built the
            // joined text with a new allocation for every `||`. With SQLite's memory statistics off
            // too (`SQLiteBackend.configured`), indexing went from 31,000 to 21,000 instructions an
            // event (callgrind). The index answers the same MATCH over all columns; a term no longer
            // matches across two columns' boundary, which was never a true match anyway.
            // Rebuilt behind the log, reasons included, as v10 was.
            let columns = Schema.indexedSearchColumns.joined(separator: ", ")
            try db.execute(sql: """
                DROP TRIGGER events_search_delete;
                DROP TABLE events_search;
                DELETE FROM search_reason_events;
                DELETE FROM search_reasons;
                CREATE VIRTUAL TABLE events_search USING fts5(\(columns), content='', tokenize='trigram', detail='none', columnsize=0);
                UPDATE meta SET value = 0 WHERE key = 'search_indexed_up_to';
                CREATE TRIGGER events_search_delete AFTER DELETE ON events
                WHEN old.id <= (SELECT value FROM meta WHERE key = 'search_indexed_up_to') BEGIN
                    INSERT INTO events_search(events_search, rowid, \(columns))
                    VALUES ('delete', old.id, \(Schema.searchValues(row: "old")));
                    DELETE FROM search_reason_events
                    WHERE reason_id = (SELECT id FROM search_reasons WHERE reason = old.reason) AND event_id = old.id;
                END;
                """)
        }
        migrator.registerMigration(v12) { db in
            // The search index moves to a file of its own (see SearchIndexFile), so that filling it
            // never holds the lock the event writer needs. It is filled there from the start.
            try db.execute(sql: """
                DROP TRIGGER IF EXISTS main.events_search_delete;
                DROP TABLE IF EXISTS main.events_search;
                DROP TABLE IF EXISTS main.search_reason_events;
                DROP TABLE IF EXISTS main.search_reasons;
                DELETE FROM main.meta WHERE key = 'search_indexed_up_to';
                """)
        }
        migrator.registerMigration(v13) { db in try db.execute(sql: Schema.nodeDatabaseServer) }
        migrator.registerMigration(v14) { db in try db.execute(sql: Schema.nodeStopped) }
        migrator.registerMigration(v15) { db in try db.execute(sql: Schema.nodeURL) }
        migrator.registerMigration(v16) { db in try db.execute(sql: Schema.eventTraceID) }
        return migrator
    }

    /// The server each node writes to, which a failover changes (the same on both backends;
    /// NULL on SQLite).
    static let nodeDatabaseServer = "ALTER TABLE nodes ADD COLUMN database_server TEXT"

    /// When a node shut down cleanly (its last heartbeat), so a stopped node is told apart from
    /// one that went silent (the same on both backends).
    static let nodeStopped = "ALTER TABLE nodes ADD COLUMN stopped_ms BIGINT"

    /// Where each node listens, so `actionsctl test` finds a live server (both backends).
    static let nodeURL = "ALTER TABLE nodes ADD COLUMN url TEXT"

    /// The W3C trace a decision belonged to (both backends). No index: `--trace` is a rare
    /// lookup; with a time bound it reads that stretch only.
    static let eventTraceID = "ALTER TABLE events ADD COLUMN trace_id TEXT"

    /// Heartbeats: one row per actions-server node (the same statement on both backends).
    static let nodesTable = """
        CREATE TABLE nodes (
            name TEXT PRIMARY KEY,
            version TEXT NOT NULL,
            started_ms BIGINT NOT NULL,
            updated_ms BIGINT NOT NULL,
            decisions BIGINT NOT NULL,
            -- decisions per second over the last heartbeat interval, in thousandths
            decisions_mps BIGINT NOT NULL,
            queued BIGINT NOT NULL,
            dropped BIGINT NOT NULL,
            circuits TEXT NOT NULL DEFAULT ''
        )
        """

    /// Deny and allow entries and rate rules in one table, so that they share one id sequence
    /// (`rule promote ID`, an event's rule id). `source` is '' for entries added by hand, so that
    /// the unique key treats them as one source (NULLs would never conflict).
    static func rulesTable(_ idColumn: String) -> String {
        """
        CREATE TABLE rules (
            id \(idColumn),
            effect TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            scope TEXT NOT NULL DEFAULT 'all',
            reason TEXT,
            message TEXT,
            shadow BIGINT NOT NULL DEFAULT 0,
            source TEXT NOT NULL DEFAULT '',
            rate_limit BIGINT,
            window_ms BIGINT,
            created_by TEXT NOT NULL,
            created_ms BIGINT NOT NULL,
            expires_ms BIGINT,
            UNIQUE(effect, kind, value, scope, source)
        )
        """
    }

    /// Existing deny entries keep their ids.
    static let rulesFromDenyEntries = """
        INSERT INTO rules(id, effect, kind, value, scope, reason, message, created_by, created_ms, expires_ms)
            SELECT id, 'deny', kind, value, scope, reason, message, created_by, created_ms, expires_ms FROM deny_entries;
        DROP TABLE deny_entries
        """

    /// The rule that decided, the shadow rule that would have changed the verdict, and test decisions.
    static let eventRuleColumns = """
        ALTER TABLE events ADD COLUMN rule_id BIGINT;
        ALTER TABLE events ADD COLUMN shadow_rule_id BIGINT;
        ALTER TABLE events ADD COLUMN is_test BIGINT NOT NULL DEFAULT 0;
        -- A rule's decisions and shadow hits: only events a rule decided or hit are indexed.
        CREATE INDEX events_rule ON events(rule_id) WHERE rule_id IS NOT NULL;
        CREATE INDEX events_shadow ON events(shadow_rule_id) WHERE shadow_rule_id IS NOT NULL
        """

    /// What a search looks in, as one text: the same columns the per-column search checks.
    static let searchColumns = ["email", "email_domain", "ip", "reason", "auth_method", "organization_id", "device_fingerprint"]

    /// The indexed text. The domain is left out where the email already holds it (it is derived
    /// from the email, and the trigram index ignores ASCII case): it differs only for a domain
    /// normalization changed, such as punycode for an internationalized one. On SQLite the reason
    /// is indexed on its own, once per distinct reason (see v10).
    static func searchText(row: String?, _ dialect: SQLDialect) -> String {
        let prefix = row.map { $0 + "." } ?? ""
        return dialect.searchDocumentColumns.map { column in
            column == "email_domain"
                ? "CASE WHEN \(dialect.position)(lower(coalesce(\(prefix)email, '')), \(prefix)email_domain) > 0 THEN '' ELSE coalesce(\(prefix)email_domain, '') END"
                : "coalesce(\(prefix)\(column), '')"
        }.joined(separator: " || ' ' || ")
    }

    /// SQLite's index columns (v11, in SearchIndexFile since v12): the searched columns but the
    /// reason (kept apart, see v10).
    static let indexedSearchColumns = searchColumns.filter { $0 != "reason" }

    /// Their values for the events row `row` (or the row in scope); a NULL adds nothing. The domain
    /// only where the email does not hold it, as in `searchText`, but compared without lowering
    /// the email (an allocation per event): a capitalized address has its domain indexed twice, harmlessly.
    static func searchValues(row: String?) -> String {
        let prefix = row.map { $0 + "." } ?? ""
        return indexedSearchColumns.map { column in
            column == "email_domain"
                ? "CASE WHEN instr(\(prefix)email, \(prefix)email_domain) > 0 THEN NULL ELSE \(prefix)email_domain END"
                : prefix + column
        }.joined(separator: ", ")
    }

    static let known = [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16]
}
