import Foundation
import ActionsProtocol
/// A key press, decoded from ncurses (or written by a test).
package enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, tab, delete
    /// F1 to F12.
    case function(Int)
    case resize
    /// With `--mouse`: a click (button 1) or a wheel step at a cell.
    case mouse(MouseAction, x: Int, y: Int)

    package enum MouseAction: Hashable, Sendable { case click, wheelUp, wheelDown }

    package var label: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Bksp"
        case .tab: return "Tab"
        case .delete: return "Del"
        case .function(let n): return "F\(n)"
        case .resize: return "resize"
        case .mouse: return "mouse"
        }
    }
}

/// What a key asks for. The reducer gives each command its meaning.
package enum Command: String, Sendable, CaseIterable {
    case quit, help, back
    case moveDown, moveUp, pageDown, pageUp, top, bottom, open
    case toggleDenied, toggleFailures, cycleType, search, clearSearch, pause
    case flipMode, rules, lockouts, addDeny, deleteRule, unlock, cycleTheme, nodes, cycleNode, export
    case promoteRule, demoteRule, jumpToRule, cycleWindow
    case attacks, filterFromTop, denyFromTop, shadowFromTop, cycleSort, reverseSort, pickSort, copyEvent, charts, chartType, testAction
}

/// One row of the binding table. The table drives the reducer, the footer hints and the help overlay.
package struct Binding: Sendable {
    package enum Scope: String, Sendable {
        case global = "anywhere"
        case events = "event list"
        case detail = "event details"
        case rules = "rules"
        case lockouts = "lockouts"
        case nodes = "nodes"
        case top = "who is attacking"
        case charts = "charts"
    }

    package var keys: [Key]
    package var scope: Scope
    package var command: Command
    package var help: String
    /// Changes the store; hidden and refused in read-only mode.
    package var mutates = false
    /// Shown in the footer (the rest only in the `?` overlay).
    package var hint: String?

    package var keyLabel: String { keys.map(\.label).joined(separator: " ") }
}

