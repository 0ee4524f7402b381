import Testing
import ActionsProtocol
import ActionsStore
@testable import ActionsTop

@Suite struct LiveStatsTests {
    func samples(_ count: Int, over ms: Int64, endingAt now: Int64) -> [StatSample] {
        (0..<count).map { i in
            StatSample(actionType: .userRegistration, timeMs: now - ms + Int64(i) * ms / Int64(count), verdict: .allow,
                       outcome: .ok, latencyUs: 1000)
        }
    }

    @Test func aLogYoungerThanTheWindowIsNotDilutedByIt() {
        let now: Int64 = 1_000_000
        var stats = LiveStats()
        // The log began 8 s ago, at 50 decisions a second.
        stats.add(samples(400, over: 8000, endingAt: now))
        let rate = stats.window(.userRegistration, nowMs: now).perSecond
        #expect(abs(rate - 50) < 1, "\(rate)/s, not 400/60")
    }

    @Test func anOlderLogIsMeasuredOverTheWholeWindow() {
        let now: Int64 = 1_000_000
        var stats = LiveStats()
        stats.logStartMs = now - 3_600_000
        stats.add(samples(600, over: 60_000, endingAt: now))
        #expect(abs(stats.window(.userRegistration, nowMs: now).perSecond - 10) < 0.01)
    }
}
