import Foundation
import Testing
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport
@testable import ActionsTop

/// Model-based test of the event table: seeded random runs interleave the keys that change what
/// the table holds (filters, search, sort, pause, window, node filter, scrolling) with arriving
/// events, some of whose ids commit late (below ids already read, as concurrent writers can on
/// PostgreSQL). After every step the table is compared with the store's own answer for the same
/// filter: every event at most once, none missing, in the table's order.
@Suite(.serialized) struct TableModelTests {
    /// Seeds that once failed, run first every time: holes below the first load's newest id
    /// that filled later were never read (1592590338, 1592590342, 1592590345, 1592590346).
    static let regressionSeeds: [UInt64] = [1592590338, 1592590342, 1592590345, 1592590346]
    static let steps = 400

    /// Random runs per backend: PostgreSQL's round trips cost more, and it runs the same code.
    static func randomSeeds(_ backend: StoreBackend) -> Int { backend == .sqlite ? 20 : 6 }

    @Test(arguments: StoreBackend.allCases)
    func everyEventOnceAcrossKeyPaths(backend: StoreBackend) throws {
        let base = UInt64(ProcessInfo.processInfo.environment["ACTIONS_MODEL_SEED"] ?? "") ?? 0x5EED_0001
        let seeds = Self.regressionSeeds + (0..<UInt64(Self.randomSeeds(backend))).map { base &+ $0 }
        for seed in seeds {
            let path = try backend.newDatabase()
            // The writer is another connection, as actions-server is: SQLite's data_version, which
            // the dashboard polls, moves only for other connections' commits.
            let store = try Store(path: path), writer = try Store(path: path)
            defer { store.close(); writer.close() }
            var run = ModelRun(seed: seed, store: store, writer: writer)
            try run.start()
            for step in 0..<Self.steps {
                let caughtUp = try run.step()
                if let failure = try run.check(complete: caughtUp) {
                    Issue.record("seed \(seed) (ACTIONS_MODEL_SEED=\(seed)), step \(step), after \(run.history.suffix(6)): \(failure)")
                    break
                }
            }
        }
    }

    @Test func theCursorRemembersHolesUntilFilledOrExpired() {
        var cursor = TailCursor(lastSeenID: 10)
        cursor.advance(over: [11, 14, 15, 19], nowMs: 0)
        #expect(cursor.lastSeenID == 19)
        #expect(cursor.gaps.map(\.range) == [12...13, 16...18])
        cursor.fill([17])
        #expect(cursor.gaps.map(\.range) == [12...13, 16...16, 18...18])
        cursor.fill([12, 13, 16])
        #expect(cursor.gaps.map(\.range) == [18...18])
        cursor.expire(nowMs: TailCursor.horizonMs + 1)
        #expect(cursor.gaps.isEmpty)
    }

    @Test func theTableNeverHoldsAnEventTwice() {
        var table = EventTable(capacity: 3)
        let events = (1...5).map { Fixtures.event($0, email: "u\($0)@example.com", secondsAgo: -$0) }
        table.replace(with: [events[1], events[0]], limit: 10)
        #expect(table.merge([events[1], events[2], events[2]]) == 1)
        #expect(table.rows.compactMap(\.id) == [3, 2, 1])
        // Full: the oldest goes; an event older than the table's oldest is not taken any more.
        table.merge([events[3]])
        #expect(table.rows.compactMap(\.id) == [4, 3, 2])
        #expect(table.merge([events[0]]) == 0)
    }
}

struct ModelRun {
    var random: SeededGenerator
    let store: Store
    let writer: Store
    let controller: DashboardController
    var nowMs: Int64 = 1_795_000_000_000
    var nextID: Int64 = 1
    /// Ids handed out whose rows have not committed yet.
    var late: [Event] = []
    var history: [String] = []

    init(seed: UInt64, store: Store, writer: Store) {
        random = SeededGenerator(seed: seed)
        self.store = store
        self.writer = writer
        controller = DashboardController(store: store, theme: .builtinDefault, catalog: ThemeCatalog(directories: []),
                                         noColor: true, readOnly: false, actor: Operator(user: "model-test"))
    }

