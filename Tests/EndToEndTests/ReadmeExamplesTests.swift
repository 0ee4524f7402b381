import Testing
import Foundation
import ActionsDomain
import ActionsStore

/// The README's curl line for every route works as printed, against a real server with a token.
@Suite struct ReadmeExamplesTests {
    /// The shell block after "Every route by example".
    static func routeExamples() throws -> String {
        let readme = try String(contentsOf: Paths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "Every route by example"))
        let rest = readme[section.upperBound...]
        let open = try #require(rest.range(of: "```sh\n"))
        let close = try #require(rest[open.upperBound...].range(of: "```"))
        return String(rest[open.upperBound..<close.lowerBound])
    }

    @Test func everyRouteHasACurlLineThatWorksAsPrinted() async throws {
        let script = try Self.routeExamples()
        let token = "readme-token-0123456789"
        let harness = try ServerHarness(extraEnvironment: ["ACTIONS_API_TOKEN": token])
        // Every path the server serves, from its own OpenAPI document (kept true by OpenAPITests).
        let document = try await http("GET", harness.url + "/openapi.json").json
        let paths = try #require(document["paths"] as? [String: Any]).keys
        #expect(paths.count >= 10)
        for path in paths { #expect(script.contains("$ACTIONS\(path)\""), "the README has no example for \(path)") }
        // The block as printed, but with the server's address, and curl failing on an HTTP error.
        let preamble = "set -euo pipefail\ncurl() { command curl --fail-with-body \"$@\"; echo; }\n"
        let result = try run("/bin/bash", ["-c", preamble + script.replacingOccurrences(of: "ACTIONS=http://127.0.0.1:8787", with: "ACTIONS=\(harness.url)")],
                             environment: ["ACTIONS_API_TOKEN": token, "ACTIONS_SECRET": ServerHarness.secret])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let out = result.stdout
        #expect(out.components(separatedBy: "\"verdict\":\"Allow\"").count - 1 >= 3, "\(out)")
        #expect(out.contains("\"trace\""), "the test actions answer with their trace")
        #expect(out.contains("\"status\":\"counted\"") && out.contains("\"status\":\"reset\""))
        #expect(out.components(separatedBy: "\"object\":\"user_registration_action_response\"").count == 2, "\(out)")
        #expect(out.contains("\"object\":\"authentication_action_response\""))
        #expect(out.contains("HTTP/1.1 200") && out.contains("actions_decisions_total") && out.contains("\"openapi\""))
        #expect(harness.server.stop() == 0)
    }
}

