import ActionsProtocol
import ActionsDomain

extension Event {
    /// A real attempt: what rate rules count and replay re-evaluates. Not a test action, nor a
    /// request too malformed to decide.
    package var isAttempt: Bool { !isTest && decidedBy != .invalid }
}

extension Attempt {
    package init(_ logged: LoggedAttempt) {
        self.init(type: logged.actionType, timeMs: logged.timeMs, email: logged.email, ip: logged.ip)
    }
}

extension RateCounter {
    /// Counts a logged attempt in the windows (`Store.forEachAttempt` reads only real attempts).
    package func count(logged attempt: LoggedAttempt, rules: [RateRule], foldAddresses: Bool) {
        _ = admit(Attempt(attempt), rules: rules, foldAddresses: foldAddresses)
    }

    /// Fills the windows of `rules` from the log: the events inside the longest window (at most
    /// `maxSpanMs` back), the newest `maxEvents` of them when there are more, streamed a page of
    /// narrow rows at a time. Returns how many were read and the last id read, to read on from.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func rebuild<Log: DecisionLog>(from store: Log, rules: [RateRule], foldAddresses: Bool, nowMs: Int64,
                                          maxSpanMs: Int64 = 86_400_000, maxEvents: Int) throws(Log.Failure) -> (read: Int, lastID: Int64) {
        guard let longest = rules.map(\.windowMs).max() else { return (0, try store.maxEventID()) }
        let start = max(try store.firstEventID(atOrAfterMs: nowMs - min(longest, maxSpanMs)), try store.maxEventID() - Int64(maxEvents))
        var read = 0
        let last = try store.forEachAttempt(after: start, pageSize: 10_000) { attempt in
            read += 1
            count(logged: attempt, rules: rules, foldAddresses: foldAddresses)
        }
        return (read, last)
    }
}
