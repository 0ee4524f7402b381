import ArgumentParser
import ActionsDemo
import ActionsDomain
import ActionsStore
import ActionsTop
import Foundation
import Logging

@main
struct ActionsTopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions-top",
        abstract: "Live terminal dashboard for actions-server: verdicts, latency, failures, error modes, deny lists.",
        discussion: """
            Press ? inside for every key (KEYS below). Themes: $XDG_CONFIG_HOME/actions-top/themes/, then the installed \
            PREFIX/share/actions-top/themes/ (FILES below). \
            Key bindings: $XDG_CONFIG_HOME/actions-top/keys, lines of `bind KEY COMMAND` or `unbind KEY`; commands: \
            \(Command.allCases.map(\.rawValue).joined(separator: ", ")).
            """)

    @Option(help: "SQLite file, or postgres://user@host:port[,host2:port]/database[?target_session_attrs=prefer-standby] (default: $ACTIONS_DB, else ./actions.db).") var db: String?
    @Option(help: "Theme name or theme file.") var theme = "default"
    @Flag(help: "Never change anything; mutating keys are hidden.") var readOnly = false
    @Option(help: "Refresh interval in milliseconds.") var refresh = 1000
    @Flag(help: "Mouse: a click selects a row or sorts by a header, the wheel scrolls (also ACTIONS_TOP_MOUSE=1). Off by default: the terminal's own text selection keeps working.")
    var mouse = false
    @Flag(help: "Run the engine, a flaky example endpoint and synthetic traffic in-process on a temporary database.") var demo = false
    @Option(help: "Demo traffic, requests per second.") var demoRate = 25.0
    @Flag(help: .hidden) var manualSections = false

    func validate() throws {
        guard (50...60_000).contains(refresh) else { throw ValidationError("--refresh must be between 50 and 60000 ms") }
        guard demoRate > 0 && demoRate <= 5000 else { throw ValidationError("--demo-rate must be between 0 and 5000") }
    }

    func run() async throws {
        // The man page's ENVIRONMENT, FILES and KEYS (scripts/install appends them).
        if manualSections {
            print(TopManual.sections, terminator: "")
            return
        }
        // Fail on a bad theme or key file before the screen is taken over.
        _ = try await BlockingWork.run { try loadTheme() }
        do {
            _ = try await BlockingWork.run { try KeyFile.load(environment: ProcessInfo.processInfo.environment) }
        } catch {
            throw ValidationError("key file: \(error)")
        }
        let mouseSetting = ProcessInfo.processInfo.environment["ACTIONS_TOP_MOUSE"].map { ["1", "on", "true", "yes"].contains($0.lowercased()) }
        let options = TopApp.Options(refreshMs: refresh, themeName: theme, readOnly: readOnly, mouse: mouse || (mouseSetting ?? false))
        if demo {
            try await DemoMode.run(options: options, rate: demoRate)
            return
        }
        let path = db ?? Store.defaultPath()
        let store: Store, queryStore: Store?
        do {
            store = try await Store.open(path: path, create: false, readOnly: readOnly, busyTimeout: 0.5)
            // SQLite serializes a connection's work: long queries get a connection of their own,
            // so that they never hold up the tail. PostgreSQL's pool already gives each its own.
            queryStore = store.isPostgres ? nil : try await Store.open(path: path, create: false, readOnly: readOnly, busyTimeout: 0.5)
        } catch {
            throw ValidationError("\(error)")
        }
        try await TopApp.runOnUIThread(store: store, queryStore: queryStore, options: options)
    }

    func loadTheme() throws -> Theme {
        do {
            return try ThemeCatalog.standard().load(theme)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
