/// Where the dashboard's tail stands in the log: the newest id it has read, and the ids below that
/// it has not seen yet.
///
/// Ids are handed out when a row is inserted but become visible when its transaction commits, so a
/// reader that has seen id 105 can later see 103 appear (PostgreSQL, without the writers' order
/// lock, or a writer this binary does not know). The cursor remembers such holes for a while and
/// the controller asks the store for them again, so a late commit still reaches the table once.
/// Most holes are for good (a rolled-back insert consumes its ids): each is given up after
/// `horizonMs`, and at most `maxGaps` are kept.
struct TailCursor: Equatable {
    private(set) var lastSeenID: Int64 = 0
    private(set) var gaps: [Gap] = []

    struct Gap: Equatable {
        var range: ClosedRange<Int64>
        var seenMs: Int64
    }

    static let horizonMs: Int64 = 10_000
    static let maxGaps = 64

    init(lastSeenID: Int64 = 0) {
        self.lastSeenID = lastSeenID
    }

    /// Starts over at `id`, forgetting the holes below it (a first load, or a tail too far behind
    /// to read every row).
    mutating func skip(to id: Int64) {
        lastSeenID = id
        gaps = []
    }

    /// Starts at the newest of these ids (the log's newest, ascending), taking the holes among
    /// them as not seen yet: a row may still commit into one.
    mutating func start(at newest: [Int64], nowMs: Int64) {
        skip(to: newest.first.map { $0 - 1 } ?? 0)
        advance(over: newest, nowMs: nowMs)
    }

    /// Moves past rows read after `lastSeenID` (ascending ids), noting the ids between them.
    mutating func advance(over ids: [Int64], nowMs: Int64) {
        for id in ids where id > lastSeenID {
            if id > lastSeenID + 1 { gaps.append(Gap(range: (lastSeenID + 1)...(id - 1), seenMs: nowMs)) }
            lastSeenID = id
        }
        if gaps.count > Self.maxGaps { gaps.removeFirst(gaps.count - Self.maxGaps) }
    }

    /// Takes found ids out of the holes.
    mutating func fill(_ ids: [Int64]) {
        for id in ids {
            guard let index = gaps.firstIndex(where: { $0.range.contains(id) }) else { continue }
            let gap = gaps.remove(at: index)
            if id < gap.range.upperBound { gaps.insert(Gap(range: (id + 1)...gap.range.upperBound, seenMs: gap.seenMs), at: index) }
            if id > gap.range.lowerBound { gaps.insert(Gap(range: gap.range.lowerBound...(id - 1), seenMs: gap.seenMs), at: index) }
        }
    }

    /// Gives up holes older than the horizon.
    mutating func expire(nowMs: Int64) {
        gaps.removeAll { nowMs - $0.seenMs > Self.horizonMs }
    }
}
