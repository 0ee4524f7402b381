import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Who is attacking now: over the header's window, the most denied domains, networks (IPv4 /24,
/// IPv6 /64), emails and deny reasons, and the endpoint's failure outcomes, each with its count and
/// trend (the window's second half against its first). Computed from the window's denied and
/// failed decisions; pure, so it is tested without a store.
package struct TopOffenders: Sendable, Equatable {
    package enum Group: Int, CaseIterable, Sendable {
        case domains, networks, emails, reasons, failures

        package var title: String {
            ["denied domains", "denied networks (/24, /64)", "denied emails", "deny reasons", "endpoint failures"][rawValue]
        }
    }

    package struct Row: Sendable, Equatable {
        package var group: Group
        package var key: String
        package var count: Int
        /// In the window's second half and first half.
        package var recent: Int
        package var earlier: Int

        package enum Trend: Sendable { case rising, steady, falling }
        package var trend: Trend {
            if recent > earlier * 3 / 2 + 1 { return .rising }
            if earlier > recent * 3 / 2 + 1 { return .falling }
            return .steady
        }

        /// The entry that would deny this row's key, when it names something a deny entry can.
        package var denyEntry: ListEntry? {
            switch group {
            case .domains: return ListEntry(kind: .domain, value: key)
            case .networks: return ListEntry(kind: .ip, value: key)
            case .emails: return ListEntry(kind: .email, value: key)
            case .reasons, .failures: return nil
            }
        }
    }

    package var rows: [Group: [Row]] = [:]
    /// How many denied and failed decisions the figures come from, and whether a cap cut them.
    package var denied = 0
    package var failed = 0
    package var capped = false

    package init() {}

    /// The figures for a window's denied and failed decisions, at once (the tests', and the
    /// same `OffenderWindow` the dashboard keeps up to date arrival by arrival).
    package init(denied: [Event], failed: [Event], nowMs: Int64, windowMs: Int64, limit: Int = 10, capped: Bool = false) {
        var window = OffenderWindow(windowMs: windowMs)
        var seen = Set<Int64>()
        window.add((denied + failed).filter { event in event.id.map { seen.insert($0).inserted } ?? true }, nowMs: nowMs)
        self = window.snapshot(nowMs: nowMs, limit: limit)
        self.capped = capped
    }

    /// What an event counts toward: policy's denials by domain, network, email and reason, and
    /// endpoint failures by outcome. A fail-closed answer to a failing endpoint is no verdict on
    /// the domain (gmail.com looked like an attacker): those count under failures.
    static func keys(of event: Event) -> [(Group, String)] {
        keys(of: event, network: network, reasonKey: reasonKey)
    }

    /// The same, with the address and reason folds given (the window memoizes them).
    static func keys(of event: Event, network: (String) -> String?, reasonKey: (String) -> String) -> [(Group, String)] {
        guard !event.isTest else { return [] }
        var keys: [(Group, String)] = []
        func add(_ group: Group, _ key: String?) {
            if let key, !key.isEmpty { keys.append((group, key)) }
        }
        if event.verdict == .deny && event.decidedBy != .errorMode && event.decidedBy != .circuit {
            add(.domains, event.emailDomain)
            add(.networks, event.ip.flatMap(network))
            add(.emails, event.email.map { Normalize.email($0) })
            add(.reasons, event.reason.map(reasonKey))
        }
        if event.outcome != .ok { add(.failures, event.outcome.rawValue) }
        return keys
    }

    /// The IPv4 /24 or IPv6 /64 around an address, as a CIDR a deny entry takes.
    static func network(_ ip: String) -> String? {
        guard let address = IPAddress(ip) else { return nil }
        return IPNetwork("\(address)/\(address.isIPv4 ? 24 : 64)")?.canonical.description
    }

    /// A reason without its particulars: `deny domain x.com (rule 3): disposable` is counted as
    /// `deny domain x.com (rule 3)`, `rate ip 20/10m (rule 4): 25 attempts...` as its rule.
    static func reasonKey(_ reason: String) -> String {
        if let rule = reason.range(of: "(rule "), let close = reason[rule.upperBound...].firstIndex(of: ")") {
            return String(reason[...close])
        }
        // One row per kind of reason, not per count: "locked out after 101 failed logins" and
        // "...103..." are one, "locked out after # failed logins" (the emails group shows whose).
        var key = ""
        var inNumber = false
        for character in reason.prefix(while: { $0 != ":" && $0 != ";" }) {
            if character.isASCII && character.isNumber {
                if !inNumber { key.append("#") }
                inNumber = true
            } else {
                key.append(character)
                inNumber = false
            }
        }
        return key
    }

    /// What a row filters the event table to.
    package static func filter(for row: Row, base: EventFilter) -> EventFilter {
        var filter = base
        filter.text = ""
        filter.outcome = nil
        switch row.group {
        case .domains, .emails:
            filter.deniedOnly = true
            filter.text = row.key
        case .reasons:
            filter.deniedOnly = true
            // Up to the first number the row stands for ("locked out after #" is every count).
            let words = row.key.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            filter.text = words.isEmpty ? row.key.replacingOccurrences(of: "#", with: "") : words
        case .networks:
            filter.deniedOnly = true
            // The prefix as it is written in the log: a /24 is its first three octets.
            if let network = IPNetwork(row.key), network.address.isIPv4 {
                filter.text = network.address.description.split(separator: ".").prefix(3).joined(separator: ".") + "."
            } else {
                filter.text = String(row.key.prefix { $0 != "/" }.dropLast(while: { $0 == ":" }))
            }
        case .failures:
            filter.failuresOnly = true
            filter.deniedOnly = false
            filter.outcome = Outcome(rawValue: row.key)
        }
        return filter
    }
}

