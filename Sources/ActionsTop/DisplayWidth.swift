/// Terminal column widths of text, as ncursesw measures them, without depending on the process
/// locale: wide East Asian characters and emoji take two columns, combining marks and zero-width
/// characters none.
package enum DisplayWidth {
    /// A grapheme cluster takes what ncursesw advances for it: the sum of its scalars' widths
    /// (combining marks, joiners and variation selectors add none).
    package static func of(_ character: Character) -> Int {
        character.unicodeScalars.reduce(0) { $0 + of($1) }
    }

    /// The columns ncursesw gives a scalar: the C library's wcwidth, from a table generated out of
    /// it (`DisplayWidthTable.swift`), so the result does not depend on the process's locale.
    /// Controls take none here: untrusted text reaches the screen escaped.
    package static func of(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x20 || (value >= 0x7f && value < 0xa0) { return 0 }
        if value < 0x300 { return 1 }
        if contains(zeroWidth, value) { return 0 }
        return contains(doubleWidth, value) ? 2 : 1
    }

    package static func of(_ text: String) -> Int {
        // Printable ASCII, most of what is drawn, is one column a byte: no grapheme breaking.
        if let width = text.utf8.withContiguousStorageIfAvailable({ bytes in
            bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7f } ? bytes.count : nil
        }) ?? nil {
            return width
        }
        return text.reduce(0) { $0 + of($1) }
    }

    /// Binary search over sorted, disjoint ranges.
    static func contains(_ ranges: [ClosedRange<UInt32>], _ value: UInt32) -> Bool {
        var low = 0, high = ranges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if value < ranges[middle].lowerBound {
                high = middle - 1
            } else if value > ranges[middle].upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    /// Cuts text to at most `width` columns, ending with "…" when something was cut.
    package static func truncate(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        if of(text) <= width { return text }
        var out = ""
        var used = 0
        for character in text {
            let w = of(character)
            if used + w > width - 1 { break }
            out.append(character)
            used += w
        }
        return out + "…"
    }

    /// An email shortened in the middle of its local part, keeping the domain (what tells an
    /// operator most), when it does not fit: `averyverylongname@example.com` → `avery…@example.com`.
    /// A domain too long to keep is cut at its end like any text.
    package static func shortenEmail(_ email: String, to width: Int) -> String {
        if of(email) <= width { return email }
        guard let at = email.lastIndex(of: "@") else { return truncate(email, to: width) }
        let domain = String(email[at...])
        let room = width - of(domain) - 1
        guard room >= 2 else { return truncate(email, to: width) }
        return truncate(String(email[..<at]), to: room + 1).dropLast() + "…" + domain
    }

    /// Truncates or pads with spaces to exactly `width` columns.
    package static func fit(_ text: String, to width: Int, alignRight: Bool = false) -> String {
        let cut = truncate(text, to: width)
        let padding = String(repeating: " ", count: max(0, width - of(cut)))
        return alignRight ? padding + cut : cut + padding
    }
}
