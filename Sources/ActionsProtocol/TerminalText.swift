/// Makes untrusted text (emails, user agents, endpoint answers) safe to draw on a terminal.
///
/// kubectl's CVE-2021-25743 came from escape sequences in logged fields reaching the terminal.
/// Here every C0 and C1 control, DEL, line and paragraph separator, and every invisible format
/// character (bidi overrides and isolates, zero-width characters) becomes a visible escape, so a
/// crafted email cannot retitle the terminal, clear the screen, fake a row or reorder what the
/// operator reads. A backslash is doubled so an escape shown cannot be confused with literal text.
package enum TerminalText {
    package static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0x1b: out += "\\e"
            case 0..<0x100: out += "\\x" + hex(scalar.value, width: 2)
            default: out += "\\u{" + hex(scalar.value, width: 4) + "}"
            }
        }
        return out
    }

    /// True for every character `escape` rewrites.
    package static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || value == 0x7f || value == 0x5c { return true }
        if value < 0x80 { return false }
        if value < 0xa0 { return true } // C1 controls, including the 8-bit CSI 0x9b
        switch scalar.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator, .control, .privateUse, .unassigned, .surrogate: return true
        default: return false
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
