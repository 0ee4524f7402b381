import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsTestSupport

/// Rules beyond deny lists, end to end: actionsctl writes them, a real server decides with them
/// over loopback HTTP, and the log says which rule decided.
@Suite(.serialized) struct RuleTests {
    @Test(arguments: StoreBackend.allCases) func anAllowEntryBeatsAnImportedDenyButNotALockout(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend, config: "[lockout]\nthreshold = 2\nlockout_seconds = 600\n")
        try harness.ctl("deny", "add", "domain", "proton.me")
        try harness.ctl("deny", "add", "domain", "blocked.example")
        try harness.ctl("allow", "add", "domain", "Proton.ME.", "--reason", "real users")
        try harness.ctl("allow", "add", "email", "qa@blocked.example")
        try await harness.settingsApplied()
        let proton = try await harness.register("ana@proton.me")
        #expect(proton.json["verdict"] as? String == "Allow")
        #expect(proton.json["rule_id"] as? Int == 3, "the allow entry is named as the deciding rule")
        #expect(try await harness.register("qa@blocked.example").json["verdict"] as? String == "Allow")
        #expect(try await harness.register("other@blocked.example").json["verdict"] as? String == "Deny")
        // A lockout wins over an allow entry.
        for _ in 0..<2 { _ = try await post(harness.url + "/v1/events", #"{"event":"authentication.password_failed","data":{"email":"ana@proton.me"}}"#) }
        let login = try await eventually(timeout: 3) {
            try await harness.authenticate("ana@proton.me").json["verdict"] as? String == "Deny"
        }
        #expect(login != nil, "an allow entry must not lift a lockout")
        let allowList = try harness.ctl("allow", "list", "--json")
        #expect(allowList.contains(#""value":"proton.me""#))
    }

    @Test(arguments: StoreBackend.allCases) func aRateRuleDeniesOverItsLimitWithItsMessage(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let added = try harness.ctl("rate", "add", "ip", "3/10m", "--action", "user_registration",
                                    "--message", "Too many sign-ups from your network")
        #expect(added.hasPrefix("added 1\trate ip 3/10m"))
        try await harness.settingsApplied()
        for i in 0..<3 { #expect(try await harness.register("u\(i)@example.com", ip: "203.0.113.9").json["verdict"] as? String == "Allow") }
        let fourth = try await harness.register("u3@example.com", ip: "::ffff:203.0.113.9")
        #expect(fourth.json["verdict"] as? String == "Deny", "an IPv4-mapped spelling is the same address")
        #expect(fourth.json["error_message"] as? String == "Too many sign-ups from your network")
        #expect(fourth.json["rule_id"] as? Int == 1)
        #expect(try await harness.register("v@example.com", ip: "203.0.113.10").json["verdict"] as? String == "Allow")
        #expect(try await harness.authenticate("u0@example.com", ip: "203.0.113.9").json["verdict"] as? String == "Allow",
                "the rule is scoped to sign-ups")
        let events = try harness.ctl("events", "--rule", "1", "--json").split(separator: "\n")
        #expect(events.count == 1)
        #expect(try harness.ctl("rate", "list").contains("1\tip\t3/10m\tuser_registration\tenforcing"))
        #expect(throws: (any Error).self) { try harness.ctl("rate", "add", "ip", "3/tenminutes") }
    }

    @Test(arguments: StoreBackend.allCases) func aShadowRuleLogsItsHitsAndPromotionMakesItEnforce(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        try harness.ctl("deny", "add", "domain", "spam.example", "--shadow")
        try harness.ctl("rate", "add", "domain", "1/10m", "--shadow")
        try await harness.settingsApplied()
        let first = try await harness.register("a@spam.example")
        #expect(first.json["verdict"] as? String == "Allow", "a shadow rule changes no verdict")
        #expect(first.json["shadow_rule_id"] as? Int == 1)
        let second = try await harness.register("b@ok.example")
        #expect(second.json["shadow_rule_id"] is NSNull)
        let third = try await harness.register("c@ok.example")
        #expect(third.json["verdict"] as? String == "Allow" && third.json["shadow_rule_id"] as? Int == 2)
        _ = try await harness.waitForEvents(3)
        let hits = try harness.ctl("events", "--shadow").split(separator: "\n")
        #expect(hits.count == 2 && hits.contains { $0.contains("would deny") })
        let listing = try harness.ctl("rule", "list", "--shadow")
        #expect(listing.contains("1\tdeny domain spam.example\tall\tshadow\tdecided=0\tshadow_hits=1"), "\(listing)")

        #expect(try harness.ctl("rule", "promote", "1").hasPrefix("promoted 1"))
        try await harness.settingsApplied()
        #expect(try await harness.register("d@spam.example").json["verdict"] as? String == "Deny")
        try harness.ctl("rule", "demote", "1")
        try await harness.settingsApplied()
        #expect(try await harness.register("e@spam.example").json["verdict"] as? String == "Allow")
        let audit = try harness.ctl("audit")
        #expect(audit.contains("rule.promote\trule 1: deny domain spam.example\tshadow\t->\tenforcing"))
        #expect(audit.contains("rule.demote\trule 1: deny domain spam.example\tenforcing\t->\tshadow"))
        #expect(throws: (any Error).self) { try harness.ctl("rule", "promote", "99") }
    }

    /// The CC0 disposable-domain list the `disposable-email-domains` package ships, imported and
    /// re-imported: a source's entries are replaced atomically, other entries are untouched.
    @Test(arguments: StoreBackend.allCases) func importingTheDisposableDomainListAndReimportingIt(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let list = try run("/usr/bin/env", ["python3", "-c",
                                            "import disposable_email_domains as d; print('# CC0 list\\n' + '\\n'.join(sorted(d.blocklist)))"])
        try #require(list.status == 0, "install disposable-email-domains: \(list.stderr)")
        let listed = list.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        try #require(listed.count > 1000 && listed.contains("mailinator.com"))
        let file = harness.directory.appendingPathComponent("disposable.txt")
        try list.stdout.write(to: file, atomically: true, encoding: .utf8)

        try harness.ctl("deny", "add", "domain", "manual.example")
        let dryRun = try run(Paths.binary("actionsctl"), ["deny", "import", "--kind", "domain", "--source", "disposable", file.path, "--dry-run"],
                             environment: ["ACTIONS_DB": harness.databasePath])
        let dry = dryRun.stdout
        // A few names UTS #46 refuses (an emoji label, IDNA2003-only) are reported, one line each, and skipped.
        let refused = dryRun.stderr.split(separator: "\n")
        #expect(refused.count < 10 && refused.allSatisfy { $0.contains("skipped: not an email domain") }, "\(dryRun.stderr)")
        let domains = listed.filter { domain in !refused.contains { $0.contains(" \(domain) is not a domain") } }
        #expect(domains.count == listed.count - refused.count)
        #expect(dry.contains("would import source disposable:\t\(domains.count) added, 0 removed"), "\(dry.suffix(200))")
        #expect(try await BlockingWork.run { try harness.store().listEntries(.deny).count } == 1, "a dry run changes nothing")
        let imported = try harness.ctl("deny", "import", "--kind", "domain", "--source", "disposable", file.path)
        #expect(imported.contains("\(domains.count) added, 0 removed, 0 unchanged, \(refused.count) lines skipped"), "\(imported)")
        try harness.ctl("allow", "add", "domain", "mailinator.com")
        try await harness.settingsApplied()
        #expect(try await harness.register("x@\(domains[domains.count / 2])").json["verdict"] as? String == "Deny")
        #expect(try await harness.register("x@mailinator.com").json["verdict"] as? String == "Allow", "the allow entry wins")

        // Re-import a smaller list from stdin: what it dropped goes, the rest stays, nothing else moves.
        let kept = domains.prefix(domains.count - 10).joined(separator: "\n") + "\nnot a domain!\n"
        let second = try run(Paths.binary("actionsctl"), ["deny", "import", "--kind", "domain", "--source", "disposable", "-"],
                             stdin: Array(kept.utf8), environment: ["ACTIONS_DB": harness.databasePath])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("0 added, 10 removed, \(domains.count - 10) unchanged, 1 lines skipped"), "\(second.stdout)")
        #expect(second.stderr.contains("line \(domains.count - 9): skipped"), "\(second.stderr)")
        let entries = try await BlockingWork.run { try harness.store().listEntries(.deny) }
        #expect(entries.count == domains.count - 10 + 1)
        #expect(entries.contains { $0.value == "manual.example" && $0.source == nil })
        #expect(try harness.ctl("audit").contains("deny.import\tsource disposable (domain)"))
    }

