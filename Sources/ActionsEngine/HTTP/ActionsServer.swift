import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore

/// Builds the server's Hummingbird `Application`: a `Service`, to run in one `ServiceGroup` after
/// the engine's own services (see `DecisionEngine.services`).
package enum ActionsServer {
    /// - Parameters:
    ///   - tls: serve HTTPS with this certificate (reloaded on SIGHUP by the caller); nil for HTTP.
    ///   - onRunning: called with the bound port once the server listens (port 0 picks one).
    package static func application(engine: DecisionEngine, host: String, port: Int, tls: TLSCertificates? = nil,
                                   logger: Logger, onRunning: @escaping @Sendable (Int) -> Void = { _ in })
        throws -> some ApplicationProtocol
    {
        let responder = ActionsResponder<ActionsRequestContext>(controller: ActionsController(engine: engine))
        let config = engine.config
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestReadTimeout(timeout: .milliseconds(Int64(config.readTimeoutMs)))],
            idleTimeout: .milliseconds(Int64(config.idleTimeoutMs)))
        let server: HTTPServerBuilder = if let tls {
            try .tls(.http1(configuration: http1), tlsConfiguration: tls.serverConfiguration())
        } else {
            .http1(configuration: http1)
        }
        return Application(
            responder: responder, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "actions-server"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
