import Testing
import Foundation
import ActionsTestSupport
import Hummingbird
import HummingbirdTesting
import NIOCore
import HTTPTypes
import Logging
import ActionsProtocol
import ActionsDomain
import ActionsStore
@testable import ActionsEngine

/// Every route and error path, in process through HummingbirdTesting's router client (no
/// sockets): the end-to-end suites cover the same over loopback against the real binary.
@Suite struct RouterTests {
    let secret = "router-secret"

    func withApp(token: String? = nil, secrets: [String]? = nil,
                 _ body: @Sendable (any TestClientProtocol, DecisionEngine) async throws -> Void) async throws {
        let path = Scratch.directory("router").appendingPathComponent("actions.db").path
        var config = EngineConfig()
        config.secrets = secrets ?? [secret]
        config.apiToken = token
        config.maxBodyBytes = 2048
        let engine = try await BlockingWork.run { [config] in
            let store = try Store(path: path, access: .pool)
            try store.addListEntry(ListEntry(kind: .domain, value: "mailinator.com"), by: Operator(user: "test"))
            return DecisionEngine(store: store, config: config)
        }
        let app = try ActionsServer.application(engine: engine, host: "127.0.0.1", port: 0, logger: Logger(label: "router-test"))
        try await app.test(.router) { client in try await body(client, engine) }
    }

