import Foundation
import ActionsProtocol
import ActionsPolicy
import ActionsDomain
import ActionsStore

/// The server's startup configuration: secrets from the environment, the rest from the optional
/// TOML file (see `actions.example.toml`). Live settings (modes, endpoints, deny lists) are in the store.
package struct EngineConfig: Sendable {
    package var host = "127.0.0.1"
    package var port = 8787
    package var databasePath: String?
    /// This node's name in events and heartbeats (`--node`, `server.node`); `hostname:port` by default.
    package var node: String?
    /// Shared secrets, first one signs; every one is accepted (rotation).
    package var secrets: [String] = []
    package var actionSecrets: [ActionType: [String]] = [:]
    /// When set, the engine API and `/v1/events` require `Authorization: Bearer <token>`.
    package var apiToken: String?
    package var lockout = LockoutPolicy()
    package var circuit = CircuitBreaker.Config()
    package var maxBodyBytes = 64 * 1024
    package var eventQueueCapacity = 100_000
    package var retentionMaxAgeDays: Int?
    package var retentionMaxRows: Int?
    /// Durable events: a decision is answered only after its event is committed (fsync'd).
    package var durableEvents = false
    /// Durable mode's bound on that wait; past it the error mode answers (`log_unavailable`).
    package var durableWaitMs = 2000
    /// How long `POST /v1/events` waits to start its lockout write before answering 503 (retry).
    package var lockoutWriteWaitMs = 2000
    /// How long the server's SQLite connections wait for another process's lock.
    package var busyTimeoutMs = 2000
    /// `rate.max_subjects`: most subjects (addresses, networks, domains, accounts) the rate
    /// windows track at once; the least recently seen go first past it.
    package var rateMaxSubjects = RateCounter.defaultMaxSubjects
    /// A connection with no request in progress, or whose request head has not arrived, is closed
    /// after this long (keep-alive idle, and a header timeout against slowloris).
    package var idleTimeoutMs = 30_000
    /// A request body must arrive whole within this long, or the answer is 408.
    package var readTimeoutMs = 10_000

    package init() {}

    package func secrets(for type: ActionType) -> [String] {
        actionSecrets[type] ?? secrets
    }

    package struct Problem: Error, CustomStringConvertible {
        package var description: String
    }

    /// Values that are examples, not secrets (`packaging/actions-server.env.example` has the first).
    static let placeholderSecrets: Set<String> = ["change-me", "changeme", "secret", "your-secret-here"]

    /// Secrets shorter than this are accepted with a warning at start (`weakSecretWarnings`).
    package static let minimumSecretBytes = 16

    /// One line per secret too short to resist guessing (ACTIONS_SECRET's and the config file's
    /// per-action ones), naming where it is, never its value.
    package var weakSecretWarnings: [String] {
        let named = [("ACTIONS_SECRET", secrets)] + ActionType.allCases.compactMap { type in
            actionSecrets[type].map { ("actions.\(type.rawValue).secrets", $0) }
        }
        return named.flatMap { name, list in
            list.enumerated().compactMap { index, secret in
                secret.utf8.count >= Self.minimumSecretBytes ? nil
                    : "\(name)'s secret \(index + 1) is \(secret.utf8.count) bytes; use at least \(Self.minimumSecretBytes) (openssl rand -hex 32)"
            }
        }
    }

    /// Reads `ACTIONS_SECRET` (comma-separated), `ACTIONS_API_TOKEN` and, if given, the config file.
    /// An empty secret or token is refused: requests signed with an empty key would be answered
    /// with a signed Allow, and an empty token would protect nothing.
    package static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> EngineConfig {
        var config = EngineConfig()
        if let secret = environment["ACTIONS_SECRET"] {
            config.secrets = secret.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            if config.secrets.contains(where: \.isEmpty) {
                throw Problem(description: "ACTIONS_SECRET is set but it or one of its comma-separated secrets is empty; "
                              + "refusing to start (unset it to run without one)")
            }
            // The example env file's placeholder, left in place, would sign every answer with a
            // secret anyone who read the package knows.
            if config.secrets.contains(where: { Self.placeholderSecrets.contains($0.lowercased()) }) {
                throw Problem(description: "ACTIONS_SECRET is still the example's placeholder; refusing to start "
                              + "(set the secret WorkOS shows for the action, or make one with: openssl rand -hex 32)")
            }
        }
        if let token = environment["ACTIONS_API_TOKEN"] {
            guard !token.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw Problem(description: "ACTIONS_API_TOKEN is set but empty; refusing to start (unset it to leave the API open)")
            }
            config.apiToken = token
        }
        guard let file else { return config }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw Problem(description: "cannot read config file \(file)")
        }
        try config.apply(bytes: Array(data), file: file)
        return config
    }

    /// A config file's text over the defaults, with no environment: what `load` does after reading the file.
    package static func parse(_ text: String, file: String) throws -> EngineConfig {
        var config = EngineConfig()
        try config.apply(text: text, file: file)
        return config
    }

    mutating func apply(text: String, file: String) throws { try apply(bytes: Array(text.utf8), file: file) }

    mutating func apply(bytes: [UInt8], file: String) throws {
        let values: [String: TOMLSubset.Value]
        do {
            values = try TOMLSubset.parse(bytes)
        } catch {
            throw Problem(description: "\(file): \(error)")
        }
        try apply(values, file: file)
    }

    mutating func apply(_ values: [String: TOMLSubset.Value], file: String) throws {
        func isActionSecret(_ name: String) -> Bool {
            ActionType.allCases.contains { name == "actions.\($0.rawValue).secret" || name == "actions.\($0.rawValue).secrets" }
        }
        for name in values.keys.sorted() where ConfigKey.byName[name] == nil && !isActionSecret(name) {
            throw Problem(description: "\(file): unknown key \(name)")
        }
        for key in ConfigKey.all {
            guard let value = values[key.name] else { continue }
            guard key.read(value, &self) else { throw Problem(description: "\(file): \(key.name) must be \(key.expected)") }
        }
        for type in ActionType.allCases {
            let key = "actions.\(type.rawValue).secret"
            switch values[key + "s"] ?? values[key] {
            case .string(let secret)?: actionSecrets[type] = [secret]
            case .strings(let secrets)?: actionSecrets[type] = secrets
            case nil: break
            default: throw Problem(description: "\(file): \(key) must be a string or a list of strings")
            }
            if let secrets = actionSecrets[type], secrets.isEmpty || secrets.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw Problem(description: "\(file): \(key) is empty; refusing to start "
                              + "(requests signed with an empty key would be answered)")
            }
            if let secrets = actionSecrets[type], secrets.contains(where: { Self.placeholderSecrets.contains($0.lowercased()) }) {
                throw Problem(description: "\(file): \(key) is still a placeholder; refusing to start (openssl rand -hex 32 makes one)")
            }
        }
    }
}