    @Test(arguments: StoreBackend.allCases) func replayAndPreviewSayWhatARuleWouldChange(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        for (email, ip) in [("a@new-spam.example", "192.0.2.1"), ("b@new-spam.example", "192.0.2.1"), ("a@new-spam.example", "192.0.2.2"),
                            ("c@fine.example", "192.0.2.3")] {
            _ = try await harness.register(email, ip: ip)
        }
        _ = try await harness.waitForEvents(4)
        let preview = try harness.ctl("deny", "add", "domain", "new-spam.example", "--preview")
        #expect(preview.contains("would have denied 3 of the last 24 h's allowed attempts (2 distinct users)"), "\(preview)")
        #expect(try await BlockingWork.run { try harness.store().listEntries(.deny).isEmpty }, "a preview adds nothing")
        let ratePreview = try harness.ctl("rate", "add", "ip", "1/1h", "--preview")
        #expect(ratePreview.contains("would have denied 1 of the last 24 h's allowed attempts (1 distinct user)"), "\(ratePreview)")

        try harness.ctl("deny", "add", "domain", "new-spam.example")
        let replay = try harness.ctl("replay", "--since", "1h")
        #expect(replay.contains("replayed 4 decisions"))
        #expect(replay.contains(": 3 verdicts would change"))
        #expect(replay.contains("rule 1\tdeny domain new-spam.example\twould deny 3 allowed (2 users)"), "\(replay)")
    }

