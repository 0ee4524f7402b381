import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

/// libpq's six sslmodes, against a server that declines TLS and against a real PostgreSQL with
/// TLS on and a certificate from a throwaway CA.
@Suite(.serialized) struct PostgresTLSTests {
    /// Where TLS is required, a server that declines it gets nothing after the SSL request: no
    /// user name, no database, no password. `prefer` falls back to plain text, as libpq does.
    @Test func aServerThatDeclinesTLSGetsNothingWhenTheModeRequiresIt() throws {
        let ca = try ThrowawayCA()
        for mode in ["require", "verify-ca", "verify-full", "prefer"] {
            let server = try DecliningServer()
            let url = "postgres://app:hunter2-secret@127.0.0.1:\(server.port)/actions?sslmode=\(mode)&sslrootcert=\(ca.certificate)"
            #expect(throws: StoreError.self) { try Store(path: url, busyTimeout: 1) }
            let received = server.finish()
            #expect(received.prefix(8) == Data([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]), "\(mode): the SSL request comes first")
            let after = String(decoding: received.dropFirst(8), as: UTF8.self)
            if mode == "prefer" {
                #expect(after.contains("app"), "prefer goes on in plain text: the fake server works")
            } else {
                #expect(received.count == 8, "\(mode): sent after the server declined TLS: \(after.debugDescription)")
            }
        }
    }

    @Test func verifyFullChecksTheChainAndTheHostName() throws {
        let ca = try ThrowawayCA()
        let other = try ThrowawayCA()
        let directory = try TestPostgres.directory()
        try ca.serverCertificate(in: directory, names: "DNS:localhost")
        try TestPostgres.sql("ALTER SYSTEM SET ssl = on")
        try TestPostgres.sql("ALTER SYSTEM SET ssl_cert_file = '\(directory)/actions-test-server.crt'")
        try TestPostgres.sql("ALTER SYSTEM SET ssl_key_file = '\(directory)/actions-test-server.key'")
        try TestPostgres.sql("SELECT pg_reload_conf()")
        defer {
            _ = try? TestPostgres.sql("ALTER SYSTEM RESET ssl")
            _ = try? TestPostgres.sql("SELECT pg_reload_conf()")
        }
        let base = try #require(URLComponents(string: try TestPostgres.url()))
        func url(host: String, mode: String, root: String?) -> String {
            "postgres://postgres@\(host):\(base.port ?? 5432)/actions?sslmode=\(mode)" + (root.map { "&sslrootcert=\($0)" } ?? "")
        }
        func opens(_ url: String, home: String? = nil) -> Result<Void, StoreError> {
            do throws(StoreError) {
                let store = try Store(path: url, busyTimeout: 2)
                store.close()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        // The server picks TLS up on reload: wait until a TLS-only connection works.
        let ready = (0..<50).contains { _ in
            if case .success = opens(url(host: "localhost", mode: "verify-full", root: ca.certificate)) { return true }
            Thread.sleep(forTimeInterval: 0.1)
            return false
        }
        #expect(ready, "verify-full with the CA and the certificate's host name connects")
        #expect(throws: Never.self) { try opens(url(host: "127.0.0.1", mode: "verify-ca", root: ca.certificate)).get() }
        #expect(throws: StoreError.self, "verify-full: the certificate names localhost, not 127.0.0.1") {
            try opens(url(host: "127.0.0.1", mode: "verify-full", root: ca.certificate)).get()
        }
        #expect(throws: StoreError.self, "verify-full: a certificate from another CA") {
            try opens(url(host: "localhost", mode: "verify-full", root: other.certificate)).get()
        }
        #expect(throws: StoreError.self, "verify-ca: a certificate from another CA") {
            try opens(url(host: "127.0.0.1", mode: "verify-ca", root: other.certificate)).get()
        }
        // require checks the chain only when a root certificate is given, as libpq does.
        #expect(throws: Never.self) { try opens(url(host: "127.0.0.1", mode: "require", root: nil)).get() }
        #expect(throws: StoreError.self, "require with a root certificate checks the chain") {
            try opens(url(host: "127.0.0.1", mode: "require", root: other.certificate)).get()
        }
        // verify-ca without any root certificate is refused before connecting, with the reason.
        #expect {
            try opens(url(host: "127.0.0.1", mode: "verify-ca", root: "/nonexistent/root.crt")).get()
        } throws: { error in
            "\(error)".contains("/nonexistent/root.crt")
        }
    }

    @Test func sslSettingsAreReadAsLibpqReadsThem() throws {
        let defaults = try PostgresLocation(url: "postgres://u@h/d", environment: ["HOME": "/home/op"])
        #expect(defaults.sslMode == .prefer && defaults.sslRootCert == "/home/op/.postgresql/root.crt")
        let fromEnvironment = try PostgresLocation(url: "postgres://u@h/d", environment: ["PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/ca.pem"])
        #expect(fromEnvironment.sslMode == .verifyFull && fromEnvironment.sslRootCert == "/etc/ca.pem")
        // libpq: sslrootcert=system means verify-full by default, and refuses a weaker mode.
        let system = try PostgresLocation(url: "postgres://u@h/d?sslrootcert=system", environment: [:])
        #expect(system.sslMode == .verifyFull)
        for weak in ["require", "verify-ca", "prefer"] {
            #expect(throws: StoreError.self, "\(weak)") {
                try PostgresLocation(url: "postgres://u@h/d?sslmode=\(weak)&sslrootcert=system", environment: [:])
            }
        }
        let fromURL = try PostgresLocation(url: "postgres://u@h/d?sslmode=require", environment: ["PGSSLMODE": "disable"])
        #expect(fromURL.sslMode == .require, "the URL wins over the environment")
    }

    /// A password with `#`, `/` or `@` defeats URL parsers: the error names the URL without it.
    @Test(arguments: ["postgres://app:pa#ss@db/x", "postgres://app:p/a#s@db:99999/x", "postgresql://a:b@c@/x", "postgres://app:se#cret@",
                      "postgres://u:1234#x@h/db", "postgres://u:pa@ss@h/db", "postgres://u:p?w@h/db"])
    func noPasswordReachesAnError(_ url: String) {
        do {
            _ = try PostgresLocation(url: url, environment: [:])
            Issue.record("\(url) was accepted")
        } catch {
            for secret in ["pa#ss", "p/a#s", "b@c", "se#cret", "#ss", "cret", "1234", "pa@ss", "p?w"] where url.contains(secret) {
                #expect(!"\(error)".contains(secret), "\(error)")
            }
        }
    }
}