    mutating func start() throws {
        for name in ["web-1", "web-2"] {
            try writer.heartbeat(NodeStatus(name: name, version: "test", startedMs: nowMs, updatedMs: nowMs, decisions: 0,
                                           decisionsPerSecond: 0, queued: 0, dropped: 0, circuits: [:]))
        }
        try arrive(Int.random(in: 0...40, using: &random))
        controller.load(nowMs: nowMs)
        controller.settle()
    }

    /// Events arrive, a key is pressed, or the dashboard's refresh ticks: keys and reloads come
    /// between ticks, while the tail is behind, as they do for a real operator.
    /// Returns true when the dashboard has just caught up with the log.
    mutating func step() throws -> Bool {
        nowMs += 50
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1:
            try arrive(Int.random(in: 1...12, using: &random))
            return false
        case 2, 3:
            press()
            return false
        default:
            controller.tick(nowMs: nowMs)
            controller.settle()
            history.append("tick")
            return true
        }
    }

    /// Events arrive: some ids are held back and commit a few steps later, below newer ids.
    mutating func arrive(_ count: Int) throws {
        var now: [Event] = []
        for _ in 0..<count {
            let event = makeEvent(id: nextID)
            nextID += 1
            if Int.random(in: 0..<6, using: &random) == 0 { late.append(event) } else { now.append(event) }
        }
        // Some of the held-back rows commit now.
        late.shuffle(using: &random)
        let committing = late.prefix(Int.random(in: 0...late.count, using: &random))
        late.removeFirst(committing.count)
        now += committing
        try insert(now)
        history.append("+\(now.compactMap(\.id).sorted())")
    }

    mutating func press() {
        let keys: [[Key]] = [
            [.char("d")], [.char("f")], [.char("t")], [.char("n")], [.char("p")], [.char("w")],
            [.char("s")], [.char("S")], [.char("j")], [.char("k")], [.pageDown], [.pageUp], [.char("g")], [.char("G")],
            [.char("/")] + "ann".map { .char($0) } + [.enter],
            [.char("/")] + "example".map { .char($0) } + [.enter],
            [.char("/")] + "10.0.0.1".map { .char($0) } + [.enter],
            [.char("/")] + "xy".map { .char($0) } + [.escape],
            [.escape],
        ]
        let sequence = keys.randomElement(using: &random)!
        history.append(sequence.map(\.label).joined())
        for key in sequence { controller.press(key) }
        // The dashboard's store work runs off its UI thread; the model looks once it is done.
        controller.settle()
    }

    func makeEvent(id: Int64) -> Event {
        var random = SeededGenerator(seed: UInt64(id) &* 7919)
        let names = ["ann", "bob", "carol", "dave", "anna"]
        let domains = ["example.com", "gmail.com", "mailinator.com"]
        let email = names.randomElement(using: &random)! + "@" + domains.randomElement(using: &random)!
        let deny = Bool.random(using: &random)
        let outcome: Outcome = Int.random(in: 0..<4, using: &random) == 0 ? .timeout : .ok
        return Event(id: id, uid: "evt_model_\(id)", timeMs: nowMs - Int64.random(in: 0...400, using: &random),
                     actionType: Bool.random(using: &random) ? .userRegistration : .authentication, actionId: "act_\(id)",
                     email: email, emailDomain: String(email.split(separator: "@")[1]),
                     ip: "10.0.0.\(Int.random(in: 1...12, using: &random))", verdict: deny ? .deny : .allow,
                     decidedBy: deny ? .policy : .endpoint, reason: deny ? "deny-list domain" : "endpoint Allow", outcome: outcome,
                     latencyUs: Int64.random(in: 50...90_000, using: &random), node: Bool.random(using: &random) ? "web-1" : "web-2")
    }

    /// Inserts rows with the ids the model gave them, as a late transaction would commit them.
    func insert(_ events: [Event]) throws {
        guard !events.isEmpty else { return }
        let columns = ["id"] + Event.insertColumns
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        try writer.writing { db in
            for event in events {
                var values = Values()
                values.integer(event.id)
                event.write(to: &values)
                try db.execute("INSERT INTO events (\(columns.joined(separator: ", "))) VALUES \(row)", values.values)
            }
        }
    }

    struct Values: EventFieldWriter {
        var values: [any SQLBindable] = []
        mutating func text(_ value: String?) { values.append(value) }
        mutating func integer(_ value: Int64?) { values.append(value) }
    }

    /// What is wrong with the table, or nil. Every event at most once and in order, always;
    /// `complete`: just after a tick, none missing either.
    func check(complete: Bool) throws -> String? {
        let state = controller.state
        let ids = state.events.compactMap(\.id)
        if Set(ids).count != ids.count {
            let twice = Dictionary(grouping: ids, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            return "events shown twice: \(twice)"
        }
        for (a, b) in zip(state.events, state.events.dropFirst()) where state.sort.ordered(b, a) {
            return "out of order (\(state.sort.column.name)): \(a.id ?? 0) before \(b.id ?? 0)"
        }
        // Paused, the table is frozen on purpose.
        if state.paused || !complete { return nil }
        let answer = try store.latestEvents(state.filter, limit: AppState.maxRows).compactMap(\.id)
        let expected = Set(answer.prefix(max(ids.count, min(answer.count, AppState.tableLoad))))
        let shown = Set(ids)
        if shown != expected {
            return "missing \(expected.subtracting(shown).sorted()), extra \(shown.subtracting(expected).sorted()) (filter \(state.filter))"
        }
        return nil
    }
}

