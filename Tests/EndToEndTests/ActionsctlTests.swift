import Testing
import Foundation
import ActionsDomain
import ActionsStore
import ActionsTestSupport

/// actionsctl as a person types it, and as a script reads it.
@Suite(.serialized) struct ActionsctlTests {
    @Test(arguments: StoreBackend.allCases) func globalOptionsBeforeTheSubcommandAndFriendlyEmptyLists(_ backend: StoreBackend) throws {
        let harness = try ServerHarness(backend: backend)
        let ctl = Paths.binary("actionsctl")
        let before = try run(ctl, ["--db", harness.databasePath, "deny", "list"], environment: ["ACTIONS_DB": "/nonexistent.db"])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout == "(no deny-list entries)\n")
        let equals = try run(ctl, ["--db=\(harness.databasePath)", "lockouts", "list"], environment: ["ACTIONS_DB": "/nonexistent.db"])
        #expect(equals.stdout == "(nobody is locked out)\n", "\(equals.stderr)")
        #expect(try harness.ctl("events") == "(no events match)\n")
        #expect(try harness.ctl("deny", "list", "--json") == "", "an empty JSON listing prints nothing")
    }

    @Test(arguments: StoreBackend.allCases) func everyListingHasJSON(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        try harness.ctl("deny", "add", "domain", "spam.example", "--reason", "r")
        _ = try await post(harness.url + "/v1/events", #"{"event":"authentication.password_failed","data":{"email":"a@b.io"}}"#)
        _ = try await harness.register("x@example.com")
        _ = try await harness.waitForEvents(1)
        try harness.ctl("allow", "add", "email", "ok@spam.example")
        try harness.ctl("rate", "add", "ip", "20/10m")
        for listing in [["deny", "list"], ["allow", "list"], ["rate", "list"], ["rule", "list"], ["replay"], ["lockouts", "list", "--all"],
                        ["events"], ["audit"], ["circuit"], ["mode", "get"], ["endpoint", "get"]] {
            let output = try harness.ctl(listing + ["--json"]).split(separator: "\n")
            #expect(!output.isEmpty, "\(listing)")
            for line in output {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object != nil, "\(listing): \(line)")
                // One style for scripts: snake_case keys everywhere, as the HTTP API.
                for key in object.map({ Array($0.keys) }) ?? [] where key != key.lowercased() {
                    Issue.record("\(listing): key \(key) is not snake_case")
                }
            }
        }
    }

    /// A runtime failure is not a usage error: its own message and a sysexits status, no usage text.
    @Test func runtimeFailuresExitWithSysexitsStatusesAndNoUsage() throws {
        let ctl = Paths.binary("actionsctl")
        let missing = try run(ctl, ["--db", "/nonexistent/actions.db", "deny", "list"])
        #expect(missing.status == 66, "\(missing.status) \(missing.stderr)")
        #expect(!missing.stderr.contains("Usage") && missing.stderr.contains("/nonexistent/actions.db"), "\(missing.stderr)")
        let harness = try ServerHarness()
        let refused = try run(ctl, ["deny", "remove", "no-such.example"], environment: ["ACTIONS_DB": harness.databasePath])
        #expect(refused.status == 65 && !refused.stderr.contains("Usage"), "\(refused.status) \(refused.stderr)")
        // A value no rule can hold is refused the same way, its text shown escaped.
        for arguments in [["deny", "add", "ip", "bogus\u{1b}[31m"], ["rate", "add", "ip", "0/1m"]] {
            let invalid = try run(ctl, arguments, environment: ["ACTIONS_DB": harness.databasePath])
            #expect(invalid.status == 65 && !invalid.stderr.contains("Usage") && !invalid.stderr.contains("\u{1b}"),
                    "\(arguments): \(invalid.status) \(invalid.stderr)")
        }
        let usage = try run(ctl, ["deny", "add"], environment: ["ACTIONS_DB": harness.databasePath])
        #expect(usage.status == 64 && usage.stderr.contains("Usage"), "\(usage.status) \(usage.stderr)")
    }

    /// `--action` on deny, allow and rate alike (`--scope` stays), with the dashboard's short names.
    @Test func actionNamesTheScopeEverywhere() throws {
        let harness = try ServerHarness()
        try harness.ctl("deny", "add", "domain", "one.example", "--action", "reg")
        try harness.ctl("allow", "add", "email", "ok@one.example", "--scope", "auth")
        try harness.ctl("rate", "add", "ip", "20/10m", "--action", "auth")
        #expect(try harness.ctl("deny", "list").contains("user_registration"))
        #expect(try harness.ctl("allow", "list").contains("authentication"))
        #expect(try harness.ctl("rate", "list").contains("authentication"))
        let disagree = try run(Paths.binary("actionsctl"), ["deny", "add", "domain", "two.example", "--scope", "auth", "--action", "reg"],
                               environment: ["ACTIONS_DB": harness.databasePath])
        #expect(disagree.status != 0 && disagree.stderr.contains("disagree"), "\(disagree.stderr)")
    }
}

/// `actionsctl events --search` on a log the index has not reached: it scans in steps, and
/// Ctrl-C stops it between them with what it found, instead of killing it mid-scan.
@Suite struct SearchInterruptTests {
    @Test func ctrlCStopsALongSearchWithWhatItFound() async throws {
        let directory = Paths.temporaryDirectory()
        // 650 MB: gone when the test ends, not when the whole run does.
        defer { Scratch.remove(directory) }
        let path = directory.appendingPathComponent("big.db").path
        // Made and closed on the blocking thread, before the fill starts: a store handed back and
        // dropped here was closed by whichever thread let it go last, at times while sqlite3 was
        // opening the file ("database is locked" in a full run).
        try await BlockingWork.run { _ = try Store(path: path) }
        // 3 million rows, none indexed; the newest names the needle.
        let fill = try run("/usr/bin/sqlite3", ["-cmd", ".timeout 10000", path, """
            WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 3000000)
            INSERT INTO events (uid, ts_ms, action_type, action_id, email, email_domain, ip, verdict, decided_by, reason, outcome,
                latency_us, error_mode, failed)
            SELECT 'evt_' || n, 1700000000000 + n, 'user_registration', 'act_' || n, 'user' || n || '@example.com', 'example.com',
                '198.51.100.' || (n % 250), 'Allow', 'endpoint', CASE n WHEN 3000000 THEN 'needle zq' ELSE 'endpoint Allow' END,
                'ok', 1000, 'fail-closed', 0 FROM seq;
            """])
        #expect(fill.status == 0, "\(fill.stderr)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.binary("actionsctl"))
        // A two-letter search has no trigram: it scans every row, 100,000 at a time.
        process.arguments = ["events", "--db", path, "--search", "zz", "--limit", "5"]
        let errors = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(400))
        #expect(process.isRunning, "the scan of 3M rows ended within 0.4 s: nothing to interrupt")
        kill(process.processIdentifier, SIGINT)
        let start = Date()
        process.waitUntilExit()
        let stderr = try String(contentsOf: errors, encoding: .utf8)
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(process.terminationReason) \(stderr)")
        #expect(Date().timeIntervalSince(start) < 2, "it stops between steps, not at the end")
        #expect(stderr.contains("stopped by Ctrl-C (scanned") && stderr.contains("of 3000000 rows not in the index"), "\(stderr)")
        // Uninterrupted, the same search finds the newest match by scanning from the newest rows.
        let found = try run(Paths.binary("actionsctl"), ["events", "--db", path, "--search", "zq", "--limit", "1"])
        #expect(found.status == 0 && found.stdout.contains("needle zq"), "\(found.stdout)\(found.stderr)")
    }
}
