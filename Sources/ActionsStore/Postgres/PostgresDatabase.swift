import ActionsDomain
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import ActionsProtocol

/// The PostgreSQL side of a `Store`: postgres-nio clients (each its own connection pool), used
/// from the blocking threads store code always runs on (`BlockingWork`, the event writer's
/// thread, the dashboard's and actionsctl's threads): each call hands the work to Swift
/// concurrency and waits for it with a deadline, so a database that is down or slow fails the
/// call, never hangs it.
///
/// Failover: the URL may list several hosts with a `target_session_attrs`. The store connects to
/// the first that qualifies, and when a call finds its server gone (or read-only where it writes),
/// it looks again in the background, at most once a second, and moves to the server that now
/// qualifies: a promoted standby is found without a restart, and the calls that failed meanwhile
/// fail as any outage does (the event writer keeps its queue and retries).
final class PostgresDatabase: Sendable {
    let location: PostgresLocation
    let settings: Settings
    var connectionWaitMs: Int { settings.connectionWaitMs }
    var statementTimeoutMs: Int { settings.statementTimeoutMs }

    private struct State {
        /// Where reads go, and writes too unless the URL asks for a standby.
        var reader: PostgresEndpoint
        /// Where writes go when reads go to a standby: found at the first write.
        var writer: PostgresEndpoint?
        /// The look for each role's server (true: the writer), apart: a reader that finds no
        /// standby for a minute must not keep the writer from following a failover.
        var looks: [Bool: Look] = [:]
        var closed = false
    }
    private struct Look {
        var running = false
        var lastNs: UInt64?
    }
    private let state: Mutex<State>
    /// Each connection's server process (asked once per connection), and the one running each
    /// thread's statement now: what `cancel(onThread:)` asks the server to stop.
    private let backendPIDs = Mutex<[PostgresConnection.ID: Int32]>([:])
    private let runningOnThread = Mutex<[UInt: (pid: Int32, client: PostgresClient)]>([:])
    private static let logger = Logger(label: "actions.postgres")

    /// - Parameter lockWaitMs: how long a statement waits for a lock another transaction holds
    ///   (`lock_timeout`, the store's busy timeout, as SQLite's); the server gives up by itself, so
    ///   the ROLLBACK that follows never queues behind the wait.
    init(location: PostgresLocation, connectionWaitMs: Int, statementTimeoutMs: Int, lockWaitMs: Int,
         connectTimeoutMs: Int) throws(StoreError) {
        self.location = location
        settings = Settings(connectionWaitMs: connectionWaitMs, statementTimeoutMs: statementTimeoutMs, lockWaitMs: lockWaitMs,
                            connectTimeoutMs: connectTimeoutMs)
        let (host, tls) = try Self.select(location, attrs: location.targetSessionAttrs, settings: settings)
        state = Mutex(State(reader: PostgresEndpoint(host: host, location: location, tls: tls, settings: settings)))
    }

    func close() {
        let endpoints = state.withLock { state -> [PostgresEndpoint] in
            state.closed = true
            return [state.reader] + (state.writer.map { [$0] } ?? [])
        }
        endpoints.forEach { $0.close() }
    }

    /// The server this store now reads from, `host:port`.
    var currentHost: String { state.withLock { $0.reader.host.description } }

    /// The server this store now writes to (where it reads from unless that is a standby), `host:port`.
    var currentWriteHost: String {
        state.withLock { state in
            location.targetSessionAttrs.readsFromStandby ? state.writer?.host.description ?? "-" : state.reader.host.description
        }
    }

