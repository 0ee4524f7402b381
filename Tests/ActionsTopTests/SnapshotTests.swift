import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy
@testable import ActionsTop

/// Whole screens at 80x24 and 132x43, compared with the text in __Snapshots__.
/// Record again after an intended change with UPDATE_SNAPSHOTS=1.
@Suite struct SnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("__Snapshots__")
    let renderer = Renderer(timeZone: TimeZone(identifier: "UTC")!)

    func assertSnapshot(_ grid: Grid, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = Self.directory.appendingPathComponent(name + ".txt")
        let actual = grid.text + "\n"
        if ProcessInfo.processInfo.environment["UPDATE_SNAPSHOTS"] == "1" || !FileManager.default.fileExists(atPath: file.path) {
            try actual.write(to: file, atomically: true, encoding: .utf8)
            Issue.record("recorded snapshot \(name); check it and run again", sourceLocation: sourceLocation)
            return
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        if actual != expected {
            try actual.write(to: file.appendingPathExtension("actual"), atomically: true, encoding: .utf8)
        }
        #expect(actual == expected, "screen \(name) differs; see \(file.path).actual", sourceLocation: sourceLocation)
    }

    @Test(arguments: [(80, 24), (132, 43)])
    func eventsScreen(width: Int, height: Int) throws {
        var state = Fixtures.state()
        _ = state.handle(.down)
        let grid = renderer.render(state, width: width, height: height)
        try assertSnapshot(grid, named: "events-\(width)x\(height)")
        // Roles are not in the text: the selected row is highlighted, verdicts are coloured by meaning.
        #expect(grid[x: 3, y: 7].role == .selected)
        #expect(grid[x: 3, y: 6].role != .selected)
        let denyColumn = grid.line(5).range(of: "VERD").map { grid.line(5).distance(from: grid.line(5).startIndex, to: $0.lowerBound) } ?? 0
        #expect(grid[x: denyColumn, y: 9].role == .deny)
        #expect(grid[x: denyColumn, y: 6].role == .allow)
    }

    @Test(arguments: [(80, 24), (132, 43)])
    func detailScreen(width: Int, height: Int) throws {
        var state = Fixtures.state()
        _ = state.handle(.down)
        _ = state.handle(.down)
        _ = state.handle(.enter)
        try assertSnapshot(renderer.render(state, width: width, height: height), named: "detail-\(width)x\(height)")
    }

    /// A cluster: two nodes wrote the rows, so each row names its node; the nodes screen marks the
    /// one that stopped reporting and shows each node's circuits.
    @Test(arguments: [(80, 24), (132, 43)])
    func clusterNodesAndNodeColumn(width: Int, height: Int) throws {
        var state = Fixtures.state()
        state.editEvents { $0.node = ($0.id ?? 0) % 2 == 1 ? "web-1:8787" : "web-2:8787" }
        state.nodes = [
            NodeStatus(name: "web-1:8787", version: "0.6.0", startedMs: Fixtures.now - 600_000, updatedMs: Fixtures.now - 1_000,
                       decisions: 12_345, decisionsPerSecond: 41.5, queued: 3, dropped: 0,
                       circuits: [.userRegistration: .closed, .authentication: .closed]),
            NodeStatus(name: "web-2:8787", version: "0.6.0", startedMs: Fixtures.now - 600_000, updatedMs: Fixtures.now - 42_000,
                       decisions: 9_876, decisionsPerSecond: 0, queued: 0, dropped: 17,
                       circuits: [.userRegistration: .open, .authentication: .closed], databaseServer: "db-2.internal:5432"),
            NodeStatus(name: "web-3:8787", version: "0.6.0", startedMs: Fixtures.now - 900_000, updatedMs: Fixtures.now - 300_000,
                       decisions: 5_000, decisionsPerSecond: 0, queued: 0, dropped: 0,
                       circuits: [.userRegistration: .closed, .authentication: .closed], stoppedMs: Fixtures.now - 300_000),
        ]
        try assertSnapshot(renderer.render(state, width: width, height: height), named: "cluster-events-\(width)x\(height)")
        _ = state.handle(.char("n"))
        #expect(state.filter.node == "web-1:8787")
        _ = state.handle(.char("N"))
        #expect(state.screen == .nodes)
        let grid = renderer.render(state, width: width, height: height)
        try assertSnapshot(grid, named: "nodes-\(width)x\(height)")
        // Killed or cut off is SILENT; shut down cleanly is stopped. Both are whole at 80 columns.
        #expect(grid.text.split(separator: "\n").contains { $0.contains("web-2:8787") && $0.contains("SILENT") && $0.contains("open") })
        #expect(grid.text.split(separator: "\n").contains { $0.contains("web-3:8787") && $0.contains("stopped") })
        for header in ["NODE", "STATE", "SEEN", "DEC/S", "QUEUE", "DROP", "REG", "AUTH"] { #expect(grid.text.contains(header)) }
    }

    @Test func denyListWithPromptAndHelpOverlay() throws {
        var state = Fixtures.state()
        state.rules = RuleRow.rows(RuleSet(
            entries: [ListEntry(id: 1, kind: .domain, value: "mailinator.com", reason: "disposable", createdBy: "ops", createdMs: Fixtures.now),
                      ListEntry(id: 2, kind: .ip, value: "203.0.113.0/24", scope: .authentication, createdBy: "ops",
                                createdMs: Fixtures.now, expiresMs: Fixtures.now + 3_600_000),
                      ListEntry(id: 3, effect: .allow, kind: .domain, value: "proton.me", reason: "real users", createdBy: "ops"),
                      ListEntry(id: 5, kind: .domain, value: "guerrillamail.com", shadow: true, source: "disposable", createdBy: "ops")],
            rates: [RateRule(id: 4, key: .ipPrefix, limit: 20, windowMs: 600_000, scope: .userRegistration,
                             message: "Too many sign-ups from your network", createdBy: "ops")]),
            hits: [1: RuleHits(decided: 42), 4: RuleHits(decided: 7), 5: RuleHits(shadow: 19)])
        state.screen = .rules
        try assertSnapshot(renderer.render(state, width: 132, height: 43), named: "rules-132x43")
        state.testTrace = [TraceStep("test", "user_registration eve@busy.example from 203.0.113.50"),
                           TraceStep("allow entries", "no match"),
                           TraceStep("deny entries", "matched rule 2 (deny ip 203.0.113.0/24, scope authentication)"),
                           TraceStep("rate rules", "rule 4 (rate ip-prefix 20/10m): 3 of 20 in the window"),
                           TraceStep("shadow rules", "no hit"), TraceStep("verdict", "Deny by rule 2: Requests from this network are not allowed.")]
        try assertSnapshot(renderer.render(state, width: 80, height: 24), named: "rules-test-trace-80x24")
        try assertSnapshot(renderer.render(state, width: 132, height: 43), named: "rules-test-trace-132x43")
        state.testTrace = []
        _ = state.handle(.char("a"))
        _ = state.handle(.char("d"))
        try assertSnapshot(renderer.render(state, width: 80, height: 24), named: "denylist-add-80x24")
        // The impact preview and the question take the message row and the footer's, so that 80 columns show both.
        state.prompt = .confirmAdd(ListEntry(kind: .domain, value: "blocked.example", shadow: true),
                                   preview: "would have denied 1 of the last 24 h's allowed attempts (1 distinct user)")
        let confirm = renderer.render(state, width: 80, height: 24)
        try assertSnapshot(confirm, named: "rules-confirm-add-80x24")
        try assertSnapshot(renderer.render(state, width: 132, height: 43), named: "rules-confirm-add-132x43")
        #expect(confirm.text.contains("(1 distinct user)") && confirm.text.contains("Add shadow deny domain blocked.example? y = yes"))
        state.prompt = nil
        _ = state.handle(.char("?"))
        try assertSnapshot(renderer.render(state, width: 80, height: 24), named: "help-80x24")
    }

    @Test(arguments: [(80, 24), (132, 43)]) func attackPanel(width: Int, height: Int) throws {
        var state = Fixtures.state()
        _ = state.handle(.char("o"))
        state.offenders = TopOffenders(denied: Fixtures.events.filter { $0.verdict == .deny },
                                       failed: Fixtures.events.filter { $0.outcome != .ok }, nowMs: Fixtures.now, windowMs: 60_000)
        _ = state.handle(.char("j"))
        let grid = renderer.render(state, width: width, height: height)
        try assertSnapshot(grid, named: "attacks-\(width)x\(height)")
        #expect(grid.text.contains("Who is attacking") && grid.text.contains("mailinator.com"))
        #expect(!grid.text.contains("\u{1b}"), "keys are shown escaped")
    }

    @Test(arguments: [(80, 24), (132, 43)]) func chartsPane(width: Int, height: Int) throws {
        var state = Fixtures.state()
        _ = state.handle(.char("h"))
        let grid = renderer.render(state, width: width, height: height)
        try assertSnapshot(grid, named: "charts-\(width)x\(height)")
        #expect(grid.text.contains("decisions per second") && grid.text.contains("latency ("))
        _ = state.handle(.tab)
        #expect(renderer.render(state, width: width, height: height).text.contains("Charts · authentication"))
    }

    @Test func readOnlyFilteredAndWarned() throws {
        var state = Fixtures.state()
        state.readOnly = true
        state.warnings = ["event writer dropping events (12 dropped)"]
        _ = state.handle(.char("d"))
        state.replaceEvents(Fixtures.events.filter { $0.verdict == .deny })
        _ = state.handle(.char("m"))
        try assertSnapshot(renderer.render(state, width: 80, height: 24), named: "readonly-denied-80x24")
    }

    @Test func everyScreenFitsAndNothingRawReachesTheGrid() {
        var state = Fixtures.state()
        for (width, height) in [(80, 24), (132, 43), (200, 60), (60, 20)] {
            for screen in [AppState.Screen.events, .detail, .rules, .lockouts] {
                state.screen = screen
                let grid = renderer.render(state, width: width, height: height)
                #expect(grid.width == width && grid.height == height)
                for y in 0..<height {
                    #expect(DisplayWidth.of(grid.line(y)) <= width, "row \(y) of \(screen) at \(width)x\(height) overflows")
                    #expect(!grid.line(y).unicodeScalars.contains { TerminalText.needsEscape($0) && $0 != "\\" },
                            "row \(y) of \(screen) holds a control or format character")
                }
            }
        }
    }
}

