import ActionsProtocol

/// One key of the config file: its name, what it takes, whether SIGHUP applies it, one line of
/// documentation, and where it lives in `EngineConfig` (whose initial values are the defaults).
/// `ConfigKey.all` is the only list of keys: parsing, validation, reload, `actions.example.toml`
/// (a test checks the file is what the table prints) and the man page read it.
package struct ConfigKey: Sendable {
    package let name: String
    /// What the key takes, as an error message says it: "an integer in 1...1000".
    package let expected: String
    /// SIGHUP applies it to the running server; otherwise a change is named as needing a restart.
    package let reloadable: Bool
    package let doc: String
    /// For a key with no default: the value the example file shows, commented out.
    let example: String?
    /// Sets the value from the file; false when it is of the wrong type or out of range.
    let read: @Sendable (TOMLSubset.Value, inout EngineConfig) -> Bool
    /// The value as TOML, nil when unset.
    let render: @Sendable (EngineConfig) -> String?
    /// Copies the value from the second configuration into the first.
    let copy: @Sendable (inout EngineConfig, EngineConfig) -> Void

    var section: Substring { name.split(separator: ".")[0] }
    var shortName: Substring { name.split(separator: ".")[1] }
}

extension ConfigKey {
    /// Every key, in the order the example file and the man page list them.
    package static let all: [ConfigKey] = [
        string("server.host", \.host, reloadable: false, "the address to listen on (::1, 0.0.0.0, ...)"),
        integer("server.port", \.port, in: 0...65535, reloadable: false, "the port to listen on; 0 picks a free one (printed on stdout)"),
        optionalString("server.db", \.databasePath, example: "./actions.db", reloadable: false,
                       "the database: a SQLite path or postgres:// URL (or --db / ACTIONS_DB)"),
        optionalString("server.node", \.node, example: "node-a", reloadable: false,
                       "this node's name in events and heartbeats (default hostname:port)"),
        integer("server.max_body_bytes", \.maxBodyBytes, in: 1024...(16 << 20), reloadable: true, "larger bodies get 413"),
        integer("server.idle_timeout_ms", \.idleTimeoutMs, in: 100...3_600_000, reloadable: false,
                "idle keep-alive connections, and request heads that never finish"),
        integer("server.read_timeout_ms", \.readTimeoutMs, in: 100...3_600_000, reloadable: false,
                "a request body must arrive whole within this"),
        integer("store.busy_timeout_ms", \.busyTimeoutMs, in: 10...60_000, reloadable: false,
                "how long SQLite waits for another process's lock"),
        integer("store.lockout_write_wait_ms", \.lockoutWriteWaitMs, in: 10...60_000, reloadable: true,
                "POST /v1/events answers 503 (retry) when its write cannot start by then"),
        integer("lockout.threshold", \.lockout.threshold, in: 1...1000, reloadable: true,
                "failed logins within the window that lock the account (PCI-DSS 8.3.4: at most 10)"),
        seconds("lockout.window_seconds", \.lockout.windowMs, in: 1...86_400 * 30, reloadable: true,
                "the window the failed logins are counted in"),
        seconds("lockout.lockout_seconds", \.lockout.lockoutMs, in: 1...86_400 * 365, reloadable: true,
                "how long the account stays locked (PCI-DSS 8.3.4: at least 30 minutes)"),
        integer("circuit.failure_threshold", \.circuit.threshold, in: 1...10_000, reloadable: true,
                "consecutive endpoint failures that open the circuit"),
        seconds("circuit.cooldown_seconds", \.circuit.cooldownMs, in: 1...86_400, reloadable: true,
                "how long an open circuit waits before one probe is let through"),
        integer("events.queue_capacity", \.eventQueueCapacity, in: 100...10_000_000, reloadable: false,
                "events waiting for the disk; beyond this they are counted as dropped"),
        boolean("events.durable", \.durableEvents, reloadable: false,
                "true (or --durable-events): answer only once the event is committed and fsync'd"),
        integer("events.durable_wait_ms", \.durableWaitMs, in: 1...60_000, reloadable: true,
                "durable mode: past this, the error mode answers (outcome log_unavailable)"),
        integer("rate.max_subjects", \.rateMaxSubjects, in: 1000...10_000_000, reloadable: false,
                "subjects the rate windows track at once; the least recently seen go first (actions_rate_subjects_evicted)"),
        optionalInteger("retention.max_age_days", \.retentionMaxAgeDays, in: 1...36_500, example: "30", reloadable: false,
                        "prune events older than this (every minute, in small batches); unset keeps them"),
        optionalInteger("retention.max_rows", \.retentionMaxRows, in: 1000...Int.max, example: "10000000", reloadable: false,
                        "prune the oldest events past this many; unset keeps them"),
    ]

    /// By name; a name listed twice keeps its first entry (ConfigKeysTests checks there is none).
    static let byName: [String: ConfigKey] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    static func expected(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "an integer of at least \(range.lowerBound)" : "an integer in \(range.lowerBound)...\(range.upperBound)"
    }

