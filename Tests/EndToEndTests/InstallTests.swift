import Testing
import Foundation

/// What `scripts/install` put under its prefix. `.ci/run` installs (a debug build, with the same
/// script and the same man-page plugin as a release install) before the tests and names the
/// prefix in ACTIONS_INSTALLED_PREFIX; SwiftPM's build lock keeps a test from building itself.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["ACTIONS_INSTALLED_PREFIX"] != nil,
                             "run scripts/install --prefix DIR and set ACTIONS_INSTALLED_PREFIX=DIR (.ci/run does)"))
struct InstallTests {
    let prefix = ProcessInfo.processInfo.environment["ACTIONS_INSTALLED_PREFIX"] ?? ""
    let tools = ["actions-server", "actionsctl", "actions-top"]

    @Test func theBinariesRunFromThePrefix() throws {
        for tool in tools {
            let help = try run(prefix + "/bin/" + tool, ["--help"])
            #expect(help.status == 0, "\(tool): \(help.stderr)")
            #expect(help.stdout.contains("USAGE"), "\(tool)")
        }
    }

    @Test func manPagesRenderWithTheirOptions() throws {
        for (tool, option) in [("actions-server", "--tls-cert"), ("actionsctl", "--db"), ("actions-top", "--demo")] {
            let page = prefix + "/share/man/man1/\(tool).1"
            let rendered = try run("/usr/bin/env", ["MANWIDTH=200", "man", "-P", "cat", "-l", page])
            #expect(rendered.status == 0, "\(tool): \(rendered.stderr)")
            #expect(rendered.stdout.contains("NAME") && rendered.stdout.contains(tool), "\(tool)")
            #expect(rendered.stdout.contains(option), "\(tool)'s man page lacks \(option)")
        }
    }

    @Test func completionsParseInTheirShells() throws {
        for tool in tools {
            let bash = prefix + "/share/bash-completion/completions/\(tool)"
            #expect(try run("/bin/bash", ["-n", bash]).status == 0, "\(bash)")
            // Sourced, the completion function exists.
            let sourced = try run("/bin/bash", ["-c", "source '\(bash)' && complete -p \(tool)"])
            #expect(sourced.status == 0 && sourced.stdout.contains(tool), "\(sourced.stderr)")
            let zsh = prefix + "/share/zsh/site-functions/_\(tool)"
            #expect(try String(contentsOfFile: zsh, encoding: .utf8).hasPrefix("#compdef \(tool)"))
            let fish = try String(contentsOfFile: prefix + "/share/fish/vendor_completions.d/\(tool).fish", encoding: .utf8)
            #expect(fish.contains("complete -c '\(tool)'"))
        }
    }

    /// Every page answers what the service needs from its environment and files; actions-top's
    /// lists its keys from the key table; actionsctl's and actions-server's their exit statuses.
    @Test func manPagesAnswerTheEnvironmentFilesAndKeys() throws {
        func page(_ tool: String) throws -> String {
            let rendered = try run("/usr/bin/env", ["MANWIDTH=200", "man", "-P", "cat", "-l", prefix + "/share/man/man1/\(tool).1"])
            #expect(rendered.status == 0 && !rendered.stderr.contains("warning"), "\(tool): \(rendered.stderr)")
            return rendered.stdout
        }
        let server = try page("actions-server")
        for text in ["ENVIRONMENT", "ACTIONS_SECRET", "ACTIONS_API_TOKEN", "ACTIONS_DB", "PGPASSWORD", "FILES", "actions.db-search",
                     "/etc/actions-server/env", "/var/lib/actions-server/actions.db"] {
            #expect(server.contains(text), "man actions-server lacks \(text)")
        }
        // Its own exit statuses, once: the generic "exits 0 on success" section is replaced.
        #expect(server.components(separatedBy: "EXIT STATUS").count == 2 && server.contains("A setting refused") && !server.contains("exits 0 on success"),
                "man actions-server's EXIT STATUS")
        let ctl = try page("actionsctl")
        for text in ["ENVIRONMENT", "ACTIONS_SERVER", "EXIT STATUS", "77", "Permission denied"] { #expect(ctl.contains(text), "man actionsctl lacks \(text)") }
        let top = try page("actions-top")
        for text in ["KEYS", "Anywhere", "On the rules screen", "F10", "F6", "pick the sort column", "ENVIRONMENT", "NO_COLOR",
                     "actions-top/keys", "FILES"] {
            #expect(top.contains(text), "man actions-top lacks \(text)")
        }
        #expect(!top.contains("in the repository") && !top.contains("actions-top subcommand"), "\(top.prefix(1500))")
        #expect(!server.contains("manual-sections") && !ctl.contains("manual-sections") && !top.contains("manual-sections"), "the helper flag stays hidden")
    }

