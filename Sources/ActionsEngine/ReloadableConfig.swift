import Synchronization

/// The engine's configuration, of which SIGHUP may replace the part that can change while the
/// server runs: secrets (rotation without a restart), the API token, lockout and circuit
/// thresholds, the body limit and the store waits. What shapes the process itself (address,
/// database, queue, durability, connection timeouts, retention) is kept, and named, so that the
/// operator learns the change needs a restart.
final class ReloadableConfig: Sendable {
    private let state: Mutex<EngineConfig>

    init(_ config: EngineConfig) { state = Mutex(config) }

    var current: EngineConfig { state.withLock { $0 } }

    /// What may change at run time, by the name an operator knows it by.
    private static let reloadable: [(String, @Sendable (inout EngineConfig, EngineConfig) -> Bool)] = [
        ("secrets", { old, new in [replace(&old.secrets, new.secrets), replace(&old.actionSecrets, new.actionSecrets)].contains(true) }),
        ("api token", { old, new in replace(&old.apiToken, new.apiToken) }),
        ("lockout", { old, new in replace(&old.lockout, new.lockout) }),
        ("circuit", { old, new in replace(&old.circuit, new.circuit) }),
        ("server.max_body_bytes", { old, new in replace(&old.maxBodyBytes, new.maxBodyBytes) }),
        ("events.durable_wait_ms", { old, new in replace(&old.durableWaitMs, new.durableWaitMs) }),
        ("store.lockout_write_wait_ms", { old, new in replace(&old.lockoutWriteWaitMs, new.lockoutWriteWaitMs) }),
    ]

    /// What needs a restart, with a comparison each.
    private static let fixed: [(String, @Sendable (EngineConfig, EngineConfig) -> Bool)] = [
        ("server.host", { $0.host != $1.host }),
        ("server.port", { $0.port != $1.port }),
        ("server.db", { $0.databasePath != $1.databasePath }),
        ("server.node", { $0.node != $1.node }),
        ("server.idle_timeout_ms", { $0.idleTimeoutMs != $1.idleTimeoutMs }),
        ("server.read_timeout_ms", { $0.readTimeoutMs != $1.readTimeoutMs }),
        ("events.queue_capacity", { $0.eventQueueCapacity != $1.eventQueueCapacity }),
        ("events.durable", { $0.durableEvents != $1.durableEvents }),
        ("store.busy_timeout_ms", { $0.busyTimeoutMs != $1.busyTimeoutMs }),
        ("rate.max_subjects", { $0.rateMaxSubjects != $1.rateMaxSubjects }),
        ("retention", { $0.retentionMaxAgeDays != $1.retentionMaxAgeDays || $0.retentionMaxRows != $1.retentionMaxRows }),
    ]

    /// Takes the reloadable part of `new`; returns what changed and what would need a restart.
    func reload(_ new: EngineConfig) -> (applied: [String], needsRestart: [String]) {
        state.withLock { config in
            let needsRestart = Self.fixed.filter { $0.1(config, new) }.map(\.0)
            let applied = Self.reloadable.filter { $0.1(&config, new) }.map(\.0)
            return (applied, needsRestart)
        }
    }
}

/// Replaces `old` with `new`; true if they differed.
private func replace<T: Equatable>(_ old: inout T, _ new: T) -> Bool {
    guard old != new else { return false }
    old = new
    return true
}
