import Foundation
import Logging
import ServiceLifecycle
import ActionsEngine
import ActionsDomain
import ActionsStore
import ActionsTop
import ActionsDemo

/// `actions-top --demo`: a temporary database, the engine on a loopback port, the flaky example
/// endpoint, synthetic traffic and the dashboard, as one `ServiceGroup`. The dashboard ends the
/// group when the operator quits; the group then shuts down in reverse order: traffic stops, the
/// endpoint's sleeping answers end, the server finishes what is in flight, the log is flushed.
enum DemoMode {
    static func run(options: TopApp.Options, rate: Double) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("actions-top-demo-\(getpid())")
        try await BlockingWork.run { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        // Removed on a blocking thread, as it was made, whether the demo ended well or not.
        let ended: Result<Void, any Error>
        do { ended = .success(try await run(options: options, rate: rate, path: directory.appendingPathComponent("actions.db").path)) }
        catch { ended = .failure(error) }
        _ = try? await BlockingWork.run { try FileManager.default.removeItem(at: directory) }
        try ended.get()
    }

    private static func run(options: TopApp.Options, rate: Double, path: String) async throws {
        // SQLite work stays off the cooperative pool, which the in-process servers need.
        let store = try await Store.open(path: path, access: .pool)
        // Logs would scribble over the dashboard; the demo's story is on the screen.
        let quiet = Logger(label: "demo", factory: { _ in SwiftLogNoOpLogHandler() })
        var config = EngineConfig()
        config.secrets = ["demo-secret"]
        config.lockout = LockoutPolicy(threshold: 10, windowMs: 15 * 60_000, lockoutMs: 30 * 60_000)
        config.circuit = .init(threshold: 5, cooldownMs: 10_000)
        let engine = try await BlockingWork.run { [config] in DecisionEngine(store: store, config: config, logger: quiet) }

        let serverPort = Arrival<Int>(), endpointPort = Arrival<Int>()
        let server = try ActionsServer.application(engine: engine, host: "127.0.0.1", port: 0, logger: quiet) { serverPort.deliver($0) }
        let endpoint = ExampleEndpoint(secret: "demo-secret").application(host: "127.0.0.1", port: 0, logger: quiet) {
            endpointPort.deliver($0)
        }
        let driver = DemoDriver(store: store, rate: rate, serverPort: serverPort, endpointPort: endpointPort)
        let dashboard = DashboardService(store: try await Store.open(path: path, busyTimeout: 0.5), options: options)

        let services: [ServiceGroupConfiguration.ServiceConfiguration] =
            (engine.services + [server, endpoint, driver]).map { .init(service: $0) }
            + [.init(service: dashboard, successTerminationBehavior: .gracefullyShutdownGroup,
                     failureTerminationBehavior: .gracefullyShutdownGroup)]
        try await ServiceGroup(configuration: .init(services: services, logger: quiet)).run()
    }
}

/// Seeds the demo policy once both servers listen, then sends traffic until the group shuts down.
struct DemoDriver: Service {
    var store: Store
    var rate: Double
    var serverPort: Arrival<Int>
    var endpointPort: Arrival<Int>

    func run() async throws {
        guard let server = await serverPort.value, let endpoint = await endpointPort.value else { return }
        let store = self.store
        try await BlockingWork.run { try DemoSetup.seed(store, endpointBaseURL: "http://127.0.0.1:\(endpoint)") }
        let traffic = DemoTraffic(baseURL: "http://127.0.0.1:\(server)")
        try? await cancelWhenGracefulShutdown { [rate] in try await traffic.run(rate: rate) }
        await traffic.shutdown()
    }
}

/// The dashboard, on a thread of its own (it blocks in getch). A shutdown of its group from
/// elsewhere asks it to quit the way `q` does.
struct DashboardService: Service {
    var store: Store
    var options: TopApp.Options

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await TopApp.runOnUIThread(store: store, options: options)
        } onGracefulShutdown: {
            TopApp.requestStop()
        }
    }
}

/// A value that arrives once, such as the port a server bound, awaited without blocking a thread.
final class Arrival<Value: Sendable>: Sendable {
    private let stream: AsyncStream<Value>
    private let continuation: AsyncStream<Value>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Value.self, bufferingPolicy: .bufferingNewest(1))
    }

    func deliver(_ value: Value) {
        continuation.yield(value)
        continuation.finish()
    }

    /// The value, or nil if the task was cancelled first. Read it once.
    var value: Value? {
        get async {
            for await value in stream { return value }
            return nil
        }
    }
}
