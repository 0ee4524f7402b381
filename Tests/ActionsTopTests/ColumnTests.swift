import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore
@testable import ActionsTop

/// Column widths follow the terminal and what the rows hold.
@Suite struct ColumnTests {
    let renderer = Renderer(timeZone: TimeZone(identifier: "UTC")!)

    func screen(emails: [String], width: Int, height: Int = 24) -> String {
        var state = AppState()
        state.nowMs = Fixtures.now
        state.replaceEvents(emails.enumerated().map { Fixtures.event($0.offset + 1, email: $0.element, reason: "endpoint Allow") })
        return renderer.render(state, width: width, height: height).text
    }

    @Test func aTwentyOneCharacterEmailIsWholeAt120Columns() {
        let email = "maria.gonzalez@acme.io"
        #expect(email.count == 22)
        let text = screen(emails: [email, "bo@example.com"], width: 120)
        #expect(text.contains(email))
        // And at 80 columns too, when the other rows leave the room.
        #expect(screen(emails: [email], width: 80).contains(email))
    }

    @Test func aLongEmailIsShortenedInTheMiddleKeepingItsDomain() {
        #expect(DisplayWidth.shortenEmail("averyveryverylongname@example.com", to: 20) == "averyve…@example.com")
        #expect(DisplayWidth.of(DisplayWidth.shortenEmail("averyveryverylongname@example.com", to: 20)) <= 20)
        #expect(DisplayWidth.shortenEmail("a@b.io", to: 20) == "a@b.io")
        // A domain that cannot be kept is cut at the end like any text.
        #expect(DisplayWidth.shortenEmail("x@" + String(repeating: "d", count: 40) + ".com", to: 12).hasSuffix("…"))
        let text = screen(emails: [String(repeating: "long", count: 20) + "@keep.example"], width: 80)
        #expect(text.contains("…@keep.example"))
    }

    @Test func everyColumnStillFitsAt80x24() {
        let text = screen(emails: [String(repeating: "x", count: 60) + "@example.com"], width: 80)
        let header = text.split(separator: "\n").first { $0.contains("TIME") } ?? ""
        for column in ["TIME", "TYPE", "EMAIL", "IP", "VERD", "LATENCY"] {
            #expect(header.contains(column), "\(column) missing at 80 columns: \(header)")
        }
        #expect(text.split(separator: "\n").allSatisfy { DisplayWidth.of(String($0)) <= 80 })
    }
}
