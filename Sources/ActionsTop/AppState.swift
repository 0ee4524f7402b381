import Foundation
import ActionsProtocol
import ActionsStore
import ActionsPolicy

/// Everything the dashboard shows. Reducers change it; the renderer draws it; nothing here touches
/// a terminal or a database, so all of it is testable as plain values.
public struct AppState: Sendable {
    public enum Screen: Equatable, Sendable {
        case events, detail, rules, lockouts, nodes, top, charts
    }

    /// Steps of adding a deny entry from the `l` screen.
    public enum AddStep: Int, CaseIterable, Sendable {
        case kind, value, scope, reason, expiry, mode

        var prompt: String {
            switch self {
            case .kind: return "Kind (domain, email, ip)"
            case .value: return "Value (example.com, *.example.com, user@x.com, 203.0.113.0/24)"
            case .scope: return "Scope (all, user_registration, authentication) [all]"
            case .reason: return "Reason"
            case .expiry: return "Expires in (30m, 12h, 7d; empty = never)"
            case .mode: return "Mode (enforce, shadow: log only) [enforce]"
            }
        }

        /// The prompt at 80 columns, where the long one would hide what is typed.
        var shortPrompt: String {
            switch self {
            case .kind: return "Kind (domain/email/ip)"
            case .value: return "Value"
            case .scope: return "Scope [all]"
            case .reason: return "Reason"
            case .expiry: return "Expires in (7d; empty: never)"
            case .mode: return "Mode (enforce/shadow)"
            }
        }
    }

    public enum Prompt: Equatable, Sendable {
        case confirmMode(ActionType, to: ErrorMode)
        case confirmDelete(RuleRow)
        /// Promote (shadow false) or demote (shadow true) a rule.
        case confirmShadow(RuleRow, shadow: Bool)
        /// The last step of adding an entry: its impact on the last 24 hours, then y.
        case confirmAdd(ListEntry, preview: String)
        case confirmUnlock(String)
        /// Pick the sort column from those on screen, as htop's `<` `>` list does.
        case sortBy
        case search(String)
        /// The file the filtered view is exported to (`.csv`: CSV, else JSON Lines).
        case export(String)
        case addDeny(AddStep, answers: [String], input: String)
        /// A test action from the rules screen: action type, email, IP, one at a time.
        case testAction(answers: [String], input: String)
    }

    public struct Message: Equatable, Sendable {
        public var text: String
        public var isError: Bool
    }

    public var screen: Screen = .events
    public var prompt: Prompt?
    public var showHelp = false
    /// The help screen's first line shown.
    public var helpScroll = 0
    public var quit = false

    /// The table's rows, in its order: newest first by default, at most `maxRows`. Only `table`
    /// changes them, so no path can add an event twice.
    public var events: [Event] { table.rows }
    public private(set) var table = EventTable(capacity: AppState.maxRows)
    public var selected = 0
    /// Index of the first row shown.
    public var scroll = 0
    public var following = true {
        didSet { if following { arrivedSinceScrolled = 0 } }
    }
    /// Rows that arrived since the operator scrolled away from the newest one.
    public var arrivedSinceScrolled = 0
    /// The table's order (`s` cycles the column, `S` reverses it).
    public var sort: EventSort { table.order }
    public var paused = false
    /// Searches cover the newest 100,000 events, so a search never stalls the screen on a huge log.
    public var filter = EventFilter(textScanLimit: AppState.searchScanLimit)
    public static let searchScanLimit = 100_000
    /// The most rows an export writes (the newest of the filtered view); the message says when it applied.
    public static let exportLimit = 100_000
    public static let maxRows = 2000
    /// Rows a reload reads: a screenful many times over, cheap on any log.
    public static let tableLoad = 500

