import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes
import HTTPTypes
import Logging
import ServiceLifecycle

/// A JSON error answer: `{"error": code, "message": text}` plus any extra members.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var extra: [String: String] = [:]

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var object = extra
        object["error"] = code
        object["message"] = message
        return JSONBody.response(status, object)
    }
}

enum JSONBody {
    static func response(_ status: HTTPResponse.Status, _ object: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
        return response(status, bytes: Array(data))
    }

    static func response(_ status: HTTPResponse.Status, bytes: [UInt8], contentType: String = "application/json") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

enum RequestBody {
    /// The whole body, at most `limit` bytes, as valid UTF-8; otherwise the matching API error.
    static func read(_ request: Request, limit: Int) async throws(APIError) -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge(limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit)
        } catch {
            // The connection went away mid-body (the client, or RequestReadTimeout closing it).
            throw APIError(status: .badRequest, code: "incomplete_body", message: "request body did not arrive whole: \(error)")
        }
        let bytes = Array(buffer.readableBytesView)
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw APIError(status: .badRequest, code: "invalid_utf8", message: "request body is not valid UTF-8")
        }
        return bytes
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "body_too_large", message: "request body is larger than \(limit) bytes")
    }
}

/// Closes a connection whose request, once its head has arrived, does not arrive whole within
/// `timeout`. Hummingbird's idle timeout already closes connections whose head never completes
/// (no request part is read, so the connection stays idle), but every body byte counts as
/// activity: a client sending one byte a second would hold its connection and buffer forever.
/// A timer per request on the event loop costs far less than racing each body read in a task.
final class RequestReadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            timer?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) { loopBound.value.close(promise: nil) }
        case .end:
            timer?.cancel()
            timer = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}

/// Turns every error (unknown route, wrong method, framework errors) into a JSON answer.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Path -> methods served, to tell 405 from 404.
    let routes: [String: Set<HTTPRequest.Method>]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            if error.status == .notFound {
                if let methods = routes[request.uri.path], !methods.contains(request.method) {
                    var response = JSONBody.response(.methodNotAllowed, [
                        "error": "method_not_allowed",
                        "message": "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(methods.map(\.rawValue).sorted().joined(separator: ", "))",
                    ])
                    response.headers[.allow] = methods.map(\.rawValue).sorted().joined(separator: ", ")
                    return response
                }
                return JSONBody.response(.notFound, ["error": "not_found", "message": "no route for \(request.method.rawValue) \(request.uri.path)"])
            }
            let code = error.status == .contentTooLarge ? "body_too_large" : "http_error"
            return JSONBody.response(error.status, ["error": code, "message": error.body ?? error.status.reasonPhrase])
        }
    }
}

/// Writes one line to stdout unbuffered, so a parent process reading a pipe sees it at once
/// (the "listening on" line that scripts and tests wait for).
public func announce(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Runs a Hummingbird application until SIGTERM/SIGINT (when `handleSignals`) or until the calling
/// task is cancelled, and either way shuts down gracefully: stop accepting, finish the requests in
/// flight, return. Cancellation must not reach the server's own tasks: tearing connections down
/// mid-request made NIO trap on an async writer that was never finished (the demo inside
/// actions-top crashed on quit), so the service group runs in a task of its own.
func runGracefully(_ app: some Service, handleSignals: Bool, logger: Logger) async throws {
    let services = ServiceGroup(configuration: .init(
        services: [app], gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [], logger: logger))
    let running = Task { try await services.run() }
    try await withTaskCancellationHandler {
        try await running.value
    } onCancel: {
        Task { await services.triggerGracefulShutdown() }
    }
}
