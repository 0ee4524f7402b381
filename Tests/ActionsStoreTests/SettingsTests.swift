import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

@Suite struct SettingsTests {
    @Test(arguments: StoreBackend.allCases) func modeChangesAreAuditedWithOperatorAndBumpTheConfigVersion(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let version = try store.configVersion()
        let old = try store.setErrorMode(.failOpen, for: .authentication, by: tester)
        #expect(old == .failClosed)
        #expect(try store.settings(for: .authentication).errorMode == .failOpen)
        #expect(try store.settings(for: .userRegistration).errorMode == .failClosed)
        #expect(try store.configVersion() > version)
        let audit = try #require(try store.auditLog().first)
        #expect(audit.actor == "tester")
        #expect(audit.sshConnection == "10.1.1.1 5555 10.1.1.2 22")
        #expect(audit.action == "mode.set")
        #expect(audit.oldValue == "fail-closed")
        #expect(audit.newValue == "fail-open")
    }

    @Test(arguments: StoreBackend.allCases) func endpointValidation(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        try store.setEndpoint("http://127.0.0.1:9000/hook", timeoutMs: 250, for: .userRegistration, by: tester)
        #expect(try store.settings(for: .userRegistration).activeEndpoint == "http://127.0.0.1:9000/hook")
        #expect(try store.settings(for: .userRegistration).timeoutMs == 250)
        #expect(throws: StoreError.self) { try store.setEndpoint("ftp://x", for: .userRegistration, by: tester) }
        #expect(throws: StoreError.self) { try store.setEndpoint("http://x", timeoutMs: 0, for: .userRegistration, by: tester) }
    }

    @Test(arguments: StoreBackend.allCases) func denyEntriesAreNormalizedAndValidated(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let entry = try store.addListEntry(ListEntry(kind: .domain, value: " *.Spam.Example ", reason: "spam"), by: tester)
        #expect(entry.value == "*.spam.example")
        #expect(entry.createdBy == "tester")
        try store.addListEntry(ListEntry(kind: .ip, value: "2001:DB8::/32"), by: tester)
        #expect(try store.listEntries(.deny).map(\.value) == ["*.spam.example", "2001:db8::/32"])
        #expect(throws: StoreError.self) { try store.addListEntry(ListEntry(kind: .ip, value: "10.0.0.0/33"), by: tester) }
        #expect(throws: StoreError.self) { try store.addListEntry(ListEntry(kind: .email, value: "nobody"), by: tester) }
        try store.removeRule(id: entry.id, by: tester)
        #expect(throws: StoreError.notFound("rule \(entry.id)")) { try store.removeRule(id: entry.id, by: tester) }
        #expect(try store.auditLog().map(\.action) == ["rule.remove", "deny.add", "deny.add"])
    }

    @Test(arguments: StoreBackend.allCases) func lockoutAfterThresholdAndUnlock(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let policy = LockoutPolicy(threshold: 3, windowMs: 60_000, lockoutMs: 600_000)
        let t0: Int64 = 1_000_000
        for i in 0..<2 { try store.recordLoginFailure(email: "Eve@x.io", userId: "u1", ip: "1.2.3.4", policy: policy, nowMs: t0 + Int64(i)) }
        #expect(try store.loginFailures(nowMs: t0 + 10).isEmpty)
        let third = try store.recordLoginFailure(email: "eve@x.io", userId: nil, ip: nil, policy: policy, nowMs: t0 + 3)
        #expect(third.isLocked(nowMs: t0 + 10))
        #expect(third.lockedUntilMs == t0 + 3 + 600_000)
        #expect(try store.loginFailures(nowMs: t0 + 10).map(\.email) == ["eve@x.io"])
        try store.recordLoginSuccess(email: "eve@x.io", nowMs: t0 + 20)
        #expect(try store.loginFailures(nowMs: t0 + 30).count == 1, "a success while locked does not unlock")
        try store.unlock(email: "EVE@x.io", by: tester)
        #expect(try store.loginFailures(includeUnlocked: true).isEmpty)
        #expect(throws: StoreError.self) { try store.unlock(email: "eve@x.io", by: tester) }
    }

    @Test(arguments: StoreBackend.allCases) func failuresOutsideTheWindowStartOver(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let policy = LockoutPolicy(threshold: 3, windowMs: 1000, lockoutMs: 5000)
        try store.recordLoginFailure(email: "a@b.c", userId: nil, ip: nil, policy: policy, nowMs: 0)
        try store.recordLoginFailure(email: "a@b.c", userId: nil, ip: nil, policy: policy, nowMs: 500)
        let later = try store.recordLoginFailure(email: "a@b.c", userId: nil, ip: nil, policy: policy, nowMs: 5000)
        #expect(later.failures == 1)
        #expect(!later.isLocked(nowMs: 5000))
    }

    @Test(arguments: StoreBackend.allCases) func theLockoutWindowSlides(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let policy = LockoutPolicy(threshold: 5, windowMs: 1000, lockoutMs: 60_000)
        func fail(at ms: Int64) throws -> LoginFailures {
            try store.recordLoginFailure(email: "burst@x.io", userId: nil, ip: nil, policy: policy, nowMs: ms)
        }
        // Four failures early in a window, then a burst straddling its end: a window fixed at the
        // first failure restarted at 1050 and let the burst through.
        for ms: Int64 in [0, 100, 200, 300] { _ = try fail(at: ms) }
        let straddling = try fail(at: 1050)
        #expect(straddling.failures == 4, "0 fell out of the window; 100, 200, 300 and 1050 are in it")
        #expect(!straddling.isLocked(nowMs: 1050))
        let fifth = try fail(at: 1060)
        #expect(fifth.isLocked(nowMs: 1060), "five failures within 1 s (100...1060) lock")
        #expect(fifth.lockedUntilMs == Int64(1060 + 60_000))
    }

