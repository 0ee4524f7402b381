import Foundation

/// A colour as a theme names it. Names map to the 16 ANSI colours; `#rrggbb` to the nearest of 256.
package enum ThemeColor: Equatable, Sendable {
    case terminalDefault
    case index(Int)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    init?(parsing text: String) {
        let lower = text.lowercased()
        if lower == "default" || lower == "none" { self = .terminalDefault; return }
        if let index = Self.names.firstIndex(of: lower) { self = .index(index); return }
        if lower.hasPrefix("bright-"), let index = Self.names.firstIndex(of: String(lower.dropFirst(7))) { self = .index(index + 8); return }
        if let number = Int(lower), (0...255).contains(number) { self = .index(number); return }
        if lower.hasPrefix("#"), lower.count == 7, let rgb = Int(lower.dropFirst(), radix: 16) {
            self = .index(Self.nearest256(r: (rgb >> 16) & 0xff, g: (rgb >> 8) & 0xff, b: rgb & 0xff))
            return
        }
        return nil
    }

    /// The xterm 6x6x6 cube or grey ramp entry closest to an RGB colour.
    static func nearest256(r: Int, g: Int, b: Int) -> Int {
        func level(_ v: Int) -> Int { v < 48 ? 0 : (v < 115 ? 1 : (v - 35) / 40) }
        let cube = 16 + 36 * level(r) + 6 * level(g) + level(b)
        let grey = (r + g + b) / 3
        if abs(r - grey) < 10 && abs(g - grey) < 10 && abs(b - grey) < 10 {
            if grey < 8 { return 16 }
            if grey > 238 { return 231 }
            return 232 + (grey - 8) / 10
        }
        return cube
    }

    /// The same colour on a terminal with fewer colours (256 -> 16 -> 8).
    package func reduced(to colors: Int) -> ThemeColor {
        guard case .index(let index) = self else { return self }
        if index < colors { return self }
        if index < 16 { return .index(index - 8) }
        if index >= 232 { return .index((index - 232) < 12 ? 0 : 7) }
        let cube = index - 16
        let r = cube / 36, g = (cube / 6) % 6, b = cube % 6
        let basic = (r >= 3 ? 1 : 0) | (g >= 3 ? 2 : 0) | (b >= 3 ? 4 : 0)
        let bright = max(r, g, b) >= 4 && colors >= 16
        return .index(basic + (bright ? 8 : 0))
    }
}

package struct ThemeStyle: Equatable, Sendable {
    package var foreground: ThemeColor = .terminalDefault
    package var background: ThemeColor = .terminalDefault
    package var bold = false
    package var dim = false
    package var underline = false
    package var reverse = false

    package init(foreground: ThemeColor = .terminalDefault, background: ThemeColor = .terminalDefault,
                bold: Bool = false, dim: Bool = false, underline: Bool = false, reverse: Bool = false) {
        self.foreground = foreground
        self.background = background
        self.bold = bold
        self.dim = dim
        self.underline = underline
        self.reverse = reverse
    }

    /// Attributes only, for monochrome terminals and NO_COLOR.
    package var withoutColor: ThemeStyle {
        ThemeStyle(bold: bold, dim: dim, underline: underline, reverse: reverse)
    }
}

/// A colour theme: one style per role. The text format is documented in themes/README.md:
///
///     # comment
///     role = foreground [background] [bold] [dim] [underline] [reverse]
///
/// Unknown roles and words are ignored (and reported as warnings); roles a theme leaves out
/// fall back to the built-in default theme.
package struct Theme: Equatable, Sendable {
    package var name: String
    package var styles: [Role: ThemeStyle]
    package var warnings: [String] = []

    package func style(_ role: Role) -> ThemeStyle {
        styles[role] ?? Theme.builtinDefault.styles[role] ?? ThemeStyle()
    }

    /// Parses a theme; roles it leaves out keep the built-in default's style.
    package static func parse(_ text: String, name: String) -> Theme {
        parse(text, name: name, base: builtinDefault.styles)
    }

    static func parse(_ text: String, name: String, base: [Role: ThemeStyle]) -> Theme {
        var theme = Theme(name: name, styles: base)
        var warnings: [String] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(String(raw)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { warnings.append("line \(number + 1): expected role = colours"); continue }
            guard let role = Role(rawValue: parts[0].replacingOccurrences(of: "-", with: "_")) else {
                warnings.append("line \(number + 1): unknown role \(parts[0]) ignored")
                continue
            }
            var style = ThemeStyle()
            var colors: [ThemeColor] = []
            for word in parts[1].split(separator: " ").map(String.init) {
                switch word.lowercased() {
                case "bold": style.bold = true
                case "dim": style.dim = true
                case "underline": style.underline = true
                case "reverse": style.reverse = true
                default:
                    if let color = ThemeColor(parsing: word) { colors.append(color) } else {
                        warnings.append("line \(number + 1): unknown colour \(word) ignored")
                    }
                }
            }
            if colors.count > 0 { style.foreground = colors[0] }
            if colors.count > 1 { style.background = colors[1] }
            theme.styles[role] = style
        }
        theme.warnings = warnings
        return theme
    }

    /// A comment is a line starting with `#`, or `#` followed by a space; `#ff0000` is a colour.
    static func stripComment(_ line: String) -> String {
        let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
        if trimmed.hasPrefix("#") { return "" }
        if let range = line.range(of: "# ") ?? (line.hasSuffix("#") ? line.range(of: "#", options: .backwards) : nil) {
            return String(line[..<range.lowerBound])
        }
        return line
    }

    package var withoutColor: Theme {
        var copy = self
        for (role, style) in styles { copy.styles[role] = style.withoutColor }
        return copy
    }

    /// The built-in dark theme; `themes/default.theme` holds the same text.
    package static let builtinDefaultText = """
        # actions-top default theme (dark). Format: role = foreground [background] [bold dim underline reverse]
        normal = default default
        title = bright-white blue bold
        header = bright-white default bold
        label = cyan default
        value = bright-white default
        border = blue default
        dim = bright-black default
        allow = green default
        deny = bright-red default bold
        fail_open = black yellow bold
        fail_closed = bright-white red bold
        ok = green default
        warning = black yellow bold
        error = bright-white red bold
        selected = black cyan
        footer = black white
        key = bright-white blue bold
        filter = black bright-green bold
        read_only = bright-white magenta bold
        spark_allow = green default
        spark_deny = red default
        overlay = bright-white 236
        input = bright-white 238
        """

    package static let builtinDefault: Theme = {
        var plain: [Role: ThemeStyle] = [:]
        for role in Role.allCases { plain[role] = ThemeStyle() }
        return parse(builtinDefaultText, name: "default", base: plain)
    }()
}
