import ActionsDomain
import Foundation
import NIOSSL
import PostgresNIO

/// libpq's six `sslmode`s, as its manual's "SSL Support" table defines them, in postgres-nio's terms:
///
/// | mode        | TLS                          | certificate checked                      |
/// |-------------|------------------------------|------------------------------------------|
/// | disable     | never                        | —                                        |
/// | allow       | only if plain text fails     | no                                       |
/// | prefer      | if the server offers it      | no                                       |
/// | require     | always                       | only if `sslrootcert` exists (as libpq)  |
/// | verify-ca   | always                       | chain, against `sslrootcert`             |
/// | verify-full | always                       | chain and host name                      |
///
/// Where TLS is always required, a server that declines it is sent nothing after the SSL
/// request: no startup message, no user name, no password.
struct PostgresTLS {
    /// What the first connection tries.
    let first: PostgresConnection.Configuration.TLS
    /// What the pool uses when the first try worked.
    let client: PostgresClient.Configuration.TLS
    /// `allow`: what to try when plain text failed.
    let fallback: (connection: PostgresConnection.Configuration.TLS, client: PostgresClient.Configuration.TLS)?

    init(_ location: PostgresLocation) throws(StoreError) {
        var unchecked = TLSConfiguration.makeClientConfiguration()
        unchecked.certificateVerification = .none
        switch location.sslMode {
        case .disable:
            (first, client, fallback) = (.disable, .disable, nil)
        case .allow:
            (first, client) = (.disable, .disable)
            fallback = (.require(try Self.context(unchecked)), .require(unchecked))
        case .prefer:
            (first, client, fallback) = (.prefer(try Self.context(unchecked)), .prefer(unchecked), nil)
        case .require, .verifyCA, .verifyFull:
            var configuration = unchecked
            let rootExists = location.sslRootCert == "system" || FileManager.default.fileExists(atPath: location.sslRootCert)
            if location.sslMode != .require || rootExists {
                guard rootExists else {
                    throw .invalidValue("sslmode=\(location.sslMode.rawValue) needs the CA's certificate: \(location.sslRootCert) does not exist (set sslrootcert=FILE, or sslrootcert=system)")
                }
                configuration.certificateVerification = location.sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
                configuration.trustRoots = location.sslRootCert == "system" ? .default : .file(location.sslRootCert)
            }
            (first, client, fallback) = (.require(try Self.context(configuration)), .require(configuration), nil)
        }
    }

    private static func context(_ configuration: TLSConfiguration) throws(StoreError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidValue("cannot set up TLS for PostgreSQL: \(error)")
        }
    }
}
