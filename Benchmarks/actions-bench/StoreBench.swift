import ArgumentParser
import ActionsProtocol
import ActionsDomain
import ActionsStore
import Foundation
import GRDB

/// Ingest through the group-commit writer into a file-backed WAL database, and the dashboard's
/// queries on a 10-million-row log.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store", abstract: "Event ingest rate and query times on 10M rows.")

    @Option(help: "Events to ingest.") var ingest = 1_000_000
    @Option(help: "Rows in the large database.") var rows = 10_000_000
    @Option(help: "Where to keep the large database between runs.") var bigDB = "/tmp/actions-bench-10m.db"
    @Flag(help: "Measure ingest only.") var ingestOnly = false
    @Option(help: "A PostgreSQL database (postgres://...) to ingest into as well, beside SQLite.") var postgres: String?

    func run() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("actions-bench-ingest-\(getpid()).db").path
        try await withScratchLog(path) {
            section("store: ingest through EventWriter (SQLite: WAL, synchronous=NORMAL, file-backed)")
            let sqlite = try await ingestRate(into: path)
            try indexRate(path, ingestRate: sqlite)
            if let postgres {
                section("store: ingest through EventWriter into PostgreSQL (COPY, commits in id order)")
                let rate = try await ingestRate(into: postgres)
                report(String(format: "PostgreSQL ingest: %.0f events/s, %.0f %% of SQLite's in this run", rate, rate / sqlite * 100))
                try indexRate(postgres, ingestRate: rate)
            }
            if !ingestOnly { try queries() }
        }
    }

    /// The search index's cost on ingest: it is filled behind the writer, in batches of 50,000 (as
    /// the server's SearchIndexer does every second); this is the work that adds per event.
    func indexRate(_ location: String, ingestRate: Double) throws {
        let store = try Store(path: location)
        let start = DispatchTime.now().uptimeNanoseconds
        var indexed = 0
        while case let count = try store.indexSearch(), count > 0 { indexed += count }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        report(String(format: "search index: %d events indexed in %.2f s: %.1f µs per event, %.0f events/s (%.0f %% of the ingest rate)",
                      indexed, seconds, seconds / Double(max(indexed, 1)) * 1e6, Double(indexed) / seconds,
                      Double(indexed) / seconds / ingestRate * 100))
        store.close()
    }

    /// Events per second through the writer into `location`; rows are counted after.
    func ingestRate(into location: String) async throws -> Double {
        let store = try await Store.open(path: location, access: .pool)
        let before = try await BlockingWork.run { try store.eventCount() }
        let writer = EventWriter(store: store, capacity: ingest + 1)
        _ = Task { await writer.run() }
        let now = WallClock.nowMs()
        let events = (0..<ingest).map { sampleEvent($0, timeMs: now + Int64($0 / 100)) }
        let start = DispatchTime.now().uptimeNanoseconds
        // Two producers, as two request threads would be.
        await withTaskGroup(of: Void.self) { group in
            for half in 0..<2 {
                group.addTask {
                    for i in stride(from: half, to: events.count, by: 2) { writer.submit(events[i]) }
                }
            }
        }
        // Drain before closing: close() gives a stuck database only a few seconds of grace.
        while writer.stats.queued > 0 { try await Task.sleep(for: .milliseconds(5)) }
        await writer.close()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let count = try await BlockingWork.run { try store.eventCount() } - before
        report(String(format: "ingested %d events in %.2f s: %.0f events/s (rows counted: %d, dropped: %d)",
                     ingest, seconds, Double(ingest) / seconds, count, writer.stats.dropped))
        if let error = writer.stats.lastError { report("last write error: \(error)") }
        store.close()
        return Double(ingest) / seconds
    }

    func queries() throws {
        section("store: queries on a \(rows)-row database")
        let store = try bigDatabase()
        let now = try DatabaseQueue(path: bigDB).read { try Int64.fetchOne($0, sql: "SELECT max(ts_ms) FROM events") ?? 0 }
        let maxID = try store.maxEventID()
        var tail: [Double] = [], newest: [Double] = [], denied: [Double] = [], failures: [Double] = [], stats: [Double] = []
        for i in 0..<30 {
            tail.append(try milliseconds { _ = try store.events(after: maxID - 200 - Int64(i), limit: 1000) })
            newest.append(try milliseconds { _ = try store.latestEvents(limit: 100) })
            denied.append(try milliseconds {
                _ = try store.latestEvents(EventFilter(deniedOnly: true, sinceMs: now - 3_600_000), limit: 100)
            })
            failures.append(try milliseconds { _ = try store.latestEvents(EventFilter(failuresOnly: true), limit: 100) })
            stats.append(try milliseconds { _ = try store.stats(windowMs: 60_000, nowMs: now) })
        }
        report("tail (events after id, up to 1000): \(Summary(values: tail))")
        report("newest 100:                         \(Summary(values: newest))")
        report("denied in the last hour (100):      \(Summary(values: denied))")
        report("failures only (100):                \(Summary(values: failures))")
        report("stats over the last minute:         \(Summary(values: stats))")
        let plan = try DatabaseQueue(path: bigDB).read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM events WHERE verdict = 'Deny' AND id >= 1 AND ts_ms >= 0 ORDER BY id DESC LIMIT 100")
                .map { $0["detail"] as String? ?? "" }
        }
        report("plan for denied-in-the-last-hour: \(plan.joined(separator: "; "))")
    }

    func bigDatabase() throws -> Store { try buildBigDatabase(path: bigDB, rows: rows) }
}