/// Follows htop, k9s and lnav: q quits, ? helps, j/k and arrows move, / searches, Esc goes back.
/// A user's key file (`KeyFile`) changes this table; the footer and `?` show the keys in effect.
package struct KeyBindings: Sendable {
    package var table: [Binding]

    package init(table: [Binding] = KeyBindings.standardTable) { self.table = table }

    package static let standard = KeyBindings()

    package static let standardTable: [Binding] = [
        Binding(keys: [.char("q"), .function(10)], scope: .global, command: .quit, help: "quit (restores the terminal)", hint: "quit"),
        Binding(keys: [.char("?"), .function(1)], scope: .global, command: .help, help: "this help", hint: "help"),
        Binding(keys: [.escape], scope: .global, command: .back, help: "back, close, or clear the search"),
        Binding(keys: [.char("j"), .down], scope: .global, command: .moveDown, help: "move the selection down"),
        Binding(keys: [.char("k"), .up], scope: .global, command: .moveUp, help: "move the selection up"),
        Binding(keys: [.pageDown, .char(" ")], scope: .global, command: .pageDown, help: "one page down"),
        Binding(keys: [.pageUp, .char("b")], scope: .global, command: .pageUp, help: "one page up"),
        Binding(keys: [.char("g"), .home], scope: .global, command: .top, help: "newest (top); follow the tail again"),
        Binding(keys: [.char("G"), .end], scope: .global, command: .bottom, help: "oldest loaded (bottom)"),
        Binding(keys: [.enter], scope: .events, command: .open, help: "details of the selected event", hint: "details"),
        Binding(keys: [.char("d")], scope: .events, command: .toggleDenied, help: "denied only (toggle)", hint: "denied"),
        Binding(keys: [.char("f")], scope: .events, command: .toggleFailures, help: "failures only: outcome not ok (toggle)", hint: "failures"),
        Binding(keys: [.char("t")], scope: .events, command: .cycleType, help: "cycle the action-type filter", hint: "type"),
        Binding(keys: [.char("/"), .function(3)], scope: .events, command: .search, help: "search email, domain, IP or reason", hint: "search"),
        Binding(keys: [.char("s")], scope: .events, command: .cycleSort, help: "sort by the next column on screen (time, node, type, email, ip, verdict, decided, latency, reason)", hint: "sort"),
        Binding(keys: [.char("S")], scope: .events, command: .reverseSort, help: "reverse the sort order"),
        Binding(keys: [.char("<"), .char(">"), .function(6)], scope: .events, command: .pickSort,
                help: "pick the sort column from those on screen by its number (the same number again reverses it)"),
        Binding(keys: [.char("p")], scope: .events, command: .pause, help: "pause or resume the live tail", hint: "pause"),
        Binding(keys: [.char("m")], scope: .global, command: .flipMode, help: "flip fail-open / fail-closed (asks y)", mutates: true, hint: "mode"),
        Binding(keys: [.char("l")], scope: .global, command: .rules, help: "rules: deny and allow entries, rate rules, shadow rules", hint: "rules"),
        Binding(keys: [.char("L")], scope: .global, command: .lockouts, help: "failed-login lockouts", hint: "locks"),
        Binding(keys: [.char("a")], scope: .rules, command: .addDeny, help: "add a deny entry: kind, value, scope, reason, expiry, mode; shows its impact, asks y", mutates: true, hint: "add"),
        Binding(keys: [.char("x"), .delete], scope: .rules, command: .deleteRule, help: "delete the selected rule (asks y)", mutates: true, hint: "delete"),
        Binding(keys: [.char("P")], scope: .rules, command: .promoteRule, help: "promote the selected shadow rule to enforcing (asks y)", mutates: true, hint: "promote"),
        Binding(keys: [.char("D")], scope: .rules, command: .demoteRule, help: "demote the selected rule to shadow: logged, not applied (asks y)", mutates: true, hint: "demote"),
        Binding(keys: [.char("y")], scope: .events, command: .copyEvent, help: "copy the selected event as JSON (clipboard over OSC 52, else a file)", hint: "copy"),
        Binding(keys: [.char("y")], scope: .detail, command: .copyEvent, help: "copy this event as JSON (clipboard over OSC 52, else a file)", hint: "copy"),
        Binding(keys: [.char("t")], scope: .rules, command: .testAction, help: "test action: type an action, email and IP, see the local decision trace", hint: "test"),
        Binding(keys: [.char("r")], scope: .detail, command: .jumpToRule, help: "jump to the rule that decided this event", hint: "rule"),
        Binding(keys: [.char("u")], scope: .lockouts, command: .unlock, help: "unlock the selected user (asks y)", mutates: true, hint: "unlock"),
        Binding(keys: [.char("o")], scope: .global, command: .attacks, help: "who is attacking: top denied domains, networks, emails, reasons, failures", hint: "attacks"),
        Binding(keys: [.enter, .char("f")], scope: .top, command: .filterFromTop, help: "filter the event table to the selected row", hint: "filter"),
        Binding(keys: [.char("a")], scope: .top, command: .denyFromTop, help: "deny the selected domain, network or email (impact first, asks y)", mutates: true, hint: "deny"),
        Binding(keys: [.char("s")], scope: .top, command: .shadowFromTop, help: "add it as a shadow rule: logged, not applied (impact first, asks y)", mutates: true, hint: "shadow"),
        Binding(keys: [.char("h")], scope: .global, command: .charts, help: "charts: decisions per second and the latency histogram", hint: "charts"),
        Binding(keys: [.tab, .char("t")], scope: .charts, command: .chartType, help: "the other action type"),
        Binding(keys: [.char("w")], scope: .global, command: .cycleWindow, help: "the header's time window: 1m, 5m, 1h, 24h", hint: "window"),
        Binding(keys: [.char("T")], scope: .global, command: .cycleTheme, help: "next colour theme", hint: "theme"),
        Binding(keys: [.char("N")], scope: .global, command: .nodes, help: "actions-server nodes: heartbeats, rates, circuits", hint: "nodes"),
        Binding(keys: [.char("n")], scope: .events, command: .cycleNode, help: "cycle the node filter (a cluster's nodes)"),
        Binding(keys: [.char("e")], scope: .events, command: .export, help: "export the filtered view to a file (.jsonl or .csv)", hint: "export"),
    ]

    /// The command a key means on a screen: the screen's own bindings first, then global ones.
    package func command(for key: Key, on scope: Binding.Scope) -> Binding? {
        table.first { $0.scope == scope && $0.keys.contains(key) } ?? table.first { $0.scope == .global && $0.keys.contains(key) }
    }

    package func hints(for scope: Binding.Scope, readOnly: Bool) -> [Binding] {
        table.filter { ($0.scope == scope || $0.scope == .global) && $0.hint != nil && !(readOnly && $0.mutates) && !$0.keys.isEmpty }
    }

    package static func command(for key: Key, on scope: Binding.Scope) -> Binding? { standard.command(for: key, on: scope) }
    package static func hints(for scope: Binding.Scope, readOnly: Bool) -> [Binding] { standard.hints(for: scope, readOnly: readOnly) }
    package static var table: [Binding] { standard.table }

    /// Binds `key` to `command` wherever the command is bound (its scopes), taking the key away
    /// from whatever else used it there; the command's other keys stay.
    package mutating func bind(_ key: Key, to command: Command) {
        let scopes = Set(table.filter { $0.command == command }.map(\.scope))
        for index in table.indices where table[index].command != command
            && (scopes.contains(table[index].scope) || scopes.contains(.global) || table[index].scope == .global) {
            table[index].keys.removeAll { $0 == key }
        }
        for index in table.indices where table[index].command == command && !table[index].keys.contains(key) {
            table[index].keys.insert(key, at: 0)
        }
    }

    /// Takes a key away from every command.
    package mutating func unbind(_ key: Key) {
        for index in table.indices { table[index].keys.removeAll { $0 == key } }
    }
}

