import Testing
import Foundation
import ActionsTestSupport
import GRDB
import GRDBSQLite
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore

/// SQLite's search index lives in a file of its own (`<log>-search`) so that filling it never
/// holds the lock the event writer needs.
@Suite struct SearchIndexFileTests {
    /// Another connection that holds `path`'s write lock until `release()`: what the event writer
    /// holds while it commits, or the indexer while it writes a batch.
    /// (SQLite's own API: GRDB refuses to leave a transaction open.)
    final class WriteLock {
        private var handle: OpaquePointer?
        init(_ path: String) throws {
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK,
                  sqlite3_exec(handle, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else {
                throw StoreError.sqlite(code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
            }
        }
        func release() {
            sqlite3_exec(handle, "COMMIT", nil, nil, nil)
            sqlite3_close(handle)
        }
    }

    func needles(_ range: Range<Int>) -> [Event] { range.map { sampleEvent($0, email: "n\($0)@needle.io") } }

    /// Each side only reads the other's file: the indexer fills the index while the log's write
    /// lock is held, and events are written while the index's is. With the index in the log's
    /// file, the first waited out the busy timeout and failed.
    @Test func theIndexerAndTheEventWriterNeverWaitForEachOther() throws {
        let path = temporaryDatabasePath()
        let store = try Store(path: path, busyTimeout: 0.2)
        try store.insert(needles(0..<20))

        let logLock = try WriteLock(path)
        #expect(try store.indexSearch() == 20, "indexing while another connection writes the log")
        #expect(try store.latestEvents(EventFilter(text: "n7@needle", textScanLimit: 1), limit: 10).map(\.email) == ["n7@needle.io"])
        logLock.release()

        let indexLock = try WriteLock(SearchIndexFile.path(forLog: path))
        try store.insert(needles(20..<25))
        #expect(try store.eventCount() == 25, "writing events while the indexer holds its file")
        #expect(try store.latestEvents(EventFilter(text: "needle"), limit: 100).count == 25, "searches read beside it")
        // A dashboard that opens meanwhile still searches through the index (a scan of the newest
        // row alone would not find n3).
        let dashboard = try Store(path: path, busyTimeout: 0.2)
        #expect(try dashboard.latestEvents(EventFilter(text: "n3@needle", textScanLimit: 1), limit: 10).map(\.email) == ["n3@needle.io"])
        indexLock.release()
        #expect(try store.indexSearch() == 5)
    }

    /// Pruned events leave the index itself, not only the results (which are read from the log),
    /// so it does not grow with events long gone; pruning again deletes nothing twice.
    @Test func prunedEventsLeaveTheIndexFile() throws {
        let store = try Store(path: temporaryDatabasePath())
        try store.insert(needles(0..<30))
        #expect(try store.indexSearch() == 30)
        func indexed() throws -> [Int64] {
            try store.read { try Int64.fetchAll($0, sql: "SELECT rowid FROM search.events_search WHERE events_search MATCH ? ORDER BY rowid",
                                        arguments: [EventFilter.trigramQuery("needle")]) }
        }
        let ids = try indexed()
        #expect(ids.count == 30)
        #expect(try store.prune(maxRows: 10) == 20)
        #expect(try indexed() == Array(ids.suffix(10)))
        #expect(try store.prune(maxRows: 10) == 0)
        // Events not yet indexed when pruned are never indexed; the rest carries on.
        try store.insert(needles(30..<40))
        #expect(try store.prune(maxRows: 5) == 15)
        #expect(try store.indexSearch() == 5)
        #expect(try indexed().count == 5)
        #expect(try store.latestEvents(EventFilter(text: "needle", textScanLimit: 1), limit: 100).map(\.email)
                == (35..<40).reversed().map { "n\($0)@needle.io" })
    }

    /// FTS5 merges segments 16 at a time on an index without a setting of its own (a fresh one,
    /// or one made before the setting existed); an index's own setting is left as it is.
    @Test func theIndexMergesSixteenSegmentsAtATimeUnlessSetOtherwise() throws {
        let path = temporaryDatabasePath()
        let store = try Store(path: path)
        try store.insert(needles(0..<5))
        func automerge() throws -> Int? {
            try DatabaseQueue(path: SearchIndexFile.path(forLog: path)).read { db in
                try Int.fetchOne(db, sql: "SELECT v FROM events_search_config WHERE k = 'automerge'")
            }
        }
        #expect(try automerge() == nil, "nothing set before the first batch")
        #expect(try store.indexSearch() == 5)
        #expect(try automerge() == SearchIndexFile.automerge)
        let crisismerge = try DatabaseQueue(path: SearchIndexFile.path(forLog: path)).read { db in
            try Int.fetchOne(db, sql: "SELECT v FROM events_search_config WHERE k = 'crisismerge'")
        }
        #expect(crisismerge == SearchIndexFile.crisismerge)
        try DatabaseQueue(path: SearchIndexFile.path(forLog: path)).write { db in
            try db.execute(sql: "INSERT INTO events_search(events_search, rank) VALUES ('automerge', 2)")
        }
        try store.insert(needles(5..<10))
        #expect(try store.indexSearch() == 5)
        #expect(try automerge() == 2)
        #expect(try store.latestEvents(EventFilter(text: "needle"), limit: 100).count == 10)
    }

    /// The index holds nothing the log does not. A deleted index is made again and filled from
    /// the start; a read-only store that finds none searches by scanning the log.
    @Test func aMissingIndexIsRebuiltOrScannedAround() throws {
        let path = temporaryDatabasePath()
        do {
            let store = try Store(path: path)
            try store.insert(needles(0..<12))
            try store.indexSearch()
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: SearchIndexFile.path(forLog: path) + suffix) }

        let reader = try Store(path: path, readOnly: true)
        #expect(try reader.searchBacklog() == 12)
        #expect(try reader.latestEvents(EventFilter(text: "needle"), limit: 100).count == 12)
        #expect(!FileManager.default.fileExists(atPath: SearchIndexFile.path(forLog: path)), "a reader makes no file")

        let store = try Store(path: path)
        let mode = try FileManager.default.attributesOfItem(atPath: SearchIndexFile.path(forLog: path))[.posixPermissions] as? Int
        #expect(mode == 0o600, "the index holds emails and addresses, as the log does")
        #expect(try store.searchBacklog() == 12)
        #expect(try store.indexSearch() == 12)
        #expect(try store.latestEvents(EventFilter(text: "n3@needle", textScanLimit: 1), limit: 10).map(\.email) == ["n3@needle.io"])
    }

    /// ATTACH takes the index's path as a URI: characters that would end or change it are escaped.
    @Test func aLogPathWithURICharactersStillFindsItsIndex() throws {
        let directory = Scratch.directory("uri")
        let path = directory.appendingPathComponent("a?b#c%20 d.db").path
        let store = try Store(path: path)
        try store.insert(needles(0..<3))
        #expect(try store.indexSearch() == 3)
        #expect(try store.latestEvents(EventFilter(text: "n1@needle", textScanLimit: 1), limit: 10).map(\.email) == ["n1@needle.io"])
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
        #expect(Set(files) == ["a?b#c%20 d.db", "a?b#c%20 d.db-search"])
    }
}
