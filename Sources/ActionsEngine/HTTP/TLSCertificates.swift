import NIOCore
import NIOSSL
import Synchronization

/// The server's certificate chain and key, read from PEM files, and read again by `reload()`
/// (on SIGHUP) without a restart: every TLS handshake picks up the pair current at that moment
/// through NIOSSL's per-handshake context callback, so connections already open are not dropped
/// and new ones get the new certificate at once.
package final class TLSCertificates: Sendable {
    package let certificatePath: String
    package let keyPath: String
    private let current: Mutex<NIOSSLContextConfigurationOverride>
    private let initial: (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey)

    package struct Problem: Error, CustomStringConvertible {
        package var description: String
    }

    package init(certificatePath: String, keyPath: String) throws(Problem) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        initial = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        current = Mutex(Self.override(initial))
    }

    /// Reads both files again. A pair that cannot be read (or whose key is not the certificate's)
    /// is refused and the one in use is kept: a half-copied file must not take HTTPS down.
    package func reload() throws(Problem) {
        let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        current.withLock { $0 = Self.override(pair) }
    }

    func serverConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: initial.chain.map { .certificate($0) }, privateKey: .privateKey(initial.key))
        configuration.sslContextCallback = { [self] _, promise in
            promise.succeed(current.withLock { $0 })
        }
        return configuration
    }

    private static func override(_ pair: (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey)) -> NIOSSLContextConfigurationOverride {
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = pair.chain.map { .certificate($0) }
        override.privateKey = .privateKey(pair.key)
        return override
    }

    private static func load(certificatePath: String, keyPath: String) throws(Problem) -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw Problem(description: "cannot read TLS certificate \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else { throw Problem(description: "no PEM certificate in \(certificatePath)") }
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw Problem(description: "cannot read TLS private key \(keyPath): \(error)")
        }
        // A context built from the pair checks that the key belongs to the certificate.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw Problem(description: "TLS key \(keyPath) does not match certificate \(certificatePath): \(error)")
        }
        return (chain, key)
    }
}
