/// Byte-level answers about text that is almost always ASCII: a request body, an address, a
/// domain. One definition, used by the request reader and by `Normalize`.
package enum ASCIIBytes {
    /// Whether every byte is below 0x80, eight at a time: byte by byte it cost about 1,200
    /// instructions for a context's body (callgrind).
    package static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        var high: UInt64 = 0
        while index + 8 <= bytes.count {
            high |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            high |= UInt64(bytes[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    package static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { isASCII(UnsafeRawBufferPointer(bytes)) }

    /// ASCII bytes as a String with their letters lower-cased (nothing else changes).
    package static func lowercased(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { out in
            for (offset, byte) in bytes.enumerated() { out[offset] = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte }
            return bytes.count
        }
    }
}
