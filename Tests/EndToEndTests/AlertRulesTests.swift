import Testing
import Foundation

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
