import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

/// What only the PostgreSQL backend has to prove: URLs as libpq users write them, migrations
/// that nodes starting together do not race, a newer schema detected, and a tail that cannot
/// skip rows when several nodes commit at once.
@Suite(.serialized) struct PostgresStoreTests {
    @Test func urlsAreReadAsLibpqUsersWriteThem() throws {
        let full = try PostgresLocation(url: "postgresql://app:s%40cret@db.internal:6543/actions?sslmode=verify-full", environment: [:])
        #expect(full.hosts == [.init(name: "db.internal", port: 6543)] && full.user == "app" && full.password == "s@cret")
        #expect(full.database == "actions" && full.sslMode == .verifyFull)
        #expect(!full.redacted.contains("cret"))
        let fromEnvironment = try PostgresLocation(url: "postgres://app@db/actions", environment: ["PGPASSWORD": "from-env"])
        #expect(fromEnvironment.password == "from-env" && fromEnvironment.hosts.map(\.port) == [5432] && fromEnvironment.sslMode == .prefer)
        #expect(fromEnvironment.targetSessionAttrs == .any)
        // libpq's multi-host form, with target_session_attrs (or PGTARGETSESSIONATTRS).
        let cluster = try PostgresLocation(url: "postgres://app:pw@pg1:5432,pg2,[::1]:6000/actions?target_session_attrs=read-write", environment: [:])
        #expect(cluster.hosts.map(\.description) == ["pg1:5432", "pg2:5432", "[::1]:6000"])
        #expect(cluster.hosts.last?.name == "::1", "the resolver is given the address without its brackets")
        #expect(cluster.user == "app" && cluster.password == "pw" && cluster.database == "actions" && cluster.targetSessionAttrs == .readWrite)
        #expect(cluster.redacted == "postgres://app@pg1:5432,pg2:5432,[::1]:6000/actions?target_session_attrs=read-write")
        for attrs in PostgresLocation.TargetSessionAttrs.allCases {
            #expect(try PostgresLocation(url: "postgres://a@h1,h2/d", environment: ["PGTARGETSESSIONATTRS": attrs.rawValue]).targetSessionAttrs == attrs)
        }
        for bad in ["postgres://a@h1,,h2/d", "postgres://a@h1,/d", "postgres://a@,h1/d", "postgres://a@h1:0,h2/d", "postgres://a@h1,h2:99999/d",
                    "postgres://a@h1/d?target_session_attrs=readwrite",
                    "postgres://a@" + (0...16).map { "h\($0)" }.joined(separator: ",") + "/d"] {
            #expect(throws: StoreError.self, "\(bad)") { try PostgresLocation(url: bad, environment: [:]) }
        }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres://db/x?sslmode=sometimes", environment: [:]) }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres:///nohost", environment: [:]) }
        do {
            _ = try PostgresLocation(url: "postgres://u:topsecret@/x", environment: [:])
            Issue.record("a URL without a host was accepted")
        } catch {
            #expect(!"\(error)".contains("topsecret"), "the password leaked into the error: \(error)")
        }
    }

