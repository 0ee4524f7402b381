import ActionsProtocol

extension Store {
    /// Adds up to `batch` events after the last indexed one to the search index, in one
    /// transaction, and returns how many. The server calls it every second (`SearchIndexer`), so
    /// the index trails the log by about that; searches scan the rows it has not reached yet.
    /// On SQLite the index is a file of its own, and this takes only its lock (`SearchIndexFile`).
    /// Several nodes may run it at once: PostgreSQL's row lock on the mark serializes them.
    @discardableResult
    public func indexSearch(batch: Int = 50_000) throws(StoreError) -> Int {
        switch searchIndex {
        case .success(let index)?: return try index.index(batch: batch)
        case .failure(let error)?: throw error
        // PostgreSQL: the index is a table beside the log, written below. (A read-only SQLite
        // store has no index of its own to write; `writing` refuses it.)
        case nil: break
        }
        return try writing { db in
            let upTo = try db.int64("SELECT value FROM meta WHERE key = 'search_indexed_up_to' FOR UPDATE") ?? 0
            guard let range = try db.row("SELECT count(*), max(id) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?) AS batch",
                                         [upTo, batch]),
                  let last = range.optionalInt64(1) else { return 0 }
            try db.execute("INSERT INTO events_search(id, body) SELECT id, \(Schema.searchText(row: nil, .postgres)) FROM events WHERE id > ? AND id <= ?",
                           [upTo, last])
            try db.execute("UPDATE meta SET value = ? WHERE key = 'search_indexed_up_to'", [last])
            return range.int(0)
        }
    }

    /// Events not yet in the search index.
    public func searchBacklog() throws(StoreError) -> Int64 {
        try reading { db in
            let upTo = try db.int64("SELECT value FROM \(Self.searchMark(db.dialect))") ?? 0
            return max(0, (try db.int64("SELECT max(id) FROM events") ?? 0) - upTo)
        }
    }

    /// How far the search index trails the log: events not yet in it, and when the oldest of
    /// them was decided (nil when none waits). Two reads by primary key, cheap at any size.
    public func searchLag() throws(StoreError) -> (events: Int64, oldestMs: Int64?) {
        try reading { db in
            let upTo = try db.int64("SELECT value FROM \(Self.searchMark(db.dialect))") ?? 0
            let events = max(0, (try db.int64("SELECT max(id) FROM events") ?? 0) - upTo)
            guard events > 0 else { return (0, nil) }
            return (events, try db.int64("SELECT time_ms FROM events WHERE id > ? ORDER BY id LIMIT 1", [upTo]))
        }
    }

    /// Where the last indexed event id is kept, as SQL after FROM: the index file's own mark on
    /// SQLite (see SearchIndexFile.attach), a row of `meta` on PostgreSQL.
    static func searchMark(_ dialect: SQLDialect) -> String {
        dialect == .postgres ? "meta WHERE key = 'search_indexed_up_to'" : "search_meta WHERE key = 'indexed_up_to'"
    }
}
