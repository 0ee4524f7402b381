import ArgumentParser
import ActionsProtocol
import ActionsDomain
import ActionsStore
import Foundation
import Synchronization

/// Every live setting, scriptable. Changes are audited with the OS user and SSH_CONNECTION.
@main
struct ActionsCtl: ParsableCommand {
    /// Global options may come before the subcommand, as in git and kubectl (`actionsctl --db X
    /// deny list`): argument-parser reads options where the subcommand is declared, so leading
    /// ones are moved to the end of the line.
    static func main() {
        main(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    }

    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if first == "--db", rest.count >= 2 {
                leading += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--db=") {
                leading.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        // Options after a bare `--` would be read as arguments: put them before it.
        if let separator = rest.firstIndex(of: "--") {
            return Array(rest[..<separator]) + leading + Array(rest[separator...])
        }
        return Array(rest) + leading
    }

    static let configuration = CommandConfiguration(
        commandName: "actionsctl",
        abstract: "Change actions-server's live settings and read its event log.",
        discussion: """
            Reads ACTIONS_DB (the database when --db is not given), PGPASSWORD and the other PG variables libpq reads, \
            ACTIONS_API_TOKEN and ACTIONS_SERVER (for `test`). Exit statuses follow sysexits.h: 64 usage, 65 a value \
            refused or no such entry, 66 no such database, 69 the database unusable, 75 try again, 77 permission \
            denied. man actionsctl: ENVIRONMENT, FILES and EXIT STATUS in full.
            """,
        version: BuildInfo.version,
        subcommands: [ModeCommand.self, EndpointCommand.self, DenyCommand.self, AllowCommand.self, RateCommand.self, RuleCommand.self,
                      ReplayCommand.self, TestCommand.self, LockoutsCommand.self, EventsCommand.self, AuditCommand.self,
                      CircuitCommand.self, NodesCommand.self, PruneCommand.self, NormalizeCommand.self])

    /// The man page's ENVIRONMENT, FILES and EXIT STATUS, for scripts/install to append (hidden:
    /// generate-manual lists hidden subcommands, not hidden flags).
    @Flag(help: .hidden) var manualSections = false

    func run() throws {
        guard manualSections else { throw CleanExit.helpRequest(self) }
        print(ManualSections.section("ENVIRONMENT", ManualSections.databaseEnvironment + [
            ("ACTIONS_API_TOKEN", "The token actionsctl test sends to the server (never a command-line argument)."),
            ("ACTIONS_SERVER", "The server actionsctl test sends to when --server is not given."),
        ], tag: .environment)
        + ManualSections.section("FILES", ManualSections.databaseFiles, tag: .path)
        + ManualSections.section("EXIT STATUS", [
            ("0", "Success."), ("64", "A usage error; the usage is printed."),
            ("65", "A value the store refuses, or no such entry."), ("66", "No such database."),
            ("69", "The database cannot be used: another version's schema, a read-only file."),
            ("75", "A failure that may pass (locked, unreachable): try again."),
            ("77", "Permission denied: operators join the database directory's group."),
        ], tag: .literal), terminator: "")
    }
}

struct DatabaseOptions: ParsableArguments {
    @Option(help: "SQLite file, or postgres://user@host:port[,host2:port]/database[?target_session_attrs=...] (default: $ACTIONS_DB, else ./actions.db).") var db: String?

    var path: String { db ?? Store.defaultPath() }

    /// The path for messages: a URL without its password.
    var shownPath: String { PostgresLocation.isURL(path) ? ((try? PostgresLocation(url: path))?.redacted ?? "a postgres URL") : path }

