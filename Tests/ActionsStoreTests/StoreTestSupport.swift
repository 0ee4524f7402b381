import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore

func temporaryDatabasePath() -> String {
    Scratch.directory("store").appendingPathComponent("actions.db").path
}

func sampleEvent(_ n: Int, timeMs: Int64 = WallClock.nowMs(), verdict: Verdict = .allow, outcome: Outcome = .ok,
                 type: ActionType = .userRegistration, email: String? = nil, latencyUs: Int64 = 1000) -> Event {
    let email = email ?? "user\(n)@example.com"
    return Event(timeMs: timeMs, actionType: type, actionId: "act_\(n)", email: email,
                 emailDomain: String(email.split(separator: "@").last ?? ""), ip: "10.0.0.\(n % 250)",
                 verdict: verdict, decidedBy: verdict == .deny ? .policy : .allowDefault, outcome: outcome,
                 latencyUs: latencyUs)
}

let tester = Operator(user: "tester", sshConnection: "10.1.1.1 5555 10.1.1.2 22")
