import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore

extension Renderer {
    /// The event table's column widths, sized by what the visible rows hold. The reason is the
    /// most informative column and the last, so it takes what remains; when it is short of what
    /// the rows' reasons need, other columns give way in this order: DECIDED/OUTCOME, the node and
    /// the IP to their usual widths; then the reason settles for 24 columns, DECIDED/OUTCOME
    /// leaves (the reason says who decided) and the email goes to 24; below 12 the email goes to
    /// 20, the type leaves, and only then the email and IP shrink further.
    struct Columns {
        var layout: TableLayout

        struct Content {
            var email = 5, ip = 2, decided = 15, node = 4, reason = 6
        }

        /// In `EventSort.Column` order.
        var widths: [Int] { layout.widths }
        var email: Int { widths[EventSort.Column.email.rawValue] }
        var reason: Int { widths[EventSort.Column.reason.rawValue] }

        init(width: Int, content: Content = Content(), showNode: Bool = false) {
            typealias C = EventSort.Column
            let wants = [8, showNode ? min(max(content.node, 4), 20) : 0, 4, min(max(content.email, 5), 40), min(max(content.ip, 2), 39),
                         5, min(max(content.decided, 15), 30), 8, max(content.reason, 6)]
            layout = TableLayout(wants: wants, width: width, steps: [
                .shrink(C.decided.rawValue, to: 15), .shrink(C.node.rawValue, to: 8), .shrink(C.ip.rawValue, to: 15),
                .settle(24), .hide(C.decided.rawValue), .shrink(C.email.rawValue, to: 24), .settle(12),
                .shrink(C.email.rawValue, to: 20), .settle(0), .hide(C.type.rawValue), .shrink(C.email.rawValue, to: 10),
                .shrink(C.ip.rawValue, to: 7), .shrink(C.node.rawValue, to: 4),
            ])
        }

        /// The widths the rows on screen ask for.
        static func content(of events: some Collection<Event>) -> Content {
            var content = Content()
            for event in events {
                content.email = max(content.email, DisplayWidth.of(TerminalText.escape(event.email ?? "-")))
                content.ip = max(content.ip, DisplayWidth.of(TerminalText.escape(event.ip ?? "-")))
                content.node = max(content.node, DisplayWidth.of(TerminalText.escape(event.node ?? "-")))
                content.decided = max(content.decided, decided(event).count)
                content.reason = max(content.reason, DisplayWidth.of(TerminalText.escape(event.reason ?? "")))
            }
            return content
        }

        static func decided(_ event: Event) -> String {
            event.outcome == .ok ? event.decidedBy.rawValue : "\(event.decidedBy.rawValue)/\(event.outcome.rawValue)"
        }
    }

    /// The event table's columns for the rows on screen: drawing and mouse clicks use the same.
    static func eventColumns(_ state: AppState, width: Int, rows: Int) -> Columns {
        // The node column appears once more than one node wrote the newest rows. Only those are
        // looked at, by index: a lazy scan for names went through all 10,000 rows on every draw
        // when no event carried a node.
        let events = state.events
        var nodes = Set<String>()
        for index in events.indices.prefix(256) {
            guard let node = events[index].node else { continue }
            nodes.insert(node)
            if nodes.count > 1 { break }
        }
        let visible = state.events.dropFirst(state.scroll).prefix(max(0, rows))
        return Columns(width: width, content: Columns.content(of: visible), showNode: nodes.count > 1)
    }

    /// The column drawn at `x` (for a click on the header row).
    static func eventColumn(atX x: Int, _ state: AppState, width: Int, rows: Int) -> EventSort.Column? {
        eventColumns(state, width: width, rows: rows).layout.column(atX: x).flatMap(EventSort.Column.init(rawValue:))
    }

