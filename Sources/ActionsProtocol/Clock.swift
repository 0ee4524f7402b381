#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time in Unix milliseconds, the unit of every WorkOS timestamp.
package enum WallClock {
    package static func nowMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// Monotonic time for latencies: immune to wall-clock jumps.
package enum MonotonicClock {
    package static func nowNs() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    package static func microsSince(_ startNs: UInt64) -> Int64 {
        Int64((nowNs() &- startNs) / 1000)
    }
}

/// Timestamps from requests and responses are untrusted numbers: any Int64 may arrive.
package enum TimestampWindow {
    /// How old `timestampMs` is at `nowMs` (negative when it lies in the future), within
    /// ±Int64.max so that callers may negate it. Saturates instead of trapping on overflow:
    /// `nowMs - Int64.min` crashed the server.
    package static func ageMs(of timestampMs: Int64, nowMs: Int64) -> Int64 {
        let (age, overflow) = nowMs.subtractingReportingOverflow(timestampMs)
        if overflow || age == Int64.min { return timestampMs > nowMs ? -Int64.max : Int64.max }
        return age
    }
}
