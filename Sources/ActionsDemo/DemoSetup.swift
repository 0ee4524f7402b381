import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Seeds a demo database: deny lists, endpoints pointing at the flaky example endpoint, error modes.
package enum DemoSetup {
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package static func seed(_ store: Store, endpointBaseURL: String) throws {
        let demo = Operator(user: "demo")
        for domain in ["mailinator.com", "tempmail.dev", "*.spam.example"] {
            try store.addListEntry(ListEntry(kind: .domain, value: domain, reason: "disposable email"), by: demo)
        }
        try store.addListEntry(ListEntry(kind: .ip, value: "203.0.113.0/24", reason: "abuse reports", message: "Your network is blocked."), by: demo)
        try store.addListEntry(ListEntry(kind: .email, value: "ceo-impersonator@example.com", scope: .userRegistration, reason: "fraud"), by: demo)
        try store.setEndpoint(endpointBaseURL + "/hook/flaky", timeoutMs: 400, for: .userRegistration, by: demo)
        try store.setEndpoint(endpointBaseURL + "/hook/flaky", timeoutMs: 400, for: .authentication, by: demo)
        try store.setErrorMode(.failOpen, for: .userRegistration, by: demo)
        try store.setErrorMode(.failClosed, for: .authentication, by: demo)
    }
}
