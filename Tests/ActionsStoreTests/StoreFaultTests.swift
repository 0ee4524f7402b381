import Testing
import Foundation
import GRDB
import Synchronization
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore

/// A locked file, a corrupt file, and processes racing to create one.
@Suite(.serialized) struct StoreFaultTests {
    /// Holds SQLite's write lock from another connection on its own thread, like another process would.
    final class LockHolder: @unchecked Sendable {
        private let release = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)

        init(path: String, seconds: Double) throws {
            let queue = try DatabaseQueue(path: path)
            let taken = DispatchSemaphore(value: 0)
            Thread.detachNewThread { [release, done] in
                try? queue.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN EXCLUSIVE")
                    taken.signal()
                    _ = release.wait(timeout: .now() + seconds)
                    try db.execute(sql: "COMMIT")
                }
                done.signal()
            }
            taken.wait()
        }

        func releaseNow() {
            release.signal()
            done.wait()
        }
    }

    @Test func errorsAreClassifiedByResultCodeNotByText() {
        #expect(StoreError.sqlite(code: 5, message: "database is locked").isTransient)
        #expect(StoreError.sqlite(code: 13, message: "database or disk is full").isTransient)
        #expect(StoreError.sqlite(code: 10, message: "disk I/O error").isTransient)
        // The message mentions "disk", but corruption never passes by itself.
        #expect(!StoreError.sqlite(code: 11, message: "database disk image is malformed").isTransient)
        #expect(!StoreError.sqlite(code: 19, message: "UNIQUE constraint failed").isTransient)
        #expect(!StoreError.readOnly(path: "x").isTransient)
    }

    @Test func aLockedWriteReportsItsResultCode() throws {
        let path = temporaryDatabasePath()
        let store = try Store(path: path, busyTimeout: 0.05)
        let holder = try LockHolder(path: path, seconds: 10)
        defer { holder.releaseNow() }
        #expect(throws: StoreError.self) { try store.setErrorMode(.failOpen, for: .authentication, by: tester) }
        do {
            try store.setErrorMode(.failOpen, for: .authentication, by: tester)
        } catch {
            #expect(error.sqliteCode == 5, "\(error)")
        }
    }

    @Test func closingGivesUpOnABatchStuckBehindALockAfterTheGracePeriod() async throws {
        let path = temporaryDatabasePath()
        let store = try await Store.open(path: path, access: .pool, busyTimeout: 0.1)
        let holder = try LockHolder(path: path, seconds: 60)
        let writer = EventWriter(store: store, shutdownGraceSeconds: 1)
        _ = Task { await writer.run() }
        for i in 0..<10 { writer.submit(sampleEvent(i)) }
        // Let the writer take the batch and start retrying it before the shutdown begins.
        try await Task.sleep(for: .milliseconds(300))
        let start = Date()
        await writer.close()
        let took = Date().timeIntervalSince(start)
        holder.releaseNow()
        // Far below the lock's 60 s: the grace period ended it, not the lock.
        #expect(took < 30, "close() took \(took) s with a 1 s grace period")
        #expect(writer.stats.dropped == 10)
        #expect(writer.stats.lastError?.contains("locked") == true)
    }

    @Test func aCorruptDatabaseIsNotRetriedForever() async throws {
        let path = temporaryDatabasePath()
        do {
            let store = try await Store.open(path: path, access: .pool)
            let writer = EventWriter(store: store)
            _ = Task { await writer.run() }
            for i in 0..<5_000 { writer.submit(sampleEvent(i)) }
            await writer.close()
            try await BlockingWork.run { store.checkpoint() }
        }
        // Scribble over the second half of the file: the events table and its indexes grew last.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size - size / 2)))
        try handle.close()

        let store = try await Store.open(path: path, access: .pool, busyTimeout: 0.1)
        let writer = EventWriter(store: store, gather: .window(.zero), shutdownGraceSeconds: 1)
        _ = Task { await writer.run() }
        for i in 0..<50 { writer.submit(sampleEvent(10_000 + i)) }
        let written = await writer.append(sampleEvent(20_000))
        #expect(!written, "an event cannot be committed into a corrupt file")
        let start = Date()
        await writer.close()
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(writer.stats.dropped == 51)
        #expect(writer.stats.lastError?.contains("malformed") == true, "\(writer.stats.lastError ?? "")")
    }

    @Test func processesOpeningANewDatabaseAtOnceDoNotRaceTheirMigrations() throws {
        for _ in 0..<8 {
            let path = temporaryDatabasePath()
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do {
                    let store = try Store(path: path, busyTimeout: 5)
                    _ = try store.configVersion()
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 } == [])
        }
    }
}

@Suite struct DurationTextTests {
    @Test func durationsAreBoundedSoThatAddingThemToNowCannotOverflow() {
        #expect(DurationText.milliseconds("90s") == Int64(90_000))
        #expect(DurationText.milliseconds("7d") == Int64(7 * 86_400_000))
        #expect(DurationText.milliseconds("36500d") == DurationText.maxMilliseconds)
        #expect(DurationText.milliseconds("36501d") == nil)
        #expect(DurationText.milliseconds("9223372036854775807s") == nil)
        #expect(DurationText.milliseconds("106751991167d") == nil)
        #expect(DurationText.milliseconds("-5m") == nil)
        #expect(DurationText.milliseconds("0s") == nil)
        // The largest accepted duration still fits beside any current time.
        #expect(WallClock.nowMs().addingReportingOverflow(DurationText.maxMilliseconds).overflow == false)
    }
}

/// Every SQLite write goes through `Database.immediateTransaction`, with BEGIN and COMMIT as
/// cached statements: what throws, and a COMMIT SQLite refuses, must leave nothing behind and
/// the connection ready for the next transaction.
@Suite struct ImmediateTransactionTests {
    struct Stop: Error {}

    @Test func whatThrowsOrFailsToCommitLeavesNothingAndTheNextCommits() throws {
        let queue = try DatabaseQueue()
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: """
                PRAGMA foreign_keys = ON;
                CREATE TABLE t(x);
                CREATE TABLE p(id INTEGER PRIMARY KEY);
                CREATE TABLE c(p REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)
                """)
            func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1 }
            #expect(throws: Stop.self) {
                try db.immediateTransaction { db in
                    try db.execute(sql: "INSERT INTO t VALUES (1)")
                    throw Stop()
                }
            }
            #expect(!db.isInsideTransaction)
            #expect(try count("t") == 0)
            // A deferred foreign key fails the COMMIT itself, which leaves the transaction open.
            #expect(throws: DatabaseError.self) {
                try db.immediateTransaction { db in try db.execute(sql: "INSERT INTO c VALUES (5)") }
            }
            #expect(!db.isInsideTransaction)
            #expect(try count("c") == 0)
            for value in 2...3 {
                try db.immediateTransaction { db in try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [value]) }
            }
            #expect(!db.isInsideTransaction)
            #expect(try count("t") == 2)
        }
    }
}
