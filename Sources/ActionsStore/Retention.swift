import ActionsDomain
import Foundation
import ActionsProtocol

extension Store {
    /// Deletes events older than `maxAgeMs` and beyond the newest `maxRows`, `batchSize` rows per
    /// transaction with a pause between, so the event writer never waits long for the lock.
    /// Returns the number of rows deleted.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func prune(maxAgeMs: Int64? = nil, maxRows: Int? = nil, batchSize: Int = 5000,
                      pause: TimeInterval = 0.005, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> Int {
        var cutoffID: Int64 = 0
        try reading { db in
            let maxID = try db.int64("SELECT max(id) FROM events") ?? 0
            if let maxAgeMs {
                let firstKept = try Self.firstID(atOrAfter: nowMs - maxAgeMs, db)
                cutoffID = firstKept == Int64.max ? maxID + 1 : firstKept
            }
            if let maxRows, maxRows > 0,
               let keepFrom = try db.int64("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?", [maxRows - 1]) {
                cutoffID = max(cutoffID, keepFrom)
            }
        }
        guard cutoffID > 0 else { return 0 }
        var deleted = 0
        while true {
            guard let last = try reading({ db in
                try db.int64("SELECT max(id) FROM (SELECT id FROM events WHERE id < ? ORDER BY id LIMIT ?) AS batch", [cutoffID, batchSize])
            }) else { break }
            // SQLite's index is a file of its own: the batch leaves it first (see
            // SearchIndexFile.remove), then the log. PostgreSQL's rows go with their events.
            try backend.removeFromSearch(upTo: last)
            let count = try writing { db in
                try db.rows("DELETE FROM events WHERE id <= ? RETURNING id", [last]).count
            }
            deleted += count
            if count < batchSize { break }
            Thread.sleep(forTimeInterval: pause)
        }
        return deleted
    }
}