/// Builds (once, then reuses) a database of `rows` events over the last 10 days: 10 % denied, 2 % failures.
func buildBigDatabase(path bigDB: String, rows: Int) throws -> Store {
    if FileManager.default.fileExists(atPath: bigDB), let store = try? Store(path: bigDB), (try? store.maxEventID()) ?? 0 >= rows {
        report("reusing \(bigDB)")
        return store
    }
    Store.removeSQLiteLog(at: bigDB)
    let store = try Store(path: bigDB)
    let now = WallClock.nowMs()
    let spacing = max(1, 864_000_000 / Int64(rows)) // ten days
    let start = now - spacing * Int64(rows)
    let chunk = 1_000_000
    // Filled in SQL through GRDB of its own: the store's connection is not for that.
    let file = try DatabaseQueue(path: bigDB)
    let seconds = try milliseconds {
        for offset in stride(from: 0, to: rows, by: chunk) {
            try file.write { db in
                try db.execute(sql: """
                    WITH RECURSIVE seq(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
                    INSERT INTO events (uid, ts_ms, action_type, action_id, user_id, email, email_domain, ip, user_agent,
                        verdict, decided_by, reason, outcome, latency_us, endpoint_latency_us, error_mode, failed)
                    SELECT 'evt_' || n, ? + n * ?, CASE n % 2 WHEN 0 THEN 'authentication' ELSE 'user_registration' END,
                        'act_' || n, 'user_' || (n % 50000),
                        'user' || (n % 50000) || '@' || CASE n % 10 WHEN 0 THEN 'mailinator.com' ELSE 'example.com' END,
                        CASE n % 10 WHEN 0 THEN 'mailinator.com' ELSE 'example.com' END,
                        '198.51.100.' || (n % 250), 'Mozilla/5.0',
                        CASE n % 10 WHEN 0 THEN 'Deny' ELSE 'Allow' END,
                        CASE n % 10 WHEN 0 THEN 'policy' ELSE 'endpoint' END,
                        CASE n % 10 WHEN 0 THEN 'deny-list domain mailinator.com' ELSE 'endpoint Allow' END,
                        CASE n % 50 WHEN 7 THEN 'timeout' ELSE 'ok' END,
                        1000 + (n * 7919) % 40000, 800 + (n * 7919) % 40000, 'fail-closed',
                        CASE n % 50 WHEN 7 THEN 1 ELSE 0 END
                    FROM seq
                    """, arguments: [offset + 1, min(offset + chunk, rows), start, spacing])
            }
            report("  built \(min(offset + chunk, rows)) rows")
        }
        store.checkpoint()
    } / 1000
    report(String(format: "built %d rows in %.1f s", rows, seconds))
    return store
}

/// A realistic event: 10 % denied by policy, 2 % endpoint timeouts.
func sampleEvent(_ i: Int, timeMs: Int64) -> Event {
    let deny = i % 10 == 0
    let type: ActionType = i % 2 == 0 ? .authentication : .userRegistration
    let outcome: Outcome = i % 50 == 0 ? .timeout : .ok
    // Ids and reasons as the engine writes them: row size drives the cost of an insert.
    return Event(uid: Event.newUID(nowMs: timeMs), timeMs: timeMs, actionType: type,
                 actionId: Event.newID(prefix: "act_", nowMs: timeMs), userId: "user_\(i % 5000)",
                 email: "user\(i % 5000)@example.com", emailDomain: "example.com", ip: "198.51.100.\(i % 250)",
                 userAgent: "Mozilla/5.0", verdict: deny ? .deny : .allow, decidedBy: deny ? .policy : .endpoint,
                 reason: deny ? "deny-list domain mailinator.com" : "endpoint Allow", outcome: outcome, latencyUs: Int64(1000 + i % 5000), errorMode: .failClosed)
}
