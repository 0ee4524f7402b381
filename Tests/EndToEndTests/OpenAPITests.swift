import Testing
import Foundation

/// The OpenAPI document the server serves describes what it actually answers.
@Suite(.serialized) struct OpenAPITests {
    @Test func everyRouteAndStatusTheServerAnswersIsDocumented() async throws {
        let harness = try ServerHarness(extraEnvironment: ["ACTIONS_API_TOKEN": "doc-token"])
        let answer = try await http("GET", harness.url + "/openapi.json")
        #expect(answer.status == 200)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let bearer = ["Authorization": "Bearer doc-token"]

        func documented(_ method: String, _ path: String, _ status: Int) -> Bool {
            // A method the document has no operation for, on a path it has: 405 is what it implies.
            if status == 405 { return paths[path] != nil && paths[path]?[method.lowercased()] == nil }
            let operation = paths[path]?[method.lowercased()] as? [String: Any]
            return (operation?["responses"] as? [String: Any])?["\(status)"] != nil
        }
        func check(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws {
            let answer = try await http(method, harness.url + path, body: body.map { Array($0.utf8) }, headers: headers)
            #expect(documented(method, path, answer.status), "\(method) \(path) answered \(answer.status), which the document does not list")
        }
        let registration = #"{"user_data":{"email":"a@example.com"}}"#
        let authentication = #"{"user":{"email":"a@example.com"}}"#
        for (path, body) in [("/v1/actions/user_registration", registration), ("/v1/actions/authentication", authentication)] {
            try await check("POST", path, body: body, headers: bearer)                        // 200
            try await check("POST", path, body: "{nope", headers: bearer)                      // 400
            try await check("POST", path, body: body)                                          // 401
            try await check("POST", path, body: String(repeating: " ", count: 70_000), headers: bearer) // 413
            try await check("GET", path)                                                       // 405
        }
        for (path, body) in [("/actions/user-registration", registration), ("/actions/authentication", authentication)] {
            try await check("POST", path, body: body)                                          // 401
            try await check("POST", path, body: String(repeating: " ", count: 70_000))         // 413
            try await check("DELETE", path)                                                    // 405
        }
        try await check("POST", "/v1/events", body: #"{"event":"authentication.password_failed","data":{"email":"a@b.io"}}"#, headers: bearer)
        try await check("POST", "/v1/events", body: #"{"event":"user.created","data":{"email":"a@b.io"}}"#, headers: bearer) // 202
        try await check("POST", "/v1/events", body: "[]", headers: bearer)                     // 400
        try await check("POST", "/v1/events", body: "{}")                                      // 401
        for path in ["/healthz", "/metrics", "/openapi.json"] {
            try await check("GET", path)
            try await check("POST", path)                                                      // 405
        }
        try await check("HEAD", "/healthz")
        // And nothing is documented that the server does not route.
        for path in paths.keys {
            let probe = try await http("OPTIONS", harness.url + path)
            #expect(probe.status == 405, "\(path) is documented but not routed (\(probe.status))")
        }
    }

    /// schemathesis generates requests from the document and checks that none gets a 5xx.
    @Test func schemathesisFindsNoServerErrors() async throws {
        let harness = try ServerHarness()
        // Through python3, which needs no console-script shim on PATH (pyenv makes those lazily).
        let result = try run("python3", ["-m", "schemathesis.cli", "run", harness.url + "/openapi.json", "--checks", "not_a_server_error",
                                    "--max-examples", "40", "--workers", "2", "--request-timeout", "10"])
        #expect(result.status == 0, "\(result.stdout.suffix(3000))\n\(result.stderr.suffix(1000))")
        // The server survived it.
        #expect(try await http("GET", harness.url + "/healthz").status == 200)
    }
}
