import ArgumentParser
import ActionsProtocol
import ActionsEngine

/// The man page's ENVIRONMENT, CONFIGURATION (the config file's keys) and FILES, which `actions-server --manual-sections` prints for
/// scripts/install to append (a hidden flag: generate-manual lists hidden subcommands).
enum ServerManual {
    static func print() {
        Swift.print(ManualSections.section("ENVIRONMENT", [
            ("ACTIONS_SECRET", "The WorkOS signing secret: it signs requests to the customer's endpoint and verifies their answers and WorkOS's requests to /actions/*. Several, comma-separated, during a rotation (the first signs). The placeholder change-me is refused; one under 16 bytes is warned about. Read from the environment only, never logged."),
            ("ACTIONS_API_TOKEN", "When set, the engine API (/v1/actions/*) and /v1/events require Authorization: Bearer TOKEN. Set it whenever anything but the identity service can reach the port."),
        ] + ManualSections.databaseEnvironment + SpanExport.variables, tag: .environment)
        + ManualSections.section("CONFIGURATION", ConfigKey.manualEntries, tag: .literal)
        + ManualSections.section("FILES", ManualSections.databaseFiles + [
            ("/var/lib/actions-server/actions.db", "The database of the systemd unit: mode 0660 in group actions, in a state directory of mode 2770. Operators in the group read and change it."),
            ("/etc/actions-server/env", "The unit's EnvironmentFile: ACTIONS_SECRET and ACTIONS_API_TOKEN (mode 0600)."),
            ("actions.toml", "The --config file (see actions.example.toml); SIGHUP re-reads it, and names the keys that need a restart."),
            ("--tls-cert, --tls-key files", "PEM certificate chain and key for HTTPS; SIGHUP re-reads them."),
        ], tag: .path), terminator: "")
    }
}
