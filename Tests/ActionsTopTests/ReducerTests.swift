import Foundation
import Testing
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy
@testable import ActionsTop

@Suite struct ReducerTests {
    @Test func filtersToggleAndAskForAReload() {
        var state = Fixtures.state()
        #expect(state.handle(.char("d")) == [.reloadEvents])
        #expect(state.filter.deniedOnly)
        #expect(state.handle(.char("f")) == [.reloadEvents])
        #expect(state.filter.failuresOnly)
        _ = state.handle(.char("t"))
        #expect(state.filter.actionType == .userRegistration)
        _ = state.handle(.char("t"))
        #expect(state.filter.actionType == .authentication)
        _ = state.handle(.char("t"))
        #expect(state.filter.actionType == nil)
        _ = state.handle(.char("d"))
        #expect(!state.filter.deniedOnly)
    }

    @Test func searchIsTypedAppliedAndClearedWithEsc() {
        var state = Fixtures.state()
        _ = state.handle(.char("/"))
        for character in "gmail" { _ = state.handle(.char(character)) }
        _ = state.handle(.backspace)
        #expect(state.prompt == .search("gmai"))
        #expect(state.handle(.enter) == [.reloadEvents])
        #expect(state.filter.text == "gmai")
        #expect(state.handle(.escape) == [.reloadEvents])
        #expect(state.filter.text == "")
    }

    @Test func movingAwayStopsFollowingAndNewEventsKeepTheSelection() {
        var state = Fixtures.state()
        #expect(state.following)
        _ = state.handle(.char("j"))
        _ = state.handle(.down)
        #expect(state.selected == 2)
        #expect(!state.following)
        let selectedID = state.selectedEvent?.id
        state.receive([Fixtures.event(100, email: "new@example.com", secondsAgo: -1)])
        #expect(state.selectedEvent?.id == selectedID)
        #expect(state.events.first?.id == 100)
        _ = state.handle(.char("g"))
        #expect(state.following)
        state.receive([Fixtures.event(101, email: "newer@example.com", secondsAgo: -2)])
        #expect(state.selectedEvent?.id == 101)
        _ = state.handle(.char("G"))
        #expect(state.selected == state.events.count - 1)
    }

    /// A full table drops its oldest row for each new one: the selection must still stay on its event.
    @Test func aFullTableKeepsTheSelectionOnItsEvent() {
        var state = Fixtures.state()
        state.replaceEvents((1...AppState.maxRows).reversed().map { Fixtures.event($0, email: "u\($0)@example.com", secondsAgo: -$0) },
                            limit: AppState.maxRows)
        #expect(state.events.count == AppState.maxRows)
        for _ in 0..<5 { _ = state.handle(.char("j")) }
        let selectedID = state.selectedEvent?.id
        let line = state.selected - state.scroll
        for n in 1...3 {
            state.receive([Fixtures.event(AppState.maxRows + n, email: "new\(n)@example.com", secondsAgo: -(AppState.maxRows + n))])
            #expect(state.events.count == AppState.maxRows)
            #expect(state.selectedEvent?.id == selectedID && state.selected - state.scroll == line)
        }
    }

    /// Sorted by another column, new rows take their places and the selection stays on its event,
    /// even right after the filter reloaded the table (which puts the view on the top row).
    @Test func underAnotherSortTheSelectionStaysPut() {
        var state = Fixtures.state()
        for _ in 0..<6 { _ = state.handle(.char("s")) } // latency (NODE is skipped: one node)
        state.replaceEvents(Fixtures.events)
        let first = state.selectedEvent?.id
        state.receive([Fixtures.event(50, email: "slowest@example.com", latencyUs: 99_000_000, secondsAgo: -1)])
        #expect(state.events.first?.email == "slowest@example.com")
        #expect(state.selectedEvent?.id == first, "the selection did not jump to the new top row")
    }

    @Test func newEventsThatDoNotMatchTheFilterStayOut() {
        var state = Fixtures.state()
        _ = state.handle(.char("d"))
        state.replaceEvents([])
        state.receive([Fixtures.event(200, email: "a@x.io"), Fixtures.event(201, email: "b@x.io", verdict: .deny)])
        #expect(state.events.map(\.id) == [201])
    }

