import CIDN2

/// Why a string is not an identity the engine judges. Never echoes more than a bounded excerpt.
package enum IdentityError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLong(what: String, octets: Int, limit: Int)
    case invalidDomain(String, reason: String)

    package var description: String {
        switch self {
        case .tooLong(let what, let octets, let limit):
            return "\(what) is \(octets) octets long; at most \(limit) (RFC 5321, RFC 1035)"
        case .invalidDomain(let domain, let reason):
            return "\(TerminalText.escape(String(domain.prefix(80)))) is not a domain: \(reason)"
        }
    }
}

/// libidn2's UTS #46 processing (IDNA2008, non-transitional, NFC input): the one place domains
/// are mapped and encoded. Its cost is linear in the input, which is bounded before it gets here.
enum IDNA {
    /// The full stops UTS #46 maps to `.`.
    static let fullStops: Set<Unicode.Scalar> = [".", "\u{3002}", "\u{FF0E}", "\u{FF61}"]

    static func toASCII(_ text: Substring, hostname: Bool) throws(IdentityError) -> String {
        // A C string ends at NUL: a name with one would be judged by its first part.
        guard !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw .invalidDomain(String(text), reason: "control character")
        }
        var wildcard = false
        var name = text
        if name.hasPrefix("*.") {
            wildcard = true
            name = name.dropFirst(2)
        }
        guard !name.isEmpty else { throw .invalidDomain(String(text), reason: "empty") }
        // STD3: in ASCII, only letters, digits, hyphens and dots (libidn2 maps some others away).
        if hostname, name.unicodeScalars.contains(where: { $0.isASCII && !Self.isLDH($0) && $0 != "." }) {
            throw .invalidDomain(String(text), reason: "only letters, digits and hyphens may make a host name")
        }
        var flags = Int32(IDN2_NFC_INPUT.rawValue | IDN2_NONTRANSITIONAL.rawValue)
        if hostname { flags |= Int32(IDN2_USE_STD3_ASCII_RULES.rawValue) }
        var output: UnsafeMutablePointer<CChar>?
        let code = String(name).withCString { idn2_to_ascii_8z($0, &output, flags) }
        defer { idn2_free(output) }
        guard code == Int32(IDN2_OK.rawValue), let output else {
            throw .invalidDomain(String(text), reason: String(cString: idn2_strerror(code)))
        }
        var ascii = String(cString: output)
        // UTS #46 keeps a trailing empty label (from a mapped full stop); one spelling has none.
        if ascii.hasSuffix(".") && ascii.utf8.count > 1 { ascii.removeLast() }
        guard !ascii.isEmpty, !ascii.hasPrefix("."), !ascii.hasSuffix("."), !ascii.containsBytes("..") else {
            throw .invalidDomain(String(text), reason: "empty label")
        }
        // Punycode can make a name longer than its UTF-8 (libidn2 allows 255): RFC 1035's 253 holds
        // for what comes out too (found by the fuzzer).
        // What comes out is held to what goes in: letters, digits, hyphens, underscores and dots
        // (without STD3, libidn2 maps ／ ＠ ： ＊ and the ideographic space to ASCII punctuation).
        guard ascii.utf8.allSatisfy(Normalize.isDomainByte) else {
            throw .invalidDomain(String(text.prefix(80)), reason: "maps to characters a domain does not hold")
        }
        let octets = ascii.utf8.count + (wildcard ? 2 : 0)
        guard octets <= Normalize.maxDomainOctets else {
            throw .tooLong(what: "domain", octets: octets, limit: Normalize.maxDomainOctets)
        }
        if hostname, let label = ascii.split(separator: ".").first(where: { $0.hasPrefix("-") || $0.hasSuffix("-") }) {
            throw .invalidDomain(String(text), reason: "label \(label) starts or ends with a hyphen")
        }
        return wildcard ? "*." + ascii : ascii
    }

    static func isLDH(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
    }
}
