import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The engine API's answer, written straight into bytes: this runs on every decision, and
/// JSONEncoder cost more than the rest of the answer path together.
package enum DecisionAnswer {
    package static func bytes(_ decision: Decision) -> [UInt8] {
        let event = decision.event
        var out = ObjectWriter()
        out.member("verdict", decision.verdict.rawValue)
        out.member("error_message", decision.errorMessage) // null when absent, as documented
        out.member("decided_by", event.decidedBy.rawValue)
        out.member("outcome", event.outcome.rawValue)
        out.member("reason", event.reason)
        out.member("event_id", event.uid)
        out.member("action_id", event.actionId)
        out.member("rule_id", event.ruleId)
        out.member("shadow_rule_id", event.shadowRuleId)
        if !decision.trace.isEmpty {
            out.key("trace")
            out.literal("[")
            for (index, step) in decision.trace.enumerated() {
                if index > 0 { out.literal(",") }
                out.open()
                out.member("check", step.check)
                out.member("result", step.result)
                out.close()
            }
            out.literal("]")
        }
        return out.finished()
    }

    /// A JSON object written member by member. Names are StaticStrings copied as bytes: appending a
    /// String's UTF-8 view, element by element, cost four times as much. A struct, not closures
    /// over a local array: those checked exclusive access at run time on every append (callgrind).
    struct ObjectWriter {
        private(set) var bytes: [UInt8] = []
        /// No member written yet in the innermost open object.
        private var empty = true

        init() {
            // An answer is about 250 bytes (two ids, a reason): at 256 nearly every one grew once.
            bytes.reserveCapacity(512)
            open()
        }

        /// Opens an object (the value after a `key`, or an array's element).
        mutating func open() {
            literal("{")
            empty = true
        }

        /// Closes an inner object; the enclosing one has a member by then.
        mutating func close() {
            literal("}")
            empty = false
        }

        mutating func literal(_ text: StaticString) {
            bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        /// The punctuation goes in byte by byte: `append(contentsOf:)` for one or two bytes cost
        /// more than the name's own copy.
        mutating func key(_ name: StaticString) {
            if !empty { bytes.append(UInt8(ascii: ",")) }
            empty = false
            bytes.append(UInt8(ascii: "\""))
            literal(name)
            bytes.append(UInt8(ascii: "\""))
            bytes.append(UInt8(ascii: ":"))
        }

        mutating func member(_ name: StaticString, _ value: String?) {
            key(name)
            if let value { JSONWriter.appendQuoted(value, to: &bytes, escaping: .javaScript) } else { literal("null") }
        }

        mutating func member(_ name: StaticString, _ value: Int64?) {
            key(name)
            if let value { bytes.append(contentsOf: String(value).utf8) } else { literal("null") }
        }

        /// The outermost object, closed.
        mutating func finished() -> [UInt8] {
            literal("}")
            return bytes
        }
    }
}

/// `GET /healthz`.
struct HealthAnswer: Encodable {
    var status: String
    var problems: [String]
    var eventsQueued: Int
    var eventsDropped: Int
    /// Events the database refused one by one; the rest of their batches were written.
    var eventsRejected: Int
    /// The settings version the server decides with: after a change, a caller can wait for it
    /// (it is the store's `config_version`) instead of sleeping through a poll interval.
    var configVersion: Int64
    /// The lockouts version it decides with (the store's `lockout_version`, which every lockout
    /// started or lifted moves, with `config_version`): when both moved alike, a server re-read
    /// only the lockouts, not its rules.
    var lockoutVersion: Int64
    /// The PostgreSQL server events go to now (`host:port`; a failover changes it); absent on SQLite.
    var databaseServer: String?
    enum CodingKeys: String, CodingKey {
        case status, problems
        case configVersion = "config_version"
        case lockoutVersion = "lockout_version"
        case databaseServer = "database_server"
        case eventsQueued = "events_queued"
        case eventsDropped = "events_dropped"
        case eventsRejected = "events_rejected"
    }
}

/// `POST /v1/events`: `{"event": "authentication.password_failed", "data": {"email": ...}}`, as
/// WorkOS's events API delivers them (the email may also sit under `data.user`).
struct LoginEventBody: Decodable {
    struct Data: Decodable {
        var email: String?
        var userId: String?
        var ipAddress: String?
        var user: User?
        struct User: Decodable { var id: String?; var email: String? }

        enum CodingKeys: String, CodingKey {
            case email, user
            case userId = "user_id"
            case ipAddress = "ip_address"
        }
    }
    var event: String
    var data: Data
}

/// `POST /v1/events`'s answer.
struct LoginEventAnswer: Encodable {
    var status: String
    var failures: Int?
    var lockedUntilMs: Int64?
    enum CodingKeys: String, CodingKey {
        case status, failures
        case lockedUntilMs = "locked_until_ms"
    }
}
