import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Work the reducer asks the controller to do against the store.
package enum Effect: Equatable, Sendable {
    case setMode(ActionType, ErrorMode)
    case addDeny(ListEntry)
    /// Work out a new entry's impact on the last 24 hours, then ask to confirm it.
    case previewDeny(ListEntry)
    case removeRule(Int64)
    case setShadow(Int64, Bool)
    case unlock(String)
    /// The filter changed: reload the table from the store.
    case reloadEvents
    case loadRules
    case loadLockouts
    case loadNodes
    /// The header's window changed: reload its figures.
    case loadStats
    case loadTop
    /// Evaluate a synthetic attempt against local policy, with its trace.
    case testAction(ActionType, email: String, ip: String?)
    /// Put the event on the clipboard as JSON (OSC 52), or in a file.
    case copyEvent(Event)
    case cycleTheme
    /// Write the filtered view to this file.
    case export(String)
}

extension AppState {
    /// A key turns the old state into the new one, plus effects for the controller.
    package mutating func handle(_ key: Key) -> [Effect] {
        if key == .resize { return [] }
        if case .mouse(let action, let x, let y) = key {
            return prompt == nil && !showHelp ? handleMouse(action, x: x, y: y) : []
        }
        if prompt != nil { return handlePrompt(key) }
        if showHelp {
            handleHelp(key)
            return []
        }
        let scope = bindingScope
        guard let binding = bindings.command(for: key, on: scope) else { return [] }
        if binding.mutates && readOnly {
            message = Message(text: "read-only: \(binding.help) is not allowed", isError: true)
            return []
        }
        message = nil
        return run(binding.command)
    }

    var bindingScope: Binding.Scope {
        switch screen {
        case .events: return .events
        case .detail: return .detail
        case .rules: return .rules
        case .lockouts: return .lockouts
        case .nodes: return .nodes
        case .top: return .top
        case .charts: return .charts
        }
    }

    private mutating func run(_ command: Command) -> [Effect] {
        switch command {
        case .quit: quit = true
        case .help:
            showHelp = true
            helpScroll = 0
        case .back:
            if !testTrace.isEmpty {
                testTrace = []
            } else if screen != .events {
                screen = .events
            } else if !filter.text.isEmpty {
                filter.text = ""
                return [.reloadEvents]
            }
        case .moveDown: move(by: 1)
        case .moveUp: move(by: -1)
        case .pageDown: move(by: max(1, pageSize))
        case .pageUp: move(by: -max(1, pageSize))
        case .top: move(to: 0)
        case .bottom: move(to: Int.max)
        case .open:
            // Hold the selection on this event while new ones arrive above it.
            if selectedEvent != nil {
                screen = .detail
                following = false
            }
        case .toggleDenied:
            filter.deniedOnly.toggle()
            return [.reloadEvents]
        case .toggleFailures:
            filter.failuresOnly.toggle()
            return [.reloadEvents]
        case .cycleType:
            switch filter.actionType {
            case nil: filter.actionType = .userRegistration
            case .userRegistration?: filter.actionType = .authentication
            case .authentication?: filter.actionType = nil
            }
            return [.reloadEvents]
        case .search:
            prompt = .search(filter.text)
        case .clearSearch:
            filter.text = ""
            return [.reloadEvents]
        case .pause:
            paused.toggle()
            message = Message(text: paused ? "paused: the tail is frozen (p resumes)" : "resumed", isError: false)
            if !paused { return [.reloadEvents] }
        case .flipMode:
            let type = actionTypeForMode
            let current = settings[type]?.errorMode ?? .failClosed
            prompt = .confirmMode(type, to: current.flipped)
        case .rules:
            screen = .rules
            return [.loadRules]
        case .lockouts:
            screen = .lockouts
            return [.loadLockouts]
        case .addDeny:
            prompt = .addDeny(.kind, answers: [], input: "")
        case .deleteRule:
            if rules.indices.contains(ruleSelected) { prompt = .confirmDelete(rules[ruleSelected]) }
        case .promoteRule, .demoteRule:
            guard rules.indices.contains(ruleSelected) else { return [] }
            let rule = rules[ruleSelected], shadow = command == .demoteRule
            if rule.shadow == shadow {
                message = Message(text: "rule \(rule.id) is already \(shadow ? "shadow" : "enforcing")", isError: false)
            } else {
                prompt = .confirmShadow(rule, shadow: shadow)
            }
        case .jumpToRule:
            guard let id = selectedEvent.flatMap({ $0.ruleId ?? $0.shadowRuleId }) else {
                message = Message(text: "no rule decided this event", isError: false)
                return []
            }
            focusRule = id
            screen = .rules
            return [.loadRules]
        case .unlock:
            if lockouts.indices.contains(lockoutSelected) { prompt = .confirmUnlock(lockouts[lockoutSelected].email) }
        case .cycleTheme:
            return [.cycleTheme]
        case .testAction:
            prompt = .testAction(answers: [], input: "")
        case .pickSort:
            prompt = .sortBy
        case .charts:
            screen = .charts
            chartType = filter.actionType ?? selectedEvent?.actionType ?? chartType
        case .chartType:
            chartType = chartType == .userRegistration ? .authentication : .userRegistration
        case .copyEvent:
            guard let event = selectedEvent else { return [] }
            return [.copyEvent(event)]
        case .cycleSort, .reverseSort:
            if command == .cycleSort {
                // The next column on screen (NODE only with more than one node, DECIDED only when
                // the terminal is wide enough).
                let shown = sortableColumns
                let next = shown.first { $0.rawValue > sort.column.rawValue } ?? shown.first ?? .time
                applySort(EventSort(naturalFor: next))
            } else {
                applySort(EventSort(column: sort.column, descending: !sort.descending))
            }
            message = Message(text: "sorted by \(sort.column.name) \(sort.descending ? "descending" : "ascending")"
                              + (sort.isDefault ? " (following the tail)" : ""), isError: false)
        case .cycleWindow:
            stats.window = stats.window.next
            return screen == .top ? [.loadStats, .loadTop] : [.loadStats]
        case .attacks:
            screen = .top
            return [.loadTop]
        case .filterFromTop:
            guard topRows.indices.contains(topSelected) else { return [] }
            filter = TopOffenders.filter(for: topRows[topSelected], base: filter)
            screen = .events
            return [.reloadEvents]
        case .denyFromTop, .shadowFromTop:
            guard topRows.indices.contains(topSelected) else { return [] }
            guard var entry = topRows[topSelected].denyEntry else {
                message = Message(text: "only a domain, a network or an email can be denied", isError: true)
                return []
            }
            entry.shadow = command == .shadowFromTop
            entry.reason = "from the dashboard's attack panel"
            message = Message(text: "working out its impact on the last 24 hours...", isError: false)
            return [.previewDeny(entry)]
        case .nodes:
            screen = .nodes
            return [.loadNodes]
        case .export:
            prompt = .export("actions-events.jsonl")
        case .cycleNode:
            // None, then each node by name, then none again.
            let names = nodes.map(\.name)
            if let current = filter.node, let index = names.firstIndex(of: current), index + 1 < names.count {
                filter.node = names[index + 1]
            } else {
                filter.node = filter.node == nil ? names.first : nil
            }
            return [.reloadEvents]
        }
        return []
    }