    /// Opens an existing database; a missing one is an error, not a new empty file.
    func open() throws -> Store {
        try attempt { try Store(path: path, create: false, busyTimeout: 5) }
    }
}

func parseAction(_ name: String) throws -> ActionType {
    guard let type = ActionType(name: name) else {
        throw ValidationError("unknown action \(TerminalText.escape(name)); use user_registration (reg) or authentication (auth)")
    }
    return type
}

/// One action type, or both when none is named.
func parseActions(_ name: String?) throws -> [ActionType] {
    try name.map { [try parseAction($0)] } ?? ActionType.allCases
}

/// Turns a store error into a clean message and a non-zero exit: a runtime failure, not a usage
/// error, so no usage text, and an exit status from sysexits.h a script can act on
/// (`StoreError.exitStatus`; the man page's EXIT STATUS).
func attempt<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as StoreError {
        throw failure(error.description, status: error.exitStatus)
    } catch let error as InvalidValue {
        // A value no rule can hold (`ListEntry.normalize`, `RateRule.parse`): refused as the store refuses one.
        throw failure(error.description, status: 65)
    }
}

/// A runtime failure with its message on stderr (no usage text) and a sysexits status.
/// The message is shown escaped: it may echo what a user typed or a server sent.
func failure(_ message: String, status: Int32 = 65) -> ExitCode {
    FileHandle.standardError.write(Data("Error: \(TerminalText.escape(message))\n".utf8))
    return ExitCode(status)
}

func formatTime(_ ms: Int64) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    formatter.timeZone = TimeZone.current
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// "30m", "2h", "7d", "90s" -> milliseconds, or a clear error.
func parseDuration(_ text: String) throws -> Int64 {
    guard let ms = DurationText.milliseconds(text) else {
        throw ValidationError("not a duration: \(text) (use 90s, 30m, 2h or 7d; at most 36500d)")
    }
    return ms
}

struct ModeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mode", abstract: "Error mode: fail-open or fail-closed.",
                                                    subcommands: [Get.self, Set.self])
    struct Get: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "user_registration or authentication (default: both).") var action: String?
        @Flag(help: "Print JSON lines.") var json = false
        func run() throws {
            let store = try database.open()
            let settings = try attempt { try store.settings() }
            for type in try parseActions(action) {
                let mode = settings[type]?.errorMode.rawValue ?? "fail-closed"
                if json { try printJSONLine(["action": type.rawValue, "mode": mode]) } else { printRow(type.rawValue, mode) }
            }
        }
    }
    struct Set: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument var action: String
        @Argument(help: "fail-open or fail-closed") var mode: String
        func run() throws {
            let type = try parseAction(action)
            guard let mode = ErrorMode(name: mode) else { throw ValidationError("unknown mode \(self.mode); use fail-open or fail-closed") }
            let store = try database.open()
            let old = try attempt { try store.setErrorMode(mode, for: type, by: .current()) }
            printRow("\(type.rawValue): \(old.rawValue) -> \(mode.rawValue)")
        }
    }
}

struct EndpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "endpoint", abstract: "The customer endpoint an action type calls.",
                                                    subcommands: [Get.self, Set.self, Clear.self])
    struct Get: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument var action: String?
        @Flag(help: "Print JSON lines.") var json = false
        func run() throws {
            let store = try database.open()
            let settings = try attempt { try store.settings() }
            for type in try parseActions(action) {
                let s = settings[type] ?? ActionSettings(actionType: type)
                if json {
                    try printJSONLine(["action": type.rawValue, "url": s.endpointURL, "timeout_ms": s.timeoutMs, "enabled": s.enabled])
                    continue
                }
                printRow(type.rawValue, s.endpointURL ?? "none", "timeout=\(s.timeoutMs)ms", s.enabled ? "enabled" : "disabled")
            }
        }
    }
    struct Set: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument var action: String
        @Argument(help: "http:// or https:// URL") var url: String
        @Option(help: "Timeout in milliseconds (default 5000).") var timeoutMs: Int?
        @Flag(name: .customLong("disable"), help: "Keep the URL but stop calling it (local policy decides).") var disabled = false
        func run() throws {
            let type = try parseAction(action)
            let store = try database.open()
            try attempt { try store.setEndpoint(url, timeoutMs: timeoutMs, enabled: !disabled, for: type, by: .current()) }
            printRow("\(type.rawValue): endpoint \(url)" + (disabled ? " (disabled)" : ""))
        }
    }
    struct Clear: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument var action: String
        func run() throws {
            let type = try parseAction(action)
            let store = try database.open()
            try attempt { try store.setEndpoint(nil, for: type, by: .current()) }
            printRow("\(type.rawValue): no endpoint (local policy only)")
        }
    }
}

