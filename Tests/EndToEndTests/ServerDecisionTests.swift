import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The real actions-server over loopback: each verdict path.
@Suite(.serialized) struct ServerDecisionTests {
    @Test(arguments: StoreBackend.allCases) func noPolicyAndNoEndpointAllows(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let answer = try await harness.register("ana@example.com")
        #expect(answer.status == 200)
        #expect(answer.json["verdict"] as? String == "Allow")
        #expect(answer.json["decided_by"] as? String == "default")
        let eventID = try #require(answer.json["event_id"] as? String)
        let events = try await harness.waitForEvents(1)
        #expect(events.first?.uid == eventID)
        #expect(events.first?.email == "ana@example.com")
        #expect(events.first?.emailDomain == "example.com")
    }

    @Test(arguments: StoreBackend.allCases) func denyListsMatchDomainsSubdomainsEmailsAndNetworksWithoutCallingTheEndpoint(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        // An endpoint that would take 30 s, cut at 10 s: a policy deny must never reach it.
        let endpoint = try startExampleEndpoint()
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/hook/timeout", "--timeout-ms", "10000")
        try harness.ctl("deny", "add", "domain", "Mailinator.com", "--reason", "disposable", "--message", "Use a work address.")
        try harness.ctl("deny", "add", "domain", "*.spam.example")
        try harness.ctl("deny", "add", "email", "eve@example.com", "--scope", "user_registration")
        try harness.ctl("deny", "add", "ip", "203.0.113.0/24")
        try harness.ctl("deny", "add", "ip", "2001:db8::/32")
        try await harness.settingsApplied()

        let cases: [(String, String, String)] = [
            ("bob@MAILINATOR.com", "198.51.100.1", "deny domain mailinator.com (rule 1): disposable"),
            ("x@deep.bulk.spam.example", "198.51.100.1", "deny domain *.spam.example (rule 2)"),
            ("Eve@Example.com", "198.51.100.1", "deny email eve@example.com (rule 3)"),
            ("ok@example.org", "203.0.113.77", "deny ip 203.0.113.0/24 (rule 4)"),
            ("ok@example.org", "2001:db8:1::5", "deny ip 2001:db8::/32 (rule 5)"),
        ]
        for (email, ip, reason) in cases {
            let answer = try await harness.register(email, ip: ip)
            #expect(answer.json["verdict"] as? String == "Deny", "\(email) \(ip)")
            #expect(answer.json["decided_by"] as? String == "policy")
            #expect(answer.json["reason"] as? String == reason)
            #expect(answer.json["rule_id"] as? Int == Int(reason.split(separator: "rule ")[1].prefix { $0.isNumber }),
                    "the event names the rule that decided")
            #expect(answer.seconds < 5, "a policy deny never waits for the endpoint (its timeout is 10 s)")
        }
        let first = try await harness.register("bob@mailinator.com")
        #expect(first.json["error_message"] as? String == "Use a work address.")
        // "spam.example" itself is not covered by "*.spam.example"; the email entry is scoped to registration.
        try harness.ctl("endpoint", "clear", "user_registration")
        try await harness.settingsApplied()
        #expect(try await harness.register("a@spam.example").json["verdict"] as? String == "Allow")
        #expect(try await harness.authenticate("eve@example.com").json["verdict"] as? String == "Allow")
    }

    @Test(arguments: StoreBackend.allCases) func expiredEntriesAreIgnored(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        try harness.ctl("deny", "add", "domain", "soon.example", "--expires", "1s")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await harness.register("a@soon.example").json["verdict"] as? String == "Deny")
        try await Task.sleep(for: .milliseconds(1000))
        #expect(try await harness.register("a@soon.example").json["verdict"] as? String == "Allow")
    }

    @Test(arguments: StoreBackend.allCases) func theEndpointsVerdictAndMessageAreHonoured(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let endpoint = try startExampleEndpoint()
        try harness.ctl("endpoint", "set", "authentication", endpoint.baseURL + "/hook/ok")
        try await harness.settingsApplied()
        let allowed = try await harness.authenticate("ana@example.com")
        #expect(allowed.json["verdict"] as? String == "Allow")
        #expect(allowed.json["decided_by"] as? String == "endpoint")
        let denied = try await harness.authenticate("ana@deny.example")
        #expect(denied.json["verdict"] as? String == "Deny")
        #expect(denied.json["error_message"] as? String == "Blocked by the example endpoint")
        let events = try await harness.waitForEvents(2)
        #expect(events.allSatisfy { $0.endpointLatencyUs != nil && $0.httpStatus == 200 })

        // A disabled endpoint keeps its URL but is not called.
        try harness.ctl("endpoint", "set", "authentication", endpoint.baseURL + "/hook/ok", "--disable")
        let skipped = try await eventually(timeout: 2) {
            try await harness.authenticate("ana@deny.example").json["decided_by"] as? String == "default"
        }
        #expect(skipped != nil)
        #expect(try harness.ctl("endpoint", "get", "authentication").contains("disabled"))
    }
}
