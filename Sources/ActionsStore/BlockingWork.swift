import ActionsDomain
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Where work that can block (SQLite calls that may wait on another process's lock, file I/O)
/// runs when an async caller needs it: a small pool of dedicated threads, never Swift's
/// cooperative pool. That pool has one thread per core (two on our machines), so one SQLite call
/// waiting out a busy timeout there stalled every request in the process.
package enum BlockingWork {
    /// Eight threads: enough that a few writes stuck on a lock leave room for reads (settings
    /// reloads, retention), and still cheap. Started on first use.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    /// Runs `body` on the blocking pool and returns its result to the awaiting task. Throws what
    /// `body` throws, or CancellationError when the task was cancelled before the work started.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// One more thread of the same kind, at the lowest CPU priority Linux has (`SCHED_IDLE`: a
    /// weight of 3 against a normal thread's 1024), for work that must never take CPU from
    /// decisions: the search indexer on SQLite. Under saturation it gets a fraction of a percent
    /// of a core, so the index falls behind, and it catches up when the load falls. Whatever it
    /// holds (a transaction, a lock) is held that much longer: keep its units of work small.
    private static let idlePool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()

    /// Runs `body` on the idle-priority thread; see `run`.
    package static func runWhenIdle<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await idlePool.runIfActive {
            IdlePriority.adopt()
            return try body()
        }
    }
}

/// The calling thread's CPU policy set to `SCHED_IDLE` (no privilege needed to lower it).
package enum IdlePriority {
    /// Linux's value (uapi sched.h); glibc declares it only under _GNU_SOURCE, which Swift's
    /// Glibc module does not import.
    static let schedIdle: Int32 = 5

    /// Idempotent, one cheap system call; a refusal (a seccomp filter, say) leaves the thread at
    /// normal priority, which is what it had.
    package static func adopt() {
        var parameters = sched_param()
        parameters.sched_priority = 0
        _ = sched_setscheduler(0, schedIdle, &parameters)
    }

    /// Whether the calling thread runs under `SCHED_IDLE`.
    package static var isCurrent: Bool { sched_getscheduler(0) == schedIdle }
}

extension Store {
    /// Opens a store from async code without blocking the cooperative pool (opening may migrate,
    /// and a migration waits for other processes' locks).
    package static func open(path: String, access: Access = .single, create: Bool = true, readOnly: Bool = false,
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
