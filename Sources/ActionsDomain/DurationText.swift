/// Operator-friendly durations for expiries and time windows: `90s`, `30m`, `12h`, `7d`.
package enum DurationText {
    /// The longest duration accepted: 100 years. Durations are added to the current time, so an
    /// unbounded one would overflow there even when the multiplication did not.
    package static let maxMilliseconds: Int64 = 36_500 * 86_400_000

    /// Milliseconds, or nil when the text is not a positive number followed by s, m, h or d, or is
    /// longer than `maxMilliseconds`.
    package static func milliseconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard let unit = text.last, let factor = units[unit], let value = Int64(text.dropLast()), value > 0,
              value <= maxMilliseconds / factor else { return nil }
        return value * factor
    }

    /// The shortest exact spelling of a duration: 600000 ms is `10m`, 90000 ms is `90s`.
    package static func text(_ ms: Int64) -> String {
        for (unit, factor) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms % factor == 0 {
            return "\(ms / factor)\(unit)"
        }
        return "\(ms)ms"
    }
}
