import ActionsDomain
import Foundation
import GRDB
import ActionsProtocol

/// A SQLite store's search index, in a file of its own beside the log: `<log>-search`.
///
/// Why its own file: SQLite has one write lock per file. With the index in the log's file, each
/// batch the indexer wrote (every second under load: 20,000 events or more, a few hundred
/// milliseconds) held the lock the event writer needs, and in durable mode every answer waited
/// behind it: p99 73–98 ms at 128 connections, against 10–16 ms since. Here the indexer takes
/// only this file's lock and reads the log as any reader does, beside the writer.
///
/// The file holds nothing the log does not: a missing or deleted one is made again and filled
/// behind the log, and one of another `format` is emptied and filled again. The store's own
/// connections attach it read-only (schema `search`), so their write transactions, which lock
/// every attached file they may write (BEGIN IMMEDIATE), never take its lock.
final class SearchIndexFile: Sendable {
    /// Bumped when the tables below change; a file of another format is rebuilt.
    static let format: Int64 = 1

    let path: String
    /// This file as `main`, the log attached read-only as `log`: a transaction here locks only
    /// this file.
    private let queue: DatabaseQueue

    static func path(forLog logPath: String) -> String { logPath + "-search" }

    /// `file:` URI that opens `path` read-only (ATTACH takes a URI; SQLite is built with USE_URI,
    /// and `SQLiteBackend.configured` turns URIs on where it is not). `?`, `#` and `%` would end or
    /// change the path, so they are escaped.
    static func readOnlyURI(_ path: String) -> String {
        var escaped = ""
        for character in path.unicodeScalars {
            switch character {
            case "%": escaped += "%25"
            case "?": escaped += "%3f"
            case "#": escaped += "%23"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return "file:" + escaped + "?mode=ro"
    }

    /// Opens (and makes, with `fileMode`) the index of the log at `logPath`, which must exist.
    init(logPath: String, busyTimeout: TimeInterval, fileMode: mode_t) throws(StoreError) {
        path = Self.path(forLog: logPath)
        if !FileManager.default.fileExists(atPath: path) { try SQLiteFile.create(path, mode: fileMode, like: logPath) }
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.label = "actions-search"
        let logURI = Self.readOnlyURI(logPath)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA main.journal_size_limit = 67108864")
            try db.execute(sql: "ATTACH DATABASE ? AS log", arguments: [logURI])
        }
        // Several processes may open a new index at once; each refusal means another made progress.
        let deadlineNs = MonotonicClock.nowNs() + UInt64(max(busyTimeout, 2) * 1e9)
        var opened: DatabaseQueue?
        while true {
            do {
                let queue = try opened ?? DatabaseQueue(path: path, configuration: config)
                opened = queue
                try queue.writeWithoutTransaction { db in
                    // `main.`: unqualified, these would set the read-only log too. The index can
                    // always be rebuilt, so it fsyncs only at checkpoints.
                    try db.execute(sql: "PRAGMA main.journal_mode = WAL")
                    try db.execute(sql: "PRAGMA main.synchronous = NORMAL")
                    // The write lock only when the tables need making: a server's indexer may hold
                    // it for a batch, and a dashboard opening meanwhile must not wait that out.
                    if try Self.currentFormat(db) == Self.format { return }
                    try db.inTransaction(.immediate) {
                        try Self.makeTables(db)
                        return .commit
                    }
                }
                self.queue = queue
                return
            } catch {
                let busy = (error as? DatabaseError)?.resultCode.primaryResultCode == .SQLITE_BUSY
                guard busy, MonotonicClock.nowNs() < deadlineNs else {
                    throw .cannotOpen(path: path, reason: SQLiteBackend.message(error))
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }

    /// Makes the tables in `schema`, or empties them for a rebuild when it holds another format.
    /// The tables are those of the log's schema v11 (see `Schema`), which held them until v12.
    static func makeTables(_ db: Database, schema: String = "main") throws {
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(schema).search_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        if try currentFormat(db, schema: schema) == format { return }
        let columns = Schema.indexedSearchColumns.joined(separator: ", ")
        try db.execute(sql: """
            DROP TABLE IF EXISTS \(schema).events_search;
            DROP TABLE IF EXISTS \(schema).search_reasons;
            DROP TABLE IF EXISTS \(schema).search_reason_events;
            DELETE FROM \(schema).search_meta;
            CREATE VIRTUAL TABLE \(schema).events_search USING fts5(\(columns), content='', tokenize='trigram', detail='none', columnsize=0);
            CREATE TABLE \(schema).search_reasons (id INTEGER PRIMARY KEY, reason TEXT NOT NULL UNIQUE);
            CREATE TABLE \(schema).search_reason_events (
                reason_id INTEGER NOT NULL,
                event_id INTEGER NOT NULL,
                PRIMARY KEY (reason_id, event_id)
            ) WITHOUT ROWID;
            INSERT INTO \(schema).search_meta VALUES ('format', \(format)), ('indexed_up_to', 0), ('indexed_from', 0);
            """)
    }

    /// The format the file's tables were made in; nil for a new file.
    private static func currentFormat(_ db: Database, schema: String = "main") throws -> Int64? {
        guard try db.tableExists("search_meta", in: schema) else { return nil }
        return try Int64.fetchOne(db, sql: "SELECT value FROM \(schema).search_meta WHERE key = 'format'")
    }

    /// Attaches the index at `uri` to a store connection as `search`, read-only. Queries name its
    /// tables unqualified, which SQLite looks up in `temp`, `main`, then attached files: when the
    /// index cannot be attached (a read-only store whose index was never made, or an index that
    /// could not be opened), empty tables in `temp`, the one schema a read-only connection can
    /// write, stand in, and searches scan the log as they do past the index.
    static func attach(_ uri: String?, to db: Database) throws {
        if let uri, (try? db.execute(sql: "ATTACH DATABASE ? AS search", arguments: [uri])) != nil { return }
        try makeTables(db, schema: "temp")
    }

    /// A write transaction on this file (the log only read, in one snapshot).
    private func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try queue.inDatabase { try $0.immediateTransaction(body) }
        } catch {
            throw SQLiteBackend.storeError(error)
        }
    }

    private static func mark(_ key: String, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM search_meta WHERE key = ?", arguments: [key]) ?? 0
    }

    /// FTS5 merges an index level's segments once this many are there (its default is 4). Each
    /// merge rewrites them, so merging 16 at a time rewrites each event's entries about half as
    /// often: filling a fresh index over the first 22 million events of a 100M-row log took 95 s
    /// against 130 s (232k events/s against 170k), with trigram queries as fast
    /// (`actions-bench backfill`). Set on an index that has no setting of its own.
    static let automerge = 16
    /// A level of this many segments is merged whole, in the transaction that made it so
    /// (FTS5's default is 16). Kept well above `automerge`, so that merges stay incremental,
    /// spread over batches: a whole-level merge would hold the index's write lock in one batch.
    static let crisismerge = 64

    /// Indexes up to `batch` events after the last indexed one; returns how many.
    func index(batch: Int) throws(StoreError) -> Int {
        try write { db in
            if try Int.fetchOne(db, sql: "SELECT v FROM events_search_config WHERE k = 'automerge'") == nil {
                try db.execute(sql: "INSERT INTO events_search(events_search, rank) VALUES ('automerge', ?)", arguments: [Self.automerge])
                try db.execute(sql: "INSERT INTO events_search(events_search, rank) VALUES ('crisismerge', ?)", arguments: [Self.crisismerge])
            }
            let upTo = try Self.mark("indexed_up_to", db)
            guard let range = try Row.fetchOne(db, sql: """
                    SELECT count(*), max(id) FROM (SELECT id FROM log.events WHERE id > ? ORDER BY id LIMIT ?)
                    """, arguments: [upTo, batch]),
                  let last = range[1] as Int64? else { return 0 }
            try db.execute(sql: """
                INSERT INTO events_search(rowid, \(Schema.indexedSearchColumns.joined(separator: ", ")))
                SELECT id, \(Schema.searchValues(row: nil)) FROM log.events WHERE id > ? AND id <= ?
                """, arguments: [upTo, last])
            // Each distinct reason once, and the events that gave it (see Schema v10).
            try db.execute(sql: """
                INSERT INTO search_reasons(reason) SELECT DISTINCT reason FROM log.events
                WHERE id > ? AND id <= ? AND reason IS NOT NULL AND reason <> '' ON CONFLICT(reason) DO NOTHING
                """, arguments: [upTo, last])
            try db.execute(sql: """
                INSERT INTO search_reason_events(reason_id, event_id)
                SELECT r.id, e.id FROM log.events e JOIN search_reasons r ON r.reason = e.reason WHERE e.id > ? AND e.id <= ?
                """, arguments: [upTo, last])
            try db.execute(sql: "UPDATE search_meta SET value = ? WHERE key = 'indexed_up_to'", arguments: [last])
            return range[0] as Int
        }
    }

    /// Takes the events up to `lastID` out of the index; the log deletes them next. First, because
    /// a contentless index deletes a row only given the values it indexed, which the log still
    /// holds. A crash between the two leaves those events in the log but not in the index until
    /// retention deletes them: they are the oldest, and on their way out. `indexed_from` makes
    /// this safe to repeat, and to run from two processes at once: a row is never deleted twice.
    func remove(upTo lastID: Int64) throws(StoreError) {
        try write { db in
            let from = try Self.mark("indexed_from", db)
            guard lastID >= from else { return }
            let upTo = try Self.mark("indexed_up_to", db)
            let last = min(lastID, upTo)
            if last >= from {
                try db.execute(sql: """
                    INSERT INTO events_search(events_search, rowid, \(Schema.indexedSearchColumns.joined(separator: ", ")))
                    SELECT 'delete', id, \(Schema.searchValues(row: nil)) FROM log.events WHERE id >= ? AND id <= ?
                    """, arguments: [from, last])
                try db.execute(sql: """
                    DELETE FROM search_reason_events
                    WHERE reason_id IN (SELECT id FROM search_reasons) AND event_id >= ? AND event_id <= ?
                    """, arguments: [from, last])
            }
            // Events past the index that retention takes are never indexed.
            try db.execute(sql: "UPDATE search_meta SET value = ? WHERE key = 'indexed_from'", arguments: [lastID + 1])
            try db.execute(sql: "UPDATE search_meta SET value = max(value, ?) WHERE key = 'indexed_up_to'", arguments: [lastID])
        }
    }
}
