import ActionsProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as 16 bytes (IPv4 as ::ffff:a.b.c.d), so one comparison serves both.
package struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    package let bytes: [UInt8]
    package let isIPv4: Bool

    package init?(_ text: String) {
        if let value = IPText.plainIPv4(text) {
            self.init(ipv4: value)
            return
        }
        // Trimming through Foundation costs more than the parse; only pay it for padded input.
        var text = text
        if text.first?.isWhitespace == true || text.last?.isWhitespace == true {
            text = text.trimmingCharacters(in: .whitespaces)
        }
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        // IPv4-mapped IPv6 (::ffff:203.0.113.5) is the IPv4 address: a dual-stack listener reports
        // IPv4 clients that way, and it must not slip past an IPv4 entry.
        self.init(bytes: bytes, isIPv4: bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff)
    }

    /// An IPv4 address, in its IPv4-mapped IPv6 form.
    package init(ipv4 value: UInt32) {
        var mapped = [UInt8](repeating: 0, count: 16)
        mapped[10] = 0xff
        mapped[11] = 0xff
        mapped[12] = UInt8(value >> 24)
        mapped[13] = UInt8((value >> 16) & 0xff)
        mapped[14] = UInt8((value >> 8) & 0xff)
        mapped[15] = UInt8(value & 0xff)
        self.init(bytes: mapped, isIPv4: true)
    }

    package init(bytes: [UInt8], isIPv4: Bool) {
        self.bytes = bytes
        self.isIPv4 = isIPv4
    }

    package var description: String {
        if isIPv4 { return bytes[12...].map(String.init).joined(separator: ".") }
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
package struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    package let address: IPAddress
    /// Prefix length over the 128-bit form.
    package let prefix: Int

    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let address = IPAddress(first) else { return nil }
        // An IPv6 literal's prefix counts 128 bits, even for an IPv4-mapped address (::ffff:a.b.c.d/120).
        let sixLiteral = first.contains(":")
        var bits = sixLiteral ? 128 : 32
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            bits = value
        }
        if sixLiteral && address.isIPv4 {
            // A mapped network must stay inside ::ffff:0:0/96 to be an IPv4 network.
            guard bits >= 96 else { return nil }
            bits -= 96
        }
        self.address = address
        self.prefix = bits + (address.isIPv4 ? 96 : 0)
    }

    package func contains(_ other: IPAddress) -> Bool {
        guard other.isIPv4 == address.isIPv4 else { return false }
        for index in 0..<16 where index * 8 < prefix {
            let mask = byteMask(index)
            if address.bytes[index] & mask != other.bytes[index] & mask { return false }
        }
        return true
    }

    /// The network part of byte `index` of the 128-bit form: all ones, all zeros, or the first bits.
    private func byteMask(_ index: Int) -> UInt8 {
        let remaining = prefix - index * 8
        return remaining >= 8 ? 0xff : (remaining <= 0 ? 0 : ~(0xff >> UInt8(remaining)))
    }

    package var description: String { "\(address)/\(prefix - (address.isIPv4 ? 96 : 0))" }

    /// The same network with its host bits cleared: 203.0.113.77/24 is 203.0.113.0/24.
    package var canonical: IPNetwork {
        var bytes = address.bytes
        for index in 0..<16 { bytes[index] &= byteMask(index) }
        return IPNetwork(address: IPAddress(bytes: bytes, isIPv4: address.isIPv4), prefix: prefix)
    }

    private init(address: IPAddress, prefix: Int) {
        self.address = address
        self.prefix = prefix
    }
}
