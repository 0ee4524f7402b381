import ActionsProtocol

/// The live settings of one action type.
package struct ActionSettings: Sendable, Equatable {
    package var actionType: ActionType
    /// Fail-closed unless changed: WorkOS denies when it cannot get a verdict.
    package var errorMode: ErrorMode = .failClosed
    package var endpointURL: String?
    package var timeoutMs: Int = 5000
    package var enabled = true

    package init(actionType: ActionType, errorMode: ErrorMode = .failClosed, endpointURL: String? = nil,
                timeoutMs: Int = 5000, enabled: Bool = true) {
        self.actionType = actionType
        self.errorMode = errorMode
        self.endpointURL = endpointURL
        self.timeoutMs = timeoutMs
        self.enabled = enabled
    }

    /// The endpoint to call, if one is configured and enabled.
    package var activeEndpoint: String? { enabled ? endpointURL : nil }
}

package enum CircuitPhase: String, Sendable, Equatable {
    case closed, open
    case halfOpen = "half_open"
}

/// The circuit breaker as the server last stored it, for the dashboard.
package struct CircuitState: Sendable, Equatable {
    package var actionType: ActionType
    package var phase: CircuitPhase
    package var consecutiveFailures: Int
    package var openedMs: Int64?
    package var lastError: String?
    package var updatedMs: Int64

    package init(actionType: ActionType, phase: CircuitPhase = .closed, consecutiveFailures: Int = 0,
                openedMs: Int64? = nil, lastError: String? = nil, updatedMs: Int64 = 0) {
        self.actionType = actionType
        self.phase = phase
        self.consecutiveFailures = consecutiveFailures
        self.openedMs = openedMs
        self.lastError = lastError
        self.updatedMs = updatedMs
    }
}