/// The user's key file, `$XDG_CONFIG_HOME/actions-top/keys` (beside the user themes):
///
///     # comments and blank lines are ignored
///     bind D toggleDenied      # D also toggles the denied filter (and no longer demotes)
///     unbind q                 # q no longer quits (Ctrl-C still does)
///
/// KEY is one character or a name: F1 to F12, Enter, Esc, Tab, Space, Up, Down, Left, Right, PgUp, PgDn,
/// Home, End, Del, Bksp. COMMAND is one of `Command`'s names (shown by `actions-top --keys`).
package enum KeyFile {
    package struct Problem: Error, CustomStringConvertible, Equatable {
        package var description: String
    }

    package static func path(environment: [String: String]) -> String? {
        configDirectory(environment: environment).map { $0 + "/keys" }
    }

    /// The standard table with the file's changes; the standard table when there is no file.
    package static func load(environment: [String: String]) throws(Problem) -> KeyBindings {
        guard let path = path(environment: environment), FileManager.default.fileExists(atPath: path) else { return .standard }
        guard let data = FileManager.default.contents(atPath: path) else { throw Problem(description: "\(path): cannot be read") }
        return try parse(Array(data), file: path)
    }

    package static func parse(_ text: String, file: String = "keys") throws(Problem) -> KeyBindings {
        try parse(Array(text.utf8), file: file)
    }

    /// The file's bytes, read by `TextLines` (LF, CRLF or CR line ends; a line that is not UTF-8 is an error).
    package static func parse(_ bytes: [UInt8], file: String = "keys") throws(Problem) -> KeyBindings {
        var bindings = KeyBindings.standard
        for textLine in TextLines.lines(bytes) {
            let at = "\(file):\(textLine.number)"
            guard let raw = textLine.text else { throw Problem(description: "\(at): not UTF-8") }
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty else { continue }
            switch (words[0], words.count) {
            case ("bind", 3):
                guard let key = key(named: words[1]) else { throw Problem(description: "\(at): unknown key \(words[1])") }
                guard let command = Command(rawValue: words[2]) else {
                    throw Problem(description: "\(at): unknown command \(words[2]) (commands: \(Command.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                bindings.bind(key, to: command)
            case ("unbind", 2):
                guard let key = key(named: words[1]) else { throw Problem(description: "\(at): unknown key \(words[1])") }
                bindings.unbind(key)
            default:
                throw Problem(description: "\(at): expected `bind KEY COMMAND` or `unbind KEY`, got \(TerminalText.escape(String(line)))")
            }
        }
        return bindings
    }

    static func key(named name: String) -> Key? {
        let names: [String: Key] = ["enter": .enter, "esc": .escape, "escape": .escape, "tab": .tab, "space": .char(" "),
                                    "up": .up, "down": .down, "left": .left, "right": .right, "pgup": .pageUp, "pgdn": .pageDown,
                                    "home": .home, "end": .end, "del": .delete, "delete": .delete, "bksp": .backspace,
                                    "backspace": .backspace]
        if name.count == 1, let character = name.first { return .char(character) }
        // F1 to F12, as htop and most terminal programs bind them.
        if name.count <= 3, name.lowercased().hasPrefix("f"), let n = Int(name.dropFirst()), (1...12).contains(n) { return .function(n) }
        return names[name.lowercased()]
    }
}