    static func context(_ email: String, type: ActionType = .userRegistration) -> ByteBuffer {
        let object = type == .userRegistration ? "user_registration_action_context" : "authentication_action_context"
        let user = type == .userRegistration
            ? #""user_data":{"object":"user_data","email":"\#(email)","first_name":"A","last_name":"B"}"#
            : #""user":{"object":"user","id":"user_1","email":"\#(email)","first_name":"A","last_name":"B","email_verified":true,"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}"#
        return ByteBuffer(string: #"{"object":"\#(object)",\#(user),"ip_address":"198.51.100.4"}"#)
    }

    static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    @Test func theEngineAPIDecidesAndRefusesBadInputWithADeny() async throws {
        try await withApp { client, _ in
            try await client.execute(uri: "/v1/actions/user_registration", method: .post, body: Self.context("ana@example.com")) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response)["verdict"] as? String == "Allow")
            }
            try await client.execute(uri: "/v1/actions/user_registration", method: .post, body: Self.context("bo@mailinator.com")) { response in
                #expect(Self.json(response)["verdict"] as? String == "Deny")
                #expect(Self.json(response)["decided_by"] as? String == "policy")
            }
            try await client.execute(uri: "/v1/actions/authentication", method: .post,
                                     body: Self.context("cy@example.com", type: .authentication)) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response)["verdict"] as? String == "Allow")
            }
            let bad: [(ByteBuffer, HTTPResponse.Status, String)] = [
                (ByteBuffer(string: "{not json"), .badRequest, "malformed_json"),
                (ByteBuffer(bytes: [0x7B, 0xFF, 0x7D]), .badRequest, "invalid_utf8"),
                (ByteBuffer(string: String(repeating: " ", count: 4096)), .contentTooLarge, "body_too_large"),
                (Self.context("x@example.com", type: .authentication), .badRequest, "wrong_object"),
            ]
            for (body, status, code) in bad {
                try await client.execute(uri: "/v1/actions/user_registration", method: .post, body: body) { response in
                    #expect(response.status == status, "\(code)")
                    let answer = Self.json(response)
                    #expect(answer["error"] as? String == code, "\(answer)")
                    // A request that could not be decided is still answered with a verdict, and logged.
                    if status == .badRequest {
                        #expect(answer["verdict"] as? String == "Deny")
                        #expect((answer["event_id"] as? String)?.hasPrefix("evt_") == true)
                    }
                }
            }
        }
    }

    @Test func theBearerTokenGuardsTheEngineAPIAndLoginEvents() async throws {
        try await withApp(token: "t0ken") { client, _ in
            for uri in ["/v1/actions/user_registration", "/v1/events"] {
                try await client.execute(uri: uri, method: .post, body: Self.context("a@example.com")) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                }
                try await client.execute(uri: uri, method: .post, headers: [.authorization: "Bearer nope"],
                                         body: Self.context("a@example.com")) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                    #expect(Self.json(response)["message"] as? String == "wrong bearer token")
                }
            }
            try await client.execute(uri: "/v1/actions/user_registration", method: .post, headers: [.authorization: "Bearer t0ken"],
                                     body: Self.context("a@example.com")) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func theWorkOSEndpointRoleVerifiesSignaturesAndSignsItsAnswer() async throws {
        try await withApp { client, _ in
            let body = Self.context("dee@mailinator.com")
            let signature = HTTPField.Name(SignatureHeader.name)!
            let header = RequestSigner(secret: secret).header(for: Array(body.readableBytesView))
            try await client.execute(uri: "/actions/user-registration", method: .post, headers: [signature: header], body: body) { response in
                #expect(response.status == .ok)
                let payload = try ResponseVerifier(secrets: [secret]).verify(body: Array(response.body.readableBytesView), expecting: .userRegistration)
                #expect(payload.verdict == .deny)
            }
            try await client.execute(uri: "/actions/user-registration", method: .post, body: body) { response in
                #expect(response.status == .unauthorized)
            }
            let forged = RequestSigner(secret: "forged").header(for: Array(body.readableBytesView))
            try await client.execute(uri: "/actions/authentication", method: .post, headers: [signature: forged], body: body) { response in
                #expect(response.status == .unauthorized)
            }
        }
        try await withApp(secrets: []) { client, _ in
            try await client.execute(uri: "/actions/user-registration", method: .post, body: Self.context("e@example.com")) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(Self.json(response)["error"] as? String == "no_secret")
            }
        }
    }

    @Test func loginEventsCountResetIgnoreAndRefuse() async throws {
        try await withApp { client, _ in
            let failed = ByteBuffer(string: #"{"event":"authentication.password_failed","data":{"email":"fay@example.com"}}"#)
            try await client.execute(uri: "/v1/events", method: .post, body: failed) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response)["status"] as? String == "counted")
                #expect(Self.json(response)["failures"] as? Int == 1)
            }
            let succeeded = ByteBuffer(string: #"{"event":"authentication.password_succeeded","data":{"user":{"email":"fay@example.com"}}}"#)
            try await client.execute(uri: "/v1/events", method: .post, body: succeeded) { response in
                #expect(Self.json(response)["status"] as? String == "reset")
            }
            let other = ByteBuffer(string: #"{"event":"user.created","data":{"email":"fay@example.com"}}"#)
            try await client.execute(uri: "/v1/events", method: .post, body: other) { response in
                #expect(response.status == .accepted)
                #expect(Self.json(response)["status"] as? String == "ignored")
            }
            try await client.execute(uri: "/v1/events", method: .post, body: ByteBuffer(string: "[]")) { response in
                #expect(response.status == .badRequest)
                #expect(Self.json(response)["error"] as? String == "invalid_event")
            }
            let noEmail = ByteBuffer(string: #"{"event":"authentication.password_failed","data":{}}"#)
            try await client.execute(uri: "/v1/events", method: .post, body: noEmail) { response in
                #expect(response.status == .badRequest)
                #expect(Self.json(response)["error"] as? String == "missing_field")
            }
        }
    }

    /// The server finds an exact path by table and leaves the rest to Hummingbird's router. A
    /// trailing slash misses the table, so each route asked both ways must answer the same.
    @Test func everyRouteAnswersTheSameThroughTheTableAndTheRouter() async throws {
        try await withApp { client, _ in
            for route in APIRoute.all {
                // The status and the answer's fields (a test decision carries a trace, the WorkOS
                // role an object and a signature), so a route mistaken for its neighbour shows.
                var answers: [(HTTPResponse.Status, [String])] = []
                for uri in [route.path, route.path + "/"] {
                    try await client.execute(uri: uri, method: route.method, body: Self.context("tab@example.com")) { response in
                        answers.append((response.status, Self.json(response).keys.sorted()))
                    }
                }
                #expect(answers[0].0 != .notFound, "\(route.method) \(route.path)")
                #expect(answers[0].0 == answers[1].0 && answers[0].1 == answers[1].1, "\(route.method) \(route.path): \(answers)")
            }
        }
    }

    @Test func healthMetricsOpenAPIAndTheErrorsOfUnknownRoutes() async throws {
        try await withApp { client, engine in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response)["status"] as? String == "ok")
                #expect(Self.json(response)["config_version"] as? Int == Int(engine.policyVersion))
            }
            try await client.execute(uri: "/healthz", method: .head) { response in
                #expect(response.status == .ok)
            }
            _ = try await client.execute(uri: "/v1/actions/user_registration", method: .post, body: Self.context("m@example.com"))
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(String(buffer: response.body).contains("actions_decisions_total"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let paths = Self.json(response)["paths"] as? [String: [String: Any]] ?? [:]
                for route in APIRoute.all {
                    #expect(paths[route.path]?[route.method.rawValue.lowercased()] != nil, "\(route.method) \(route.path) is not documented")
                }
            }
            try await client.execute(uri: "/healthz", method: .put) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD")
            }
            try await client.execute(uri: "/v1/actions/user_registration", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(Self.json(response)["error"] as? String == "not_found")
            }
        }
    }
}
