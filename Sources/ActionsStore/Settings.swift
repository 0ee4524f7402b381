import ActionsDomain
import ActionsProtocol

extension Store {
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func settings() throws(StoreError) -> [ActionType: ActionSettings] {
        try reading { db in try Self.settings(db) }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func settings(for type: ActionType) throws(StoreError) -> ActionSettings {
        try settings()[type] ?? ActionSettings(actionType: type)
    }

    static func settings(_ db: any SQLSession) throws -> [ActionType: ActionSettings] {
        var result: [ActionType: ActionSettings] = [:]
        for type in ActionType.allCases { result[type] = ActionSettings(actionType: type) }
        for row in try db.rows("SELECT action_type, error_mode, endpoint_url, timeout_ms, enabled FROM action_settings") {
            guard let type = ActionType(rawValue: row.string(0)) else { continue }
            result[type] = ActionSettings(actionType: type, errorMode: ErrorMode(name: row.string(1)) ?? .failClosed,
                                          endpointURL: row.optionalString(2), timeoutMs: row.int(3), enabled: row.bool(4))
        }
        return result
    }

    /// Sets the error mode; audited. Returns the previous mode.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func setErrorMode(_ mode: ErrorMode, for type: ActionType, by actor: Operator) throws(StoreError) -> ErrorMode {
        try writing { db in
            let old = try Self.settings(db)[type]?.errorMode ?? .failClosed
            try db.execute("UPDATE action_settings SET error_mode = ?, updated_ms = ? WHERE action_type = ?",
                           [mode.rawValue, WallClock.nowMs(), type.rawValue])
            try Self.audit(db, by: actor, action: "mode.set", target: type.rawValue, old: old.rawValue, new: mode.rawValue)
            try Self.bumpConfigVersion(db)
            return old
        }
    }

    /// Sets or clears (url nil) the endpoint; audited.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func setEndpoint(_ url: String?, timeoutMs: Int? = nil, enabled: Bool? = nil, for type: ActionType, by actor: Operator) throws(StoreError) {
        if let url {
            guard let scheme = url.split(separator: ":").first?.lowercased(), scheme == "http" || scheme == "https",
                  url.contains("://") else {
                throw .invalidValue("endpoint must be an http:// or https:// URL, got \(url)")
            }
        }
        if let timeoutMs, !(1...120_000).contains(timeoutMs) {
            throw .invalidValue("timeout must be between 1 and 120000 ms, got \(timeoutMs)")
        }
        try writing { db in
            let old = try Self.settings(db)[type] ?? ActionSettings(actionType: type)
            var new = old
            new.endpointURL = url
            if let timeoutMs { new.timeoutMs = timeoutMs }
            if let enabled { new.enabled = enabled }
            try db.execute("""
                UPDATE action_settings SET endpoint_url = ?, timeout_ms = ?, enabled = ?, updated_ms = ? WHERE action_type = ?
                """, [new.endpointURL, new.timeoutMs, new.enabled, WallClock.nowMs(), type.rawValue])
            try Self.audit(db, by: actor, action: "endpoint.set", target: type.rawValue,
                           old: Self.describe(old), new: Self.describe(new))
            try Self.bumpConfigVersion(db)
        }
    }

    static func describe(_ settings: ActionSettings) -> String {
        "\(settings.endpointURL ?? "none") timeout=\(settings.timeoutMs)ms enabled=\(settings.enabled)"
    }

    // MARK: Circuit state (written by the server, read by the dashboard)

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func saveCircuit(_ state: CircuitState) throws(StoreError) {
        _ = try writing { db in
            try db.execute("""
                INSERT INTO circuit_state(action_type, state, consecutive_failures, opened_ms, last_error, updated_ms)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(action_type) DO UPDATE SET state = excluded.state,
                    consecutive_failures = excluded.consecutive_failures, opened_ms = excluded.opened_ms,
                    last_error = excluded.last_error, updated_ms = excluded.updated_ms
                WHERE excluded.updated_ms >= circuit_state.updated_ms
                """, [state.actionType.rawValue, state.phase.rawValue, state.consecutiveFailures,
                      state.openedMs, state.lastError, state.updatedMs])
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func circuits() throws(StoreError) -> [ActionType: CircuitState] {
        try reading { db in
            var result: [ActionType: CircuitState] = [:]
            for row in try db.rows("SELECT action_type, state, consecutive_failures, opened_ms, last_error, updated_ms FROM circuit_state") {
                guard let type = ActionType(rawValue: row.string(0)) else { continue }
                result[type] = CircuitState(actionType: type, phase: CircuitPhase(rawValue: row.string(1)) ?? .closed,
                                            consecutiveFailures: row.int(2), openedMs: row.optionalInt64(3),
                                            lastError: row.optionalString(4), updatedMs: row.int64(5))
            }
            return result
        }
    }
}

extension Store {
    /// Whether lockout and rate keys fold `+tag` sub-addressing and Gmail dots (`Normalize`).
    /// One switch per store, off by default: folding merges what a provider might keep apart.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func foldAddresses() throws(StoreError) -> Bool {
        try reading { try Self.foldAddresses($0) }
    }

    static func foldAddresses(_ db: any SQLSession) throws -> Bool {
        try db.int64("SELECT value FROM meta WHERE key = 'fold_addresses'") == 1
    }

    /// Turns folding on or off; audited. Existing lockout records keep the key they were made under.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func setFoldAddresses(_ on: Bool, by actor: Operator) throws(StoreError) {
        try writing { db in
            let old = try Self.foldAddresses(db)
            try db.execute("INSERT INTO meta(key, value) VALUES ('fold_addresses', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           [on ? 1 : 0])
            try Self.audit(db, by: actor, action: "normalize.fold_addresses", target: "store", old: old ? "on" : "off", new: on ? "on" : "off")
            try Self.bumpConfigVersion(db)
        }
    }
}
