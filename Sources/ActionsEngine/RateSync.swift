import Logging
import ServiceLifecycle
import Synchronization
import ActionsProtocol
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
    let counter = RateCounter()
    private let store: Store
    private let policy: LivePolicy
    private let node: @Sendable () -> String
    private let logger: Logger
    private let state = Mutex(State())

    /// The longest window rebuilt from the log (rate windows are at most 7 days; reading more
    /// than a day of a busy log at start is not worth its cost).
    static let backfillMs: Int64 = 24 * 3_600_000
    static let backfillMaxEvents = 2_000_000

    private struct State {
        var ruleIDs: Set<Int64> = []
        /// The last event id read from the log; nil until rebuilt.
        var lastID: Int64?
        var lastPruneMs: Int64 = 0
    }

    init(store: Store, policy: LivePolicy, node: @escaping @Sendable () -> String, logger: Logger) {
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
            let since = nowMs - min(Self.backfillMs, rules.map(\.windowMs).max() ?? 0)
            var lastID: Int64 = 0
            var after = try store.firstEventID(atOrAfterMs: since)
            var read = 0
            while read < Self.backfillMaxEvents {
                let page = try store.events(after: after, EventFilter(excludeTests: true), limit: 20_000)
                for event in page { count(event, rules: rules, fold: fold) }
                read += page.count
                lastID = page.last?.id ?? lastID
                guard page.count == 20_000, let last = page.last?.id else { break }
                after = last
            }
            current = State(ruleIDs: ids, lastID: max(lastID, try store.maxEventID()), lastPruneMs: nowMs)
            state.withLock { $0 = current }
            logger.info("rate windows rebuilt from the log", metadata: ["events": "\(read)", "rules": "\(rules.count)"])
            return
        }
        let me = node()
        var lastID = current.lastID ?? 0
        while true {
            let page = try store.events(after: lastID, EventFilter(excludeTests: true), limit: 10_000)
            for event in page where event.node != me { count(event, rules: rules, fold: fold) }
            lastID = page.last?.id ?? lastID
            if page.count < 10_000 { break }
        }
        let prune = nowMs - current.lastPruneMs > 10_000
        if prune { counter.prune(rules: rules, nowMs: nowMs) }
        state.withLock {
            $0.lastID = lastID
            if prune { $0.lastPruneMs = nowMs }
        }
    }

    private func count(_ event: Event, rules: [RateRule], fold: Bool) {
        guard event.decidedBy != .invalid else { return }
        _ = counter.admit(Attempt(event), rules: rules, foldAddresses: fold)
    }
}
