import Foundation
import ActionsProtocol
import ActionsStore

/// The dashboard's loop: draw, wait for a key or the refresh tick, reduce, repeat.
public enum TopApp {
    public struct Options: Sendable {
        public var refreshMs = 1000
        public var themeName = "default"
        public var readOnly = false

        public init(refreshMs: Int = 1000, themeName: String = "default", readOnly: Bool = false) {
            self.refreshMs = refreshMs
            self.themeName = themeName
            self.readOnly = readOnly
        }
    }

    /// Runs until `q`. Blocks the calling thread; the terminal is restored on return.
    public static func run(store: Store, options: Options, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let catalog = ThemeCatalog.standard(environment: environment)
        let theme = try catalog.load(options.themeName)
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let controller = DashboardController(store: store, theme: theme, catalog: catalog, noColor: noColor, readOnly: options.readOnly)
        let terminal = NcursesTerminal(refreshMs: options.refreshMs, monochrome: noColor)
        defer { terminal.stop() }
        controller.setASCII(terminal.asciiOnly)
        let renderer = Renderer(asciiOnly: terminal.asciiOnly)
        controller.load()
        var lastTick = MonotonicClock.nowNs()
        var lastCheckpoint = lastTick
        while !controller.shouldQuit {
            let (width, height) = terminal.size
            controller.setPageSize(Renderer.tableRows(height: height))
            terminal.draw(renderer.render(controller.state, width: width, height: height), theme: controller.theme)
            if let key = terminal.readKey() {
                if key == .resize { terminal.invalidate() }
                controller.press(key)
            }
            let now = MonotonicClock.nowNs()
            if now - lastTick >= UInt64(options.refreshMs) * 1_000_000 {
                lastTick = now
                controller.tick()
            }
            // A long-lived reader must not keep the WAL growing: truncate it now and then.
            if !controller.state.readOnly && now - lastCheckpoint >= 60_000_000_000 {
                lastCheckpoint = now
                store.checkpoint()
            }
        }
    }
}