    /// The help scrolls; Esc, ? or F1 close it, q quits. Other keys do nothing (they used to close
    /// it, so a stray key lost the place).
    private mutating func handleHelp(_ key: Key) {
        let page = max(1, height - 2)
        let last = max(0, Renderer.helpLines(self, width: width).count - page)
        switch key {
        case .escape, .char("?"), .function(1): showHelp = false
        case .char("q"), .function(10): quit = true
        case .char("j"), .down: helpScroll += 1
        case .char("k"), .up: helpScroll -= 1
        case .pageDown, .char(" "): helpScroll += page
        case .pageUp, .char("b"): helpScroll -= page
        case .char("g"), .home: helpScroll = 0
        case .char("G"), .end: helpScroll = last
        default: break
        }
        helpScroll = max(0, min(helpScroll, last))
    }

    /// A click selects the row under it (the event table and the lists) or, on the table's header,
    /// sorts by that column (again: reverses); the wheel moves three rows.
    private mutating func handleMouse(_ action: Key.MouseAction, x: Int, y: Int) -> [Effect] {
        switch action {
        case .wheelUp: move(by: -3)
        case .wheelDown: move(by: 3)
        case .click:
            // Every screen but the details draws a header row under the action headers, rows below it.
            let headerY = Renderer.headerRows - 1
            guard screen != .detail, y >= headerY else { return [] }
            let row = y - headerY - 1
            switch screen {
            case .events:
                if y == headerY {
                    guard let column = Renderer.eventColumn(atX: x, self, width: width, rows: pageSize) else { return [] }
                    applySort(column == sort.column ? EventSort(column: column, descending: !sort.descending) : EventSort(naturalFor: column))
                    message = Message(text: "sorted by \(sort.column.name) \(sort.descending ? "descending" : "ascending")", isError: false)
                } else if scroll + row < events.count {
                    move(to: scroll + row)
                }
            case .rules, .lockouts, .nodes:
                // Lists scroll so that the selection is on the last visible row at most.
                let visible = max(1, height - Renderer.headerRows - Renderer.footerRows)
                let current = screen == .rules ? ruleSelected : (screen == .lockouts ? lockoutSelected : nodeSelected)
                let first = max(0, current - visible + 1)
                if row >= 0 { move(to: first + row) }
            case .detail, .top, .charts:
                break
            }
        }
        return []
    }

