import Testing
import ActionsProtocol
@testable import ActionsTop

@Suite struct SanitizerTests {
    @Test(arguments: [
        ("plain@example.com", "plain@example.com"),
        ("ev\u{1b}]0;pwned\u{07}il@x.io", "ev\\e]0;pwned\\x07il@x.io"),           // OSC: set the window title
        ("a\u{1b}[2J\u{1b}[Hb", "a\\e[2J\\e[Hb"),                                 // CSI: clear the screen, home
        ("row\r\n10:00 auth root Allow", "row\\r\\n10:00 auth root Allow"),        // fake a table row
        ("c1\u{9b}31mred", "c1\\x9b31mred"),                                     // 8-bit CSI
        ("del\u{7f}x", "del\\x7fx"),
        ("nul\u{0}x", "nul\\x00x"),
        ("admin@exam\u{202e}moc.elpmaxe", "admin@exam\\u{202e}moc.elpmaxe"),    // bidi override
        ("iso\u{2066}late\u{2069}", "iso\\u{2066}late\\u{2069}"),               // bidi isolates
        ("zero\u{200b}width", "zero\\u{200b}width"),
        ("line\u{2028}sep", "line\\u{2028}sep"),
        ("back\\slash", "back\\\\slash"),
        ("tab\there", "tab\\there"),
        ("Zoë 山田 café", "Zoë 山田 café"),                                        // printable Unicode stays
    ])
    func hostileStringsBecomeVisibleEscapes(input: String, expected: String) {
        let escaped = TerminalText.escape(input)
        #expect(escaped == expected)
        #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
    }

    @Test func wideAndCombiningCharactersAreMeasured() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("山田") == 4)
        #expect(DisplayWidth.of("e\u{301}") == 1)          // e + combining acute
        #expect(DisplayWidth.of("🔒") == 2)
        #expect(DisplayWidth.of("한국어") == 6)
        #expect(DisplayWidth.truncate("山田太郎@example.jp", to: 7) == "山田太…")
        #expect(DisplayWidth.of(DisplayWidth.fit("山田@例え.jp", to: 9)) == 9)
    }

    @Test func aWideCharacterTakesTwoCellsInTheGrid() {
        var grid = Grid(width: 6, height: 1)
        grid.put("a山b", x: 0, y: 0)
        #expect(grid[x: 1, y: 0].text == "山")
        #expect(grid[x: 2, y: 0].isContinuation)
        #expect(grid[x: 3, y: 0].text == "b")
        #expect(grid.line(0) == "a山b  ")
        // A wide character that would straddle the edge is not drawn half.
        var edge = Grid(width: 3, height: 1)
        edge.put("ab山", x: 0, y: 0)
        #expect(edge.line(0) == "ab ")
    }
}
