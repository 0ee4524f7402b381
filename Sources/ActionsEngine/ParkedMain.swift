import Dispatch

/// Runs `body` on Swift's global executor while the main thread waits on a semaphore, then
/// returns. The servers start this way instead of with an `async` main: an async main gives the
/// main thread to `dispatch_main()`, and valgrind 3.19 crashes on the signal thread that makes,
/// so the instruction counts `actions-bench server --instructions` takes need this entry point.
/// Nothing here runs on the main actor, so parking its thread costs nothing.
@available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
package func runWithMainThreadParked(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    // Detached: a plain Task started from `main` would inherit the main actor and wait forever
    // for the thread parked below.
    Task.detached {
        await body()
        done.signal()
    }
    done.wait()
}
