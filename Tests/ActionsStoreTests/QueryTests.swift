import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

@Suite struct QueryTests {
    func seeded(_ backend: StoreBackend) throws -> Store {
        let store = try Store(path: backend.newDatabase())
        let now = WallClock.nowMs()
        var events: [Event] = []
        for i in 0..<200 {
            let deny = i % 4 == 0
            let outcome: Outcome = i % 10 == 0 ? .timeout : .ok
            events.append(sampleEvent(i, timeMs: now - Int64(200 - i) * 1000, verdict: deny ? .deny : .allow,
                                      outcome: outcome, type: i % 2 == 0 ? .authentication : .userRegistration,
                                      latencyUs: Int64(i + 1) * 100))
        }
        try store.insert(events)
        return store
    }

    @Test(arguments: StoreBackend.allCases) func newestFirstAndTail(_ backend: StoreBackend) throws {
        let store = try seeded(backend)
        let newest = try store.latestEvents(limit: 5)
        #expect(newest.map(\.actionId) == ["act_199", "act_198", "act_197", "act_196", "act_195"])
        let tail = try store.events(after: newest[2].id!)
        #expect(tail.map(\.actionId) == ["act_198", "act_199"])
        #expect(try store.latestEvents(limit: 2, beforeID: newest[2].id!).map(\.actionId) == ["act_196", "act_195"])
    }

    @Test(arguments: StoreBackend.allCases) func filtersCombine(_ backend: StoreBackend) throws {
        let store = try seeded(backend)
        let denied = try store.latestEvents(EventFilter(deniedOnly: true), limit: 1000)
        #expect(denied.count == 50)
        #expect(denied.allSatisfy { $0.verdict == .deny })
        let failures = try store.latestEvents(EventFilter(failuresOnly: true), limit: 1000)
        #expect(failures.count == 20)
        let both = try store.latestEvents(EventFilter(deniedOnly: true, failuresOnly: true, actionType: .authentication), limit: 1000)
        #expect(both.count == 10)
        let text = try store.latestEvents(EventFilter(text: "USER17"), limit: 1000)
        #expect(Set(text.map(\.actionId)) == ["act_17", "act_170", "act_171", "act_172", "act_173", "act_174", "act_175", "act_176", "act_177", "act_178", "act_179"])
        let lastMinute = try store.latestEvents(EventFilter(sinceMs: WallClock.nowMs() - 60_500), limit: 1000)
        #expect(lastMinute.count == 60)
        #expect(try store.latestEvents(EventFilter(text: "100%_"), limit: 10).isEmpty)
    }

    @Test(arguments: StoreBackend.allCases) func windowedStats(_ backend: StoreBackend) throws {
        let store = try seeded(backend)
        let stats = try store.stats(windowMs: 100_500)
        #expect(stats.total == 100)
        #expect(stats.denied == 25)
        #expect(stats.allowed == 75)
        #expect(stats.failures[.timeout] == 10)
        #expect(stats.p50Us == 15_000)
        #expect(stats.p99Us == 19_900)
        #expect(try store.stats(windowMs: 100_500, actionType: .authentication).total == 50)
    }

    @Test(arguments: StoreBackend.allCases) func dataVersionSeesOtherConnectionsCommits(_ backend: StoreBackend) throws {
        let store = try seeded(backend)
        let other = try Store(path: store.path)
        let before = try store.dataVersion()
        #expect(try store.dataVersion() == before)
        try other.insert([sampleEvent(999)])
        #expect(try store.dataVersion() != before)
    }

    /// Hostile and awkward text survives the write path of each backend byte for byte (PostgreSQL
    /// streams rows as COPY text, where tabs, newlines and backslashes must be escaped).
    @Test(arguments: StoreBackend.allCases) func awkwardTextRoundTripsExactly(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        var event = sampleEvent(1, email: "tab\there\nnew\\line\r@exämple.com")
        event.userAgent = "curl \u{1b}[2J \\N \t\t"
        event.reason = nil
        event.detail = "\\N"
        event.node = "node\twith tab"
        try store.insert([event])
        let read = try #require(try store.latestEvents(limit: 1).first)
        #expect(read.email == event.email && read.userAgent == event.userAgent && read.detail == "\\N")
        #expect(read.reason == nil && read.node == event.node)
    }

