import Foundation

/// The two store backends, for tests that run against each (`@Test(arguments: StoreBackend.allCases)`).
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    public var description: String { rawValue }

    /// A fresh, empty database: a file path, or the URL of a new PostgreSQL database.
    public func newDatabase() throws -> String {
        switch self {
        case .sqlite:
            return Scratch.directory("sqlite").appendingPathComponent("actions.db").path
        case .postgres:
            return try TestPostgres.newDatabase()
        }
    }
}

/// The PostgreSQL cluster the tests use: the one `.ci/run` started (ACTIONS_TEST_POSTGRES_URL,
/// and ACTIONS_TEST_POSTGRES_DIR for restarts), or else one this test process starts itself with
/// `scripts/pg-cluster` and stops when it exits. A test that needs PostgreSQL fails with the
/// reason when neither works; it never skips.
public enum TestPostgres {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    struct Cluster: Sendable {
        var url: String
        var directory: String
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let cluster: Result<Cluster, Unavailable> = {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["ACTIONS_TEST_POSTGRES_URL"], !url.isEmpty {
            return .success(Cluster(url: url, directory: environment["ACTIONS_TEST_POSTGRES_DIR"] ?? ""))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("actions-test-pg-\(getpid())").path
        let port = 20_000 + Int(getpid() % 20_000)
        let started = command(repository.appendingPathComponent("scripts/pg-cluster").path, ["start", directory, "\(port)"])
        guard started.status == 0 else {
            return .failure(Unavailable(description: "could not start a PostgreSQL cluster for the tests (scripts/pg-cluster): \(started.output)"))
        }
        ownedDirectory = directory
        atexit {
            if let directory = TestPostgres.ownedDirectory {
                _ = TestPostgres.command(TestPostgres.repository.appendingPathComponent("scripts/pg-cluster").path, ["stop", directory])
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        return .success(Cluster(url: started.output.trimmingCharacters(in: .whitespacesAndNewlines), directory: directory))
    }()

    nonisolated(unsafe) static var ownedDirectory: String?

    /// Another session holds `table` in ACCESS EXCLUSIVE mode for `seconds` (a thread runs psql);
    /// returns once the lock is held. Wait for the thread to finish before the test ends.
    public static func hold(_ table: String, in url: String, seconds: Int) throws -> Thread {
        let holder = Thread {
            _ = command("/usr/bin/psql", [url, "-qAt", "-c", "BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(\(seconds)); COMMIT;"])
        }
        holder.start()
        for _ in 0..<100 {
            let held = command("/usr/bin/psql", [url, "-qAt", "-c", """
                SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                WHERE c.relname = '\(table)' AND l.granted AND l.mode = 'AccessExclusiveLock'
                """])
            if held.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return holder }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Unavailable(description: "psql did not take the lock on \(table)")
    }

    /// The cluster's data directory (where a test may put files the server reads).
    public static func directory() throws -> String {
        let directory = try cluster.get().directory
        guard !directory.isEmpty else { throw Unavailable(description: "ACTIONS_TEST_POSTGRES_DIR is not set") }
        return directory
    }

    /// Runs SQL as the cluster's superuser; throws with psql's output when it fails.
    @discardableResult
    public static func sql(_ statement: String) throws -> String {
        let result = command("/usr/bin/psql", [try url(), "-qAt", "-c", statement])
        guard result.status == 0 else { throw Unavailable(description: "psql \(statement): \(result.output)") }
        return result.output
    }

    /// The cluster's `actions` database URL (the administrative one tests create others from).
    public static func url() throws -> String { try cluster.get().url }

    /// Creates an empty database and returns its URL. `options` are CREATE DATABASE's own
    /// (`TEMPLATE template0 LOCALE 'C'` for a database that folds ASCII alone).
    public static func newDatabase(options: String = "") throws -> String {
        let base = try url()
        let name = "actions_t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let created = command("/usr/bin/psql", [base, "-qAt", "-c", "CREATE DATABASE \(name) \(options)"])
        guard created.status == 0 else { throw Unavailable(description: "CREATE DATABASE failed: \(created.output)") }
        guard var components = URLComponents(string: base) else { throw Unavailable(description: "bad URL \(base)") }
        components.path = "/" + name
        return components.string ?? base
    }

    /// Restarts the server (fast shutdown, then start): connections drop, data stays.
    public static func restart() throws {
        let directory = try cluster.get().directory
        guard !directory.isEmpty else { throw Unavailable(description: "ACTIONS_TEST_POSTGRES_DIR is not set; cannot restart") }
        let restarted = command(repository.appendingPathComponent("scripts/pg-cluster").path, ["restart", directory])
        guard restarted.status == 0 else { throw Unavailable(description: "restart failed: \(restarted.output)") }
    }

    /// Stops the server (for outage tests); `start()` brings it back on the same port and data.
    public static func stop() throws {
        let directory = try cluster.get().directory
        let stopped = command(repository.appendingPathComponent("scripts/pg-cluster").path, ["stop", directory])
        guard stopped.status == 0 else { throw Unavailable(description: "stop failed: \(stopped.output)") }
    }

    public static func start() throws {
        let cluster = try cluster.get()
        let port = URLComponents(string: cluster.url)?.port ?? 5432
        let started = command(repository.appendingPathComponent("scripts/pg-cluster").path, ["start", cluster.directory, "\(port)"])
        guard started.status == 0 else { throw Unavailable(description: "start failed: \(started.output)") }
    }

    /// Runs a command with posix_spawn and waitpid, its output in a file rather than a pipe: the
    /// PostgreSQL server a script starts may inherit a pipe's write end and keep it open, and
    /// Foundation's Process sometimes never noticed such a script's exit (it stayed a zombie).
    public static func command(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("actions-cmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // No signal blocked or ignored in the child, whatever this test thread has.
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard spawned == 0 else { return (127, "\(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
    }
}
