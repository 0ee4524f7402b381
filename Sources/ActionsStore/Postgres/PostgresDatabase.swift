import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import ActionsProtocol

/// The PostgreSQL side of a `Store`: a postgres-nio client (its own connection pool), used from
/// the blocking threads store code always runs on (`BlockingWork`, the event writer's thread, the
/// dashboard's and actionsctl's threads): each call hands the work to Swift concurrency and waits
/// for it with a deadline, so a database that is down or slow fails the call, never hangs it.
final class PostgresDatabase: Sendable {
    let location: PostgresLocation
    let client: PostgresClient
    private let running: Task<Void, Never>
    /// How long a call waits for a connection (the pool's, reconnecting while the server is
    /// down) before it fails.
    let connectionWaitMs: Int
    /// How long one statement may take on a live connection before the call fails.
    let statementTimeoutMs: Int

    /// - Parameter lockWaitMs: how long a statement waits for a lock another transaction holds
    ///   (`lock_timeout`, the store's busy timeout, as SQLite's); the server gives up by itself, so
    ///   the ROLLBACK that follows never queues behind the wait.
    init(location: PostgresLocation, connectionWaitMs: Int, statementTimeoutMs: Int, lockWaitMs: Int,
         connectTimeoutMs: Int) throws(StoreError) {
        self.location = location
        self.connectionWaitMs = connectionWaitMs
        self.statementTimeoutMs = statementTimeoutMs
        let security = try PostgresTLS(location)
        let quiet = Logger(label: "actions.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        // libpq's `allow` tries without TLS first, and with it only if that fails.
        var tls = security.client
        do throws(StoreError) {
            try Self.probe(location, tls: security.first, timeoutMs: connectTimeoutMs, logger: quiet)
        } catch {
            guard let fallback = security.fallback else { throw error }
            try Self.probe(location, tls: fallback.connection, timeoutMs: connectTimeoutMs, logger: quiet)
            tls = fallback.client
        }

        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                         password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(connectTimeoutMs))
        // The server ends what the client stops waiting for: a statement past its time, a lock
        // wait past the busy timeout. Without these, a client-side timeout left the statement
        // running, and the ROLLBACK after it waited as long again (a locked table answered 503
        // after 10 s, not the 4 s promised).
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(statementTimeoutMs)"), ("lock_timeout", "\(lockWaitMs)"),
        ]
        configuration.options.maximumConnections = 8
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        // Connection failures while running surface as store errors, in the caller's log; the
        // pool's own log would repeat each retry.
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        self.client = client
        // The pool needs its run loop for as long as the store is open; `close()` ends it. The
        // store owns it (not a service group) because short-lived tools open stores too.
        running = Task(executorPreference: BridgeExecutor.shared) { await client.run() }
    }

    /// A first connection of its own, so that a wrong address, user, password, database or
    /// certificate is reported at once, in PostgreSQL's words; the pool would only retry quietly.
    /// It asks for TLS exactly as the pool will: a server that declines TLS where the mode
    /// requires it is sent nothing but the SSL request (postgres-nio closes the connection).
    private static func probe(_ location: PostgresLocation, tls: PostgresConnection.Configuration.TLS, timeoutMs: Int,
                              logger: Logger) throws(StoreError) {
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                             password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .milliseconds(Int64(timeoutMs))
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: BridgeExecutor.shared) { [configuration] in
            do {
                let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                                                      configuration: configuration, id: 0, logger: logger)
                try? await connection.close()
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        if done.wait(timeout: .now() + .milliseconds(timeoutMs + 1000)) == .timedOut {
            throw .postgres(sqlState: nil, message: "PostgreSQL at \(location.host):\(location.port) did not answer within \(timeoutMs) ms",
                            transient: true)
        }
        if case .failure(let error) = outcome.withLock({ $0 }) { throw storeError(error, location: location) }
    }

    func close() {
        running.cancel()
    }

    deinit { running.cancel() }

    // MARK: Waiting on async work from a blocking thread

    /// Runs `operation` in a task and waits for it on this (non-cooperative) thread, at most
    /// `timeoutMs`. Never call from Swift's cooperative pool.
    func wait<T: Sendable>(timeoutMs: Int? = nil, _ what: @autoclosure () -> String,
                           _ operation: @escaping @Sendable () async throws -> T) throws(StoreError) -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task(executorPreference: BridgeExecutor.shared) {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        let limit = timeoutMs ?? statementTimeoutMs
        if done.wait(timeout: .now() + .milliseconds(limit)) == .timedOut {
            task.cancel()
            throw .postgres(sqlState: nil, message: "PostgreSQL at \(location.host):\(location.port) did not answer within \(limit) ms (\(what()))",
                            transient: true)
        }
        switch outcome.withLock({ $0 })! {
        case .success(let value): return value
        case .failure(let error): throw Self.storeError(error, location: location)
        }
    }

    /// A connection of the pool, leased to a blocking caller for the duration of `body`.
    func withConnection<T>(timeoutMs: Int? = nil, _ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        let lease = Lease()
        let client = self.client
        let limit = timeoutMs ?? connectionWaitMs
        Task(executorPreference: BridgeExecutor.shared) {
            do {
                try await client.withConnection { connection in
                    guard lease.deliver(connection) else { return }
                    await lease.returned()
                }
            } catch {
                lease.fail(error)
            }
        }
        let connection: PostgresConnection
        switch lease.take(timeoutMs: limit) {
        case .connection(let leased): connection = leased
        case .failed(let error): throw Self.storeError(error, location: location)
        case .timedOut:
            throw .postgres(sqlState: nil, message: "PostgreSQL at \(location.host):\(location.port) unreachable: no connection within \(limit) ms",
                            transient: true)
        }
        defer { lease.giveBack() }
        do {
            return try body(connection)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error, location: location)
        }
    }

    /// A transaction on one connection: BEGIN, `body`, COMMIT (ROLLBACK when it throws).
    func transaction<T>(readOnly: Bool, deadlineNs: UInt64?, _ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        var waitMs = connectionWaitMs
        if let deadlineNs {
            let now = MonotonicClock.nowNs()
            guard now < deadlineNs else {
                throw .postgres(sqlState: nil, message: "gave up waiting to start the write", transient: true)
            }
            waitMs = max(1, min(waitMs, Int((deadlineNs - now) / 1_000_000)))
        }
        return try withConnection(timeoutMs: waitMs) { connection in
            let session = PostgresSession(database: self, connection: connection)
            try session.execute(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
            do {
                let result = try body(session)
                try session.execute("COMMIT")
                return result
            } catch {
                _ = try? session.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// A PostgresNIO error in words an operator can act on, with its SQLSTATE, and whether
    /// retrying may help (the connection, the server going away or starting, a conflict).
    static func storeError(_ error: any Error, location: PostgresLocation) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? PSQLError else {
            return .postgres(sqlState: nil, message: "\(error)", transient: true)
        }
        let where_ = "\(location.host):\(location.port)"
        if let info = error.serverInfo {
            let state = info[.sqlState]
            let message = [info[.message], info[.detail]].compactMap { $0 }.joined(separator: ": ")
            // Connection exceptions, resource shortages, an administrator shutting the server
            // down or starting it, serialization failures, deadlocks and a lock not had within
            // lock_timeout (55P03) pass; the rest is final.
            let transientClasses = ["08", "53", "57", "40", "55P03"]
            let transient = state.map { state in transientClasses.contains { state.hasPrefix($0) } } ?? false
            let hint: String
            switch state {
            case "28P01", "28000": hint = " (check the user and password in the URL or PGPASSWORD)"
            case "3D000": hint = " (create the database, or fix the URL's path)"
            default: hint = ""
            }
            return .postgres(sqlState: state, message: "PostgreSQL at \(where_): \(message)\(hint)", transient: transient)
        }
        let underlying = error.underlying.map { "\($0)" } ?? "\(error.code)"
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return .postgres(sqlState: nil, message: "PostgreSQL at \(where_) unreachable: \(underlying)", transient: true)
        case .sslUnsupported:
            return .postgres(sqlState: nil, message: "PostgreSQL at \(where_) does not offer TLS (use sslmode=disable or prefer)", transient: false)
        default:
            return .postgres(sqlState: nil, message: "PostgreSQL at \(where_): \(error.code): \(underlying)", transient: false)
        }
    }
}

/// Hands one pooled connection from the task that leased it to the blocking thread that uses it,
/// and back. A caller that stopped waiting (timed out) makes a late connection go straight back.
final class Lease: Sendable {
    enum Taken { case connection(PostgresConnection), failed(any Error), timedOut }
    private enum State {
        case waiting
        case delivered(PostgresConnection)
        case failed(any Error)
        case abandoned
        case inUse
        case returned
    }
    private struct Shared {
        var state = State.waiting
        /// The leasing task, suspended until the connection is given back.
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let shared = Mutex(Shared())
    private let arrived = DispatchSemaphore(value: 0)

    /// False when the caller gave up: the connection goes back to the pool at once.
    func deliver(_ connection: PostgresConnection) -> Bool {
        settle(.delivered(connection))
    }

    func fail(_ error: any Error) {
        _ = settle(.failed(error))
    }

    /// Moves a waiting lease to `outcome` and wakes the caller; false if it no longer waits.
    private func settle(_ outcome: State) -> Bool {
        let settled = shared.withLock { shared -> Bool in
            guard case .waiting = shared.state else { return false }
            shared.state = outcome
            return true
        }
        if settled { arrived.signal() }
        return settled
    }

    /// Waits for the connection; what arrives after the caller gave up goes straight back.
    func take(timeoutMs: Int) -> Taken {
        _ = arrived.wait(timeout: .now() + .milliseconds(timeoutMs))
        return shared.withLock { shared -> Taken in
            switch shared.state {
            case .delivered(let connection):
                shared.state = .inUse
                return .connection(connection)
            case .failed(let error):
                return .failed(error)
            default:
                shared.state = .abandoned
                return .timedOut
            }
        }
    }

    /// Suspends the leasing task until the blocking side gives the connection back.
    func returned() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = shared.withLock { shared -> Bool in
                if case .returned = shared.state { return true }
                shared.waiter = continuation
                return false
            }
            if already { continuation.resume() }
        }
    }

    func giveBack() {
        let waiter = shared.withLock { shared -> CheckedContinuation<Void, Never>? in
            shared.state = .returned
            defer { shared.waiter = nil }
            return shared.waiter
        }
        waiter?.resume()
    }
}