    /// Installed stripped, with the debug information beside them, linked; and the alert rules.
    @Test func binariesAreStrippedWithTheirDebugInformationLinked() throws {
        for tool in tools {
            let sections = try run("/usr/bin/readelf", ["-S", "-W", prefix + "/bin/\(tool)"]).stdout
            #expect(!sections.contains(".symtab") && !sections.contains(".debug_info"), "\(tool) is not stripped")
            #expect(sections.contains(".gnu_debuglink"), "\(tool) does not link its debug file")
            let debug = try run("/usr/bin/readelf", ["-S", "-W", prefix + "/bin/.debug/\(tool).debug"]).stdout
            #expect(debug.contains(".symtab") && debug.contains(".debug_info"), "\(tool).debug holds no debug information")
            let installed = try FileManager.default.attributesOfItem(atPath: prefix + "/bin/\(tool)")[.size] as? Int ?? 0
            let built = try FileManager.default.attributesOfItem(atPath: Paths.binary(tool))[.size] as? Int ?? 0
            #expect(installed > 0 && installed < built / 2, "\(tool): \(installed) bytes installed, \(built) built")
        }
        // The production server links nothing of the dashboard: no ncurses (actions-top --demo
        // runs the dashboard over the demo, not the server).
        let linked = try run("/usr/bin/ldd", [prefix + "/bin/actions-server"]).stdout
        #expect(!linked.contains("ncurses") && !linked.contains("libtinfo"), "\(linked)")
        #expect(try run("/usr/bin/ldd", [prefix + "/bin/actions-top"]).stdout.contains("ncurses"), "the check would see it")
        let version = try run(prefix + "/bin/actions-server", ["--version"])
        #expect(version.status == 0, "the stripped binary runs: \(version.stderr)")
        #expect(FileManager.default.fileExists(atPath: prefix + "/share/actions/prometheus/actions.rules.yml"))
    }

    @Test func theInstalledDashboardFindsTheInstalledThemes() throws {
        let themes = try FileManager.default.contentsOfDirectory(atPath: prefix + "/share/actions-top/themes")
        #expect(themes.contains("default.theme") && themes.contains("high-contrast.theme"))
        // No config directory and no repository nearby: only PREFIX/share can supply these names.
        let answer = try run(prefix + "/bin/actions-top", ["--theme", "no-such-theme"],
                             environment: ["HOME": "/nonexistent", "XDG_CONFIG_HOME": ""])
        #expect(answer.status != 0)
        #expect(answer.stderr.contains("high-contrast") && answer.stderr.contains("light"), "\(answer.stderr)")
    }

    @Test func theSystemdUnitVerifies() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            Issue.record("systemd-analyze is not installed (apt-get install systemd)")
            return
        }
        let unit = prefix + "/lib/systemd/system/actions-server.service"
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("ExecStart=\(prefix)/bin/actions-server"))
        for hardening in ["User=actions", "Group=actions", "StateDirectory=actions-server", "StateDirectoryMode=2770", "UMask=0007",
                          "ProtectSystem=strict", "NoNewPrivileges=yes", "EnvironmentFile=/etc/actions-server/env"] {
            #expect(text.contains(hardening), "\(hardening)")
        }
        // MANPATH: the unit's Documentation= names the installed man page, which verify checks.
        let verified = try run("/usr/bin/env", ["MANPATH=\(prefix)/share/man", "/usr/bin/systemd-analyze", "verify", unit])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }
}
