import ActionsProtocol

extension Store {
    /// Adds up to `batch` events after the last indexed one to the search index, in one
    /// transaction, and returns how many. The server calls it every second (`SearchIndexer`), so
    /// the index trails the log by about that; searches scan the rows it has not reached yet.
    /// Several nodes may run it at once: PostgreSQL's row lock on the mark serializes them.
    @discardableResult
    public func indexSearch(batch: Int = 50_000) throws(StoreError) -> Int {
        try writing { db in
            let lock = db.dialect == .postgres ? " FOR UPDATE" : ""
            let upTo = try db.int64("SELECT value FROM meta WHERE key = 'search_indexed_up_to'\(lock)") ?? 0
            guard let range = try db.row("SELECT count(*), max(id) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?) AS batch",
                                         [upTo, batch]),
                  let last = range.optionalInt64(1) else { return 0 }
            let insert = db.dialect == .postgres
                ? "INSERT INTO events_search(id, body) SELECT id, \(Schema.searchText(row: nil, .postgres))"
                : "INSERT INTO events_search(rowid, \(Schema.indexedSearchColumns.joined(separator: ", ")))"
                    + " SELECT id, \(Schema.searchValues(row: nil))"
            try db.execute(insert + " FROM events WHERE id > ? AND id <= ?", [upTo, last])
            if db.dialect == .sqlite {
                // Each distinct reason once, and the events that gave it (see Schema v10).
                try db.execute("""
                    INSERT INTO search_reasons(reason) SELECT DISTINCT reason FROM events
                    WHERE id > ? AND id <= ? AND reason IS NOT NULL AND reason <> '' ON CONFLICT(reason) DO NOTHING
                    """, [upTo, last])
                try db.execute("""
                    INSERT INTO search_reason_events(reason_id, event_id)
                    SELECT r.id, e.id FROM events e JOIN search_reasons r ON r.reason = e.reason WHERE e.id > ? AND e.id <= ?
                    """, [upTo, last])
            }
            try db.execute("UPDATE meta SET value = ? WHERE key = 'search_indexed_up_to'", [last])
            return range.int(0)
        }
    }

    /// Events not yet in the search index.
    public func searchBacklog() throws(StoreError) -> Int64 {
        try reading { db in
            let upTo = try db.int64("SELECT value FROM meta WHERE key = 'search_indexed_up_to'") ?? 0
            return max(0, (try db.int64("SELECT max(id) FROM events") ?? 0) - upTo)
        }
    }
}