    @Test(arguments: StoreBackend.allCases) func aTestActionPrintsItsTraceAndIsLoggedAsATest(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        let endpoint = try startExampleEndpoint()
        try harness.ctl("endpoint", "set", "user_registration", endpoint.baseURL + "/hook/allow")
        try harness.ctl("deny", "add", "ip", "203.0.113.0/24")
        try harness.ctl("rate", "add", "ip", "1/10m")
        try await harness.settingsApplied()
        let ctl = Paths.binary("actionsctl")
        let allowed = try run(ctl, ["test", "user_registration", "--email", "ana@example.com", "--ip", "198.51.100.4",
                                    "--user-agent", "curl/8", "--server", harness.url])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("deny entries\tno match"))
        #expect(allowed.stdout.contains("rate rules\trule 2 (rate ip 1/10m): 0 of 1 in the window"))
        #expect(allowed.stdout.contains("endpoint\t\(endpoint.baseURL)/hook/allow: HTTP 200"), "\(allowed.stdout)")
        #expect(allowed.stdout.contains("verdict\tAllow"))
        // Tests do not count toward rate rules: the same address is still allowed. Without
        // --server, the server is found in the database's heartbeats (where each node listens).
        let deadline = Date().addingTimeInterval(5)
        while try await BlockingWork.run({ try harness.store().nodes().first?.url }) == nil && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let again = try run(ctl, ["test", "user_registration", "--email", "ana@example.com", "--ip", "198.51.100.4", "--db", harness.databasePath])
        #expect(again.stdout.contains("0 of 1 in the window") && again.stdout.contains("verdict\tAllow"), "\(again.stdout)\(again.stderr)")
        let denied = try run(ctl, ["test", "user_registration", "--email", "eve@example.com", "--ip", "203.0.113.7", "--server", harness.url])
        #expect(denied.stdout.contains("deny entries\tmatched rule 1 (deny ip 203.0.113.0/24, scope all)"))
        #expect(denied.stdout.contains("endpoint\tnot called: local policy denied"))
        #expect(denied.stdout.contains("verdict\tDeny\trule 1"))

        let events = try await harness.waitForEvents(3)
        #expect(events.count == 3 && events.allSatisfy(\.isTest))
        #expect(try harness.ctl("events", "--exclude-tests") == "(no events match)\n")
        // A dead server: the error says what was tried, and why there, in words.
        let port = freePort()
        let unreachable = try run(ctl, ["test", "user_registration", "--email", "a@b.c", "--server", "http://127.0.0.1:\(port)"])
        #expect(unreachable.status == 75, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("no server answered; tried http://127.0.0.1:\(port) (--server): connection refused"),
                "\(unreachable.stderr)")
        #expect(!unreachable.stderr.contains("error set"), "\(unreachable.stderr)")
    }
}
