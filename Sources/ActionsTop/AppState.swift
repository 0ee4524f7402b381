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
    }

    public enum Prompt: Equatable, Sendable {
        case confirmMode(ActionType, to: ErrorMode)
        case confirmDelete(RuleRow)
        /// Promote (shadow false) or demote (shadow true) a rule.
        case confirmShadow(RuleRow, shadow: Bool)
        /// The last step of adding an entry: its impact on the last 24 hours, then y.
        case confirmAdd(ListEntry, preview: String)
        case confirmUnlock(String)
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
    public var quit = false

    /// Table rows, newest first, bounded by `maxRows`.
    public var events: [Event] = []
    public var selected = 0
    /// Index of the first row shown.
    public var scroll = 0
    public var following = true
    /// The table's order (`s` cycles the column, `S` reverses it).
    public var sort = EventSort()
    public var paused = false
    /// Searches cover the newest 100,000 events, so a search never stalls the screen on a huge log.
    public var filter = EventFilter(textScanLimit: AppState.searchScanLimit)
    public static let searchScanLimit = 100_000
    /// The most rows an export writes (the newest of the filtered view); the message says when it applied.
    public static let exportLimit = 100_000
    public let maxRows = 2000

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
    /// Problems shown in the footer: database unreachable, writer dropping events, schema too new.
    public var warnings: [String] = []
    /// Events the search index has not reached yet (normally under a second's worth).
    public var searchBacklog: Int64 = 0
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

    /// Adds newly tailed events (oldest first) to the top of the table. While the operator has
    /// scrolled away, the selection stays on the same event instead of sliding.
    public mutating func receive(_ newEvents: [Event]) {
        let matching = newEvents.filter(filter.matches)
        guard !matching.isEmpty else { return }
        if !sort.isDefault {
            // Sorted by another column: the new rows take their places; the selection stays on its event.
            let selectedID = selectedEvent?.id
            events.append(contentsOf: matching)
            if events.count > maxRows {
                // The oldest rows go, whatever the order on screen.
                let keep = Set(events.map { $0.id ?? 0 }.sorted(by: >).prefix(maxRows))
                events.removeAll { !keep.contains($0.id ?? 0) }
            }
            events.sort(by: sort.ordered)
            selected = selectedID.flatMap { id in events.firstIndex { $0.id == id } } ?? 0
            return
        }
        events.insert(contentsOf: matching.reversed(), at: 0)
        if events.count > maxRows { events.removeLast(events.count - maxRows) }
        if following {
            selected = 0
            scroll = 0
        } else {
            selected = min(selected + matching.count, events.count - 1)
            scroll = min(scroll + matching.count, max(0, events.count - 1))
        }
    }

    /// Replaces the table (after a filter change or on start).
    public mutating func replaceEvents(_ newest: [Event]) {
        events = Array(newest.prefix(maxRows))
        if !sort.isDefault { events.sort(by: sort.ordered) }
        selected = 0
        scroll = 0
        following = true
    }

    public var actionTypeForMode: ActionType {
        filter.actionType ?? selectedEvent?.actionType ?? .userRegistration
    }
}
