import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsTestSupport

/// A real actions-server on a fresh database and a free loopback port, plus actionsctl against it.
final class ServerHarness: @unchecked Sendable {
    static let secret = "e2e-shared-secret"
    let directory = Paths.temporaryDirectory()
    let databasePath: String
    let configPath: String
    let server: ServiceProcess

    /// `config`: TOML for --config (circuit and lockout thresholds are set low in tests).
    /// `backend`: a SQLite file in the harness's directory, or a fresh PostgreSQL database.
    init(backend: StoreBackend = .sqlite, config: String = "", extraEnvironment: [String: String] = [:],
         extraArguments: [String] = [], logLevel: String = "warning") throws {
        databasePath = backend == .sqlite ? directory.appendingPathComponent("actions.db").path : try backend.newDatabase()
        configPath = directory.appendingPathComponent("actions.toml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        server = try ServiceProcess(Paths.binary("actions-server"),
                                    ["--db", databasePath, "--port", "0", "--config", configPath, "--log-level", logLevel] + extraArguments,
                                    environment: ["ACTIONS_SECRET": Self.secret].merging(extraEnvironment) { $1 })
    }

    /// Sends the server a signal (SIGHUP: reload).
    func signal(_ number: Int32) {
        Foundation.kill(server.process.processIdentifier, number)
    }

    var url: String { server.baseURL }

    /// Runs actionsctl on this database; throws with its stderr when it fails.
    @discardableResult
    func ctl(_ arguments: String...) throws -> String {
        try ctl(arguments)
    }

    @discardableResult
    func ctl(_ arguments: [String]) throws -> String {
        let result = try run(Paths.binary("actionsctl"), arguments, environment: ["ACTIONS_DB": databasePath])
        guard result.status == 0 else { throw TestFailure("actionsctl \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout
    }

    func register(_ email: String, ip: String = "198.51.100.7") async throws -> HTTPAnswer {
        try await post(url + "/v1/actions/user_registration",
                       #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"\#(email)"},"ip_address":"\#(ip)","user_agent":"e2e"}"#)
    }

    func authenticate(_ email: String, ip: String = "198.51.100.7") async throws -> HTTPAnswer {
        try await post(url + "/v1/actions/authentication",
                       #"{"object":"authentication_action_context","user":{"object":"user","id":"user_1","email":"\#(email)"},"ip_address":"\#(ip)"}"#)
    }

    /// Waits until the server decides with the settings and lockouts now in the store (its
    /// `/healthz` reports the versions it runs), instead of sleeping through the poll interval.
    func settingsApplied(timeout: Double = 5) async throws {
        let target = try await BlockingWork.run { try self.store().policyVersions() }
        let applied = await eventually(timeout: timeout) {
            let health = (try? await http("GET", url + "/healthz").json) ?? [:]
            return Int64(health["config_version"] as? Int ?? -1) >= target.config
                && Int64(health["lockout_version"] as? Int ?? -1) >= target.lockouts
        }
        guard applied != nil else { throw TestFailure("the server did not pick up versions \(target) within \(timeout) s") }
    }

    /// A second connection to the same file, as actions-top would open it.
    @available(*, noasync, message: "opens a store, which blocks: from async code, call it inside `BlockingWork.run { }`")
    func store() throws -> Store { try Store(path: databasePath, create: false) }

    /// The policy version in the store now.
    func configVersion() async throws -> Int64 { try await BlockingWork.run { try self.store().configVersion() } }

    /// Waits until the event log holds `count` rows (the writer commits off the request path).
    func waitForEvents(_ count: Int, timeout: Double = 5) async throws -> [Event] {
        let store = try await BlockingWork.run { try self.store() }
        _ = await eventually(timeout: timeout) { ((try? store.eventCount()) ?? 0) >= count }
        return try await BlockingWork.run { try store.latestEvents(limit: 10_000) }
    }

    deinit {
        server.kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The example endpoint from actions-server, on its own free port (or a chosen one).
func startExampleEndpoint(port: Int = 0) throws -> ServiceProcess {
    try ServiceProcess(Paths.binary("actions-server"), ["example-endpoint", "--port", "\(port)", "--secret", ServerHarness.secret])
}
