import HTTPTypes
import ActionsProtocol

/// Every route the server answers, in one list: the controller registers exactly these, the 405
/// table is built from them, and the OpenAPI test checks each against the document.
package enum APIRoute: Hashable, Sendable {
    /// `POST /v1/actions/{user_registration|authentication}`: the engine API an identity service calls.
    case decide(ActionType)
    /// `POST /v1/actions/{type}/test`: a synthetic decision, traced and marked as a test (`actionsctl test`).
    case testAction(ActionType)
    /// `POST /actions/{user-registration|authentication}`: the WorkOS endpoint role (signed in, signed out).
    case workOSEndpoint(ActionType)
    /// `POST /v1/events`: failed and successful logins, for the lockout.
    case loginEvents
    case health, healthHead, metrics, openAPI

    package static let all: [APIRoute] =
        ActionType.allCases.flatMap { [APIRoute.decide($0), .testAction($0), .workOSEndpoint($0)] }
        + [.loginEvents, .health, .healthHead, .metrics, .openAPI]

    package var method: HTTPRequest.Method {
        switch self {
        case .decide, .testAction, .workOSEndpoint, .loginEvents: return .post
        case .health, .metrics, .openAPI: return .get
        case .healthHead: return .head
        }
    }

    package var path: String {
        switch self {
        case .decide(let type): return "/v1/actions/\(type.rawValue)"
        case .testAction(let type): return "/v1/actions/\(type.rawValue)/test"
        case .workOSEndpoint(let type): return "/actions/\(type.pathSlug)"
        case .loginEvents: return "/v1/events"
        case .health, .healthHead: return "/healthz"
        case .metrics: return "/metrics"
        case .openAPI: return "/openapi.json"
        }
    }

    /// Path -> the methods it is served with, to tell 405 from 404.
    static var methodsByPath: [String: Set<HTTPRequest.Method>] {
        all.reduce(into: [:]) { table, route in table[route.path, default: []].insert(route.method) }
    }
}
