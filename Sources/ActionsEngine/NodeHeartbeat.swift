import Logging
import Synchronization
import ServiceLifecycle
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Reports this node into the store every `NodeStatus.heartbeatMs`: its version, decisions and
/// rate, event queue and drops, and each circuit. Other nodes' dashboards show it, and mark it
/// silent when the reports stop; the last report of a clean shutdown says it stopped. A failed
/// report is logged once per outage, never retried in a hurry: the next beat tries again.
struct NodeHeartbeat: Service {
    let engine: DecisionEngine
    let store: Store
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown { await beat() }
    }

    private func beat() async {
        // With port 0 the name takes the port once the server listens: no beat under `host:0`.
        while !engine.nodeNameKnown && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
        guard engine.nodeNameKnown else { return }
        let startedMs = WallClock.nowMs()
        var last = (ms: startedMs, decisions: 0)
        var failing = false
        while !Task.isCancelled {
            let nowMs = WallClock.nowMs()
            let status = engine.nodeStatus(startedMs: startedMs, nowMs: nowMs, since: last)
            last = (nowMs, status.decisions)
            let store = self.store
            do {
                try await BlockingWork.run { try store.heartbeat(status) }
                if failing { logger.notice("node heartbeat written again", metadata: ["node": "\(status.name)"]) }
                failing = false
            } catch {
                if !failing { logger.warning("node heartbeat failed", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await Task.sleep(for: .milliseconds(NodeStatus.heartbeatMs))
        }
        // A failed start or a crash is no clean stop: those stay silent.
        guard Task.isShuttingDownGracefully else { return }
        // The last word of a clean shutdown, so dashboards show this node stopped, not silent. It
        // runs outside this cancelled task (the blocking pool refuses a cancelled one); the store
        // is still open, since the services stop in reverse order and this one is the last.
        var goodbye = engine.nodeStatus(startedMs: startedMs, nowMs: WallClock.nowMs(), since: last)
        goodbye.stoppedMs = goodbye.updatedMs
        // At most half a second: a locked database must not hold up the shutdown (its grace
        // belongs to the event writer's flush), so the write is left to finish or not.
        // (This task is cancelled, so the wait runs in one of its own: its sleeps must sleep.)
        let store = self.store, final = goodbye, written = Flag()
        Task {
            _ = try? await BlockingWork.run { try store.heartbeat(final) }
            written.set()
        }
        await Task {
            for _ in 0..<25 where !written.isSet { try? await Task.sleep(for: .milliseconds(20)) }
        }.value
        if !written.isSet { logger.notice("node heartbeat: the last one, saying this node stopped, was not written within 500 ms") }
    }
}

/// A one-way flag another task sets.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
