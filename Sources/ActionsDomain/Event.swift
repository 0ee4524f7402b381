import ActionsProtocol
import Synchronization

/// Who or what gave the verdict.
package enum DecidedBy: String, Sendable, CaseIterable, Codable {
    case policy          // a deny-list entry or a lockout
    case endpoint        // the customer's endpoint answered with a valid signed verdict
    case errorMode = "error_mode" // the endpoint failed; the action type's error mode decided
    case circuit         // the circuit was open; the error mode decided without calling the endpoint
    case allowDefault = "default" // no policy matched and no endpoint is configured
    case invalid         // the request itself was bad
}

/// How the decision went, from the endpoint's point of view; `ok` unless something failed.
package enum Outcome: String, Sendable, CaseIterable, Codable {
    case ok
    case timeout
    case connectError = "connect_error"
    case httpStatus = "http_status"
    case badSignature = "bad_signature"
    case invalidResponse = "invalid_response"
    case circuitOpen = "circuit_open"
    case invalidRequest = "invalid_request"
    case unauthorized
    /// Durable mode: the event could not be committed in time, so the error mode answered.
    case logUnavailable = "log_unavailable"
}

/// One decision, as logged.
package struct Event: Sendable, Equatable, Codable {
    package var id: Int64?
    package var uid: String
    package var timeMs: Int64
    package var actionType: ActionType
    package var actionId: String
    package var userId: String?
    package var email: String?
    package var emailDomain: String?
    package var ip: String?
    package var userAgent: String?
    package var verdict: Verdict
    package var decidedBy: DecidedBy
    package var reason: String?
    package var errorMessage: String?
    package var outcome: Outcome
    package var httpStatus: Int?
    package var latencyUs: Int64
    package var endpointLatencyUs: Int64?
    package var errorMode: ErrorMode
    /// The endpoint's error or an excerpt of what it answered.
    package var detail: String?
    /// From the context when present: `Password`, `GoogleOAuth`, ...
    package var authMethod: String?
    package var organizationId: String?
    package var deviceFingerprint: String?
    /// The actions-server node that decided (`--node`; `hostname:port` by default).
    package var node: String?
    /// The rule that decided (a deny or allow entry, a rate rule), when one did.
    package var ruleId: Int64?
    /// A shadow rule that would have changed the verdict, and changed nothing.
    package var shadowRuleId: Int64?
    /// A synthetic decision (`actionsctl test`); stats can leave these out.
    package var isTest: Bool
    /// The W3C trace the identity service's request belonged to (`traceparent`), 32 hex digits.
    package var traceId: String?

    package init(id: Int64? = nil, uid: String = Event.newUID(), timeMs: Int64 = WallClock.nowMs(), actionType: ActionType,
                actionId: String, userId: String? = nil, email: String? = nil, emailDomain: String? = nil,
                ip: String? = nil, userAgent: String? = nil, verdict: Verdict, decidedBy: DecidedBy,
                reason: String? = nil, errorMessage: String? = nil, outcome: Outcome = .ok, httpStatus: Int? = nil,
                latencyUs: Int64 = 0, endpointLatencyUs: Int64? = nil, errorMode: ErrorMode = .failClosed,
                detail: String? = nil, authMethod: String? = nil, organizationId: String? = nil,
                deviceFingerprint: String? = nil, node: String? = nil, ruleId: Int64? = nil, shadowRuleId: Int64? = nil,
                isTest: Bool = false, traceId: String? = nil) {
        self.traceId = traceId
        self.node = node
        self.ruleId = ruleId
        self.shadowRuleId = shadowRuleId
        self.isTest = isTest
        self.authMethod = authMethod
        self.organizationId = organizationId
        self.deviceFingerprint = deviceFingerprint
        self.id = id
        self.uid = uid
        self.timeMs = timeMs
        self.actionType = actionType
        self.actionId = actionId
        self.userId = userId
        self.email = email
        self.emailDomain = emailDomain
        self.ip = ip
        self.userAgent = userAgent
        self.verdict = verdict
        self.decidedBy = decidedBy
        self.reason = reason
        self.errorMessage = errorMessage
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.latencyUs = latencyUs
        self.endpointLatencyUs = endpointLatencyUs
        self.errorMode = errorMode
        self.detail = detail
    }

    /// `evt_` + 12 hex digits of milliseconds + 10 random hex digits: unique and time-ordered,
    /// known before the row is written, so a decision can return it without waiting for the disk.
    package static func newUID(nowMs: Int64 = WallClock.nowMs()) -> String {
        newID(prefix: "evt_", nowMs: nowMs)
    }

    /// `prefix` + 12 hex digits of time + 10 random hex digits, written into one buffer (this runs
    /// twice per decision, and string concatenation showed up in profiles).
    package static func newID(prefix: StaticString, nowMs: Int64) -> String {
        let digits: StaticString = "0123456789abcdef"
        let time = UInt64(bitPattern: nowMs) & 0xffff_ffff_ffff
        let random = nextIDBits() & 0xff_ffff_ffff
        return String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + 22) { buffer in
            var index = 0
            for i in 0..<prefix.utf8CodeUnitCount {
                buffer[index] = prefix.utf8Start[i]
                index += 1
            }
            for shift in stride(from: 44, through: 0, by: -4) {
                buffer[index] = digits.utf8Start[Int((time >> UInt64(shift)) & 0xf)]
                index += 1
            }
            for shift in stride(from: 36, through: 0, by: -4) {
                buffer[index] = digits.utf8Start[Int((random >> UInt64(shift)) & 0xf)]
                index += 1
            }
            return index
        }
    }

    /// The random part of ids: SplitMix64 over a counter that starts at a random seed, so ids differ
    /// within a process (a bijection of the counter) and between processes (the seed). The system
    /// generator makes a getrandom(2) call per value, which showed in profiles at two ids a decision;
    /// ids need to be unique, not secret.
    private static let idSequence = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    package static func nextIDBits() -> UInt64 {
        var z = idSequence.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