@Suite struct ListScrollingTests {
    @Test func theSelectedLockoutStaysInViewOnALongList() {
        var state = Fixtures.state()
        state.screen = .lockouts
        state.lockouts = (0..<40).map {
            LoginFailures(email: "user\($0)@acme.io", failures: 10, windowStartMs: 0, lockedUntilMs: Fixtures.now + 60_000, updatedMs: 0)
        }
        for _ in 0..<30 { _ = state.handle(.down) }
        let grid = Renderer(timeZone: TimeZone(identifier: "UTC")!).render(state, width: 80, height: 24)
        let selectedRows = (0..<24).filter { grid[x: 2, y: $0].role == .selected }
        #expect(selectedRows.count == 1)
        #expect(selectedRows.first.map { grid.line($0).contains("user30@acme.io") } == true)
    }
}

/// Every screen, prompt and confirmation at 80x24 and 132x43, as a snapshot and with what the
/// operator reads it for checked whole: emails, values, the typed text, the question and its keys.
@Suite struct KeyInformationTests {
    let renderer = Renderer(timeZone: TimeZone(identifier: "UTC")!)
    static let sizes = [(80, 24), (132, 43)]

    static func rules(_ state: inout AppState) {
        state.rules = RuleRow.rows(RuleSet(
            entries: [ListEntry(id: 1, kind: .domain, value: "mailinator.com", reason: "disposable", createdBy: "ops"),
                      ListEntry(id: 2, kind: .ip, value: "2001:db8:ffff:ffff::/64", scope: .authentication, createdBy: "ops",
                                expiresMs: Fixtures.now + 3_600_000),
                      ListEntry(id: 3, kind: .email, value: "maria.gonzalez-fernandez@subsidiary.example.com", createdBy: "ops")]),
            hits: [1: RuleHits(decided: 42)])
        state.screen = .rules
    }

