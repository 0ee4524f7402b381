import Logging
import ServiceLifecycle
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy

/// Keeps this node's rate windows (`RateCounter`) counting the whole cluster's attempts, from
/// the shared event log:
/// - this node's own decisions count at once, in `DecisionEngine.decide`;
/// - every second, the events other nodes logged since the last look are added;
/// - when the set of rate rules changes (and at start, so that a restart forgets nothing), the
///   windows are rebuilt from the log's last `backfillMs`.
/// So a limit holds across nodes to within about a second of other nodes' traffic. With no rate
/// rules it reads nothing.
final class RateSync: Service, Sendable {
    let counter: RateCounter
    private let store: Store
    private let policy: LivePolicy
    private let node: @Sendable () -> String
    private let logger: Logger
    private let state = Mutex(State())

    /// The longest window rebuilt from the log (rate windows are at most 7 days; reading more
    /// than a day of a busy log at start is not worth its cost), and at most its newest events.
    static let backfillMs: Int64 = 24 * 3_600_000
    static let backfillMaxEvents = 2_000_000

    private struct State {
        var ruleIDs: Set<Int64> = []
        /// The last event id read from the log; nil until rebuilt.
        var lastID: Int64?
        var lastPruneMs: Int64 = 0
    }

    init(store: Store, policy: LivePolicy, node: @escaping @Sendable () -> String, logger: Logger,
         maxSubjects: Int = RateCounter.defaultMaxSubjects) {
        counter = RateCounter(maxSubjects: maxSubjects)
        self.store = store
        self.policy = policy
        self.node = node
        self.logger = logger
    }

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await BlockingWork.run { try self.sync() }
                } catch {
                    if !Task.isCancelled { self.logger.warning("rate counts not synced", metadata: ["error": "\(error)"]) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// One step: rebuild after a rule change, else read what other nodes decided.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func sync(nowMs: Int64 = WallClock.nowMs()) throws {
        let snapshot = policy.current
        let rules = snapshot.rules.rates
        let ids = Set(rules.map(\.id))
        var current = state.withLock { $0 }
        if rules.isEmpty {
            if current.lastID != nil { counter.reset() }
            state.withLock { $0 = State() }
            return
        }
        let fold = snapshot.foldAddresses
        if ids != current.ruleIDs || current.lastID == nil {
            counter.reset()
            let (read, lastID) = try counter.rebuild(from: store, rules: rules, foldAddresses: fold, nowMs: nowMs,
                                                      maxSpanMs: Self.backfillMs, maxEvents: Self.backfillMaxEvents)
            current = State(ruleIDs: ids, lastID: max(lastID, try store.maxEventID()), lastPruneMs: nowMs)
            state.withLock { $0 = current }
            logger.info("rate windows rebuilt from the log", metadata: ["events": "\(read)", "rules": "\(rules.count)"])
            return
        }
        let me = node()
        let lastID = try store.forEachAttempt(after: current.lastID ?? 0) { attempt in
            if attempt.node != me { counter.count(logged: attempt, rules: rules, foldAddresses: fold) }
        }
        let prune = nowMs - current.lastPruneMs > 10_000
        if prune { counter.prune(rules: rules, nowMs: nowMs) }
        state.withLock {
            $0.lastID = lastID
            if prune { $0.lastPruneMs = nowMs }
        }
    }
}
