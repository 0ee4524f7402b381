/// The one reader of the text files people edit (deny and allow lists, the config file, the
/// key-bindings file): lines end at LF, CRLF or CR alike (a file saved on Windows or an old Mac
/// reads as it does on Linux), a UTF-8 byte order mark is skipped, and a line that is not UTF-8
/// is reported as such rather than read as something else.
///
/// Swift's own `split(separator: "\n")` on a String does not do this: "\r\n" is one Character,
/// so a CRLF file came back as a single line.
package enum TextLines {
    package struct Line: Sendable, Equatable {
        /// 1-based.
        package var number: Int
        /// The line's text; nil when its bytes are not UTF-8.
        package var text: String?
    }

    package static func lines(_ bytes: some Collection<UInt8>) -> [Line] {
        var bytes = Array(bytes)[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var lines: [Line] = []
        var start = bytes.startIndex, index = bytes.startIndex
        func end(at stop: Int) {
            let content = bytes[start..<stop]
            lines.append(Line(number: lines.count + 1, text: String(validating: content, as: UTF8.self)))
        }
        while index < bytes.endIndex {
            switch bytes[index] {
            case UInt8(ascii: "\n"):
                end(at: index)
                index += 1
                start = index
            case UInt8(ascii: "\r"):
                end(at: index)
                index += 1
                if index < bytes.endIndex && bytes[index] == UInt8(ascii: "\n") { index += 1 }
                start = index
            default:
                index += 1
            }
        }
        if start < bytes.endIndex { end(at: bytes.endIndex) }
        return lines
    }

    /// Why a file could not be read as text: the first line that is not UTF-8 (no line is echoed).
    package static func firstInvalidLine(_ lines: [Line]) -> Int? { lines.first { $0.text == nil }?.number }
}
