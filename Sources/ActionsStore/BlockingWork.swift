import NIOPosix

/// Where work that can block (SQLite calls that may wait on another process's lock, file I/O)
/// runs when an async caller needs it: a small pool of dedicated threads, never Swift's
/// cooperative pool. That pool has one thread per core (two on our machines), so one SQLite call
/// waiting out a busy timeout there stalled every request in the process.
public enum BlockingWork {
    /// Eight threads: enough that a few writes stuck on a lock leave room for reads (settings
    /// reloads, retention), and still cheap. Started on first use.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    /// Runs `body` on the blocking pool and returns its result to the awaiting task. Throws what
    /// `body` throws, or CancellationError when the task was cancelled before the work started.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}

extension Store {
    /// Opens a store from async code without blocking the cooperative pool (opening may migrate,
    /// and a migration waits for other processes' locks).
    public static func open(path: String, access: Access = .single, create: Bool = true, readOnly: Bool = false,
                            busyTimeout: Double = 5, syncEveryCommit: Bool = false) async throws(StoreError) -> Store {
        do {
            return try await BlockingWork.run {
                try Store(path: path, access: access, create: create, readOnly: readOnly, busyTimeout: busyTimeout,
                          syncEveryCommit: syncEveryCommit)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }
}
