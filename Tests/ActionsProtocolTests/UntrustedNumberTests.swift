import Testing
@testable import ActionsProtocol

/// Numbers that arrive from outside can be anything an Int64 holds; none of them may trap.
@Suite struct UntrustedNumberTests {
    let body = Array(#"{"user_data":{"email":"ana@example.com"}}"#.utf8)
    let now: Int64 = 1_700_000_000_000

    @Test func signedResponsesWithExtremeTimestampsAreRefusedNotCrashed() throws {
        let verifier = ResponseVerifier(secrets: ["s"])
        for timestamp in [Int64.min, Int64.min + 1, -1, 0, Int64.max - 1, Int64.max] {
            let signed = ResponseSigner(secret: "s").body(for: .userRegistration, verdict: .allow, timestampMs: timestamp)
            #expect(throws: ResponseError.self) { try verifier.verify(body: signed, expecting: .userRegistration, nowMs: now) }
        }
        // And at the other end of the clock.
        let signed = ResponseSigner(secret: "s").body(for: .userRegistration, verdict: .allow, timestampMs: Int64.max)
        #expect(throws: ResponseError.self) { try verifier.verify(body: signed, expecting: .userRegistration, nowMs: Int64.min) }
    }

    @Test func requestHeadersWithExtremeTimestampsAreRefusedNotCrashed() {
        let verifier = RequestVerifier(secrets: ["s"])
        for timestamp in [Int64.max, Int64.max - 1, 0] {
            let header = RequestSigner(secret: "s").header(for: body, timestampMs: timestamp)
            #expect(throws: SignatureError.self) { try verifier.verify(header: header, body: body, nowMs: now) }
            #expect(throws: SignatureError.self) { try verifier.verify(header: header, body: body, nowMs: Int64.min) }
        }
        #expect(TimestampWindow.ageMs(of: Int64.max, nowMs: Int64.min) == -Int64.max)
        #expect(TimestampWindow.ageMs(of: Int64.min, nowMs: Int64.max) == Int64.max)
    }

    @Test func theNumberOfSignatureValuesIsCapped() throws {
        let good = RequestSigner(secret: "s").header(for: body, timestampMs: now)
        let filler = ", v1=" + String(repeating: "0", count: 64)
        let eight = good + String(repeating: filler, count: SignatureHeader.maxSignatures - 1)
        #expect(try RequestVerifier(secrets: ["s"]).verify(header: eight, body: body, nowMs: now) == now)
        let thousand = good + String(repeating: filler, count: 1000)
        #expect(throws: SignatureError.malformedHeader("more than 8 v1= values")) {
            try RequestVerifier(secrets: ["s"]).verify(header: thousand, body: body, nowMs: now)
        }
    }

    @Test func constantTimeComparison() {
        #expect(ActionsHMAC.equalInConstantTime([1, 2, 3], [1, 2, 3]))
        #expect(!ActionsHMAC.equalInConstantTime([1, 2, 3], [1, 2, 4]))
        #expect(!ActionsHMAC.equalInConstantTime([1, 2, 3], [1, 2]))
        #expect(!ActionsHMAC.equalInConstantTime([], [0]))
    }
}