    /// (name, how to get there, what must be whole on the screen).
    static let cases: [(String, @Sendable (inout AppState) -> Void, [String])] = [
        ("events", { _ in }, ["ana@example.com", "bob@mailinator.com", "carol@acme.io", "山田@例え.jp", "q quit", "? help"]),
        ("detail", { state in _ = state.handle(.down); _ = state.handle(.enter) },
         ["bob@mailinator.com", "deny-list domain mailinator.com: disposable", "Esc: back"]),
        ("rules", { rules(&$0) }, ["domain mailinator.com", "ip 2001:db8:ffff:ffff::/64",
                                   "email maria.gonzalez-fernandez@subsidiary.example.com", "VALUE"]),
        ("lockouts", { state in
            state.screen = .lockouts
            state.lockouts = [LoginFailures(email: "maria.gonzalez-fernandez@subsidiary.example.com", failures: 12, windowStartMs: 0,
                                            lockedUntilMs: Fixtures.now + 900_000, lastIP: "2001:db8:ffff:ffff::77", updatedMs: 0)]
        }, ["maria.gonzalez-fernandez@subsidiary.example.com", "11-18 11:21:40", "LOCKED UNTIL"]),
        ("charts", { _ = $0.handle(.char("h")) }, ["decisions per second", "latency ("]),
        ("confirm-mode", { $0.prompt = .confirmMode(.userRegistration, to: .failClosed) }, ["user_registration to FAIL-CLOSED", "y = yes"]),
        ("confirm-delete", { state in
            rules(&state)
            state.prompt = .confirmDelete(state.rules[2])
        }, ["Delete rule 3", "y = yes", "maria.gonzalez-fernandez@subsidiary.example.com"]),
        ("confirm-demote", { state in
            rules(&state)
            state.prompt = .confirmShadow(state.rules[0], shadow: true)
        }, ["Demote rule 1", "shadow", "y = yes", "deny domain mailinator.com"]),
        ("confirm-unlock", { $0.prompt = .confirmUnlock("maria.gonzalez-fernandez@subsidiary.example.com") },
         ["Unlock", "y = yes", "maria.gonzalez-fernandez@subsidiary.example.com"]),
        ("prompt-search", { $0.prompt = .search("mallory@evil.example") }, ["mallory@evil.example"]),
        ("prompt-export", { $0.prompt = .export("/tmp/denied.csv") }, ["/tmp/denied.csv"]),
        ("prompt-test", { state in rules(&state); state.prompt = .testAction(answers: ["user_registration"], input: "eve@x.example") },
         ["Test", "2/3", "eve@x.example"]),
        ("prompt-add", { state in rules(&state); state.prompt = .addDeny(.value, answers: ["domain"], input: "spam.example") },
         ["spam.example"]),
    ]

    @Test(arguments: sizes) func everyScreenAndPromptKeepsItsKeyInformationWhole(width: Int, height: Int) throws {
        var missing: [String] = []
        for (name, setUp, whole) in Self.cases {
            var state = Fixtures.state()
            setUp(&state)
            let grid = renderer.render(state, width: width, height: height)
            try SnapshotTests().assertSnapshot(grid, named: "whole-\(name)-\(width)x\(height)")
            for text in whole where !grid.text.contains(text) { missing.append("\(name) at \(width)x\(height): \(text)") }
            // At 132 columns a long email leaves room for an IPv6 address too.
            if name == "lockouts" && width >= 132 && !grid.text.contains("2001:db8:ffff:ffff::77") { missing.append("lockouts: the IP") }
        }
        #expect(missing.isEmpty, "\(missing.joined(separator: "\n"))")
    }
}