    @Test func modeFlipAsksAndOnlyYConfirms() {
        var state = Fixtures.state()
        _ = state.handle(.char("t")) // user_registration, fail-open in the fixture
        #expect(state.handle(.char("m")).isEmpty)
        #expect(state.prompt == .confirmMode(.userRegistration, to: .failClosed))
        #expect(state.handle(.char("n")).isEmpty)
        #expect(state.prompt == nil)
        _ = state.handle(.char("m"))
        _ = state.handle(.tab)
        #expect(state.prompt == .confirmMode(.authentication, to: .failOpen))
        #expect(state.handle(.char("y")) == [.setMode(.authentication, .failOpen)])
    }

    @Test func addingADenyEntryWalksThroughEachFieldAndValidates() {
        var state = Fixtures.state()
        #expect(state.handle(.char("l")) == [.loadRules])
        _ = state.handle(.char("a"))
        for character in "planet" { _ = state.handle(.char(character)) }
        _ = state.handle(.enter)
        #expect(state.message?.isError == true, "an unknown kind is refused at its own step")
        #expect(state.prompt == .addDeny(.kind, answers: [], input: ""))
        let answers = ["domain", "Gmail.com", "", "consumer mail", "2h", "maybe"]
        var effects: [Effect] = []
        for answer in answers {
            for character in answer { _ = state.handle(.char(character)) }
            effects = state.handle(.enter)
        }
        #expect(state.message?.isError == true, "the mode is enforce or shadow")
        for character in "shadow" { _ = state.handle(.char(character)) }
        effects = state.handle(.enter)
        guard case .previewDeny(let entry)? = effects.first else {
            Issue.record("expected a preview before anything is added, got \(effects)")
            return
        }
        #expect(entry.kind == .domain)
        #expect(entry.value == "Gmail.com")
        #expect(entry.scope == .all)
        #expect(entry.reason == "consumer mail")
        #expect(entry.shadow)
        #expect(entry.expiresMs == Fixtures.now + 7_200_000)
        // The controller answers the preview with the confirmation prompt; only y adds.
        state.prompt = .confirmAdd(entry, preview: "would have denied 3 of the last 24 h's allowed attempts (2 distinct users)")
        #expect(state.handle(.char("n")).isEmpty)
        state.prompt = .confirmAdd(entry, preview: "")
        #expect(state.handle(.char("y")) == [.addDeny(entry)])
    }

    @Test func deleteAndUnlockAskFirst() {
        var state = Fixtures.state()
        state.screen = .rules
        state.rules = [RuleRow(id: 9, kind: .deny, target: "email x@y.z")]
        _ = state.handle(.char("x"))
        #expect(state.handle(.char("y")) == [.removeRule(9)])
        state.screen = .lockouts
        state.lockouts = [LoginFailures(email: "m@acme.io", userId: nil, failures: 10, windowStartMs: 0, lockedUntilMs: Fixtures.now + 1, lastIP: nil, updatedMs: 0)]
        _ = state.handle(.char("u"))
        #expect(state.handle(.char("q")).isEmpty, "any key but y cancels")
        _ = state.handle(.char("u"))
        #expect(state.handle(.char("y")) == [.unlock("m@acme.io")])
    }

    @Test func promoteAndDemoteAskFirstAndOnlyWhenTheyChangeSomething() {
        var state = Fixtures.state()
        state.screen = .rules
        state.rules = [RuleRow(id: 4, kind: .deny, target: "domain spam.test", shadow: true),
                       RuleRow(id: 7, kind: .rate, target: "ip 20/10m")]
        #expect(state.handle(.char("D")).isEmpty)
        #expect(state.prompt == nil && state.message?.text == "rule 4 is already shadow")
        _ = state.handle(.char("P"))
        #expect(state.handle(.char("y")) == [.setShadow(4, false)])
        _ = state.handle(.char("j"))
        _ = state.handle(.char("D"))
        #expect(state.prompt == .confirmShadow(state.rules[1], shadow: true))
        #expect(state.handle(.char("y")) == [.setShadow(7, true)])
    }