    /// SQLite writes a batch `Event.rowsPerInsert` rows a statement and the rest a row at a time:
    /// every row lands whole, field for field, and in the order given, whichever way it went in.
    @Test(arguments: StoreBackend.allCases) func aBatchLandsWholeAndInOrder(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let count = Event.rowsPerInsert * 2 + 5
        let events = (0..<count).map { i in
            var event = sampleEvent(i, verdict: i % 4 == 0 ? .deny : .allow, latencyUs: Int64(i))
            event.email = i % 3 == 0 ? nil : event.email
            event.userAgent = i % 2 == 0 ? nil : "agent \(i)"
            event.ruleId = i % 5 == 0 ? Int64(i) : nil
            event.httpStatus = i % 7 == 0 ? 500 : nil
            event.isTest = i % 11 == 0
            return event
        }
        try store.insert(events)
        let read = Array(try store.latestEvents(limit: count + 1).reversed())
        #expect(read.count == count)
        for (written, landed) in zip(events, read) {
            var expected = written
            expected.id = landed.id
            #expect(landed == expected)
        }
        #expect(zip(read, read.dropFirst()).allSatisfy { $0.id! < $1.id! })
    }

    @Test(arguments: StoreBackend.allCases) func retentionByAgeAndByCount(_ backend: StoreBackend) throws {
        let store = try seeded(backend)
        #expect(try store.prune(maxAgeMs: 50_500, batchSize: 7) == 150)
        #expect(try store.eventCount() == 50)
        #expect(try store.prune(maxRows: 20, batchSize: 7) == 30)
        #expect(try store.latestEvents(limit: 100).map(\.actionId).last == "act_180")
        #expect(try store.prune(maxRows: 20) == 0)
    }
}

@Suite struct EventIDTests {
    @Test func idsAreTimeOrderedHexWithTheirPrefix() {
        let a = Event.newUID(nowMs: 1_700_000_000_000)
        let b = Event.newUID(nowMs: 1_700_000_000_001)
        #expect(a.hasPrefix("evt_018bcfe56800"))
        #expect(a.count == 26 && b.count == 26)
        #expect(a < b)
        #expect(a.dropFirst(4).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(Event.newID(prefix: "act_", nowMs: 0).hasPrefix("act_000000000000"))
        #expect(Set((0..<1000).map { _ in Event.newUID(nowMs: 5) }).count == 1000)
    }
}

@Suite struct SearchBoundTests {
    /// Three characters or more: the trigram index serves the whole log, whatever the scan bound.
    /// Shorter: no trigram to look up, so the bound applies (and the dashboard says so).
    @Test(arguments: StoreBackend.allCases) func searchesCoverTheWholeLogThroughTheIndex(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        try store.insert((0..<40).map { sampleEvent($0, email: $0 < 10 ? "old\($0)@Needle.io" : "new\($0)@needle.io") })
        // The first 40 are indexed, the last 10 not yet: a search sees both.
        #expect(try store.indexSearch() == 40)
        try store.insert((40..<50).map { sampleEvent($0, email: "new\($0)@needle.io") })
        #expect(try store.searchBacklog() == 10)
        #expect(try store.latestEvents(EventFilter(text: "needle", textScanLimit: 20), limit: 100).count == 50)
        #expect(try store.latestEvents(EventFilter(text: "NEEDLE.IO", textScanLimit: 20), limit: 100).count == 50, "any case")
        // Rows the index has not reached are scanned, bounded like a short search when a bound is given.
        #expect(try store.latestEvents(EventFilter(text: "needle", textScanLimit: 5), limit: 100).count == 45)
        #expect(try store.latestEvents(EventFilter(text: "old3@", textScanLimit: 20), limit: 100).map(\.email) == ["old3@Needle.io"])
        // A match across two columns' boundary is not a match (SQLite indexes each column apart;
        // PostgreSQL's indexed text joins them, and the per-column recheck drops it).
        #expect(try store.latestEvents(EventFilter(text: "io needle"), limit: 100).isEmpty)
        #expect(try store.latestEvents(EventFilter(text: "100% _x"), limit: 100).isEmpty, "LIKE wildcards are literal")
        let short = try store.latestEvents(EventFilter(text: "ne", textScanLimit: 20), limit: 100)
        #expect(short.count == 20 && short.allSatisfy { $0.email?.hasPrefix("new") == true })
        #expect(EventFilter(textScanLimit: 5).isEmpty)
        // Pruned events leave the index with their rows (indexed or not).
        try store.indexSearch()
        _ = try store.prune(maxAgeMs: nil, maxRows: 5)
        #expect(try store.latestEvents(EventFilter(text: "needle"), limit: 100).count == 5)
        #expect(try store.latestEvents(EventFilter(text: "old3@"), limit: 100).isEmpty)
    }