    /// The event table's columns as drawn now, in order: what `s` cycles through and the sort
    /// picker numbers.
    var sortableColumns: [EventSort.Column] {
        let widths = Renderer.eventColumns(self, width: width, rows: pageSize).widths
        return EventSort.Column.allCases.filter { widths[$0.rawValue] > 0 }
    }

    /// Re-orders the rows on hand, keeping the selection on its event.
    mutating func applySort(_ sort: EventSort) {
        let selectedID = selectedEvent?.id
        setSort(sort)
        selected = selectedID.flatMap { id in events.firstIndex { $0.id == id } } ?? 0
        following = sort.isDefault && selected == 0
        scroll = max(0, min(scroll, selected))
        if selected >= scroll + pageSize { scroll = selected - pageSize + 1 }
    }

    private mutating func move(by delta: Int) {
        switch screen {
        case .events, .detail:
            move(to: selected + delta)
        case .rules:
            ruleSelected = clamp(ruleSelected + delta, count: rules.count)
        case .lockouts:
            lockoutSelected = clamp(lockoutSelected + delta, count: lockouts.count)
        case .nodes:
            nodeSelected = clamp(nodeSelected + delta, count: nodes.count)
        case .top:
            topSelected = clamp(topSelected + delta, count: topRows.count)
        case .charts:
            break
        }
    }

    private mutating func move(to index: Int) {
        switch screen {
        case .rules: ruleSelected = clamp(index, count: rules.count)
        case .lockouts: lockoutSelected = clamp(index, count: lockouts.count)
        case .nodes: nodeSelected = clamp(index, count: nodes.count)
        case .top: topSelected = clamp(index, count: topRows.count)
        case .charts: break
        case .events, .detail:
            selected = clamp(index, count: events.count)
            // Following the tail means sitting on the newest row.
            following = selected == 0
            if selected < scroll { scroll = selected }
            if selected >= scroll + pageSize { scroll = selected - pageSize + 1 }
        }
    }

    private func clamp(_ value: Int, count: Int) -> Int {
        max(0, min(value, count - 1))
    }

    // MARK: Prompts

    private mutating func handlePrompt(_ key: Key) -> [Effect] {
        guard let current = prompt else { return [] }
        switch current {
        case .confirmMode(let type, let mode):
            prompt = nil
            if key == .char("y") || key == .char("Y") {
                message = Message(text: "\(type.rawValue): setting the error mode to \(mode.rawValue)...", isError: false)
                return [.setMode(type, mode)]
            }
            if key == .tab {
                let other: ActionType = type == .userRegistration ? .authentication : .userRegistration
                prompt = .confirmMode(other, to: (settings[other]?.errorMode ?? .failClosed).flipped)
                return []
            }
            message = Message(text: "cancelled", isError: false)
        case .confirmDelete(let rule):
            prompt = nil
            if key == .char("y") || key == .char("Y") { return [.removeRule(rule.id)] }
            message = Message(text: "cancelled", isError: false)
        case .confirmShadow(let rule, let shadow):
            prompt = nil
            if key == .char("y") || key == .char("Y") { return [.setShadow(rule.id, shadow)] }
            message = Message(text: "cancelled", isError: false)
        case .confirmAdd(let entry, _):
            prompt = nil
            if key == .char("y") || key == .char("Y") { return [.addDeny(entry)] }
            message = Message(text: "cancelled: nothing added", isError: false)
        case .confirmUnlock(let email):
            prompt = nil
            if key == .char("y") || key == .char("Y") { return [.unlock(email)] }
            message = Message(text: "cancelled", isError: false)
        case .sortBy:
            prompt = nil
            let shown = sortableColumns
            guard case .char(let character) = key, let number = character.wholeNumberValue, shown.indices.contains(number - 1) else {
                message = Message(text: "sort unchanged", isError: false)
                return []
            }
            let column = shown[number - 1]
            applySort(column == sort.column ? EventSort(column: column, descending: !sort.descending) : EventSort(naturalFor: column))
            message = Message(text: "sorted by \(sort.column.name) \(sort.descending ? "descending" : "ascending")"
                              + (sort.isDefault ? " (following the tail)" : ""), isError: false)
        case .search(let text):
            switch key {
            case .escape:
                prompt = nil
                if !filter.text.isEmpty {
                    filter.text = ""
                    return [.reloadEvents]
                }
            case .enter:
                prompt = nil
                // The same search again, when the last stopped at its budget, goes four times as
                // far back through what the index has not reached; a new one starts at the budget.
                if text == filter.text && searchUnscanned > 0 {
                    filter.textScanLimit = (filter.textScanLimit ?? AppState.searchScanLimit) * 4
                } else {
                    filter.textScanLimit = AppState.searchScanLimit
                }
                filter.text = text
                return [.reloadEvents]
            default:
                prompt = .search(Self.edit(text, key))
            }
        case .export(let path):
            switch key {
            case .escape:
                prompt = nil
                message = Message(text: "cancelled", isError: false)
            case .enter:
                prompt = nil
                let trimmed = path.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty {
                    message = Message(text: "no file name: nothing exported", isError: true)
                } else {
                    return [.export(trimmed)]
                }
            default:
                prompt = .export(Self.edit(path, key))
            }
        case .testAction(let answers, let input):
            switch key {
            case .escape:
                prompt = nil
                message = Message(text: "cancelled", isError: false)
            case .enter:
                let answer = input.trimmingCharacters(in: .whitespaces)
                switch answers.count {
                case 0:
                    guard answer.isEmpty || ActionType(name: answer) != nil else {
                        message = Message(text: "use user_registration or authentication", isError: true)
                        prompt = .testAction(answers: [], input: "")
                        return []
                    }
                    message = nil
                    prompt = .testAction(answers: [answer.isEmpty ? ActionType.userRegistration.rawValue : answer], input: "")
                case 1:
                    guard answer.contains("@") else {
                        message = Message(text: "an email address, please", isError: true)
                        prompt = .testAction(answers: answers, input: answer)
                        return []
                    }
                    message = nil
                    prompt = .testAction(answers: answers + [answer], input: "")
                default:
                    prompt = nil
                    message = Message(text: "test action: local policy's trace (the endpoint is not called)", isError: false)
                    return [.testAction(ActionType(name: answers[0]) ?? .userRegistration, email: answers[1],
                                        ip: answer.isEmpty ? nil : answer)]
                }
            default:
                prompt = .testAction(answers: answers, input: Self.edit(input, key))
            }
        case .addDeny(let step, let answers, let input):
            switch key {
            case .escape:
                prompt = nil
                message = Message(text: "cancelled", isError: false)
            case .enter:
                return submit(step: step, answers: answers + [input.trimmingCharacters(in: .whitespaces)])
            default:
                prompt = .addDeny(step, answers: answers, input: Self.edit(input, key))
            }
        }
        return []
    }

