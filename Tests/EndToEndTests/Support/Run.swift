import Foundation
import ActionsTestSupport

/// Runs a command to completion, feeding stdin, and returns its exit status and output.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Paths {
    /// The package root, found from this file's location.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let interopScript = root.appendingPathComponent("scripts/workos_interop.py").path

    /// The directory holding the built executables (the tests' own bundle sits beside them).
    static let binaries: URL = {
        var url = Bundle.main.bundleURL
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: url.appendingPathComponent("actions-server").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()

    static func binary(_ name: String) -> String { binaries.appendingPathComponent(name).path }

    static func temporaryDirectory() -> URL { Scratch.directory("e2e") }
}

@discardableResult
func run(_ executable: String, _ arguments: [String], stdin: [UInt8] = [], environment: [String: String] = [:]) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    process.environment = childEnvironment(environment)
    let input = Pipe(), output = Pipe(), error = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = error
    try process.run()
    input.fileHandleForWriting.write(Data(stdin))
    try input.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                     stderr: String(decoding: err, as: UTF8.self))
}

func python(_ arguments: [String], stdin: [UInt8] = []) throws -> RunResult {
    try run("python3", [Paths.interopScript] + arguments, stdin: stdin)
}

/// The environment a child under test gets: this process's, without the `OTEL_*` variables a
/// developer's shell or a CI machine may set (they would turn span export on in every server
/// and change what the tests see), with `extra` over it.
func childEnvironment(_ extra: [String: String]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OTEL_") }
    environment.merge(extra) { $1 }
    return environment
}
