import Foundation
import Testing
import ActionsProtocol
import ActionsDomain
import ActionsStore
@testable import ActionsTop

/// What an operator needs on the screen is whole at 80x24 and at 132x43: typed text, every key's
/// help, the state of the view.
@Suite struct WholeAt80x24Tests {
    let renderer = Renderer(timeZone: TimeZone(identifier: "UTC")!)

    /// Every prompt keeps what is typed visible, however long its label or the text.
    @Test(arguments: [(80, 24), (132, 43), (40, 12)]) func typedTextIsAlwaysVisible(width: Int, height: Int) {
        var state = Fixtures.state()
        let typed = "mallory.attacker@very-long-domain.example"
        for prompt: AppState.Prompt in [.search(typed), .export("/var/tmp/" + typed + ".csv"),
                                        .testAction(answers: ["user_registration"], input: typed),
                                        .addDeny(.value, answers: ["email"], input: typed)] {
            state.prompt = prompt
            let text = renderer.render(state, width: width, height: height).text
            let tail = String(typed.suffix(min(typed.count, width / 3)))
            #expect(text.contains(tail), "\(prompt) at \(width)x\(height):\n\(text)")
            if width >= 80 { #expect(text.contains(typed), "the whole text at \(width): \(prompt)") }
        }
    }

    /// The help is a full screen from the key table, grouped by screen, every binding's keys and
    /// words whole (they wrap), scrolled with j/k and PgDn, closed only by Esc, ? or F1.
    @Test(arguments: [(80, 24), (132, 43)]) func helpShowsEveryBindingWhole(width: Int, height: Int) {
        var state = Fixtures.state()
        state.width = width
        state.height = height
        _ = state.handle(.char("?"))
        var seen = ""
        var previousScroll = -1
        while state.helpScroll != previousScroll {
            seen += renderer.render(state, width: width, height: height).text + "\n"
            previousScroll = state.helpScroll
            _ = state.handle(.pageDown)
        }
        #expect(state.showHelp, "PgDn scrolls; it does not close the help")
        let words = Set(seen.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        for binding in state.bindings.table where !binding.keys.isEmpty {
            for word in binding.help.split(separator: " ") {
                #expect(words.contains(String(word)) || seen.contains(word), "\(binding.command): \(word) is missing at \(width)x\(height)")
            }
            for key in binding.keys { #expect(seen.contains(key.label), "\(key.label) is missing") }
        }
        for heading in ["Anywhere", "On the rules screen", "On the who is attacking screen", "On the event list screen"] { #expect(seen.contains(heading)) }
        _ = state.handle(.char("x"))
        #expect(state.showHelp, "an unbound key does not close the help")
        _ = state.handle(.escape)
        #expect(!state.showHelp)
        _ = state.handle(.function(1))
        #expect(state.showHelp, "F1 opens the help, as in htop")
    }

    @Test func functionKeysAreBindableAndHaveHtopsDefaults() throws {
        let bindings = try KeyFile.parse("bind F5 pause\nunbind F10\n")
        #expect(bindings.command(for: .function(5), on: .events)?.command == .pause)
        #expect(bindings.command(for: .function(10), on: .events) == nil)
        #expect(KeyBindings.standard.command(for: .function(3), on: .events)?.command == .search)
        #expect(KeyBindings.standard.command(for: .function(10), on: .rules)?.command == .quit)
    }

    @Test func anEmptyWindowShowsADashNotZeroLatency() {
        var state = AppState()
        state.nowMs = Fixtures.now
        let text = renderer.render(state, width: 132, height: 43).text
        #expect(text.contains("p50 – p95 – p99 –"), "\(text.prefix(600))")
        #expect(!text.contains("0.00ms"))
    }

    /// As lnav does: away from the tail, the view says it is not following and how much arrived.
    @Test func scrolledAwayTheViewSaysWhatArrived() {
        var state = Fixtures.state()
        _ = state.handle(.char("j"))
        state.receive((1...3).map { Fixtures.event(100 + $0, email: "n\($0)@example.com", secondsAgo: -$0) })
        #expect(renderer.render(state, width: 132, height: 43).text.contains("not following: 3 new · g follows"))
        _ = state.handle(.char("g"))
        #expect(!renderer.render(state, width: 132, height: 43).text.contains("not following"))
        _ = state.handle(.char("j"))
        #expect(!renderer.render(state, width: 132, height: 43).text.contains("not following"), "nothing new yet: nothing to say")
    }

    /// An index far behind shows in the footer (searches then scan), and nothing when it keeps up.
    @Test func anIndexFarBehindShowsInTheFooter() {
        var state = Fixtures.state()
        #expect(!renderer.render(state, width: 80, height: 24).text.contains("behind"))
        state.searchBacklog = 3_400_000
        #expect(renderer.render(state, width: 80, height: 24).text.contains("index 3.4M behind"))
    }
}
