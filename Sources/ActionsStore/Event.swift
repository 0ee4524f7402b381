import ActionsProtocol
import GRDB

/// Who or what gave the verdict.
public enum DecidedBy: String, Sendable, CaseIterable, Codable {
    case policy          // a deny-list entry or a lockout
    case endpoint        // the customer's endpoint answered with a valid signed verdict
    case errorMode = "error_mode" // the endpoint failed; the action type's error mode decided
    case circuit         // the circuit was open; the error mode decided without calling the endpoint
    case allowDefault = "default" // no policy matched and no endpoint is configured
    case invalid         // the request itself was bad
}

/// How the decision went, from the endpoint's point of view; `ok` unless something failed.
public enum Outcome: String, Sendable, CaseIterable, Codable {
    case ok
    case timeout
    case connectError = "connect_error"
    case httpStatus = "http_status"
    case badSignature = "bad_signature"
    case invalidResponse = "invalid_response"
    case circuitOpen = "circuit_open"
    case invalidRequest = "invalid_request"
    case unauthorized
}

/// One decision, as logged.
public struct Event: Sendable, Equatable, Codable {
    public var id: Int64?
    public var uid: String
    public var timeMs: Int64
    public var actionType: String
    public var actionId: String
    public var userId: String?
    public var email: String?
    public var emailDomain: String?
    public var ip: String?
    public var userAgent: String?
    public var verdict: Verdict
    public var decidedBy: DecidedBy
    public var reason: String?
    public var errorMessage: String?
    public var outcome: Outcome
    public var httpStatus: Int?
    public var latencyUs: Int64
    public var endpointLatencyUs: Int64?
    public var errorMode: ErrorMode
    /// The endpoint's error or an excerpt of what it answered.
    public var detail: String?

    public init(id: Int64? = nil, uid: String = Event.newUID(), timeMs: Int64 = WallClock.nowMs(), actionType: String,
                actionId: String, userId: String? = nil, email: String? = nil, emailDomain: String? = nil,
                ip: String? = nil, userAgent: String? = nil, verdict: Verdict, decidedBy: DecidedBy,
                reason: String? = nil, errorMessage: String? = nil, outcome: Outcome = .ok, httpStatus: Int? = nil,
                latencyUs: Int64 = 0, endpointLatencyUs: Int64? = nil, errorMode: ErrorMode = .failClosed,
                detail: String? = nil) {
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
    public static func newUID(nowMs: Int64 = WallClock.nowMs()) -> String {
        newID(prefix: "evt_", nowMs: nowMs)
    }

    /// `prefix` + 12 hex digits of time + 10 random hex digits, written into one buffer (this runs
    /// twice per decision, and string concatenation showed up in profiles).
    public static func newID(prefix: StaticString, nowMs: Int64) -> String {
        let digits: StaticString = "0123456789abcdef"
        let time = UInt64(bitPattern: nowMs) & 0xffff_ffff_ffff
        let random = UInt64.random(in: 0..<(1 << 40))
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

    static let columns = "id, uid, ts_ms, action_type, action_id, user_id, email, email_domain, ip, user_agent, verdict, decided_by, reason, error_message, outcome, http_status, latency_us, endpoint_latency_us, error_mode, detail"

    static let insertSQL = """
        INSERT INTO events (uid, ts_ms, action_type, action_id, user_id, email, email_domain, ip, user_agent,
            verdict, decided_by, reason, error_message, outcome, http_status, latency_us, endpoint_latency_us,
            error_mode, detail, failed)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    var insertArguments: StatementArguments {
        [uid, timeMs, actionType, actionId, userId, email, emailDomain, ip, userAgent, verdict.rawValue,
         decidedBy.rawValue, reason, errorMessage, outcome.rawValue, httpStatus, latencyUs, endpointLatencyUs,
         errorMode.rawValue, detail, outcome == .ok ? 0 : 1]
    }

    init(row: Row) {
        self.init(
            id: row[0], uid: row[1], timeMs: row[2], actionType: row[3], actionId: row[4], userId: row[5],
            email: row[6], emailDomain: row[7], ip: row[8], userAgent: row[9],
            verdict: Verdict(lenient: row[10] as String? ?? "") ?? .deny,
            decidedBy: DecidedBy(rawValue: row[11] as String? ?? "") ?? .invalid,
            reason: row[12], errorMessage: row[13],
            outcome: Outcome(rawValue: row[14] as String? ?? "") ?? .invalidResponse,
            httpStatus: row[15], latencyUs: row[16], endpointLatencyUs: row[17],
            errorMode: ErrorMode(name: row[18] as String? ?? "") ?? .failClosed, detail: row[19])
    }
}

extension Store {
    /// Writes events at once in one transaction. The server goes through `EventWriter` instead.
    public func insert(_ events: [Event]) throws(StoreError) {
        try write { db in try Self.insert(events, db) }
    }

    static func insert(_ events: [Event], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: Event.insertSQL)
        for event in events {
            try statement.execute(arguments: event.insertArguments)
        }
    }
}
