import Testing
import Foundation

/// The threading model (README, "Threads"): async code never blocks, and a blocking store call
/// from async code does not compile. These check both halves of that promise: every blocking
/// entry point carries the attribute, and the attribute makes such a call an error.
@Suite struct ThreadingModelTests {
    /// SwiftPM's name for this package, which `package` access is checked against: the root's
    /// directory name, lowercased, other characters than letters and digits made underscores.
    static let packageName = String(Paths.root.lastPathComponent.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })

    /// Members of the store's types that never wait: what may go without `noasync`. By name: a
    /// blocking overload of one of these would pass, so keep the list short.
    static let nonBlocking: Set<String> = [
        "open", "listenForChanges", // async: they go through BlockingWork themselves
        "defaultPath", "checking", "storeError", "message", // pure
        "close", "interrupt", // hand a cancellation to the pool and return
    ]

    /// Static helpers of the store's types that only compute (SQL text, formats, COPY encoding).
    static let pureStatics: Set<String> = ["whereSQL", "describe", "writeDecimal", "writeCopyText", "insertSQL", "path", "readOnlyURI"]

    /// Blocking entry points outside the store's own types, by file: each must carry the mark.
    static let blockingElsewhere: [String: [String]] = [
        "Sources/ActionsEngine/DecisionEngine.swift": ["package init(store: Store", "package func reloadPolicy("],
        "Sources/ActionsEngine/LivePolicy.swift": ["package init(store: Store", "package func reload("],
        "Sources/ActionsEngine/RateSync.swift": ["func sync("],
        "Sources/ActionsDemo/DemoSetup.swift": ["package static func seed("],
        "Sources/ActionsTop/TopApp.swift": ["package static func run(store:"],
        "Sources/ActionsTop/DashboardController.swift": ["package func settle("],
        "Sources/ActionsPolicy/Replay.swift": ["package func replay(", "package static func run<Log: DecisionLog>("],
        "Sources/ActionsPolicy/RateCounter+Log.swift": ["package func rebuild<Log: DecisionLog>("],
        "Sources/ActionsStore/EventExport.swift": ["package static func write(", "package static func writePrivateFile("],
    ]

    /// Whether the declaration at `index` has the attribute among the attribute lines just above
    /// it (a doc comment that mentions the word does not count).
    static func isMarked(_ lines: [String], _ index: Int) -> Bool {
        lines[..<index].reversed().prefix { $0.trimmingCharacters(in: .whitespaces).hasPrefix("@") }
            .contains { $0.contains("@available(") && $0.contains("noasync") }
    }

    /// A declaration's signature, up to its body or its end: it may span lines.
    static func signature(_ lines: [String], _ index: Int) -> String {
        var text = ""
        for line in lines[index...] {
            text += line.prefix { $0 != "{" } + " "
            if line.contains("{") || line.trimmingCharacters(in: .whitespaces).isEmpty { break }
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// Every synchronous member of `Store` (package or internal), every method of the two
    /// backends and every requirement of the protocols store code and replay read the database
    /// through is marked unavailable from async code; so are the blocking entry points above.
    @Test func everyBlockingEntryPointIsRefusedInAsyncCode() throws {
        var unmarked: [String] = []
        var checked = 0
        let store = Paths.root.appendingPathComponent("Sources/ActionsStore")
        let files = try FileManager.default.subpathsOfDirectory(atPath: store.path).filter { $0.hasSuffix(".swift") }
            .map { store.appendingPathComponent($0) }
            + [Paths.root.appendingPathComponent("Sources/ActionsDomain/DecisionLog.swift")]
        let scopes = ["extension Store ", "extension Store:", "extension Store{", "package final class Store:",
                      "struct SQLiteBackend", "extension PostgresDatabase {", "enum Backend:",
                      "package protocol SQLSession", "package protocol DecisionLog"]
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var inside = false
            for (n, line) in lines.enumerated() {
                if scopes.contains(where: line.hasPrefix) {
                    inside = true
                } else if line.hasPrefix("}") {
                    inside = false
                }
                // Members at the scope's first level of indentation: functions, initializers, variables.
                guard inside, line.hasPrefix("    "), !line.hasPrefix("     ") else { continue }
                var declaration = line.trimmingCharacters(in: .whitespaces)
                for modifier in ["package ", "private ", "fileprivate ", "static ", "@discardableResult "] where declaration.hasPrefix(modifier) {
                    declaration.removeFirst(modifier.count)
                }
                if declaration.hasPrefix("static ") { declaration.removeFirst("static ".count) }
                guard declaration.hasPrefix("func ") || declaration.hasPrefix("init(") || declaration.hasPrefix("init<") else { continue }
                let name = declaration.hasPrefix("init") ? "init" : String(declaration.dropFirst(5).prefix { $0.isLetter || $0.isNumber })
                let text = Self.signature(lines, n)
                if text.contains(" async") || Self.nonBlocking.contains(name) || line.contains("private ") { continue }
                // A static function that is handed a session (or a row, or plain values) runs
                // inside a transaction someone else opened, or touches no database at all: only a
                // synchronous caller can hold a session. The rest are checked.
                let isStatic = line.contains(" static func ")
                if isStatic && (Self.pureStatics.contains(name) || ["SQLSession", "SQLRow", "Database)", "PostgresSession"].contains(where: text.contains)) {
                    continue
                }
                checked += 1
                if !Self.isMarked(lines, n) { unmarked.append("\(file.lastPathComponent):\(n + 1): \(text)") }
            }
        }
        for (path, starts) in Self.blockingElsewhere {
            let lines = try String(contentsOf: Paths.root.appendingPathComponent(path), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for start in starts {
                guard let n = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(start) }) else {
                    unmarked.append("\(path): no declaration starts \(start)")
                    continue
                }
                checked += 1
                if !Self.isMarked(lines, n) { unmarked.append("\(path):\(n + 1): \(Self.signature(lines, n))") }
            }
        }
        #expect(checked > 80, "the scan found only \(checked) declarations: has the layout changed?")
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