    func drawEvents(_ state: AppState, top: Int, height: Int, into grid: inout Grid) {
        let columns = Self.eventColumns(state, width: grid.width, rows: height - 1)
        // The sort column's header carries an arrow.
        let arrow = self.arrow(up: !state.sort.descending)
        let headers = EventSort.Column.allCases.map { $0 == state.sort.column && !state.sort.isDefault ? $0.header + arrow : $0.header }
        drawRow(headers.map { ($0, Role.header) }, columns: columns, y: top, into: &grid, fillRole: .header)
        let rows = max(0, height - 1)
        if state.events.isEmpty {
            let why = state.filter.isEmpty ? "waiting for events…" : "no events match the filters"
            grid.put("  " + why, x: 0, y: top + 2, role: .dim)
            return
        }
        for index in 0..<rows {
            let eventIndex = state.scroll + index
            guard state.events.indices.contains(eventIndex) else { break }
            let event = state.events[eventIndex]
            let y = top + 1 + index
            let verdictRole: Role = event.verdict == .deny ? .deny : .allow
            let decided = Columns.decided(event)
            drawRow([
                (clock(event.timeMs), .dim),
                (TerminalText.escape(event.node ?? "-"), .label),
                (event.actionType == .authentication ? "auth" : "reg", .label),
                (DisplayWidth.shortenEmail(TerminalText.escape(event.email ?? "-"), to: columns.email), .normal),
                (TerminalText.escape(event.ip ?? "-"), .normal),
                (event.verdict.rawValue, verdictRole),
                (decided, event.outcome == .ok ? .normal : .warning),
                (Self.millis(event.latencyUs), .value),
                (TerminalText.escape(event.reason ?? ""), .dim),
            ], columns: columns, y: y, into: &grid)
            if eventIndex == state.selected { grid.restyle(x: 0, y: y, width: grid.width, role: .selected) }
        }
    }

    /// Lays fields out in the columns; the latency column is right-aligned.
    private func drawRow(_ fields: [(String, Role)], columns: Columns, y: Int, into grid: inout Grid, fillRole: Role? = nil) {
        if let fillRole { grid.fill(x: 0, y: y, width: grid.width, role: fillRole) }
        let widths = columns.widths
        var x = 1
        for (index, (text, role)) in fields.enumerated() where widths[index] > 0 {
            let width = min(widths[index], grid.width - x)
            guard width > 0 else { break }
            grid.put(DisplayWidth.fit(text, to: width, alignRight: index == 7), x: x, y: y, role: fillRole ?? role)
            x += widths[index] + 1
        }
    }

