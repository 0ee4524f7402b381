import Testing
import ActionsProtocol
import ActionsDomain
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

@Suite struct StatsWindowTests {
    func sample(_ timeMs: Int64, latencyUs: Int64 = 1000, verdict: Verdict = .allow, outcome: Outcome = .ok) -> StatSample {
        StatSample(actionType: .userRegistration, timeMs: timeMs, verdict: verdict, outcome: outcome, latencyUs: latencyUs)
    }

    @Test func eachWindowCountsOnlyItsPeriod() {
        let now: Int64 = 100_000_000
        var stats = LiveStats()
        stats.logStartMs = now - 2 * 86_400_000
        // One decision 30 s ago, one 4 min ago, one 30 min ago, one 20 h ago, one 2 days ago.
        stats.add([sample(now - 30_000), sample(now - 240_000), sample(now - 1_800_000, verdict: .deny),
                   sample(now - 72_000_000, outcome: .timeout), sample(now - 2 * 86_400_000)])
        var totals: [Int] = []
        for window in StatsWindow.allCases {
            stats.window = window
            totals.append(stats.window(.userRegistration, nowMs: now).total)
        }
        #expect(totals == [1, 2, 3, 4])
        stats.window = .oneDay
        let day = stats.window(.userRegistration, nowMs: now)
        #expect(day.denied == 1 && day.failures[.timeout] == 1)
        #expect(StatsWindow.oneDay.next == .oneMinute)
    }

    @Test func percentilesComeFromTheHistogramWithinItsResolution() {
        let now: Int64 = 10_000_000
        var stats = LiveStats()
        stats.add((1...1000).map { sample(now - 1000 + Int64($0 % 500), latencyUs: Int64($0) * 10) })
        let window = stats.window(.userRegistration, nowMs: now)
        for (reported, exact) in [(window.p50Us, Int64(5000)), (window.p95Us, 9500), (window.p99Us, 9900)] {
            #expect(abs(Double(reported - exact)) / Double(exact) < 0.05, "\(reported) for \(exact)")
        }
        let histogram = stats.latencyHistogram(.userRegistration, nowMs: now)
        #expect(histogram.reduce(0) { $0 + $1.count } == 1000)
        #expect(histogram.first?.upToUs == 16 && histogram.last?.upToUs == 16384)
    }

    @Test func sparklinePointsSpanTheWindow() {
        let now: Int64 = 100_000_000
        var stats = LiveStats()
        stats.window = .oneHour
        stats.add([sample(now - 3_500_000), sample(now - 10_000), sample(now - 5_000, verdict: .deny)])
        let spark = stats.sparkline(.userRegistration, nowMs: now)
        #expect(spark.decisions.count == 60 && spark.decisions.reduce(0, +) == 3)
        #expect(spark.decisions.last == 2 && spark.denials.last == 1)
        #expect(spark.decisions.first == 0 && spark.decisions[1] == 1, "58 minutes ago is the second point of 60")
    }
}
