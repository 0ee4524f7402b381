import Testing
import Foundation
import Synchronization
import ActionsDomain
import ActionsStore
import ActionsEngine
import ActionsTestSupport

/// Failed logins are what an attacker controls: ten start a lockout. A lockout makes a server
/// re-read the lockouts, never its whole rule book (which, with a large deny list, a run of
/// lockouts kept it recompiling back to back); a change to the rules still reloads everything.
@Suite struct LockoutReloadTests {
    let admin = Operator(user: "tester")
    let lockout = LockoutPolicy(threshold: 2, windowMs: 60_000, lockoutMs: 600_000)

    func lock(_ email: String, _ store: Store) throws {
        for _ in 0..<2 { try store.recordLoginFailure(email: email, userId: nil, ip: nil, policy: lockout) }
    }

    @Test(arguments: StoreBackend.allCases) func aLockoutReloadsTheLockoutsNotTheRules(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        try store.addListEntry(ListEntry(kind: .domain, value: "evil.example"), by: admin)
        let live = LivePolicy(store: store)
        let fullReloads = Mutex(0)
        live.onChange { _, _ in fullReloads.withLock { $0 += 1 } }
        let before = live.current.versions
        #expect(before == (try store.policyVersions()))

        try lock("eve@x.io", store)
        let locked = try store.policyVersions()
        // Both move (binaries that know only the config version still see the lockout).
        #expect(locked.config == before.config + 1 && locked.lockouts == before.lockouts + 1)
        live.reload()
        #expect(live.current.lockouts["eve@x.io"]?.lockedUntilMs != nil, "the lockout reached the snapshot")
        #expect(live.current.versions == locked)
        #expect(fullReloads.withLock { $0 } == 0, "a lockout re-read the rules")
        #expect(live.current.rules.rules.entries.count == 1)

        try store.addListEntry(ListEntry(kind: .domain, value: "worse.example"), by: admin)
        live.reload()
        #expect(fullReloads.withLock { $0 } == 1, "a rule change reloads everything")
        #expect(live.current.rules.rules.entries.count == 2)
        #expect(live.current.lockouts["eve@x.io"] != nil, "a full reload keeps the lockouts")

        try store.unlock(email: "eve@x.io", by: admin)
        live.reload()
        #expect(live.current.lockouts.isEmpty, "the unlock reached the snapshot")
        #expect(fullReloads.withLock { $0 } == 1)

        // A rule change and a lockout between two polls: more than lockouts moved, all is read.
        try lock("mallory@x.io", store)
        try store.addListEntry(ListEntry(kind: .domain, value: "worst.example"), by: admin)
        live.reload()
        #expect(fullReloads.withLock { $0 } == 2)
        #expect(live.current.rules.rules.entries.count == 3 && live.current.lockouts["mallory@x.io"] != nil)
        #expect(live.current.versions == (try store.policyVersions()))
    }

    /// A change made by a binary that knows only the config version (an old actionsctl during an
    /// upgrade) moves that version alone: read as more than lockouts, so everything is reloaded.
    @Test(arguments: StoreBackend.allCases) func aConfigBumpAloneReloadsEverything(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let live = LivePolicy(store: store)
        let fullReloads = Mutex(0)
        live.onChange { _, _ in fullReloads.withLock { $0 += 1 } }
        try lock("eve@x.io", store)
        try store.setErrorMode(.failOpen, for: .authentication, by: admin)
        live.reload()
        #expect(fullReloads.withLock { $0 } == 1 && live.current.settings(for: .authentication).errorMode == .failOpen)
        #expect(live.current.lockouts["eve@x.io"] != nil)
    }

    /// A store whose versions went back (restored from a backup taken before a lockout and a rule
    /// change, here rewritten in place with sqlite3) is read whole: lockouts alone did not change.
    @Test func versionsThatWentBackAreReadWhole() throws {
        let path = try StoreBackend.sqlite.newDatabase()
        let store = try Store(path: path)
        let live = LivePolicy(store: store)
        try lock("eve@x.io", store)
        try store.addListEntry(ListEntry(kind: .domain, value: "evil.example"), by: admin)
        live.reload()
        #expect(live.current.rules.rules.entries.count == 1 && live.current.lockouts["eve@x.io"] != nil)
        let restore = Process()
        restore.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        restore.arguments = ["-cmd", ".timeout 5000", path, """
            UPDATE meta SET value = value - 1 WHERE key IN ('config_version', 'lockout_version');
            DELETE FROM rules; DELETE FROM login_failures;
            """]
        try restore.run()
        restore.waitUntilExit()
        try #require(restore.terminationStatus == 0)
        live.reload()
        #expect(live.current.rules.rules.entries.isEmpty, "the restored rules were not read")
        #expect(live.current.lockouts.isEmpty)
        #expect(live.current.versions == (try store.policyVersions()))
    }

    /// The server applies a lockout it started at once; a snapshot already read at that lockout's
    /// version or later (which holds an unlock that came after it) is not overruled by the note.
    @Test func aLateNoteNeverUndoesAnUnlock() throws {
        let store = try Store(path: StoreBackend.sqlite.newDatabase())
        let live = LivePolicy(store: store)
        let counted = try store.countLoginFailure(email: "eve@x.io", userId: nil, ip: nil,
                                                  policy: LockoutPolicy(threshold: 1, windowMs: 60_000, lockoutMs: 600_000))
        let version = try #require(counted.startedLockout)
        try store.unlock(email: "eve@x.io", by: admin)
        live.reload()
        live.noteLockout(counted.record, version: version)
        #expect(live.current.lockouts.isEmpty, "a note older than the snapshot brought a lifted lockout back")

        // A note newer than the snapshot applies at once, before any poll.
        let second = try store.countLoginFailure(email: "mallory@x.io", userId: nil, ip: nil,
                                                 policy: LockoutPolicy(threshold: 1, windowMs: 60_000, lockoutMs: 600_000))
        live.noteLockout(second.record, version: try #require(second.startedLockout))
        #expect(live.current.lockouts["mallory@x.io"] != nil)
        live.reload()
        #expect(live.current.lockouts["mallory@x.io"] != nil)
    }
}
