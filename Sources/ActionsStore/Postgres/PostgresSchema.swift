import ActionsDomain
import Foundation
import ActionsProtocol

/// The PostgreSQL schema, versioned like SQLite's: each identifier is applied once, in order,
/// recorded in `schema_migrations`; identifiers this binary does not know mean a newer binary
/// wrote the database. Nodes starting at the same moment take an advisory lock, so one migrates
/// and the others find the work done.
enum PostgresSchema {
    /// The channel `NOTIFY` announces policy changes on (see `Store.bumpConfigVersion`).
    static let configChannel = "actions_config"
    /// Advisory lock keys: migrations, and the event log's commit order.
    static let migrationLock: Int64 = 0x4143_5449_4f4e_5301
    static let eventOrderLock: Int64 = 0x4143_5449_4f4e_5302

    static let migrations: [(String, String)] = [
        ("pg1_initial", """
            CREATE TABLE events (
                id BIGSERIAL PRIMARY KEY,
                uid TEXT NOT NULL,
                ts_ms BIGINT NOT NULL,
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
                http_status BIGINT,
                latency_us BIGINT NOT NULL,
                endpoint_latency_us BIGINT,
                error_mode TEXT NOT NULL,
                detail TEXT,
                failed BIGINT NOT NULL DEFAULT 0,
                auth_method TEXT,
                organization_id TEXT,
                device_fingerprint TEXT,
                node TEXT
            );
            -- Windowed stats read only this index (index-only scans).
            CREATE INDEX events_by_time ON events(ts_ms) INCLUDE (action_type, verdict, outcome, latency_us);
            -- "Denied, newest first" and "failures, newest first" walk these backwards.
            CREATE INDEX events_denied ON events(id) WHERE verdict = 'Deny';
            CREATE INDEX events_failed ON events(id) WHERE failed = 1;

            CREATE TABLE action_settings (
                action_type TEXT PRIMARY KEY,
                error_mode TEXT NOT NULL DEFAULT 'fail-closed',
                endpoint_url TEXT,
                timeout_ms BIGINT NOT NULL DEFAULT 5000,
                enabled BIGINT NOT NULL DEFAULT 1,
                updated_ms BIGINT NOT NULL DEFAULT 0
            );
            INSERT INTO action_settings(action_type) VALUES ('user_registration'), ('authentication');

            CREATE TABLE deny_entries (
                id BIGSERIAL PRIMARY KEY,
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                scope TEXT NOT NULL DEFAULT 'all',
                reason TEXT,
                message TEXT,
                created_by TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                expires_ms BIGINT,
                UNIQUE(kind, value, scope)
            );

            CREATE TABLE login_failures (
                email TEXT PRIMARY KEY,
                user_id TEXT,
                failures BIGINT NOT NULL,
                window_start_ms BIGINT NOT NULL,
                locked_until_ms BIGINT,
                last_ip TEXT,
                updated_ms BIGINT NOT NULL,
                recent_ms TEXT NOT NULL DEFAULT ''
            );

            CREATE TABLE audit_log (
                id BIGSERIAL PRIMARY KEY,
                ts_ms BIGINT NOT NULL,
                actor TEXT NOT NULL,
                ssh_connection TEXT,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                old_value TEXT,
                new_value TEXT
            );

            CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
            INSERT INTO meta VALUES ('config_version', 1);

            CREATE TABLE circuit_state (
                action_type TEXT PRIMARY KEY,
                state TEXT NOT NULL DEFAULT 'closed',
                consecutive_failures BIGINT NOT NULL DEFAULT 0,
                opened_ms BIGINT,
                last_error TEXT,
                updated_ms BIGINT NOT NULL DEFAULT 0
            );

            CREATE TABLE writer_status (
                pid BIGINT PRIMARY KEY,
                started_ms BIGINT NOT NULL,
                updated_ms BIGINT NOT NULL,
                queued BIGINT NOT NULL,
                written BIGINT NOT NULL,
                dropped BIGINT NOT NULL,
                last_error TEXT
            );
            """),
        ("pg2_nodes", Schema.nodesTable),
        ("pg3_rules", [Schema.rulesTable("BIGSERIAL PRIMARY KEY"), Schema.rulesFromDenyEntries,
                       // The copied ids were given explicitly: move the sequence past them.
                       "SELECT setval(pg_get_serial_sequence('rules', 'id'), coalesce((SELECT max(id) FROM rules), 0) + 1, false)",
                       Schema.eventRuleColumns].joined(separator: ";\n")),
        // Search over the whole log: the searchable text in a table of its own with a trigram GIN
        // index (ILIKE uses it), filled behind the log like SQLite's (`Store.indexSearch`): a GIN
        // index on events itself cut ingest to about a third. pg_trgm is a trusted extension
        // (PostgreSQL 13 and later): the database's owner may create it.
        ("pg4_event_search", """
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE TABLE events_search (id BIGINT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE, body TEXT NOT NULL);
            CREATE INDEX events_search_body ON events_search USING gin (body gin_trgm_ops);
            INSERT INTO meta VALUES ('search_indexed_up_to', 0)
            """),
        // Searches fold case as the dashboard does (`EventFilter.foldCase`): lower()
        // under ICU's root collation, whatever the database's own, which under `C` folds ASCII
        // alone (pg_trgm's trigrams too, so `élodie` missed `ÉLODIE`). Where PostgreSQL was built
        // without ICU, the database's collation. ICU needs a UTF8 database; so does the final
        // sigma (chr(962), not a literal, which a LATIN1 database could not even parse). The index is on the folded text, and queries
        // compare `actions_lower(column)` (SQL functions this simple are inlined: the planner
        // matches the index's expression).
        ("pg5_search_fold", """
            DO $$ BEGIN IF getdatabaseencoding() = 'UTF8' AND EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN EXECUTE 'CREATE FUNCTION actions_lower(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT translate(lower($1 COLLATE "und-x-icu"), chr(962), chr(963)) $f$'; ELSIF getdatabaseencoding() = 'UTF8' THEN EXECUTE 'CREATE FUNCTION actions_lower(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT translate(lower($1), chr(962), chr(963)) $f$'; ELSE EXECUTE 'CREATE FUNCTION actions_lower(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT lower($1) $f$'; END IF; END $$;
            CREATE INDEX events_search_folded ON events_search USING gin (actions_lower(body) gin_trgm_ops);
            DROP INDEX events_search_body
            """),
        ("pg6_node_database_server", Schema.nodeDatabaseServer),
        ("pg7_node_stopped", Schema.nodeStopped),
        ("pg8_node_url", Schema.nodeURL),
        ("pg9_event_trace_id", Schema.eventTraceID),
    ]

