import Foundation

/// A W3C Trace Context `traceparent` header (version 00): `00-<trace id>-<parent span id>-<flags>`.
/// The identity service's request may carry one; the call to the customer's endpoint carries the
/// same trace with a span of its own, and the event keeps the trace id, so an operator finds a
/// decision from a trace (`actionsctl events --trace ID`, the dashboard's details).
package struct TraceParent: Sendable, Equatable {
    /// 32 lowercase hex digits, not all zero.
    package let traceID: String
    /// 16 lowercase hex digits, not all zero.
    package let spanID: String
    /// Two hex digits (01: sampled).
    package let flags: String

    /// Parses a header as the specification's processing model says: version 00 exactly (a later
    /// version's first four fields, when the header is longer), lowercase hex, no all-zero ids.
    /// Anything else is no trace context (nil), never an error for the decision.
    package init?(header: String) {
        let text = header.trimmingCharacters(in: [" ", "\t"])
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, Self.isHex(parts[0]), parts[0] != "ff",
              parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              Self.isHex(parts[1]), Self.isHex(parts[2]), Self.isHex(parts[3]),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }) else { return nil }
        // Version 00 has exactly four fields; a later one may add more after a dash.
        if parts[0] == "00" && (parts.count != 4 || text.utf8.count != 55) { return nil }
        self.init(traceID: String(parts[1]), spanID: String(parts[2]), flags: String(parts[3]))
    }

    package init(traceID: String, spanID: String, flags: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// The same trace, with a new span id: what the endpoint call carries.
    package func child() -> TraceParent {
        var generator = SystemRandomNumberGenerator()
        var span = ""
        repeat {
            span = String(UInt64.random(in: 1...UInt64.max, using: &generator), radix: 16)
        } while span.isEmpty
        return TraceParent(traceID: traceID, spanID: String(repeating: "0", count: 16 - span.count) + span, flags: flags)
    }

    package var header: String { "00-\(traceID)-\(spanID)-\(flags)" }

    static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
