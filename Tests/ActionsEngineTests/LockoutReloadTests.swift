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
    @Test(arguments: StoreBackend.allCases) func aLockoutReloadsTheLockoutsNotTheRules(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let admin = Operator(user: "tester")
        try store.addListEntry(ListEntry(kind: .domain, value: "evil.example"), by: admin)
        let live = LivePolicy(store: store)
        let fullReloads = Mutex(0)
        live.onChange { _, _ in fullReloads.withLock { $0 += 1 } }
        let before = live.current.versions
        #expect(before == (try store.policyVersions()))

        let lockout = LockoutPolicy(threshold: 2, windowMs: 60_000, lockoutMs: 600_000)
        for _ in 0..<2 { try store.recordLoginFailure(email: "eve@x.io", userId: nil, ip: nil, policy: lockout) }
        let locked = try store.policyVersions()
        #expect(locked.config == before.config && locked.lockouts == before.lockouts + 1)
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
        #expect(try store.policyVersions().config == live.current.versions.config)
        live.reload()
        #expect(live.current.lockouts.isEmpty, "the unlock reached the snapshot")
        #expect(fullReloads.withLock { $0 } == 1)
    }
}
