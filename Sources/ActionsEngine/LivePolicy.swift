import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy

/// Everything a decision reads, in memory: settings, the compiled rules and the active
/// lockouts. Decisions never touch the database, so a locked file cannot hold one up.
package struct PolicySnapshot: Sendable {
    package var settings: [ActionType: ActionSettings]
    package var rules: RuleBook
    /// Keyed by `Normalize.accountKey`.
    package var lockouts: [String: LoginFailures]
    /// The store's versions this was read at (see `Store.PolicyVersions`).
    package var versions: Store.PolicyVersions
    package var configVersion: Int64 { versions.config }
    /// The store's switch for folding sub-addresses in lockout and rate keys.
    package var foldAddresses: Bool

    package init(settings: [ActionType: ActionSettings] = [:], rules: RuleBook = RuleBook(),
                lockouts: [String: LoginFailures] = [:], versions: Store.PolicyVersions = .init(), foldAddresses: Bool = false) {
        self.foldAddresses = foldAddresses
        self.settings = settings
        self.rules = rules
        self.lockouts = lockouts
        self.versions = versions
    }

    package func settings(for type: ActionType) -> ActionSettings {
        settings[type] ?? ActionSettings(actionType: type)
    }
}

/// Keeps a `PolicySnapshot` current: polls the store's versions (one small read) and reloads when
/// another process (actionsctl, actions-top, another node) changed something. As a `Service`, it
/// polls until its group shuts down.
package final class LivePolicy: Service, Sendable {
    private struct State {
        var snapshot = PolicySnapshot()
        /// Lockouts this server started, with the lockout version each commit made, until a
        /// snapshot read at that version or later holds them: a reload that read the lockouts just
        /// before such a commit must not drop it until the next poll.
        var notes: [(version: Int64, record: LoginFailures)] = []

        /// `snapshot` with the notes it does not hold yet.
        mutating func install(_ snapshot: PolicySnapshot) {
            self.snapshot = snapshot
            notes.removeAll { $0.version <= snapshot.versions.lockouts }
            for note in notes { self.snapshot.lockouts[note.record.email] = note.record }
        }
    }

    private let store: Store
    private let state = Mutex(State())
    private let logger: Logger
    /// Called after a reload with the old and new snapshots (the engine resets circuits on endpoint changes).
    private let onChange: Mutex<(@Sendable (PolicySnapshot, PolicySnapshot) -> Void)?> = Mutex(nil)

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package init(store: Store, logger: Logger = Logger(label: "actions.settings")) {
        self.store = store
        self.logger = logger
        reload(force: true)
    }

    package var current: PolicySnapshot { state.withLock { $0.snapshot } }

    package func onChange(_ handler: @escaping @Sendable (PolicySnapshot, PolicySnapshot) -> Void) {
        onChange.withLock { $0 = handler }
    }

    /// Reloads what moved (or everything, with `force`): only the lockouts when the config version
    /// moved by exactly as much as the lockout version (every lockout moves both, nothing else moves
    /// the second: see `Store.PolicyVersions`), else everything. Errors keep the last snapshot.
    ///
    /// The versions are read first: a change committed while the rest is read is read again at
    /// the next poll, never missed. A reload that finds another snapshot installed while it read
    /// (two ran at once: the poll and a PostgreSQL notice) leaves that one; the next poll compares
    /// the versions again.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func reload(force: Bool = false) {
        do {
            let versions = try store.policyVersions()
            let old = current
            if !force && versions == old.versions { return }
            let lockouts = try Self.byEmail(store.loginFailures())
            // Forward only: a store restored from a backup moves its versions back, and is read whole.
            if !force && versions.lockouts > old.versions.lockouts
                && versions.config - old.versions.config == versions.lockouts - old.versions.lockouts {
                // Lockouts alone: the rule book is not read or compiled again.
                state.withLock {
                    guard $0.snapshot.versions == old.versions else { return }
                    var snapshot = $0.snapshot
                    snapshot.lockouts = lockouts
                    snapshot.versions = versions
                    $0.install(snapshot)
                }
                return
            }
            let settings = try store.settings()
            let rules = try store.rules(includeExpired: false)
            let fold = try store.foldAddresses()
            let snapshot = PolicySnapshot(settings: settings, rules: RuleBook(rules), lockouts: lockouts,
                                          versions: versions, foldAddresses: fold)
            let applied = state.withLock {
                guard $0.snapshot.versions == old.versions else { return false }
                $0.install(snapshot)
                return true
            }
            guard applied else { return }
            if !force { logger.info("settings reloaded", metadata: ["config_version": "\(versions.config)"]) }
            onChange.withLock { $0 }?(old, snapshot)
        } catch {
            logger.warning("settings reload failed; keeping the last ones", metadata: ["error": "\(error)"])
        }
    }

    private static func byEmail(_ records: [LoginFailures]) -> [String: LoginFailures] {
        var byEmail: [String: LoginFailures] = [:]
        byEmail.reserveCapacity(records.count)
        for record in records { byEmail[record.email] = record }
        return byEmail
    }

    /// Applies a lockout this server just started at once, before the next poll; `version` is the
    /// lockout version its commit made. A snapshot read at that version or later already holds
    /// it, or what came after (an operator's unlock), and is left as it is.
    package func noteLockout(_ record: LoginFailures, version: Int64) {
        state.withLock {
            guard $0.snapshot.versions.lockouts < version else { return }
            $0.snapshot.lockouts[record.email] = record
            $0.notes.append((version, record))
        }
    }

    /// Keeps the snapshot current until a graceful shutdown or cancellation. Each reload reads
    /// the store, so it runs on the blocking pool.
    /// - SQLite: polls the version every 250 ms, well inside the one second a change may take.
    /// - PostgreSQL: LISTENs for the notice every change sends on commit, and reloads at once; a
    ///   version check runs every 2 s besides, and after every reconnect, so that a notice lost
    ///   while the connection was down still arrives.
    package func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if self.store.isPostgres {
                    group.addTask { await self.listen() }
                }
                group.addTask {
                    let interval: Duration = self.store.isPostgres ? .seconds(2) : .milliseconds(250)
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        try? await BlockingWork.run { self.reload() }
                    }
                }
            }
        }
    }

    private func listen() async {
        while !Task.isCancelled {
            do {
                try await store.listenForChanges { [self] in
                    try? await BlockingWork.run { self.reload() }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("policy notifications interrupted; checking the version and listening again",
                               metadata: ["error": "\(error)"])
            }
            try? await BlockingWork.run { self.reload() }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