    /// Reasons are indexed once per distinct reason on SQLite, and the email's domain only where the
    /// email lacks it: both must still be found through the index, and leave it with their events.
    @Test(arguments: StoreBackend.allCases) func reasonsAndNormalizedDomainsAreFoundThroughTheIndex(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        var events = (0..<10).map { n in
            var event = sampleEvent(n, verdict: n < 4 ? .deny : .allow)
            event.reason = n < 4 ? "email domain spam.test is deny-listed (rule 7)" : "no policy matched; no endpoint configured"
            return event
        }
        var idn = sampleEvent(10, email: "Ana@Bücher.de")
        idn.emailDomain = "xn--bcher-kva.de"
        events.append(idn)
        try store.insert(events)
        #expect(try store.indexSearch() == 11)
        // A scan bound of one row: only the index can find the older matches.
        func search(_ text: String) throws -> [Event] { try store.latestEvents(EventFilter(text: text, textScanLimit: 1), limit: 100) }
        #expect(try search("(rule 7)").count == 4)
        #expect(try search("DENY-LISTED").count == 4, "any case")
        #expect(try search("policy matched").count == 6)
        #expect(try search("xn--bcher").map(\.email) == ["Ana@Bücher.de"])
        #expect(try search("ana@b").map(\.email) == ["Ana@Bücher.de"])
        #expect(try search("rule 8").isEmpty)
        // Pruned events leave the reason index too: the newest 8 keep one of the four.
        _ = try store.prune(maxAgeMs: nil, maxRows: 8)
        #expect(try search("(rule 7)").count == 1)
        #expect(try search("policy matched").count == 6)
    }
}

@Suite struct LoggedAttemptTests {
    /// What rate windows are rebuilt and synced from: real attempts only, every one once, across
    /// page boundaries, with the texts in their own spelling.
    @Test(arguments: StoreBackend.allCases) func attemptsStreamInPagesWithoutTestsOrInvalidRequests(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let events = (0..<23).map { n in
            var event = sampleEvent(n, email: n == 5 ? "nul\u{0}byte@example.com" : nil)
            event.node = "node-\(n % 3)"
            if n % 7 == 0 || n == 22 { event.isTest = true }
            if n == 11 { event.decidedBy = .invalid }
            return event
        }
        try store.insert(events)
        let ids: [Int64] = try store.latestEvents(limit: 100).reversed().compactMap(\.id)
        var seen: [LoggedAttempt] = []
        let last = try store.forEachAttempt(after: ids[1], pageSize: 4) { seen.append($0) }
        let expected = zip(ids, events).filter { $0.0 > ids[1] && !$0.1.isTest && $0.1.decidedBy != .invalid }
        #expect(seen.map(\.id) == expected.map { $0.0 })
        #expect(seen.map(\.email) == expected.map { $0.1.email })
        #expect(seen.map(\.node) == expected.map { $0.1.node })
        #expect(seen.map(\.ip) == expected.map { $0.1.ip })
        #expect(last == ids.last, "read past the trailing test action too")
        #expect(try store.forEachAttempt(after: last) { _ in Issue.record("nothing is left after the last") } == last)
    }
}

