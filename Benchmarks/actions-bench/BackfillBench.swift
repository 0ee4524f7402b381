import ArgumentParser
import ActionsDomain
import ActionsStore
import Foundation
import GRDB

/// Filling a fresh search index over an existing log (SQLite): the indexer's rate in batches of
/// each size, beside the rate at which the same rows and columns are only read, which bounds it.
struct BackfillBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "backfill", abstract: "Search index backfill rate over an existing log.")

    @Option(help: "A SQLite log (its -search file is emptied first: keep a copy if it matters).") var db = "/tmp/actions-bench-100m.db"
    @Option(help: "Events to index per batch size.") var events = 2_000_000
    @Option(parsing: .upToNextOption, help: "Batch sizes to compare.") var batches = [20_000, 200_000]
    @Option(help: "Events already in the index before each timed round (its segments' merging grows with it).") var preload = 0
    @Option(help: "FTS5 automerge for the fresh index (SQLite's default is 4; crisismerge stays at its default, 16).") var automerge: Int?

    func run() throws {
        section("backfill: a fresh search index over \(db), \(events) events per batch size")
        let columns = ["uid", "action_id", "user_id", "email", "email_domain", "ip", "user_agent", "node", "reason", "trace_id"]
        var start: Int64 = 0
        for batch in batches {
            // A fresh index each time, over rows not read by the previous round (a cold cache for each).
            try? FileManager.default.removeItem(atPath: db + "-search")
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + "-search" + suffix) }
            let store = try Store(path: db)
            let file = try DatabaseQueue(path: db)
            if let automerge {
                try DatabaseQueue(path: db + "-search").write { db in
                    try db.execute(sql: "INSERT INTO events_search(events_search, rank) VALUES ('automerge', ?)", arguments: [automerge])
                }
            }
            start = max(start, Int64(preload))
            let readMs = try milliseconds {
                _ = try file.read { db in
                    try Int.fetchOne(db, sql: "SELECT sum(\(columns.map { "coalesce(length(\($0)), 0)" }.joined(separator: " + "))) FROM events WHERE id > ? AND id <= ?",
                                     arguments: [start + Int64(events), start + 2 * Int64(events)])
                }
            }
            // The index starts at the log's beginning: `start` events go in first, so the window
            // after them reads rows the read above did not warm. Both are timed: merges come in
            // lumps, so a short window alone can miss or catch one. The slowest batch holds the
            // index's write lock longest (retention's cleanup waits on it).
            func fill(_ target: Int) throws -> (indexed: Int, ms: Double, slowestMs: Double) {
                var indexed = 0
                var slowestMs = 0.0
                let ms = try milliseconds {
                    while indexed < target {
                        var count = 0
                        slowestMs = max(slowestMs, try milliseconds { count = try store.indexSearch(batch: batch) })
                        if count == 0 { break }
                        indexed += count
                    }
                }
                return (indexed, ms, slowestMs)
            }
            let first = try fill(Int(start))
            if first.indexed > 0 {
                report(String(format: "  first %d events into the empty index: %.1f s = %.0f events/s, slowest batch %.0f ms",
                              first.indexed, first.ms / 1000, Double(first.indexed) / first.ms * 1000, first.slowestMs))
            }
            let (timed, indexMs, _) = try fill(events)
            // What the merging saved or deferred: trigram queries over the index as it was left.
            let search = try DatabaseQueue(path: db + "-search")
            let segments = try search.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events_search_data WHERE id > 10") ?? 0 }
            let queries = try ["user1234@", "act_777", "evt_12345", "mailinator", "user_4999"].map { term in
                try milliseconds { _ = try search.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT rowid FROM events_search WHERE events_search MATCH ? LIMIT 1000)", arguments: [EventFilter.trigramQuery(term)]) } }
            }
            report("  index left with \(segments) data pages; 5 trigram queries over it: \(Summary(values: queries))")
            report(String(format: "batch %7d: %d events indexed in %.2f s = %.0f events/s; the same columns of %d other rows read in %.2f s = %.0f rows/s (indexing %.1f× the read)",
                          batch, timed, indexMs / 1000, Double(timed) / indexMs * 1000, events, readMs / 1000,
                          Double(events) / readMs * 1000, indexMs / readMs))
            start += 2 * Int64(events)
        }
        try? FileManager.default.removeItem(atPath: db + "-search")
        report("the index file was removed; the next store to open the log makes it again, empty")
    }
}
