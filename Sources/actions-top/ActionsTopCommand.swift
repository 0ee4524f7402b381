import ArgumentParser
import ActionsEngine
import ActionsStore
import ActionsTop
import Foundation
import Logging

@main
struct ActionsTopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions-top",
        abstract: "Live terminal dashboard for actions-server: verdicts, latency, failures, error modes, deny lists.",
        discussion: "Press ? inside for every key. Themes: themes/ in the repository and $XDG_CONFIG_HOME/actions-top/themes/.")

    @Option(help: "SQLite database (default: $ACTIONS_DB, else ./actions.db).") var db: String?
    @Option(help: "Theme name or theme file.") var theme = "default"
    @Flag(help: "Never change anything; mutating keys are hidden.") var readOnly = false
    @Option(help: "Refresh interval in milliseconds.") var refresh = 1000
    @Flag(help: "Run the engine, a flaky example endpoint and synthetic traffic in-process on a temporary database.") var demo = false
    @Option(help: "Demo traffic, requests per second.") var demoRate = 25.0

    func validate() throws {
        guard (50...60_000).contains(refresh) else { throw ValidationError("--refresh must be between 50 and 60000 ms") }
        guard demoRate > 0 && demoRate <= 5000 else { throw ValidationError("--demo-rate must be between 0 and 5000") }
    }

    func run() async throws {
        // Fail on a bad theme before the screen is taken over.
        _ = try loadTheme()
        let options = TopApp.Options(refreshMs: refresh, themeName: theme, readOnly: readOnly)
        if demo {
            try await DemoMode.run(options: options, rate: demoRate)
            return
        }
        let path = db ?? Store.defaultPath()
        let store: Store
        do {
            store = try await Store.open(path: path, create: false, readOnly: readOnly, busyTimeout: 0.5)
        } catch {
            throw ValidationError("\(error)")
        }
        try await runOnUIThread { try TopApp.run(store: store, options: options) }
    }

    func loadTheme() throws -> Theme {
        do {
            return try ThemeCatalog.standard().load(theme)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// The dashboard blocks in getch, so it gets a thread of its own instead of one of the few
/// cooperative threads that the in-process demo server needs.
func runOnUIThread(_ body: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        let thread = Thread {
            do {
                try body()
                continuation.resume()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.name = "actions-top-ui"
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// `--demo`: a temporary database, the engine on a loopback port, the flaky example endpoint, and traffic.
enum DemoMode {
    static func run(options: TopApp.Options, rate: Double) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("actions-top-demo-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("actions.db").path
        // SQLite work stays off the cooperative pool, which the in-process servers need.
        let store = try await Store.open(path: path, access: .pool)
        // Logs would scribble over the dashboard; the demo's story is on the screen.
        let quiet = Logger(label: "demo", factory: { _ in SwiftLogNoOpLogHandler() })
        var config = EngineConfig()
        config.secrets = ["demo-secret"]
        config.lockout = LockoutPolicy(threshold: 10, windowMs: 15 * 60_000, lockoutMs: 30 * 60_000)
        config.circuit = .init(threshold: 5, cooldownMs: 10_000)
        let engine = try await BlockingWork.run { [config] in DecisionEngine(store: store, config: config, logger: quiet) }

        let endpointPort = Port()
        let serverPort = Port()
        let endpointTask = Task {
            try await ExampleEndpoint(secret: "demo-secret").run(host: "127.0.0.1", port: 0, logger: quiet, handleSignals: false) {
                endpointPort.set($0)
            }
        }
        let serverTask = Task {
            try await ActionsHTTPServer.run(engine: engine, host: "127.0.0.1", port: 0, logger: quiet, handleSignals: false) {
                serverPort.set($0)
            }
        }
        let endpointURL = "http://127.0.0.1:\(await endpointPort.value())"
        let serverURL = "http://127.0.0.1:\(await serverPort.value())"
        try await BlockingWork.run { try DemoSetup.seed(store, endpointBaseURL: endpointURL) }
        let traffic = DemoTraffic(baseURL: serverURL)
        let trafficTask = Task { try await traffic.run(rate: rate) }

        let dashboardStore = try await Store.open(path: path, busyTimeout: 0.5)
        let result: Result<Void, Error>
        do {
            try await runOnUIThread { try TopApp.run(store: dashboardStore, options: options) }
            result = .success(())
        } catch {
            result = .failure(error)
        }
        trafficTask.cancel()
        _ = await trafficTask.result
        await traffic.shutdown()
        serverTask.cancel()
        endpointTask.cancel()
        _ = await serverTask.result
        _ = await endpointTask.result
        try result.get()
    }

    /// A port number that arrives once a server is listening.
    final class Port: @unchecked Sendable {
        private let lock = NSCondition()
        private var port: Int?

        func set(_ value: Int) {
            lock.lock()
            port = value
            lock.broadcast()
            lock.unlock()
        }

        func value() async -> Int {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread { [self] in
                    lock.lock()
                    while port == nil { lock.wait() }
                    let value = port!
                    lock.unlock()
                    continuation.resume(returning: value)
                }
            }
        }
    }
}