    public var readOnly = false
    public var databasePath = ""
    public var nowMs: Int64 = 0
    public var settings: [ActionType: ActionSettings] = [:]
    public var circuits: [ActionType: CircuitState] = [:]
    public var stats = LiveStats()
    /// Deny and allow entries and rate rules, by id.
    public var rules: [RuleRow] = []
    public var ruleSelected = 0
    /// The last test action's trace, shown on the rules screen until Esc.
    public var testTrace: [TraceStep] = []
    /// The rule to select once the rules screen loads (jumping from an event to its rule).
    public var focusRule: Int64?
    public var lockouts: [LoginFailures] = []
    public var lockoutSelected = 0
    /// Every actions-server node's last heartbeat (a cluster has several).
    public var nodes: [NodeStatus] = []
    public var nodeSelected = 0
    /// Who is attacking now (`o`), over the header's window.
    public var offenders = TopOffenders()
    public var topSelected = 0
    /// The action type the charts screen shows.
    public var chartType: ActionType = .userRegistration
    public var message: Message?
    /// A search that runs now, since when, and how far it got: the message line shows both.
    public var searching: Searching?
    public struct Searching: Sendable, Equatable {
        public var text: String
        public var sinceMs: Int64
        public var progress: SearchProgress?
    }
    /// Rows the shown search left unscanned: the index had not reached them and the scan stopped
    /// at its budget (`filter.textScanLimit`). `/` and Enter on the same text search further.
    public var searchUnscanned: Int64 = 0
    /// Problems shown in the footer: database unreachable, writer dropping events, schema too new.
    public var warnings: [String] = []
    /// Events the search index has not reached yet (normally under a second's worth).
    public var searchBacklog: Int64 = 0
    /// Past this many unindexed events the footer says the index is behind.
    public static let indexBehindMarker: Int64 = 100_000
    public var themeName = "default"
    /// Rows available for the table; set by the renderer's layout for paging.
    public var pageSize = 10
    /// The terminal's size, for mapping mouse clicks to rows and columns.
    public var width = 100
    public var height = 30
    public var asciiOnly = false
    /// The keys in effect: the standard table with the user's key file applied.
    public var bindings = KeyBindings.standard

    public init() {}

    public var selectedEvent: Event? { events.indices.contains(selected) ? events[selected] : nil }

    /// The top-N panel's rows in display order: group by group.
    public var topRows: [TopOffenders.Row] { TopOffenders.Group.allCases.flatMap { offenders.rows[$0] ?? [] } }

    /// Adds newly read events (from the tail or a late commit) that match the filter. Following
    /// the tail (newest first, on the top row), the view stays on the newest row; otherwise (scrolled
    /// away, a detail open, another sort) the selection stays on its event and on its line of the
    /// screen while rows arrive around it.
    /// `matching`: the filter the table's rows were read for, when a reload for another is under way.
    public mutating func receive(_ newEvents: [Event], matching shown: EventFilter? = nil) {
        // Unfiltered, the batch is taken as it is: a filtered copy retained every event's fields.
        let shown = shown ?? filter
        let matching = shown.isEmpty ? newEvents : newEvents.filter(shown.matcher())
        guard !matching.isEmpty else { return }
        let selectedID = selectedEvent?.id
        let line = selected - scroll
        let added = table.merge(matching)
        guard added > 0 else { return }
        if !following { arrivedSinceScrolled += added }
        if following && sort.isDefault {
            selected = 0
            scroll = 0
        } else {
            keepSelection(on: selectedID, line: line)
        }
    }

    /// Replaces the table with the store's answer for the filter (after a filter change, on
    /// start), read with `limit`: the view goes to the top.
    public mutating func replaceEvents(_ newest: [Event], limit: Int = AppState.tableLoad) {
        table.replace(with: newest, limit: limit)
        selected = 0
        scroll = 0
        following = true
    }

    /// Replaces the table as `replaceEvents` does, but a view away from the top keeps its event
    /// (the tail fell too far behind and the table was read afresh).
    mutating func refreshEvents(_ newest: [Event], limit: Int = AppState.tableLoad) {
        guard !(following && sort.isDefault) else { return replaceEvents(newest, limit: limit) }
        let selectedID = selectedEvent?.id
        let line = selected - scroll
        table.replace(with: newest, limit: limit)
        keepSelection(on: selectedID, line: line)
    }

    private mutating func keepSelection(on id: Int64?, line: Int) {
        selected = id.flatMap { id in events.firstIndex { $0.id == id } } ?? min(selected, max(0, events.count - 1))
        scroll = max(0, min(selected - line, max(0, events.count - 1)))
    }

    /// Orders the table by another column.
    mutating func setSort(_ sort: EventSort) { table.sort(by: sort) }

    /// Edits the rows in place (test fixtures).
    mutating func editEvents(_ transform: (inout Event) -> Void) { table.mapRows(transform) }

    public var actionTypeForMode: ActionType {
        filter.actionType ?? selectedEvent?.actionType ?? .userRegistration
    }
}