/// The attack panel's counts over a sliding window, kept up to date arrival by arrival: each
/// denied or failed event's keys are counted once (by id) when it arrives and uncounted when it
/// leaves the window, and the trend's halves move with the clock. The panel used to re-read and
/// re-count the whole window every 2 s: at 1,000 events/s that was 2 % of a core.
package struct OffenderWindow: Sendable {
    struct Entry: Sendable {
        var id: Int64?
        var timeMs: Int64
        var keys: [(TopOffenders.Group, String)]
        var denied: Bool
        var failed: Bool
    }

    package let windowMs: Int64
    /// In time order; `head` is the first still in the window, `middle` the first in its second half.
    private var entries: [Entry] = []
    private var head = 0, middle = 0
    private var ids = Set<Int64>()
    private var counts: [TopOffenders.Group: [String: (all: Int, recent: Int)]] = [:]
    private var denied = 0, failed = 0
    private var middleMs = Int64.min

    package init(windowMs: Int64) { self.windowMs = windowMs }

    /// Events held: those in the window (its memory is bounded by the window, not the session).
    var tracked: (entries: Int, ids: Int) { (entries.count - head, ids.count) }

    /// At most this many events are held (a day's window under an attack would hold millions):
    /// past it the oldest go, and the figures say they cover less than the window.
    package static let maxEntries = 200_000
    /// Until when the figures miss events the cap let go (nil: they cover the whole window).
    package private(set) var cappedUntilMs: Int64?

    /// Counts what arrived (each event once, whatever the order of arrival). A batch is put in
    /// time order first, so a newest-first load appends; a late commit finds its place by binary
    /// search.
    package mutating func add(_ events: [Event], nowMs: Int64) {
        advance(nowMs: nowMs)
        let startMs = nowMs - windowMs
        // Entries first, then their order: sorting the events themselves copied each one.
        var arrived: [Entry] = []
        for event in events where event.timeMs >= startMs && (event.verdict == .deny || event.outcome != .ok) {
            if let id = event.id, !ids.insert(id).inserted { continue }
            arrived.append(Entry(id: event.id, timeMs: event.timeMs, keys: keys(of: event), denied: event.verdict == .deny,
                                 failed: event.outcome != .ok))
        }
        if !arrived.isSorted(by: { $0.timeMs < $1.timeMs }) { arrived.sort { $0.timeMs < $1.timeMs } }
        for entry in arrived {
            var index = entries.endIndex
            if let last = entries.last, last.timeMs > entry.timeMs {
                var low = head, high = entries.endIndex
                while low < high {
                    let mid = (low + high) / 2
                    if entries[mid].timeMs > entry.timeMs { high = mid } else { low = mid + 1 }
                }
                index = low
            }
            entries.insert(entry, at: index)
            // Older than the second half: it lands before its first entry.
            if entry.timeMs < middleMs { middle += 1 }
            count(entry, all: 1, recent: entry.timeMs >= middleMs ? 1 : 0)
        }
        // Over the cap: the oldest go, and the figures say until when they are short.
        while entries.count - head > Self.maxEntries {
            cappedUntilMs = max(cappedUntilMs ?? 0, entries[head].timeMs + windowMs)
            drop()
        }
    }

    /// Reasons and addresses repeat: each distinct one is folded once (a flood's were 6 % of the
    /// dashboard's time). Bounded, so a flood of distinct ones cannot grow it without limit.
    private var reasonKeys: [String: String] = [:]
    private var networks: [String: String] = [:]

    private mutating func keys(of event: Event) -> [(TopOffenders.Group, String)] {
        if reasonKeys.count > 4096 { reasonKeys = [:] }
        if networks.count > 4096 { networks = [:] }
        return TopOffenders.keys(of: event, network: { ip in
            if let known = networks[ip] { return known.isEmpty ? nil : known }
            let network = TopOffenders.network(ip)
            networks[ip] = network ?? ""
            return network
        }, reasonKey: { reason in
            if let known = reasonKeys[reason] { return known }
            let key = TopOffenders.reasonKey(reason)
            reasonKeys[reason] = key
            return key
        })
    }

    private mutating func drop() {
        count(entries[head], all: -1, recent: head >= middle ? -1 : 0)
        if let id = entries[head].id { ids.remove(id) }
        head += 1
        middle = max(middle, head)
    }

    /// Lets the window slide to `nowMs`: what left it is uncounted, what left its second half
    /// counts as earlier.
    package mutating func advance(nowMs: Int64) {
        let startMs = nowMs - windowMs
        middleMs = nowMs - windowMs / 2
        while middle < entries.endIndex && entries[middle].timeMs < middleMs {
            count(entries[middle], all: 0, recent: -1)
            middle += 1
        }
        while head < entries.endIndex && entries[head].timeMs < startMs { drop() }
        if let until = cappedUntilMs, nowMs >= until { cappedUntilMs = nil }
        // Compact now and then, not on every step.
        if head > 4096 && head * 2 > entries.count {
            entries.removeFirst(head)
            middle -= head
            head = 0
        }
    }

    private mutating func count(_ entry: Entry, all: Int, recent: Int) {
        if all != 0 {
            denied += entry.denied ? all : 0
            failed += entry.failed ? all : 0
        }
        for (group, key) in entry.keys {
            var value = counts[group, default: [:]][key] ?? (0, 0)
            value.all += all
            value.recent += recent
            counts[group, default: [:]][key] = value.all > 0 ? value : nil
        }
    }

    /// The panel's rows: each group's `limit` largest counts, without sorting every key.
    package func snapshot(nowMs: Int64, limit: Int = 10) -> TopOffenders {
        var top = TopOffenders()
        top.denied = denied
        top.failed = failed
        top.capped = cappedUntilMs != nil
        for (group, keys) in counts {
            var best: [TopOffenders.Row] = []
            for (key, value) in keys {
                let row = TopOffenders.Row(group: group, key: key, count: value.all, recent: value.recent, earlier: value.all - value.recent)
                guard best.count < limit || Self.before(row, best[best.count - 1]) else { continue }
                best.insert(row, at: best.firstIndex { Self.before(row, $0) } ?? best.endIndex)
                if best.count > limit { best.removeLast() }
            }
            if !best.isEmpty { top.rows[group] = best }
        }
        return top
    }

    /// Larger counts first, ties by key A to Z.
    private static func before(_ a: TopOffenders.Row, _ b: TopOffenders.Row) -> Bool {
        (a.count, b.key) > (b.count, a.key)
    }
}

extension Substring {
    func dropLast(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[..<end]
    }
}
