import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The context reaches the customer's endpoint exactly as the identity service sent it.
@Suite(.serialized) struct ForwardingTests {
    /// An authentication context full of members nobody models, nested and not, spaced oddly,
    /// with escapes that re-encoding would rewrite.
    static let rich = #"{ "id" : "auth_01FORWARD", "object":"authentication_action_context","user":{"object":"user","id":"user_1","email":"ana@example.com","metadata":{"plan":"pro","seats":12,"flags":[true,null,{"x":"\u00e9\/"}]},"external_id":"ext-9","profile_picture_url":"https://cdn.example/p.png","created_at":"2024-01-01T00:00:00.000Z"},"organization":{"object":"organization","id":"org_42","name":"Acme","domains":[{"domain":"acme.io"}]},"organization_membership":{"object":"organization_membership","id":"om_1","user_id":"user_1","organization_id":"org_42","role":{"slug":"admin"}},"ip_address":"198.51.100.9","user_agent":"Mozilla/5.0","device_fingerprint":"fp_77","issuer":"https://auth.example","authentication_method":"GoogleOAuth","future_member":{"nested":[1,2.50,-3e2]}}"#

    @Test(arguments: StoreBackend.allCases) func everyMemberReachesTheEndpointUnchangedAndTheSDKVerifiesIt(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let record = harness.directory.appendingPathComponent("received.hex").path
        let endpoint = try ServiceProcess("/usr/bin/env", ["python3", Paths.root.appendingPathComponent("scripts/workos_endpoint.py").path,
                                                           ServerHarness.secret], environment: ["RECORD_FILE": record])
        defer { endpoint.kill() }
        try harness.ctl("endpoint", "set", "authentication", endpoint.baseURL + "/actions/authentication")
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/actions/user-registration")
        try await harness.settingsApplied()

        let withID = try await post(harness.url + "/v1/actions/authentication", Self.rich)
        #expect(withID.json["decided_by"] as? String == "endpoint", "the SDK's verify_header accepted the request: \(withID.text)")
        #expect(withID.json["action_id"] as? String == "auth_01FORWARD")

        // Without an id, one is added at the front and nothing else changes.
        let noID = #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"bo@example.com","name":"Bo","extra":{"k":[]}},"invitation":{"object":"invitation","id":"inv_1","organization_id":"org_7"},"device_fingerprint":"fp_88"}"#
        let added = try await post(harness.url + "/v1/actions/user_registration", noID)
        #expect(added.json["decided_by"] as? String == "endpoint", "\(added.text)")
        let actionID = try #require(added.json["action_id"] as? String)

        let lines = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let received = lines.map { Self.unhex($0) }
        #expect(received.first == Array(Self.rich.utf8), "forwarded byte for byte")
        #expect(received.last == Array((#"{"id":"\#(actionID)","# + noID.dropFirst()).utf8))

        // What the context carried is logged, shown and filterable.
        let events = try await harness.waitForEvents(2)
        let auth = try #require(events.first { $0.actionId == "auth_01FORWARD" })
        #expect(auth.authMethod == "GoogleOAuth")
        #expect(auth.organizationId == "org_42")
        #expect(auth.deviceFingerprint == "fp_77")
        let registration = try #require(events.first { $0.actionId == actionID })
        #expect(registration.organizationId == "org_7")
        let filtered = try harness.ctl("events", "--auth-method", "GoogleOAuth", "--json")
        #expect(filtered.split(separator: "\n").count == 1)
        #expect(filtered.contains(#""organization_id":"org_42""#))
        #expect(try harness.ctl("events", "--organization", "org_7").contains("bo@example.com"))
        #expect(try harness.ctl("events", "--search", "fp_88").contains("bo@example.com"))
    }

    /// W3C Trace Context: the identity service's traceparent goes on to the endpoint in the same
    /// trace with a new span, and the event keeps the trace id (`events --trace`, JSON, CSV).
    /// A malformed header is no trace, and no error.
    @Test func theTraceGoesOnToTheEndpointAndIntoTheEvent() async throws {
        let harness = try ServerHarness()
        let traces = harness.directory.appendingPathComponent("traces").path
        let endpoint = try ServiceProcess("/usr/bin/env", ["python3", Paths.root.appendingPathComponent("scripts/workos_endpoint.py").path,
                                                           ServerHarness.secret], environment: ["RECORD_TRACES": traces])
        defer { endpoint.kill() }
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/actions/user-registration")
        try await harness.settingsApplied()
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736", parent = "00f067aa0ba902b7"
        let context = #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"traced@example.com"}}"#
        let traced = try await post(harness.url + "/v1/actions/user_registration", context,
                                    headers: ["traceparent": "00-\(traceID)-\(parent)-01"])
        #expect(traced.json["decided_by"] as? String == "endpoint", "\(traced.text)")
        let untraced = try await post(harness.url + "/v1/actions/user_registration", context,
                                      headers: ["traceparent": "00-\(traceID.uppercased())-\(parent)-01"])
        #expect(untraced.status == 200 && untraced.json["decided_by"] as? String == "endpoint", "a bad header is no error")

        let received = try String(contentsOfFile: traces, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(received.count == 2)
        let forwarded = try #require(received.first.flatMap(TraceParent.init(header:)), "\(received)")
        #expect(forwarded.traceID == traceID && forwarded.spanID != parent && forwarded.flags == "01", "same trace, a span of its own")
        #expect(received.last == "-", "no trace context where none valid came in")

        let events = try await harness.waitForEvents(2)
        #expect(events.filter { $0.traceId == traceID }.count == 1 && events.filter { $0.traceId == nil }.count == 1)
        let found = try harness.ctl("events", "--trace", traceID.uppercased(), "--json")
        #expect(found.split(separator: "\n").count == 1 && found.contains(#""trace_id":"\#(traceID)""#), "\(found)")
        #expect(try harness.ctl("events", "--format", "csv").contains(traceID))
        #expect(throws: (any Error).self) { try harness.ctl("events", "--trace", "not-a-trace") }
    }

    static func unhex(_ text: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