    @Test(arguments: StoreBackend.allCases) func theWindowBoundaryIsExclusive(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let policy = LockoutPolicy(threshold: 2, windowMs: 1000, lockoutMs: 60_000)
        try store.recordLoginFailure(email: "edge@x.io", userId: nil, ip: nil, policy: policy, nowMs: 0)
        // Exactly one window later, the first failure no longer counts ...
        let atEdge = try store.recordLoginFailure(email: "edge@x.io", userId: nil, ip: nil, policy: policy, nowMs: 1000)
        #expect(!atEdge.isLocked(nowMs: 1000))
        // ... one millisecond inside it, it does.
        let inside = try store.recordLoginFailure(email: "edge@x.io", userId: nil, ip: nil, policy: policy, nowMs: 1999)
        #expect(inside.isLocked(nowMs: 1999))
    }

    @Test(arguments: StoreBackend.allCases) func sevenFastFailuresLockWhateverCameBefore(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let policy = LockoutPolicy(threshold: 5, windowMs: 900_000, lockoutMs: 1_800_000)
        // One failure long ago started the old fixed window; seven in 0.4 s just after it ended.
        try store.recordLoginFailure(email: "late@x.io", userId: nil, ip: nil, policy: policy, nowMs: 0)
        var last: LoginFailures?
        for ms: Int64 in [899_800, 899_850, 899_900, 900_010, 900_060, 900_110, 900_160] {
            last = try store.recordLoginFailure(email: "late@x.io", userId: nil, ip: nil, policy: policy, nowMs: ms)
        }
        #expect(last?.isLocked(nowMs: 900_200) == true)
    }

    @Test(arguments: StoreBackend.allCases) func lockoutKeysUseTheNormalizedSpelling(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let policy = LockoutPolicy(threshold: 4, windowMs: 60_000, lockoutMs: 600_000)
        // Case, a trailing dot, fullwidth letters and the Unicode form of the domain: one account.
        for (i, spelling) in ["Eve@Bücher.de", "eve@xn--bcher-kva.de.", "ｅｖｅ@BÜCHER.DE", "EVE@bücher.de"].enumerated() {
            let record = try store.recordLoginFailure(email: spelling, userId: nil, ip: nil, policy: policy, nowMs: Int64(i))
            #expect(record.email == "eve@xn--bcher-kva.de")
            #expect(record.failures == i + 1)
        }
        #expect(try store.loginFailures(nowMs: 10).map(\.email) == ["eve@xn--bcher-kva.de"])
        try store.unlock(email: "EVE@BÜCHER.DE.", by: tester)
        #expect(try store.loginFailures(includeUnlocked: true).isEmpty)

        // Sub-addresses are separate accounts until folding is switched on for the store.
        try store.recordLoginFailure(email: "a.b+1@gmail.com", userId: nil, ip: nil, policy: policy, nowMs: 0)
        #expect(try store.recordLoginFailure(email: "ab@gmail.com", userId: nil, ip: nil, policy: policy, nowMs: 1).failures == 1)
        try store.setFoldAddresses(true, by: tester)
        #expect(try store.foldAddresses())
        #expect(try store.recordLoginFailure(email: "A.B+2@Gmail.com", userId: nil, ip: nil, policy: policy, nowMs: 2).failures == 2)
        #expect(try store.auditLog().first?.action == "normalize.fold_addresses")
    }

    @Test func cidrMatching() {
        #expect(IPNetwork("10.0.0.0/8")!.contains(IPAddress("10.200.3.4")!))
        #expect(!IPNetwork("10.0.0.0/8")!.contains(IPAddress("11.0.0.1")!))
        #expect(IPNetwork("2001:db8::/32")!.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!IPNetwork("2001:db8::/32")!.contains(IPAddress("10.0.0.1")!))
        #expect(IPNetwork("192.168.1.7")!.contains(IPAddress("192.168.1.7")!))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        #expect(IPNetwork("300.1.1.1") == nil)
    }

    /// The byte-level IPv4 reader against inet_pton, the general path: whatever it reads, inet_pton
    /// reads as the same address, and it reads every plain dotted quad inet_pton does.
    @Test func theFastIPv4ReaderAgreesWithInetPton() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789.")
        var samples = ["0.0.0.0", "255.255.255.255", "1.2.3.4", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3",
                       "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "10.0.0.255", "100.200.30.4", "1.2.3.4 ", "0.00.0.0"]
        for _ in 0..<20_000 {
            samples.append(String((0..<Int.random(in: 0...16, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for text in samples {
            var address = in_addr()
            let general: UInt32? = inet_pton(AF_INET, text, &address) == 1 ? UInt32(bigEndian: address.s_addr) : nil
            let fast = IPText.plainIPv4(text)
            if let fast { #expect(fast == general, "\(text)") }
            // In this alphabet inet_pton reads only plain dotted quads, which the fast reader must take.
            if general != nil { #expect(fast == general, "\(text)") }
            // IPAddress trims padding first; otherwise it reads exactly what inet_pton reads.
            if !text.contains(" ") { #expect(IPAddress(text).map(\.description) == general.map { _ in text }, "\(text)") }
        }
    }
}
