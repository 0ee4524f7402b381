import ActionsProtocol

/// The live settings of one action type.
public struct ActionSettings: Sendable, Equatable {
    public var actionType: ActionType
    /// Fail-closed unless changed: WorkOS denies when it cannot get a verdict.
    public var errorMode: ErrorMode = .failClosed
    public var endpointURL: String?
    public var timeoutMs: Int = 5000
    public var enabled = true

    public init(actionType: ActionType, errorMode: ErrorMode = .failClosed, endpointURL: String? = nil,
                timeoutMs: Int = 5000, enabled: Bool = true) {
        self.actionType = actionType
        self.errorMode = errorMode
        self.endpointURL = endpointURL
        self.timeoutMs = timeoutMs
        self.enabled = enabled
    }

    /// The endpoint to call, if one is configured and enabled.
    public var activeEndpoint: String? { enabled ? endpointURL : nil }
}

public enum CircuitPhase: String, Sendable, Equatable {
    case closed, open
    case halfOpen = "half_open"
}

/// The circuit breaker as the server last stored it, for the dashboard.
public struct CircuitState: Sendable, Equatable {
    public var actionType: ActionType
    public var phase: CircuitPhase
    public var consecutiveFailures: Int
    public var openedMs: Int64?
    public var lastError: String?
    public var updatedMs: Int64

    public init(actionType: ActionType, phase: CircuitPhase = .closed, consecutiveFailures: Int = 0,
                openedMs: Int64? = nil, lastError: String? = nil, updatedMs: Int64 = 0) {
        self.actionType = actionType
        self.phase = phase
        self.consecutiveFailures = consecutiveFailures
        self.openedMs = openedMs
        self.lastError = lastError
        self.updatedMs = updatedMs
    }
}

extension Store {
    public func settings() throws(StoreError) -> [ActionType: ActionSettings] {
        try reading { db in try Self.settings(db) }
    }

    public func settings(for type: ActionType) throws(StoreError) -> ActionSettings {
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
    public func setErrorMode(_ mode: ErrorMode, for type: ActionType, by actor: Operator) throws(StoreError) -> ErrorMode {
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
    public func setEndpoint(_ url: String?, timeoutMs: Int? = nil, enabled: Bool? = nil, for type: ActionType, by actor: Operator) throws(StoreError) {
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

    public func saveCircuit(_ state: CircuitState) throws(StoreError) {
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

    public func circuits() throws(StoreError) -> [ActionType: CircuitState] {
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
    public func foldAddresses() throws(StoreError) -> Bool {
        try reading { try Self.foldAddresses($0) }
    }

    static func foldAddresses(_ db: any SQLSession) throws -> Bool {
        try db.int64("SELECT value FROM meta WHERE key = 'fold_addresses'") == 1
    }

    /// Turns folding on or off; audited. Existing lockout records keep the key they were made under.
    public func setFoldAddresses(_ on: Bool, by actor: Operator) throws(StoreError) {
        try writing { db in
            let old = try Self.foldAddresses(db)
            try db.execute("INSERT INTO meta(key, value) VALUES ('fold_addresses', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           [on ? 1 : 0])
            try Self.audit(db, by: actor, action: "normalize.fold_addresses", target: "store", old: old ? "on" : "off", new: on ? "on" : "off")
            try Self.bumpConfigVersion(db)
        }
    }
}
