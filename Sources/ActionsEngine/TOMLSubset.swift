import Foundation
import ActionsProtocol
/// A strict reader for the part of TOML our config file uses: `[table.headers]`, `key = value`
/// with strings, integers, booleans and arrays of strings, and `#` comments. Anything else is a
/// clear error with its line number. (TOMLKit, the Swift TOML library, is not installable here:
/// it depends on a package outside our registry.)
package enum TOMLSubset {
    package enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case strings([String])
    }

    package struct ParseError: Error, Equatable, CustomStringConvertible {
        package var line: Int
        package var message: String
        package var description: String { "line \(line): \(message)" }
    }

    /// Keys are flattened with their table: `[circuit]` + `cooldown_seconds` is `circuit.cooldown_seconds`.
    package static func parse(_ text: String) throws(ParseError) -> [String: Value] { try parse(Array(text.utf8)) }

    /// The file's bytes, read by `TextLines` (LF, CRLF or CR; not UTF-8 is an error). Errors name
    /// the line and what is wrong, never the value: a secret's line must not reach a log.
    package static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> [String: Value] {
        var result: [String: Value] = [:]
        var table = ""
        for textLine in TextLines.lines(bytes) {
            let lineNumber = textLine.number
            guard let rawLine = textLine.text else { throw ParseError(line: lineNumber, message: "not UTF-8") }
            let line = stripComment(rawLine).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), !line.hasPrefix("[[") else {
                    throw ParseError(line: lineNumber, message: "expected a [table] header")
                }
                table = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                guard !table.isEmpty, table.allSatisfy(isKeyCharacter) else {
                    throw ParseError(line: lineNumber, message: "invalid table name")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ParseError(line: lineNumber, message: "expected key = value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy(isKeyCharacter) else {
                throw ParseError(line: lineNumber, message: "invalid key")
            }
            let fullKey = table.isEmpty ? key : "\(table).\(key)"
            guard result[fullKey] == nil else { throw ParseError(line: lineNumber, message: "duplicate key \(fullKey)") }
            let valueText = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard let value = parseValue(valueText) else {
                throw ParseError(line: lineNumber, message: "\(fullKey): unsupported value (use \"text\", 123, true/false or [\"a\", \"b\"])")
            }
            result[fullKey] = value
        }
        return result
    }

    private static func isKeyCharacter(_ c: Character) -> Bool {
        c.isLetter || c.isNumber || c == "_" || c == "-" || c == "."
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: String) -> String {
        var inString = false, escaped = false
        for (offset, char) in line.enumerated() {
            if escaped { escaped = false; continue }
            if char == "\\" && inString { escaped = true; continue }
            if char == "\"" { inString.toggle() }
            if char == "#" && !inString { return String(line.prefix(offset)) }
        }
        return line
    }

    private static func parseValue(_ text: String) -> Value? {
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if let int = integer(text) { return .integer(int) }
        if let string = parseString(text) { return .string(string) }
        if text.hasPrefix("[") && text.hasSuffix("]") {
            let inner = text.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
            if inner.isEmpty { return .strings([]) }
            var items: [String] = []
            for part in splitArray(inner) {
                guard let item = parseString(part.trimmingCharacters(in: .whitespaces)) else { return nil }
                items.append(item)
            }
            return .strings(items)
        }
        return nil
    }

    /// A TOML decimal integer: an optional `-`, no leading zero, and `_` only between digits
    /// (`1_000`). `+1`, `1__0`, `_1` and `1_` are refused: a port or a limit is written plainly.
    static func integer(_ text: String) -> Int? {
        let digits = text.hasPrefix("-") ? text.dropFirst() : text[...]
        guard let first = digits.first, first.isASCII, first.isNumber, first != "0" || digits.count == 1,
              let last = digits.last, last.isASCII, last.isNumber, !digits.contains("__"),
              digits.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" }) else { return nil }
        return Int(text.replacingOccurrences(of: "_", with: ""))
    }

    private static func splitArray(_ text: String) -> [String] {
        var parts: [String] = [], current = "", inString = false, escaped = false
        for char in text {
            if escaped { escaped = false; current.append(char); continue }
            if char == "\\" && inString { escaped = true; current.append(char); continue }
            if char == "\"" { inString.toggle() }
            if char == "," && !inString { parts.append(current); current = ""; continue }
            current.append(char)
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { parts.append(current) }
        return parts
    }

    /// A basic string as this parser reads it back: quoted, with the four escapes it knows.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for char in text {
            switch char {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.append(char)
            }
        }
        return out + "\""
    }

    private static func parseString(_ text: String) -> String? {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else { return nil }
        var out = "", escaped = false
        for char in text.dropFirst().dropLast() {
            if escaped {
                switch char {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                default: return nil
                }
                escaped = false
            } else if char == "\\" {
                escaped = true
            } else if char == "\"" {
                return nil
            } else {
                out.append(char)
            }
        }
        return escaped ? nil : out
    }
}
