import ActionsDomain
import NIOCore
import NIOPosix

/// Where the PostgreSQL work that blocking callers wait for runs: two threads of its own. Store
/// calls are synchronous (the SQLite side blocks by nature), and a caller that blocks the thread
/// it is on while a task does the work must not leave that task waiting for the same kind of
/// thread: with Swift's cooperative pool (two threads here), two blocked callers would starve
/// the tasks they wait for. Tasks given this executor as their preference run their code here.
final class BridgeExecutor: TaskExecutor, Sendable {
    static let shared = BridgeExecutor()

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        group.next().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
