import Logging
import ServiceLifecycle
import ActionsProtocol
import ActionsStore

/// Reports this node into the store every `NodeStatus.heartbeatMs`: its version, decisions and
/// rate, event queue and drops, and each circuit. Other nodes' dashboards show it, and mark it
/// stopped when the reports stop. A failed report is logged once per outage, never retried in a
/// hurry: the next beat tries again.
struct NodeHeartbeat: Service {
    let engine: DecisionEngine
    let store: Store
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown { await beat() }
    }

    private func beat() async {
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
    }
}
