import Testing
import Foundation
import ActionsDomain
import ActionsStore

/// The installed layout's access rule: the service's state directory belongs to a group (2770);
/// the database made in it is 0660 in that group, with its -wal, -shm and -search files; an
/// operator in the group runs actions-top and actionsctl on it, and anyone else cannot read it.
/// Needs root to make the users and the group (CI runs as root).
@Suite(.serialized, .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd"),
                             "needs root and useradd to make an operator and an outsider"))
struct OperatorAccessTests {
    @Test func anOperatorInTheGroupRunsTheToolsAndAnOutsiderCannotReadTheLog() async throws {
        let suffix = String(UUID().uuidString.lowercased().prefix(6))
        let group = "actg\(suffix)", inside = "opin\(suffix)", outside = "opout\(suffix)"
        try #require(try run("/usr/sbin/groupadd", [group]).status == 0)
        defer { _ = try? run("/usr/sbin/groupdel", [group]) }
        try #require(try run("/usr/sbin/useradd", ["-M", "-s", "/bin/sh", "-G", group, inside]).status == 0)
        defer { _ = try? run("/usr/sbin/userdel", [inside]) }
        try #require(try run("/usr/sbin/useradd", ["-M", "-s", "/bin/sh", outside]).status == 0)
        defer { _ = try? run("/usr/sbin/userdel", [outside]) }

        // The unit's state directory: the group's, 2770 (systemd makes it so from the unit).
        let state = Paths.temporaryDirectory().appendingPathComponent("state").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        #expect(try run("/bin/chown", ["root:\(group)", state]).status == 0)
        #expect(chmod(state, 0o2770) == 0)
        let database = state + "/actions.db"
        // Made by the operator, not root: the file still goes to the group (the setgid directory
        // and the store's chown to it), so the service's user can open it too.
        let server = try ServiceProcess("/usr/sbin/runuser", ["-u", inside, "--", Paths.binary("actions-server"), "--db", database, "--port", "0"],
                                        environment: ["ACTIONS_SECRET": ServerHarness.secret])
        defer { _ = server.stop() }
        let answer = try await post(server.baseURL + "/v1/actions/user_registration",
                                    #"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"seen@example.com"},"ip_address":"198.51.100.7"}"#)
        #expect(answer.status == 200)
        #expect(await eventually(timeout: 5) { ((try? Store(path: database, create: false).eventCount()) ?? 0) >= 1 } != nil)

        let gid = try #require(getgrnam(group)).pointee.gr_gid
        for file in [database, database + "-wal", database + "-shm", database + "-search"] {
            var info = stat()
            #expect(stat(file, &info) == 0, "\(file) is missing")
            #expect(info.st_mode & 0o777 == 0o660 && info.st_gid == gid, "\(file): mode \(String(info.st_mode & 0o777, radix: 8)), gid \(info.st_gid)")
        }

        func ctl(as user: String, _ arguments: String...) throws -> RunResult {
            try run("/usr/sbin/runuser", ["-u", user, "--", Paths.binary("actionsctl"), "--db", database] + arguments)
        }
        let events = try ctl(as: inside, "events")
        #expect(events.status == 0 && events.stdout.contains("seen@example.com"), "\(events.stdout)\(events.stderr)")
        let added = try ctl(as: inside, "deny", "add", "domain", "blocked.example")
        #expect(added.status == 0, "an operator edits the deny list: \(added.stderr)")
        let refused = try ctl(as: outside, "events")
        #expect(refused.status == 77 && !refused.stdout.contains("seen@example.com"), "\(refused.status) \(refused.stdout)")
        #expect(refused.stderr.lowercased().contains("permission denied") && refused.stderr.contains("join its group (\(group))"),
                "the message names the group to join: \(refused.stderr)")

        // The dashboard, as the operator, in a terminal.
        let top = try TmuxSession("/usr/sbin/runuser -u \(inside) -- \(Paths.binary("actions-top")) --db \(database)", width: 132, height: 40,
                                  environment: ["TERM": "xterm-256color", "LANG": "C.UTF-8"])
        let screen = try await top.waitFor("seen@example.com")
        #expect(!screen.contains("READ-ONLY"), "the operator may write: \(screen)")
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }
}
