import Foundation

/// The signed part of an Actions response.
package struct ActionResponsePayload: Equatable, Sendable {
    package var timestampMs: Int64
    package var verdict: Verdict
    package var errorMessage: String?

    package static let maxErrorMessageLength = 500

    package init(timestampMs: Int64, verdict: Verdict, errorMessage: String? = nil) {
        self.timestampMs = timestampMs
        self.verdict = verdict
        self.errorMessage = errorMessage
    }

    /// The payload exactly as `JSON.stringify` writes it: compact, keys timestamp, verdict,
    /// error_message (only when present), raw UTF-8, `/` unescaped.
    package func canonicalJSON(escaping: JSONWriter.Escaping = .javaScript) -> [UInt8] {
        Self.serialize(timestampMs: timestampMs, verdict: verdict.rawValue, errorMessage: errorMessage.map { .some($0) },
                       escaping: escaping)
    }

    /// `errorMessage`: nil = member absent; `.some(nil)` = present as JSON null.
    static func serialize(timestampMs: Int64, verdict: String, errorMessage: String??, escaping: JSONWriter.Escaping) -> [UInt8] {
        var out = Array("{\"timestamp\":\(timestampMs),\"verdict\":".utf8)
        JSONWriter.appendQuoted(verdict, to: &out, escaping: escaping)
        if let errorMessage {
            out.append(contentsOf: ",\"error_message\":".utf8)
            if let message = errorMessage {
                JSONWriter.appendQuoted(message, to: &out, escaping: escaping)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// Why a signed response was refused.
package enum ResponseError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedJSON
    case missingField(String)
    case wrongObject(expected: String, got: String)
    case invalidVerdict(String)
    case errorMessageTooLong(Int)
    case badSignature
    case staleTimestamp(ageMs: Int64)
    case futureTimestamp(aheadMs: Int64)

    package var description: String {
        switch self {
        case .malformedJSON: return "response is not a JSON object"
        case .missingField(let name): return "response is missing \(name)"
        case .wrongObject(let expected, let got): return "response object is \(got), expected \(expected)"
        case .invalidVerdict(let verdict): return "verdict \(verdict) is neither Allow nor Deny"
        case .errorMessageTooLong(let count): return "error_message has \(count) characters, at most 500 are allowed"
        case .badSignature: return "response signature does not match its payload"
        case .staleTimestamp(let age): return "response timestamp is \(age) ms old"
        case .futureTimestamp(let ahead): return "response timestamp is \(ahead) ms in the future"
        }
    }

    /// Signature and timestamp problems are the endpoint's `bad_signature` outcome; the rest are `invalid_response`.
    package var isSignatureProblem: Bool {
        switch self {
        case .badSignature, .staleTimestamp, .futureTimestamp: return true
        default: return false
        }
    }
}

/// Builds the signed `{object, payload, signature}` body an endpoint answers with.
package struct ResponseSigner: Sendable {
    package var secret: String

    package init(secret: String) { self.secret = secret }

    package func body(for type: ActionType, payload: ActionResponsePayload) -> [UInt8] {
        let payloadJSON = payload.canonicalJSON()
        let signature = Hex.encode(ActionsHMAC.mac(secret: secret, timestampMs: payload.timestampMs, body: payloadJSON))
        var out = Array("{\"object\":\"\(type.responseObject)\",\"payload\":".utf8)
        out.append(contentsOf: payloadJSON)
        out.append(contentsOf: ",\"signature\":\"\(signature)\"}".utf8)
        return out
    }

    package func body(for type: ActionType, verdict: Verdict, errorMessage: String? = nil,
                     timestampMs: Int64 = WallClock.nowMs()) -> [UInt8] {
        body(for: type, payload: ActionResponsePayload(timestampMs: timestampMs, verdict: verdict, errorMessage: errorMessage))
    }
}

/// Verifies a response from a customer's endpoint. Real endpoints serialize the payload in
/// different ways (Node: raw UTF-8; Python: `\uXXXX`; Flask: sorted keys; pretty printers: spaces),
/// so a signature is accepted over the payload's bytes as received or over its canonical forms.
package struct ResponseVerifier: Sendable {
    package var secrets: [String]
    package var toleranceMs: Int64

    package init(secrets: [String], toleranceMs: Int64 = RequestVerifier.defaultToleranceMs) {
        self.secrets = secrets
        self.toleranceMs = toleranceMs
    }

    package func verify(body: [UInt8], expecting type: ActionType, nowMs: Int64 = WallClock.nowMs()) throws(ResponseError) -> ActionResponsePayload {
        guard let envelope = try? JSON.object(body) else { throw .malformedJSON }
        guard let object = envelope["object"].flatMap(envelope.string) else { throw .missingField("object") }
        guard object == type.responseObject else { throw .wrongObject(expected: type.responseObject, got: object) }
        guard let payloadValue = envelope["payload"], payloadValue.kind == .object else { throw .missingField("payload") }
        // The signature covers the payload's bytes as sent; keep them.
        let rawPayload = Array(body[payloadValue.range])
        let payload = envelope.object(payloadValue)
        guard let timestamp = payload["timestamp"].flatMap(payload.integer) else { throw .missingField("payload.timestamp") }
        guard let verdictText = payload["verdict"].flatMap(payload.string) else { throw .missingField("payload.verdict") }
        // nil: absent; .some(nil): JSON null.
        var errorMessage: String?? = nil
        if let value = payload["error_message"] {
            if value.kind == .null {
                errorMessage = .some(nil)
            } else if let text = payload.string(value) {
                errorMessage = .some(text)
            } else {
                throw .missingField("payload.error_message as a string")
            }
        }
        guard let signatureHex = envelope["signature"].flatMap(envelope.string) else { throw .missingField("signature") }

        let candidates = [
            rawPayload,
            ActionResponsePayload.serialize(timestampMs: timestamp, verdict: verdictText, errorMessage: errorMessage, escaping: .javaScript),
            ActionResponsePayload.serialize(timestampMs: timestamp, verdict: verdictText, errorMessage: errorMessage, escaping: .pythonASCII),
        ]
        var matched = false
        if let mac = Hex.decode(Substring(signatureHex)), mac.count == 32 {
            for secret in secrets {
                for candidate in candidates
                where ActionsHMAC.equalInConstantTime(mac, ActionsHMAC.mac(secret: secret, timestampMs: timestamp, body: candidate)) {
                    matched = true
                }
            }
        }
        guard matched else { throw .badSignature }
        let age = TimestampWindow.ageMs(of: timestamp, nowMs: nowMs)
        if age > toleranceMs { throw .staleTimestamp(ageMs: age) }
        if -age > toleranceMs { throw .futureTimestamp(aheadMs: -age) }
        guard let verdict = Verdict(lenient: verdictText) else { throw .invalidVerdict(verdictText) }
        let message = errorMessage ?? nil
        if let message, message.count > ActionResponsePayload.maxErrorMessageLength {
            throw .errorMessageTooLong(message.count)
        }
        return ActionResponsePayload(timestampMs: timestamp, verdict: verdict, errorMessage: message)
    }
}