    @Test func fromAnEventToTheRuleThatDecidedIt() {
        var state = Fixtures.state()
        state.replaceEvents([Event(actionType: .userRegistration, actionId: "a", verdict: .deny, decidedBy: .policy, ruleId: 12),
                             Event(actionType: .userRegistration, actionId: "b", verdict: .allow, decidedBy: .endpoint)])
        _ = state.handle(.enter)
        #expect(state.handle(.char("r")) == [.loadRules])
        #expect(state.screen == .rules && state.focusRule == 12)
        state.screen = .events
        _ = state.handle(.char("j"))
        _ = state.handle(.enter)
        #expect(state.handle(.char("r")).isEmpty)
        #expect(state.screen == .detail && state.message?.text == "no rule decided this event")
    }

    @Test func readOnlyRefusesEveryMutatingKey() {
        var state = Fixtures.state()
        state.readOnly = true
        #expect(state.handle(.char("m")).isEmpty)
        #expect(state.prompt == nil)
        #expect(state.message?.text.hasPrefix("read-only") == true)
        state.screen = .rules
        state.rules = [RuleRow(id: 9, kind: .deny, target: "email x@y.z", shadow: true)]
        #expect(state.handle(.char("a")).isEmpty)
        #expect(state.handle(.char("x")).isEmpty)
        #expect(state.handle(.char("P")).isEmpty)
        #expect(state.prompt == nil)
        #expect(!KeyBindings.hints(for: .rules, readOnly: true).contains { $0.mutates })
    }

    @Test func escGoesBackAndQQuits() {
        var state = Fixtures.state()
        _ = state.handle(.enter)
        #expect(state.screen == .detail)
        _ = state.handle(.escape)
        #expect(state.screen == .events)
        _ = state.handle(.char("q"))
        #expect(state.quit)
    }

    @Test func theBindingTableHasNoClashesWithinAScreen() {
        for scope in [Binding.Scope.events, .detail, .rules, .lockouts] {
            var seen: [Key: Command] = [:]
            for binding in KeyBindings.table where binding.scope == scope || binding.scope == .global {
                for key in binding.keys {
                    if let other = seen[key], binding.scope != .global { Issue.record("\(key) means \(other) and \(binding.command) on \(scope)") }
                    seen[key] = seen[key] ?? binding.command
                }
            }
        }
    }
}

@Suite struct SortTests {
    @Test func anyColumnSortsAndNewRowsTakeTheirPlace() {
        var state = Fixtures.state()
        state.replaceEvents(Fixtures.events)
        for _ in 0..<6 { _ = state.handle(.char("s")) } // NODE is skipped: the fixture has one node
        #expect(state.sort == EventSort(column: .latency, descending: true))
        #expect(state.events.map(\.latencyUs) == state.events.map(\.latencyUs).sorted(by: >))
        #expect(state.events.first?.email == "carol@acme.io", "the 5 s timeout is the slowest")
        // A slower decision arrives: it goes to the top; one faster than all goes to the bottom.
        state.receive([Fixtures.event(0, email: "slow@example.com", latencyUs: 9_000_000),
                       Fixtures.event(99, email: "fast@example.com", latencyUs: 1)])
        #expect(state.events.first?.email == "slow@example.com" && state.events.last?.email == "fast@example.com")
        _ = state.handle(.char("S"))
        #expect(state.events.first?.email == "fast@example.com", "S reverses")
        _ = state.handle(.char("s"))
        _ = state.handle(.char("s"))
        #expect(state.sort.isDefault, "after the last column, time again")
        #expect(state.events.map(\.timeMs) == state.events.map(\.timeMs).sorted(by: >))
    }

    @Test func sortSkipsTheNodeColumnOnOneNodeAndTakesItOnACluster() {
        var state = Fixtures.state()
        _ = state.handle(.char("s"))
        #expect(state.sort.column == .type, "NODE is not on screen with one node")
        var cluster = Fixtures.state()
        cluster.editEvents { $0.node = ($0.id ?? 0) % 2 == 0 ? "web-1" : "web-2" }
        _ = cluster.handle(.char("s"))
        #expect(cluster.sort.column == .node)
    }

