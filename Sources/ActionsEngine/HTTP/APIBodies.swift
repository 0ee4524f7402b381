import ActionsProtocol
import ActionsStore

/// The engine API's answer, written straight into bytes: this runs on every decision, and
/// JSONEncoder cost more than the rest of the answer path together.
public enum DecisionAnswer {
    public static func bytes(_ decision: Decision) -> [UInt8] {
        let event = decision.event
        var out: [UInt8] = []
        out.reserveCapacity(256)
        // Names are StaticStrings copied as bytes: appending a String's UTF-8 view, element by
        // element, cost four times as much (callgrind).
        func literal(_ text: StaticString) {
            text.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        func member(_ name: StaticString, _ value: String?, first: Bool = false) {
            literal(first ? "{\"" : ",\"")
            literal(name)
            literal("\":")
            if let value { JSONWriter.appendQuoted(value, to: &out, escaping: .javaScript) } else { literal("null") }
        }
        func member(_ name: StaticString, _ value: Int64?) {
            literal(",\"")
            literal(name)
            literal("\":")
            if let value { out.append(contentsOf: String(value).utf8) } else { literal("null") }
        }
        member("verdict", decision.verdict.rawValue, first: true)
        member("error_message", decision.errorMessage) // null when absent, as documented
        member("decided_by", event.decidedBy.rawValue)
        member("outcome", event.outcome.rawValue)
        member("reason", event.reason)
        member("event_id", event.uid)
        member("action_id", event.actionId)
        member("rule_id", event.ruleId)
        member("shadow_rule_id", event.shadowRuleId)
        if !decision.trace.isEmpty {
            literal(",\"trace\":[")
            for (index, step) in decision.trace.enumerated() {
                member("check", step.check, first: true)
                member("result", step.result)
                literal(index == decision.trace.count - 1 ? "}" : "},")
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// `GET /healthz`.
struct HealthAnswer: Encodable {
    var status: String
    var problems: [String]
    var eventsQueued: Int
    var eventsDropped: Int
    /// The settings version the server decides with: after a change, a caller can wait for it
    /// (it is the store's `config_version`) instead of sleeping through a poll interval.
    var configVersion: Int64
    enum CodingKeys: String, CodingKey {
        case status, problems
        case configVersion = "config_version"
        case eventsQueued = "events_queued"
        case eventsDropped = "events_dropped"
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
