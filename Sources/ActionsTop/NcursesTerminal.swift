import CNcurses
import Foundation

/// The thin ncurses backend: draws a `Grid` with the theme's colours, only where it changed since
/// the last frame, and reads keys with a timeout that doubles as the refresh tick.
package final class NcursesTerminal {
    // ncurses attribute bits (NCURSES_BITS(mask, shift) with NCURSES_ATTR_SHIFT = 8); macros do not import.
    static let boldBit: UInt32 = 1 << 21
    static let dimBit: UInt32 = 1 << 20
    static let underlineBit: UInt32 = 1 << 17
    static let reverseBit: UInt32 = 1 << 18

    package private(set) var colors = 0
    package let asciiOnly: Bool
    private var previous: Grid?
    private var pairs: [String: Int16] = [:]
    private var stopped = false

    /// `refreshMs`: how long a key read waits before returning for a refresh tick.
    /// `mouse`: report clicks and the wheel (`--mouse`); off, the terminal keeps its own text selection.
    package init(refreshMs: Int, monochrome: Bool, mouse: Bool = false) {
        setlocale(LC_ALL, "")
        // A short ESCDELAY so Esc answers at once instead of after a second.
        setenv("ESCDELAY", "25", 0)
        initscr()
        cbreak()
        noecho()
        nonl()
        keypad(cn_stdscr(), true)
        intrflush(cn_stdscr(), false)
        curs_set(0)
        timeout(Int32(refreshMs))
        if mouse {
            mousemask(cn_all_mouse_events(), nil)
            // Clicks are reported at once, not after a wait for a double click.
            mouseinterval(0)
        }
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        // Unicode block and line characters need a UTF-8 locale and a terminal that draws them.
        asciiOnly = codeset.uppercased() != "UTF-8" || term == "linux" || term.hasPrefix("vt")
        if !monochrome && has_colors() {
            start_color()
            use_default_colors()
            colors = Int(cn_colors())
        }
    }

    package func stop() {
        guard !stopped else { return }
        stopped = true
        endwin()
    }

    deinit { stop() }

    package var size: (width: Int, height: Int) { (Int(cn_cols()), Int(cn_lines())) }

    /// Whether the terminal is one that takes OSC 52 clipboard writes (xterm and its kin, tmux,
    /// screen, kitty, foot, ...); the Linux console and VT-class terminals do not.
    package static func takesClipboard(term: String) -> Bool {
        !(term.isEmpty || term == "dumb" || term == "linux" || term.hasPrefix("vt") || term == "ansi")
    }

    /// Puts text on the clipboard with OSC 52 (`ESC ] 52 ; c ; base64 BEL`), written straight to
    /// the terminal between frames: ncurses has no call for it. Over SSH it reaches the local
    /// terminal; inside tmux, tmux takes it (with `set-clipboard on`).
    package func copyToClipboard(_ text: String) {
        let sequence = Array(("\u{1b}]52;c;" + Data(text.utf8).base64EncodedString() + "\u{07}").utf8)
        var written = 0
        while written < sequence.count {
            let result = sequence[written...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if result <= 0 { break }
            written += result
        }
    }

    /// Forget the last frame (after a resize): everything is drawn again.
    package func invalidate() {
        previous = nil
        clear()
    }

    package func draw(_ grid: Grid, theme: Theme) {
        let full = previous == nil || previous?.width != grid.width || previous?.height != grid.height
        if full { erase() }
        for y in 0..<grid.height {
            var x = 0
            while x < grid.width {
                if !full, let previous, previous[x: x, y: y] == grid[x: x, y: y] {
                    x += 1
                    continue
                }
                // A run of changed cells with one role is drawn in one call.
                let role = grid[x: x, y: y].role
                let start = x
                var text: [wchar_t] = []
                while x < grid.width, grid[x: x, y: y].role == role,
                      full || previous?[x: x, y: y] != grid[x: x, y: y] || grid[x: x, y: y].isContinuation {
                    let cell = grid[x: x, y: y]
                    if !cell.isContinuation {
                        for scalar in cell.text.unicodeScalars { text.append(wchar_t(bitPattern: scalar.value)) }
                    }
                    x += 1
                }
                if text.isEmpty { continue }
                attrset(Int32(bitPattern: attributes(theme.style(role))))
                move(Int32(y), Int32(start))
                text.withUnsafeBufferPointer { buffer in
                    _ = addnwstr(buffer.baseAddress, Int32(buffer.count))
                }
            }
        }
        previous = grid
        wnoutrefresh(cn_stdscr())
        doupdate()
    }

    private func attributes(_ style: ThemeStyle) -> UInt32 {
        var bits: UInt32 = 0
        if style.bold { bits |= Self.boldBit }
        if style.dim { bits |= Self.dimBit }
        if style.underline { bits |= Self.underlineBit }
        if style.reverse { bits |= Self.reverseBit }
        if colors > 0 { bits |= UInt32(pair(style)) << 8 }
        return bits
    }

    /// A colour pair for the style's colours, reduced to what the terminal has (256, 16 or 8).
    private func pair(_ style: ThemeStyle) -> Int16 {
        func number(_ color: ThemeColor) -> Int16 {
            switch color.reduced(to: colors) {
            case .terminalDefault: return -1
            case .index(let index): return Int16(index)
            }
        }
        let fg = number(style.foreground), bg = number(style.background)
        let key = "\(fg)/\(bg)"
        if let existing = pairs[key] { return existing }
        let next = Int16(pairs.count + 1)
        guard next < 255, Int32(next) < cn_color_pairs() else { return 0 }
        init_pair(next, fg, bg)
        pairs[key] = next
        return next
    }

    /// The next key, or nil when the refresh interval passed without one.
    private func readMouse() -> Key? {
        var event = MEVENT()
        guard getmouse(&event) == OK else { return nil }
        let x = Int(event.x), y = Int(event.y)
        if event.bstate & cn_button4_pressed() != 0 { return .mouse(.wheelUp, x: x, y: y) }
        if event.bstate & cn_button5_pressed() != 0 { return .mouse(.wheelDown, x: x, y: y) }
        if event.bstate & (cn_button1_pressed() | cn_button1_clicked()) != 0 { return .mouse(.click, x: x, y: y) }
        return nil
    }

    /// How long `readKey` waits for a key before it returns nil.
    package func setKeyTimeout(_ ms: Int) {
        guard ms != keyTimeoutMs else { return }
        keyTimeoutMs = ms
        timeout(Int32(ms))
    }
    private var keyTimeoutMs = -1

    package func readKey() -> Key? {
        var character: wint_t = 0
        let result = get_wch(&character)
        if result == ERR { return nil }
        if result == KEY_CODE_YES {
            switch Int32(character) {
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_NPAGE: return .pageDown
            case KEY_PPAGE: return .pageUp
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_ENTER: return .enter
            case KEY_BACKSPACE: return .backspace
            case KEY_DC: return .delete
            case KEY_RESIZE: return .resize
            case cn_key_mouse(): return readMouse()
            case (KEY_F0 + 1)...(KEY_F0 + 12): return .function(Int(Int32(character) - KEY_F0))
            default: return nil
            }
        }
        switch character {
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 9: return .tab
        case 12: return .char("\u{0C}") // Ctrl-L: repaint
        default:
            guard let scalar = Unicode.Scalar(UInt32(character)), character >= 32 else { return nil }
            return .char(Character(scalar))
        }
    }
}
