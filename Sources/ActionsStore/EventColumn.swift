import ActionsDomain
import ActionsProtocol

/// The event log's columns: the one definition of an event row. The insert list (and COPY's),
/// the select list, the row reader, the CSV export's columns and the check of both live schemas
/// (`SchemaParityTests`) all come from it, and each column's value is written and read by its own
/// case, never by its position in a list: adding a column is a case here, its two lines in
/// `Event.write` and `Event.read`, and a migration on each backend.
package enum EventColumn: CaseIterable, Sendable {
    case id, uid, timeMs, actionType, actionId, userId, email, emailDomain, ip, userAgent, verdict, decidedBy, reason
    case errorMessage, outcome, httpStatus, latencyUs, endpointLatencyUs, errorMode, detail, failed, authMethod
    case organizationId, deviceFingerprint, node, ruleId, shadowRuleId, isTest, traceId

    package enum Storage: Sendable { case text, integer }

    /// The column's name in both schemas.
    package var name: String {
        switch self {
        case .id: "id"
        case .uid: "uid"
        case .timeMs: "ts_ms"
        case .actionType: "action_type"
        case .actionId: "action_id"
        case .userId: "user_id"
        case .email: "email"
        case .emailDomain: "email_domain"
        case .ip: "ip"
        case .userAgent: "user_agent"
        case .verdict: "verdict"
        case .decidedBy: "decided_by"
        case .reason: "reason"
        case .errorMessage: "error_message"
        case .outcome: "outcome"
        case .httpStatus: "http_status"
        case .latencyUs: "latency_us"
        case .endpointLatencyUs: "endpoint_latency_us"
        case .errorMode: "error_mode"
        case .detail: "detail"
        case .failed: "failed"
        case .authMethod: "auth_method"
        case .organizationId: "organization_id"
        case .deviceFingerprint: "device_fingerprint"
        case .node: "node"
        case .ruleId: "rule_id"
        case .shadowRuleId: "shadow_rule_id"
        case .isTest: "is_test"
        case .traceId: "trace_id"
        }
    }

    /// The field's name in exports (CSV header, JSON Lines key) and the HTTP API: the event's
    /// property in snake_case. Nil for `failed`, which the log keeps for its index and an export
    /// reads off `outcome`.
    package var exportName: String? {
        switch self {
        case .timeMs: "time_ms"
        case .failed: nil
        default: name
        }
    }

    package var storage: Storage {
        switch self {
        case .id, .timeMs, .httpStatus, .latencyUs, .endpointLatencyUs, .failed, .ruleId, .shadowRuleId, .isTest: .integer
        default: .text
        }
    }

    /// Whether the column takes NULL (the event's field is optional).
    package var nullable: Bool {
        switch self {
        case .userId, .email, .emailDomain, .ip, .userAgent, .reason, .errorMessage, .httpStatus, .endpointLatencyUs, .detail,
             .authMethod, .organizationId, .deviceFingerprint, .node, .ruleId, .shadowRuleId, .traceId: true
        default: false
        }
    }

    /// What an INSERT (and COPY) fills, in this order: all but `id`, which the log assigns.
    package static let inserted = allCases.filter { $0 != .id }
    /// What a read selects, in this order: all but `failed`, which `outcome` implies.
    package static let selected = allCases.filter { $0 != .failed }
    /// What an export writes, in this order.
    package static let exported = allCases.filter { $0.exportName != nil }

    /// `id, uid, ts_ms, ...`: the select list of `selected`.
    package static let selectList = selected.map(\.name).joined(separator: ", ")
}

