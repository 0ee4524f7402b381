import Testing
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// kill -9 under load, again and again, on one database file.
@Suite(.serialized) struct CrashTests {
    struct Answered: Sendable {
        var eventID: String
        var atNs: UInt64
    }

    final class Collected: Sendable {
        let answers = Mutex<[Answered]>([])
    }

    /// One server life: start, load from 8 clients, SIGKILL after `lifetimeMs`; returns every answer received.
    static func liveAndDie(path: String, durable: Bool, lifetimeMs: Int) async throws -> (answers: [Answered], killedAtNs: UInt64) {
        var arguments = ["--db", path, "--port", "0", "--log-level", "error"]
        if durable { arguments.append("--durable-events") }
        let server = try ServiceProcess(Paths.binary("actions-server"), arguments, environment: ["ACTIONS_SECRET": ServerHarness.secret])
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        let session = URLSession(configuration: configuration)
        let collected = Collected()
        let url = server.baseURL + "/v1/actions/user_registration"
        let load = Task { [session] in
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        var n = 0
                        while true {
                            n += 1
                            guard let answer = try? await post(url, #"{"user_data":{"email":"c\#(client)n\#(n)@example.com"}}"#, session: session),
                                  answer.status == 200, let id = answer.json["event_id"] as? String else { return }
                            let now = MonotonicClock.nowNs()
                            collected.answers.withLock { $0.append(Answered(eventID: id, atNs: now)) }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(lifetimeMs))
        server.kill()
        // After the kill returned (the process is gone), so every answer came before it.
        let killedAt = MonotonicClock.nowNs()
        // The clients stop at their first failed request. (Cancelling a task that awaits
        // URLSession deadlocked FoundationNetworking on Linux.)
        await load.value
        session.invalidateAndCancel()
        return (collected.answers.withLock { $0 }, killedAt)
    }

    /// Opens the file as the next start would (recovery included), checks it, and returns which answered ids are missing.
    static func missing(_ answers: [Answered], path: String) throws -> [Answered] {
        _ = try Store(path: path, create: false)
        // The file itself, through GRDB: the store's own connection is not for inspection.
        let file = try DatabaseQueue(path: path)
        let integrity = try file.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
        #expect(integrity == "ok")
        let logged = try file.read { db in Set(try String.fetchAll(db, sql: "SELECT uid FROM events")) }
        return answers.filter { !logged.contains($0.eventID) }
    }

    @Test func durableModeKeepsEveryAnsweredDecisionThroughTwentyKills() async throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("crash.db").path
        var answeredTotal = 0
        for cycle in 0..<20 {
            let (answers, _) = try await Self.liveAndDie(path: path, durable: true, lifetimeMs: 400 + (cycle % 5) * 60)
            #expect(answers.count > 10, "cycle \(cycle): the server answered under load (\(answers.count))")
            answeredTotal += answers.count
            let lost = try Self.missing(answers, path: path)
            #expect(lost.isEmpty, "cycle \(cycle): \(lost.count) answered decisions missing after kill -9")
        }
        print("durable mode: \(answeredTotal) answered decisions over 20 kill -9 cycles, 0 missing")
    }

    @Test func backgroundModeLosesOnlyTheLastMomentsBeforeAKill() async throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("crash.db").path
        var lostTotal = 0, answeredTotal = 0
        var window: UInt64 = 0
        for cycle in 0..<5 {
            let (answers, killedAt) = try await Self.liveAndDie(path: path, durable: false, lifetimeMs: 500 + cycle * 50)
            answeredTotal += answers.count
            let lost = try Self.missing(answers, path: path)
            lostTotal += lost.count
            if let oldest = lost.map(\.atNs).min(), oldest < killedAt { window = max(window, killedAt - oldest) }
        }
        print("background mode: lost \(lostTotal) of \(answeredTotal) answered decisions over 5 kill -9 cycles; worst loss window \(window / 1_000_000) ms before the kill")
        // The writer commits within its 2 ms gathering window plus the commit itself.
        #expect(window < 250_000_000, "lost decisions answered up to \(window / 1_000_000) ms before the kill")
    }
}