/// Every store read runs off the UI thread: while another session holds a table a query needs,
/// keys return at once, the tail goes on delivering events, and Esc stops the query. The test
/// drives the controller synchronously, as actions-top's UI thread does. (swift-testing still
/// runs it on one of its pool's threads, which it holds for the test's ten seconds: the suite is
/// serialized, and the store work it waits on runs on the controller's own lanes.)
@Suite(.serialized) struct NeverFrozenTests {
    @Test func aBlockedQueryHoldsNeitherTheKeysNorTheTail() throws {
        let url = try StoreBackend.postgres.newDatabase()
        let store = try Store(path: url, busyTimeout: 0.5), query = try Store(path: url, busyTimeout: 8), writer = try Store(path: url)
        defer { store.close(); query.close(); writer.close() }
        let run = ModelRun(seed: 1, store: store, writer: writer)
        try run.insert((1...20).map { run.makeEvent(id: Int64($0)) })
        let controller = DashboardController(store: store, queryStore: query, theme: .builtinDefault,
                                             catalog: ThemeCatalog(directories: []), noColor: true, readOnly: false,
                                             actor: Operator(user: "test"))
        controller.load()
        controller.settle()
        #expect(controller.state.events.count == 20)

        let holder = try TestPostgres.hold("rules", in: url, seconds: 4)
        let start = ContinuousClock.now
        controller.press(.char("l")) // the rules screen: its rules and hits load on the query lane, which now waits on the lock
        // Back while the lock still holds and the query still waits: the key did not wait on it.
        #expect(!holder.isFinished && controller.isWorking && ContinuousClock.now - start < .seconds(1),
                "the key waited on the store (\(ContinuousClock.now - start))")
        // The tail has its own lane: new events arrive while the query waits.
        try run.insert((21...25).map { run.makeEvent(id: Int64($0)) })
        var arrived = false
        for _ in 0..<100 where !arrived {
            controller.tick()
            Thread.sleep(forTimeInterval: 0.02)
            controller.drain()
            arrived = controller.state.events.contains { $0.id == 25 }
        }
        #expect(arrived, "the tail stopped while a query waited")
        #expect(controller.isWorking, "the query is still waiting on the lock")
        controller.press(.escape)
        #expect(controller.state.message?.text == "stopped")
        while !holder.isFinished { Thread.sleep(forTimeInterval: 0.05) }
        controller.settle()
        // Back to the events: each Esc first stops what still loads (the rules' refresh), then goes back.
        for _ in 0..<3 where controller.state.screen != .events { controller.press(.escape) }
        #expect(controller.state.screen == .events)

