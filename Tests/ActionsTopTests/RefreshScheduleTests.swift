import Testing
@testable import ActionsTop

/// The loop's refresh timing, without a terminal: one frame per whole-second refresh, never a
/// screen held while a read runs, and a refresh even when the wall clock stands still.
@Suite struct RefreshScheduleTests {
    static let ms: UInt64 = 1_000_000

    @Test func wholeSecondsRefreshAsTheClockTurnsAndTheirFrameWaitsForIt() {
        var schedule = RefreshSchedule(refreshMs: 1000, nowNs: 0)
        do { let answer = schedule.tickDue(nowNs: 300 * Self.ms, clockMoved: true); #expect(!answer, "too soon after the last") }
        do { let answer = schedule.tickDue(nowNs: 900 * Self.ms, clockMoved: false); #expect(!answer, "not between seconds") }
        do { let answer = schedule.tickDue(nowNs: 1000 * Self.ms, clockMoved: true); #expect(answer) }
        // The frame of that second waits for the reads, 50 ms at most.
        do { let answer = schedule.mayDraw(nowNs: 1010 * Self.ms, working: true); #expect(!answer) }
        do { let answer = schedule.mayDraw(nowNs: 1020 * Self.ms, working: false); #expect(answer, "the reads are in") }
        do { let answer = schedule.tickDue(nowNs: 2000 * Self.ms, clockMoved: true); #expect(answer) }
        do { let answer = schedule.mayDraw(nowNs: 2049 * Self.ms, working: true); #expect(!answer) }
        do { let answer = schedule.mayDraw(nowNs: 2050 * Self.ms, working: true); #expect(answer, "a slow read holds no frame past 50 ms") }
        do { let answer = schedule.mayDraw(nowNs: 2060 * Self.ms, working: true); #expect(answer, "nor the frames after it") }
    }

    @Test func aKeyIsDrawnAtOnce() {
        var schedule = RefreshSchedule(refreshMs: 1000, nowNs: 0)
        do { let answer = schedule.tickDue(nowNs: 1000 * Self.ms, clockMoved: true); #expect(answer) }
        schedule.keyPressed()
        do { let answer = schedule.mayDraw(nowNs: 1001 * Self.ms, working: true); #expect(answer) }
    }

    /// A short interval runs on its timer and never holds a frame: renewed by every tick, a hold
    /// kept the screen from drawing for as long as any read ran.
    @Test func aShortIntervalHoldsNoFrame() {
        var schedule = RefreshSchedule(refreshMs: 50, nowNs: 0)
        var now: UInt64 = 0
        for _ in 0..<100 {
            now += 20 * Self.ms
            _ = schedule.tickDue(nowNs: now, clockMoved: false)
            do { let answer = schedule.mayDraw(nowNs: now, working: true); #expect(answer) }
        }
        var other = RefreshSchedule(refreshMs: 1500, nowNs: 0)
        do { let answer = other.tickDue(nowNs: 1499 * Self.ms, clockMoved: true); #expect(!answer) }
        do { let answer = other.tickDue(nowNs: 1500 * Self.ms, clockMoved: false); #expect(answer) }
        do { let answer = other.mayDraw(nowNs: 1501 * Self.ms, working: true); #expect(answer) }
    }

    @Test func aWallClockThatStandsStillDelaysARefreshByHalfASecondAtMost() {
        var schedule = RefreshSchedule(refreshMs: 1000, nowNs: 0)
        do { let answer = schedule.tickDue(nowNs: 1400 * Self.ms, clockMoved: false); #expect(!answer) }
        do { let answer = schedule.tickDue(nowNs: 1500 * Self.ms, clockMoved: false); #expect(answer) }
        var slower = RefreshSchedule(refreshMs: 3000, nowNs: 0)
        do { let answer = slower.tickDue(nowNs: 2000 * Self.ms, clockMoved: true); #expect(!answer, "every third second") }
        do { let answer = slower.tickDue(nowNs: 2600 * Self.ms, clockMoved: true); #expect(answer) }
    }
}
