import Foundation

/// The one spelling every identity is compared in: deny and allow entries, lockout keys and rate
/// keys all go through here, so that a variant cannot slip past an entry written another way.
///
/// - Case: `Eve@Example.COM` is `eve@example.com`.
/// - Domains as UTS #46 maps them (libidn2): fullwidth `ｅxample.com`, `example。com` and
///   `exam\u{AD}ple.com` are all `example.com`.
/// - A trailing dot: `example.com.` is `example.com`.
/// - Internationalized domains: `bücher.de` and `xn--bcher-kva.de` are one domain; the ASCII
///   (punycode) form is the canonical one.
/// - Local parts: lower-cased, NFKC.
/// - Optionally (`foldAddresses`, off by default): `+tag` sub-addressing, and dots in Gmail
///   local parts, so that `a.b+1@gmail.com` is `ab@gmail.com`. Only for lockout and rate keys,
///   where one person must not get several counters; never for deny entries.
///
/// IP addresses are normalized by `IPAddress` (IPv4-mapped IPv6 is IPv4).
///
/// Each function takes a `String` or a `Substring`, not `some StringProtocol`: a generic one is not
/// specialized across modules, and unspecialized it cost the policy module about 20,000
/// instructions per decision in witness calls and metadata lookups (callgrind).
package enum Normalize {
    /// An email in the one spelling, and its domain (empty without an `@`).
    package typealias EmailAndDomain = (email: String, domain: String)

    /// RFC 5321 and RFC 1035 sizes, in octets of UTF-8: checked before any other work on an
    /// identity, so a hostile size costs nothing.
    package static let maxEmailOctets = 254, maxLocalPartOctets = 64, maxDomainOctets = 253, maxLabelOctets = 63

    /// A domain: UTS #46 (IDNA2008, non-transitional) through libidn2: case and compatibility
    /// forms mapped, the other full stops read as dots, ignored code points (the soft hyphen, zero
    /// widths) dropped, and every non-ASCII label in punycode. No trailing dot. A leading `*.` (a
    /// wildcard entry) is kept. What UTS #46 refuses comes back as found, lower-cased: callers that
    /// take untrusted input check it first with `checkedDomain`.
    package static func domain(_ text: String) -> String { domain(text[...]) }

    package static func domain(_ text: Substring) -> String {
        if let ascii = asciiLowercased(text), !hasACELabel(ascii) { return dropTrailingDot(ascii) }
        return (try? checkedDomain(text)) ?? dropTrailingDot(String(text).lowercased())
    }

    /// The domain as `domain(_:)` gives it, or why it is not one: too long (checked first), a
    /// control character, or refused by UTS #46. `hostname`: also STD3's rules (letters, digits
    /// and inner hyphens only), for deny and allow entries.
    package static func checkedDomain(_ text: String, hostname: Bool = false) throws(IdentityError) -> String {
        try checkedDomain(text[...], hostname: hostname)
    }

    package static func checkedDomain(_ text: Substring, hostname: Bool = false) throws(IdentityError) -> String {
        // One trailing dot, as a byte: `dropLast()` takes a whole character, and a dot can end one
        // (U+0600 joins the dot after it).
        let trimmed = text.utf8.count > 1 && text.utf8.last == UInt8(ascii: ".")
            ? text[..<text.utf8.index(before: text.utf8.endIndex)] : text
        try checkSizes(domain: trimmed)
        // An address literal (`[203.0.113.5]`, RFC 5321) is kept as written.
        if trimmed.hasPrefix("["), trimmed.hasSuffix("]"), !hostname {
            let inner = trimmed.dropFirst().dropLast()
            guard inner.utf8.allSatisfy({ $0 < 0x80 && ($0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") || isHexDigitOrLetter($0)) }) else {
                throw .invalidDomain(String(text), reason: "not an address literal")
            }
            return trimmed.lowercased()
        }
        // In ASCII a domain holds letters, digits, hyphens, underscores and dots, and `*.` as a
        // wildcard entry's prefix: nothing else maps to one (libidn2 without STD3 took `/`, and the
        // result did not read the same when checked again; found by the fuzzer).
        let body = trimmed.hasPrefix("*.") ? trimmed.dropFirst(2) : trimmed
        guard !body.anyUTF8Byte(where: { $0 < 0x80 && !Self.isDomainByte($0) }) else {
            throw .invalidDomain(String(text.prefix(80)), reason: "only letters, digits, hyphens, underscores and dots make a domain")
        }
        if let ascii = asciiLowercased(trimmed), !hasACELabel(ascii), !hostname {
            guard !ascii.anyUTF8Byte(where: { $0 < 0x20 || $0 == 0x7f }) else {
                throw .invalidDomain(String(text), reason: "control character")
            }
            // No empty label: not `.a`, `a..b`, or a second trailing dot (found by the fuzzer:
            // `.see.` was accepted, and came out differently when checked again).
            guard !ascii.isEmpty, !ascii.hasPrefix("."), !ascii.hasSuffix("."), !ascii.containsBytes("..") else {
                throw .invalidDomain(String(text), reason: "empty label")
            }
            return ascii
        }
        // libidn2 sees the name as written: its one trailing dot (a full stop UTS #46 maps, or
        // `.`) comes off after mapping, and any other empty label is refused.
        return try IDNA.toASCII(text, hostname: hostname)
    }

    /// The email as `email(_:)` gives it and its domain, or why it is not an address to judge:
    /// sizes first (the address, its local part, its domain and labels), then the domain by UTS #46.
    /// Without an `@` there is no domain to check.
    ///
    /// `fastPath: false` is for tests: the general path alone, to hold the fast one to it.
    package static func checkedEmailAndDomain(_ text: String, fastPath: Bool = true) throws(IdentityError) -> EmailAndDomain {
        if fastPath, let plain = plainASCIIEmailAndDomain(text) { return plain }
        let octets = text.utf8.count
        guard octets <= maxEmailOctets else { throw .tooLong(what: "email", octets: octets, limit: maxEmailOctets) }
        // No address holds a control character (RFC 5321's qtext has none), and NUL would not
        // even store on PostgreSQL as a lockout key.
        guard !text.anyUTF8Byte(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw .invalidDomain("the address", reason: "it holds a control character")
        }
        guard let at = lastAt(text[...]) else { return (domainless(text[...]), "") }
        let local = text[..<at]
        guard local.utf8.count <= maxLocalPartOctets else {
            throw .tooLong(what: "local part", octets: local.utf8.count, limit: maxLocalPartOctets)
        }
        let domain = try checkedDomain(text[text.utf8.index(after: at)...])
        return (domainless(local) + "@" + domain, domain)
    }

    /// The fast path of nearly every decision: a printable ASCII address within every size, whose
    /// domain is plain (letters, digits, hyphens, underscores and dots; no empty label, no
    /// punycode label, no trailing dot, no `*.` or address literal). For such an address the
    /// general path's answer is the address lower-cased and the part after its last `@`: this
    /// gives it in one pass over the bytes. Anything else is left to the general path (nil), which
    /// also gives every refusal its reason. The general path cost about 6,000 instructions a
    /// decision (callgrind), in substring searches and joined strings.
    private static func plainASCIIEmailAndDomain(_ text: String) -> EmailAndDomain? {
        var text = text
        return text.withUTF8 { bytes -> EmailAndDomain? in
            let count = bytes.count
            guard count <= maxEmailOctets, let at = bytes.lastIndex(of: UInt8(ascii: "@")),
                  at <= maxLocalPartOctets, count - at - 1 <= maxDomainOctets, at + 1 < count else { return nil }
            for byte in bytes[..<at] where byte < 0x20 || byte >= 0x7f { return nil }
            // The domain, label by label: `label` counts the current label's bytes.
            var label = 0
            var index = at + 1
            while index < count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") {
                    guard label > 0 else { return nil } // a leading dot or an empty label
                    label = 0
                } else {
                    guard isDomainByte(byte) else { return nil }
                    // A label starting `xn--` (any case) is punycode: libidn2 checks it.
                    if label == 0, index + 3 < count, bytes[index] | 0x20 == UInt8(ascii: "x"),
                       bytes[index + 1] | 0x20 == UInt8(ascii: "n"), bytes[index + 2] == UInt8(ascii: "-"),
                       bytes[index + 3] == UInt8(ascii: "-") { return nil }
                    label += 1
                    guard label <= maxLabelOctets else { return nil }
                }
                index += 1
            }
            guard label > 0 else { return nil } // a trailing dot
            return (ASCIIBytes.lowercased(bytes), ASCIIBytes.lowercased(UnsafeBufferPointer(rebasing: bytes[(at + 1)...])))
        }
    }

    static func checkSizes(domain: Substring) throws(IdentityError) {
        let octets = domain.utf8.count
        guard octets <= maxDomainOctets else { throw .tooLong(what: "domain", octets: octets, limit: maxDomainOctets) }
        // Labels end at any of UTS #46's full stops, so a label is never measured longer than it is.
        var label = 0
        // An ASCII name (nearly every one) has "." as its only full stop: counted by bytes, with no
        // set lookup (hashing each character) per character.
        // (nil: not ASCII, or not contiguous; the general loop below decides.)
        let asciiTooLong: Bool?? = domain.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
            guard ASCIIBytes.isASCII(bytes) else { return nil }
            for byte in bytes {
                label = byte == UInt8(ascii: ".") ? 0 : label + 1
                if label > maxLabelOctets { return true }
            }
            return false
        }
        if case let decided?? = asciiTooLong {
            if decided { throw .tooLong(what: "label", octets: label, limit: maxLabelOctets) }
            return
        }
        label = 0
        for scalar in domain.unicodeScalars {
            if IDNA.fullStops.contains(scalar) {
                label = 0
                continue
            }
            label += UTF8.width(scalar)
            if label > maxLabelOctets { throw .tooLong(what: "label", octets: label, limit: maxLabelOctets) }
        }
    }

    static func isDomainByte(_ byte: UInt8) -> Bool {
        (0x61...0x7a).contains(byte) || (0x41...0x5a).contains(byte) || (0x30...0x39).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }

    private static func isHexDigitOrLetter(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x7a).contains(byte) || (0x41...0x5a).contains(byte)
    }

    /// An ASCII name with a punycode label: libidn2 checks that the label decodes to what UTS #46 allows.
    private static func hasACELabel(_ ascii: String) -> Bool {
        ascii.hasPrefix("xn--") || ascii.containsBytes(".xn--") || ascii.hasPrefix("*.xn--")
    }

    /// An email: the local part lower-cased (and NFKC), the domain as `domain(_:)`.
    package static func email(_ text: String) -> String { emailAndDomain(text[...]).email }

    package static func email(_ text: Substring) -> String { emailAndDomain(text).email }

    /// The normalized email and its domain together, the domain normalized once (a decision needs both).
    package static func emailAndDomain(_ text: String) -> EmailAndDomain { emailAndDomain(text[...]) }

    package static func emailAndDomain(_ text: Substring) -> EmailAndDomain {
        if let ascii = asciiEmailAndDomain(text), !hasACELabel(ascii.domain) { return ascii }
        guard let at = lastAt(text) else { return (domainless(text), "") }
        let domain = domain(text[text.utf8.index(after: at)...])
        return (domainless(text[..<at]) + "@" + domain, domain)
    }

    /// The key a person's failed logins and rate counts are kept under.
    package static func accountKey(_ email: String, foldAddresses: Bool) -> String {
        let normalized = self.email(email)
        guard foldAddresses, let at = lastAt(normalized[...]) else { return normalized }
        var local = normalized[..<at]
        let domain = normalized[normalized.utf8.index(after: at)...]
        if let plus = local.firstIndex(of: "+"), plus != local.startIndex { local = local[..<plus] }
        var folded = String(local)
        if domain == "gmail.com" || domain == "googlemail.com" { folded.removeAll { $0 == "." } }
        return folded + "@" + domain
    }

    /// The domain part of an email, normalized; empty when there is no `@`.
    package static func emailDomain(_ email: String) -> String {
        guard let at = lastAt(email[...]) else { return "" }
        return domain(email[email.utf8.index(after: at)...])
    }

    /// The last `@`, found in the UTF-8 bytes (an `@` is never part of a larger character). The
    /// domain starts at the next byte: `index(after:)` steps over a whole character, and a
    /// combining mark right after the `@` (`eve@\u{301}evil.com`) went with it, unchecked.
    private static func lastAt(_ text: Substring) -> Substring.Index? {
        text.utf8.lastIndex(of: UInt8(ascii: "@"))
    }

    private static func domainless(_ text: Substring) -> String {
        asciiLowercased(text) ?? String(text).precomposedStringWithCompatibilityMapping.lowercased()
    }

    private static func dropTrailingDot(_ text: String) -> String {
        text.utf8.last == UInt8(ascii: ".") && text.utf8.count > 1 ? String(text[..<text.utf8.index(before: text.utf8.endIndex)]) : text
    }

    /// The fast path of almost every decision, with the result `emailAndDomain` gives: an ASCII
    /// email with an `@` and no trailing dot is itself lower-cased, and its domain the part after
    /// the last `@` (one string built, not three joined).
    private static func asciiEmailAndDomain(_ text: Substring) -> EmailAndDomain? {
        guard let at = lastAt(text), text.utf8.last != UInt8(ascii: "."), let email = asciiLowercased(text) else { return nil }
        let domainStart = email.utf8.index(email.startIndex, offsetBy: text.utf8.distance(from: text.startIndex, to: at) + 1)
        return (email, String(email[domainStart...]))
    }

    /// The fast path every decision takes: ASCII needs only its letters lowered.
    private static func asciiLowercased(_ text: Substring) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            ASCIIBytes.isASCII(bytes) ? ASCIIBytes.lowercased(bytes) : nil
        }
    }
}


