/// Man page sections that swift-argument-parser's `generate-manual` does not write (it renders a
/// command's discussion as DESCRIPTION): ENVIRONMENT, FILES, KEYS, EXIT STATUS. Each tool prints
/// its own with the hidden `--manual-sections` flag, in mdoc, and `scripts/install` appends them
/// to the generated page, so the text lives beside the code that reads the variables and files.
package enum ManualSections {
    /// One `.Sh` section of tagged paragraphs; `environment` marks the tags as variables (`.Ev`),
    /// otherwise as paths (`.Pa`), or as plain text when `literal`.
    package static func section(_ title: String, _ items: [(String, String)], tag: Tag) -> String {
        var lines = [".Sh \(title)", ".Bl -tag -width Ds"]
        for (name, text) in items {
            lines.append(".It \(tag.macro)\(escape(name))")
            lines.append(escape(text))
        }
        lines.append(".El")
        return lines.joined(separator: "\n") + "\n"
    }

    package enum Tag {
        case environment, path, literal
        var macro: String {
            switch self {
            case .environment: return "Ev "
            case .path: return "Pa "
            case .literal: return "Sy "
            }
        }
    }

    /// roff reads a line starting with `.` or `'` as a request, and `\` as an escape.
    static func escape(_ text: String) -> String {
        let body = text.replacingOccurrences(of: "\\", with: "\\e")
        return body.first == "." || body.first == "'" ? "\\&" + body : body
    }

    /// Variables every tool that opens the database reads.
    package static let databaseEnvironment: [(String, String)] = [
        ("ACTIONS_DB", "The event log and rules when --db is not given: a SQLite file, or a postgres:// URL (several host:port pairs for a primary and its standbys; target_session_attrs=read-write, prefer-standby, ...). Default ./actions.db."),
        ("PGPASSWORD", "The PostgreSQL password, when the URL has none (it is never shown in errors)."),
        ("PGUSER", "The PostgreSQL user, when the URL names none (else $USER)."),
        ("PGSSLMODE, PGSSLROOTCERT", "TLS to PostgreSQL as libpq reads them (disable, prefer, require, verify-ca, verify-full; the CA file), when the URL does not say."),
        ("PGTARGETSESSIONATTRS", "Which server of a multi-host URL to use when the URL does not say: read-write, primary, prefer-standby, standby, any."),
    ]

    /// The files beside a SQLite database.
    package static let databaseFiles: [(String, String)] = [
        ("actions.db", "The SQLite event log, rules, settings and lockouts (mode 0600; 0660 in the group of a setgid directory shared with a group, such as the service's /var/lib/actions-server)."),
        ("actions.db-wal, actions.db-shm", "SQLite's write-ahead log and its index, beside the database, with its mode."),
        ("actions.db-search", "The whole-log search index, a database of its own beside the log, with its mode and owner (rebuilt if deleted)."),
    ]
}
