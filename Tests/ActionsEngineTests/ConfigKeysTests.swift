import Testing
import Foundation
@testable import ActionsEngine

/// The config keys have one definition (`ConfigKey.all`): the example file, validation and
/// reload all follow it.
@Suite struct ConfigKeysTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// actions.example.toml is what the table prints: a key added to the table and not to the
    /// file fails here (regenerate with `actions-server --print-example-config > actions.example.toml`).
    @Test func theExampleFileIsCurrent() throws {
        let file = try String(contentsOf: Self.repository.appendingPathComponent("actions.example.toml"), encoding: .utf8)
        #expect(file == ConfigKey.exampleFile())
    }

    @Test func everyKeyIsNamedOnceInTwoParts() {
        #expect(Set(ConfigKey.all.map(\.name)).count == ConfigKey.all.count)
        #expect(ConfigKey.all.allSatisfy { $0.name.split(separator: ".").count == 2 })
    }

    /// The example, read back, is the defaults; its commented-out examples, uncommented, are valid.
    @Test func theExampleReadsBackAsTheDefaults() throws {
        let example = ConfigKey.exampleFile()
        let parsed = try EngineConfig.parse(example, file: "actions.example.toml")
        let defaults = EngineConfig()
        for key in ConfigKey.all {
            #expect(key.render(parsed) == key.render(defaults), "\(key.name)")
        }
        let uncommented = example.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("# ") && line.contains(" = ") && !line.contains("secret") ? String(line.dropFirst(2)) : String(line)
        }.joined(separator: "\n")
        let withExamples = try EngineConfig.parse(uncommented, file: "t.toml")
        for key in ConfigKey.all where key.example != nil {
            #expect(key.render(withExamples) != nil, "\(key.name)'s example did not read back")
        }
    }

    /// Every key refuses a value of the wrong type, and every ranged key one past each end, by name.
    @Test func everyKeyRefusesWhatItDoesNotTake() throws {
        for key in ConfigKey.all {
            var config = EngineConfig()
            let wrong: TOMLSubset.Value = key.expected == "a string" ? .integer(1) : .string("1")
            #expect(throws: EngineConfig.Problem.self, "\(key.name)") { try config.apply([key.name: wrong], file: "t.toml") }
            do {
                try config.apply([key.name: wrong], file: "t.toml")
            } catch {
                #expect("\(error)" == "t.toml: \(key.name) must be \(key.expected)")
            }
            guard key.expected.hasPrefix("an integer") else { continue }
            let bounds = key.expected.hasPrefix("an integer of at least ")
                ? [Int(key.expected.dropFirst("an integer of at least ".count))!, Int.max]
                : key.expected.dropFirst("an integer in ".count).components(separatedBy: "...").compactMap { Int($0) }
            try #require(bounds.count == 2)
            if bounds[0] > Int.min {
                #expect(throws: EngineConfig.Problem.self) { try config.apply([key.name: .integer(bounds[0] - 1)], file: "t.toml") }
            }
            if bounds[1] < Int.max {
                #expect(throws: EngineConfig.Problem.self) { try config.apply([key.name: .integer(bounds[1] + 1)], file: "t.toml") }
            }
            try config.apply([key.name: .integer(bounds[1])], file: "t.toml")
        }
    }

    /// SIGHUP applies every reloadable key, and names every other one as needing a restart.
    @Test func reloadFollowsTheTable() throws {
        for key in ConfigKey.all {
            let config = ReloadableConfig(EngineConfig())
            var changed = EngineConfig()
            let value: TOMLSubset.Value
            switch key.expected {
            case "a string": value = .string("other")
            case "true or false": value = .boolean(true)
            default:
                // The lowest value taken, or the next when that is the default.
                let lower = Int(key.expected.split(separator: " ").last!.split(separator: ".").first!)!
                value = .integer(key.render(EngineConfig()) == String(lower) ? lower + 1 : lower)
            }
            try changed.apply([key.name: value], file: "t.toml")
            let (applied, needsRestart) = config.reload(changed)
            if key.reloadable {
                #expect(applied == [key.name] && needsRestart.isEmpty, "\(key.name)")
                #expect(key.render(config.current) == key.render(changed))
            } else {
                #expect(applied.isEmpty && needsRestart == [key.name], "\(key.name)")
                #expect(key.render(config.current) == key.render(EngineConfig()))
            }
        }
    }
}
