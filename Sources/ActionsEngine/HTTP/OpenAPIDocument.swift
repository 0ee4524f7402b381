/// The HTTP API as OpenAPI 3.1, served at `GET /openapi.json`: the file `openapi.json` beside
/// this one, embedded in the binary at build time (SwiftPM's `embedInCode`, so an installed
/// server needs no resource bundle beside it). `OpenAPITests` checks that every route and status
/// the server answers is listed there, and schemathesis (`scripts/schemathesis`) throws generated
/// requests at a live server from it.
package enum OpenAPIDocument {
    /// The document's bytes, as the file holds them.
    package static let bytes: [UInt8] = PackageResources.openapi_json

    package static var json: String { String(decoding: bytes, as: UTF8.self) }
}
