import ActionsDomain
import ActionsProtocol

extension Store {
    /// Adds up to `batch` events after the last indexed one to the search index, in one
    /// transaction, and returns how many. The server calls it every second (`SearchIndexer`), so
    /// the index trails the log by about that; searches scan the rows it has not reached yet.
    /// On SQLite the index is a file of its own, and this takes only its lock (`SearchIndexFile`).
    /// Several nodes may run it at once: PostgreSQL's row lock on the mark serializes them.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func indexSearch(batch: Int = 50_000) throws(StoreError) -> Int {
        if isReadOnly { throw .readOnly(path: path) }
        return try backend.indexSearch(batch: batch)
    }

    /// Events not yet in the search index.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func searchBacklog() throws(StoreError) -> Int64 {
        try reading { db in
            let upTo = try db.int64("SELECT value FROM \(db.dialect.searchMark)") ?? 0
            return max(0, (try db.int64("SELECT max(id) FROM events") ?? 0) - upTo)
        }
    }

    /// How far the search index trails the log: events not yet in it, and when the oldest of
    /// them was decided (nil when none waits). Two reads by primary key, cheap at any size.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func searchLag() throws(StoreError) -> (events: Int64, oldestMs: Int64?) {
        try reading { db in
            let upTo = try db.int64("SELECT value FROM \(db.dialect.searchMark)") ?? 0
            let events = max(0, (try db.int64("SELECT max(id) FROM events") ?? 0) - upTo)
            guard events > 0 else { return (0, nil) }
            return (events, try db.int64("SELECT ts_ms FROM events WHERE id > ? ORDER BY id LIMIT 1", [upTo]))
        }
    }
}

/// How far a search has got: rows of the log's unindexed part scanned, of how many it will scan.
package struct SearchProgress: Sendable, Equatable {
    package var scanned: Int64
    package var total: Int64
    /// Rows the index has not reached (what a bounded search leaves unscanned beyond `total`).
    package var unindexed: Int64

    package init(scanned: Int64, total: Int64, unindexed: Int64) {
        self.scanned = scanned
        self.total = total
        self.unindexed = unindexed
    }
}

extension Store {
    /// `latestEvents(filter, limit:)` for a text search, the same answer, in steps that say how
    /// far they got and can be stopped between: the rows the index has not reached are scanned
    /// newest first, `chunk` ids at a time, down to the filter's scan bound (`textScanLimit`, the
    /// budget: nil scans them all), then the index answers for the rest of the log. `progress`
    /// is called after each step; returning false stops the search, which returns what it found.
    /// One statement over a whole unindexed log (100M rows) held the dashboard's query lane for
    /// minutes with nothing to show, and only SQLite could stop it.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func searchLatest(_ filter: EventFilter, limit: Int, chunk: Int64 = 100_000,
                             progress: (SearchProgress) -> Bool = { _ in true }) throws(StoreError) -> (events: [Event], stopped: Bool) {
        let text = filter.text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return (try latestEvents(filter, limit: limit), false) }
        let indexed = EventFilter.searchIsIndexed(text)
        let (mark, maxID) = try reading { db in
            (indexed ? (try db.int64("SELECT value FROM \(db.dialect.searchMark)") ?? 0) : 0, try db.int64("SELECT max(id) FROM events") ?? 0)
        }
        // What the one statement would scan: above the mark, or the newest `textScanLimit` rows.
        let budgetFloor = filter.textScanLimit.map { maxID - Int64($0) } ?? 0
        let floor = max(indexed ? mark : 0, budgetFloor, 0)
        let unindexed = max(0, maxID - mark)
        var found: [Event] = []
        var high = maxID
        var step = filter
        step.textBy = .scanOnly
        while high > floor && found.count < limit {
            let low = max(floor, high - chunk)
            step.idWindow = .init(above: low, atMost: high)
            found += try latestEvents(step, limit: limit - found.count)
            high = low
            if !progress(SearchProgress(scanned: maxID - high, total: maxID - floor, unindexed: unindexed)) { return (found, true) }
        }
        if indexed && found.count < limit && mark > 0 {
            var rest = filter
            rest.textBy = .indexOnly
            rest.idWindow = .init(above: 0, atMost: min(mark, floor))
            found += try latestEvents(rest, limit: limit - found.count)
        }
        return (found, false)
    }
}
