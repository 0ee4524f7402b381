import ActionsProtocol

/// The decision log as policy reads it, and no more: replay and the rate windows' rebuild go
/// through this, so the policy module knows no database. The store is the implementation.
package protocol DecisionLog {
    associatedtype Failure: Error
    /// The newest event's id (0 on an empty log).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func maxEventID() throws(Failure) -> Int64
    /// An id to read on from that misses no event at or after `ms`.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func firstEventID(atOrAfterMs ms: Int64) throws(Failure) -> Int64
    /// Hands every real attempt after `afterID` to `body`, oldest first, `pageSize` at a time;
    /// returns the last id read.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func forEachAttempt(after afterID: Int64, pageSize: Int, _ body: (LoggedAttempt) -> Void) throws(Failure) -> Int64
    /// Hands every event logged at or after `sinceMs` to `body`, oldest first.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func forEachEvent(sinceMs: Int64, _ body: (Event) -> Void) throws(Failure)
    /// The rules in force at `nowMs` (and the expired ones, when asked).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func rules(includeExpired: Bool, nowMs: Int64) throws(Failure) -> RuleSet
    /// Whether addresses are folded (dots and `+tags` of Gmail-like domains) before comparing.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func foldAddresses() throws(Failure) -> Bool
}