extension StringProtocol {
    /// Whether any of the text's UTF-8 bytes satisfies `test`, read from its contiguous storage
    /// where it has one (native strings do). The UTF-8 view's own `contains(where:)` cost about 30
    /// instructions a byte, on every decision's address and domain (callgrind).
    package func anyUTF8Byte(where test: (UInt8) -> Bool) -> Bool {
        utf8.withContiguousStorageIfAvailable { $0.contains(where: test) } ?? utf8.contains(where: test)
    }
}

extension String {
    /// Whether the text's UTF-8 bytes hold `needle`'s, by a plain byte search. For the checks on
    /// every decision's domain: `contains(String)` resolved to Foundation's CFStringFind (5.5k
    /// instructions a decision under callgrind), and the generic collection search was slower.
    package func containsBytes(_ needle: StaticString) -> Bool {
        let count = needle.utf8CodeUnitCount
        guard count > 0 else { return true }
        var haystack = self
        return haystack.withUTF8 { bytes in
            guard bytes.count >= count else { return false }
            let first = needle.utf8Start[0]
            for start in 0...(bytes.count - count) where bytes[start] == first {
                var index = 1
                while index < count && bytes[start + index] == needle.utf8Start[index] { index += 1 }
                if index == count { return true }
            }
            return false
        }
    }
}
