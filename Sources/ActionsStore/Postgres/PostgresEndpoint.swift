import ActionsDomain
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// One server among a URL's hosts, with the connection pool to it. A store holds one for its
/// reads and writes, and a second for writes when it reads from a standby; failover replaces
/// them (`PostgresDatabase.serverLost`).
final class PostgresEndpoint: Sendable {
    let host: PostgresLocation.Host
    let client: PostgresClient
    private let running: Task<Void, Never>

    init(host: PostgresLocation.Host, location: PostgresLocation, tls: PostgresClient.Configuration.TLS,
         settings: PostgresDatabase.Settings) {
        self.host = host
        var configuration = PostgresClient.Configuration(host: host.name, port: host.port, username: location.user,
                                                         password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(settings.connectTimeoutMs))
        // The server ends what the client stops waiting for: a statement past its time, a lock
        // wait past the busy timeout. Without these, a client-side timeout left the statement
        // running, and the ROLLBACK after it waited as long again (a locked table answered 503
        // after 10 s, not the 4 s promised).
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(settings.statementTimeoutMs)"), ("lock_timeout", "\(settings.lockWaitMs)"),
        ]
        configuration.options.maximumConnections = 8
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        // Connection failures while running surface as store errors, in the caller's log; the
        // pool's own log would repeat each retry.
        let client = PostgresClient(configuration: configuration, backgroundLogger: PostgresDatabase.quiet)
        self.client = client
        // The pool needs its run loop for as long as the endpoint is in use; `close()` ends it.
        // The store owns it (not a service group) because short-lived tools open stores too.
        running = Task(executorPreference: BridgeExecutor.shared) { await client.run() }
    }

    private let retired = Atomic<Bool>(false)

    /// Closed: the store moved to another server, or closed.
    var isRetired: Bool { retired.load(ordering: .relaxed) }

    func close() {
        retired.store(true, ordering: .relaxed)
        running.cancel()
    }

    deinit { running.cancel() }
}

extension PostgresDatabase {
    /// How long the store's calls wait, from its busy timeout (see `Store.init`).
    struct Settings: Sendable {
        /// How long a call waits for a connection (the pool's, reconnecting while the server is
        /// down) before it fails.
        var connectionWaitMs: Int
        /// How long one statement may take on a live connection before the call fails.
        var statementTimeoutMs: Int
        /// How long a statement waits for a lock another transaction holds (`lock_timeout`).
        var lockWaitMs: Int
        var connectTimeoutMs: Int
    }

    static let quiet = Logger(label: "actions.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// What a first connection saw of a server.
    struct ServerRole: Sendable {
        var inRecovery: Bool
        var readOnly: Bool

        var words: String { inRecovery ? "a standby (in recovery)" : readOnly ? "read-only" : "a primary" }
    }

    /// The first of the location's hosts that `attrs` accepts, tried in order as libpq does, and
    /// the TLS its pool is to use. `prefer-standby` takes the first server that answered when no
    /// standby did. Fails with every host's reason, in PostgreSQL's words; transient unless every
    /// host refused for good (a wrong password, say): a standby may yet be promoted.
    /// `currentFirst`: the server a store is on, asked before the others and kept while it
    /// qualifies (a failover's look; libpq's order is for the first connection).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    static func select(_ location: PostgresLocation, attrs: PostgresLocation.TargetSessionAttrs, settings: Settings,
                       currentFirst: PostgresLocation.Host? = nil) throws(StoreError) -> (PostgresLocation.Host, PostgresClient.Configuration.TLS) {
        let security = try PostgresTLS(location)
        var answered: [(PostgresLocation.Host, PostgresClient.Configuration.TLS)] = []
        var reasons: [String] = []
        var errors: [StoreError] = []
        let hosts = currentFirst.map { current in [current] + location.hosts.filter { $0 != current } } ?? location.hosts
        for host in hosts {
            do throws(StoreError) {
                let (role, tls) = try probe(host, location: location, security: security, askRole: attrs != .any, settings: settings)
                if attrs.accepts(inRecovery: role.inRecovery, readOnly: role.readOnly, lastPass: false) { return (host, tls) }
                answered.append((host, tls))
                reasons.append("\(host) is \(role.words)")
            } catch {
                errors.append(error)
                reasons.append("\(error)")
            }
        }
        if attrs == .preferStandby, let first = answered.first { return first }
        // One host, and it failed: its own error, as before there were several.
        if location.hosts.count == 1, let only = errors.first { throw only }
        let transient = !answered.isEmpty || errors.contains { $0.isTransient }
        throw .postgres(sqlState: nil, message: "no PostgreSQL server is \(attrs.rawValue): \(reasons.joined(separator: "; "))",
                        transient: transient)
    }

    /// A first connection of its own to `host`, so that a wrong address, user, password,
    /// database or certificate is reported at once, in PostgreSQL's words (the pool would only
    /// retry quietly), and so that the server's role can be asked. It asks for TLS exactly as the
    /// pool will: a server that declines TLS where the mode requires it is sent nothing but the
    /// SSL request (postgres-nio closes the connection). libpq's `allow` tries without TLS first,
    /// and with it only if that fails.
    private static func probe(_ host: PostgresLocation.Host, location: PostgresLocation, security: PostgresTLS, askRole: Bool,
                              settings: Settings) throws(StoreError) -> (ServerRole, PostgresClient.Configuration.TLS) {
        do throws(StoreError) {
            return (try connect(host, location: location, tls: security.first, askRole: askRole, timeoutMs: settings.connectTimeoutMs),
                    security.client)
        } catch {
            guard let fallback = security.fallback else { throw error }
            return (try connect(host, location: location, tls: fallback.connection, askRole: askRole, timeoutMs: settings.connectTimeoutMs),
                    fallback.client)
        }
    }

    private static func connect(_ host: PostgresLocation.Host, location: PostgresLocation, tls: PostgresConnection.Configuration.TLS,
                                askRole: Bool, timeoutMs: Int) throws(StoreError) -> ServerRole {
        var configuration = PostgresConnection.Configuration(host: host.name, port: host.port, username: location.user,
                                                             password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(timeoutMs))
        // The role query too has its time (a server that accepts connections but is too busy to
        // answer). A frozen one (a stopped process) cannot enforce it: the probe is cancelled at
        // its deadline, which may leave that one connection to the kernel's keepalive.
        configuration.options.additionalStartupParameters = [("statement_timeout", "\(timeoutMs)")]
        let outcome = Mutex<Result<ServerRole, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task(executorPreference: BridgeExecutor.shared) { [configuration] in
            do {
                let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                                                      configuration: configuration, id: 0, logger: quiet)
                var role = ServerRole(inRecovery: false, readOnly: false)
                do {
                    if askRole {
                        let rows = try await connection.query("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')",
                                                              logger: quiet)
                        for try await (recovery, readOnly) in rows.decode((Bool, String).self) {
                            role = ServerRole(inRecovery: recovery, readOnly: readOnly == "on")
                        }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
                outcome.withLock { $0 = .success(role) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        if done.wait(timeout: .now() + .milliseconds(timeoutMs + 1000)) == .timedOut {
            task.cancel()
            throw .postgres(sqlState: nil, message: "PostgreSQL at \(host) did not answer within \(timeoutMs) ms", transient: true)
        }
        switch outcome.withLock({ $0 })! {
        case .success(let role): return role
        case .failure(let error): throw storeError(error, host: host)
        }
    }
}
