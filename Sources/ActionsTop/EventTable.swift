import ActionsDomain
import ActionsStore

/// The event table's rows: one ordered set of events keyed by id. Every source (the first load,
/// the tail, a reload after a filter change, a late commit found in a gap) goes through `merge` or
/// `replace`, so no path can show an event twice, and the rows are always in the table's order.
///
/// The table holds the newest matching events, at most `capacity`: when it is full the oldest (by
/// id, the log's order) go, whatever the order on screen. Unless the last load reached the start
/// of the log (`complete`), an event older than the oldest row is left out, since the events
/// between it and the table are not on hand either: the table is always a contiguous newest part
/// of what the store holds for the filter.
package struct EventTable: Sendable, Equatable {
    package private(set) var rows: [Event] = []
    package let capacity: Int
    package private(set) var order: EventSort
    /// The rows' ids, ascending: membership by binary search, and the oldest are its head (new ids
    /// are usually the largest, so they are appended).
    private var ids = SortedIDs()
    /// The last load returned everything that matched: older events belong in the table too.
    private var complete = true

    package init(capacity: Int, order: EventSort = EventSort()) {
        self.capacity = capacity
        self.order = order
    }

    package var count: Int { rows.count }
    package var isEmpty: Bool { rows.isEmpty }
    package func contains(id: Int64) -> Bool { ids.contains(id) }

    /// The store's answer for the filter, newest first, read with `limit`: it replaces the rows.
    package mutating func replace(with newest: [Event], limit: Int) {
        rows = []
        ids = SortedIDs()
        complete = newest.count < limit
        insert(newest)
    }

    /// Adds what is not already here (by id), keeps the newest `capacity`, and the order.
    /// Returns the number of events taken in (a full table drops as many of its oldest).
    @discardableResult
    package mutating func merge(_ events: [Event]) -> Int {
        // From the sorted ids: a key path over the rows copied each of them, on every refresh.
        let oldest = complete ? nil : ids.first
        return insert(events) { id in oldest.map { id > $0 } ?? true }
    }

    package mutating func sort(by order: EventSort) {
        self.order = order
        rows.sort(by: order.ordered)
    }

    /// Edits every row in place (test fixtures); ids must stay as they are.
    mutating func mapRows(_ transform: (inout Event) -> Void) {
        for index in rows.indices { transform(&rows[index]) }
    }

    /// `keeping`: which new ids belong (a merge into an incomplete table takes none older than it holds).
    @discardableResult
    private mutating func insert(_ events: [Event], keeping: (Int64) -> Bool = { _ in true }) -> Int {
        var fresh: [Event] = []
        // Taken in the table's order when the batch comes the other way round (the tail reads
        // oldest first, the table shows newest first), so the usual batch needs no reordering.
        let backwards = events.count > 1 && order.ordered(events[events.count - 1], events[0])
        for index in backwards ? Array(events.indices.reversed()) : Array(events.indices) {
            if let id = events[index].id, !keeping(id) || !ids.insert(id) { continue }
            fresh.append(events[index])
        }
        let added = fresh.count
        guard added > 0 else { return 0 }
        // The tail's new events usually all sort before (newest first) or after every row: placed
        // there in one move, the table is not sorted again. A full sort of 10,000 events on every
        // refresh was most of the dashboard's CPU while 1,000 events/s arrived.
        // Taken as above, a batch is usually in order already: a check, not a sort that copies
        // every event.
        if !fresh.isSorted(by: order.ordered) { fresh.sort(by: order.ordered) }
        if let first = rows.first, let last = fresh.last, order.ordered(last, first) {
            rows.insert(contentsOf: fresh, at: 0)
        } else if let last = rows.last, let first = fresh.first, order.ordered(last, first) {
            rows.append(contentsOf: fresh)
        } else {
            rows.append(contentsOf: fresh)
            rows.sort(by: order.ordered)
        }
        if rows.count > capacity {
            // The oldest rows go: the capacity-th newest id is the cut.
            // From the sorted ids, not the rows: reading each row's id through a key path copied the row.
            let cut = ids.dropOldest(keeping: capacity)
            rows.removeAll { event in event.id.map { $0 < cut } ?? false }
            complete = false
        }
        return added
    }
}

/// Ids in ascending order, without duplicates.
struct SortedIDs: Sendable, Equatable {
    private var values: [Int64] = []

    var first: Int64? { values.first }

    /// The index of the first id not below `id` (binary search).
    private func position(of id: Int64) -> Int {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    func contains(_ id: Int64) -> Bool {
        let index = position(of: id)
        return index < values.count && values[index] == id
    }

    /// Adds `id`; false when it was already here.
    mutating func insert(_ id: Int64) -> Bool {
        if let last = values.last, id > last {
            values.append(id)
            return true
        }
        let index = position(of: id)
        if index < values.count && values[index] == id { return false }
        values.insert(id, at: index)
        return true
    }

    /// Keeps the `count` largest ids and returns the smallest of them (`Int64.min` when there
    /// were no more than `count`): rows below it are the ones to drop.
    mutating func dropOldest(keeping count: Int) -> Int64 {
        guard values.count > count else { return .min }
        values.removeFirst(values.count - count)
        return values.first ?? .min
    }
}

extension Array {
    func isSorted(by ordered: (Element, Element) -> Bool) -> Bool {
        // By index: zip would hand each event over as a copy.
        indices.dropFirst().allSatisfy { !ordered(self[$0], self[$0 - 1]) }
    }
}
