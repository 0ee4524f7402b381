/// A table's column widths for a terminal width, as htop and k9s lay theirs out: every column
/// first gets what its header and cells ask for; the last column takes what remains. When that
/// leaves the last column less than it needs, the table's own steps run in order, each only while
/// it is still short: a column shrinks to a width, hides, or the last column settles for less.
/// Every screen's table states its priorities as such a list, so what gives way at 80 columns is
/// decided in one readable place per screen, not by fixed widths.
struct TableLayout: Equatable {
    enum Step: Equatable {
        /// Column `index` gives width back, down to `to` columns.
        case shrink(Int, to: Int)
        /// Column `index` leaves the screen.
        case hide(Int)
        /// From here on the last column is content with `width` columns (or what it asks, if less).
        case settle(Int)
    }

    /// Each column's width; 0 is hidden. The last is what remains of the terminal's width.
    private(set) var widths: [Int]

    /// `wants` are the columns' widths by content (0: hidden); a separator follows every shown
    /// column, and the row starts one column in.
    init(wants: [Int], width: Int, steps: [Step]) {
        widths = wants
        guard let last = wants.indices.last else { return }
        var target = wants[last]
        func remaining() -> Int { width - 1 - widths.dropLast().reduce(0) { $0 + ($1 > 0 ? $1 + 1 : 0) } }
        for step in steps where remaining() < target {
            switch step {
            case .shrink(let index, let minimum):
                widths[index] = min(widths[index], max(minimum, widths[index] - (target - remaining())))
            case .hide(let index):
                widths[index] = 0
            case .settle(let width):
                target = min(target, width)
            }
        }
        widths[last] = max(0, remaining())
    }

    /// Where each shown column starts (x), for drawing and for mouse clicks on the header.
    var starts: [Int] {
        var x = 1
        return widths.map { width in
            defer { if width > 0 { x += width + 1 } }
            return x
        }
    }

    /// The column drawn at `x`, if any.
    func column(atX x: Int) -> Int? {
        zip(widths.indices, zip(starts, widths)).first { _, place in place.1 > 0 && x >= place.0 && x < place.0 + place.1 + 1 }?.0
    }
}
