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
        ], tag: .path)
        + ManualSections.section("EXIT STATUS", [
            ("0", "Stopped by SIGTERM or SIGINT, the event log flushed."),
            ("1", "Any other failure, such as the port already in use: the unit restarts it."),
            ("64", "A usage error; the usage is printed."),
            ("66", "No such database (a PostgreSQL database that does not exist)."),
            ("69", "The database cannot be used or made: another version's schema, a read-only file, a missing directory."),
            ("75", "A failure that may pass (the file locked, the disk full, PostgreSQL unreachable): the unit restarts it."),
            ("77", "Permission denied: the service user is not in the database directory's group."),
            ("78", "A setting refused: the config file, ACTIONS_SECRET or ACTIONS_API_TOKEN, the database URL, the TLS files, an OTEL_* variable."),
        ], tag: .literal), terminator: "")
    }
}
