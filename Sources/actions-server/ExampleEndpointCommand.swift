import ArgumentParser
import ActionsDemo
import ActionsEngine
import Foundation
import Logging
import ServiceLifecycle

struct ExampleEndpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example-endpoint",
        abstract: "Run an example customer Actions endpoint with injectable faults.",
        discussion: ExampleEndpoint.routesHelp)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8788
    @Option(help: "Signing secret (default: first of $ACTIONS_SECRET).") var secret: String?

    func run() async throws {
        let secret = secret ?? ProcessInfo.processInfo.environment["ACTIONS_SECRET"]?.split(separator: ",").first.map(String.init)
        guard let secret, !secret.isEmpty else { throw ValidationError("pass --secret or set ACTIONS_SECRET") }
        let host = host, logger = Logger(label: "example-endpoint")
        let endpoint = ExampleEndpoint(secret: secret).application(host: host, port: port, logger: logger) { port in
            announce("example-endpoint listening on http://\(host):\(port)")
        }
        try await ServiceGroup(configuration: .init(services: [endpoint], gracefulShutdownSignals: [.sigterm, .sigint],
                                                    logger: logger)).run()
    }
}

struct DemoTrafficCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-traffic",
        abstract: "Send realistic sign-up and login traffic to a running actions-server.")

    @Option(help: "Base URL of actions-server.") var url = "http://127.0.0.1:8787"
    @Option(help: "Requests per second.") var rate = 20.0
    @Option(help: "Stop after this many requests (default: run until interrupted).") var count: Int?

    func run() async throws {
        guard let base = URL(string: url), base.scheme != nil else { throw ValidationError("not a URL: \(url)") }
        let traffic = DemoTraffic(baseURL: base.absoluteString)
        try await traffic.run(rate: rate, count: count)
        await traffic.shutdown()
        // One parseable line for scripts and tests that compare it with the event log.
        announce("demo-traffic: decisions answered \(traffic.decisionsAnswered), unanswered \(traffic.requestsUnanswered)")
    }
}
