import Foundation

/// Finds themes: the user's own in `$XDG_CONFIG_HOME/actions-top/themes/` (default ~/.config),
/// then the project's `themes/` folder (found beside the executable, or `$ACTIONS_TOP_THEMES`).
/// The built-in default is always there, so a missing folder never leaves the dashboard bare.
package struct ThemeCatalog: Sendable {
    package var directories: [String]

    package init(directories: [String]) { self.directories = directories }

    package static func standard(environment: [String: String] = ProcessInfo.processInfo.environment,
                                executable: String = CommandLine.arguments.first ?? "") -> ThemeCatalog {
        var directories: [String] = []
        if let config = configDirectory(environment: environment) { directories.append(config + "/themes") }
        if let explicit = environment["ACTIONS_TOP_THEMES"] { directories.append(explicit) }
        let binary = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        // Installed by scripts/install: PREFIX/bin/actions-top beside PREFIX/share/actions-top/themes.
        let installed = binary.deletingLastPathComponent().appendingPathComponent("share/actions-top/themes").path
        if FileManager.default.fileExists(atPath: installed + "/default.theme") { directories.append(installed) }
        // Walk up from the executable (…/.build/debug/actions-top) to the repository's themes/.
        var url = binary
        for _ in 0..<6 {
            let candidate = url.appendingPathComponent("themes").path
            if FileManager.default.fileExists(atPath: candidate + "/default.theme") {
                directories.append(candidate)
                break
            }
            url.deleteLastPathComponent()
        }
        directories.append("/usr/share/actions-top/themes")
        return ThemeCatalog(directories: directories)
    }

    /// Every theme name available, default first.
    package var names: [String] {
        var names = ["default"]
        for directory in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files.sorted() where file.hasSuffix(".theme") {
                let name = String(file.dropLast(6))
                if !names.contains(name) { names.append(name) }
            }
        }
        return names
    }

    package struct LoadError: Error, CustomStringConvertible {
        package var description: String
    }

    /// Loads a theme by name, or from a file path.
    package func load(_ nameOrPath: String) throws -> Theme {
        if nameOrPath.contains("/") {
            guard let data = FileManager.default.contents(atPath: nameOrPath) else {
                throw LoadError(description: "cannot read theme file \(nameOrPath)")
            }
            let name = URL(fileURLWithPath: nameOrPath).deletingPathExtension().lastPathComponent
            return Theme.parse(String(decoding: data, as: UTF8.self), name: name)
        }
        for directory in directories {
            if let data = FileManager.default.contents(atPath: "\(directory)/\(nameOrPath).theme") {
                return Theme.parse(String(decoding: data, as: UTF8.self), name: nameOrPath)
            }
        }
        if nameOrPath == "default" { return .builtinDefault }
        throw LoadError(description: "no theme named \(nameOrPath) (have: \(names.joined(separator: ", ")))")
    }

    /// The theme after `current` in `names`, wrapping around.
    package func next(after current: String) -> String {
        let all = names
        guard let index = all.firstIndex(of: current) else { return all.first ?? "default" }
        return all[(index + 1) % all.count]
    }
}

/// actions-top's own settings folder, `$XDG_CONFIG_HOME/actions-top` (default ~/.config): the
/// user's themes and key file live there.
func configDirectory(environment: [String: String]) -> String? {
    let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["HOME"].map { $0 + "/.config" }
    return config.map { $0 + "/actions-top" }
}
