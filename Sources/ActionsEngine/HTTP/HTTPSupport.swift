import ActionsProtocol
import Foundation
import Hummingbird
import NIOCore
import HTTPTypes
import Logging

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

/// A JSON (or other) body with its content type, for handlers that write their own bytes.
package enum JSONBody {
    package static func response(_ status: HTTPResponse.Status, _ object: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
        return response(status, bytes: Array(data))
    }

    package static func response(_ status: HTTPResponse.Status, bytes: [UInt8], contentType: String = "application/json") -> Response {
        var headers = jsonHeaders
        if contentType != "application/json" { headers[.contentType] = contentType }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Built once: a new field's value is validated each time it is made, every decision.
    private static let jsonHeaders: HTTPFields = [.contentType: "application/json"]
}

enum RequestBody {
    /// The whole body, at most `limit` bytes, as valid UTF-8; otherwise the matching API error.
    static func read(_ request: Request, limit: Int) async throws(APIError) -> [UInt8] {
        // A walk of the few fields: a subscript builds the fields' lookup index first, which
        // cost about 4,000 instructions a decision (callgrind).
        if let field = request.headers.first(where: { $0.name == .contentLength }), let length = Int(field.value), length > limit {
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
        // ASCII is valid UTF-8, and a check that builds no String is cheap.
        guard bytes.withUnsafeBytes { ASCIIBytes.isASCII($0) } || String(validating: bytes, as: UTF8.self) != nil else {
            throw APIError(status: .badRequest, code: "invalid_utf8", message: "request body is not valid UTF-8")
        }
        return bytes
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "body_too_large", message: "request body is larger than \(limit) bytes")
    }
}

/// Writes one line to stdout unbuffered, so a parent process reading a pipe sees it at once
/// (the "listening on" line that scripts and tests wait for). A reader that went away loses the
/// line; the Foundation call that traps on a closed pipe is not used.
package func announce(_ line: String) {
    try? FileHandle.standardOutput.write(contentsOf: Array((line + "\n").utf8))
}