    /// Where a call goes: writes from a store that reads from a standby go to a primary, found
    /// (with `read-write`) at the first.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func endpoint(forWrite: Bool) throws(StoreError) -> PostgresEndpoint {
        let (reader, writer) = state.withLock { ($0.reader, $0.writer) }
        guard forWrite && location.targetSessionAttrs.readsFromStandby else { return reader }
        if let writer { return writer }
        let (host, tls) = try Self.select(location, attrs: .readWrite, settings: settings)
        let found = PostgresEndpoint(host: host, location: location, tls: tls, settings: settings)
        let chosen = state.withLock { state -> PostgresEndpoint? in
            if state.closed { return nil }
            if let writer = state.writer { return writer }
            state.writer = found
            return found
        }
        if chosen !== found { found.close() }
        guard let chosen else { throw .postgres(sqlState: nil, message: "the store is closed", transient: false) }
        return chosen
    }

    /// A call lost its server, or found it read-only where it writes: look again for the one the
    /// URL asks for, in the background, at most once a second (and every second while none
    /// qualifies). One host that may be anything has nothing to look for (its pool reconnects by
    /// itself).
    ///
    /// The current server is asked first, and kept while it qualifies: a look that a busy pool or
    /// a slow statement set off changes nothing, and an old primary that comes back is not
    /// taken over the promoted one. A write refused as read-only (25006) looks for a writable
    /// server whatever the URL's attrs: where the store writes, a standby will never do.
    func serverLost(forWrite: Bool, _ error: StoreError) {
        guard location.hosts.count > 1 || location.targetSessionAttrs != .any, Self.meansServerLost(error) else { return }
        let role = forWrite && location.targetSessionAttrs.readsFromStandby
        let start = state.withLock { state -> Bool in
            let now = MonotonicClock.nowNs()
            var look = state.looks[role, default: Look()]
            guard !state.closed, !look.running else { return false }
            if let last = look.lastNs, now < last + 1_000_000_000 { return false }
            look.running = true
            state.looks[role] = look
            return true
        }
        guard start else { return }
        let readOnlyRefused: Bool = if case .postgres("25006"?, _, _) = error { true } else { false }
        let attrs = role || readOnlyRefused ? .readWrite : location.targetSessionAttrs
        // Probing blocks (it waits for connections): a thread of its own, never the pool's. While
        // no server qualifies (the orchestrator has not promoted one yet), it looks again every
        // second, for a minute: the calls that wait meanwhile are on a pool that cannot connect,
        // and would only report it when their connection wait ends (5 s for the server).
        BlockingWork.startThread(named: "pg-failover") { [self] in
            defer {
                state.withLock { state in state.looks[role] = Look(running: false, lastNs: MonotonicClock.nowNs()) }
            }
            var found: (PostgresLocation.Host, PostgresClient.Configuration.TLS)?
            for look in 0..<60 {
                if look > 0 { Thread.sleep(forTimeInterval: 1) }
                let current = state.withLock { state -> PostgresLocation.Host?? in
                    state.closed ? .none : .some((role ? state.writer : state.reader)?.host)
                }
                guard let current else { return }
                found = try? Self.select(location, attrs: attrs, settings: settings, currentFirst: current)
                if found != nil { break }
            }
            guard let (host, tls) = found else { return }
            let moved = state.withLock { state -> Bool in
                !state.closed && (role ? state.writer : state.reader)?.host != host
            }
            guard moved else { return }
            let replacement = PostgresEndpoint(host: host, location: location, tls: tls, settings: settings)
            let old = state.withLock { state -> PostgresEndpoint? in
                let current = role ? state.writer : state.reader
                // Closed, or a writer found meanwhile on that very server: nothing to move.
                guard !state.closed, current?.host != host else { return replacement }
                if role { state.writer = replacement } else { state.reader = replacement }
                return current
            }
            old?.close()
            if old !== replacement {
                Self.logger.notice("PostgreSQL: now on \(host) (target_session_attrs=\(attrs.rawValue))",
                                   metadata: ["was": "\(old?.host.description ?? "-")"])
            }
        }
    }

    /// The errors that say the server is gone or is not what the URL asks for: no connection,
    /// a connection exception (08), an administrator's shutdown or a server starting (57P0x),
    /// a read-only transaction where a write was meant (25006, a demoted primary).
    static func meansServerLost(_ error: StoreError) -> Bool {
        guard case .postgres(let state, _, let transient) = error else { return false }
        guard let state else { return transient }
        return state.hasPrefix("08") || state.hasPrefix("57P0") || state == "25006"
    }

    // MARK: Cancelling a statement

    static var currentThread: UInt { UInt(pthread_self()) }

    /// The connection's server process id, asked once (one round trip per connection).
    private func backendPID(of connection: PostgresConnection, on endpoint: PostgresEndpoint) -> Int32? {
        if let pid = backendPIDs.withLock({ $0[connection.id] }) { return pid }
        let pid = try? wait(timeoutMs: 2000, on: endpoint, "pg_backend_pid()") {
            try await connection.query("SELECT pg_backend_pid()", logger: PostgresSession.logger).collect().first?.decode(Int32.self)
        }
        guard let found = pid ?? nil else { return nil }
        backendPIDs.withLock { $0[connection.id] = found }
        return found
    }

    /// Asks the server to cancel the statement `thread` is running now, as libpq's cancel request
    /// does (`pg_cancel_backend`, over another connection of the pool): the statement fails with
    /// 57014 and the thread's wait ends at once, instead of when a lock is freed or the statement
    /// timeout passes. Nothing running: nothing to do.
    func cancel(onThread thread: UInt) {
        guard let running = runningOnThread.withLock({ $0[thread] }) else { return }
        let client = running.client, pid = running.pid
        Task(executorPreference: BridgeExecutor.shared) {
            _ = try? await client.query("SELECT pg_cancel_backend(\(pid))", logger: PostgresSession.logger).collect()
        }
    }

    // MARK: Waiting on async work from a blocking thread

    /// Runs `operation` in a task and waits for it on this (non-cooperative) thread, at most
    /// `timeoutMs`. Never from async code (the compiler refuses it).
    /// A statement on `endpoint` stops waiting when a failover retires it: a server that died
    /// mid-statement does not always close the connection at once.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func wait<T: Sendable>(timeoutMs: Int? = nil, on endpoint: PostgresEndpoint? = nil, _ what: @autoclosure () -> String,
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
        let deadline = DispatchTime.now() + .milliseconds(limit)
        while done.wait(timeout: min(deadline, .now() + .milliseconds(100))) == .timedOut {
            if endpoint?.isRetired == true {
                task.cancel()
                throw .postgres(sqlState: nil, message: "PostgreSQL at \(endpoint?.host.description ?? currentHost) was left for another server (failover) during \(what())",
                                transient: true)
            }
            if DispatchTime.now() >= deadline {
                task.cancel()
                throw .postgres(sqlState: nil, message: "PostgreSQL at \(endpoint?.host.description ?? currentHost) did not answer within \(limit) ms (\(what()))",
                                transient: true)
            }
        }
        switch outcome.withLock({ $0 })! {
        case .success(let value): return value
        case .failure(let error): throw Self.storeError(error, host: currentHost)
        }
    }

    /// A connection of the pool, leased to a blocking caller for the duration of `body`.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func withConnection<T>(timeoutMs: Int? = nil, forWrite: Bool = false, _ body: (PostgresSession) throws -> T) throws(StoreError) -> T {
        do {
            let endpoint = try endpoint(forWrite: forWrite)
            return try leased(endpoint, timeoutMs: timeoutMs, forWrite: forWrite) { connection in
                try body(PostgresSession(database: self, connection: connection, endpoint: endpoint))
            }
        } catch {
            serverLost(forWrite: forWrite, error)
            throw error
        }
    }

    private func leased<T>(_ endpoint: PostgresEndpoint, timeoutMs: Int?, forWrite: Bool,
                           _ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        let lease = Lease()
        let client = endpoint.client
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
        // A failover retires the endpoint: its waiters stop at once and try the new one. A wait
        // past 300 ms may mean a pool that cannot connect (a dead server is refused quietly, and
        // retried): the store looks for the server the URL asks for meanwhile.
        let startNs = MonotonicClock.nowNs()
        var suspected = false
        let taken = lease.take(timeoutMs: limit) {
            if !suspected && MonotonicClock.nowNs() - startNs > 300_000_000 {
                suspected = true
                serverLost(forWrite: forWrite, .postgres(sqlState: nil, message: "no connection within 300 ms", transient: true))
            }
            return endpoint.isRetired
        }
        switch taken {
        case .connection(let leased): connection = leased
        case .failed(let error): throw Self.storeError(error, host: endpoint.host.description)
        case .timedOut where endpoint.isRetired:
            throw .postgres(sqlState: nil, message: "PostgreSQL at \(endpoint.host) was left for another server (failover)", transient: true)
        case .timedOut:
            throw .postgres(sqlState: nil, message: "PostgreSQL at \(endpoint.host) unreachable: no connection within \(limit) ms",
                            transient: true)
        }
        defer { lease.giveBack() }
        // Known by its thread while it runs, so that another thread can have it cancelled.
        let thread = Self.currentThread
        if let pid = backendPID(of: connection, on: endpoint) {
            runningOnThread.withLock { $0[thread] = (pid, endpoint.client) }
        }
        defer { runningOnThread.withLock { $0[thread] = nil } }
        do {
            return try body(connection)
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error, host: endpoint.host.description)
        }
    }

    /// A transaction on one connection: BEGIN, `body`, COMMIT (ROLLBACK when it throws).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func transaction<T>(readOnly: Bool, deadlineNs: UInt64?, _ body: (any SQLSession) throws -> T) throws(StoreError) -> T {
        var waitMs = connectionWaitMs
        if let deadlineNs {
            let now = MonotonicClock.nowNs()
            guard now < deadlineNs else {
                throw .postgres(sqlState: nil, message: "gave up waiting to start the write", transient: true)
            }
            waitMs = max(1, min(waitMs, Int((deadlineNs - now) / 1_000_000)))
        }
        return try withConnection(timeoutMs: waitMs, forWrite: !readOnly) { session in
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
    static func storeError(_ error: any Error, host: CustomStringConvertible) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? PSQLError else {
            return .postgres(sqlState: nil, message: "\(error)", transient: true)
        }
        let where_ = host.description
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

    /// Waits for the connection, at most `timeoutMs`, and no longer once `giveUp` says so
    /// (asked every 100 ms); what arrives after the caller gave up goes straight back.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func take(timeoutMs: Int, giveUp: () -> Bool = { false }) -> Taken {
        let deadline = DispatchTime.now() + .milliseconds(timeoutMs)
        while arrived.wait(timeout: min(deadline, .now() + .milliseconds(100))) == .timedOut {
            if DispatchTime.now() >= deadline || giveUp() { break }
        }
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
    /// The server the connection is on: a statement stops waiting when a failover leaves it.
    let endpoint: PostgresEndpoint
    /// How long a statement may take here; the store's statement timeout when nil.
    var waitMs: Int?
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
        return try database.wait(timeoutMs: waitMs, on: endpoint, String(sql.prefix(60))) {
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