    func drawDetail(_ state: AppState, top: Int, height: Int, into grid: inout Grid) {
        grid.fill(x: 0, y: top, width: grid.width, role: .header)
        grid.put(" Event details   (Esc: back, j/k: previous/next)", x: 0, y: top, role: .header)
        guard let event = state.selectedEvent else { return }
        let endpoint = event.endpointLatencyUs.map { " (endpoint \(Self.millis($0)))" } ?? ""
        let fields: [(String, String)] = [
            ("event id", event.uid), ("time", clock(event.timeMs, withDate: true)),
            ("action", "\(event.actionType.rawValue)  \(event.actionId)"), ("user", "\(event.email ?? "-")  \(event.userId ?? "")"),
            ("domain", event.emailDomain ?? "-"), ("ip", event.ip ?? "-"), ("user agent", event.userAgent ?? "-"),
            ("context", "method \(event.authMethod ?? "-")  org \(event.organizationId ?? "-")  device \(event.deviceFingerprint ?? "-")"),
            ("verdict", "\(event.verdict.rawValue) by \(event.decidedBy.rawValue), outcome \(event.outcome.rawValue)"),
            ("http status", event.httpStatus.map(String.init) ?? "-"), ("latency", Self.millis(event.latencyUs) + endpoint),
            ("error mode", event.errorMode.rawValue), ("reason", event.reason ?? "-"), ("user message", event.errorMessage ?? "-"),
            ("rule", [event.ruleId.map { "rule \($0)" }, event.shadowRuleId.map { "shadow hit: rule \($0)" }]
                .compactMap { $0 }.joined(separator: "  ").nonEmpty.map { $0 + "  (r: go to the rule)" } ?? "-"),
        ] + (event.isTest ? [("test", "a test decision (actionsctl test)")] : [])
            + (event.traceId.map { [("trace", "\($0)  (actionsctl events --trace \($0))")] } ?? [])
        var y = top + 1
        let labelWidth = 15
        for (label, value) in fields where y < top + height {
            grid.put(DisplayWidth.fit(" " + label, to: labelWidth), x: 0, y: y, role: .label)
            let role: Role = label == "verdict" ? (event.verdict == .deny ? .deny : .allow) : .value
            grid.put(TerminalText.escape(value), x: labelWidth, y: y, role: role, maxWidth: grid.width - labelWidth)
            y += 1
        }
        // The endpoint's error or answer, wrapped over the rows that remain.
        guard y < top + height else { return }
        grid.put(DisplayWidth.fit(" endpoint said", to: labelWidth), x: 0, y: y, role: .label)
        let text = TerminalText.escape(event.detail ?? "-")
        let width = grid.width - labelWidth
        var remaining = Substring(text)
        while !remaining.isEmpty && y < top + height {
            var line = ""
            var used = 0
            while let character = remaining.first, used + DisplayWidth.of(character) <= width {
                line.append(character)
                used += DisplayWidth.of(character)
                remaining = remaining.dropFirst()
            }
            if line.isEmpty { break }
            grid.put(line, x: labelWidth, y: y, role: .value)
            y += 1
        }
    }

    func drawRules(_ state: AppState, top: Int, height: Int, into grid: inout Grid) {
        if !state.testTrace.isEmpty {
            let rows = state.testTrace.map { step in
                (" " + DisplayWidth.fit(step.check, to: 14) + " " + TerminalText.escape(step.result),
                 step.check == "verdict" ? (step.result.hasPrefix("Deny") ? Role.deny : Role.allow) : Role.normal)
            }
            drawList(title: " Test action: local policy's decision trace (nothing logged, the endpoint not called)   Esc back",
                     empty: "", rows: rows, selected: -1, top: top, height: height, into: &grid)
            return
        }
        let rows = state.rules.map { rule -> (cells: [String], role: Role) in
            let active = rule.isActive(nowMs: state.nowMs)
            let expiry = rule.expiresMs.map { (active ? "" : "EXP ") + String(clock($0, withDate: true).dropFirst(5).dropLast(3)) } ?? "never"
            let scope = rule.scope == .all ? "all" : (rule.scope == .authentication ? "auth" : "reg")
            let hits = rule.shadow ? "\(rule.hits.shadow) would" : "\(rule.hits.decided)"
            let note = [TerminalText.escape(rule.note), rule.createdBy.isEmpty ? "" : "(" + TerminalText.escape(rule.createdBy) + ")"]
                .filter { !$0.isEmpty }.joined(separator: " ")
            return ([String(rule.id), rule.kind.rawValue, rule.shadow ? "SHADOW" : "", scope, hits,
                     TerminalText.escape(rule.target), expiry, note],
                    !active ? .dim : (rule.shadow ? .warning : (rule.kind == .allow ? .allow : .normal)))
        }
        // The value is what the operator reads a rule by: it stays whole before the note gets a
        // column, and before the hits and the expiry (in that order) keep theirs. MODE is blank
        // for an enforcing rule, so a shadow one stands out.
        drawTable(titles: [" Rules (\(rows.count))  hits: 24h  a add deny · x delete · P promote · D demote · Esc back",
                           " Rules (\(rows.count)) · hits in 24h · a add · x delete · P/D promote/demote", " Rules (\(rows.count))"],
                  headers: ["ID", "KIND", "MODE", "SCOPE", "HITS", "VALUE", "EXPIRES", "NOTE (BY)"], alignRight: [0, 4],
                  caps: [6, 5, 7, 5, 12, 120, 15, 0], steps: [.settle(0), .hide(4), .hide(6), .shrink(5, to: 20)],
                  empty: "no rules; press a to add a deny entry (actionsctl adds allow entries and rate rules)",
                  rows: rows, selected: state.ruleSelected, top: top, height: height, into: &grid)
    }

