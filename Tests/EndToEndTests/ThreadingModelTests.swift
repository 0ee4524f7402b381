import Testing
import Foundation

/// The threading model (README, "Threads"): async code never blocks, and a blocking store call
/// from async code does not compile. These check both halves of that promise: every blocking
/// entry point carries the attribute, and the attribute makes such a call an error.
@Suite struct ThreadingModelTests {
    /// SwiftPM's name for this package, which `package` access is checked against: the root's
    /// directory name, lowercased, other characters than letters and digits made underscores.
    static let packageName = String(Paths.root.lastPathComponent.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })

    /// Members of `Store` that are async themselves or never wait: what may go without `noasync`.
    static let nonBlocking: Set<String> = [
        "open", "listenForChanges", // async: they go through BlockingWork themselves
        "defaultPath", "checking", // pure
        "close", "interrupt", // hand a cancellation to the pool and return
        "isPostgres", "databaseServer", "currentThread", // read a field
    ]

    /// Every synchronous member of `Store`, and every requirement of the protocols store code and
    /// replay read the database through, is marked unavailable from async code.
    @Test func everyBlockingEntryPointIsRefusedInAsyncCode() throws {
        var unmarked: [String] = []
        var checked = 0
        let store = Paths.root.appendingPathComponent("Sources/ActionsStore")
        let files = try FileManager.default.subpathsOfDirectory(atPath: store.path).filter { $0.hasSuffix(".swift") }
            .map { store.appendingPathComponent($0) }
            + [Paths.root.appendingPathComponent("Sources/ActionsDomain/DecisionLog.swift")]
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // Which declarations' bodies we are in: Store's own, or a protocol whose requirements block.
            var inside = false, isProtocol = false
            for (n, line) in lines.enumerated() {
                if line.hasPrefix("extension Store ") || line.hasPrefix("extension Store{") || line.hasPrefix("package final class Store:") {
                    (inside, isProtocol) = (true, false)
                } else if line.hasPrefix("package protocol SQLSession") || line.hasPrefix("package protocol DecisionLog") {
                    (inside, isProtocol) = (true, true)
                } else if line.hasPrefix("}") {
                    inside = false
                }
                guard inside else { continue }
                let declaration = line.trimmingCharacters(in: .whitespaces)
                let prefixes = isProtocol ? ["func "] : ["package func ", "package init", "package static func ", "package var "]
                guard line.hasPrefix("    "), !line.hasPrefix("     "), let prefix = prefixes.first(where: declaration.hasPrefix) else { continue }
                let name = String(declaration.dropFirst(prefix.count).prefix { $0.isLetter || $0.isNumber })
                let signature = declaration.prefix { $0 != "{" }
                if signature.contains(" async") || Self.nonBlocking.contains(prefix == "package init" ? "init" : name) { continue }
                checked += 1
                // The attribute sits among the lines of attributes and comments just above.
                let above = lines[..<n].reversed().prefix { $0.trimmingCharacters(in: .whitespaces).hasPrefix("@") || $0.trimmingCharacters(in: .whitespaces).hasPrefix("///") }
                if !above.contains(where: { $0.contains("noasync") }) {
                    unmarked.append("\(file.lastPathComponent):\(n + 1): \(signature)")
                }
            }
        }
        #expect(checked > 50, "the scan found only \(checked) declarations: has the layout changed?")
        #expect(unmarked.isEmpty, "blocking, yet callable from async code:\n\(unmarked.joined(separator: "\n"))")
    }

    /// The attribute is an error, not a warning, in this toolchain and language mode: a blocking
    /// call written in async code does not build, and the same call inside BlockingWork.run does.
    @Test func theCompilerRefusesABlockingCallFromAsyncCode() throws {
        let directory = Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let probe = directory.appendingPathComponent("probe.swift")
        try """
            import ActionsStore
            import ActionsEngine
            func counted(_ store: Store) async throws -> Int { try store.eventCount() }
            func engine(_ store: Store) async -> DecisionEngine { DecisionEngine(store: store, config: EngineConfig()) }
            func opened() async throws -> Store { try Store(path: "/nonexistent/actions.db") }
            func offThePool(_ store: Store) async throws -> Int { try await BlockingWork.run { try store.eventCount() } }
            func fromAThread(_ store: Store) throws -> Int { try store.eventCount() }
            """.write(to: probe, atomically: true, encoding: .utf8)
        let build = Paths.binaries
        // The modules as `swift build` left them: Swift interfaces, and the C modules' maps.
        let checkouts = Paths.root.appendingPathComponent(".build/checkouts")
        var maps = (try? FileManager.default.contentsOfDirectory(atPath: build.path))?.filter { $0.hasSuffix(".build") }
            .map { build.appendingPathComponent($0 + "/module.modulemap").path }
            .filter { FileManager.default.fileExists(atPath: $0) } ?? []
        let enumerator = FileManager.default.enumerator(atPath: checkouts.path)
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix("include/module.modulemap") { maps.append(checkouts.appendingPathComponent(path).path) }
        }
        let includes = ["Sources/CIDN2", "Sources/CSQLiteConfig", "Sources/CNcurses"].map { Paths.root.appendingPathComponent($0).path }
            + [checkouts.appendingPathComponent("GRDB.swift/Sources/GRDBSQLite").path]
        let arguments = ["-typecheck", "-swift-version", "6", "-package-name", Self.packageName,
                         "-I", build.appendingPathComponent("Modules").path]
            + includes.flatMap { ["-I", $0] } + maps.flatMap { ["-Xcc", "-fmodule-map-file=" + $0] } + [probe.path]
        let result = try run("swiftc", arguments)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix(probe.path) && $0.contains("error:") }
        let refusedLines = Set(errors.compactMap { $0.dropFirst(probe.path.count + 1).split(separator: ":").first.flatMap { Int($0) } })
        #expect(result.status != 0)
        #expect(errors.allSatisfy { $0.contains("unavailable from asynchronous contexts") }, "\(result.stderr)")
        // Lines 3–5 are the wrong calls; 6 and 7 are the two right ways.
        #expect(refusedLines == [3, 4, 5], "\(result.stderr)")
    }
}
