import Foundation
/// A strict reader for the part of TOML our config file uses: `[table.headers]`, `key = value`
/// with strings, integers, booleans and arrays of strings, and `#` comments. Anything else is a
/// clear error with its line number. (TOMLKit, the Swift TOML library, is not installable here:
/// it depends on a package outside our registry.)
public enum TOMLSubset {
    public enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case strings([String])
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Keys are flattened with their table: `[circuit]` + `cooldown_seconds` is `circuit.cooldown_seconds`.
    public static func parse(_ text: String) throws(ParseError) -> [String: Value] {
        var result: [String: Value] = [:]
        var table = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), !line.hasPrefix("[[") else {
                    throw ParseError(line: lineNumber, message: "expected a [table] header")
                }
                table = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                guard !table.isEmpty, table.allSatisfy(isKeyCharacter) else {
                    throw ParseError(line: lineNumber, message: "invalid table name \(table)")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ParseError(line: lineNumber, message: "expected key = value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy(isKeyCharacter) else {
                throw ParseError(line: lineNumber, message: "invalid key \(key)")
            }
            let fullKey = table.isEmpty ? key : "\(table).\(key)"
            guard result[fullKey] == nil else { throw ParseError(line: lineNumber, message: "duplicate key \(fullKey)") }
            let valueText = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard let value = parseValue(valueText) else {
                throw ParseError(line: lineNumber, message: "unsupported value \(valueText) (use \"text\", 123, true/false or [\"a\", \"b\"])")
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
        if let int = Int(text.replacingOccurrences(of: "_", with: "")) { return .integer(int) }
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