    func drawLockouts(_ state: AppState, top: Int, height: Int, into grid: inout Grid) {
        let rows = state.lockouts.map { record -> (cells: [String], role: Role) in
            let until = record.lockedUntilMs.map { String(clock($0, withDate: true).dropFirst(5)) } ?? "not locked"
            return ([TerminalText.escape(record.email), String(record.failures), until, TerminalText.escape(record.lastIP ?? "-")], .normal)
        }
        drawTable(titles: [" Lockouts (\(rows.count))   u unlock · Esc back", " Lockouts (\(rows.count))"],
                  headers: ["EMAIL", "FAILS", "LOCKED UNTIL", "LAST IP"], alignRight: [1], caps: [254, 6, 14, 0],
                  steps: [.settle(15), .settle(0), .shrink(0, to: 20)],
                  empty: "nobody is locked out", rows: rows, selected: state.lockoutSelected, top: top, height: height, into: &grid)
    }

    func drawNodes(_ state: AppState, top: Int, height: Int, into grid: inout Grid) {
        let rows = state.nodes.map { node -> (cells: [String], role: Role) in
            let phase = node.phase(nowMs: state.nowMs)
            let seen = max(0, state.nowMs - node.updatedMs) / 1000
            let circuits = [ActionType.userRegistration, .authentication].map { node.circuits[$0]?.rawValue ?? "-" }
            let role: Role = phase == .silent ? .warning
                : (phase == .stopped ? .dim : (node.dropped > 0 || node.circuits.values.contains(.open) ? .deny : .normal))
            return ([TerminalText.escape(node.name), phase.label, "\(seen)s ago", String(format: "%.1f", node.decisionsPerSecond),
                     String(node.queued), String(node.dropped), circuits[0], circuits[1], TerminalText.escape(node.version),
                     node.databaseServer.map(TerminalText.escape) ?? "-"], role)
        }
        let stale = NodeStatus.staleAfterMs / 1000
        drawTable(titles: [" Nodes (\(rows.count))   heartbeat every \(NodeStatus.heartbeatMs / 1000)s · SILENT after \(stale)s without one, stopped when shut down · n filters events by node · Esc back",
                           " Nodes (\(rows.count)) · SILENT: no heartbeat for \(stale)s · stopped: shut down", " Nodes (\(rows.count))"],
                  headers: ["NODE", "STATE", "SEEN", "DEC/S", "QUEUE", "DROP", "REG", "AUTH", "VERSION", "DATABASE"],
                  alignRight: [2, 3, 4, 5], caps: [40, 7, 9, 8, 7, 7, 9, 9, 10, 0],
                  steps: [.settle(21), .shrink(0, to: 20), .hide(8), .settle(0), .shrink(0, to: 12)],
                  empty: "no node has reported yet", rows: rows, selected: state.nodeSelected, top: top, height: height, into: &grid)
    }

