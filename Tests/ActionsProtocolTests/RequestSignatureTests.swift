import Testing
@testable import ActionsProtocol

@Suite struct RequestSignatureTests {
    let body = Array(#"{"id":"reg_1","user_data":{"email":"ana@example.com"}}"#.utf8)
    let now: Int64 = 1_700_000_000_000

    @Test func signedHeaderHasTheSDKShape() throws {
        let header = RequestSigner(secret: "s").header(for: body, timestampMs: now)
        #expect(header.hasPrefix("t=1700000000000, v1="))
        #expect(header.count == "t=1700000000000, v1=".count + 64)
    }

    @Test func signedRequestVerifies() throws {
        let header = RequestSigner(secret: "s").header(for: body, timestampMs: now)
        #expect(try RequestVerifier(secrets: ["s"]).verify(header: header, body: body, nowMs: now + 1000) == now)
    }

    @Test func tamperedBodyIsAMismatch() {
        let header = RequestSigner(secret: "s").header(for: body, timestampMs: now)
        var tampered = body
        tampered[tampered.count - 3] = UInt8(ascii: "X")
        #expect(throws: SignatureError.mismatch) { try RequestVerifier(secrets: ["s"]).verify(header: header, body: tampered, nowMs: now) }
    }

    @Test func reserializedBodyIsAMismatch() {
        // Verification is over the bytes as received: the same JSON with a space is not the same message.
        let header = RequestSigner(secret: "s").header(for: body, timestampMs: now)
        let spaced = Array(#"{"id": "reg_1","user_data":{"email":"ana@example.com"}}"#.utf8)
        #expect(throws: SignatureError.mismatch) { try RequestVerifier(secrets: ["s"]).verify(header: header, body: spaced, nowMs: now) }
    }

    @Test func wrongSecretIsAMismatch() {
        let header = RequestSigner(secret: "s").header(for: body, timestampMs: now)
        #expect(throws: SignatureError.mismatch) { try RequestVerifier(secrets: ["other"]).verify(header: header, body: body, nowMs: now) }
    }

    @Test func staleAndFutureTimestampsAreRefused() {
        let header = RequestSigner(secret: "s").header(for: body, timestampMs: now)
        let verifier = RequestVerifier(secrets: ["s"])
        #expect(throws: SignatureError.staleTimestamp(ageMs: 30_001, toleranceMs: 30_000)) {
            try verifier.verify(header: header, body: body, nowMs: now + 30_001)
        }
        #expect(throws: SignatureError.futureTimestamp(aheadMs: 30_001, toleranceMs: 30_000)) {
            try verifier.verify(header: header, body: body, nowMs: now - 30_001)
        }
        #expect(throws: Never.self) { try verifier.verify(header: header, body: body, nowMs: now + 30_000) }
    }

    @Test func rotationAcceptsAnyConfiguredSecretAndAnyV1() throws {
        let oldMac = ActionsHMAC.mac(secret: "old", timestampMs: now, body: body)
        let junk = [UInt8](repeating: 7, count: 32)
        let header = SignatureHeader(timestampMs: now, signatures: [junk, oldMac]).headerValue
        #expect(try RequestVerifier(secrets: ["new", "old"]).verify(header: header, body: body, nowMs: now) == now)
        #expect(throws: SignatureError.mismatch) { try RequestVerifier(secrets: ["new"]).verify(header: header, body: body, nowMs: now) }
    }

    @Test func headerErrorsSayWhatIsWrong() {
        let verifier = RequestVerifier(secrets: ["s"])
        #expect(throws: SignatureError.missingHeader) { try verifier.verify(header: nil, body: body) }
        #expect(throws: SignatureError.missingHeader) { try verifier.verify(header: "", body: body) }
        #expect(throws: SignatureError.malformedHeader("no t= timestamp")) { try verifier.verify(header: "v1=" + String(repeating: "ab", count: 32), body: body) }
        #expect(throws: SignatureError.malformedHeader("no v1= signature")) { try verifier.verify(header: "t=123", body: body) }
        #expect(throws: SignatureError.malformedHeader("t= is not a millisecond timestamp")) { try verifier.verify(header: "t=abc, v1=00", body: body) }
        #expect(throws: SignatureError.malformedHeader("v1= is not a hex SHA-256 HMAC")) { try verifier.verify(header: "t=1, v1=zz", body: body) }
    }

    @Test func headerWithoutSpaceAfterCommaParses() throws {
        let mac = ActionsHMAC.mac(secret: "s", timestampMs: now, body: body)
        let header = "t=\(now),v1=\(Hex.encode(mac))"
        #expect(try RequestVerifier(secrets: ["s"]).verify(header: header, body: body, nowMs: now) == now)
    }
}