extension Event {
    /// Hands one column's value to `row`.
    @inline(__always)
    func write<Row: EventFieldWriter>(_ column: EventColumn, to row: inout Row) {
        switch column {
        case .id: row.integer(id)
        case .uid: row.text(uid)
        case .timeMs: row.integer(timeMs)
        case .actionType: row.text(actionType.rawValue)
        case .actionId: row.text(actionId)
        case .userId: row.text(userId)
        case .email: row.text(email)
        case .emailDomain: row.text(emailDomain)
        case .ip: row.text(ip)
        case .userAgent: row.text(userAgent)
        case .verdict: row.text(verdict.rawValue)
        case .decidedBy: row.text(decidedBy.rawValue)
        case .reason: row.text(reason)
        case .errorMessage: row.text(errorMessage)
        case .outcome: row.text(outcome.rawValue)
        case .httpStatus: row.integer(httpStatus.map(Int64.init))
        case .latencyUs: row.integer(latencyUs)
        case .endpointLatencyUs: row.integer(endpointLatencyUs)
        case .errorMode: row.text(errorMode.rawValue)
        case .detail: row.text(detail)
        case .failed: row.integer(outcome == .ok ? 0 : 1)
        case .authMethod: row.text(authMethod)
        case .organizationId: row.text(organizationId)
        case .deviceFingerprint: row.text(deviceFingerprint)
        case .node: row.text(node)
        case .ruleId: row.integer(ruleId)
        case .shadowRuleId: row.integer(shadowRuleId)
        case .isTest: row.integer(isTest ? 1 : 0)
        case .traceId: row.text(traceId)
        }
    }

    /// Takes one column's value from `row` at `index`; texts as written (see `StoredText`).
    /// Values only actions-server writes, always known ones, fall back to a safe reading.
    @inline(__always)
    mutating func read(_ column: EventColumn, from row: SQLRow, at index: Int) {
        func text() -> String? { StoredText.decode(row.optionalString(index)) }
        switch column {
        case .id: id = row.int64(index)
        case .uid: uid = text() ?? ""
        case .timeMs: timeMs = row.int64(index)
        case .actionType: actionType = ActionType(rawValue: row.string(index)) ?? .userRegistration
        case .actionId: actionId = text() ?? ""
        case .userId: userId = text()
        case .email: email = text()
        case .emailDomain: emailDomain = text()
        case .ip: ip = text()
        case .userAgent: userAgent = text()
        case .verdict: verdict = Verdict(lenient: row.string(index)) ?? .deny
        case .decidedBy: decidedBy = DecidedBy(rawValue: row.string(index)) ?? .invalid
        case .reason: reason = text()
        case .errorMessage: errorMessage = text()
        case .outcome: outcome = Outcome(rawValue: row.string(index)) ?? .invalidResponse
        case .httpStatus: httpStatus = row.optionalInt(index)
        case .latencyUs: latencyUs = row.int64(index)
        case .endpointLatencyUs: endpointLatencyUs = row.optionalInt64(index)
        case .errorMode: errorMode = ErrorMode(name: row.string(index)) ?? .failClosed
        case .detail: detail = text()
        case .failed: break // `outcome` says it
        case .authMethod: authMethod = text()
        case .organizationId: organizationId = text()
        case .deviceFingerprint: deviceFingerprint = text()
        case .node: node = text()
        case .ruleId: ruleId = row.optionalInt64(index)
        case .shadowRuleId: shadowRuleId = row.optionalInt64(index)
        case .isTest: isTest = row.bool(index)
        case .traceId: traceId = text()
        }
    }

    /// One column's value as export text (nil: empty).
    package func exportText(_ column: EventColumn) -> String? {
        switch column {
        case .id: id.map(String.init)
        case .uid: uid
        case .timeMs: String(timeMs)
        case .actionType: actionType.rawValue
        case .actionId: actionId
        case .userId: userId
        case .email: email
        case .emailDomain: emailDomain
        case .ip: ip
        case .userAgent: userAgent
        case .verdict: verdict.rawValue
        case .decidedBy: decidedBy.rawValue
        case .reason: reason
        case .errorMessage: errorMessage
        case .outcome: outcome.rawValue
        case .httpStatus: httpStatus.map(String.init)
        case .latencyUs: String(latencyUs)
        case .endpointLatencyUs: endpointLatencyUs.map(String.init)
        case .errorMode: errorMode.rawValue
        case .detail: detail
        case .failed: outcome == .ok ? "0" : "1"
        case .authMethod: authMethod
        case .organizationId: organizationId
        case .deviceFingerprint: deviceFingerprint
        case .node: node
        case .ruleId: ruleId.map(String.init)
        case .shadowRuleId: shadowRuleId.map(String.init)
        case .isTest: isTest ? "1" : "0"
        case .traceId: traceId
        }
    }
}
