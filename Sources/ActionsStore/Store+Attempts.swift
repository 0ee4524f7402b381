import ActionsDomain
import ActionsProtocol

extension Store {
    /// Hands every real attempt after `afterID` (no test action, no request too malformed to
    /// decide: `Event.isAttempt`) to `body`, oldest first, `pageSize` narrow rows at a time:
    /// eight columns, never whole events, so memory stays bounded by one page of them. Returns
    /// the last id read, attempt or not (`afterID` when there was none): a log of nothing but
    /// test actions is read past once, not again every time.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func forEachAttempt(after afterID: Int64, pageSize: Int = 10_000, _ body: (LoggedAttempt) -> Void) throws(StoreError) -> Int64 {
        var after = afterID
        while true {
            let read: Int = try reading { db in
                var count = 0
                try db.forEachRow("""
                    SELECT id, ts_ms, action_type, email, ip, node, is_test, decided_by FROM events
                    WHERE id > ? ORDER BY id LIMIT ?
                    """, [after, pageSize]) { row in
                    count += 1
                    after = row.int64(0)
                    guard !row.bool(6), row.string(7) != DecidedBy.invalid.rawValue else { return }
                    // Only actions-server writes events, always with a known type.
                    body(LoggedAttempt(id: after, timeMs: row.int64(1), actionType: ActionType(rawValue: row.string(2)) ?? .userRegistration,
                                       email: StoredText.decode(row.optionalString(3)), ip: StoredText.decode(row.optionalString(4)),
                                       node: StoredText.decode(row.optionalString(5))))
                }
                return count
            }
            if read < pageSize { return after }
        }
    }
}

/// The store is the log policy reads (`ActionsPolicy` knows it only through `DecisionLog`).
extension Store: DecisionLog {
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func forEachEvent(sinceMs: Int64, _ body: (Event) -> Void) throws(StoreError) {
        try forEachEvent(after: 0, EventFilter(sinceMs: sinceMs), body)
    }
}
