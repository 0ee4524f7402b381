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

    /// A thread BlockingWork makes carries its name where operators look (`top -H`, perf,
    /// /proc): the event writer's showed as one of Swift's pool threads before.
    @Test func aThreadCarriesItsNameToTheKernel() async throws {
        let name = "t-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let seen = try await BlockingWork.runOnThread(named: name) {
            try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(seen == name)
    }

    @Test func errorsComeBackFromTheIdleLane() async {
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await BlockingWork.runWhenIdle { throw Refused() } }
    }
}
