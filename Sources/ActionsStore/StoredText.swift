#if canImport(Glibc)
import ActionsDomain
import Glibc
#endif

/// Text as the event log stores it, the same on both backends: PostgreSQL refuses NUL in `text`
/// (SQLSTATE 22021, which failed a whole COPY), so NUL is written as U+E000 followed by `0`, and
/// U+E000 itself (a private-use code point, so this changes nothing real) as U+E000 twice. Every
/// other string is stored as it is; reading reverses the mapping exactly.
package enum StoredText {
    static let escape: Unicode.Scalar = "\u{E000}"
    /// U+E000 in UTF-8 starts with this byte; a string without it or NUL needs no work.
    static let escapeLead: UInt8 = 0xEE

    /// True when `bytes` (UTF-8) must be encoded before storing.
    @inline(__always)
    static func needsEncoding(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
        return memchr(base, 0, bytes.count) != nil || memchr(base, Int32(escapeLead), bytes.count) != nil
    }

    package static func encode(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\0": result.unicodeScalars.append(contentsOf: [escape, "0"])
            case escape: result.unicodeScalars.append(contentsOf: [escape, escape])
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    package static func decode(_ stored: String) -> String {
        // memchr over the bytes: the generic contains() walked them one by one, for every text
        // column of every row read.
        let plain = stored.utf8.withContiguousStorageIfAvailable { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
            return memchr(base, Int32(escapeLead), bytes.count) == nil
        } ?? !stored.utf8.contains(escapeLead)
        guard !plain else { return stored }
        var result = ""
        var scalars = stored.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == escape else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalars.next() {
            case "0"?: result.unicodeScalars.append("\0")
            case escape?: result.unicodeScalars.append(escape)
            // Not written by this mapping: kept as found.
            case let other?: result.unicodeScalars.append(contentsOf: [escape, other])
            case nil: result.unicodeScalars.append(escape)
            }
        }
        return result
    }

    package static func decode(_ stored: String?) -> String? { stored.map(decode) }
}