    /// As htop's `<` `>` (and F6): a numbered list of the columns on screen; a number sorts by
    /// that column, the same again reverses it, the selected row stays in view.
    @Test func theSortPickerOffersTheColumnsOnScreen() {
        let renderer = Renderer(timeZone: TimeZone(identifier: "UTC")!)
        var state = Fixtures.state()
        state.width = 80
        for _ in 0..<4 { _ = state.handle(.char("j")) }
        let selected = state.selectedEvent?.id
        _ = state.handle(.char("<"))
        let line = renderer.render(state, width: 80, height: 24).text
        #expect(line.contains("1 time") && line.contains("4 ip") && line.contains("7 reason"), "\(line)")
        #expect(!line.contains("decided"), "DECIDED/OUTCOME is not on screen at 80 columns")
        _ = state.handle(.char("4"))
        #expect(state.sort == EventSort(column: .ip, descending: false) && state.prompt == nil)
        #expect(state.selectedEvent?.id == selected && state.selected >= state.scroll && state.selected < state.scroll + state.pageSize)
        _ = state.handle(.function(6))
        _ = state.handle(.char("4"))
        #expect(state.sort == EventSort(column: .ip, descending: true), "the same number again reverses")
        _ = state.handle(.char(">"))
        _ = state.handle(.char("9"))
        #expect(state.sort.column == .ip && state.prompt == nil && state.message?.text == "sort unchanged")
        state.width = 132
        _ = state.handle(.char(">"))
        #expect(renderer.render(state, width: 132, height: 43).text.contains("6 decided"))
    }

    @Test func theSortColumnIsMarked() throws {
        var state = Fixtures.state()
        state.replaceEvents(Fixtures.events)
        for _ in 0..<2 { _ = state.handle(.char("s")) } // type, email (NODE is skipped: one node)
        let grid = Renderer(timeZone: TimeZone(identifier: "UTC")!).render(state, width: 132, height: 43)
        #expect(grid.text.contains("EMAIL↑") && grid.text.contains("sort email ↑"))
    }
}

@Suite struct MouseTests {
    @Test func clicksSelectRowsAndSortByHeadersAndTheWheelScrolls() {
        var state = Fixtures.state()
        state.width = 132
        state.height = 43
        state.pageSize = Renderer.tableRows(height: 43)
        state.replaceEvents(Fixtures.events)
        // Rows start under the column headers (row 5, zero-based).
        _ = state.handle(.mouse(.click, x: 10, y: 8))
        #expect(state.selected == 2 && !state.following)
        _ = state.handle(.mouse(.wheelDown, x: 10, y: 8))
        #expect(state.selected == 5)
        _ = state.handle(.mouse(.wheelUp, x: 10, y: 8))
        #expect(state.selected == 2)
        // The TIME header is at x 1..8; a click there reverses the default order.
        _ = state.handle(.mouse(.click, x: 3, y: 5))
        #expect(state.sort == EventSort(column: .time, descending: false))
        let columns = Renderer.eventColumns(state, width: 132, rows: state.pageSize)
        let latencyX = 1 + columns.widths.prefix(EventSort.Column.latency.rawValue).reduce(0) { $0 + ($1 > 0 ? $1 + 1 : 0) } + 2
        _ = state.handle(.mouse(.click, x: latencyX, y: 5))
        #expect(state.sort == EventSort(column: .latency, descending: true))
        let before = state.selected
        _ = state.handle(.mouse(.click, x: 3, y: 30))
        #expect(state.selected == before, "a click below the last row changes nothing")
    }
}

