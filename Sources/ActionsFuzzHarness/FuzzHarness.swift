import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsEngine
import ActionsTop

/// Every parser that reads untrusted bytes, as one entry point each, with the properties that
/// must hold whatever the input. libFuzzer drives these (the `Fuzz/` package, `scripts/fuzz`),
/// and the test suite replays the kept corpus (`Fuzz/Corpus/`) through them, so a crash the
/// fuzzer once found stays fixed. A violated property traps, which is what a fuzzer reports.
public enum FuzzHarness {
    public static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "json": json, "context": context, "signature-header": signatureHeader, "signed-response": signedResponse,
        "config": config, "theme": theme, "sanitizer": sanitizer,
        "key-bindings": keyBindings, "import-lines": importLines, "postgres-url": postgresURL, "idna": idna,
    ]

    /// The JSON reader: never stricter than needed to be safe, never looser than Foundation.
    public static func json(_ bytes: [UInt8]) {
        guard let object = try? JSON.object(bytes) else { return }
        for member in object.members {
            switch member.value.kind {
            case .object: _ = object.object(member.value)
            case .string: _ = object.string(member.value)
            case .number: _ = object.integer(member.value)
            case .bool: _ = object.bool(member.value)
            default: break
            }
        }
        // Whatever we accept, Foundation accepts too (it is the looser of the two).
        precondition((try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil,
                     "accepted JSON that Foundation refuses")
    }

    /// The context decoder, and forwarding: what is forwarded is still a JSON object with an id.
    public static func context(_ bytes: [UInt8]) {
        for type in ActionType.allCases {
            guard let context = try? ActionContext.decode(type, from: bytes) else { continue }
            _ = (context.email, context.emailDomain, context.organizationId, Normalize.email(context.email))
            let forwarded = ActionContext.forwardedBody(bytes, id: "act_fuzz")
            guard let object = try? JSON.object(forwarded) else { preconditionFailure("forwarded body is not JSON") }
            precondition(object["id"] != nil, "forwarded body has no id")
        }
    }

    /// The `WorkOS-Signature` header parser: whatever parses, prints back to a header that parses the same.
    public static func signatureHeader(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let header = try? SignatureHeader(parsing: text) else {
            _ = try? RequestVerifier(secrets: ["s"]).verify(header: text, body: bytes)
            return
        }
        precondition(header.signatures.count <= SignatureHeader.maxSignatures)
        precondition((try? SignatureHeader(parsing: header.headerValue)) == header, "header does not round-trip")
        _ = try? RequestVerifier(secrets: ["s", "t"]).verify(header: text, body: bytes)
    }

    /// The signed-response verifier, with the input as the body and as the clock's reading.
    public static func signedResponse(_ bytes: [UInt8]) {
        let verifier = ResponseVerifier(secrets: ["s"])
        var now: Int64 = 0
        for byte in bytes.prefix(8) { now = now << 8 | Int64(byte) }
        for type in ActionType.allCases {
            _ = try? verifier.verify(body: bytes, expecting: type)
            _ = try? verifier.verify(body: bytes, expecting: type, nowMs: now)
        }
    }

    /// The server's config file, as its bytes: never an error that echoes a value.
    public static func config(_ bytes: [UInt8]) {
        _ = try? TOMLSubset.parse(bytes)
        _ = try? EngineConfig.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.toml")
    }

    /// actions-top's key-bindings file.
    public static func keyBindings(_ bytes: [UInt8]) {
        _ = try? KeyFile.parse(bytes, file: "fuzz")
    }

    /// A deny or allow list file: every value that imports is one `normalize` accepts again, unchanged.
    public static func importLines(_ bytes: [UInt8]) {
        for (index, line) in TextLines.lines(bytes).enumerated() { precondition(line.number == index + 1, "line numbers skip") }
        for (_, entry) in ListImport.values(in: bytes) {
            guard case .value(let value) = entry else { continue }
            for kind in EntryKind.allCases {
                guard let normalized = try? ListEntry.normalize(value, kind: kind) else { continue }
                precondition((try? ListEntry.normalize(normalized, kind: kind)) == normalized, "normalize is not idempotent")
            }
        }
    }

    /// PostgreSQL URLs: whatever the text, an error never shows the password.
    public static func postgresURL(_ bytes: [UInt8]) {
        let password = "pw-\(bytes.count)-secret"
        let text = "postgres://u:" + password + String(decoding: bytes, as: UTF8.self)
        do {
            _ = try PostgresLocation(url: text, environment: [:])
        } catch {
            precondition(!"\(error)".contains(password), "the password reached an error")
        }
    }

    /// The libidn2 boundary: sizes refused first; what is accepted is ASCII within RFC 1035's
    /// sizes and a fixed point of normalization.
    public static func idna(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = Normalize.domain(text)
        _ = Normalize.emailAndDomain(text)
        for hostname in [false, true] {
            guard let domain = try? Normalize.checkedDomain(text, hostname: hostname) else { continue }
            precondition(domain.unicodeScalars.allSatisfy(\.isASCII), "a non-ASCII domain came out")
            precondition(domain.utf8.count <= Normalize.maxDomainOctets + 2, "a domain past 253 octets came out")
            precondition((try? Normalize.checkedDomain(domain, hostname: hostname)) == domain, "not a fixed point: \(domain)")
        }
        if let checked = try? Normalize.checkedEmailAndDomain(text) {
            precondition(checked.email.utf8.count <= 4 * Normalize.maxEmailOctets, "an email grew without bound")
            // A decision judges the checked spelling in place of normalizing again: the two agree.
            let plain = Normalize.emailAndDomain(text)
            precondition(checked.email == plain.email && checked.domain == plain.domain, "checked and plain differ: \(text)")
        }
        // The ASCII fast path answers exactly as the general path: the same address, or a refusal.
        let fast = try? Normalize.checkedEmailAndDomain(text), general = try? Normalize.checkedEmailAndDomain(text, fastPath: false)
        precondition(fast?.email == general?.email && fast?.domain == general?.domain, "the fast path differs: \(text)")
    }

    /// actions-top's theme files.
    public static func theme(_ bytes: [UInt8]) {
        let theme = Theme.parse(String(decoding: bytes, as: UTF8.self), name: "fuzz")
        _ = theme.style(.header)
    }

    /// The terminal sanitizer: nothing it lets through may act on a terminal.
    public static func sanitizer(_ bytes: [UInt8]) {
        let escaped = TerminalText.escape(String(decoding: bytes, as: UTF8.self))
        for scalar in escaped.unicodeScalars where scalar != "\\" {
            precondition(!TerminalText.needsEscape(scalar), "let U+\(String(scalar.value, radix: 16)) through")
        }
    }
}