/// `SQLSession` on a leased PostgreSQL connection: `?` placeholders become `$1`, `$2`, ...
struct PostgresSession: SQLSession {
    let database: PostgresDatabase
    let connection: PostgresConnection
    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try run(sql, arguments).count
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        try run(sql, arguments)
    }

    private func run(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        let query = try Self.query(sql, arguments.map(\.sqlValue))
        let connection = self.connection
        return try database.wait(String(sql.prefix(60))) {
            let rows = try await connection.query(query, logger: Self.logger).collect()
            return rows.map(Self.row)
        }
    }

    static let logger = Logger(label: "actions.postgres.query")

    static func query(_ sql: String, _ values: [SQLValue]) throws -> PostgresQuery {
        var text = ""
        text.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?" && !quoted {
                number += 1
                text += "$\(number)"
            } else {
                text.append(character)
            }
        }
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: binds.appendNull()
            case .integer(let number): binds.append(number)
            case .text(let string): binds.append(string)
            }
        }
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }

    /// Columns come back as int2/int4/int8 (integers), booleans, or text; anything else as its text.
    static func row(_ row: PostgresRow) -> SQLRow {
        SQLRow(row.map { cell -> SQLValue in
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int2, .int4, .int8:
                return (try? cell.decode(Int64.self)).map(SQLValue.integer) ?? .null
            case .bool:
                return .integer((try? cell.decode(Bool.self)) == true ? 1 : 0)
            default:
                return (try? cell.decode(String.self)).map(SQLValue.text) ?? .null
            }
        })
    }
}
