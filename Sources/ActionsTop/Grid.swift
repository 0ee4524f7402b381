/// What a cell means; the theme decides how it looks.
package enum Role: String, CaseIterable, Sendable, Hashable {
    case normal, title, header, label, value, border, dim
    case allow, deny, failOpen = "fail_open", failClosed = "fail_closed"
    case ok, warning, error, selected, footer, key, filter, readOnly = "read_only"
    case sparkAllow = "spark_allow", sparkDeny = "spark_deny", overlay, input
}

/// One terminal cell. A wide character fills its cell and marks the next as a continuation.
package struct Cell: Equatable, Sendable {
    package var text: String
    package var role: Role
    package var isContinuation: Bool

    package static let blank = Cell(text: " ", role: .normal, isContinuation: false)
}

/// The screen as a plain grid of cells: the renderer writes it, tests read it, and the ncurses
/// backend draws only the cells that differ from the previous frame.
package struct Grid: Equatable, Sendable {
    package let width: Int
    package let height: Int
    package private(set) var cells: [Cell]

    package init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    package subscript(x x: Int, y y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes text at (x, y), clipped to `maxWidth` columns and the grid. Returns the columns used.
    /// The text must already be sanitized; this only measures and places it.
    @discardableResult
    package mutating func put(_ text: String, x: Int, y: Int, role: Role = .normal, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let limit = min(maxWidth ?? width, width - max(x, 0))
        var column = x
        for character in text {
            let w = DisplayWidth.of(character)
            if w == 0 {
                // A lone zero-width character joins the previous cell.
                if column > x, column - 1 >= 0 { self[x: column - 1, y: y].text.append(character) }
                continue
            }
            if column - x + w > limit { break }
            if column >= 0 {
                self[x: column, y: y] = Cell(text: String(character), role: role, isContinuation: false)
                if w == 2, column + 1 < width {
                    self[x: column + 1, y: y] = Cell(text: "", role: role, isContinuation: true)
                }
            }
            column += w
        }
        return column - x
    }

    /// Fills a span with one role (a highlighted row, a bar).
    package mutating func fill(x: Int, y: Int, width span: Int, role: Role, text: String = " ") {
        guard y >= 0, y < height else { return }
        for column in max(0, x)..<min(width, x + span) {
            self[x: column, y: y] = Cell(text: text, role: role, isContinuation: false)
        }
    }

    /// Changes the role of a span, keeping its text (selection highlight).
    package mutating func restyle(x: Int, y: Int, width span: Int, role: Role) {
        guard y >= 0, y < height else { return }
        for column in max(0, x)..<min(width, x + span) { self[x: column, y: y].role = role }
    }

    /// Row `y` as plain text, for tests and snapshots.
    package func line(_ y: Int) -> String {
        var out = ""
        for x in 0..<width where !self[x: x, y: y].isContinuation { out += self[x: x, y: y].text }
        return out
    }

    /// The whole screen as text, trailing spaces trimmed.
    package var text: String {
        (0..<height).map { y -> String in
            var line = self.line(y)
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}