    @Test func unreachableServersAndBadCredentialsFailFastWithTheReason() throws {
        let base = try TestPostgres.url()
        var components = try #require(URLComponents(string: base))
        components.user = "nobody_here"
        let start = Date()
        #expect {
            try Store(path: components.string!, create: false)
        } throws: { error in
            "\(error)".contains("nobody_here") && "\(error)".contains("28000")
        }
        components = try #require(URLComponents(string: base))
        components.port = 1
        #expect {
            try Store(path: components.string!, create: false)
        } throws: { error in
            "\(error)".contains("unreachable")
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func nodesStartingTogetherDoNotRaceTheirMigrations() async throws {
        let url = try TestPostgres.newDatabase()
        let opened = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 {
                group.addTask { (try? await Store.open(path: url)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(opened == 6)
        #expect(try await BlockingWork.run { try Store(path: url).unknownMigrations().isEmpty })
    }

    /// pg3 moves deny entries into the rules table, keeping their ids; the id sequence moves past them.
    @Test func upgradesDenyEntriesIntoRulesKeepingTheirIds() throws {
        let url = try TestPostgres.newDatabase()
        var script = "CREATE TABLE schema_migrations (identifier TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL);\n"
        for (identifier, sql) in PostgresSchema.migrations.prefix(while: { $0.0 != "pg3_rules" }) {
            script += sql + ";\nINSERT INTO schema_migrations VALUES ('\(identifier)', 0);\n"
        }
        script += """
            INSERT INTO deny_entries(id, kind, value, scope, reason, created_by, created_ms) VALUES
                (7, 'domain', 'mailinator.com', 'all', 'disposable', 'ops', 5), (9, 'ip', '203.0.113.0/24', 'all', NULL, 'ops', 6);
            """
        let old = TestPostgres.command("/usr/bin/psql", [url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", script])
        #expect(old.status == 0, "\(old.output)")
        let store = try Store(path: url)
        let entries = try store.listEntries(.deny)
        #expect(entries.map(\.id) == [7, 9] && entries[0].reason == "disposable")
        let next = try store.addListEntry(ListEntry(effect: .allow, kind: .domain, value: "mailinator.com"), by: Operator(user: "t"))
        #expect(next.id == 10)
    }

    @Test func aSchemaNewerThanThisBinaryIsRefused() throws {
        let url = try TestPostgres.newDatabase()
        _ = try Store(path: url)
        let added = TestPostgres.command("/usr/bin/psql", [url, "-qAt", "-c", "INSERT INTO schema_migrations VALUES ('pg9_from_the_future', 0)"])
        #expect(added.status == 0, "\(added.output)")
        #expect(throws: StoreError.schemaTooNew(path: try PostgresLocation(url: url).redacted, unknown: ["pg9_from_the_future"])) {
            try Store(path: url)
        }
    }

    /// Four writers (as four nodes would) commit batches at once while a reader tails with
    /// `id > last seen`. Ids are handed out in commit order, so the tail sees every row, once.
    /// A trigger holds each insert up to 20 ms between taking its ids and committing, which is
    /// where another writer's higher ids could otherwise become visible first (without the
    /// store's ordering lock this test loses rows).
    @Test func aTailNeverSkipsRowsThatConcurrentWritersCommitted() async throws {
        let url = try TestPostgres.newDatabase()
        let writers = 4, batches = 40, perBatch = 25
        let stores = try (0..<writers).map { _ in try Store(path: url, access: .pool) }
        let slow = TestPostgres.command("/usr/bin/psql", [url, "-qAt", "-c", """
            CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN PERFORM pg_sleep(random() * 0.02); RETURN NULL; END $$;
            CREATE TRIGGER hold_commit AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION hold_commit();
            """])
        #expect(slow.status == 0, "\(slow.output)")
        let tailer = try await Store.open(path: url)
        // A thread per writer: blocking store calls, truly concurrent (as separate nodes are).
        let done = DispatchGroup()
        for (w, store) in stores.enumerated() {
            done.enter()
            Thread.detachNewThread {
                for b in 0..<batches {
                    let events = (0..<perBatch).map { sampleEvent(w * 100_000 + b * 1000 + $0) }
                    try? store.insert(events)
                }
                done.leave()
            }
        }
        var seen: [Int64] = []
        var lastID: Int64 = 0
        let total = writers * batches * perBatch
        let deadline = Date().addingTimeInterval(60)
        // Tail until the writers are done (then once more for what they committed last).
        while done.wait(timeout: .now()) == .timedOut && Date() < deadline {
            let fresh = try await BlockingWork.run { [lastID] in try tailer.events(after: lastID, limit: 10_000) }
            if let last = fresh.last?.id { lastID = last }
            seen += fresh.compactMap(\.id)
            if fresh.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
        }
        try await BlockingWork.run { done.wait() }
        seen += try await BlockingWork.run { [lastID] in try tailer.events(after: lastID, limit: 100_000).compactMap(\.id) }
        #expect(try await BlockingWork.run { try tailer.eventCount() } == total)
        #expect(seen.count == total, "the tail saw \(seen.count) of \(total) rows")
        #expect(Set(seen).count == seen.count)
    }
}
