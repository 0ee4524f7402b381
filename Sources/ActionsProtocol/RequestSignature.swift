import Crypto

/// Why a `WorkOS-Signature` header was refused. Each case names what is wrong.
package enum SignatureError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingHeader
    case malformedHeader(String)
    case staleTimestamp(ageMs: Int64, toleranceMs: Int64)
    case futureTimestamp(aheadMs: Int64, toleranceMs: Int64)
    case mismatch

    package var description: String {
        switch self {
        case .missingHeader: return "missing WorkOS-Signature header"
        case .malformedHeader(let why): return "malformed WorkOS-Signature header: \(why)"
        case .staleTimestamp(let age, let tol): return "signature timestamp is \(age) ms old (tolerance \(tol) ms)"
        case .futureTimestamp(let ahead, let tol): return "signature timestamp is \(ahead) ms in the future (tolerance \(tol) ms)"
        case .mismatch: return "signature does not match the body for any configured secret"
        }
    }

    /// A short machine-readable code for logs and JSON errors.
    package var code: String {
        switch self {
        case .missingHeader: return "missing_signature"
        case .malformedHeader: return "malformed_signature"
        case .staleTimestamp: return "stale_timestamp"
        case .futureTimestamp: return "future_timestamp"
        case .mismatch: return "signature_mismatch"
        }
    }
}

/// The parsed `t=<ms>, v1=<hex>[, v1=<hex>...]` header.
package struct SignatureHeader: Equatable, Sendable {
    package var timestampMs: Int64
    /// Every `v1=` value, decoded from hex. Several allow a sender to sign with old and new secrets.
    package var signatures: [[UInt8]]

    package static let name = "WorkOS-Signature"
    package static let maxSignatures = 8

    /// Lenient about spaces after commas (the SDKs write `", "`), strict about content.
    package init(parsing header: String) throws(SignatureError) {
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for rawPart in header.split(separator: ",") {
            let part = rawPart.drop(while: { $0 == " " })
            if part.hasPrefix("t=") {
                guard timestamp == nil else { throw .malformedHeader("more than one t=") }
                guard let value = Int64(part.dropFirst(2)), value >= 0 else {
                    throw .malformedHeader("t= is not a millisecond timestamp")
                }
                timestamp = value
            } else if part.hasPrefix("v1=") {
                // Each value costs a comparison: a header with thousands of them was a cheap way
                // to make the server burn CPU. Rotation needs two; a few more do no harm.
                guard signatures.count < Self.maxSignatures else {
                    throw .malformedHeader("more than \(Self.maxSignatures) v1= values")
                }
                guard let bytes = Hex.decode(part.dropFirst(3)), bytes.count == 32 else {
                    throw .malformedHeader("v1= is not a hex SHA-256 HMAC")
                }
                signatures.append(bytes)
            }
            // Other schemes (v0=, future versions) are ignored, as Stripe-style headers expect.
        }
        guard let timestamp else { throw .malformedHeader("no t= timestamp") }
        guard !signatures.isEmpty else { throw .malformedHeader("no v1= signature") }
        self.timestampMs = timestamp
        self.signatures = signatures
    }

    package init(timestampMs: Int64, signatures: [[UInt8]]) {
        self.timestampMs = timestampMs
        self.signatures = signatures
    }

    /// `t=<ms>, v1=<hex>` exactly as the SDKs write it (the Python SDK splits on `", "`).
    package var headerValue: String {
        (["t=\(timestampMs)"] + signatures.map { "v1=" + Hex.encode($0) }).joined(separator: ", ")
    }
}

/// HMAC-SHA256 over `"<t>.<bytes>"`, keyed with the secret's UTF-8.
package enum ActionsHMAC {
    package static func mac<Body: Sequence>(secret: String, timestampMs: Int64, body: Body) -> [UInt8]
    where Body.Element == UInt8 {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        hmac.update(data: Array("\(timestampMs).".utf8))
        hmac.update(data: Array(body))
        return Array(hmac.finalize())
    }

    /// Compares two MACs in time that depends only on their length, never on where they differ.
    package static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// Signs outgoing requests the way WorkOS signs the ones it sends.
package struct RequestSigner: Sendable {
    package var secret: String

    package init(secret: String) { self.secret = secret }

    package func header(for body: [UInt8], timestampMs: Int64 = WallClock.nowMs()) -> String {
        SignatureHeader(
            timestampMs: timestampMs,
            signatures: [ActionsHMAC.mac(secret: secret, timestampMs: timestampMs, body: body)]
        ).headerValue
    }
}

/// Verifies `WorkOS-Signature` over the raw body bytes as received.
package struct RequestVerifier: Sendable {
    /// Every secret currently accepted; more than one while a secret is rotated.
    package var secrets: [String]
    package var toleranceMs: Int64

    package static let defaultToleranceMs: Int64 = 30_000

    package init(secrets: [String], toleranceMs: Int64 = RequestVerifier.defaultToleranceMs) {
        self.secrets = secrets
        self.toleranceMs = toleranceMs
    }

    /// Returns the signed timestamp. Checks the window in both directions: the SDKs only refuse
    /// old timestamps, but a timestamp far in the future is as suspicious as a replay.
    @discardableResult
    package func verify(header: String?, body: [UInt8], nowMs: Int64 = WallClock.nowMs()) throws(SignatureError) -> Int64 {
        guard let header, !header.isEmpty else { throw .missingHeader }
        let parsed = try SignatureHeader(parsing: header)
        let age = TimestampWindow.ageMs(of: parsed.timestampMs, nowMs: nowMs)
        if age > toleranceMs { throw .staleTimestamp(ageMs: age, toleranceMs: toleranceMs) }
        if -age > toleranceMs { throw .futureTimestamp(aheadMs: -age, toleranceMs: toleranceMs) }
        // One MAC per secret, compared with every value; no early exit, so timing does not reveal
        // which secret or value matched.
        var matched = false
        for secret in secrets {
            let expected = ActionsHMAC.mac(secret: secret, timestampMs: parsed.timestampMs, body: body)
            for candidate in parsed.signatures where ActionsHMAC.equalInConstantTime(candidate, expected) {
                matched = true
            }
        }
        guard matched else { throw .mismatch }
        return parsed.timestampMs
    }
}
