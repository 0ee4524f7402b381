#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A strict (RFC 8259) JSON reader that builds no tree: a document is validated in one pass, an
/// object is read as its members' byte ranges, and a value is decoded only when asked for.
///
/// Why not JSONDecoder: on the decision path it cost about 8 µs of a 46 µs request, more than the
/// policy itself. And signature checks need the exact bytes the sender wrote, which a decoder discards.
package enum JSON {
    package enum Kind: Sendable, Equatable { case object, array, string, number, bool, null }

    /// One value: what it is and where its bytes are.
    package struct Value: Sendable, Equatable {
        package var kind: Kind
        package var range: Range<Int>
    }

    /// An object member: where its key is (quotes included) and its value's place. Keys stay
    /// bytes: a lookup compares them in place, and making a String of every key of every body
    /// cost more than the lookups (callgrind).
    package struct Member: Sendable {
        package var keyRange: Range<Int>
        /// The key holds an escape, so its bytes are not its text.
        package var keyIsEscaped: Bool
        package var value: Value
        /// An object value's own members, when they were read with these (see `Cursor.members`).
        var nested: [Member]? = nil
    }

    package struct SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
        package var offset: Int
        package var reason: String
        package var description: String { "\(reason) at byte \(offset)" }
    }

    /// Deeper nesting is refused instead of risking the stack (JSONDecoder stops at 512 too).
    static let maxDepth = 512

    /// Validates a whole document whose top level must be an object, and lists that object's members.
    package static func object(_ bytes: [UInt8]) throws(SyntaxError) -> Object {
        let members = try bytes.withUnsafeBufferPointer { buffer throws(SyntaxError) in
            var cursor = Cursor(bytes: buffer)
            // RFC 8259 §8.1: a parser may ignore a UTF-8 byte order mark, and some clients send one.
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { cursor.index = 3 }
            cursor.skipSpace()
            guard cursor.peek == UInt8(ascii: "{") else { throw cursor.error("expected a JSON object") }
            let members = try cursor.members(depth: 1, keep: 2)
            cursor.skipSpace()
            guard cursor.index == buffer.count else { throw cursor.error("unexpected text after the JSON value") }
            return members
        }
        return Object(bytes: bytes, members: members)
    }

    /// An object's members in document order; a repeated key resolves to its last value.
    package struct Object: Sendable {
        package let bytes: [UInt8]
        package let members: [Member]

        package subscript(key: String) -> Value? {
            var key = key
            return key.withUTF8 { member(named: $0) }
        }

        /// The same, for the names a decoder knows when it is compiled: no String to make.
        package subscript(key: StaticString) -> Value? {
            member(named: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        }

        /// The last member with this key. Reads the members in place: copying one out retains its
        /// nested list, which cost more than the comparison. Keys are compared by memcmp: the
        /// generic `elementsEqual` byte loop was 2.5k instructions a decision (callgrind).
        private func member(named wanted: UnsafeBufferPointer<UInt8>) -> Value? {
            bytes.withUnsafeBufferPointer { buffer in
                members.withUnsafeBufferPointer { members in
                    var index = members.count
                    while index > 0 {
                        index -= 1
                        let keyRange = members[index].keyRange
                        let matches = members[index].keyIsEscaped
                            ? JSON.decodeString(UnsafeBufferPointer(rebasing: buffer[keyRange])).utf8.elementsEqual(wanted)
                            : keyRange.count - 2 == wanted.count
                                && memcmp(buffer.baseAddress! + keyRange.lowerBound + 1, wanted.baseAddress!, wanted.count) == 0
                        if matches { return members[index].value }
                    }
                    return nil
                }
            }
        }

        /// A member's key, decoded.
        package func key(of member: Member) -> String {
            bytes.withUnsafeBufferPointer { JSON.decodeString(UnsafeBufferPointer(rebasing: $0[member.keyRange])) }
        }

        /// The members of a nested object value (already validated by `JSON.object`): those read
        /// with the document when it is a member's value here, else read again.
        package func object(_ value: Value) -> Object {
            if let nested = members.last(where: { $0.value.range == value.range })?.nested {
                return Object(bytes: bytes, members: nested)
            }
            let members = bytes.withUnsafeBufferPointer { buffer in
                var cursor = Cursor(bytes: buffer, index: value.range.lowerBound)
                // Cannot fail: the whole document was validated when it was read.
                return (try? cursor.members(depth: 1, keep: 2)) ?? []
            }
            return Object(bytes: bytes, members: members)
        }

        package func string(_ value: Value) -> String? {
            guard value.kind == .string else { return nil }
            return bytes.withUnsafeBufferPointer { JSON.decodeString(UnsafeBufferPointer(rebasing: $0[value.range])) }
        }

        /// A number without fraction or exponent that fits Int64.
        package func integer(_ value: Value) -> Int64? {
            guard value.kind == .number else { return nil }
            return Int64(String(decoding: bytes[value.range], as: UTF8.self))
        }

        package func bool(_ value: Value) -> Bool? {
            guard value.kind == .bool else { return nil }
            return bytes[value.range.lowerBound] == UInt8(ascii: "t")
        }
    }

    /// Decodes a validated string literal, quotes included.
    static func decodeString(_ quoted: UnsafeBufferPointer<UInt8>) -> String {
        let inner = UnsafeBufferPointer(rebasing: quoted[1..<quoted.count - 1])
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var i = inner.startIndex
        // Validated when the document was read, so the digits are there.
        func hex4(_ at: Int) -> UInt32 { JSON.hex4(inner, at: at) ?? 0xFFFD }
        while i < inner.endIndex {
            let byte = inner[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let escape = inner[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar) { // validated: a low surrogate follows
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex4(i + 2) - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8)
            default: out.append(escape) // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The four hex digits of a `\u` escape at `start`, or nil when they are not four hex digits.
    static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> UInt32? {
        guard start + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in bytes[start..<start + 4] {
            guard let digit = Hex.value(byte) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// The validating scanner. Works on a buffer pointer: bounds-checked array access was a third of its time.
    /// An object's member names so far, compared as the text they spell: a few by their bytes in
    /// place (most objects), more through a set, so a hostile object with 100,000 members costs
    /// linear time. An escaped name is compared decoded (`"a"` and `"\u0061"` are one name).
    struct KeySet {
        private var few: [Range<Int>] = []
        private var many: Set<[UInt8]>?
        private var anyEscaped = false

        mutating func insert(_ range: Range<Int>, escaped: Bool, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            if escaped && !anyEscaped {
                anyEscaped = true
                promote(bytes)
            }
            if many != nil { return many!.insert(Self.text(range, escaped: escaped, bytes)).inserted }
            let key = UnsafeBufferPointer(rebasing: bytes[range])
            for seen in few where seen.count == range.count {
                if memcmp(key.baseAddress!, bytes.baseAddress! + seen.lowerBound, range.count) == 0 { return false }
            }
            // Room for as many as stay in the list at once: growing it from empty reallocated it
            // three times for a context's object (about 700 instructions each).
            if few.isEmpty { few.reserveCapacity(17) }
            few.append(range)
            if few.count > 16 { promote(bytes) }
            return true
        }

        private mutating func promote(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard many == nil else { return }
            many = Set(few.map { Self.text($0, escaped: true, bytes) })
            few = []
        }

        private static func text(_ range: Range<Int>, escaped: Bool, _ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
            // Without its quotes: the text the name spells.
            let quoted = UnsafeBufferPointer(rebasing: bytes[range])
            return escaped ? Array(JSON.decodeString(quoted).utf8) : Array(quoted.dropFirst().dropLast())
        }
    }

    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ reason: String) -> SyntaxError { SyntaxError(offset: index, reason: reason) }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0a, 0x0d: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(SyntaxError) {
            guard peek == byte else { throw error("expected \(what)") }
            index += 1
        }

        /// Reads `{...}` at the cursor, and lists the members of `keep` levels: 0 only validates, 1
        /// lists this object's, 2 also those of objects among its values (a context's `user_data`,
        /// read once instead of validated, then read again).
        mutating func members(depth: Int, keep: Int) throws(SyntaxError) -> [Member] {
            guard depth <= JSON.maxDepth else { throw error("nesting deeper than \(JSON.maxDepth) levels") }
            try expect(UInt8(ascii: "{"), "{")
            var members: [Member] = []
            // A context has a handful of members: growing the array from empty reallocated it
            // three or four times per object.
            if keep > 0 { members.reserveCapacity(8) }
            var keys = KeySet()
            skipSpace()
            if peek == UInt8(ascii: "}") { index += 1; return members }
            while true {
                skipSpace()
                let keyStart = index
                let keyIsEscaped = try string()
                let keyRange = keyStart..<index
                // I-JSON (RFC 7493): names are unique. Parsers differ on a repeated one (first or
                // last wins), so a body could mean one thing here and another to the endpoint.
                guard keys.insert(keyRange, escaped: keyIsEscaped, in: bytes) else {
                    index = keyStart
                    // Named, but bounded and escaped: the reason is logged.
                    let name = JSON.decodeString(UnsafeBufferPointer(rebasing: bytes[keyRange]))
                    throw error("duplicate member name \"\(TerminalText.escape(String(name.prefix(64))))\"")
                }
                skipSpace()
                try expect(UInt8(ascii: ":"), "':' after an object key")
                skipSpace()
                var nested: [Member]?
                let value: Value
                if keep > 1 && peek == UInt8(ascii: "{") {
                    let start = index
                    nested = try self.members(depth: depth + 1, keep: keep - 1)
                    value = Value(kind: .object, range: start..<index)
                } else {
                    value = try self.value(depth: depth)
                }
                if keep > 0 { members.append(Member(keyRange: keyRange, keyIsEscaped: keyIsEscaped, value: value, nested: nested)) }
                skipSpace()
                guard let next = peek else { throw error("unterminated object") }
                index += 1
                if next == UInt8(ascii: "}") { return members }
                guard next == UInt8(ascii: ",") else { index -= 1; throw error("expected ',' or '}' in an object") }
            }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> Value {
            let start = index
            guard let byte = peek else { throw error("expected a value") }
            let kind: Kind
            switch byte {
            case UInt8(ascii: "{"):
                _ = try members(depth: depth + 1, keep: 0)
                kind = .object
            case UInt8(ascii: "["):
                try array(depth: depth + 1)
                kind = .array
            case UInt8(ascii: "\""):
                _ = try string()
                kind = .string
            case UInt8(ascii: "t"): try literal("true"); kind = .bool
            case UInt8(ascii: "f"): try literal("false"); kind = .bool
            case UInt8(ascii: "n"): try literal("null"); kind = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
                kind = .number
            default:
                throw error("unexpected character '\(Unicode.Scalar(byte).escaped(asASCII: true))'")
            }
            return Value(kind: kind, range: start..<index)
        }

        mutating func array(depth: Int) throws(SyntaxError) {
            guard depth <= JSON.maxDepth else { throw error("nesting deeper than \(JSON.maxDepth) levels") }
            try expect(UInt8(ascii: "["), "[")
            skipSpace()
            if peek == UInt8(ascii: "]") { index += 1; return }
            while true {
                skipSpace()
                _ = try value(depth: depth)
                skipSpace()
                guard let next = peek else { throw error("unterminated array") }
                index += 1
                if next == UInt8(ascii: "]") { return }
                guard next == UInt8(ascii: ",") else { index -= 1; throw error("expected ',' or ']' in an array") }
            }
        }

        mutating func literal(_ word: StaticString) throws(SyntaxError) {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count,
                  (0..<count).allSatisfy({ bytes[index + $0] == word.utf8Start[$0] })
            else { throw error("invalid literal") }
            index += count
        }

        mutating func digits() throws(SyntaxError) {
            let start = index
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            guard index > start else { throw error("expected a digit") }
        }

        mutating func number() throws(SyntaxError) {
            let start = index
            let hasExponent = try numberSyntax()
            // A number no double can hold (5e4444…, found by the fuzzer) means nothing to anyone
            // reading it, and Foundation refuses it: so do we. Short plain numbers always fit.
            if hasExponent || index - start > 15 {
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                guard Double(text)?.isFinite == true else { throw error("number out of range") }
            }
        }

        /// Scans a number's syntax; true when it has an exponent.
        mutating func numberSyntax() throws(SyntaxError) -> Bool {
            if peek == UInt8(ascii: "-") { index += 1 }
            if peek == UInt8(ascii: "0") {
                index += 1
            } else {
                try digits()
            }
            if peek == UInt8(ascii: ".") { index += 1; try digits() }
            guard peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") else { return false }
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            try digits()
            return true
        }

        /// Whether any of a word's eight bytes is outside plain printable ASCII or is `"` or `\`
        /// (bit tricks from "Bit Twiddling Hacks": `hasless` and `haszero`). Never false when such a
        /// byte is there; true at worst for nothing (the byte loop then decides).
        @inline(__always)
        static func mayEndPlainRun(_ word: UInt64) -> Bool {
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
            let control = (word &- ones &* 0x20) & ~word
            let special = control | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
            return (special | word) & highs != 0
        }

        /// A string literal: no raw control characters, only the escapes JSON defines, surrogates
        /// paired. Returns whether it holds an escape.
        @discardableResult
        mutating func string() throws(SyntaxError) -> Bool {
            try expect(UInt8(ascii: "\""), "a string")
            var escaped = false
            while index < bytes.count {
                // Plain printable ASCII, most of every body, in a tight loop over a local index.
                var i = index
                let end = bytes.count
                // Eight bytes at a time while none of them can end the run: the byte loop below
                // cost about 12 instructions a byte, and strings are most of a context (callgrind).
                // A word it stops at (a false alarm included) is read again byte by byte.
                if let base = bytes.baseAddress {
                    while i + 8 <= end, !Self.mayEndPlainRun(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                        i += 8
                    }
                }
                while i < end {
                    let byte = bytes[i]
                    guard byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") else { break }
                    i += 1
                }
                index = i
                guard index < end else { break }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return escaped
                case UInt8(ascii: "\\"):
                    escaped = true
                    index += 1
                    guard let escape = peek else { break }
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                         UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        index += 1
                        let unit = try hex4()
                        if (0xDC00..<0xE000).contains(unit) { throw error("unpaired low surrogate") }
                        if (0xD800..<0xDC00).contains(unit) {
                            guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                            else { throw error("unpaired high surrogate") }
                            index += 2
                            guard (0xDC00..<0xE000).contains(try hex4()) else { throw error("unpaired high surrogate") }
                        }
                    default:
                        throw error("invalid escape '\\\(Unicode.Scalar(escape).escaped(asASCII: true))'")
                    }
                case 0..<0x20:
                    throw error("raw control character in a string")
                case 0x80...0xFF:
                    index += try utf8Sequence()
                default:
                    index += 1
                }
            }
            throw error("unterminated string")
        }

        /// The length of the well-formed UTF-8 sequence at `index` (RFC 3629: no overlong forms,
        /// no surrogates, nothing past U+10FFFF). JSON text is UTF-8; found by fuzzing, a lone
        /// 0xE3 inside a string used to pass.
        mutating func utf8Sequence() throws(SyntaxError) -> Int {
            let lead = bytes[index]
            let length: Int, second: ClosedRange<UInt8>
            switch lead {
            case 0xC2...0xDF: (length, second) = (2, 0x80...0xBF)
            case 0xE0: (length, second) = (3, 0xA0...0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, second) = (3, 0x80...0xBF)
            case 0xED: (length, second) = (3, 0x80...0x9F)
            case 0xF0: (length, second) = (4, 0x90...0xBF)
            case 0xF1...0xF3: (length, second) = (4, 0x80...0xBF)
            case 0xF4: (length, second) = (4, 0x80...0x8F)
            default: throw error("invalid UTF-8 in a string")
            }
            guard index + length <= bytes.count, second.contains(bytes[index + 1]),
                  (2..<length).allSatisfy({ (0x80...0xBF).contains(bytes[index + $0]) })
            else { throw error("invalid UTF-8 in a string") }
            return length
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard let value = JSON.hex4(bytes, at: index) else { throw error("expected 4 hex digits after \\u") }
            index += 4
            return value
        }
    }
}
