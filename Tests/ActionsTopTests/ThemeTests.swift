import Testing
import Foundation
import ActionsTestSupport
@testable import ActionsTop

@Suite struct ThemeTests {
    static let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("themes").path
    let catalog = ThemeCatalog(directories: [ThemeTests.themes])

    @Test func theShippedThemesAllLoadCleanly() throws {
        #expect(Set(catalog.names).isSuperset(of: ["default", "light", "high-contrast", "mono"]))
        for name in catalog.names {
            let theme = try catalog.load(name)
            #expect(theme.warnings.isEmpty, "\(name): \(theme.warnings)")
            for role in Role.allCases { _ = theme.style(role) }
        }
    }

    @Test func theDefaultFileIsTheBuiltInDefault() throws {
        #expect(try catalog.load("default").styles == Theme.builtinDefault.styles)
    }

    @Test func monoHasNoColours() throws {
        let mono = try catalog.load("mono")
        for role in Role.allCases {
            #expect(mono.style(role).foreground == .terminalDefault && mono.style(role).background == .terminalDefault, "\(role)")
        }
        #expect(mono.style(.selected).reverse)
    }

    @Test func unknownKeysAreIgnoredAndMissingOnesFallBack() {
        let theme = Theme.parse("""
            # partial theme
            deny = #ff0000 default bold
            sparkle = red
            allow = chartreuse
            """, name: "partial")
        #expect(theme.style(.deny) == ThemeStyle(foreground: .index(196), bold: true))
        #expect(theme.style(.title) == Theme.builtinDefault.style(.title))
        #expect(theme.warnings.count == 2)
    }

    @Test func coloursReduceTo16And8() {
        #expect(ThemeColor.index(196).reduced(to: 256) == .index(196))
        #expect(ThemeColor.index(196).reduced(to: 16) == .index(9))
        #expect(ThemeColor.index(196).reduced(to: 8) == .index(1))
        #expect(ThemeColor.index(12).reduced(to: 8) == .index(4))
        #expect(ThemeColor.index(250).reduced(to: 8) == .index(7))
        #expect(ThemeColor.terminalDefault.reduced(to: 8) == .terminalDefault)
    }

    @Test func noColorKeepsOnlyAttributes() throws {
        let plain = try catalog.load("high-contrast").withoutColor
        #expect(plain.style(.deny) == ThemeStyle(bold: true, underline: true))
    }

    @Test func userThemesComeFromXDGConfigHome() throws {
        let home = Scratch.directory("xdg")
        try FileManager.default.createDirectory(at: home.appendingPathComponent("actions-top/themes"), withIntermediateDirectories: true)
        try "deny = magenta\n".write(to: home.appendingPathComponent("actions-top/themes/mine.theme"), atomically: true, encoding: .utf8)
        let standard = ThemeCatalog.standard(environment: ["XDG_CONFIG_HOME": home.path, "ACTIONS_TOP_THEMES": Self.themes])
        #expect(standard.names.contains("mine"))
        #expect(try standard.load("mine").style(.deny).foreground == .index(5))
        #expect(standard.next(after: "default") != "default")
        #expect(throws: ThemeCatalog.LoadError.self) { try standard.load("no-such-theme") }
    }
}
