import Testing
import Foundation
import ActionsDomain
import ActionsStore
#if canImport(Glibc)
import Glibc
#endif

/// The two lanes for blocking work: the pool at normal priority, and the indexer's thread at
/// SCHED_IDLE, which the kernel runs only when a core would otherwise idle.
@Suite struct BlockingWorkTests {
    @Test func theIdleLaneRunsAtIdlePriorityAndThePoolDoesNot() async throws {
        #expect(try await BlockingWork.runWhenIdle { IdlePriority.isCurrent })
        #expect(try await BlockingWork.run { IdlePriority.isCurrent } == false)
        // Neither lane is the caller's thread, and the idle lane is one thread of its own.
        let idleThreads = try await withThrowingTaskGroup(of: UInt.self) { group in
            for _ in 0..<8 { group.addTask { try await BlockingWork.runWhenIdle { UInt(bitPattern: Int(bitPattern: pthread_self())) } } }
            return try await group.reduce(into: Set<UInt>()) { $0.insert($1) }
        }
        #expect(idleThreads.count == 1)
        let poolThread = try await BlockingWork.run { UInt(bitPattern: Int(bitPattern: pthread_self())) }
        #expect(!idleThreads.contains(poolThread))
    }

    @Test func errorsComeBackFromTheIdleLane() async {
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await BlockingWork.runWhenIdle { throw Refused() } }
    }
}
