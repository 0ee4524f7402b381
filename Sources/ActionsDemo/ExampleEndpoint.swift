import Foundation
import Hummingbird
import ServiceLifecycle
import HTTPTypes
import Logging
import NIOCore
import ActionsProtocol
import ActionsEngine

/// A customer's Actions endpoint, as the WorkOS docs write it, with faults on demand.
/// Tests, the benchmark and the demo point action types at its routes.
package struct ExampleEndpoint: Sendable {
    package static let routesHelp = """
        POST /hook/<behaviour>[?latency_ms=N] where behaviour is:
          ok            verify the signature; Deny emails at deny.example or containing "blocked", else Allow
          allow | deny  always that verdict (signed)
          timeout       never answer in time (sleeps 30 s)
          stall-body    send the response head at once, then stall the body for 30 s
          500           answer HTTP 500
          garbage       answer 200 with a body that is not JSON
          bad-signature answer signed with the wrong secret
          stale         answer signed 5 minutes ago
          wrong-object  answer with the other action type's object
          flaky         mostly ok, sometimes slow, 500, garbage or a bad signature (the demo)
        """

    package enum Behaviour: String, Sendable, CaseIterable {
        case ok, allow, deny, timeout
        case stallBody = "stall-body"
        case status500 = "500"
        case garbage
        case badSignature = "bad-signature"
        case stale
        case wrongObject = "wrong-object"
        case flaky
    }

    package let secret: String

    package init(secret: String) { self.secret = secret }

    package func router() -> Router<BasicRequestContext> {
        let router = Router()
        let secret = self.secret
        router.post("hook/:behaviour") { request, context -> Response in
            let name = context.parameters.get("behaviour") ?? "ok"
            guard var behaviour = Behaviour(rawValue: name) else {
                return JSONBody.response(.notFound, ["error": "unknown behaviour \(name)"])
            }
            let body = Array((try await request.body.collect(upTo: 1 << 20)).readableBytesView)
            do {
                try RequestVerifier(secrets: [secret]).verify(header: HTTPField.Name(SignatureHeader.name).flatMap { request.headers[$0] }, body: body)
            } catch {
                return JSONBody.response(.unauthorized, ["error": "\(error)"])
            }
            let object = (try? JSONDecoder().decode(ObjectOnly.self, from: Data(body)))?.object ?? ""
            let type: ActionType = object.hasPrefix("authentication") ? .authentication : .userRegistration
            var latencyMs = request.uri.queryParameters.get("latency_ms").flatMap(Int.init) ?? 0
            if behaviour == .flaky {
                (behaviour, latencyMs) = Self.flakyDraw()
            }
            if latencyMs > 0 { try await Task.sleep(for: .milliseconds(latencyMs)) }
            return try await answer(behaviour, type: type, body: body)
        }
        router.get("healthz") { _, _ in "ok" }
        return router
    }

    private struct ObjectOnly: Decodable { var object: String? }

    private struct EmailOnly: Decodable {
        struct Holder: Decodable { var email: String? }
        var userData: Holder?
        var user: Holder?
        enum CodingKeys: String, CodingKey {
            case user
            case userData = "user_data"
        }
        var email: String { userData?.email ?? user?.email ?? "" }
    }

    /// Mostly fine with 5–60 ms of latency; 4 % slow past any sane timeout, 3 % 500, 2 % garbage, 2 % bad signature.
    static func flakyDraw() -> (Behaviour, Int) {
        let roll = Int.random(in: 0..<100)
        switch roll {
        case 0..<4: return (.timeout, 0)
        case 4..<7: return (.status500, Int.random(in: 5...40))
        case 7..<9: return (.garbage, Int.random(in: 5...40))
        case 9..<11: return (.badSignature, Int.random(in: 5...40))
        default: return (.ok, Int.random(in: 5...60))
        }
    }

    private func answer(_ behaviour: Behaviour, type: ActionType, body: [UInt8]) async throws -> Response {
        let signer = ResponseSigner(secret: secret)
        switch behaviour {
        case .ok, .flaky:
            let email = ((try? JSONDecoder().decode(EmailOnly.self, from: Data(body)))?.email ?? "").lowercased()
            let deny = email.hasSuffix("@deny.example") || email.contains("blocked")
            return JSONBody.response(.ok, bytes: signer.body(for: type, verdict: deny ? .deny : .allow,
                                                             errorMessage: deny ? "Blocked by the example endpoint" : nil))
        case .allow:
            return JSONBody.response(.ok, bytes: signer.body(for: type, verdict: .allow))
        case .deny:
            return JSONBody.response(.ok, bytes: signer.body(for: type, verdict: .deny, errorMessage: "Denied by the example endpoint"))
        case .timeout:
            // A graceful shutdown ends the wait: the sleep held actions-top's demo open for 30 s after `q`.
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(30)) }
            return JSONBody.response(.ok, bytes: signer.body(for: type, verdict: .allow))
        case .stallBody:
            // Headers now, body later: a client whose deadline stops at the head waits it out.
            let signed = signer.body(for: type, verdict: .allow)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(30)) }
                try await writer.write(ByteBuffer(bytes: signed))
                try await writer.finish(nil)
            })
        case .status500:
            return JSONBody.response(.internalServerError, ["error": "internal error"])
        case .garbage:
            return JSONBody.response(.ok, bytes: Array("<html>502 Bad Gateway</html>".utf8), contentType: "text/html")
        case .badSignature:
            return JSONBody.response(.ok, bytes: ResponseSigner(secret: secret + "-wrong").body(for: type, verdict: .allow))
        case .stale:
            return JSONBody.response(.ok, bytes: signer.body(for: type, verdict: .allow, timestampMs: WallClock.nowMs() - 300_000))
        case .wrongObject:
            let other: ActionType = type == .authentication ? .userRegistration : .authentication
            return JSONBody.response(.ok, bytes: signer.body(for: other, verdict: .allow))
        }
    }

    /// The endpoint as a Hummingbird `Application` (a `Service`): run it in a `ServiceGroup`.
    package func application(host: String, port: Int, logger: Logger,
                            onRunning: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "example-endpoint"),
                    onServerRunning: { onRunning($0.localAddress?.port ?? port) }, logger: logger)
    }
}
