import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// actions-top inside tmux against a real actions-server.
@Suite(.serialized) struct DashboardTmuxTests {
    func startDashboard(_ harness: ServerHarness, arguments: String = "", term: String = "xterm-256color",
                        width: Int = 100, height: Int = 30, extra: [String: String] = [:]) throws -> TmuxSession {
        try TmuxSession("\(Paths.binary("actions-top")) --refresh 200 \(arguments)", width: width, height: height,
                        environment: ["TERM": term, "ACTIONS_DB": harness.databasePath, "LANG": "C.UTF-8"].merging(extra) { $1 })
    }

    /// Rows of the event table: the lines between the column headers and the two bottom lines.
    func tableRows(_ screen: String) -> [String] {
        let lines = screen.components(separatedBy: "\n")
        guard let header = lines.firstIndex(where: { $0.contains("TIME") && $0.contains("VERD") }) else { return [] }
        return lines[(header + 1)...].prefix(while: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
            .filter { $0.contains(":") && ($0.contains(" Allow ") || $0.contains(" Deny ")) }
    }

    @Test(arguments: StoreBackend.allCases) func deniedRowsAppearAndDFiltersThem(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        try harness.ctl("deny", "add", "domain", "mailinator.com")
        let top = try startDashboard(harness)
        try await top.waitFor("TIME")
        try await Task.sleep(for: .milliseconds(400))
        for i in 0..<6 {
            _ = try await harness.register("user\(i)@example.com")
            _ = try await harness.register("spam\(i)@mailinator.com")
        }
        try await top.waitFor("spam5@mailinator.com")
        let all = tableRows(try top.screen())
        #expect(all.contains { $0.contains(" Deny ") } && all.contains { $0.contains(" Allow ") })

        try top.send("d")
        let denied = try await top.waitFor("only denied rows") { screen in
            let rows = tableRows(screen)
            return !rows.isEmpty && rows.allSatisfy { $0.contains(" Deny ") }
        }
        #expect(tableRows(denied).count == 6)
        #expect(denied.contains("denied"), "the footer shows the active filter")

        try top.send("Enter")
        try await top.waitFor("Event details")
        try await top.waitFor("deny domain mailinator.com (rule 1)")
        try top.send("Escape", "q")
        try await top.waitFor("EXIT=0")
    }

    /// `e` writes the filtered view to a file; it parses back with Python's csv module, and
    /// `actionsctl events --format csv` gives the same rows.
    @Test func exportWritesTheFilteredViewToAFileThatParsesBack() async throws {
        let harness = try ServerHarness()
        try harness.ctl("deny", "add", "domain", "mailinator.com")
        try await harness.settingsApplied()
        for i in 0..<6 { _ = try await harness.register(i % 2 == 0 ? "spam\(i)@mailinator.com" : "ok\(i)@example.com") }
        _ = try await harness.waitForEvents(6)
        let top = try startDashboard(harness)
        try await top.waitFor("ok5@example.com")
        try top.send("d")
        try await top.waitFor("denied")
        let path = harness.directory.appendingPathComponent("denied.csv").path
        try top.send("e")
        try await top.waitFor("Export the filtered view")
        for _ in 0..<30 { try top.send("BSpace") }
        try top.send(path, literal: true)
        try top.send("Enter")
        try await top.waitFor("exported 3 events")
        let parsed = try run("/usr/bin/env", ["python3", "-c", """
            import csv, sys
            rows = list(csv.DictReader(open(sys.argv[1], newline="")))
            print(len(rows), sorted(r["email"] for r in rows), {r["verdict"] for r in rows})
            """, path])
        #expect(parsed.stdout.contains("3 ['spam0@mailinator.com', 'spam2@mailinator.com', 'spam4@mailinator.com'] {'Deny'}"), "\(parsed.stdout)\(parsed.stderr)")
        let fromCtl = try harness.ctl("events", "--denied", "--format", "csv")
        #expect(fromCtl.split(separator: "\n").count == 4) // header and three rows
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    /// Columns are sized by content: at 120 columns a long email is shown whole, not cut.
    @Test func aLongEmailIsShownWholeAt120Columns() async throws {
        let harness = try ServerHarness()
        let email = "maria.gonzalez.ortega@acme-industries.io"
        _ = try await harness.register(email)
        _ = try await harness.register("bo@example.com")
        let top = try startDashboard(harness, width: 120, height: 30)
        let screen = try await top.waitFor("bo@example.com")
        #expect(screen.contains(email), "\(screen)")
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    @Test(arguments: StoreBackend.allCases) func modeFlipFromTheDashboardGovernsTheServersNextVerdict(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend, config: "[circuit]\nfailure_threshold = 1000\n")
        try harness.ctl("endpoint", "set", "authentication", "http://127.0.0.1:\(freePort())/dead", "--timeout-ms", "200")
        try await harness.settingsApplied()
        #expect(try await harness.authenticate("ana@example.com").json["verdict"] as? String == "Deny")

        let top = try startDashboard(harness)
        try await top.waitFor("FAIL-CLOSED")
        try top.send("t", "t") // filter to authentication, so m targets it
        try await top.waitFor(" authentication ")
        try top.send("m")
        try await top.waitFor("Set authentication to FAIL-OPEN")
        try top.send("y")
        try await top.waitFor("error mode set to fail-open")
        let flipped = Date()
        let allowed = try await eventually(timeout: 3, interval: 0.05) {
            try await harness.authenticate("ana@example.com").json["verdict"] as? String == "Allow"
        }
        #expect(allowed != nil && Date().timeIntervalSince(flipped) < 1.5)
        let audit = try harness.ctl("audit")
        #expect(audit.contains("mode.set\tauthentication\tfail-closed\t->\tfail-open"))
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    @Test(arguments: StoreBackend.allCases) func aDomainAddedFromTheDenyListScreenIsDeniedOnTheNextRegistration(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        #expect(try await harness.register("eve@blocked.example").json["verdict"] as? String == "Allow")
        let top = try startDashboard(harness)
        try await top.waitFor("TIME")
        let preview = try await top.addDenyEntry(["domain", "blocked.example", "user_registration", "tmux test", ""], expectingCount: 1)
        #expect(preview.contains("would have denied 1 of the last 24 h's allowed attempts (1 distinct user)"),
                "the dashboard shows the impact before the operator confirms")
        try await top.waitFor("denied domain blocked.example")
        let denied = try await eventually(timeout: 2) {
            try await harness.register("eve@blocked.example").json["verdict"] as? String == "Deny"
        }
        #expect(denied != nil)
        #expect(try harness.ctl("audit").contains("deny.add\trule 1: domain blocked.example"))
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    /// A shadow rule tried on live traffic: the rules screen shows its hits, P promotes it (asks y,
    /// audited), and the next matching sign-up is denied. From the denied event, r jumps back to it.
    @Test(arguments: StoreBackend.allCases) func promotingAShadowRuleFromTheRulesScreen(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        try harness.ctl("allow", "add", "email", "ceo@trial.example")
        try harness.ctl("rate", "add", "ip-prefix", "100/1m")
        try harness.ctl("deny", "add", "domain", "trial.example", "--shadow", "--reason", "trying it")
        try await harness.settingsApplied()
        for i in 0..<3 { #expect(try await harness.register("u\(i)@trial.example").json["verdict"] as? String == "Allow") }
        _ = try await harness.waitForEvents(3)
        let top = try startDashboard(harness, width: 132, height: 30)
        try await top.waitFor("TIME")
        try top.send("l")
        let rules = try await top.waitFor("Rules (3)")
        let shadowRow = rules.split(separator: "\n").first { $0.contains("domain trial.example") } ?? ""
        #expect(shadowRow.contains("SHADOW") && shadowRow.contains("3 would"), "\(rules)")
        #expect(rules.split(separator: "\n").contains { $0.contains("allow") && $0.contains("email ceo@trial.example") })
        #expect(rules.split(separator: "\n").contains { $0.contains("rate") && $0.contains("ip-prefix 100/1m") })
        try top.send("G")
        try top.send("P")
        try await top.waitFor("Promote rule 3, deny domain trial.example, to enforcing?")
        try top.send("y")
        try await top.waitFor("rule 3 promoted: enforcing")
        try await harness.settingsApplied()
        #expect(try await harness.register("u9@trial.example").json["verdict"] as? String == "Deny")
        #expect(try await harness.register("ceo@trial.example").json["verdict"] as? String == "Allow", "the allow entry still wins")
        #expect(try harness.ctl("audit").contains("rule.promote\trule 3: deny domain trial.example\tshadow\t->\tenforcing"))

        try top.send("Escape")
        try await top.waitFor("u9@trial.example")
        try top.send("d")
        try await top.waitFor("only denied rows") { screen in self.tableRows(screen).count == 1 }
        try top.send("Enter")
        try await top.waitFor("rule 3  (r: go to the rule)")
        try top.send("r")
        let jumped = try await top.waitFor("Rules (3)")
        // Rule 3 is enforcing now: its MODE cell is blank, as only shadow rules are marked.
        let ruleRow = jumped.split(separator: "\n").first { $0.contains("domain trial.example") && $0.contains("deny") }
        #expect(ruleRow != nil && ruleRow?.contains("SHADOW") == false, "\(jumped)")
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    /// During an incident: the attack panel names the domain and network, Enter filters the table
    /// to the network, `a` denies the domain after the impact preview, and `w` switches the window.
    @Test func handlingAnAttackFromThePanel() async throws {
        let harness = try ServerHarness()
        try harness.ctl("deny", "add", "ip", "203.0.113.0/24", "--reason", "known bad network")
        try await harness.settingsApplied()
        for i in 0..<6 { _ = try await harness.register("bot\(i)@spam-wave.example", ip: "203.0.113.\(10 + i)") }
        for i in 0..<3 { _ = try await harness.register("real\(i)@example.com", ip: "198.51.100.\(i + 1)") }
        _ = try await harness.waitForEvents(9)
        let top = try startDashboard(harness, width: 120, height: 36)
        try await top.waitFor("TIME")
        try top.send("o")
        // Waits for both rows: a capture can catch the panel's frame half drawn, title and domains
        // in, networks not yet.
        try await top.waitFor("the attack panel's domain and network rows, 6 each") { screen in
            let lines = screen.split(separator: "\n")
            return screen.contains("Who is attacking")
                && lines.contains { $0.contains("6") && $0.contains("spam-wave.example") }
                && lines.contains { $0.contains("6") && $0.contains("203.0.113.0/24") }
        }

        // The domain row is the first: deny it, seeing what it would have denied first.
        try top.send("a")
        let preview = try await top.waitFor("? y = yes")
        #expect(preview.contains("would have denied 0 of the last 24 h's allowed attempts (0 distinct users)"),
                "every attempt from the wave was already denied by the network entry: \(preview)")
        try top.send("y")
        try await top.waitFor("denied domain spam-wave.example")
        try await harness.settingsApplied()
        let answer = try await harness.register("bot9@spam-wave.example", ip: "192.0.2.1")
        #expect(answer.json["verdict"] as? String == "Deny" && answer.json["rule_id"] as? Int == 2)

        // Down to the network row, then filter the table to it.
        try top.send("o")
        try await top.waitFor("Who is attacking")
        try top.send("j")
        try top.send("Enter")
        let filtered = try await top.waitFor("only the network's rows") { screen in
            let rows = self.tableRows(screen)
            return rows.count == 6 && rows.allSatisfy { $0.contains("203.0.113.") }
        }
        #expect(filtered.contains("denied"), "the footer shows the filter")

        try top.send("w")
        try await top.waitFor("window 5m")
        try top.send("w")
        try await top.waitFor("window 1h")
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    /// `y` copies the selected event as JSON over OSC 52: tmux (set-clipboard on) keeps it in a
    /// paste buffer, which parses back to the event. On a terminal without clipboard writes the
    /// event goes to a file instead.
    @Test func copyingAnEventToTheClipboardAndToAFile() async throws {
        let harness = try ServerHarness()
        _ = try await harness.register("copy.me@example.com")
        _ = try await harness.waitForEvents(1)
        let top = try startDashboard(harness)
        try top.tmux(["set-option", "-g", "set-clipboard", "on"])
        try await top.waitFor("copy.me@example.com")
        try top.send("y")
        try await top.waitFor("copied event")
        let buffer = await eventually(timeout: 3) { (try? top.tmux(["show-buffer"]))?.contains("copy.me@example.com") == true }
        #expect(buffer != nil, "tmux received no OSC 52 clipboard write")
        let json = try top.tmux(["show-buffer"])
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["email"] as? String == "copy.me@example.com" && object?["verdict"] as? String == "Allow")
        try top.send("q")
        try await top.waitFor("EXIT=0")

        let directory = harness.directory.path
        let console = try TmuxSession("sh -c 'cd \(directory) && exec \(Paths.binary("actions-top")) --refresh 200'", width: 100, height: 30,
                                      environment: ["TERM": "linux", "ACTIONS_DB": harness.databasePath, "LANG": "C.UTF-8"])
        try await console.waitFor("copy.me@example.com")
        try console.send("y")
        let said = try await console.waitFor("event written to")
        let name = said.components(separatedBy: "event written to ").last?.prefix { !$0.isWhitespace } ?? ""
        let written = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        #expect(written.contains("\"email\":\"copy.me@example.com\""))
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the event's file is for its owner only")
        try console.send("q")
        try await console.waitFor("EXIT=0")

        // Inside a tmux with set-clipboard off, OSC 52 goes nowhere: the event goes to a file, and
        // the message says what to set, instead of claiming a copy.
        let off = try TmuxSession("sh -c 'tmux set-option -g set-clipboard off; cd \(directory) && exec \(Paths.binary("actions-top")) --refresh 200'",
                                  width: 132, height: 30, environment: ["TERM": "xterm-256color", "ACTIONS_DB": harness.databasePath, "LANG": "C.UTF-8"])
        try await off.waitFor("copy.me@example.com")
        try off.send("y")
        try await off.waitFor("set -g set-clipboard on")
        try off.send("q")
        try await off.waitFor("EXIT=0")
    }

    /// With --mouse: a click selects a row (Enter then shows that event), a click on a header
    /// sorts by it. SGR mouse reports are typed into the pane as xterm would send them.
    @Test func mouseSelectionWhenEnabled() async throws {
        let harness = try ServerHarness()
        for i in 0..<5 { _ = try await harness.register("m\(i)@example.com") }
        _ = try await harness.waitForEvents(5)
        let top = try startDashboard(harness, arguments: "--mouse", width: 120, height: 30)
        try await top.waitFor("m4@example.com")
        func click(x: Int, y: Int) throws {
            try top.send("\u{1b}[<0;\(x + 1);\(y + 1)M", literal: true)
            try top.send("\u{1b}[<0;\(x + 1);\(y + 1)m", literal: true)
        }
        // Rows are newest first from screen row 6: the third is m2.
        try click(x: 20, y: 8)
        try top.send("Enter")
        try await top.waitFor("Event details")
        try await top.waitFor("m2@example.com")
        try top.send("Escape")
        let screen = try await top.waitFor("TIME")
        let header = screen.components(separatedBy: "\n")[5]
        let emailX = header.range(of: "EMAIL").map { header.distance(from: header.startIndex, to: $0.lowerBound) } ?? 0
        try click(x: emailX + 1, y: 5)
        try await top.waitFor("sorted by email ascending")
        let sorted = tableRows(try top.screen())
        #expect(sorted.first?.contains("m0@example.com") == true, "\(sorted)")

        // Without --mouse the same report is not taken as a click.
        let plain = try startDashboard(harness, width: 120, height: 30)
        try await plain.waitFor("m4@example.com")
        try plain.send("\u{1b}[<0;21;9M", literal: true)
        try plain.send("Enter")
        let details = try await plain.waitFor("Event details")
        #expect(details.contains("m4@example.com"), "the selection stayed on the newest row")
        try plain.send("q")
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    /// A user key file beside the user themes: its bindings work and `?` shows them; a broken
    /// one stops actions-top before the screen is taken, with the line at fault.
    @Test func aUserKeyBindingFile() async throws {
        let harness = try ServerHarness()
        _ = try await harness.register("kept@example.com")
        _ = try await harness.register("gone@mailinator.com")
        try harness.ctl("deny", "add", "domain", "mailinator.com")
        try await harness.settingsApplied()
        _ = try await harness.register("again@mailinator.com")
        _ = try await harness.waitForEvents(3)
        let config = harness.directory.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config.appendingPathComponent("actions-top"), withIntermediateDirectories: true)
        try "bind X toggleDenied\nunbind d\n".write(to: config.appendingPathComponent("actions-top/keys"), atomically: true, encoding: .utf8)
        let top = try startDashboard(harness, extra: ["XDG_CONFIG_HOME": config.path])
        try await top.waitFor("again@mailinator.com")
        try top.send("d")
        try await Task.sleep(for: .milliseconds(300))
        #expect(tableRows(try top.screen()).count == 3, "d was unbound")
        try top.send("X")
        try await top.waitFor("only denied rows") { self.tableRows($0).count == 1 }
        try top.send("?")
        let help = try await top.waitFor("Esc, ? or F1 close")
        #expect(help.split(separator: "\n").contains { $0.contains("X ") && $0.contains("denied only") }, "\(help)")
        try top.send("Escape", "q")
        try await top.waitFor("EXIT=0")

        try "bind X toggleDenid\n".write(to: config.appendingPathComponent("actions-top/keys"), atomically: true, encoding: .utf8)
        let broken = try run(Paths.binary("actions-top"), ["--db", harness.databasePath], environment: ["XDG_CONFIG_HOME": config.path])
        #expect(broken.status != 0 && broken.stderr.contains("keys:1: unknown command toggleDenid"), "\(broken.stderr)")
    }

    /// The rules screen's test action: an email and an IP typed in, the local decision trace shown.
    @Test func aTestActionFromTheRulesScreenShowsTheTrace() async throws {
        let harness = try ServerHarness()
        try harness.ctl("deny", "add", "ip", "203.0.113.0/24", "--reason", "bad network")
        try harness.ctl("rate", "add", "domain", "2/1h", "--action", "user_registration")
        for i in 0..<2 { _ = try await harness.register("u\(i)@busy.example", ip: "198.51.100.\(i + 1)") }
        _ = try await harness.waitForEvents(2)
        let top = try startDashboard(harness, width: 120, height: 30)
        try await top.waitFor("TIME")
        try top.send("l")
        try await top.waitFor("Rules (2)")
        try top.send("t")
        try await top.waitFor("Test action 1/3")
        try top.send("Enter")
        try top.send("eve@busy.example", literal: true)
        try top.send("Enter")
        try top.send("203.0.113.50", literal: true)
        try top.send("Enter")
        let trace = try await top.waitFor("decision trace")
        #expect(trace.contains("matched rule 1 (deny ip 203.0.113.0/24"), "\(trace)")
        #expect(trace.contains("rule 2 (rate domain 2/1h): 2 of 2 in the window, over the limit"), "counts rebuilt from the log")
        #expect(trace.contains("Deny by rule 1"))
        #expect(try await BlockingWork.run { try harness.store().eventCount() } == 2, "nothing logged")
        try top.send("Escape")
        try await top.waitFor("Rules (2)")
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    @Test func resizeKeepsTheLayoutAndQRestoresTheTerminal() async throws {
        let harness = try ServerHarness()
        for i in 0..<40 { _ = try await harness.register("r\(i)@example.com") }
        let top = try startDashboard(harness, width: 80, height: 24)
        try await top.waitFor("r39@example.com")
        for (width, height) in [(132, 43), (80, 24), (100, 30)] {
            try top.resize(width: width, height: height)
            let screen = try await top.waitFor("a \(width)x\(height) layout") { screen in
                let lines = screen.components(separatedBy: "\n")
                return lines.count >= height && lines[0].contains("actions-top") && lines[height - 1].hasPrefix("q quit")
            }
            let lines = screen.components(separatedBy: "\n")
            #expect(lines[1].contains("registration") && lines[1].contains("FAIL-CLOSED"))
            #expect(lines[3].contains("authentication"))
            #expect(lines[5].contains("TIME"))
            #expect(tableRows(screen).count == min(40, height - 8), "the table fills the new height")
            #expect(lines.allSatisfy { $0.count <= width })
        }
        try top.send("q")
        // endwin restored the tty: the shell's stty sees canonical mode again (not -icanon).
        let after = try await top.waitFor(timeout: 5, "the stty report") { $0.contains("EXIT=0\nicanon") || $0.contains("-icanon") }
        #expect(after.contains("EXIT=0\nicanon"))
    }

    @Test(arguments: ["xterm-256color", "screen-256color", "tmux-256color", "linux", "vt100"])
    func worksUnderEachTerm(term: String) async throws {
        let harness = try ServerHarness()
        _ = try await harness.register("ana@example.com")
        let top = try startDashboard(harness, term: term, width: 80, height: 24)
        let screen = try await top.waitFor("ana@example.com")
        #expect(screen.contains("FAIL-CLOSED"))
        if term == "linux" || term == "vt100" {
            #expect(!screen.contains("▁") && !screen.contains("█"), "ASCII drawing on \(term)")
        }
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }

    @Test(arguments: StoreBackend.allCases) func readOnlyHidesAndRefusesChanges(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let top = try startDashboard(harness, arguments: "--read-only", extra: ["NO_COLOR": "1"])
        let screen = try await top.waitFor("READ-ONLY")
        #expect(!screen.contains("m mode"), "mutating keys are hidden")
        try top.send("m")
        try await top.waitFor("read-only: flip")
        try top.send("l")
        try await top.waitFor("Rules (0)")
        try top.send("a")
        try await top.waitFor("read-only: add")
        try top.send("q")
        try await top.waitFor("EXIT=0")
        #expect(try harness.ctl("audit", "--json").isEmpty)
    }

    @Test func aMissingDatabaseGetsAClearMessage() throws {
        let result = try run(Paths.binary("actions-top"), ["--db", "/nonexistent/actions.db"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/actions.db does not exist"))
        let badTheme = try run(Paths.binary("actions-top"), ["--db", "/nonexistent/actions.db", "--theme", "no-such-theme"])
        #expect(badTheme.stderr.contains("no theme named no-such-theme"))
    }
}

extension DashboardTmuxTests {
    @Test func ctrlCQuitsLikeQAndGivesTheTerminalBack() async throws {
        let harness = try ServerHarness()
        let top = try startDashboard(harness)
        try await top.waitFor("TIME")
        try top.send("C-c")
        let after = try await top.waitFor(timeout: 5, "the stty report") { $0.contains("EXIT=") && $0.contains("icanon") }
        #expect(after.contains("EXIT=0\nicanon"), "exit status 0 and canonical mode restored")
    }

    /// An operator's SSH connection drops: the terminal goes away, and so must the dashboard, even
    /// when it was started with SIGHUP ignored (as nohup and some session managers do).
    @Test(arguments: ["", "trap '' HUP; "])
    func aHangUpEndsTheDashboard(_ shellPrefix: String) async throws {
        let harness = try ServerHarness()
        let marker = "--theme default --db \(harness.databasePath)"
        let command = "sh -c \"\(shellPrefix)exec \(Paths.binary("actions-top")) --refresh 200 \(marker)\""
        let top = try TmuxSession(command, width: 100, height: 30, environment: ["TERM": "xterm-256color", "LANG": "C.UTF-8"])
        try await top.waitFor("TIME")
        #expect(!processes(mentioning: marker).isEmpty)
        try top.tmux(["kill-server"])
        let gone = await eventually(timeout: 5) { processes(mentioning: marker).isEmpty }
        #expect(gone != nil, "actions-top still running after its terminal closed: \(processes(mentioning: marker))")
    }
}

/// Process ids whose command line contains `text` (read from /proc, as pgrep -f would).
func processes(mentioning text: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry), pid != getpid(),
              let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let commandLine = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return commandLine.contains(text) && !commandLine.hasPrefix("tmux ") && !commandLine.hasPrefix("sh ") ? pid : nil
    }
}

/// README's main command: `actions-top --demo`, with no database, server or endpoint set up.
@Suite(.serialized) struct DemoTmuxTests {
    @Test func theDemoShowsLiveVerdictsAndHostileStringsOnlyEscaped() async throws {
        let top = try TmuxSession("\(Paths.binary("actions-top")) --demo --demo-rate 200 --refresh 200", width: 132, height: 43,
                                  environment: ["TERM": "xterm-256color", "LANG": "C.UTF-8", "ACTIONS_DB": "/nonexistent/actions.db"])
        // Both verdicts, from both action types, with a live rate in the header.
        let screen = try await top.waitFor(timeout: 20, "allowed and denied rows of both action types") { screen in
            screen.contains(" Allow ") && screen.contains(" Deny ") && screen.contains(" registration ")
                && screen.contains(" authentication ") && screen.contains(" reg ") && screen.contains(" auth ")
        }
        #expect(screen.contains("/s"), "the header shows a rate")
        // The attacker's repeated failed passwords trip the lockout.
        try top.send("/")
        try top.send("mallory", literal: true)
        try top.send("Enter")
        try await top.waitFor(timeout: 20, "mallory locked out") { screen in
            screen.components(separatedBy: "\n").contains { $0.contains("mallory@acme.io") && $0.contains(" Deny ") && $0.contains("locked out") }
        }
        try top.send("/", "Escape") // clears the search
        // The demo sends an email that would retitle the terminal and a user agent that would clear it.
        try top.send("/")
        try top.send("pwned", literal: true)
        try top.send("Enter")
        try await top.waitFor(timeout: 20, "the hostile email, escaped") { $0.contains(#"ev\x9d0;pwned\x9cil@"#) }
        let title = try top.tmux(["display-message", "-p", "-t", "main", "#{pane_title}"])
        #expect(!title.contains("pwned"), "the terminal title was not changed: \(title)")
        // Quitting stops the in-process servers gracefully and at once, though the flaky endpoint
        // always has a request sleeping 30 s (it once held the exit that long, or crashed in NIO).
        try top.send("q")
        let after = try await top.waitFor(timeout: 5, "the demo to exit") { $0.contains("EXIT=") }
        #expect(after.contains("EXIT=0"))
    }
}
