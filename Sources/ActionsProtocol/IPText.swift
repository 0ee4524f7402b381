#if canImport(Glibc)
import Glibc
#endif

/// Whether text is an IP address as the engine reads one (the store's `IPAddress` parses the
/// same forms): IPv4 dotted quad or IPv6 as inet_pton takes them, optionally in brackets or
/// padded with spaces. Bounded: longer than any address is not one.
package enum IPText {
    package static func isAddress(_ text: String) -> Bool {
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
}
