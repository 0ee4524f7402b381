import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The Prometheus alerting rules shipped in packaging/prometheus: valid (`promtool check rules`),
/// firing on what should page and quiet otherwise (`promtool test rules`, the unit tests beside
/// them), and naming only metrics a running server exports.
@Suite struct AlertRulesTests {
    static let directory = Paths.root.appendingPathComponent("packaging/prometheus")
    static let rules = directory.appendingPathComponent("actions.rules.yml").path

    func promtool(_ arguments: String...) throws -> RunResult {
        // .ci/run installs Debian's prometheus package for promtool.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else {
            throw TestFailure("promtool is not installed (apt-get install prometheus)")
        }
        return try run("/usr/bin/promtool", arguments)
    }

    @Test func theRulesAreValidAndTheirUnitTestsPass() throws {
        let check = try promtool("check", "rules", Self.rules)
        #expect(check.status == 0 && check.stdout.contains("SUCCESS: 7 rules found"), "\(check.stdout)\(check.stderr)")
        let test = try promtool("test", "rules", Self.directory.appendingPathComponent("actions.rules.test.yml").path)
        #expect(test.status == 0 && test.stdout.contains("SUCCESS"), "\(test.stdout)\(test.stderr)")
        for alert in ["ActionsCircuitOpen", "ActionsEndpointFailing", "ActionsEventsDropped", "ActionsEventLogUnavailable",
                      "ActionsSearchIndexBehind", "ActionsNodeSilent", "ActionsDenyRateSpike"] {
            #expect(try String(contentsOfFile: Self.rules, encoding: .utf8).contains("alert: \(alert)"))
        }
    }

    /// A renamed metric would leave its alert silent forever: every `actions_` name in the rules
    /// is in a live server's /metrics.
    @Test func everyMetricTheRulesNameIsExported() async throws {
        let text = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let names = Set(text.matches(of: /actions_[a-z_]+/).map { String($0.output) })
        #expect(names.count >= 9, "\(names.sorted())")
        let harness = try ServerHarness()
        _ = try await harness.register("someone@example.com")
        // The indexer reports its lag within a second of starting.
        var metrics = ""
        let reported = await eventually(timeout: 5) {
            metrics = (try? await http("GET", harness.url + "/metrics").text) ?? ""
            return metrics.contains("actions_search_index_lag_seconds ")
        }
        #expect(reported != nil, "no lag gauge in /metrics: \(metrics)")
        for name in names.sorted() {
            #expect(metrics.split(separator: "\n").contains { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }, "\(name) is not exported")
        }
        #expect(harness.server.stop() == 0)
    }
}

/// /healthz says when the search index is far behind (searches still answer, slower), and stops
/// saying it once the indexer caught up.
@Suite struct SearchLagHealthTests {
    @Test func healthNamesAnIndexFarBehindUntilItCatchesUp() async throws {
        let harness = try ServerHarness()
        // Events decided ten minutes ago, written by another process: the index has not seen them.
        let old = WallClock.nowMs() - 600_000
        try await BlockingWork.run {
            try harness.store().insert((0..<5).map { n in
                Event(timeMs: old + Int64(n), actionType: .userRegistration, actionId: "old_\(n)", email: "old\(n)@example.com",
                      verdict: .allow, decidedBy: .allowDefault)
            })
        }
        var problems: [String] = []
        let behind = await eventually(timeout: 5) {
            problems = (try? await http("GET", harness.url + "/healthz").json["problems"] as? [String]) ?? []
            return problems.contains { $0.hasPrefix("search index") && $0.contains("5 events") }
        }
        #expect(behind != nil, "\(problems)")
        // The indexer takes a batch within 10 s: then the problem goes.
        let caughtUp = await eventually(timeout: 20) {
            (try? await http("GET", harness.url + "/healthz").json["status"] as? String) == "ok"
        }
        #expect(caughtUp != nil)
        let metrics = try await http("GET", harness.url + "/metrics").text
        #expect(metrics.contains("actions_search_index_lag_events 0"), "\(metrics.split(separator: "\n").filter { $0.contains("lag") })")
    }
}
