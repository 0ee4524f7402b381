import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Hardening, round 3, against the real binaries: identities as UTS #46 defines them, sizes
/// refused first, I-JSON's unique names, files with any line ends, test actions that change nothing.
@Suite(.serialized) struct HardeningTests {
    func registration(_ email: String, ip: String? = "198.51.100.7", extra: String = "") -> String {
        #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"\#(email)"}"#
            + (ip.map { #","ip_address":"\#($0)""# } ?? "") + extra + "}"
    }

    @Test func spellingsUTS46MapsAreDeniedLikeThePlainDomain() async throws {
        let harness = try ServerHarness()
        try harness.ctl("deny", "add", "domain", "example.com")
        try await harness.settingsApplied()
        for spelling in [#"example\u3002com"#, #"example\uff61com"#, #"exam\u00adple.com"#, #"exam\u200bple.com"#, "EXAMPLE.COM."] {
            let answer = try await post(harness.url + "/v1/actions/user_registration", registration("eve@" + spelling))
            #expect(answer.status == 200 && answer.json["verdict"] as? String == "Deny", "\(spelling): \(answer.status) \(answer.json)")
        }
    }

    @Test func whatCannotBeJudgedIsRefusedWith400AndLoggedAsInvalid() async throws {
        let harness = try ServerHarness()
        let cjk = String(String.UnicodeScalarView((0x4E00..<(0x4E00 + 21_000)).compactMap(Unicode.Scalar.init)))
        let cases: [(String, String)] = [
            (registration("eve@" + cjk), "user_data.email"),                          // 63 KB: too long, refused before any work
            (registration(String(repeating: "a", count: 65) + "@example.com"), "user_data.email"),
            (registration("eve@" + String(repeating: "b", count: 64) + ".com"), "user_data.email"),
            (registration(#"eve@\u202emoc.elpmaxe"#), "user_data.email"),            // UTS #46 refuses a bidi control
            (registration("eve@example.com", ip: "not-an-ip"), "ip_address"),
            (registration("eve@example.com", ip: "10.0.0.300"), "ip_address"),
        ]
        _ = try await post(harness.url + "/v1/actions/user_registration", registration("warm@example.com"))
        var seconds = 0.0
        for (body, field) in cases {
            let start = Date()
            let answer = try await post(harness.url + "/v1/actions/user_registration", body)
            seconds = max(seconds, Date().timeIntervalSince(start))
            #expect(answer.status == 400, "\(field): \(answer.status)")
            #expect(answer.json["error"] as? String == "invalid_field" && answer.json["verdict"] as? String == "Deny", "\(answer.json)")
            #expect((answer.json["message"] as? String)?.contains(field) == true, "\(answer.json)")
        }
        // A liveness bound on a debug build (the hand-written punycode spent a second of CPU on the
        // first case in a release build); the figures belong in actions-bench.
        #expect(seconds < 5, "the slowest refusal took \(seconds) s")
        // Duplicate member names at any depth (I-JSON): local policy and the endpoint could read different emails.
        for body in [#"{"user_data":{"email":"a@example.com","email":"b@mailinator.com"}}"#,
                     #"{"user_data":{"email":"a@example.com"},"user_data":{"email":"b@example.com"}}"#,
                     #"{"user_data":{"email":"a@example.com"},"invitation":{"id":"1","\u0069d":"2"}}"#] {
            let answer = try await post(harness.url + "/v1/actions/user_registration", body)
            #expect(answer.status == 400 && (answer.json["message"] as? String)?.contains("duplicate member name") == true, "\(answer.json)")
        }
        // No IP known is not bad input: missing, null or empty.
        for ip in [nil, "", "2001:db8::1", "[2001:db8::2]"] as [String?] {
            #expect(try await post(harness.url + "/v1/actions/user_registration", registration("ok@example.com", ip: ip)).status == 200, "\(ip ?? "nil")")
        }
        #expect(try await post(harness.url + "/v1/actions/user_registration", #"{"user_data":{"email":"n@example.com"},"ip_address":null}"#).status == 200)
        let events = try await harness.waitForEvents(cases.count + 3 + 5)
        let invalid = events.filter { $0.decidedBy == .invalid }
        #expect(invalid.count == cases.count + 3, "each refusal is logged as invalid")
        #expect(invalid.allSatisfy { $0.email == nil && ($0.reason ?? "").utf8.count < 400 }, "never logged in full")
        // The lockout's email is refused the same way.
        let login = try await post(harness.url + "/v1/events", #"{"event":"authentication.password_failed","data":{"email":"eve@"# + cjk + #""}}"#)
        #expect(login.status == 400 && login.json["error"] as? String == "invalid_field")
    }

    @Test func entriesAreRemovedByAnySpellingAddTakes() throws {
        let harness = try ServerHarness()
        try harness.ctl("deny", "add", "domain", "bücher.de")
        try harness.ctl("allow", "add", "email", "Ana@Example.COM")
        #expect(try harness.ctl("deny", "remove", "BÜCHER.DE.").contains("removed"))
        #expect(try harness.ctl("allow", "remove", "ana@example.com.").contains("removed"))
        #expect(try harness.ctl("deny", "list", "--json").isEmpty && harness.ctl("allow", "list", "--json").isEmpty)
    }

    /// A list re-imported with CRLF line ends removed every entry of its source ("0 added, 3
    /// removed"); a Latin-1 line became another domain without a word.
    @Test func importReadsAnyLineEndsAndReportsEveryBadLine() throws {
        let harness = try ServerHarness()
        let directory = harness.directory
        let lf = directory.appendingPathComponent("lf.txt").path, crlf = directory.appendingPathComponent("crlf.txt").path
        try "# disposable\nmailinator.com\nguerrillamail.com\nyopmail.com\n".write(toFile: lf, atomically: true, encoding: .utf8)
        try "# disposable\r\nmailinator.com\r\nguerrillamail.com\r\nyopmail.com\r\n".write(toFile: crlf, atomically: true, encoding: .utf8)
        #expect(try harness.ctl("deny", "import", "--kind", "domain", "--source", "disposable", lf).contains("3 added, 0 removed"))
        #expect(try harness.ctl("deny", "import", "--kind", "domain", "--source", "disposable", crlf).contains("0 added, 0 removed, 3 unchanged"))
        let cr = directory.appendingPathComponent("cr.txt").path
        try Data("a.example\rb.example\r".utf8).write(to: URL(fileURLWithPath: cr))
        #expect(try harness.ctl("deny", "import", "--kind", "domain", "--source", "cr", cr).contains("2 added"))

        let bad = directory.appendingPathComponent("bad.txt").path
        var bytes = Array("good.example\n".utf8) + [0x63, 0x61, 0x66, 0xE9, 0x2E, 0x63, 0x6F, 0x6D, 0x0A] // "café.com" in Latin-1
        bytes += Array("-.com\n_._\n203.0.113.7\n\(String(repeating: "x", count: 64)).com\nfine.example\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        let result = try run(Paths.binary("actionsctl"), ["deny", "import", "--kind", "domain", "--source", "bad", bad],
                             environment: ["ACTIONS_DB": harness.databasePath])
        #expect(result.status == 0)
        #expect(result.stdout.contains("2 added") && result.stdout.contains("5 lines skipped"), "\(result.stdout)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 5, "one line each: \(result.stderr.debugDescription)")
        for (line, number) in zip(lines, [2, 3, 4, 5, 6]) { #expect(line.hasPrefix("line \(number): skipped"), "\(line)") }
        #expect(lines[0].contains("not UTF-8") && lines[3].contains("IP address"))
        #expect(!result.stderr.contains("\\n"))

        // The same list saved as UTF-16 reads as lines with NULs: every line is skipped, and the
        // re-import must not remove the entries they held.
        let utf16 = directory.appendingPathComponent("utf16.txt")
        try "mailinator.com\r\nguerrillamail.com\r\nyopmail.com\r\n".data(using: .utf16LittleEndian)!.write(to: utf16)
        let reimport = try run(Paths.binary("actionsctl"), ["deny", "import", "--kind", "domain", "--source", "disposable", utf16.path],
                               environment: ["ACTIONS_DB": harness.databasePath])
        #expect(reimport.status != 0 && reimport.stderr.contains("nothing was changed"), "\(reimport.stdout)\(reimport.stderr)")
        #expect(try harness.store().listEntries(.deny).filter { $0.source == "disposable" }.count == 3)
    }

    /// A CRLF config that starts with a comment was ignored whole; a malformed number was read as
    /// another; an error echoed the value it refused (an unquoted secret reached the log).
    @Test func theConfigReaderTakesCRLFAndRefusesWithoutEchoing() throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("a.db").path, config = directory.appendingPathComponent("a.toml").path
        func start(_ text: String) throws -> RunResult {
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            return try run(Paths.binary("actions-server"), ["--db", db, "--port", "0", "--config", config],
                           environment: ["ACTIONS_SECRET": "a-long-enough-test-secret"])
        }
        for bad in ["[server]\nport = 1__8_7_0_9\n", "[server]\nport = +18710\n", "[server]\nport = 0x10\n",
                    "[actions.authentication]\nsecret = unquoted-secret-42\n"] {
            let result = try start(bad)
            #expect(result.status == 78 && !result.stderr.contains("Usage"), "a setting, not a usage error: \(bad) \(result.status) \(result.stderr)")
            for value in ["1__8_7_0_9", "+18710", "0x10", "unquoted-secret-42"] where bad.contains(value) {
                #expect(!(result.stderr + result.stdout).contains(value), "the refused value was echoed: \(result.stderr)")
            }
        }
        // The port comes from the CRLF file alone (no --port): it was read.
        let port = freePort()
        let digits = String(port)
        let text = "# the server\r\n[server]\r\nport = \(digits.prefix(1))_\(digits.dropFirst())\r\nhost = \"127.0.0.1\"\r\n"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServiceProcess(Paths.binary("actions-server"), ["--db", db, "--config", config],
                                        environment: ["ACTIONS_SECRET": "a-long-enough-test-secret"])
        #expect(server.port == port)
        #expect(server.stop() == 0)
    }

    /// What stops the server at start and is not a usage error gets its message, no usage text
    /// and a sysexits.h status a service manager can act on: a database that cannot be made, one
    /// unreachable for now, a certificate that cannot be read. It used to print the usage and exit 64.
    @Test func startFailuresExitWithSysexitsStatusesAndNoUsage() throws {
        let directory = Paths.temporaryDirectory()
        let environment = ["ACTIONS_SECRET": "a-long-enough-test-secret"]
        let server = Paths.binary("actions-server")
        let cannotMake = try run(server, ["--db", "/nonexistent-dir/actions.db", "--port", "0"], environment: environment)
        #expect(cannotMake.status == 69 && cannotMake.stderr.contains("/nonexistent-dir/actions.db"), "\(cannotMake.status) \(cannotMake.stderr)")
        // Nothing listens on port 1: may pass, so EX_TEMPFAIL, as actionsctl says it.
        let unreachable = try run(server, ["--db", "postgres://postgres@127.0.0.1:1/actions", "--port", "0"], environment: environment)
        #expect(unreachable.status == 75, "\(unreachable.status) \(unreachable.stderr)")
        let missingCert = try run(server, ["--db", directory.appendingPathComponent("a.db").path, "--port", "0",
                                           "--tls-cert", "/nonexistent-dir/cert.pem", "--tls-key", "/nonexistent-dir/key.pem"],
                                  environment: environment)
        #expect(missingCert.status == 78 && missingCert.stderr.contains("cert.pem"), "\(missingCert.status) \(missingCert.stderr)")
        // A database URL the store refuses is a setting too, not a failure that may pass.
        let badURL = try run(server, ["--db", "postgres://postgres@127.0.0.1:1/actions?sslmode=bogus", "--port", "0"], environment: environment)
        #expect(badURL.status == 78 && badURL.stderr.contains("sslmode"), "\(badURL.status) \(badURL.stderr)")
        var results = [cannotMake, unreachable, missingCert, badURL]
        // A directory the service user may not write: EX_NOPERM, which the unit does not restart.
        if geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") {
            let denied = try run("/usr/sbin/runuser", ["-u", "nobody", "--", server, "--db", directory.appendingPathComponent("b.db").path,
                                                      "--port", "0"], environment: environment)
            #expect(denied.status == 77 && denied.stderr.contains("permission denied"), "\(denied.status) \(denied.stderr)")
            results.append(denied)
        }
        for result in results {
            #expect(!result.stderr.contains("Usage") && result.stderr.hasPrefix("actions-server: "), "\(result.stderr)")
        }
    }
}
