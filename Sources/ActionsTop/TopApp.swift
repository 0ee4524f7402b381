import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// The dashboard's loop: draw, wait for a key or the refresh tick, reduce, repeat.
package enum TopApp {
    package struct Options: Sendable {
        package var refreshMs = 1000
        package var themeName = "default"
        package var readOnly = false
        /// Clicks select rows and sort by a header, the wheel scrolls (`--mouse`; off by default, so
        /// that the terminal's own text selection keeps working).
        package var mouse = false

        package init(refreshMs: Int = 1000, themeName: String = "default", readOnly: Bool = false, mouse: Bool = false) {
            self.mouse = mouse
            self.refreshMs = refreshMs
            self.themeName = themeName
            self.readOnly = readOnly
        }
    }

    /// `run` on a thread of its own: the loop blocks in getch, and must not hold one of the few
    /// cooperative threads that in-process servers (the demo) need.
    package static func runOnUIThread(store: Store, queryStore: Store? = nil, options: Options) async throws {
        try await BlockingWork.runOnThread(named: "top-ui", stackSize: 8 << 20) {
            try run(store: store, queryStore: queryStore, options: options)
        }
    }

    /// Asks a running dashboard to quit as if `q` had been pressed (seen within one key timeout).
    package static func requestStop() {
        StopRequest.signal.store(SIGTERM, ordering: .relaxed)
    }

    /// Runs until `q`, SIGINT, SIGTERM or a hang-up. Blocks the calling thread; the terminal is restored on return.
    /// - Parameter queryStore: a second connection for long queries (see `DashboardController`).
    @available(*, noasync, message: "blocks its thread until the dashboard quits: from async code, use `runOnUIThread`")
    package static func run(store: Store, queryStore: Store? = nil, options: Options,
                           environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let catalog = ThemeCatalog.standard(environment: environment)
        let theme = try catalog.load(options.themeName)
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let bindings = try KeyFile.load(environment: environment)
        let controller = DashboardController(store: store, queryStore: queryStore, theme: theme, catalog: catalog, noColor: noColor,
                                             readOnly: options.readOnly)
        controller.setBindings(bindings)
        // Before ncurses starts, so that it leaves these signals to us.
        StopRequest.install()
        // Keys are read with a short timeout, so a stop request is seen quickly even with a long
        // refresh interval; the screen is drawn only when something changed.
        let terminal = NcursesTerminal(refreshMs: min(options.refreshMs, 250), monochrome: noColor, mouse: options.mouse)
        defer { terminal.stop() }
        controller.setASCII(terminal.asciiOnly)
        // Inside tmux, OSC 52 reaches the clipboard only with `set-clipboard` on: tmux is asked once
        // (a copy claimed while tmux dropped it was the alternative), off this thread; until it
        // answers, a copy goes to a file as in a terminal without a clipboard.
        let takesClipboard = NcursesTerminal.takesClipboard(term: environment["TERM"] ?? "") && environment["ACTIONS_TOP_CLIPBOARD"] != "file"
        var tmuxQuestion = (environment["TMUX"] ?? "").isEmpty ? nil : TmuxClipboard.Question()
        func applyClipboardAnswer(_ tmuxDrops: Bool) {
            if tmuxDrops {
                controller.clipboardMissing = "tmux drops clipboard writes: set -g set-clipboard on"
            } else if takesClipboard {
                controller.clipboard = { [terminal] text in terminal.copyToClipboard(text) }
            }
        }
        if tmuxQuestion == nil { applyClipboardAnswer(false) }
        let renderer = Renderer(asciiOnly: terminal.asciiOnly)
        controller.load()
        // Writes already asked for are finished before the program exits.
        defer { controller.finish() }
        var lastCheckpoint = MonotonicClock.nowNs()
        var lastClockSecond = WallClock.nowMs() / 1000
        var needsDraw = true
        var drawnTheme = controller.theme
        var schedule = RefreshSchedule(refreshMs: options.refreshMs, nowNs: MonotonicClock.nowNs())
        while !controller.shouldQuit && !StopRequest.requested {
            // Results of store work (it all runs off this thread) are applied here.
            if controller.drain() { needsDraw = true }
            if let question = tmuxQuestion, let drops = question.answer {
                tmuxQuestion = nil
                applyClipboardAnswer(drops)
            }
            // The clock ticks on the screen even while a query runs.
            let second = WallClock.nowMs() / 1000
            let clockMoved = second != lastClockSecond
            if clockMoved {
                lastClockSecond = second
                controller.showTime()
                needsDraw = true
            }
            if schedule.tickDue(nowNs: MonotonicClock.nowNs(), clockMoved: clockMoved) { controller.tick() }
            // A new theme repaints every cell: ncurses redraws only what it thinks changed, and a
            // colour change alone left cells in the old theme's colours.
            if controller.theme != drawnTheme {
                drawnTheme = controller.theme
                terminal.invalidate()
                needsDraw = true
            }
            if needsDraw && schedule.mayDraw(nowNs: MonotonicClock.nowNs(), working: controller.isWorking) {
                let (width, height) = terminal.size
                controller.setSize(width: width, height: height)
                terminal.draw(renderer.render(controller.state, width: width, height: height), theme: controller.theme)
                needsDraw = false
            }
            // While work is out, wake often enough to show its result at once.
            terminal.setKeyTimeout(controller.isWorking ? 20 : min(options.refreshMs, 250))
            if let key = terminal.readKey() {
                // A key before tmux answered (the first milliseconds) waits for the answer: it may be `y`.
                if let question = tmuxQuestion {
                    tmuxQuestion = nil
                    applyClipboardAnswer(question.waitForAnswer())
                }
                // Ctrl-L repaints the whole screen, as in every curses program.
                if key == .resize || key == .char("\u{0C}") { terminal.invalidate() }
                controller.press(key)
                needsDraw = true
                schedule.keyPressed()
            } else if StopRequest.terminalHungUp() {
                break
            }
            let now = MonotonicClock.nowNs()
            // A long-lived reader must not keep the WAL growing: truncate it now and then.
            if !controller.state.readOnly && now - lastCheckpoint >= 60_000_000_000 {
                lastCheckpoint = now
                controller.checkpoint()
            }
        }
    }
}
