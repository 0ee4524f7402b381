import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
@testable import ActionsTop

/// A fixed dashboard: two action types with figures, hostile and wide strings among the rows.
enum Fixtures {
    static let now: Int64 = 1_795_000_000_000 // 2026-11-18 11:06:40 UTC

    static func event(_ n: Int, email: String, ip: String = "198.51.100.7", verdict: Verdict = .allow,
                      decidedBy: DecidedBy = .endpoint, outcome: Outcome = .ok, type: ActionType = .userRegistration,
                      latencyUs: Int64 = 12_300, reason: String? = nil, agent: String? = "Mozilla/5.0",
                      secondsAgo: Int? = nil) -> Event {
        Event(id: Int64(n), uid: "evt_\(n)", timeMs: now - Int64(secondsAgo ?? n) * 1000, actionType: type, actionId: "act_\(n)",
              userId: type == .authentication ? "user_\(n)" : nil, email: email,
              emailDomain: String(email.split(separator: "@").last ?? ""), ip: ip, userAgent: agent, verdict: verdict,
              decidedBy: decidedBy, reason: reason, errorMessage: verdict == .deny ? "Not allowed." : nil, outcome: outcome,
              httpStatus: outcome == .httpStatus ? 500 : 200, latencyUs: latencyUs, endpointLatencyUs: latencyUs - 200,
              errorMode: .failClosed, detail: outcome == .ok ? nil : "HTTP 500: {\"error\":\"internal\"}")
    }

    static var events: [Event] {
        [
            event(1, email: "ana@example.com", reason: "endpoint Allow"),
            event(2, email: "bob@mailinator.com", verdict: .deny, decidedBy: .policy, latencyUs: 90,
                  reason: "deny-list domain mailinator.com: disposable"),
            event(3, email: "ev\u{1b}]0;pwned\u{07}il@example.com", agent: "curl \u{1b}[2J"),
            event(4, email: "carol@acme.io", verdict: .deny, decidedBy: .errorMode, outcome: .timeout, type: .authentication,
                  latencyUs: 5_001_000, reason: "endpoint timeout; fail-closed"),
            event(5, email: "山田@例え.jp", ip: "2001:db8::1", type: .authentication, reason: "endpoint Allow"),
            event(6, email: "admin@exam\u{202e}moc.elpmaxe", verdict: .deny, decidedBy: .circuit, outcome: .circuitOpen,
                  type: .authentication, latencyUs: 40, reason: "circuit open; fail-closed"),
            event(7, email: "fake\r\n11:06:33 auth root@example.com Allow", reason: "row injection"),
        ]
    }

    static func state() -> AppState {
        var state = AppState()
        state.nowMs = now
        state.databasePath = "/var/lib/actions/actions.db"
        state.settings = [
            .userRegistration: ActionSettings(actionType: .userRegistration, errorMode: .failOpen, endpointURL: "http://hooks.internal/reg"),
            .authentication: ActionSettings(actionType: .authentication, errorMode: .failClosed, endpointURL: "http://hooks.internal/auth"),
        ]
        state.circuits = [.authentication: CircuitState(actionType: .authentication, phase: .open, consecutiveFailures: 5)]
        var samples: [StatSample] = []
        for second in 0..<60 {
            for k in 0..<(second % 7 + 1) {
                let deny = (second + k) % 5 == 0
                samples.append(StatSample(actionType: k % 2 == 0 ? .userRegistration : .authentication,
                                          timeMs: now - Int64(second) * 1000, verdict: deny ? .deny : .allow,
                                          outcome: k == 3 ? .timeout : .ok, latencyUs: Int64(1000 * (k + 1) + second * 10)))
            }
        }
        state.stats.add(samples)
        state.replaceEvents(events)
        state.pageSize = 10
        // Wide enough that every column is on screen (DECIDED/OUTCOME leaves narrower tables).
        state.width = 132
        return state
    }
}
