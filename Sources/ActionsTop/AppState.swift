import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy

/// Everything the dashboard shows. Reducers change it; the renderer draws it; nothing here touches
/// a terminal or a database, so all of it is testable as plain values.
package struct AppState: Sendable {
    package enum Screen: Equatable, Sendable {
        case events, detail, rules, lockouts, nodes, top, charts
    }

    /// Steps of adding a deny entry from the `l` screen.
    package enum AddStep: Int, CaseIterable, Sendable {
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

    package enum Prompt: Equatable, Sendable {
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

    package struct Message: Equatable, Sendable {
        package var text: String
        package var isError: Bool
    }

    package var screen: Screen = .events
    package var prompt: Prompt?
    package var showHelp = false
    /// The help screen's first line shown.
    package var helpScroll = 0
    package var quit = false

    /// The table's rows, in its order: newest first by default, at most `maxRows`. Only `table`
    /// changes them, so no path can add an event twice.
    package var events: [Event] { table.rows }
    package private(set) var table = EventTable(capacity: AppState.maxRows)
    package var selected = 0
    /// Index of the first row shown.
    package var scroll = 0
    package var following = true {
        didSet { if following { arrivedSinceScrolled = 0 } }
    }
    /// Rows that arrived since the operator scrolled away from the newest one.
    package var arrivedSinceScrolled = 0
    /// The table's order (`s` cycles the column, `S` reverses it).
    package var sort: EventSort { table.order }
    package var paused = false
    /// Searches cover the newest 100,000 events, so a search never stalls the screen on a huge log.
    package var filter = EventFilter(textScanLimit: AppState.searchScanLimit)
    package static let searchScanLimit = 100_000
    /// The most rows an export writes (the newest of the filtered view); the message says when it applied.
    package static let exportLimit = 100_000
    package static let maxRows = 2000
    /// Rows a reload reads: a screenful many times over, cheap on any log.
    package static let tableLoad = 500

    package var readOnly = false
    package var databasePath = ""
    package var nowMs: Int64 = 0
    package var settings: [ActionType: ActionSettings] = [:]
    package var circuits: [ActionType: CircuitState] = [:]
    package var stats = LiveStats()
    /// Deny and allow entries and rate rules, by id.
    package var rules: [RuleRow] = []
    package var ruleSelected = 0
    /// The last test action's trace, shown on the rules screen until Esc.
    package var testTrace: [TraceStep] = []
    /// The rule to select once the rules screen loads (jumping from an event to its rule).
    package var focusRule: Int64?
    package var lockouts: [LoginFailures] = []
    package var lockoutSelected = 0
    /// Every actions-server node's last heartbeat (a cluster has several).
    package var nodes: [NodeStatus] = []
    package var nodeSelected = 0
    /// Who is attacking now (`o`), over the header's window.
    package var offenders = TopOffenders()
    package var topSelected = 0
    /// The action type the charts screen shows.
    package var chartType: ActionType = .userRegistration
    package var message: Message?
    /// A search that runs now, since when, and how far it got: the message line shows both.
    package var searching: Searching?
    package struct Searching: Sendable, Equatable {
        package var text: String
        package var sinceMs: Int64
        package var progress: SearchProgress?
    }
    /// Rows the shown search left unscanned: the index had not reached them and the scan stopped
    /// at its budget (`filter.textScanLimit`). `/` and Enter on the same text search further.
    package var searchUnscanned: Int64 = 0
    /// Problems shown in the footer: database unreachable, writer dropping events, schema too new.
    package var warnings: [String] = []
    /// Events the search index has not reached yet (normally under a second's worth).
    package var searchBacklog: Int64 = 0
    /// Past this many unindexed events the footer says the index is behind.
    package static let indexBehindMarker: Int64 = 100_000
    package var themeName = "default"
    /// Rows available for the table; set by the renderer's layout for paging.
    package var pageSize = 10
    /// The terminal's size, for mapping mouse clicks to rows and columns.
    package var width = 100
    package var height = 30
    package var asciiOnly = false
    /// The keys in effect: the standard table with the user's key file applied.
    package var bindings = KeyBindings.standard

    package init() {}

    package var selectedEvent: Event? { events.indices.contains(selected) ? events[selected] : nil }

    /// The top-N panel's rows in display order: group by group.
    package var topRows: [TopOffenders.Row] { TopOffenders.Group.allCases.flatMap { offenders.rows[$0] ?? [] } }

    /// Adds newly read events (from the tail or a late commit) that match the filter. Following
    /// the tail (newest first, on the top row), the view stays on the newest row; otherwise (scrolled
    /// away, a detail open, another sort) the selection stays on its event and on its line of the
    /// screen while rows arrive around it.
    /// `matching`: the filter the table's rows were read for, when a reload for another is under way.
    package mutating func receive(_ newEvents: [Event], matching shown: EventFilter? = nil) {
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
    package mutating func replaceEvents(_ newest: [Event], limit: Int = AppState.tableLoad) {
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

    package var actionTypeForMode: ActionType {
        filter.actionType ?? selectedEvent?.actionType ?? .userRegistration
    }
}
