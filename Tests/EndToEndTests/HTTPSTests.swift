import Testing
import Foundation
import ActionsProtocol
import ActionsStore

/// `--tls-cert/--tls-key`: WorkOS only calls HTTPS endpoints. A self-signed certificate made by
/// the test; curl and the official SDK's signed requests over it; a reload on SIGHUP that keeps
/// open connections and serves the new certificate to new ones.
@Suite(.serialized) struct HTTPSTests {
    struct Certificate {
        var cert: String
        var key: String
    }

    /// A self-signed certificate for 127.0.0.1 and localhost, made with openssl.
    static func makeCertificate(in directory: URL, name: String) throws -> Certificate {
        let certificate = Certificate(cert: directory.appendingPathComponent("\(name).crt").path,
                                      key: directory.appendingPathComponent("\(name).key").path)
        let made = try run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", certificate.key, "-out", certificate.cert, "-subj", "/CN=actions-\(name)",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        guard made.status == 0 else { throw TestFailure("openssl failed: \(made.stderr)") }
        return certificate
    }

    /// The SHA-256 fingerprint of the certificate a new connection is served.
    static func servedFingerprint(port: Int) throws -> String {
        let shown = try run("/bin/sh", ["-c", "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"])
        return shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func fingerprint(of certificate: Certificate) throws -> String {
        try run("/usr/bin/openssl", ["x509", "-in", certificate.cert, "-noout", "-fingerprint", "-sha256"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    let body = Array(#"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"tls@mailinator.com","first_name":"T","last_name":"L"},"ip_address":"198.51.100.20"}"#.utf8)

    @Test func curlAndTheWorkOSSDKReachTheServerOverHTTPS() async throws {
        let directory = Paths.temporaryDirectory()
        let certificate = try Self.makeCertificate(in: directory, name: "first")
        let harness = try ServerHarness(extraArguments: ["--tls-cert", certificate.cert, "--tls-key", certificate.key])
        defer { harness.server.stop() }
        try harness.ctl("deny", "add", "domain", "mailinator.com")
        let base = "https://127.0.0.1:\(harness.server.port)"

        let health = try run("/usr/bin/curl", ["-sS", "--cacert", certificate.cert, base + "/healthz"])
        #expect(health.status == 0, "\(health.stderr)")
        #expect(health.stdout.contains("\"status\":\"ok\""))
        // Plain HTTP on the TLS port gets no answer, and certainly no verdict.
        let plain = try run("/usr/bin/curl", ["-sS", "--max-time", "3", "http://127.0.0.1:\(harness.server.port)/healthz"])
        #expect(plain.status != 0)
        // Without trusting the certificate, curl refuses it.
        #expect(try run("/usr/bin/curl", ["-sS", base + "/healthz"]).status != 0)

        let target = try await harness.configVersion()
        let applied = await eventually(timeout: 5) {
            let health = try? run("/usr/bin/curl", ["-sS", "--cacert", certificate.cert, base + "/healthz"])
            return health?.stdout.contains("\"config_version\":\(target)") == true
        }
        #expect(applied != nil, "the server did not pick up the deny entry")
        let signed = try python(["post-signed", base + "/actions/user-registration", ServerHarness.secret, certificate.cert], stdin: body)
        #expect(signed.status == 0, "\(signed.stderr)")
        let lines = signed.stdout.split(separator: "\n", maxSplits: 1).map(String.init)
        #expect(lines.first == "200", "\(signed.stdout)")
        let answer = Array((lines.last ?? "").utf8)
        let checked = try python(["verify-response", ServerHarness.secret], stdin: answer)
        #expect(checked.status == 0, "\(checked.stdout)")
        let payload = try ResponseVerifier(secrets: [ServerHarness.secret]).verify(body: answer, expecting: .userRegistration)
        #expect(payload.verdict == .deny)
    }

    @Test func sighupServesANewCertificateWithoutDroppingOpenConnections() async throws {
        let directory = Paths.temporaryDirectory()
        let first = try Self.makeCertificate(in: directory, name: "first")
        let second = try Self.makeCertificate(in: directory, name: "second")
        let live = Certificate(cert: directory.appendingPathComponent("live.crt").path, key: directory.appendingPathComponent("live.key").path)
        try FileManager.default.copyItem(atPath: first.cert, toPath: live.cert)
        try FileManager.default.copyItem(atPath: first.key, toPath: live.key)
        let harness = try ServerHarness(extraArguments: ["--tls-cert", live.cert, "--tls-key", live.key], logLevel: "info")
        let port = harness.server.port
        #expect(try Self.servedFingerprint(port: port) == Self.fingerprint(of: first))

        // A kept-alive connection, open across the reload.
        let keeper = Process()
        keeper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        keeper.arguments = ["python3", Paths.root.appendingPathComponent("scripts/tls_keepalive.py").path, "127.0.0.1", "\(port)"]
        let input = Pipe(), output = Pipe()
        keeper.standardInput = input
        keeper.standardOutput = output
        try keeper.run()
        let firstLine = readLine(output)
        #expect(firstLine.hasPrefix("first 200"), "\(firstLine)")

        // A key that does not match its certificate is refused; the served one stays.
        try FileManager.default.removeItem(atPath: live.cert)
        try FileManager.default.copyItem(atPath: second.cert, toPath: live.cert)
        harness.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try Self.servedFingerprint(port: port) == Self.fingerprint(of: first))

        try FileManager.default.removeItem(atPath: live.key)
        try FileManager.default.copyItem(atPath: second.key, toPath: live.key)
        harness.signal(SIGHUP)
        let switched = await eventually(timeout: 5) {
            (try? Self.servedFingerprint(port: port)) == (try? Self.fingerprint(of: second))
        }
        #expect(switched != nil, "new connections were not served the new certificate")

        input.fileHandleForWriting.write(Data("\n".utf8))
        let secondLine = readLine(output)
        keeper.waitUntilExit()
        let firstPort = firstLine.split(separator: " ").last, secondPort = secondLine.split(separator: " ").last
        #expect(secondLine.hasPrefix("second 200"), "\(secondLine)")
        #expect(firstPort != nil && firstPort == secondPort, "the open connection was dropped: \(firstLine) / \(secondLine)")

        #expect(harness.server.stop() == 0)
        let log = harness.server.outputAfterExit()
        #expect(log.contains("TLS certificate not reloaded") && log.contains("does not match"), "\(log)")
        #expect(log.contains("TLS certificate reloaded"), "\(log)")
    }

    func readLine(_ pipe: Pipe) -> String {
        var line = Data()
        while true {
            let byte = pipe.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }
}