    static var known: [String] { migrations.map(\.0) }

    /// A migration's statements (they end with `;` at the end of a line; none has one inside).
    static func statements(_ sql: String) -> [String] {
        sql.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { statement in
                statement.split(separator: "\n").contains { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") && !$0.isEmpty }
            }
    }

    static func migrate(_ database: PostgresDatabase, readOnly: Bool) throws(StoreError) {
        // Up to date (every start but an upgrade's): nothing to write, so nothing to lock, and
        // asked where the store reads. A standby then opens as any server does, and a dashboard
        // on prefer-standby opens while no primary answers.
        let current = try applied(database)
        if readOnly || Set(known).isSubset(of: current) {
            try check(applied: current, database: database, readOnly: readOnly)
            return
        }
        try database.withConnection(forWrite: true) { session in
            // A migration may build an index over the whole log (pg5), and nodes starting together
            // wait for the one migrating (pg_advisory_lock, which lock_timeout bounds too): neither
            // the server's timeouts nor the store's 5 s wait may end that. A day bounds a server
            // that never answers.
            var session = session
            session.waitMs = 86_400_000
            try session.execute("SET statement_timeout = 0")
            try session.execute("SET lock_timeout = 0")
            defer {
                _ = try? session.execute("RESET statement_timeout")
                _ = try? session.execute("RESET lock_timeout")
            }
            // Session-level lock: held across the migrations' own transactions, released below.
            _ = try session.execute("SELECT pg_advisory_lock(?)", [migrationLock])
            defer { _ = try? session.execute("SELECT pg_advisory_unlock(?)", [migrationLock]) }
            try session.execute("CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)")
            let done = try applied(session)
            try check(applied: done, database: database, readOnly: false)
            for (identifier, sql) in migrations where !done.contains(identifier) {
                try session.execute("BEGIN")
                do {
                    // One statement at a time: the extended protocol takes one per query.
                    for statement in statements(sql) { try session.execute(statement) }
                    _ = try session.execute("INSERT INTO schema_migrations VALUES (?, ?)", [identifier, WallClock.nowMs()])
                    try session.execute("COMMIT")
                } catch {
                    _ = try? session.execute("ROLLBACK")
                    throw error
                }
            }
        }
    }

    private static func check(applied: Set<String>, database: PostgresDatabase, readOnly: Bool) throws(StoreError) {
        let unknown = applied.subtracting(known).sorted()
        if !unknown.isEmpty { throw .schemaTooNew(path: database.location.redacted, unknown: unknown) }
        let missing = known.filter { !applied.contains($0) }
        if readOnly && !missing.isEmpty { throw .schemaTooOld(path: database.location.redacted, missing: missing) }
    }

    static func applied(_ database: PostgresDatabase) throws(StoreError) -> Set<String> {
        try database.withConnection { session in try applied(session) }
    }

    private static func applied(_ session: PostgresSession) throws -> Set<String> {
        let exists = try session.int64("SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations' AND schemaname = current_schema()") ?? 0
        guard exists > 0 else { return [] }
        return Set(try session.rows("SELECT identifier FROM schema_migrations").map { $0.string(0) })
    }
}