        // A search waits on the search index: the message line counts its seconds, Esc stops it
        // and the table is for the filter it shows.
        // (Indexed first: with nothing indexed a search has no need of the index.)
        _ = try writer.indexSearch()
        let searchHolder = try TestPostgres.hold("events_search", in: url, seconds: 4)
        for key in [Key.char("/"), .char("a"), .char("n"), .char("n"), .enter] { controller.press(key) }
        #expect(controller.state.searching?.text == "ann")
        Thread.sleep(forTimeInterval: 1.2)
        controller.showTime()
        controller.drain()
        let line = Renderer().render(controller.state, width: 100, height: 30).text
        #expect(line.contains("searching for ann...") && (line.contains(" 1 s · Esc stops") || line.contains(" 2 s · Esc stops")), "\(line)")
        // Our statement waits on the lock in the server until Esc sends the cancel request.
        func waitingOnTheLock() -> Int {
            Int(TestPostgres.command("/usr/bin/psql", [url, "-qAt", "-c", """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                """]).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        #expect(waitingOnTheLock() == 1, "the search's statement is not waiting on the lock")
        controller.press(.escape)
        #expect(controller.state.searching == nil && controller.state.filter.text.isEmpty && controller.state.message?.text == "stopped")
        var cancelled = false
        for _ in 0..<20 where !cancelled {
            Thread.sleep(forTimeInterval: 0.05)
            cancelled = waitingOnTheLock() == 0
        }
        #expect(cancelled, "Esc left the statement waiting in the server (no cancel request)")
        #expect(!searchHolder.isFinished, "the lock was still held: the cancel, not its release, ended the wait")
        while !searchHolder.isFinished { Thread.sleep(forTimeInterval: 0.05) }
    }
}

/// The attack panel does not offer a second rule for what a rule already denies.
@Suite struct AttackPanelTests {
    @Test func aDomainAlreadyDeniedIsNamedNotOfferedAgain() throws {
        let path = try StoreBackend.sqlite.newDatabase()
        let store = try Store(path: path), writer = try Store(path: path)
        let rule = try writer.addListEntry(ListEntry(kind: .domain, value: "spam.example"), by: Operator(user: "test"))
        var run = ModelRun(seed: 2, store: store, writer: writer)
        run.nowMs = WallClock.nowMs()
        /// A denial of bot N at spam.example by the rule, decided at `timeMs` (default: the model's).
        func denial(_ n: Int, timeMs: Int64? = nil) -> Event {
            var event = run.makeEvent(id: Int64(n))
            event.email = "bot\(n)@spam.example"
            event.emailDomain = "spam.example"
            event.verdict = .deny
            event.decidedBy = .policy
            event.reason = "deny-list domain spam.example (rule \(rule.id))"
            event.timeMs = timeMs ?? event.timeMs
            return event
        }
        try run.insert((1...5).map { denial($0) })
        let controller = DashboardController(store: store, theme: .builtinDefault, catalog: ThemeCatalog(directories: []),
                                             noColor: true, readOnly: false, actor: Operator(user: "test"))
        controller.load()
        controller.settle()
        controller.press(.char("o"))
        controller.settle()
        let row = try #require(controller.state.topRows.firstIndex { $0.key == "spam.example" })
        for _ in 0..<row { controller.press(.char("j")) }
        controller.press(.char("a"))
        controller.settle()
        #expect(controller.state.prompt == nil)
        #expect(controller.state.message?.text == "spam.example is already denied by rule \(rule.id)")

        // Open, the panel counts arrivals from the tail, without reading the window again, and
        // lets them go as the window slides past them.
        try run.insert((6...8).map { denial($0, timeMs: run.nowMs) })
        controller.tick(nowMs: run.nowMs + 100)
        controller.settle()
        #expect(controller.state.topRows.first { $0.key == "spam.example" }?.count == 8, "\(controller.state.topRows)")
        controller.tick(nowMs: run.nowMs + 10 * 60_000)
        controller.settle()
        #expect(!controller.state.topRows.contains { $0.key == "spam.example" }, "the window slid past them")
    }
}
