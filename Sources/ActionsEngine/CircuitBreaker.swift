import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Stops calling a failing endpoint. After `threshold` consecutive failures the circuit opens and
/// decisions use the error mode at once (outcome `circuit_open`) for `cooldownMs`; then one probe
/// goes through: success closes the circuit, failure opens it for another cool-down.
/// Defaults follow Envoy's outlier detection: 5 consecutive failures, 30 s.
package final class CircuitBreaker: Sendable {
    package struct Config: Sendable, Equatable {
        package var threshold: Int
        package var cooldownMs: Int64

        package init(threshold: Int = 5, cooldownMs: Int64 = 30_000) {
            self.threshold = threshold
            self.cooldownMs = cooldownMs
        }
    }

    package enum Permit: Sendable, Equatable {
        case call
        /// The one call allowed through while half-open.
        case probe
        case reject
    }

    private struct Entry {
        var phase: CircuitPhase = .closed
        var failures = 0
        var openedMs: Int64?
        var probeInFlight = false
        var lastError: String?
    }

    private let settings: Mutex<Config>
    /// Thresholds now; a configuration reload may change them, effective from the next failure.
    package var config: Config { settings.withLock { $0 } }
    private let entries: Mutex<[ActionType: Entry]> = Mutex([:])
    /// Receives every state change, to persist it where actions-top can read it.
    private let onTransition: @Sendable (CircuitState) -> Void

    package init(config: Config = Config(), onTransition: @escaping @Sendable (CircuitState) -> Void = { _ in }) {
        self.settings = Mutex(config)
        self.onTransition = onTransition
    }

    package func update(config: Config) {
        settings.withLock { $0 = config }
    }

    package func permit(_ type: ActionType, nowMs: Int64 = WallClock.nowMs()) -> Permit {
        let (permit, changed) = entries.withLock { entries -> (Permit, CircuitState?) in
            var entry = entries[type] ?? Entry()
            defer { entries[type] = entry }
            switch entry.phase {
            case .closed:
                return (.call, nil)
            case .open:
                guard let opened = entry.openedMs, nowMs - opened >= config.cooldownMs else { return (.reject, nil) }
                entry.phase = .halfOpen
                entry.probeInFlight = true
                return (.probe, state(type, entry, nowMs))
            case .halfOpen:
                if entry.probeInFlight { return (.reject, nil) }
                entry.probeInFlight = true
                return (.probe, nil)
            }
        }
        if let changed { onTransition(changed) }
        return permit
    }

    package func recordSuccess(_ type: ActionType, nowMs: Int64 = WallClock.nowMs()) {
        let changed = entries.withLock { entries -> CircuitState? in
            var entry = entries[type] ?? Entry()
            defer { entries[type] = entry }
            let wasClosedClean = entry.phase == .closed && entry.failures == 0
            entry = Entry()
            return wasClosedClean ? nil : state(type, entry, nowMs)
        }
        if let changed { onTransition(changed) }
    }

    package func recordFailure(_ type: ActionType, error: String, nowMs: Int64 = WallClock.nowMs()) {
        let changed = entries.withLock { entries -> CircuitState? in
            var entry = entries[type] ?? Entry()
            defer { entries[type] = entry }
            entry.lastError = error
            entry.failures += 1
            switch entry.phase {
            case .closed:
                if entry.failures >= config.threshold {
                    entry.phase = .open
                    entry.openedMs = nowMs
                }
            case .halfOpen, .open:
                entry.phase = .open
                entry.openedMs = nowMs
                entry.probeInFlight = false
            }
            return state(type, entry, nowMs)
        }
        if let changed { onTransition(changed) }
    }

    /// Back to closed, e.g. when the operator points the action at another endpoint.
    package func reset(_ type: ActionType, nowMs: Int64 = WallClock.nowMs()) {
        let changed = entries.withLock { entries -> CircuitState in
            entries[type] = Entry()
            return state(type, Entry(), nowMs)
        }
        onTransition(changed)
    }

    package func snapshot(_ type: ActionType, nowMs: Int64 = WallClock.nowMs()) -> CircuitState {
        entries.withLock { state(type, $0[type] ?? Entry(), nowMs) }
    }

    private func state(_ type: ActionType, _ entry: Entry, _ nowMs: Int64) -> CircuitState {
        CircuitState(actionType: type, phase: entry.phase, consecutiveFailures: entry.failures, openedMs: entry.openedMs,
                     lastError: entry.lastError, updatedMs: nowMs)
    }
}