@Suite struct SearchCaseTests {
    /// Case folds for every letter, not ASCII alone, through the index and past it, and the same
    /// way as the tail's `EventFilter.matches`. On PostgreSQL in a database whose locale is `C`,
    /// where lower() and ILIKE fold ASCII alone.
    @Test(arguments: StoreBackend.allCases) func unicodeCaseFoldsLikeTheTail(_ backend: StoreBackend) throws {
        let path = backend == .postgres ? try TestPostgres.newDatabase(options: "TEMPLATE template0 LOCALE 'C'") : try backend.newDatabase()
        let store = try Store(path: path)
        var denied = sampleEvent(2, verdict: .deny, email: "zoe@example.org")
        denied.reason = "ÜBERPRÜFT: DOMAIN ΣΊΣΥΦΟΣ.GR deny-listed"
        try store.insert([sampleEvent(0, email: "ÉLODIE.DURAND@example.fr"), sampleEvent(1, email: "plain@example.com"), denied,
                          sampleEvent(4, email: "\u{212A}EVIN@kelvin.example")])
        #expect(try store.indexSearch() == 4)
        try store.insert([sampleEvent(3, email: "ÉLODIE@BÜCHER.example")])
        for limit in [nil, 1] as [Int?] {
            func search(_ text: String) throws -> [String] {
                let filter = EventFilter(text: text, textScanLimit: limit)
                let found = try store.latestEvents(filter, limit: 100)
                // The store's answer and the tail's test agree, event by event.
                let all = try store.latestEvents(EventFilter(), limit: 100)
                #expect(Set(found.map(\.id)) == Set(all.filter(filter.matches).map(\.id)) || limit != nil, "\(text)")
                return found.map { $0.email ?? "" }.sorted()
            }
            #expect(try search("élodie") == ["ÉLODIE.DURAND@example.fr", "ÉLODIE@BÜCHER.example"], "limit \(String(describing: limit))")
            #expect(try search("Élodie.d") == ["ÉLODIE.DURAND@example.fr"])
            #expect(try search("überprüft") == ["zoe@example.org"], "reasons fold too")
            #expect(try search("σίσυφος") == ["zoe@example.org"])
            #expect(try search("lodie") == ["ÉLODIE.DURAND@example.fr", "ÉLODIE@BÜCHER.example"], "ASCII needles still fold")
            #expect(try search("é").count == (limit == nil ? 2 : 1), "a short search scans, folded, within its bound")
            #expect(try search("élodiex").isEmpty)
            // A letter that lowers to ASCII (the Kelvin sign to k) is found by an ASCII needle.
            #expect(try search("kevin@") == ["\u{212A}EVIN@kelvin.example"])
        }
    }
}

@Suite struct EventExportTests {
    @Test func csvQuotesEveryFieldAndDefusesFormulas() throws {
        var event = sampleEvent(7, email: "=HYPERLINK(\"http://evil\")@x.com")
        event.reason = "said \"no\", twice\nthen left"
        let line = try EventExport.line(event, .csv)
        #expect(line.hasPrefix("\"\",\"evt_"))
        #expect(line.contains("\"'=HYPERLINK(\"\"http://evil\"\")@x.com\""))
        // No control character in any cell: the line break is shown, as the dashboard shows it.
        #expect(line.contains(#""said ""no"", twice\nthen left""#))
        #expect(!line.contains("\n"))
        // Every field of the line has its header (trace_id last).
        #expect(EventExport.header(.csv)?.split(separator: ",").count == 28 && EventExport.header(.csv)?.hasSuffix("\"trace_id\"") == true)
        #expect(line.split(separator: ",", omittingEmptySubsequences: false).count >= 28)
        #expect(EventExport.Format(fileName: "Out.CSV") == .csv && EventExport.Format(fileName: "out.txt") == .jsonl)
    }

