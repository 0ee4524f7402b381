import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// What came of one call to a customer's endpoint.
package struct EndpointResult: Sendable {
    package var outcome: Outcome
    package var payload: ActionResponsePayload?
    package var httpStatus: Int?
    package var latencyUs: Int64
    /// What went wrong, or an excerpt of the answer, for the event's detail.
    package var detail: String?

    package var succeeded: Bool { outcome == .ok && payload != nil }
}

/// POSTs signed contexts to the endpoint and verifies its signed answers. As a `Service` it
/// waits for its group's shutdown and then closes its connections.
package final class EndpointClient: Service, Sendable {
    package static let maxResponseBytes = 64 * 1024
    private let client: HTTPClient
    private let shutDown = Atomic<Bool>(false)

    package init() {
        var configuration = HTTPClient.Configuration()
        // Fail a refused connection at once instead of retrying until the deadline: the error mode
        // (and the circuit breaker) should decide, not a login left waiting.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    package func run() async {
        try? await gracefulShutdown()
        try? await client.shutdown()
        shutDown.store(true, ordering: .releasing)
    }

    /// An engine made but never run (a router test, a tool) still closes its client: AsyncHTTPClient
    /// traps on a client released without a shutdown. The callback form does not block.
    deinit {
        if !shutDown.load(ordering: .acquiring) { client.shutdown { _ in } }
    }

    package func call(url: String, type: ActionType, body: [UInt8], signer: RequestSigner, verifier: ResponseVerifier,
                     timeoutMs: Int, trace: TraceParent? = nil) async -> EndpointResult {
        let start = MonotonicClock.nowNs()
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "actions-server")
        request.headers.add(name: SignatureHeader.name, value: signer.header(for: body))
        if let trace { request.headers.add(name: "traceparent", value: trace.header) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeoutMs))
        let exchange: (status: Int, body: [UInt8])?
        do {
            // The deadline covers the whole exchange, body included (AsyncHTTPClient's own deadline
            // stops at the response head).
            exchange = try await withTimeout(.milliseconds(timeoutMs)) { [client, request] in
                let response = try await client.execute(request, deadline: deadline)
                let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
                return (Int(response.status.code), Array(buffer.readableBytesView))
            }
        } catch {
            let latency = MonotonicClock.microsSince(start)
            let outcome = Self.classify(error, elapsedUs: latency, timeoutMs: timeoutMs)
            return EndpointResult(outcome: outcome, latencyUs: latency, detail: Self.describe(error, outcome: outcome, timeoutMs: timeoutMs))
        }
        let latency = MonotonicClock.microsSince(start)
        guard let (status, bytes) = exchange else {
            return EndpointResult(outcome: .timeout, latencyUs: latency, detail: Self.describe(CancellationError(), outcome: .timeout, timeoutMs: timeoutMs))
        }
        guard (200..<300).contains(status) else {
            return EndpointResult(outcome: .httpStatus, httpStatus: status, latencyUs: latency,
                                  detail: "HTTP \(status): \(Self.excerpt(bytes))")
        }
        do {
            let payload = try verifier.verify(body: bytes, expecting: type)
            return EndpointResult(outcome: .ok, payload: payload, httpStatus: status, latencyUs: latency,
                                  detail: Self.excerpt(bytes))
        } catch {
            return EndpointResult(outcome: error.isSignatureProblem ? .badSignature : .invalidResponse, httpStatus: status,
                                  latencyUs: latency, detail: "\(error.description): \(Self.excerpt(bytes))")
        }
    }

    static func classify(_ error: any Error, elapsedUs: Int64, timeoutMs: Int) -> Outcome {
        if let error = error as? HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) { return .timeout }
            if error == .bodyLengthMismatch { return .invalidResponse }
        }
        if error is NIOTooManyBytesError { return .invalidResponse }
        if elapsedUs >= Int64(timeoutMs) * 1000 { return .timeout }
        return .connectError
    }

    static func describe(_ error: any Error, outcome: Outcome, timeoutMs: Int) -> String {
        switch outcome {
        case .timeout: return "no answer within \(timeoutMs) ms"
        case .invalidResponse: return "response over \(maxResponseBytes) bytes or malformed: \(error)"
        default: return "connection failed: \(error)"
        }
    }

    /// The first 300 bytes of a body, for the detail view (sanitized later, when drawn).
    static func excerpt(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(300), as: UTF8.self)
        return bytes.count > 300 ? text + "…" : text
    }
}