    /// A titled table with a header row, laid out by `TableLayout` (a cap of 0: as wide as the
    /// cells), that scrolls to keep the selected row in view. The longest title that fits is shown.
    private func drawTable(titles: [String], headers: [String], alignRight: Set<Int>, caps: [Int], steps: [TableLayout.Step],
                           empty: String, rows: [(cells: [String], role: Role)], selected: Int, top: Int, height: Int,
                           into grid: inout Grid) {
        grid.fill(x: 0, y: top, width: grid.width, role: .header)
        grid.put(titles.first { DisplayWidth.of($0) <= grid.width } ?? titles.last ?? "", x: 0, y: top, role: .header, maxWidth: grid.width)
        guard !rows.isEmpty else {
            grid.put("  " + empty, x: 0, y: top + 2, role: .dim)
            return
        }
        let wants = headers.indices.map { index in
            let content = rows.reduce(DisplayWidth.of(headers[index])) { max($0, DisplayWidth.of($1.cells[index])) }
            return caps[index] > 0 ? min(content, caps[index]) : content
        }
        let layout = TableLayout(wants: wants, width: grid.width, steps: steps)
        func draw(_ cells: [String], y: Int, role: Role) {
            for (index, (x, width)) in zip(layout.starts, layout.widths).enumerated() where width > 0 && x < grid.width {
                grid.put(DisplayWidth.fit(cells[index], to: min(width, grid.width - x), alignRight: alignRight.contains(index)),
                         x: x, y: y, role: role)
            }
        }
        grid.fill(x: 0, y: top + 1, width: grid.width, role: .header)
        draw(headers, y: top + 1, role: .header)
        let visible = max(1, height - 2)
        let first = max(0, selected - visible + 1)
        for (offset, row) in rows.dropFirst(first).prefix(visible).enumerated() {
            let y = top + 2 + offset
            draw(row.cells, y: y, role: row.role)
            if first + offset == selected { grid.restyle(x: 0, y: y, width: grid.width, role: .selected) }
        }
    }

    /// A titled list that scrolls to keep the selected row in view.
    private func drawList(title: String, empty: String, rows: [(String, Role)], selected: Int, top: Int, height: Int,
                          into grid: inout Grid) {
        grid.fill(x: 0, y: top, width: grid.width, role: .header)
        grid.put(title, x: 0, y: top, role: .header)
        guard !rows.isEmpty else {
            grid.put("  " + empty, x: 0, y: top + 2, role: .dim)
            return
        }
        let visible = max(1, height - 1)
        let first = max(0, selected - visible + 1)
        for (offset, (line, role)) in rows.dropFirst(first).prefix(visible).enumerated() {
            let y = top + 1 + offset
            grid.put(line, x: 0, y: y, role: role)
            if first + offset == selected { grid.restyle(x: 0, y: y, width: grid.width, role: .selected) }
        }
    }

    // MARK: Bottom lines and the help overlay