    /// A key stored at `path`: `parse` takes a file's value to the stored one (nil: refused),
    /// `show` the stored one back to TOML (nil: unset).
    static func key<Value>(_ name: String, _ path: WritableKeyPath<EngineConfig, Value> & Sendable, expected: String,
                           example: String? = nil, reloadable: Bool, _ doc: String,
                           parse: @escaping @Sendable (TOMLSubset.Value) -> Value?,
                           show: @escaping @Sendable (Value) -> String?) -> ConfigKey {
        ConfigKey(name: name, expected: expected, reloadable: reloadable, doc: doc, example: example,
                  read: { value, config in
                      guard let parsed = parse(value) else { return false }
                      config[keyPath: path] = parsed
                      return true
                  },
                  render: { show($0[keyPath: path]) },
                  copy: { $0[keyPath: path] = $1[keyPath: path] })
    }

    static func number(_ value: TOMLSubset.Value, in range: ClosedRange<Int>) -> Int? {
        guard case .integer(let number) = value, range.contains(number) else { return nil }
        return number
    }

    static func text(_ value: TOMLSubset.Value) -> String? {
        guard case .string(let text) = value else { return nil }
        return text
    }

    static func integer(_ name: String, _ path: WritableKeyPath<EngineConfig, Int> & Sendable, in range: ClosedRange<Int>,
                        reloadable: Bool, _ doc: String) -> ConfigKey {
        key(name, path, expected: expected(range), reloadable: reloadable, doc,
            parse: { number($0, in: range) }, show: { String($0) })
    }

    static func optionalInteger(_ name: String, _ path: WritableKeyPath<EngineConfig, Int?> & Sendable, in range: ClosedRange<Int>,
                                example: String, reloadable: Bool, _ doc: String) -> ConfigKey {
        key(name, path, expected: expected(range), example: example, reloadable: reloadable, doc,
            parse: { number($0, in: range).map { Optional($0) } }, show: { $0.map(String.init) })
    }

    /// Seconds in the file, milliseconds in the configuration.
    static func seconds(_ name: String, _ path: WritableKeyPath<EngineConfig, Int64> & Sendable, in range: ClosedRange<Int>,
                        reloadable: Bool, _ doc: String) -> ConfigKey {
        key(name, path, expected: expected(range), reloadable: reloadable, doc,
            parse: { number($0, in: range).map { Int64($0) * 1000 } }, show: { String($0 / 1000) })
    }

    static func string(_ name: String, _ path: WritableKeyPath<EngineConfig, String> & Sendable,
                       reloadable: Bool, _ doc: String) -> ConfigKey {
        key(name, path, expected: "a string", reloadable: reloadable, doc, parse: { text($0) }, show: { TOMLSubset.quoted($0) })
    }

    static func optionalString(_ name: String, _ path: WritableKeyPath<EngineConfig, String?> & Sendable, example: String,
                               reloadable: Bool, _ doc: String) -> ConfigKey {
        key(name, path, expected: "a string", example: TOMLSubset.quoted(example), reloadable: reloadable, doc,
            parse: { text($0).map { Optional($0) } }, show: { $0.map(TOMLSubset.quoted) })
    }

    static func boolean(_ name: String, _ path: WritableKeyPath<EngineConfig, Bool> & Sendable,
                        reloadable: Bool, _ doc: String) -> ConfigKey {
        key(name, path, expected: "true or false", reloadable: reloadable, doc,
            parse: { value in
                guard case .boolean(let on) = value else { return nil }
                return on
            },
            show: { String($0) })
    }
}

extension ConfigKey {
    /// `actions.example.toml`: every key with its default (or, with none, an example commented
    /// out) and its line of documentation, grouped by section.
    package static func exampleFile() -> String {
        let defaults = EngineConfig()
        var text = """
        # actions-server configuration (pass with --config). Every key is optional; shown are the defaults.
        # Secrets come from ACTIONS_SECRET (comma-separated, the first one signs); live settings such as
        # error modes, endpoints, deny lists and lockouts live in the database (actionsctl, actions-top).
        # Keys marked (SIGHUP) take effect on `systemctl reload`; the others need a restart.

        """
        var section: Substring = ""
        for key in all {
            if key.section != section {
                section = key.section
                text += "\n[\(section)]\n"
            }
            let value = key.render(defaults)
            let assignment = value.map { "\(key.shortName) = \($0)" } ?? "# \(key.shortName) = \(key.example ?? "")"
            let padding = String(repeating: " ", count: max(1, 32 - assignment.count))
            text += assignment + padding + "# " + key.doc + (key.reloadable ? " (SIGHUP)" : "") + "\n"
        }
        text += """

        # Per action type secrets, instead of ACTIONS_SECRET (a list rotates: all are accepted, the first
        # signs), re-read on SIGHUP.
        # [actions.user_registration]
        # secret = "..."
        # [actions.authentication]
        # secrets = ["new-secret", "old-secret"]

        """
        return text
    }

    /// The man page's CONFIGURATION section: one entry per key.
    package static var manualEntries: [(String, String)] {
        let defaults = EngineConfig()
        return all.map { key in
            let shown = key.render(defaults).map { "default \($0)" } ?? "unset by default"
            return (key.name, "\(key.doc.prefix(1).uppercased() + key.doc.dropFirst()): \(key.expected), \(shown)"
                    + (key.reloadable ? "; SIGHUP applies it." : "; a change needs a restart."))
        }
    }
}