struct LockoutsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lockouts", abstract: "Failed-login lockouts.",
                                                    subcommands: [List.self, Unlock.self])
    struct List: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Also users with failures who are not locked.") var all = false
        @Flag(help: "Print JSON lines.") var json = false
        func run() throws {
            let store = try database.open()
            let now = WallClock.nowMs()
            let records = try attempt { try store.loginFailures(includeUnlocked: all) }
            if records.isEmpty && !json { printEmpty(all ? "no failed logins recorded" : "nobody is locked out") }
            for record in records {
                if json {
                    try printJSONLine(["email": record.email, "user_id": record.userId, "failures": record.failures,
                                       "locked_until_ms": record.lockedUntilMs, "last_ip": record.lastIP,
                                       "updated_ms": record.updatedMs, "locked": record.isLocked(nowMs: now)])
                    continue
                }
                let state = record.isLocked(nowMs: now) ? "locked until \(formatTime(record.lockedUntilMs ?? now))" : "not locked"
                printRow(record.email, "failures=\(record.failures)", state, "last_ip=\(record.lastIP ?? "-")")
            }
        }
    }
    struct Unlock: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument var email: String
        func run() throws {
            let store = try database.open()
            try attempt { try store.unlock(email: email, by: .current()) }
            printRow("unlocked \(email.lowercased())")
        }
    }
}

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Read the event log, newest first.")
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Only denied decisions.") var denied = false
    @Flag(help: "Only decisions whose outcome is not ok.") var failures = false
    @Option(help: "user_registration or authentication") var action: String?
    @Option(help: "Only the last duration: 90s, 30m, 2h, 7d.") var since: String?
    @Option(help: "Text in email, domain, IP, reason, authentication method, organization or device fingerprint.") var search: String?
    @Option(help: "Only this authentication method (Password, GoogleOAuth, ...).") var authMethod: String?
    @Option(help: "Only this organization id.") var organization: String?
    @Option(help: "Only decisions made by this actions-server node.") var node: String?
    @Option(help: "Only decisions this rule decided, or hit in shadow mode.") var rule: Int64?
    @Flag(help: "Only decisions with a shadow rule hit.") var shadow = false
    @Flag(help: "Leave out test decisions (actionsctl test).") var excludeTests = false
    @Option(help: "Only the decisions of this W3C trace (the trace id of the identity service's traceparent header).") var trace: String?
    @Option(help: "How many.") var limit = 50
    @Flag(help: "Print JSON lines (the same as --format jsonl).") var json = false
    @Option(help: "jsonl or csv, for files and other programs; the default is a table for people.") var format: EventExport.Format?

    func run() throws {
        var filter = EventFilter(deniedOnly: denied, failuresOnly: failures, actionType: try action.map(parseAction),
                                 text: search ?? "", sinceMs: try since.map { WallClock.nowMs() - (try parseDuration($0)) },
                                 authMethod: authMethod, organizationId: organization, node: node, ruleId: rule,
                                 shadowHitsOnly: shadow, excludeTests: excludeTests)
        if let trace {
            guard trace.count == 32, trace.allSatisfy(\.isHexDigit) else {
                throw ValidationError("--trace takes a trace id: 32 hex digits (the second field of a traceparent header)")
            }
            filter.traceId = trace.lowercased()
        }
        let store = try database.open()
        // A search goes in steps (the index for what it covers, the rest scanned newest first):
        // on a terminal stderr shows how far it got, and Ctrl-C stops it with what it found.
        let progressShown = isatty(STDERR_FILENO) == 1 && !filter.text.isEmpty
        if !filter.text.isEmpty { SearchInterrupt.install() }
        var last: SearchProgress?
        let answer = try attempt {
            try store.searchLatest(filter, limit: limit) { step in
                last = step
                if progressShown {
                    FileHandle.standardError.write(Data("\rsearching: scanned \(step.scanned) of \(step.total) rows not in the index\u{1B}[K".utf8))
                }
                return !SearchInterrupt.requested
            }
        }
        if progressShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let events = answer.events
        defer {
            if answer.stopped {
                let scanned = last.map { "scanned \($0.scanned) of \($0.total) rows not in the index" } ?? "stopped"
                FileHandle.standardError.write(Data("actionsctl: stopped by Ctrl-C (\(scanned)); above are the newest matches found until then\n".utf8))
                Foundation.exit(130)
            }
        }
        if let format = format ?? (json ? .jsonl : nil) {
            if let header = EventExport.header(format) { print(header) }
            for event in events { print(try EventExport.line(event, format)) }
            return
        }
        if events.isEmpty { printEmpty("no events match") }
        for event in events {
            // Terminal output: control characters in untrusted fields are shown escaped.
            let fields = [formatTime(event.timeMs), event.actionType.rawValue, event.email ?? "-", event.ip ?? "-", event.verdict.rawValue,
                          "\(event.decidedBy.rawValue)/\(event.outcome.rawValue)", "\(event.latencyUs / 1000)ms",
                          event.ruleId.map { "rule \($0)" } ?? "-", (event.isTest ? "[test] " : "") + (event.reason ?? "")]
            printRow(fields)
        }
    }
}