    @Test func jsonLinesRoundTripExactly() throws {
        let event = sampleEvent(8, email: "ev\u{1b}]0;x\u{07}@example.com")
        let line = try EventExport.line(event, .jsonl)
        #expect(!line.contains("\n"))
        #expect(try EventExport.event(fromJSONLine: line) == event)
        // One style for scripts: the JSON keys are the CSV's columns (snake_case, as the HTTP API).
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]).keys
        #expect(Set(keys).isSubset(of: Set(EventExport.columns)), "\(Set(keys).subtracting(EventExport.columns))")
    }
}

/// A search in steps (`searchLatest`: the unindexed rows scanned newest first in chunks, then the
/// index) answers exactly what the one statement (`latestEvents`) answers, whatever the index's
/// progress, the text, the scan budget, the limit and the chunk; it reports its progress and
/// stops when asked.
@Suite struct SearchInStepsTests {
    @Test(arguments: StoreBackend.allCases) func theSameAnswerAsOneStatementStepByStep(_ backend: StoreBackend) throws {
        let store = try Store(path: backend.newDatabase())
        let now = WallClock.nowMs()
        let names = ["ann", "bob", "Élodie", "zoë", "annabel"]
        try store.insert((0..<600).map { i in
            var event = sampleEvent(i, timeMs: now - Int64(600 - i) * 100, verdict: i % 3 == 0 ? .deny : .allow)
            event.email = "\(names[i % names.count])\(i % 7)@\(["example.com", "mailinator.com", "exämple.de"][i % 3])"
            event.reason = i % 5 == 0 ? "deny domain mailinator.com (rule \(i % 4))" : "endpoint Allow"
            return event
        })
        // The index's lag, as /metrics reports it: every event, since the first one's time.
        let lag = try store.searchLag()
        #expect(lag.events == 600 && lag.oldestMs == now - 60_000, "\(lag)")
        var random = SeededGenerator(seed: 11)
        for indexedUpTo in [0, 250, 600] {
            // The index reaches `indexedUpTo` events (the rest are for the scan).
            while (try store.searchLag().events) > Int64(600 - indexedUpTo), try store.indexSearch(batch: 50) > 0 {}
            for text in ["ann", "an", "élodie", "MAILINATOR", "rule 3", "zz", "exämple", "4@"] {
                for budget in [nil, 10, 130, 5000] as [Int?] {
                    var filter = EventFilter(text: text, textScanLimit: budget)
                    filter.deniedOnly = random.next() % 3 == 0
                    let limit = [5, 40, 1000][Int(random.next() % 3)]
                    let chunk = Int64([7, 64, 100_000][Int(random.next() % 3)])
                    let expected = try store.latestEvents(filter, limit: limit).map(\.id)
                    var steps = 0
                    let answer = try store.searchLatest(filter, limit: limit, chunk: chunk) { _ in steps += 1; return true }
                    #expect(answer.events.map(\.id) == expected && !answer.stopped,
                            "\(backend) indexed \(indexedUpTo) text \(text) budget \(String(describing: budget)) limit \(limit) chunk \(chunk)")
                }
            }
        }
        #expect(try store.searchLag() == (0, nil), "indexed up to date")
        // Progress: rows scanned of how many, growing; false stops at once.
        var seen: [SearchProgress] = []
        let stopped = try store.searchLatest(EventFilter(text: "qq"), limit: 10, chunk: 100) { step in
            seen.append(step)
            return seen.count < 3
        }
        #expect(stopped.stopped && seen.count == 3)
        #expect(seen.map(\.scanned) == [100, 200, 300] && seen.allSatisfy { $0.total == 600 }, "\(seen)")
    }
}
