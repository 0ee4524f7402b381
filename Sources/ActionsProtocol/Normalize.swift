import Foundation

/// The one spelling every identity is compared in: deny and allow entries, lockout keys and rate
/// keys all go through here, so that a variant cannot slip past an entry written another way.
///
/// - Case: `Eve@Example.COM` is `eve@example.com`.
/// - Compatibility forms (NFKC, as UTS #46 maps them): fullwidth `ｅxample.com` is `example.com`.
/// - A trailing dot: `example.com.` is `example.com`.
/// - Internationalized domains: `bücher.de` and `xn--bcher-kva.de` are one domain; the ASCII
///   (punycode) form is the canonical one.
/// - Optionally (`foldAddresses`, off by default): `+tag` sub-addressing, and dots in Gmail
///   local parts, so that `a.b+1@gmail.com` is `ab@gmail.com`. Only for lockout and rate keys,
///   where one person must not get several counters; never for deny entries.
///
/// IP addresses are normalized by `IPAddress` (IPv4-mapped IPv6 is IPv4).
///
/// Each function takes a `String` or a `Substring`, not `some StringProtocol`: a generic one is not
/// specialized across modules, and unspecialized it cost the policy module about 20,000
/// instructions per decision in witness calls and metadata lookups (callgrind).
public enum Normalize {
    /// A domain: lower-cased, NFKC, no trailing dot, every non-ASCII label in punycode.
    /// A leading `*.` (a wildcard entry) is kept.
    public static func domain(_ text: String) -> String { domain(text[...]) }

    public static func domain(_ text: Substring) -> String {
        if let ascii = asciiLowercased(text) { return dropTrailingDot(ascii) }
        let mapped = String(text).precomposedStringWithCompatibilityMapping.lowercased()
        let labels = dropTrailingDot(mapped).split(separator: ".", omittingEmptySubsequences: false)
        return labels.map { label in
            label.unicodeScalars.allSatisfy(\.isASCII) ? String(label) : "xn--" + Punycode.encode(label.unicodeScalars)
        }.joined(separator: ".")
    }

    /// An email: the local part lower-cased (and NFKC), the domain as `domain(_:)`.
    public static func email(_ text: String) -> String { emailAndDomain(text[...]).email }

    public static func email(_ text: Substring) -> String { emailAndDomain(text).email }

    /// The normalized email and its domain together, the domain normalized once (a decision needs both).
    public static func emailAndDomain(_ text: String) -> (email: String, domain: String) { emailAndDomain(text[...]) }

    public static func emailAndDomain(_ text: Substring) -> (email: String, domain: String) {
        if let ascii = asciiEmailAndDomain(text) { return ascii }
        guard let at = lastAt(text) else { return (domainless(text), "") }
        let domain = domain(text[text.index(after: at)...])
        return (domainless(text[..<at]) + "@" + domain, domain)
    }

    /// The key a person's failed logins and rate counts are kept under.
    public static func accountKey(_ email: String, foldAddresses: Bool) -> String {
        let normalized = self.email(email)
        guard foldAddresses, let at = lastAt(normalized[...]) else { return normalized }
        var local = normalized[..<at]
        let domain = normalized[normalized.index(after: at)...]
        if let plus = local.firstIndex(of: "+"), plus != local.startIndex { local = local[..<plus] }
        var folded = String(local)
        if domain == "gmail.com" || domain == "googlemail.com" { folded.removeAll { $0 == "." } }
        return folded + "@" + domain
    }

    /// The domain part of an email, normalized; empty when there is no `@`.
    public static func emailDomain(_ email: String) -> String {
        guard let at = lastAt(email[...]) else { return "" }
        return domain(email[email.index(after: at)...])
    }

    /// The last `@`, found in the UTF-8 bytes (an `@` is never part of a larger character).
    private static func lastAt(_ text: Substring) -> Substring.Index? {
        text.utf8.lastIndex(of: UInt8(ascii: "@"))
    }

    private static func domainless(_ text: Substring) -> String {
        asciiLowercased(text) ?? String(text).precomposedStringWithCompatibilityMapping.lowercased()
    }

    private static func dropTrailingDot(_ text: String) -> String {
        text.utf8.last == UInt8(ascii: ".") && text.utf8.count > 1 ? String(text.dropLast()) : text
    }

    /// The fast path of almost every decision, with the result `emailAndDomain` gives: an ASCII
    /// email with an `@` and no trailing dot is itself lower-cased, and its domain the part after
    /// the last `@` (one string built, not three joined).
    private static func asciiEmailAndDomain(_ text: Substring) -> (email: String, domain: String)? {
        guard let at = lastAt(text), text.utf8.last != UInt8(ascii: "."), let email = asciiLowercased(text) else { return nil }
        let domainStart = email.utf8.index(email.startIndex, offsetBy: text.utf8.distance(from: text.startIndex, to: at) + 1)
        return (email, String(email[domainStart...]))
    }

    /// The fast path every decision takes: ASCII needs only its letters lowered.
    private static func asciiLowercased(_ text: Substring) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                for (index, byte) in bytes.enumerated() { out[index] = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte }
                return bytes.count
            }
        }
    }
}

/// RFC 3492 punycode, the encoding half (what IDNA's ToASCII needs).
enum Punycode {
    private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, initialBias = 72, initialN = 128

    static func encode(_ scalars: some Collection<Unicode.Scalar>) -> String {
        let input = scalars.map(\.value)
        var output: [UInt8] = input.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = output.count
        var handled = basicCount
        if basicCount > 0 { output.append(UInt8(ascii: "-")) }
        var n = initialN, delta = 0, bias = initialBias
        while handled < input.count {
            guard let m = input.filter({ Int($0) >= n }).min().map(Int.init) else { break }
            let (product, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow else { break }
            delta += product
            n = m
            for value in input {
                let c = Int(value)
                if c < n { delta += 1 }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func digit(_ d: Int) -> UInt8 {
        d < 26 ? UInt8(ascii: "a") + UInt8(d) : UInt8(ascii: "0") + UInt8(d - 26)
    }

    private static func adapt(_ delta: Int, _ count: Int, _ first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / count
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }
}
