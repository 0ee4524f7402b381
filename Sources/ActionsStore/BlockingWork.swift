import ActionsDomain
import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The threading model in one place (README, "Threads"): async code never blocks, and blocking
/// code runs only on threads made here. Work that can block (SQLite calls that may wait on
/// another process's lock, file I/O) runs, when an async caller needs it, on a small pool of
/// dedicated threads, never on Swift's cooperative pool. That pool has one thread per core (two
/// on our machines), so one SQLite call waiting out a busy timeout there stalled every request in
/// the process. The store's blocking API is `@available(*, noasync)`: async code cannot call it
/// except inside `run`.
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

extension BlockingWork {
    /// A long-lived loop that blocks (the event writer, the dashboard's UI thread and its store
    /// lanes) gets a named thread of its own, made here and nowhere else: a loop parked on the
    /// pool above would hold one of its eight threads for the life of the process.
    /// `name`: at most 15 bytes, which is all Linux keeps (a longer name is refused whole).
    package static func startThread(named name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "thread name \(name) is longer than Linux allows")
        let thread = Thread {
            // The name `top -H`, perf and /proc show. Set from the thread itself: Foundation's
            // `Thread.name` set before the start never reached the kernel, and the thread kept its
            // creator's name (the writer showed as a cooperative pool thread). Linux takes at
            // most 15 bytes.
            Thread.current.name = name
            body()
        }
        thread.name = name
        if let stackSize { thread.stackSize = stackSize }
        thread.start()
    }

    /// `body` on a thread of its own (see `startThread`), awaited: returns or throws what it does.
    package static func runOnThread<T: Sendable>(named name: String, stackSize: Int? = nil,
                                                 _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            startThread(named: name, stackSize: stackSize) { continuation.resume(with: Result { try body() }) }
        }
    }

    /// The same for a body that cannot fail.
    package static func runOnThread(named name: String, _ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { continuation in
            startThread(named: name) { body(); continuation.resume() }
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