@Suite struct KeyFileTests {
    @Test func bindAndUnbindChangeTheKeysInEffect() throws {
        let bindings = try KeyFile.parse("""
            # mine
            bind D toggleDenied   # D filters denied rows too
            unbind q
            bind Q quit

            bind PgDn moveDown
            """)
        var state = Fixtures.state()
        state.bindings = bindings
        _ = state.handle(.char("D"))
        #expect(state.filter.deniedOnly)
        _ = state.handle(.char("d"))
        #expect(!state.filter.deniedOnly, "d still works: bind adds a key")
        _ = state.handle(.char("q"))
        #expect(!state.quit, "q was unbound")
        state.screen = .rules
        state.rules = [RuleRow(id: 1, kind: .deny, target: "domain x.test")]
        _ = state.handle(.char("D"))
        #expect(state.prompt == .confirmShadow(state.rules[0], shadow: true), "D still demotes on the rules screen")
        state.prompt = nil
        state.screen = .events
        _ = state.handle(.char("Q"))
        #expect(state.quit)
        #expect(bindings.hints(for: .events, readOnly: false).contains { $0.command == .quit && $0.keys.first == .char("Q") })
    }

    @Test func mistakesAreReportedWithTheirLine() {
        #expect(throws: KeyFile.Problem(description: "keys:2: unknown command toggleDenid (commands: \(Command.allCases.map(\.rawValue).joined(separator: ", ")))")) {
            try KeyFile.parse("bind x quit\nbind D toggleDenid")
        }
        #expect(throws: KeyFile.Problem.self) { try KeyFile.parse("bind F13 quit") }
        #expect(throws: KeyFile.Problem.self) { try KeyFile.parse("rebind q quit") }
    }
}

@Suite struct TestActionPromptTests {
    @Test func theTestActionPromptAsksForTheActionEmailAndIP() {
        var state = Fixtures.state()
        state.screen = .rules
        _ = state.handle(.char("t"))
        for character in "login" { _ = state.handle(.char(character)) }
        _ = state.handle(.enter)
        #expect(state.message?.isError == true, "an unknown action is refused at its step")
        for character in "authentication" { _ = state.handle(.char(character)) }
        _ = state.handle(.enter)
        for character in "nobody" { _ = state.handle(.char(character)) }
        _ = state.handle(.enter)
        #expect(state.message?.text == "an email address, please")
        _ = state.handle(.backspace)
        for character in "@x.io" { _ = state.handle(.char(character)) }
        _ = state.handle(.enter)
        for character in "203.0.113.9" { _ = state.handle(.char(character)) }
        #expect(state.handle(.enter) == [.testAction(.authentication, email: "nobod@x.io", ip: "203.0.113.9")])
        state.testTrace = [TraceStep("verdict", "Deny by rule 1: no")]
        _ = state.handle(.escape)
        #expect(state.testTrace.isEmpty && state.screen == .rules, "Esc closes the trace first")
    }
}

@Suite struct SearchMarkerTests {
    /// A search covers the whole log, or (an index far behind, a short search) the newest rows up
    /// to its budget; the footer says which, and `/` Enter on the same text goes four times further.
    @Test func theFooterSaysHowMuchOfTheLogASearchCoversAndTheSameSearchGoesFurther() {
        var state = Fixtures.state()
        let renderer = Renderer(timeZone: TimeZone(identifier: "UTC")!)
        for key in [Key.char("/"), .char("n"), .char("e"), .enter] { _ = state.handle(key) }
        #expect(state.filter.text == "ne" && state.filter.textScanLimit == AppState.searchScanLimit)
        #expect(renderer.render(state, width: 132, height: 43).text.contains("/ne (whole log)"))
        state.searchUnscanned = 3_400_000
        #expect(renderer.render(state, width: 132, height: 43).text.contains("/ne (newest 100k rows; 3.4M more unsearched: / Enter goes on)"))
        let effects = [Key.char("/"), .enter].flatMap { state.handle($0) }
        #expect(effects == [.reloadEvents] && state.filter.textScanLimit == 4 * AppState.searchScanLimit, "the same search goes further")
        state.searchUnscanned = 0
        for key in [Key.char("/"), .char("x"), .enter] { _ = state.handle(key) }
        #expect(state.filter.text == "nex" && state.filter.textScanLimit == AppState.searchScanLimit, "a new search starts at the budget")
    }
}
