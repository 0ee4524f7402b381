import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

/// One row the database refuses never costs another: NUL (which PostgreSQL refuses in text) is
/// stored reversibly on both backends, and a row that still fails is isolated from its batch.
@Suite(.serialized) struct PoisonRowTests {
    static let hostile = ["a\0b@example.com", "\0", "\u{E000}0", "\u{E000}", "x\u{E000}\u{E000}0\0\u{E000}", "tab\there\\n\0\r\n"]

    @Test(arguments: StoreBackend.allCases) func everyTextRoundTripsAndKeepsItsPlace(_ backend: StoreBackend) async throws {
        let store = try await Store.open(path: backend.newDatabase(), access: .pool)
        let writer = EventWriter(store: store)
        _ = Task { await writer.run() }
        var sent: [Event] = []
        for (n, text) in Self.hostile.enumerated() {
            var event = sampleEvent(n, email: text)
            event.userAgent = text
            event.reason = text
            event.detail = text
            event.deviceFingerprint = text
            event.node = text
            sent.append(event)
            writer.submit(sampleEvent(100 + n, email: "before\(n)@example.com"))
            writer.submit(event)
            writer.submit(sampleEvent(200 + n, email: "after\(n)@example.com"))
        }
        await writer.close()
        #expect(writer.stats.written == 3 * Self.hostile.count && writer.stats.dropped == 0 && writer.stats.rejected == 0)
        let stored = try await BlockingWork.run { try store.latestEvents(limit: 1000).reversed().map { $0 } }
        #expect(stored.count == 3 * Self.hostile.count)
        for (n, event) in sent.enumerated() {
            let row = stored[3 * n + 1]
            #expect(row.email == event.email && row.userAgent == event.userAgent && row.reason == event.reason
                    && row.detail == event.detail && row.deviceFingerprint == event.deviceFingerprint && row.node == event.node,
                    "\(backend): \(String(reflecting: event.email)) came back as \(String(reflecting: row.email))")
            #expect(stored[3 * n].email == "before\(n)@example.com" && stored[3 * n + 2].email == "after\(n)@example.com")
        }
    }

    /// A store whose events table refuses every row that meets `condition` (`{row}` stands for
    /// the new row): a CHECK constraint on PostgreSQL (SQLSTATE 23514), a trigger on SQLite
    /// (SQLITE_CONSTRAINT), as a value the database cannot store would be refused.
    static func store(_ backend: StoreBackend, refusingRowsWhere condition: String) throws -> Store {
        let store = try Store(path: backend.newDatabase(), access: .pool)
        try store.writing { db in
            if db.dialect == .postgres {
                let check = condition.replacingOccurrences(of: "{row}", with: "")
                try db.execute("ALTER TABLE events ADD CONSTRAINT refused CHECK (NOT (\(check))) NOT VALID")
            } else {
                let when = condition.replacingOccurrences(of: "{row}", with: "NEW.")
                try db.execute("CREATE TRIGGER refused BEFORE INSERT ON events WHEN \(when) BEGIN SELECT RAISE(ABORT, 'refused'); END")
            }
        }
        return store
    }

    @Test func theStoredFormIsDocumentedAndTheSameOnBothBackends() {
        #expect(StoredText.encode("a\0b") == "a\u{E000}0b")
        #expect(StoredText.encode("\u{E000}") == "\u{E000}\u{E000}")
        #expect(StoredText.encode("plain") == "plain")
        for text in Self.hostile { #expect(StoredText.decode(StoredText.encode(text)) == text) }
    }

    /// A row the database refuses (here a constraint only that row breaks) is written alone and
    /// counted; every other row of the batch is written, and each durable waiter hears about its
    /// own row only.
    @Test(arguments: StoreBackend.allCases) func aRefusedRowIsIsolatedAndOnlyItsWaiterHearsIt(_ backend: StoreBackend) async throws {
        let store = try Self.store(backend, refusingRowsWhere: "{row}email = 'poison@example.com'")
        // A long window, so that all forty go into one batch.
        let writer = EventWriter(store: store, gather: .window(.milliseconds(300)))
        _ = Task { await writer.run() }
        let answers = await withTaskGroup(of: (String, Bool).self) { group in
            for n in 0..<40 {
                let email = n == 17 ? "poison@example.com" : "client\(n)@example.com"
                group.addTask { (email, await writer.append(sampleEvent(n, email: email))) }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(answers.count == 40)
        #expect(answers["poison@example.com"] == false)
        let refused = answers.filter { !$0.value }.keys.sorted()
        #expect(refused == ["poison@example.com"])
        let count = try await BlockingWork.run { try store.eventCount() }
        #expect(count == 39)
        #expect(writer.stats.rejected == 1 && writer.stats.dropped == 0 && writer.stats.written == 39)
        #expect(writer.stats.lastRejectedMs != nil)
        await writer.close()
    }

    /// A failure every row shares (here a constraint no row meets) is not bisected down to each
    /// row: splitting has a budget, and the batch is given up in a few dozen transactions.
    @Test(arguments: StoreBackend.allCases) func aFailureEveryRowSharesCostsAFewTransactionsNotOnePerRow(_ backend: StoreBackend) async throws {
        let store = try Self.store(backend, refusingRowsWhere: "{row}ts_ms >= 0")
        let writer = EventWriter(store: store, gather: .window(.milliseconds(300)))
        _ = Task { await writer.run() }
        for n in 0..<4000 { writer.submit(sampleEvent(n)) }
        let start = ContinuousClock.now
        await writer.close()
        let stats = writer.stats
        #expect(stats.written == 0 && stats.dropped + stats.rejected == 4000, "\(stats)")
        // The writer takes at most 512 events a batch: each batch spends its own budget, and only
        // what a budget reached was tried alone, far from one transaction per row.
        #expect(stats.rejected < 1000 && stats.dropped > 3000, "\(stats)")
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
