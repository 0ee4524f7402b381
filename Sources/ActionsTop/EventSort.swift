import ActionsDomain
import ActionsStore

/// The event table's sort key: any column. Time, newest first, is the default, and then the
/// table follows the live tail; under another key new rows take their sorted place.
package struct EventSort: Sendable, Equatable {
    package enum Column: Int, CaseIterable, Sendable {
        case time, node, type, email, ip, verdict, decided, latency, reason

        package var header: String { ["TIME", "NODE", "TYPE", "EMAIL", "IP", "VERD", "DECIDED/OUTCOME", "LATENCY", "REASON"][rawValue] }
        package var name: String { ["time", "node", "type", "email", "ip", "verdict", "decided", "latency", "reason"][rawValue] }
    }

    package var column: Column = .time
    package var descending = true

    package init(column: Column = .time, descending: Bool = true) {
        self.column = column
        self.descending = descending
    }

    /// A column in its natural order: time newest first, latency slowest first, text A to Z.
    package init(naturalFor column: Column) {
        self.init(column: column, descending: column == .time || column == .latency)
    }

    package var isDefault: Bool { column == .time && descending }

    /// Ties go newest first, so equal keys keep the log's order.
    package func ordered(_ a: Event, _ b: Event) -> Bool {
        let order = compare(a, b)
        if order != 0 { return descending ? order > 0 : order < 0 }
        return (a.id ?? 0, a.timeMs) > (b.id ?? 0, b.timeMs)
    }

    private func compare(_ a: Event, _ b: Event) -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch column {
        case .time: return cmp(a.timeMs, b.timeMs) != 0 ? cmp(a.timeMs, b.timeMs) : cmp(a.id ?? 0, b.id ?? 0)
        case .node: return cmp(a.node ?? "", b.node ?? "")
        case .type: return cmp(a.actionType.rawValue, b.actionType.rawValue)
        case .email: return cmp((a.email ?? "").lowercased(), (b.email ?? "").lowercased())
        case .ip: return cmp(a.ip ?? "", b.ip ?? "")
        case .verdict: return cmp(a.verdict.rawValue, b.verdict.rawValue)
        case .decided: return cmp("\(a.decidedBy.rawValue)/\(a.outcome.rawValue)", "\(b.decidedBy.rawValue)/\(b.outcome.rawValue)")
        case .latency: return cmp(a.latencyUs, b.latencyUs)
        case .reason: return cmp(a.reason ?? "", b.reason ?? "")
        }
    }
}