/// A listener that reads the SSL request, answers "N" (no TLS), and records whatever else the
/// client sends before it closes the connection.
final class DecliningServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private var received = Data()
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 4) == 0 else { throw TLSTestFailure("cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        Thread.detachNewThread { [self] in
            let client = accept(listener, nil, nil)
            defer { close(client); done.signal() }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            var answered = false
            while true {
                let count = read(client, &buffer, buffer.count)
                if count <= 0 { break }
                received.append(contentsOf: buffer[0..<count])
                if !answered && received.count >= 8 {
                    answered = true
                    _ = write(client, "N", 1)
                }
            }
        }
    }

    /// Everything the client sent, once it has closed (or gone quiet for 2 s).
    func finish() -> Data {
        done.wait()
        close(listener)
        return received
    }
}

/// A CA made with openssl for one test, and server certificates it signs.
struct ThrowawayCA {
    let directory: String
    var certificate: String { directory + "/ca.crt" }

    init() throws {
        directory = Scratch.directory("ca").path
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=actions test CA",
                          "-keyout", directory + "/ca.key", "-out", certificate])
    }

    /// A certificate for the server, its key readable by the server's user only.
    func serverCertificate(in target: String, names: String) throws {
        let key = target + "/actions-test-server.key", request = directory + "/server.csr", crt = target + "/actions-test-server.crt"
        let extensions = directory + "/san.ext"
        try "subjectAltName=\(names)\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=actions test server", "-keyout", key, "-out", request])
        try Self.openssl(["x509", "-req", "-in", request, "-CA", certificate, "-CAkey", directory + "/ca.key", "-CAcreateserial",
                          "-days", "2", "-extfile", extensions, "-out", crt])
        chmod(key, 0o600)
        if getuid() == 0, let owner = getpwnam("postgres") {
            chown(key, owner.pointee.pw_uid, owner.pointee.pw_gid)
            chown(crt, owner.pointee.pw_uid, owner.pointee.pw_gid)
        }
    }

    static func openssl(_ arguments: [String]) throws {
        let result = TestPostgres.command("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TLSTestFailure("openssl \(arguments.first ?? ""): \(result.output)") }
    }
}

struct TLSTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
