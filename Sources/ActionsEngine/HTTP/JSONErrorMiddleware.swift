import Hummingbird
import HTTPTypes

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
