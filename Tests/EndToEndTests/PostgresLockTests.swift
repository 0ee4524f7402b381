import Testing
import Foundation
import ActionsTestSupport
import ActionsDomain
import ActionsStore

/// The README's promise on PostgreSQL too: a failed login whose table another transaction holds
/// is answered 503 `store_unavailable` within about the busy timeout plus the write wait (4 s),
/// never after the statement timeout and a ROLLBACK queued behind it (10 s before).
@Suite(.serialized) struct PostgresLockTests {
    @Test func aLockedLoginFailuresTableIsAnswered503WithinThePromise() async throws {
        let harness = try ServerHarness(backend: .postgres)
        _ = try await harness.register("warmup@example.com")
        let url = harness.databasePath
        let held = try TestPostgres.hold("login_failures", in: url, seconds: 8)
        let start = Date()
        let answer = try await post(harness.url + "/v1/events", #"{"event":"authentication.password_failed","data":{"email":"held@example.com"}}"#)
        let seconds = Date().timeIntervalSince(start)
        #expect(answer.status == 503 && answer.json["error"] as? String == "store_unavailable", "\(answer.status) \(answer.json)")
        // Answered while the lock was still held (8 s): it gave up by its own bound (about 4 s),
        // not the lock's end; the bound leaves a busy machine 2 s.
        #expect(!held.isFinished && seconds < 6, "answered after \(seconds) s")
        print(String(format: "postgres lock: /v1/events answered %d after %.2f s", answer.status, seconds))
        // Decisions never waited on it.
        let decision = try await harness.register("during@example.com")
        #expect(decision.json["verdict"] as? String == "Allow")
        // While the table was held, and far quicker than the rest of the hold (about 4 s).
        #expect(!held.isFinished && decision.seconds < 2, "the decision took \(decision.seconds) s while the table was held")
        while !held.isFinished { try await Task.sleep(for: .milliseconds(100)) }
        let after = try await post(harness.url + "/v1/events", #"{"event":"authentication.password_failed","data":{"email":"held@example.com"}}"#)
        #expect(after.status == 200, "counted once the lock is gone")
    }
}