    func drawMessageLine(_ state: AppState, y: Int, into grid: inout Grid) {
        if let prompt = state.prompt {
            grid.fill(x: 0, y: y, width: grid.width, role: .input)
            let text: String
            switch prompt {
            case .confirmMode(let type, let mode):
                // The longest wording that fits: the question and "y = yes" are never cut.
                let effect = mode == .failOpen ? "FAIL-OPEN (allow when the endpoint fails)" : "FAIL-CLOSED (deny when the endpoint fails)"
                let short = mode == .failOpen ? "FAIL-OPEN" : "FAIL-CLOSED"
                let name = type == .authentication ? "auth" : "reg"
                text = fitted([" Set \(type.rawValue) to \(effect)? y = yes · Tab = other action · any key = no",
                               " Set \(type.rawValue) to \(short)? y = yes · Tab = other action · any key = no",
                               " Set \(type.rawValue) to \(short)? y = yes · Tab = other · else no",
                               " \(name) → \(short)? y = yes · Tab other · else no"], width: grid.width)
            case .confirmDelete(let rule):
                let label = TerminalText.escape(rule.label)
                text = fitted([" Delete rule \(rule.id), \(label)? y = yes · any key = no", " Delete rule \(rule.id), \(label)? y = yes · else no",
                               " Delete rule \(rule.id)? y = yes · else no · \(label)"], width: grid.width)
            case .confirmShadow(let rule, let shadow):
                let label = TerminalText.escape(rule.label)
                text = shadow
                    ? fitted([" Demote rule \(rule.id), \(label), to shadow (logged, not applied)? y = yes · any key = no",
                              " Demote rule \(rule.id), \(label), to shadow? y = yes · else no",
                              " Demote rule \(rule.id) to shadow? y = yes · else no · \(label)"], width: grid.width)
                    : fitted([" Promote rule \(rule.id), \(label), to enforcing? y = yes · any key = no",
                              " Promote rule \(rule.id), \(label), to enforcing? y = yes · else no",
                              " Promote rule \(rule.id) to enforcing? y = yes · else no · \(label)"], width: grid.width)
            case .confirmAdd(_, let preview):
                // Two rows: the impact here, the question in place of the footer (one row cut both at 80 columns).
                text = " " + preview
            case .sortBy:
                let columns = state.sortableColumns.enumerated().map { index, column in
                    "\(index + 1) \(column.name)" + (column == state.sort.column ? arrow(up: !state.sort.descending) : "")
                }
                text = fitted([" Sort by: " + columns.joined(separator: "  ") + " · the same again reverses · Esc keeps",
                               " Sort by: " + columns.joined(separator: "  ") + " · Esc keeps", " Sort: " + columns.joined(separator: " ")],
                              width: grid.width)
            case .confirmUnlock(let email):
                let escaped = TerminalText.escape(email)
                text = fitted([" Unlock \(escaped)? y = yes · any key = no", " Unlock? y = yes · any key = no · \(escaped)"], width: grid.width)
            case .search(let input):
                text = editLine([" Search the whole log (email, domain, IP, reason; under 3 characters: the newest \(AppState.searchScanLimit / 1000)k)",
                                 " Search the whole log", " Search"], input: input, hint: "Enter apply · Esc clear", width: grid.width)
            case .export(let input):
                text = editLine([" Export the filtered view to (.csv for CSV, else JSON Lines)", " Export to (.csv or .jsonl)", " Export to"],
                                input: input, hint: "Enter write · Esc cancel", width: grid.width)
            case .testAction(let answers, let input):
                let step = ["Action (user_registration, authentication) [user_registration]", "Email", "IP address (empty: none)"][min(answers.count, 2)]
                let short = ["Action [user_registration]", "Email", "IP (empty: none)"][min(answers.count, 2)]
                text = editLine([" Test action \(answers.count + 1)/3 · \(step)", " Test \(answers.count + 1)/3 · \(short)", " \(short)"],
                                input: input, hint: "Enter next · Esc cancel", width: grid.width)
            case .addDeny(let step, _, let input):
                let position = "\(step.rawValue + 1)/\(AppState.AddStep.allCases.count)"
                text = editLine([" Add deny entry \(position) · \(step.prompt)", " Deny \(position) · \(step.shortPrompt)", " \(step.shortPrompt)"],
                                input: input, hint: "Enter next · Esc cancel", width: grid.width)
            }
            grid.put(text, x: 0, y: y, role: .input)
            return
        }
        if let searching = state.searching {
            let seconds = max(0, (state.nowMs - searching.sinceMs) / 1000)
            let progress = searching.progress.map { step in
                " · scanned \(Self.count(step.scanned)) of \(Self.count(step.total)) rows" + (step.total < step.unindexed ? " (of \(Self.count(step.unindexed)) not indexed)" : "")
            } ?? ""
            grid.put(" searching for \(TerminalText.escape(searching.text))...\(progress) · \(seconds) s · Esc stops", x: 0, y: y, role: .ok)
        } else if let message = state.message {
            grid.put(" " + message.text, x: 0, y: y, role: message.isError ? .error : .ok)
        } else if !state.warnings.isEmpty {
            grid.put(" ⚠ " + state.warnings.joined(separator: " · "), x: 0, y: y, role: .warning)
        }
    }

