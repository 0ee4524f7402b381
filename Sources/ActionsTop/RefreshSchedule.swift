/// When the dashboard's loop refreshes, and when a frame waits for that refresh. Pure (the loop
/// hands it the clocks), so it is tested without a terminal.
///
/// A refresh of whole seconds runs as the wall clock's second turns, and the frame that shows
/// the new second waits up to `holdNs` for the refresh's reads: the clock, the tail's rows and
/// the slow refresh were otherwise two or three frames a second, most of the dashboard's CPU.
/// Other refresh intervals run on their own monotonic timer and hold no frame (a hold renewed
/// every 50 ms would keep the screen from drawing for as long as any read ran). A wall clock
/// that stands still delays a whole-second refresh by half a second at most.
struct RefreshSchedule: Sendable {
    static let holdNs: UInt64 = 50_000_000

    let refreshMs: Int
    private(set) var lastTickNs: UInt64
    /// When the refresh a frame waits for started; nil when no frame waits.
    private(set) var heldSinceNs: UInt64?

    init(refreshMs: Int, nowNs: UInt64) {
        self.refreshMs = refreshMs
        lastTickNs = nowNs
    }

    var onTheSecond: Bool { refreshMs >= 1000 && refreshMs % 1000 == 0 }

    /// Whether a refresh is due now; when it is, it counts as started.
    mutating func tickDue(nowNs: UInt64, clockMoved: Bool) -> Bool {
        let elapsedNs = nowNs &- lastTickNs
        let due = onTheSecond
            ? (clockMoved && elapsedNs >= UInt64(refreshMs - 500) * 1_000_000) || elapsedNs >= UInt64(refreshMs + 500) * 1_000_000
            : elapsedNs >= UInt64(refreshMs) * 1_000_000
        guard due else { return false }
        lastTickNs = nowNs
        if onTheSecond { heldSinceNs = nowNs }
        return true
    }

    /// Whether a frame may be drawn now: not while the refresh it waits for is still out (`working`)
    /// and younger than `holdNs`.
    mutating func mayDraw(nowNs: UInt64, working: Bool) -> Bool {
        if let since = heldSinceNs, !working || nowNs &- since >= Self.holdNs { heldSinceNs = nil }
        return heldSinceNs == nil
    }

    /// What a key changed is drawn at once.
    mutating func keyPressed() { heldSinceNs = nil }
}
