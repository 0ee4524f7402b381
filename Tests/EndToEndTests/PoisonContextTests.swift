import Testing
import Foundation
import ActionsTestSupport
import ActionsDomain
import ActionsStore

/// A `\u0000` in a context string cost PostgreSQL's COPY its whole batch: other people's events
/// were lost, and with durable events their clients were answered Deny (log_unavailable).
@Suite(.serialized) struct PoisonContextTests {
    @Test(arguments: StoreBackend.allCases) func aNulInAContextCostsNoOtherEvent(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend, extraArguments: ["--durable-events"])
        let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for n in 0..<40 {
                let agent = n % 8 == 3 ? #"bot\u0000\u0000evil"# : "client \(n)"
                group.addTask {
                    let answer = try await post(harness.url + "/v1/actions/user_registration",
                                                #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"u\#(n)@example.com"},"ip_address":"198.51.100.7","user_agent":"\#(agent)"}"#)
                    return (n, answer.json["verdict"] as? String)
                }
            }
            return try await group.reduce(into: [Int: String?]()) { $0[$1.0] = $1.1 }
        }
        #expect(answers.values.allSatisfy { $0 == "Allow" }, "\(answers)")
        let events = try await harness.waitForEvents(40)
        #expect(events.count == 40)
        let withNul = events.filter { $0.userAgent == "bot\0\0evil" }
        #expect(withNul.count == 5, "the NULs are stored as sent")
        let health = try await http("GET", harness.url + "/healthz").json
        #expect(health["status"] as? String == "ok" && health["events_rejected"] as? Int == 0, "\(health)")
    }
}