    /// The first line that fits `width`, else the last (whose end may then be cut).
    func fitted(_ lines: [String], width: Int) -> String {
        lines.first { DisplayWidth.of($0) < width } ?? lines.last ?? ""
    }

    /// A prompt line whose typed text is always visible, at any width: the longest label that
    /// leaves room for the text (and the hint, when it fits), and when even the shortest does not,
    /// the end of the text, where the cursor is.
    func editLine(_ labels: [String], input: String, hint: String, width: Int) -> String {
        let typed = TerminalText.escape(input) + (asciiOnly ? "_" : "▏")
        for label in labels {
            let line = label + ": " + typed
            if DisplayWidth.of(line + "   " + hint) < width { return line + "   " + hint }
            if DisplayWidth.of(line) < width { return line }
        }
        let label = (labels.last ?? "") + ": …"
        let room = max(1, width - 1 - DisplayWidth.of(label))
        var tail = ""
        for character in typed.reversed() {
            if DisplayWidth.of(String(character) + tail) > room { break }
            tail = String(character) + tail
        }
        return label + tail
    }

    func drawFooter(_ state: AppState, y: Int, into grid: inout Grid) {
        if case .confirmAdd(let entry, _)? = state.prompt {
            grid.fill(x: 0, y: y, width: grid.width, role: .input)
            grid.put(" Add \(entry.shadow ? "shadow " : "")\(TerminalText.escape(entry.label))? y = yes · any key = no", x: 0, y: y, role: .input)
            return
        }
        grid.fill(x: 0, y: y, width: grid.width, role: .footer)
        // Right side first, so markers and warnings are never cut by the hints.
        var markers: [(String, Role)] = []
        // As lnav does: scrolled away from the tail, the view says so, and how much arrived since.
        if state.screen == .events && state.sort.isDefault && !state.following && !state.paused && state.arrivedSinceScrolled > 0 {
            markers.append(("not following: \(state.arrivedSinceScrolled) new · g follows", .warning))
        }
        if state.filter.deniedOnly { markers.append(("denied", .filter)) }
        if state.filter.failuresOnly { markers.append(("failures", .filter)) }
        if let type = state.filter.actionType { markers.append((type.rawValue, .filter)) }
        if let node = state.filter.node { markers.append(("node " + TerminalText.escape(node), .filter)) }
        if !state.sort.isDefault {
            markers.append(("sort " + state.sort.column.name + " " + arrow(up: !state.sort.descending), .filter))
        }
        if !state.filter.text.isEmpty {
            // What the search covered: the whole log, or (a short search, or an index far behind)
            // the newest rows up to its budget, with what it left and how to go on.
            let budget = Int64(state.filter.textScanLimit ?? AppState.searchScanLimit)
            let scope = state.searchUnscanned > 0
                ? "newest \(Self.count(budget)) rows; \(Self.count(state.searchUnscanned)) more unsearched: / Enter goes on"
                : "whole log"
            markers.append(("/" + TerminalText.escape(state.filter.text) + " (\(scope))", .filter))
        }
        // An index far behind makes searches scan: said before anyone wonders why they are slow.
        if state.searchBacklog > AppState.indexBehindMarker {
            markers.append(("index \(Self.count(state.searchBacklog)) behind", .warning))
        }
        if state.readOnly { markers.append(("READ-ONLY", .readOnly)) }
        if !state.warnings.isEmpty { markers.append(("⚠ \(state.warnings.count)", .warning)) }
        let markerWidth = markers.reduce(0) { $0 + DisplayWidth.of($1.0) + 3 }
        var right = max(0, grid.width - markerWidth)
        for (text, role) in markers {
            right += grid.put(" " + text + " ", x: right, y: y, role: role) + 1
        }
        var x = 0
        for binding in state.bindings.hints(for: state.bindingScope, readOnly: state.readOnly) {
            let key = binding.keys.first.map { $0 == .enter ? "Enter" : $0.label } ?? ""
            let width = DisplayWidth.of(key) + DisplayWidth.of(binding.hint ?? "") + 2
            guard x + width <= grid.width - markerWidth else { break }
            x += grid.put(key, x: x, y: y, role: .key)
            x += grid.put(" " + (binding.hint ?? "") + " ", x: x, y: y, role: .footer)
        }
    }

