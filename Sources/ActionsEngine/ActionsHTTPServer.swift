import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Crypto
import ActionsProtocol
import ActionsStore

/// The server's HTTP surface.
///
/// - `POST /v1/actions/{user_registration|authentication}`: the engine API an identity service calls.
/// - `POST /actions/{user-registration|authentication}`: the WorkOS endpoint role (signed in, signed out).
/// - `POST /v1/events`: failed and successful logins, for the lockout.
/// - `GET /healthz`, `GET /metrics`.
public enum ActionsHTTPServer {
    /// The engine API's answer, written straight into bytes: this runs on every decision, and
    /// JSONEncoder cost more than the rest of the answer path together.
    public static func answer(_ decision: Decision) -> [UInt8] {
        let event = decision.event
        var out: [UInt8] = []
        out.reserveCapacity(256)
        func member(_ name: String, _ value: String?, first: Bool = false) {
            out.append(contentsOf: (first ? "{\"" : ",\"").utf8)
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: "\":".utf8)
            if let value { JSONText.appendQuoted(value, to: &out, escaping: .javaScript) } else { out.append(contentsOf: "null".utf8) }
        }
        member("verdict", decision.verdict.rawValue, first: true)
        member("error_message", decision.errorMessage) // null when absent, as documented
        member("decided_by", event.decidedBy.rawValue)
        member("outcome", event.outcome.rawValue)
        member("reason", event.reason)
        member("event_id", event.uid)
        member("action_id", event.actionId)
        out.append(UInt8(ascii: "}"))
        return out
    }

    public static func router(engine: DecisionEngine) -> Router<BasicRequestContext> {
        var routes: [String: Set<HTTPRequest.Method>] = [:]
        for type in ActionType.allCases {
            routes["/v1/actions/\(type.rawValue)"] = [.post]
            routes["/actions/\(type.pathSlug)"] = [.post]
        }
        routes["/v1/events"] = [.post]
        routes["/healthz"] = [.get, .head]
        routes["/metrics"] = [.get]
        routes["/openapi.json"] = [.get]

        let router = Router()
        router.add(middleware: JSONErrorMiddleware(routes: routes))
        let limit = engine.config.maxBodyBytes

        for type in ActionType.allCases {
            router.post("v1/actions/\(type.rawValue)") { request, _ -> Response in
                try await decide(type, request: request, engine: engine, limit: limit)
            }
            router.post("actions/\(type.pathSlug)") { request, _ -> Response in
                try await workOSEndpoint(type, request: request, engine: engine, limit: limit)
            }
        }
        router.post("v1/events") { request, _ -> Response in
            try await loginEvent(request: request, engine: engine, limit: limit)
        }
        router.get("healthz") { _, _ -> Response in
            // Still 200 when degraded: decisions are being made correctly; what is behind is the
            // log, and pulling the node out of a load balancer would not bring it back.
            let stats = engine.writer.stats
            var problems: [String] = []
            if stats.isStuck(nowMs: WallClock.nowMs()) {
                problems.append("event log stuck: \(stats.queued) events waiting" + (stats.lastError.map { "; last error: \($0)" } ?? ""))
            }
            return JSONBody.response(.ok, HealthAnswer(status: problems.isEmpty ? "ok" : "degraded", problems: problems,
                                                       eventsQueued: stats.queued, eventsDropped: stats.dropped,
                                                       configVersion: engine.live.current.configVersion))
        }
        router.head("healthz") { _, _ -> Response in Response(status: .ok) }
        router.get("openapi.json") { _, _ -> Response in
            JSONBody.response(.ok, bytes: Array(OpenAPIDocument.json.utf8))
        }
        router.get("metrics") { _, _ -> Response in
            engine.metrics.writer(engine.writer.stats)
            return JSONBody.response(.ok, bytes: engine.metrics.exposition(), contentType: "text/plain; version=0.0.4")
        }
        return router
    }

    struct HealthAnswer: Encodable {
        var status: String
        var problems: [String]
        var eventsQueued: Int
        var eventsDropped: Int
        /// The settings version the server decides with: after a change, a caller can wait for it
        /// (it is the store's `config_version`) instead of sleeping through a poll interval.
        var configVersion: Int64
        enum CodingKeys: String, CodingKey {
            case status, problems
            case configVersion = "config_version"
            case eventsQueued = "events_queued"
            case eventsDropped = "events_dropped"
        }
    }

    /// With `ACTIONS_API_TOKEN` set, the engine API and `/v1/events` need `Authorization: Bearer
    /// <token>`: otherwise anyone who reaches the port could lock any user out or flood the log.
    /// Digests are compared, so the time taken reveals neither the token nor its length.
    static func authorize(_ request: Request, engine: DecisionEngine) throws(APIError) {
        guard let expected = engine.config.apiToken else { return }
        let presented = request.headers[.authorization].flatMap { value in
            value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : nil
        } ?? ""
        guard ActionsHMAC.equalInConstantTime(Array(SHA256.hash(data: Array(presented.utf8))),
                                              Array(SHA256.hash(data: Array(expected.utf8)))) else {
            throw APIError(status: .unauthorized, code: "unauthorized",
                           message: presented.isEmpty ? "missing Authorization: Bearer token (ACTIONS_API_TOKEN is set)"
                                                      : "wrong bearer token")
        }
    }

    static func header(_ request: Request, _ name: String) -> String? {
        HTTPField.Name(name).flatMap { request.headers[$0] }
    }

    static func decide(_ type: ActionType, request: Request, engine: DecisionEngine, limit: Int) async throws -> Response {
        let start = MonotonicClock.nowNs()
        let body: [UInt8]
        let context: ActionContext
        do {
            try authorize(request, engine: engine)
            body = try await RequestBody.read(request, limit: limit)
            context = try ActionContext.decode(type, from: body)
        } catch let error as APIError {
            let outcome: Outcome = error.status == .unauthorized ? .unauthorized : .invalidRequest
            let event = engine.logRejected(type: type, outcome: outcome, reason: error.message, startNs: start)
            throw APIError(status: error.status, code: error.code, message: error.message,
                           extra: ["verdict": "Deny", "event_id": event.uid])
        } catch let error as ContextError {
            let event = engine.logRejected(type: type, outcome: .invalidRequest, reason: error.description, startNs: start)
            throw APIError(status: .badRequest, code: error.code, message: error.description,
                           extra: ["verdict": "Deny", "event_id": event.uid])
        }
        let decision = await engine.decide(context, received: body, startNs: start)
        return JSONBody.response(.ok, bytes: answer(decision))
    }

    /// WorkOS calls this: verify its signature over the raw body, decide by local policy, answer signed.
    static func workOSEndpoint(_ type: ActionType, request: Request, engine: DecisionEngine, limit: Int) async throws -> Response {
        let start = MonotonicClock.nowNs()
        let secrets = engine.config.secrets(for: type)
        guard let signingSecret = secrets.first else {
            engine.logRejected(type: type, outcome: .unauthorized, reason: "no ACTIONS_SECRET configured", startNs: start)
            throw APIError(status: .serviceUnavailable, code: "no_secret",
                           message: "actions-server has no ACTIONS_SECRET configured, so it cannot verify WorkOS requests")
        }
        let body: [UInt8]
        do {
            body = try await RequestBody.read(request, limit: limit)
        } catch {
            engine.logRejected(type: type, outcome: .invalidRequest, reason: error.message, startNs: start)
            throw error
        }
        do {
            try RequestVerifier(secrets: secrets).verify(header: header(request, SignatureHeader.name), body: body)
        } catch {
            let context = try? ActionContext.decode(type, from: body)
            engine.logRejected(type: type, outcome: .unauthorized, reason: error.description, startNs: start,
                               email: context?.email, ip: context?.ipAddress, userAgent: context?.userAgent)
            throw APIError(status: .unauthorized, code: error.code, message: error.description)
        }
        let context: ActionContext
        do {
            context = try ActionContext.decode(type, from: body)
        } catch {
            engine.logRejected(type: type, outcome: .invalidRequest, reason: error.description, startNs: start)
            throw APIError(status: .badRequest, code: error.code, message: error.description)
        }
        let decision = await engine.decide(context, received: body, startNs: start, consultEndpoint: false)
        let signed = ResponseSigner(secret: signingSecret).body(for: type, verdict: decision.verdict, errorMessage: decision.errorMessage)
        return JSONBody.response(.ok, bytes: signed)
    }

    struct LoginEventBody: Decodable {
        struct Data: Decodable {
            var email: String?
            var userId: String?
            var ipAddress: String?
            var user: User?
            struct User: Decodable { var id: String?; var email: String? }

            enum CodingKeys: String, CodingKey {
                case email, user
                case userId = "user_id"
                case ipAddress = "ip_address"
            }
        }
        var event: String
        var data: Data
    }

    struct LoginEventAnswer: Encodable {
        var status: String
        var failures: Int?
        var lockedUntilMs: Int64?
        enum CodingKeys: String, CodingKey {
            case status, failures
            case lockedUntilMs = "locked_until_ms"
        }
    }

    /// `authentication.*_failed` counts toward the lockout; `authentication.*succeeded` clears it.
    static func loginEvent(request: Request, engine: DecisionEngine, limit: Int) async throws -> Response {
        try authorize(request, engine: engine)
        let body = try await RequestBody.read(request, limit: limit)
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

    /// Runs the server until SIGINT/SIGTERM (or cancellation), then finishes requests in flight and flushes the log.
    public static func run(engine: DecisionEngine, host: String, port: Int, logger: Logger,
                           handleSignals: Bool = true, onRunning: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let readTimeout = TimeAmount.milliseconds(Int64(engine.config.readTimeoutMs))
        let app = Application(
            router: router(engine: engine),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestReadTimeout(timeout: readTimeout)],
                idleTimeout: .milliseconds(Int64(engine.config.idleTimeoutMs)))),
            configuration: .init(address: .hostname(host, port: port), serverName: "actions-server"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
        let background = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await engine.live.run() }
                group.addTask { await engine.runRetention() }
            }
        }
        do {
            try await runGracefully(app, handleSignals: handleSignals, logger: logger)
        } catch {
            background.cancel()
            await engine.shutdown()
            throw error
        }
        background.cancel()
        await engine.shutdown()
    }
}
