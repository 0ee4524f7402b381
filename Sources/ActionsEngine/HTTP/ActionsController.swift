import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import Crypto
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The server's HTTP surface: registers every route of `APIRoute.all` and answers them from the
/// engine. Errors are thrown as `APIError` and written as JSON by `JSONErrorMiddleware`.
package struct ActionsController: Sendable {
    let engine: DecisionEngine

    package init(engine: DecisionEngine) { self.engine = engine }

    package func addRoutes(to router: Router<some RequestContext>) {
        router.add(middleware: Self.errorMiddleware())
        for route in APIRoute.all {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await respond(route, request, peer: Self.peer(context))
            }
        }
    }

    static func errorMiddleware<Context>() -> JSONErrorMiddleware<Context> {
        JSONErrorMiddleware(routes: APIRoute.methodsByPath)
    }

    /// The client's address, where the request context knows it (for refusal logs). Kept as an
    /// address and written out only when a refusal is logged: formatting it (`inet_ntop`, then
    /// the text) cost about 2,900 instructions on every request (callgrind).
    static func peer(_ context: some RequestContext) -> SocketAddress? {
        (context as? any RemoteAddressRequestContext)?.remoteAddress
    }

    /// `address:port`, as refusal logs name a peer.
    static func describe(_ peer: SocketAddress?) -> String? {
        peer.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }
    }

    func respond(_ route: APIRoute, _ request: Request, peer: SocketAddress? = nil) async throws -> Response {
        switch route {
        case .decide(let type): return try await decide(type, request: request, peer: peer)
        case .testAction(let type): return try await decide(type, request: request, test: true, peer: peer)
        case .workOSEndpoint(let type): return try await workOSEndpoint(type, request: request, peer: peer)
        case .loginEvents: return try await loginEvent(request: request, peer: peer)
        case .health: return health()
        // HEAD /healthz: a load balancer's cheapest probe.
        case .healthHead: return Response(status: .ok)
        case .metrics:
            return JSONBody.response(.ok, bytes: engine.metricsExposition(), contentType: "text/plain; version=0.0.4")
        case .openAPI: return JSONBody.response(.ok, bytes: OpenAPIDocument.bytes)
        }
    }

    /// Still 200 when degraded: decisions are being made correctly; what is behind is the log,
    /// and pulling the node out of a load balancer would not bring it back.
    func health() -> Response {
        let stats = engine.eventLog
        var problems: [String] = []
        let nowMs = WallClock.nowMs()
        if stats.isStuck(nowMs: nowMs) {
            problems.append("event log stuck: \(stats.queued) events waiting" + (stats.lastError.map { "; last error: \($0)" } ?? ""))
        }
        // Degraded for five minutes after the database refused an event: long enough for a probe to see it.
        if let last = stats.lastRejectedMs, nowMs - last < 300_000 {
            problems.append("the database refused \(stats.rejected) events, each written alone and logged nowhere else"
                            + (stats.lastError.map { "; last error: \($0)" } ?? ""))
        }
        // Searches still answer, scanning what the index has not reached: slower, not wrong.
        let lag = engine.searchIndexLag
        if lag.seconds > DecisionEngine.searchLagProblemSeconds {
            problems.append("search index \(Int(lag.seconds)) s behind the log (\(lag.events) events): searches scan those")
        }
        return JSONBody.response(.ok, HealthAnswer(status: problems.isEmpty ? "ok" : "degraded", problems: problems,
                                                   eventsQueued: stats.queued, eventsDropped: stats.dropped,
                                                   eventsRejected: stats.rejected,
                                                   configVersion: engine.policyVersion, lockoutVersion: engine.lockoutVersion,
                                                   databaseServer: engine.databaseServer))
    }

    /// With `ACTIONS_API_TOKEN` set, the engine API and `/v1/events` need `Authorization: Bearer
    /// <token>` (the scheme in any case, RFC 7235): otherwise anyone who reaches the port could
    /// lock any user out or flood the log. Digests are compared, so the time taken reveals neither
    /// the token nor its length. A refused request is counted and logged (`refuse`), never decided.
    func authorize(_ request: Request, _ config: EngineConfig, route: APIRoute, peer: SocketAddress?) throws(APIError) {
        guard let expected = config.apiToken else { return }
        let presented = request.headers[.authorization].flatMap(Self.bearerToken) ?? ""
        guard ActionsHMAC.equalInConstantTime(Array(SHA256.hash(data: Array(presented.utf8))),
                                              Array(SHA256.hash(data: Array(expected.utf8)))) else {
            let reason = presented.isEmpty ? "missing_token" : "wrong_token"
            engine.refused(route, reason: reason, peer: Self.describe(peer))
            throw APIError(status: .unauthorized, code: "unauthorized",
                           message: presented.isEmpty ? "missing Authorization: Bearer token (ACTIONS_API_TOKEN is set)"
                                                      : "wrong bearer token")
        }
    }

    /// The credentials of an `Authorization: Bearer <token>` header: the scheme is
    /// case-insensitive and separated by one or more spaces (RFC 7235).
    static func bearerToken(_ value: String) -> String? {
        guard let space = value.firstIndex(of: " "), value[..<space].lowercased() == "bearer" else { return nil }
        let token = value[space...].drop { $0 == " " }
        return token.isEmpty ? nil : String(token)
    }

    func header(_ request: Request, _ name: String) -> String? {
        HTTPField.Name(name).flatMap { request.headers[$0] }
    }

    /// `test`: `actionsctl test`'s synthetic decision, answered with its trace.
    /// W3C Trace Context: the identity service's trace, carried on to the endpoint and logged.
    static let traceparent = HTTPField.Name("traceparent")!

    func decide(_ type: ActionType, request: Request, test: Bool = false, peer: SocketAddress? = nil) async throws -> Response {
        let start = MonotonicClock.nowNs()
        // One read of the reloadable configuration per request.
        let config = engine.config
        let body: [UInt8]
        let context: CheckedContext
        // Unauthenticated: refused and counted, never logged as a decision (what it claims is no
        // one's); the answer still says Deny, for a caller that reads only the verdict.
        do {
            try authorize(request, config, route: test ? .testAction(type) : .decide(type), peer: peer)
        } catch {
            throw APIError(status: error.status, code: error.code, message: error.message, extra: ["verdict": "Deny"])
        }
        do {
            body = try await RequestBody.read(request, limit: config.maxBodyBytes)
            context = try ActionContext.decodeChecked(type, from: body)
        } catch let error as APIError {
            let event = engine.logRejected(type: type, outcome: .invalidRequest, reason: error.message, startNs: start)
            throw APIError(status: error.status, code: error.code, message: error.message,
                           extra: ["verdict": "Deny", "event_id": event.uid])
        } catch let error as ContextError {
            let event = engine.logRejected(type: type, outcome: .invalidRequest, reason: error.description, startNs: start)
            throw APIError(status: .badRequest, code: error.code, message: error.description,
                           extra: ["verdict": "Deny", "event_id": event.uid])
        }
        let trace = request.headers[Self.traceparent].flatMap(TraceParent.init(header:))
        let decision = await engine.decide(context, received: body, startNs: start, test: test, trace: trace)
        return JSONBody.response(.ok, bytes: DecisionAnswer.bytes(decision))
    }

    /// WorkOS calls this: verify its signature over the raw body, decide by local policy, answer signed.
    func workOSEndpoint(_ type: ActionType, request: Request, peer: SocketAddress? = nil) async throws -> Response {
        let start = MonotonicClock.nowNs()
        let config = engine.config
        let secrets = config.secrets(for: type)
        // Nothing before the signature is checked becomes a decision in the log: an unsigned
        // request is anyone's, whatever it claims.
        guard let signingSecret = secrets.first else {
            engine.refused(.workOSEndpoint(type), reason: "no_secret", peer: Self.describe(peer))
            throw APIError(status: .serviceUnavailable, code: "no_secret",
                           message: "actions-server has no ACTIONS_SECRET configured, so it cannot verify WorkOS requests")
        }
        let body: [UInt8]
        do {
            body = try await RequestBody.read(request, limit: config.maxBodyBytes)
        } catch {
            engine.refused(.workOSEndpoint(type), reason: "unreadable_body", peer: Self.describe(peer))
            throw error
        }
        do {
            try RequestVerifier(secrets: secrets).verify(header: header(request, SignatureHeader.name), body: body)
        } catch {
            // Anyone can send an unsigned body naming any customer's users: refused and counted,
            // never logged as a decision, never shown in the attack panel.
            engine.refused(.workOSEndpoint(type), reason: error.code, peer: Self.describe(peer))
            throw APIError(status: .unauthorized, code: error.code, message: error.description)
        }
        let context: CheckedContext
        do {
            context = try ActionContext.decodeChecked(type, from: body)
        } catch {
            engine.logRejected(type: type, outcome: .invalidRequest, reason: error.description, startNs: start)
            throw APIError(status: .badRequest, code: error.code, message: error.description)
        }
        let trace = request.headers[Self.traceparent].flatMap(TraceParent.init(header:))
        let decision = await engine.decide(context, received: body, startNs: start, consultEndpoint: false, trace: trace)
        let signed = ResponseSigner(secret: signingSecret).body(for: type, verdict: decision.verdict, errorMessage: decision.errorMessage)
        return JSONBody.response(.ok, bytes: signed)
    }

    /// `authentication.*_failed` counts toward the lockout; `authentication.*succeeded` clears it.
    func loginEvent(request: Request, peer: SocketAddress? = nil) async throws -> Response {
        let config = engine.config
        try authorize(request, config, route: .loginEvents, peer: peer)
        let body = try await RequestBody.read(request, limit: config.maxBodyBytes)
        let parsed: LoginEventBody
        do {
            parsed = try JSONDecoder().decode(LoginEventBody.self, from: Data(body))
        } catch {
            throw APIError(status: .badRequest, code: "invalid_event",
                           message: "expected {\"event\": \"authentication.password_failed\", \"data\": {\"email\": ...}}")
        }
        guard let email = parsed.data.email ?? parsed.data.user?.email, email.contains("@") else {
            throw APIError(status: .badRequest, code: "missing_field", message: "missing required field data.email")
        }
        // The lockout key is a normalized email: one it cannot normalize (too long, a domain
        // UTS #46 refuses) is refused before it is counted.
        do {
            _ = try Normalize.checkedEmailAndDomain(email)
        } catch {
            throw APIError(status: .badRequest, code: "invalid_field", message: "field data.email is invalid: \(error.description)")
        }
        let userId = parsed.data.userId ?? parsed.data.user?.id
        let name = parsed.event.lowercased()
        let loginEvent: DecisionEngine.LoginEvent
        if name.hasPrefix("authentication.") && name.hasSuffix("failed") {
            loginEvent = .failed(email: email, userId: userId, ip: parsed.data.ipAddress)
        } else if name.hasPrefix("authentication.") && name.hasSuffix("succeeded") {
            loginEvent = .succeeded(email: email)
        } else {
            return JSONBody.response(.accepted, LoginEventAnswer(status: "ignored"))
        }
        do {
            let record = try await engine.record(loginEvent)
            let locked = record?.isLocked(nowMs: WallClock.nowMs()) ?? false
            let status: String
            switch loginEvent {
            case .failed: status = locked ? "locked" : "counted"
            // A success does not end a lockout: say so rather than claim a reset.
            case .succeeded: status = locked ? "still_locked" : "reset"
            }
            return JSONBody.response(.ok, LoginEventAnswer(status: status, failures: record?.failures,
                                                           lockedUntilMs: locked ? record?.lockedUntilMs : nil))
        } catch {
            throw APIError(status: .serviceUnavailable, code: "store_unavailable", message: "\(error); not counted, retry")
        }
    }
}
