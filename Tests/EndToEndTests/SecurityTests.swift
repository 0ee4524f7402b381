import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Hostile input and access, against the real binaries.
@Suite(.serialized) struct SecurityTests {
    /// C0 controls are refused in an address at the door (400); the 8-bit C1 forms of CSI and OSC
    /// and a bidi override are not controls to an address, and must still never reach a terminal raw.
    static let hostileEmail = "\u{9d}0;pwned\u{9c}\u{9b}2Jevil\u{202e}moc.rekcatta@x.io"

    @Test(arguments: StoreBackend.allCases) func actionsctlNeverPrintsUntrustedTextRaw(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let c0 = #"{"event":"authentication.password_failed","data":{"email":"\u001b]0;pwned\u0007\u001b[2Jevil@x.io"}}"#
        #expect(try await post(harness.url + "/v1/events", c0).status == 400, "an address with a C0 control is refused")
        let body = #"{"event":"authentication.password_failed","data":{"email":"\u009d0;pwned\u009c\u009b2Jevil\u202emoc.rekcatta@x.io","ip_address":"\u001b[31m10.0.0.1"}}"#
        #expect(try await post(harness.url + "/v1/events", body).status == 200)
        try harness.ctl("deny", "add", "domain", "spam.example", "--reason", "fraud\u{1b}[8m hidden", "--message", "bye\u{202e}olleh")

        let lockouts = try harness.ctl("lockouts", "list", "--all")
        let denies = try harness.ctl("deny", "list")
        for output in [lockouts, denies] {
            #expect(!output.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\u{07}" || $0 == "\u{202e}" || (0x80..<0xa0).contains($0.value) },
                    "raw control in \(output)")
        }
        #expect(lockouts.contains(#"\x9d0;pwned\x9c\x9b2jevil\u{202e}moc.rekcatta@x.io"#), "\(lockouts)")
        #expect(lockouts.contains(#"last_ip=\e[31m10.0.0.1"#))
        #expect(denies.contains(#"fraud\e[8m hidden"#))
        #expect(denies.contains(#"bye\u{202e}olleh"#))

        // --json stays exact: a program reads it, and JSON escapes the controls itself.
        let json = try harness.ctl("lockouts", "list", "--all", "--json")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(record["email"] as? String == Self.hostileEmail.lowercased())
        #expect(!json.unicodeScalars.contains("\u{1b}"))
    }

    @Test(arguments: StoreBackend.allCases) func theAPITokenGuardsTheEngineAPIAndLoginEvents(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend, extraEnvironment: ["ACTIONS_API_TOKEN": "api-token-for-tests"])
        let context = #"{"user_data":{"email":"ana@example.com"}}"#
        let url = harness.url + "/v1/actions/user_registration"
        let missing = try await post(url, context)
        #expect(missing.status == 401)
        #expect(missing.json["verdict"] as? String == "Deny")
        let wrong = try await post(url, context, headers: ["Authorization": "Bearer nope"])
        #expect(wrong.status == 401)
        let right = try await post(url, context, headers: ["Authorization": "Bearer api-token-for-tests"])
        #expect(right.status == 200)
        #expect(right.json["verdict"] as? String == "Allow")

        let failed = #"{"event":"authentication.password_failed","data":{"email":"victim@example.com"}}"#
        #expect(try await post(harness.url + "/v1/events", failed).status == 401)
        #expect(try harness.ctl("lockouts", "list", "--all", "--json").isEmpty, "an unauthenticated failure was not counted")
        #expect(try await post(harness.url + "/v1/events", failed, headers: ["Authorization": "Bearer api-token-for-tests"]).status == 200)
        #expect(try await http("GET", harness.url + "/healthz").status == 200)

        // Refused attempts are counted by route and reason, and never become decisions in the
        // log: what they claim (an email, an IP) is no one's to put there.
        let events = try await harness.waitForEvents(1)
        #expect(events.count == 1 && events.allSatisfy { $0.outcome != .unauthorized }, "\(events.map(\.outcome))")
        let metrics = try await http("GET", harness.url + "/metrics").text
        #expect(metrics.contains(#"actions_requests_refused_total{route="/v1/actions/user_registration",reason="missing_token"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"actions_requests_refused_total{route="/v1/actions/user_registration",reason="wrong_token"} 1"#))
        #expect(metrics.contains(#"actions_requests_refused_total{route="/v1/events",reason="missing_token"} 1"#))
        // The scheme is case-insensitive (RFC 7235).
        #expect(try await post(url, context, headers: ["Authorization": "bearer  api-token-for-tests"]).status == 200)
        #expect(try await post(url, context, headers: ["Authorization": "BEARER api-token-for-tests"]).status == 200)
        #expect(harness.server.stop() == 0)
        let log = harness.server.outputAfterExit()
        #expect(log.contains("refused /v1/actions/user_registration: missing_token") && log.contains("127.0.0.1"),
                "the refusal is logged with its peer: \(log)")
    }

    @Test func secretsNeverAppearInLogsArgumentsOrAnswers() async throws {
        let secret = "whsec-never-print-7f3a9c"
        let token = "token-never-print-2b8e41"
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ServiceProcess(Paths.binary("actions-server"),
                                        ["--db", directory.appendingPathComponent("a.db").path, "--port", "0", "--log-level", "trace"],
                                        environment: ["ACTIONS_SECRET": secret, "ACTIONS_API_TOKEN": token])
        let cmdline = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/cmdline", encoding: .utf8)
        var answers: [String] = [cmdline]
        let base = server.baseURL
        answers.append(try await post(base + "/v1/actions/authentication", #"{"user":{"email":"a@b.io"}}"#,
                                      headers: ["Authorization": "Bearer wrong-\(token)"]).text)
        answers.append(try await post(base + "/actions/authentication", #"{"user":{"email":"a@b.io"}}"#,
                                      headers: ["WorkOS-Signature": "t=1, v1=" + String(repeating: "ab", count: 32)]).text)
        answers.append(try await post(base + "/actions/user-registration", #"{"user_data":{"email":"a@b.io"}}"#,
                                      headers: ["WorkOS-Signature": RequestSigner(secret: secret + "x").header(for: Array(#"{"user_data":{"email":"a@b.io"}}"#.utf8))]).text)
        answers.append(try await http("GET", base + "/metrics").text)
        answers.append(try await http("GET", base + "/healthz").text)
        #expect(server.stop() == 0)
        answers.append(server.outputAfterExit())
        #expect(answers.last?.contains("trace") == true || answers.last?.isEmpty == false, "the server logged something to check")
        for text in answers {
            #expect(!text.contains(secret), "the secret leaked: \(text.prefix(300))")
            #expect(!text.contains(token.dropFirst(6)), "the token leaked: \(text.prefix(300))")
        }
    }

    @Test func anEmptySecretInTheConfigRefusesToStart() throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("a.toml").path
        try "[actions.authentication]\nsecret = \"\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try run(Paths.binary("actions-server"), ["--db", directory.appendingPathComponent("a.db").path, "--port", "0",
                                                              "--config", config])
        #expect(result.status != 0)
        #expect(result.stderr.contains("actions.authentication.secret is empty; refusing to start"), "\(result.stderr)")
        let unset = try run(Paths.binary("actions-server"), ["--db", directory.appendingPathComponent("a.db").path, "--port", "0"],
                            environment: ["ACTIONS_SECRET": ""])
        #expect(unset.status != 0)
        #expect(unset.stderr.contains("ACTIONS_SECRET is set but"), "\(unset.stderr)")
    }
}
