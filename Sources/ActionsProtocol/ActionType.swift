/// The two kinds of Actions WorkOS runs before it completes a flow.
package enum ActionType: String, CaseIterable, Codable, Sendable, Hashable {
    case userRegistration = "user_registration"
    case authentication = "authentication"

    /// The `object` of the context WorkOS sends. Literals, not interpolation: every decision
    /// checks it, and building the string cost 1,500 instructions a time (callgrind).
    package var contextObject: String {
        switch self {
        case .userRegistration: "user_registration_action_context"
        case .authentication: "authentication_action_context"
        }
    }

    /// The `object` the signed response must carry.
    package var responseObject: String {
        switch self {
        case .userRegistration: "user_registration_action_response"
        case .authentication: "authentication_action_response"
        }
    }

    /// The path segment WorkOS's examples use (`/actions/user-registration`).
    package var pathSlug: String { rawValue.replacingOccurrences(of: "_", with: "-") }

    /// Accepts `user_registration`, `user-registration` and `authentication`, any case.
    /// The raw value in any case, with `-` for `_`, or the short names the dashboard shows
    /// (`reg`, `auth`).
    package init?(name: String) {
        let normal = name.lowercased().replacingOccurrences(of: "-", with: "_")
        switch normal {
        case "reg", "registration": self = .userRegistration
        case "auth": self = .authentication
        default: self.init(rawValue: normal)
        }
    }
}

/// Allow or Deny. WorkOS writes them capitalised; endpoints in the wild vary the case.
package enum Verdict: String, Codable, Sendable, Hashable, CaseIterable {
    case allow = "Allow"
    case deny = "Deny"

    /// Case-insensitive: `allow`, `ALLOW` and `Allow` are all Allow.
    package init?(lenient text: String) {
        // The stored spelling first: every event read goes through here, and lowercasing costs.
        if let exact = Verdict(rawValue: text) {
            self = exact
            return
        }
        switch text.lowercased() {
        case "allow": self = .allow
        case "deny": self = .deny
        default: return nil
        }
    }
}

/// What the action type does when its endpoint can't give a valid verdict.
package enum ErrorMode: String, Codable, Sendable, Hashable, CaseIterable {
    case failOpen = "fail-open"
    case failClosed = "fail-closed"

    /// The verdict this mode gives when the endpoint fails.
    package var verdict: Verdict { self == .failOpen ? .allow : .deny }

    package var flipped: ErrorMode { self == .failOpen ? .failClosed : .failOpen }

    /// Accepts `fail-open`, `fail_open`, `open`, and the closed equivalents.
    package init?(name: String) {
        // The stored spelling first: every event read goes through here, and Foundation's
        // replacing costs microseconds.
        if let exact = ErrorMode(rawValue: name) {
            self = exact
            return
        }
        switch name.lowercased().replacingOccurrences(of: "_", with: "-") {
        case "fail-open", "open", "allow": self = .failOpen
        case "fail-closed", "closed", "deny": self = .failClosed
        default: return nil
        }
    }
}
