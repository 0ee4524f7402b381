import Synchronization

/// The engine's configuration, of which SIGHUP may replace the part that can change while the
/// server runs: secrets (rotation without a restart), the API token, and the keys `ConfigKey.all`
/// marks reloadable (lockout and circuit thresholds, the body limit, the store waits). What shapes
/// the process itself (address, database, queue, durability, connection timeouts, retention) is
/// kept, and named, so that the operator learns the change needs a restart.
final class ReloadableConfig: Sendable {
    private let state: Mutex<EngineConfig>

    init(_ config: EngineConfig) { state = Mutex(config) }

    var current: EngineConfig { state.withLock { $0 } }

    /// What may change at run time, by the name an operator knows it by: the secrets and the
    /// token (from the environment and the file) and the config keys marked reloadable.
    private static let reloadable = credentials + reloadableKeys

    private static let credentials: [(String, @Sendable (inout EngineConfig, EngineConfig) -> Bool)] = [
        ("secrets", { old, new in [replace(&old.secrets, new.secrets), replace(&old.actionSecrets, new.actionSecrets)].contains(true) }),
        ("api token", { old, new in replace(&old.apiToken, new.apiToken) }),
    ]

    private static let reloadableKeys: [(String, @Sendable (inout EngineConfig, EngineConfig) -> Bool)] = ConfigKey.all.filter(\.reloadable).map { key in
        let change: @Sendable (inout EngineConfig, EngineConfig) -> Bool = { old, new in
            guard key.render(old) != key.render(new) else { return false }
            key.copy(&old, new)
            return true
        }
        return (key.name, change)
    }

    /// What needs a restart: every other config key.
    private static let fixed: [(String, @Sendable (EngineConfig, EngineConfig) -> Bool)] =
        ConfigKey.all.filter { !$0.reloadable }.map { key in
            let differs: @Sendable (EngineConfig, EngineConfig) -> Bool = { key.render($0) != key.render($1) }
            return (key.name, differs)
        }

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
