/// Writes JSON strings byte for byte as the two reference serializers do.
package enum JSONWriter {
    package enum Escaping: Sendable {
        /// JavaScript's `JSON.stringify` (the Node SDK): raw UTF-8, only `"`, `\` and C0 controls escaped.
        case javaScript
        /// Python's `json.dumps` default `ensure_ascii=True` (the Python SDK): everything outside
        /// printable ASCII as `\uXXXX`, surrogate pairs above the BMP.
        case pythonASCII
    }

    package static func appendQuoted(_ text: String, to out: inout [UInt8], escaping: Escaping) {
        out.append(UInt8(ascii: "\""))
        // Byte by byte: every decision's answer goes through here, and walking Unicode scalars
        // cost a microsecond an answer. Only Python's ASCII escaping of DEL and non-ASCII needs scalars.
        if escaping == .pythonASCII && text.utf8.contains(where: { $0 >= 0x7f }) {
            appendPythonASCII(text, to: &out)
        } else {
            // Copy runs that need no escape in one go: printable ASCII, DEL and raw UTF-8.
            func appendRuns(_ bytes: UnsafeBufferPointer<UInt8>) {
                var runStart = 0
                for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5c {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                    appendEscaped(byte, to: &out)
                    runStart = index + 1
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
            }
            // A native string's bytes are read in place, without the mutable copy of the string
            // (a retain and a release) `withUTF8` needs: every decision's answer quotes half a dozen.
            if text.utf8.withContiguousStorageIfAvailable(appendRuns) == nil {
                var text = text
                text.withUTF8(appendRuns)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `"`, `\\` and the C0 controls, as both serializers write them.
    private static func appendEscaped(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case 0x22: out.append(contentsOf: [0x5c, 0x22])
        case 0x5c: out.append(contentsOf: [0x5c, 0x5c])
        case 0x08: out.append(contentsOf: [0x5c, UInt8(ascii: "b")])
        case 0x0c: out.append(contentsOf: [0x5c, UInt8(ascii: "f")])
        case 0x0a: out.append(contentsOf: [0x5c, UInt8(ascii: "n")])
        case 0x0d: out.append(contentsOf: [0x5c, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5c, UInt8(ascii: "t")])
        case 0..<0x20: appendUnicodeEscape(UInt16(byte), to: &out)
        default: out.append(byte)
        }
    }

    private static func appendPythonASCII(_ text: String, to out: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            if scalar.value < 0x7f {
                let byte = UInt8(scalar.value)
                if byte >= 0x20 && byte != 0x22 && byte != 0x5c { out.append(byte) } else { appendEscaped(byte, to: &out) }
            } else {
                for unit in String(scalar).utf16 { appendUnicodeEscape(unit, to: &out) }
            }
        }
    }

    private static func appendUnicodeEscape(_ unit: UInt16, to out: inout [UInt8]) {
        out.append(contentsOf: [0x5c, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(Hex.digits[Int((unit >> UInt16(shift)) & 0xf)])
        }
    }
}