extension EventExport.Format: ExpressibleByArgument {}

/// Ctrl-C during `events --search`: the search stops between its steps and prints what it found
/// (exit 130, as a shell reports an interrupted command), instead of the process dying mid-scan.
enum SearchInterrupt {
    private static let flag = Atomic<Bool>(false)

    static var requested: Bool { flag.load(ordering: .relaxed) }

    /// A second Ctrl-C ends the process at once (a step that does not come back, a dead server).
    static func install() {
        signal(SIGINT) { _ in
            if SearchInterrupt.flag.exchange(true, ordering: .relaxed) { _exit(130) }
        }
        // Deliverable even when the parent left SIGINT blocked (a mask is inherited; a test
        // runner's threads block it, and so may a supervisor's).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Every operator change, newest first.")
    @OptionGroup var database: DatabaseOptions
    @Option var limit = 100
    @Flag(help: "Print JSON lines.") var json = false
    func run() throws {
        let store = try database.open()
        let entries = try attempt { try store.auditLog(limit: limit) }
        if entries.isEmpty && !json { printEmpty("no changes recorded") }
        for entry in entries {
            if json {
                try printJSONLine(["id": entry.id, "ts_ms": entry.timeMs, "actor": entry.actor, "ssh_connection": entry.sshConnection,
                                   "action": entry.action, "target": entry.target, "old": entry.oldValue, "new": entry.newValue])
                continue
            }
            let fields = [formatTime(entry.timeMs), entry.actor, entry.sshConnection ?? "local", entry.action, entry.target,
                          entry.oldValue ?? "-", "->", entry.newValue ?? "-"]
            printRow(fields)
        }
    }
}

struct CircuitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "circuit", abstract: "The endpoint circuit breakers, as the server last saved them.")
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print JSON lines.") var json = false
    func run() throws {
        let store = try database.open()
        let circuits = try attempt { try store.circuits() }
        for type in ActionType.allCases {
            let state = circuits[type] ?? CircuitState(actionType: type)
            if json {
                try printJSONLine(["action": type.rawValue, "state": state.phase.rawValue, "consecutive_failures": state.consecutiveFailures,
                                   "opened_ms": state.openedMs, "last_error": state.lastError, "updated_ms": state.updatedMs])
                continue
            }
            printRow(type.rawValue, state.phase.rawValue, "consecutive_failures=\(state.consecutiveFailures)", state.lastError ?? "")
        }
    }
}

struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nodes", abstract: "The actions-server nodes and their last heartbeats.")
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print JSON lines.") var json = false
    func run() throws {
        let store = try database.open()
        let nowMs = WallClock.nowMs()
        let nodes = try attempt { try store.nodes(nowMs: nowMs) }
        // One index for the whole log, whichever nodes keep it: its lag goes on every JSON line,
        // and under the table (on stderr, so scripts reading the rows see only nodes).
        let lagRead = Result { () throws(StoreError) in try store.searchLag() }
        let lag = try? lagRead.get()
        let lagSeconds = lag?.oldestMs.map { max(0, Double(nowMs - $0) / 1000) } ?? 0
        if nodes.isEmpty && !json { printEmpty("no node has reported") }
        for node in nodes {
            let circuits = ActionType.allCases.map { "\($0.rawValue)=\(node.circuits[$0]?.rawValue ?? "-")" }.joined(separator: " ")
            if json {
                try printJSONLine(["node": node.name, "version": node.version, "updated_ms": node.updatedMs,
                                   "state": node.phase(nowMs: nowMs).rawValue,
                                   "stopped": node.phase(nowMs: nowMs) == .stopped, "stopped_ms": node.stoppedMs, "decisions": node.decisions,
                                   "decisions_per_second": node.decisionsPerSecond, "queued": node.queued,
                                   "dropped": node.dropped, "circuits": circuits, "database_server": node.databaseServer,
                                   "url": node.url, "search_index_lag_events": lag?.events,
                                   "search_index_lag_seconds": lag.map { _ in (lagSeconds * 10).rounded() / 10 }])
                continue
            }
            printRow(node.name, node.version, node.phase(nowMs: nowMs).label,
                     "seen \((nowMs - node.updatedMs) / 1000)s ago", String(format: "%.1f/s", node.decisionsPerSecond),
                     "queued=\(node.queued) dropped=\(node.dropped)", circuits, node.databaseServer.map { "db=\($0)" } ?? "")
        }
        if !json, case .failure(let error) = lagRead {
            FileHandle.standardError.write(Data("search index: lag unknown (\(error))\n".utf8))
        }
        if !json, let lag {
            let state = lag.events == 0 ? "up to date"
                : "\(lag.events) event\(lag.events == 1 ? "" : "s") behind the log (the oldest unindexed \(Int(lagSeconds)) s ago)"
            FileHandle.standardError.write(Data("search index: \(state)\n".utf8))
        }
    }
}

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Delete old events in small batches.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Delete events older than this: 30d, 12h.") var olderThan: String?
    @Option(help: "Keep at most this many events.") var keep: Int?
    func run() throws {
        guard olderThan != nil || keep != nil else { throw ValidationError("pass --older-than or --keep") }
        let store = try database.open()
        let deleted = try attempt { try store.prune(maxAgeMs: try olderThan.map(parseDuration), maxRows: keep) }
        printRow("deleted \(deleted) events")
    }
}

struct NormalizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normalize",
        abstract: "How identities are compared. Always: case, compatibility forms, trailing dots, punycode, IPv4-mapped IPv6.",
        discussion: "fold-addresses (off by default) also folds +tag sub-addressing and Gmail dots in lockout and rate keys.",
        subcommands: [Get.self, FoldAddresses.self])
    struct Get: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        func run() throws {
            let store = try database.open()
            printRow("fold-addresses", try attempt { try store.foldAddresses() } ? "on" : "off")
        }
    }
    struct FoldAddresses: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "fold-addresses",
                                                        abstract: "Fold a.b+tag@gmail.com into ab@gmail.com for lockouts and rate rules.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "on or off") var state: String
        func run() throws {
            guard state == "on" || state == "off" else { throw ValidationError("use on or off, not \(state)") }
            let store = try database.open()
            try attempt { try store.setFoldAddresses(state == "on", by: .current()) }
            printRow("fold-addresses: \(state)")
        }
    }
}
