import Testing
import Foundation
import ActionsTestSupport
@testable import ActionsTop

/// The table's time and latency columns are computed with integer arithmetic (they run for every
/// visible row of every frame); they must read exactly as Foundation's calendar and printf would.
@Suite struct ClockTextTests {
    /// Zones with negative, half- and quarter-hour offsets and daylight saving changes.
    static let zones = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe",
                        "America/St_Johns", "Europe/Berlin", "Pacific/Kiritimati"]

    @Test(arguments: zones)
    func theClockAgreesWithTheCalendar(zoneName: String) throws {
        let zone = try #require(TimeZone(identifier: zoneName))
        let renderer = Renderer(timeZone: zone)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var generator = SeededGenerator(seed: 7)
        // Instants from 1900 to 2200, and every half hour around this year's changes of offset.
        var instants = (0..<2000).map { _ in Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator) }
        let start = Int64(1_767_225_600_000) // 2026-01-01
        instants += stride(from: start, to: start + 366 * 86_400_000, by: 1_800_000).map { $0 + 999 }
        for ms in instants {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                                from: Date(timeIntervalSince1970: Double(ms.floorDivided(by: 1000))))
            let expected = String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year!, parts.month!, parts.day!,
                                  parts.hour!, parts.minute!, parts.second!)
            #expect(renderer.clock(ms, withDate: true) == expected, "at \(ms) ms in \(zoneName)")
            #expect(renderer.clock(ms) == String(expected.suffix(8)))
        }
    }

    @Test func latencyReadsAsPrintfWould() {
        for micros in Array(-2000...100_500) + [123_456, 9_999_999] {
            let magnitude = abs(micros)
            let expected = micros >= 100_000 ? "\(micros / 1000)ms"
                : String(format: magnitude < 1000 ? "%.2fms" : "%.1fms", Double(micros) / 1000)
            let got = Renderer.millis(Int64(micros))
            // printf rounds the binary value, which may sit just under a half: the two may differ
            // by one in the last digit, only there.
            if got != expected {
                let last = magnitude < 1000 ? magnitude % 10 : magnitude % 100
                #expect(last == (magnitude < 1000 ? 5 : 50), "\(micros) µs: \(got), printf \(expected)")
            }
        }
    }

    /// A corrupt or hostile row's extreme values are drawn, not trapped on.
    @Test func extremeValuesDoNotCrash() {
        let renderer = Renderer(timeZone: TimeZone(identifier: "America/New_York")!)
        for ms in [Int64.min, .min + 1, -1, 0, .max - 1, .max] {
            #expect(renderer.clock(ms).count == 8)
            #expect(!renderer.clock(ms, withDate: true).isEmpty)
        }
        #expect(Renderer.millis(.min).hasPrefix("-"))
        #expect(Renderer.millis(.max).hasSuffix("ms"))
        #expect(Renderer.millis(-110) == "-0.11ms")
    }

    @Test func printableASCIIWidthIsItsLengthAndTheRestGoesByCharacter() {
        #expect(DisplayWidth.of("alice@example.com") == 17)
        #expect(DisplayWidth.of("") == 0)
        #expect(DisplayWidth.of("a\u{1b}b") == 2)
        #expect(DisplayWidth.of("日本") == 4)
        #expect(DisplayWidth.of("e\u{301}") == 1)
        #expect(DisplayWidth.of(String(repeating: "x", count: 40)) == 40)
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        self >= 0 ? self / divisor : (self - divisor + 1) / divisor
    }
}
