import Logging
import ServiceLifecycle
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Saves circuit transitions in the background, coalesced: newer states replace older ones while
/// a save is under way, and only the latest of each action type is written. A decision never
/// waits; the SQLite write runs on the blocking pool. As a `Service` it saves until its group
/// shuts down, then writes what is still pending once more.
final class CircuitPersister: Service, Sendable {
    private let store: Store
    private let logger: Logger
    private let pending = Mutex<[ActionType: CircuitState]>([:])
    /// A wake-up per burst of transitions: at most one waits, so a burst costs one save.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func save(_ state: CircuitState) {
        pending.withLock { $0[state.actionType] = state }
        wake.yield()
    }

    func run() async {
        for await _ in wakeups.cancelOnGracefulShutdown() {
            await drain()
        }
        await drain()
    }

    /// Writes what is pending; a failed write is logged and the state dropped (the next
    /// transition writes a fresh one).
    private func drain() async {
        let batch = pending.withLock { pending in
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        if batch.isEmpty { return }
        let store = self.store
        do {
            try await BlockingWork.run { for state in batch { try store.saveCircuit(state) } }
        } catch {
            logger.warning("could not save circuit state", metadata: ["error": "\(error)"])
        }
    }
}
