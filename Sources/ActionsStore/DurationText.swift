/// Operator-friendly durations for expiries and time windows: `90s`, `30m`, `12h`, `7d`.
public enum DurationText {
    /// Milliseconds, or nil when the text is not a positive number followed by s, m, h or d.
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard let unit = text.last, let factor = units[unit], let value = Int64(text.dropLast()), value > 0,
              value < Int64.max / factor else { return nil }
        return value * factor
    }
}
