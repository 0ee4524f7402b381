#if canImport(Glibc)
import Glibc
#endif

/// Whether text is an IP address as the engine reads one (the store's `IPAddress` parses the
/// same forms): IPv4 dotted quad or IPv6 as inet_pton takes them, optionally in brackets or
/// padded with spaces. Bounded: longer than any address is not one.
package enum IPText {
    package static func isAddress(_ text: String) -> Bool {
        // Nearly every context: a plain dotted quad, read from the bytes. The general path below
        // (Substring trimming, a C string, inet_pton) cost about 3,000 instructions a decision.
        if plainIPv4(text) != nil { return true }
        guard text.utf8.count <= 64 else { return false }
        var text = Substring(text)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        let plain = String(text)
        var buffer = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { bytes in
            inet_pton(AF_INET, plain, bytes.baseAddress) == 1 || inet_pton(AF_INET6, plain, bytes.baseAddress) == 1
        }
    }

    /// A dotted quad in its plain form (four decimal parts of 0-255 without leading zeros, nothing
    /// else), read from the bytes: what nearly every context carries, and what inet_pton reads the
    /// same way. Anything else is left to the general path (nil). Bridging the text to C and the
    /// trimming checks cost about 2,500 instructions a decision (callgrind).
    package static func plainIPv4(_ text: String) -> UInt32? {
        var text = text
        return text.withUTF8 { bytes -> UInt32? in
            guard bytes.count >= 7 && bytes.count <= 15 else { return nil }
            var value: UInt32 = 0, part: UInt32 = 0, digits = 0, dots = 0
            for byte in bytes {
                if byte == UInt8(ascii: ".") {
                    guard digits > 0 && dots < 3 else { return nil }
                    value = value << 8 | part
                    (part, digits, dots) = (0, 0, dots + 1)
                } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    // A leading zero is refused: inet_pton refuses "01", and "0" alone is fine.
                    guard digits < 3 && !(digits == 1 && part == 0) else { return nil }
                    part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                    guard part <= 255 else { return nil }
                    digits += 1
                } else {
                    return nil
                }
            }
            guard digits > 0 && dots == 3 else { return nil }
            return value << 8 | part
        }
    }
}
