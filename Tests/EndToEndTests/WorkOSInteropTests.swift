import Testing
import Foundation
import ActionsProtocol

/// The wire format against the official `workos` Python package (pip install workos).
@Suite struct WorkOSInteropTests {
    let secret = "whsec_interop_secret"
    let body = Array(#"{"id":"01JATCMZJY26PQ59XT9BNT0FNN","object":"user_registration_action_context","user_data":{"object":"user_data","email":"zoë@example.com","first_name":"Zoë","last_name":"Ünal"},"ip_address":"50.141.123.10"}"#.utf8)

    @Test func requestSignedByTheSDKVerifiesInSwift() throws {
        let signed = try python(["sign-request", secret], stdin: body)
        #expect(signed.status == 0, "\(signed.stderr)")
        let header = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(throws: Never.self) { try RequestVerifier(secrets: [secret]).verify(header: header, body: body) }
        #expect(throws: SignatureError.mismatch) { try RequestVerifier(secrets: ["other"]).verify(header: header, body: body) }
    }

    @Test func requestSignedBySwiftPassesTheSDKsVerifyHeader() throws {
        let header = RequestSigner(secret: secret).header(for: body)
        let accepted = try python(["verify-header", secret, header], stdin: body)
        #expect(accepted.status == 0, "\(accepted.stdout)\(accepted.stderr)")

        var tampered = body
        tampered.append(UInt8(ascii: " "))
        let refused = try python(["verify-header", secret, header], stdin: tampered)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("does not match"))

        let stale = RequestSigner(secret: secret).header(for: body, timestampMs: WallClock.nowMs() - 60_000)
        let staleResult = try python(["verify-header", secret, stale], stdin: body)
        #expect(staleResult.status == 1)
        #expect(staleResult.stdout.contains("tolerance"))
    }

    @Test func responsesSignedByTheSDKVerifyInSwiftInEveryShape() throws {
        let message = "Inscription refusée — domaine bloqué 🔒"
        let signed = try python(["sign-response", "user_registration", "Deny", secret, message])
        #expect(signed.status == 0, "\(signed.stderr)")
        let bodies = signed.stdout.split(separator: "\n")
        #expect(bodies.count == 3)
        for body in bodies {
            let payload = try ResponseVerifier(secrets: [secret]).verify(body: Array(body.utf8), expecting: .userRegistration)
            #expect(payload.verdict == .deny)
            #expect(payload.errorMessage == message)
            #expect(throws: ResponseError.badSignature) {
                try ResponseVerifier(secrets: ["not-it"]).verify(body: Array(body.utf8), expecting: .userRegistration)
            }
        }
        let allow = try python(["sign-response", "authentication", "Allow", secret])
        let first = try #require(allow.stdout.split(separator: "\n").first)
        #expect(try ResponseVerifier(secrets: [secret]).verify(body: Array(first.utf8), expecting: .authentication).verdict == .allow)
    }

    @Test func responsesSignedBySwiftVerifyWithTheSDKAlgorithm() throws {
        for message in [nil, "Blocked / not allowed", "Zugang gesperrt — zu viele Versuche"] {
            let body = ResponseSigner(secret: secret).body(for: .authentication, verdict: .deny, errorMessage: message)
            let checked = try python(["verify-response", secret], stdin: body)
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        }
        let wrong = ResponseSigner(secret: "other").body(for: .authentication, verdict: .allow)
        #expect(try python(["verify-response", secret], stdin: wrong).status == 1)
    }
}
