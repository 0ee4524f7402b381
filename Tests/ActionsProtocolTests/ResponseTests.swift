import Testing
import Foundation
@testable import ActionsProtocol

@Suite struct ResponseTests {
    let now: Int64 = 1_700_000_000_000

    @Test func payloadIsWrittenAsJSONStringifyWould() {
        let payload = ActionResponsePayload(timestampMs: now, verdict: .deny, errorMessage: "No \"gmail\" / ünï\n\u{1}")
        let text = String(decoding: payload.canonicalJSON(), as: UTF8.self)
        #expect(text == #"{"timestamp":1700000000000,"verdict":"Deny","error_message":"No \"gmail\" / ünï\n\u0001"}"#)
        let ascii = String(decoding: payload.canonicalJSON(escaping: .pythonASCII), as: UTF8.self)
        #expect(ascii == #"{"timestamp":1700000000000,"verdict":"Deny","error_message":"No \"gmail\" / \u00fcn\u00ef\n\u0001"}"#)
        let allow = String(decoding: ActionResponsePayload(timestampMs: 5, verdict: .allow).canonicalJSON(), as: UTF8.self)
        #expect(allow == #"{"timestamp":5,"verdict":"Allow"}"#)
    }

    /// Expected bytes from `JSON.stringify` (node) and `json.dumps` (python3) of the same string.
    @Test func escapingMatchesBothReferenceSerializersByteForByte() {
        let text = "q\"\\ \u{1} \t \u{7f} \u{8}\u{c} é 😀"
        func quoted(_ escaping: JSONWriter.Escaping) -> String {
            var out: [UInt8] = []
            JSONWriter.appendQuoted(text, to: &out, escaping: escaping)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(quoted(.javaScript) == "\"q\\\"\\\\ \\u0001 \\t \u{7f} \\b\\f é 😀\"")
        #expect(quoted(.pythonASCII) == #""q\"\\ \u0001 \t \u007f \b\f \u00e9 \ud83d\ude00""#)
    }

    @Test func astralCharactersBecomeSurrogatePairsInPythonStyle() {
        let payload = ActionResponsePayload(timestampMs: 1, verdict: .deny, errorMessage: "🔒")
        #expect(String(decoding: payload.canonicalJSON(escaping: .pythonASCII), as: UTF8.self).contains(#"\ud83d\udd12"#))
    }

    @Test func signedResponseRoundTrips() throws {
        let body = ResponseSigner(secret: "s").body(for: .authentication, verdict: .deny, errorMessage: "Locked — try later", timestampMs: now)
        let payload = try ResponseVerifier(secrets: ["s"]).verify(body: body, expecting: .authentication, nowMs: now + 10)
        #expect(payload == ActionResponsePayload(timestampMs: now, verdict: .deny, errorMessage: "Locked — try later"))
        let json = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        #expect(json?["object"] as? String == "authentication_action_response")
    }

    @Test func reorderedSpacedOrEscapedPayloadsStillVerify() throws {
        let secret = "s"
        let signed = ActionResponsePayload(timestampMs: now, verdict: .deny, errorMessage: "ünï")
        let mac = Hex.encode(ActionsHMAC.mac(secret: secret, timestampMs: now, body: signed.canonicalJSON()))
        let variants = [
            #"{"object":"user_registration_action_response","payload":{"verdict":"Deny","error_message":"ünï","timestamp":1700000000000},"signature":"\#(mac)"}"#,
            #"{"signature": "\#(mac)", "payload": {"error_message": "\u00fcn\u00ef", "timestamp": 1700000000000, "verdict": "Deny"}, "object": "user_registration_action_response"}"#,
        ]
        for variant in variants {
            let payload = try ResponseVerifier(secrets: [secret]).verify(body: Array(variant.utf8), expecting: .userRegistration, nowMs: now)
            #expect(payload.verdict == .deny)
            #expect(payload.errorMessage == "ünï")
        }
    }

    @Test func verdictIsAcceptedInAnyCase() throws {
        let raw = #"{"timestamp":1700000000000,"verdict":"allow"}"#
        let mac = Hex.encode(ActionsHMAC.mac(secret: "s", timestampMs: now, body: Array(raw.utf8)))
        let body = #"{"object":"authentication_action_response","payload":\#(raw),"signature":"\#(mac)"}"#
        #expect(try ResponseVerifier(secrets: ["s"]).verify(body: Array(body.utf8), expecting: .authentication, nowMs: now).verdict == .allow)
    }

    @Test func rejections() {
        let verifier = ResponseVerifier(secrets: ["s"])
        let good = ResponseSigner(secret: "s").body(for: .userRegistration, verdict: .allow, timestampMs: now)
        #expect(throws: ResponseError.badSignature) {
            try ResponseVerifier(secrets: ["wrong"]).verify(body: good, expecting: .userRegistration, nowMs: now)
        }
        #expect(throws: ResponseError.wrongObject(expected: "authentication_action_response", got: "user_registration_action_response")) {
            try verifier.verify(body: good, expecting: .authentication, nowMs: now)
        }
        let tampered = Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "Allow", with: "Deny").utf8)
        #expect(throws: ResponseError.badSignature) { try verifier.verify(body: tampered, expecting: .userRegistration, nowMs: now) }
        #expect(throws: ResponseError.staleTimestamp(ageMs: 60_000)) { try verifier.verify(body: good, expecting: .userRegistration, nowMs: now + 60_000) }
        #expect(throws: ResponseError.futureTimestamp(aheadMs: 60_000)) { try verifier.verify(body: good, expecting: .userRegistration, nowMs: now - 60_000) }
        #expect(throws: ResponseError.malformedJSON) { try verifier.verify(body: Array("<html>".utf8), expecting: .userRegistration, nowMs: now) }
        let long = ResponseSigner(secret: "s").body(for: .userRegistration, verdict: .deny, errorMessage: String(repeating: "x", count: 501), timestampMs: now)
        #expect(throws: ResponseError.errorMessageTooLong(501)) { try verifier.verify(body: long, expecting: .userRegistration, nowMs: now) }
        let raw = #"{"timestamp":1700000000000,"verdict":"Maybe"}"#
        let mac = Hex.encode(ActionsHMAC.mac(secret: "s", timestampMs: now, body: Array(raw.utf8)))
        let maybe = #"{"object":"user_registration_action_response","payload":\#(raw),"signature":"\#(mac)"}"#
        #expect(throws: ResponseError.invalidVerdict("Maybe")) { try verifier.verify(body: Array(maybe.utf8), expecting: .userRegistration, nowMs: now) }
    }
}