    private mutating func submit(step: AddStep, answers: [String]) -> [Effect] {
        // Check each answer as soon as it is given, so a typo is caught at its own step.
        let answer = answers.last ?? ""
        switch step {
        case .kind where EntryKind(name: answer) == nil:
            message = Message(text: "unknown kind \(TerminalText.escape(answer)): use domain, email or ip", isError: true)
            prompt = .addDeny(step, answers: Array(answers.dropLast()), input: "")
            return []
        case .value:
            do {
                _ = try ListEntry.normalize(answer, kind: EntryKind(name: answers[0]) ?? .domain)
            } catch {
                message = Message(text: TerminalText.escape(error.description), isError: true)
                prompt = .addDeny(step, answers: Array(answers.dropLast()), input: answer)
                return []
            }
        case .scope where !answer.isEmpty && RuleScope(name: answer) == nil:
            message = Message(text: "unknown scope: use all, user_registration or authentication", isError: true)
            prompt = .addDeny(step, answers: Array(answers.dropLast()), input: "")
            return []
        case .expiry where !answer.isEmpty && DurationText.milliseconds(answer) == nil:
            message = Message(text: "not a duration: use 90s, 30m, 12h or 7d (at most 36500d)", isError: true)
            prompt = .addDeny(step, answers: Array(answers.dropLast()), input: answer)
            return []
        case .mode where !["", "enforce", "enforcing", "shadow"].contains(answer.lowercased()):
            message = Message(text: "use enforce or shadow", isError: true)
            prompt = .addDeny(step, answers: Array(answers.dropLast()), input: "")
            return []
        default:
            break
        }
        if let next = AddStep(rawValue: step.rawValue + 1) {
            message = nil
            prompt = .addDeny(next, answers: answers, input: "")
            return []
        }
        prompt = nil
        let entry = ListEntry(kind: EntryKind(name: answers[0]) ?? .domain, value: answers[1],
                              scope: answers[2].isEmpty ? .all : (RuleScope(name: answers[2]) ?? .all),
                              reason: answers[3].isEmpty ? nil : answers[3], shadow: answers[5].lowercased() == "shadow",
                              expiresMs: DurationText.milliseconds(answers[4]).map { nowMs + $0 })
        message = Message(text: "working out its impact on the last 24 hours...", isError: false)
        return [.previewDeny(entry)]
    }

    static func edit(_ text: String, _ key: Key) -> String {
        switch key {
        case .backspace, .delete: return String(text.dropLast())
        case .char(let character): return text.count < 200 ? text + String(character) : text
        default: return text
        }
    }
}