    /// The help: a full screen generated from the key table, grouped by screen (this screen's
    /// keys first, then those that work anywhere, then the other screens'), every line whole
    /// (long ones wrap), scrolled with j/k, PgDn/PgUp, g/G, as htop's and k9s's are.
    func drawHelp(_ state: AppState, into grid: inout Grid) {
        for row in 0..<grid.height { grid.fill(x: 0, y: row, width: grid.width, role: .overlay) }
        let lines = Self.helpLines(state, width: grid.width)
        let visible = max(1, grid.height - 2)
        let first = min(state.helpScroll, max(0, lines.count - visible))
        let position = lines.count > visible ? " · lines \(first + 1)-\(min(lines.count, first + visible)) of \(lines.count)" : ""
        grid.put(" Keys" + (state.readOnly ? " (read-only: changes are hidden)" : "") + position, x: 0, y: 0, role: .title, maxWidth: grid.width)
        for (index, line) in lines.dropFirst(first).prefix(visible).enumerated() {
            var x = 0
            if !line.key.isEmpty || !line.heading {
                x += grid.put(" " + DisplayWidth.fit(line.key, to: Self.helpKeyWidth), x: 0, y: 1 + index, role: .key)
                x += 1
            }
            grid.put(line.text, x: x, y: 1 + index, role: line.heading ? .header : .overlay, maxWidth: grid.width - x)
        }
        grid.fill(x: 0, y: grid.height - 1, width: grid.width, role: .footer)
        grid.put(" j/k ↓/↑ PgDn/PgUp g/G scroll · Esc, ? or F1 close · q quit", x: 0, y: grid.height - 1, role: .footer, maxWidth: grid.width)
    }

    static let helpKeyWidth = 14

    struct HelpLine: Equatable {
        var key: String
        var text: String
        var heading = false
    }

    /// Every binding in effect, as lines that fit `width`.
    static func helpLines(_ state: AppState, width: Int) -> [HelpLine] {
        let here = state.bindingScope
        let usable = state.bindings.table.filter { !(state.readOnly && $0.mutates) && !$0.keys.isEmpty }
        var scopes: [Binding.Scope] = [here, .global]
        for binding in usable where !scopes.contains(binding.scope) { scopes.append(binding.scope) }
        let textWidth = max(10, width - helpKeyWidth - 3)
        var lines: [HelpLine] = []
        for scope in scopes {
            let bindings = usable.filter { $0.scope == scope }
            guard !bindings.isEmpty else { continue }
            if !lines.isEmpty { lines.append(HelpLine(key: "", text: "", heading: true)) }
            lines.append(HelpLine(key: "", text: " " + (scope == .global ? "Anywhere" : "On the \(scope.rawValue) screen"), heading: true))
            for binding in bindings {
                let wrapped = wrap(binding.help, width: textWidth)
                // A key list longer than its column gets a line of its own.
                if DisplayWidth.of(binding.keyLabel) > helpKeyWidth {
                    lines.append(HelpLine(key: "", text: binding.keyLabel))
                    lines += wrapped.map { HelpLine(key: "", text: $0) }
                } else {
                    lines += wrapped.enumerated().map { HelpLine(key: $0.offset == 0 ? binding.keyLabel : "", text: $0.element) }
                }
            }
        }
        return lines
    }

    /// Words onto lines of at most `width` columns (a word longer than that is cut).
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if DisplayWidth.of(candidate) <= width {
                line = candidate
            } else {
                if !line.isEmpty { lines.append(line) }
                line = DisplayWidth.truncate(String(word), to: width)
            }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
