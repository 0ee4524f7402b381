import Testing
import Foundation
import ActionsProtocol
import GRDB
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

@Suite struct EventWriterTests {
    @Test(arguments: StoreBackend.allCases) func concurrentProducersLoseNothing(_ backend: StoreBackend) async throws {
        let store = try await Store.open(path: backend.newDatabase(), access: .pool)
        let writer = EventWriter(store: store)
        _ = Task { await writer.run() }
        let producers = 8, perProducer = 2_500
        await withTaskGroup(of: Void.self) { group in
            for p in 0..<producers {
                group.addTask {
                    for i in 0..<perProducer { writer.submit(sampleEvent(p * perProducer + i)) }
                }
            }
        }
        await writer.close()
        #expect(try await BlockingWork.run { try store.eventCount() } == producers * perProducer)
        #expect(writer.stats.dropped == 0)
        #expect(writer.stats.written == producers * perProducer)
        let status = try await BlockingWork.run { try store.writerStatuses() }
        #expect(status.first?.written == producers * perProducer)
    }

    /// Durable mode's promise rests on `synchronous = FULL` on the connection that writes: an
    /// fsync per commit. A DatabasePool used to reset it to NORMAL when it switched to WAL, after
    /// the store had set it, so durable commits were never synced.
    @Test func aDurableStoreSyncsEveryCommitOnItsWriter() throws {
        for access in [Store.Access.pool, .single] {
            let durable = try Store(path: temporaryDatabasePath(), access: access, syncEveryCommit: true)
            #expect(try durable.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2, "FULL, \(access)")
            let background = try Store(path: temporaryDatabasePath(), access: access)
            #expect(try background.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 1, "NORMAL, \(access)")
        }
    }

    @Test(arguments: StoreBackend.allCases) func aCallerCanAwaitDurability(_ backend: StoreBackend) async throws {
        let store = try await Store.open(path: backend.newDatabase(), access: .pool)
        let writer = EventWriter(store: store)
        _ = Task { await writer.run() }
        let ok = await writer.append(sampleEvent(1, email: "durable@example.com"))
        #expect(ok)
        // Durable means another connection sees it now, not eventually.
        let durable = try await BlockingWork.run { try Store(path: store.path).latestEvents(EventFilter(text: "durable")).count }
        #expect(durable == 1)
        await writer.close()
    }

    /// Durable mode's gathering window ends once as many events are in as the previous commit
    /// held: callers awaiting one event at a time (a commit of one, then one waiting) must not sit
    /// out the window. With a 60 s window, each of these would take 60 s if they did: the bound
    /// below is far from both that and what a busy machine takes for four commits.
    @Test func aBusyGatherEndsOnceThePreviousBatchSizeIsIn() async throws {
        let store = try await Store.open(path: temporaryDatabasePath(), access: .pool)
        let writer = EventWriter(store: store, gather: .whileBusy(upTo: .seconds(60), busyAt: 1))
        _ = Task { await writer.run() }
        let start = ContinuousClock.now
        for n in 0..<4 {
            #expect(await writer.append(sampleEvent(n)))
        }
        #expect(ContinuousClock.now - start < .seconds(30), "four commits in a row, none waiting out the window")
        #expect(try await BlockingWork.run { try store.eventCount() } == 4)
        await writer.close()
    }

    /// Background mode's window is waited out whole (nobody waits on the commit, and the batch
    /// grows), whatever the last commit held: one event alone is committed only when it closes.
    @Test func aBackgroundWindowGathersForItsWholeLength() async throws {
        let store = try await Store.open(path: temporaryDatabasePath(), access: .pool)
        let writer = EventWriter(store: store, gather: .window(.milliseconds(600)))
        _ = Task { await writer.run() }
        for n in 0..<2 {
            let start = ContinuousClock.now
            #expect(await writer.append(sampleEvent(n)))
            #expect(ContinuousClock.now - start >= .milliseconds(500), "commit \(n) waited for the window")
        }
        await writer.close()
    }

    @Test func aFullQueueCountsDropsInsteadOfLosingSilently() async throws {
        let path = temporaryDatabasePath()
        let store = try await Store.open(path: path, access: .pool, busyTimeout: 0.05)
        // Another process-like connection holds the write lock, so nothing can be written.
        // (On a blocking thread: a second in a task would hold one of the pool's two threads.)
        let blocker = try await Store.open(path: path)
        let locked = Task {
            try? await BlockingWork.run {
                try blocker.db.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    Thread.sleep(forTimeInterval: 1.0)
                    try db.execute(sql: "COMMIT")
                }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let writer = EventWriter(store: store, capacity: 100)
        _ = Task { await writer.run() }
        var accepted = 0
        for i in 0..<150 where writer.submit(sampleEvent(i)) != nil { accepted += 1 }
        #expect(accepted == 100)
        #expect(writer.stats.dropped == 50)
        await locked.value
        await writer.close()
        // Everything accepted while the database was locked was written once it freed up.
        #expect(try await BlockingWork.run { try store.eventCount() } == 100)
        #expect(writer.stats.dropped == 50)
    }
}
