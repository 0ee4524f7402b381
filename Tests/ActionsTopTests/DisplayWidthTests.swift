import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import ActionsTop

/// The width table against the C library's own wcwidth, the function ncursesw measures with:
/// every scalar from U+00A0 up that wcwidth knows, under C.UTF-8.
@Suite struct DisplayWidthTests {
    @Test func theTableAgreesWithWcwidthOnEveryScalar() throws {
        guard setlocale(LC_CTYPE, "C.UTF-8") != nil else {
            Issue.record("the C.UTF-8 locale is missing")
            return
        }
        // wcwidth is not in Swift's Glibc module (it needs _XOPEN_SOURCE): look it up.
        typealias WCWidth = @convention(c) (wchar_t) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wcwidth") else {
            Issue.record("wcwidth not found")
            return
        }
        let wcwidth = unsafeBitCast(symbol, to: WCWidth.self)
        var checked = 0
        var differences: [String] = []
        for value in UInt32(0xA0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let expected = Int(wcwidth(wchar_t(value)))
            if expected < 0 { continue } // not printable for the C library
            checked += 1
            if DisplayWidth.of(scalar) != expected {
                differences.append(String(format: "U+%04X: %d, wcwidth %d", value, DisplayWidth.of(scalar), expected))
            }
        }
        #expect(checked > 100_000)
        #expect(differences.isEmpty, "\(differences.count) differ, first: \(differences.prefix(10))")
    }

    @Test func clustersTakeTheSumOfTheirScalars() {
        #expect(DisplayWidth.of("e\u{301}") == 1)        // e + combining acute
        #expect(DisplayWidth.of("山田") == 4)
        #expect(DisplayWidth.of("\u{1F600}") == 2)       // 😀
        #expect(DisplayWidth.of("\u{1F468}\u{200D}\u{1F469}") == 4) // two emoji joined: ncurses advances both
        #expect(DisplayWidth.of("\u{4DC0}") == 2)        // a Yijing hexagram, wide for the C library
    }
}
