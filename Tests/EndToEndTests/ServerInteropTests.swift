import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// actions-server against the official `workos` Python package, both directions.
@Suite(.serialized) struct ServerInteropTests {
    @Test(arguments: StoreBackend.allCases) func theEngineHonoursAnEndpointWrittenWithTheWorkOSPackage(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let endpoint = try ServiceProcess("/usr/bin/env", ["python3", Paths.root.appendingPathComponent("scripts/workos_endpoint.py").path,
                                                           ServerHarness.secret])
        defer { endpoint.kill() }
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/actions/user-registration")
        try harness.ctl("endpoint", "set", "authentication", endpoint.baseURL + "/actions/authentication")
        try await harness.settingsApplied()

        let denied = try await harness.register("zoë@gmail.com")
        #expect(denied.json["verdict"] as? String == "Deny")
        #expect(denied.json["decided_by"] as? String == "endpoint")
        #expect(denied.json["error_message"] as? String == "Inscription refusée pour gmail.com — utilisez l’adresse du travail")
        let allowed = try await harness.authenticate("ana@example.com")
        #expect(allowed.json["verdict"] as? String == "Allow")
        #expect(allowed.json["decided_by"] as? String == "endpoint")
        #expect(allowed.json["outcome"] as? String == "ok")
    }

    @Test(arguments: StoreBackend.allCases) func theEndpointRoleAnswersWorkOSSignedRequestsWithAVerifiableResponse(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        try harness.ctl("deny", "add", "domain", "gmail.com", "--message", "Utilisez l’adresse du travail — merci")
        try await harness.settingsApplied()
        let body = Array(#"{"id":"01JATCMZJY26PQ59XT9BNT0FNN","object":"user_registration_action_context","user_data":{"object":"user_data","email":"todd@gmail.com","first_name":"Todd","last_name":"Rundgren"},"ip_address":"50.141.123.10","user_agent":"Mozilla/5.0","device_fingerprint":"fp"}"#.utf8)
        let header = try python(["sign-request", ServerHarness.secret], stdin: body).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try await http("POST", harness.url + "/actions/user-registration", body: body, headers: ["WorkOS-Signature": header])
        #expect(answer.status == 200)
        let checked = try python(["verify-response", ServerHarness.secret], stdin: answer.body)
        #expect(checked.status == 0, "\(checked.stdout)")
        let payload = try ResponseVerifier(secrets: [ServerHarness.secret]).verify(body: answer.body, expecting: .userRegistration)
        #expect(payload.verdict == .deny)
        #expect(payload.errorMessage == "Utilisez l’adresse du travail — merci")

        let allowedBody = Array(#"{"id":"a2","object":"authentication_action_context","user":{"object":"user","id":"u","email":"ana@example.com"}}"#.utf8)
        let allowHeader = try python(["sign-request", ServerHarness.secret], stdin: allowedBody).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let allowed = try await http("POST", harness.url + "/actions/authentication", body: allowedBody, headers: ["WorkOS-Signature": allowHeader])
        #expect(try ResponseVerifier(secrets: [ServerHarness.secret]).verify(body: allowed.body, expecting: .authentication).verdict == .allow)
    }

    /// Anyone can post an unsigned body naming any customer's users: it is refused and counted by
    /// reason, and never becomes a decision in the log (or a row of the attack panel).
    @Test(arguments: StoreBackend.allCases) func badStaleOrMissingSignaturesGet401AndAreCountedNotLogged(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let body = Array(#"{"object":"user_registration_action_context","user_data":{"email":"x@example.com"}}"#.utf8)
        let stale = RequestSigner(secret: ServerHarness.secret).header(for: body, timestampMs: WallClock.nowMs() - 120_000)
        let wrong = RequestSigner(secret: "not-the-secret").header(for: body)
        let cases: [([String: String], String)] = [
            ([:], "missing_signature"),
            (["WorkOS-Signature": stale], "stale_timestamp"),
            (["WorkOS-Signature": wrong], "signature_mismatch"),
            (["WorkOS-Signature": "t=abc"], "malformed_signature"),
        ]
        for (headers, code) in cases {
            let answer = try await http("POST", harness.url + "/actions/user-registration", body: body, headers: headers)
            #expect(answer.status == 401)
            #expect(answer.json["error"] as? String == code)
        }
        let signed = RequestSigner(secret: ServerHarness.secret).header(for: body)
        #expect(try await http("POST", harness.url + "/actions/user-registration", body: body, headers: ["WorkOS-Signature": signed]).status == 200)
        let events = try await harness.waitForEvents(1)
        #expect(events.count == 1 && events[0].outcome == .ok, "only the signed request is a decision: \(events.map(\.outcome))")
        let metrics = try await http("GET", harness.url + "/metrics").text
        for (_, code) in cases {
            #expect(metrics.contains(#"actions_requests_refused_total{route="/actions/user-registration",reason="\#(code)"} 1"#), "\(code)")
        }
    }
}
