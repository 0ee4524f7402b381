import ArgumentParser
import Hummingbird
import HTTPTypes
import NIOCore
import Logging
import ActionsEngine

/// The comparison point: a bare Hummingbird POST handler that reads the body and answers a fixed verdict.
/// It doubles as a span sink (`/v1/traces`) for the rounds with OTLP export on.
struct BaselineServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "baseline", abstract: "A minimal Hummingbird POST handler.")
    @Option var port = 0

    func run() async throws {
        let router = Router()
        let answer = ByteBuffer(string: #"{"verdict":"Allow","error_message":null}"#)
        router.post("v1/actions/:type") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 65536)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: answer))
        }
        // Also an OTLP/HTTP collector that takes every batch and keeps nothing (an empty
        // ExportTraceServiceResponse is zero bytes), for the server's spans-on rounds.
        router.post("v1/traces") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 64 << 20)
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer()))
        }
        var logger = Logger(label: "baseline")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { announce("baseline listening on http://127.0.0.1:\($0.localAddress?.port ?? 0)") },
                              logger: logger)
        try await app.runService()
    }
}

