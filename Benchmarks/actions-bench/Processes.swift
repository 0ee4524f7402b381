import Foundation

/// A child process that prints "listening on http://host:PORT" when ready (actions-server and friends).
final class Child: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        while port == 0 {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw BenchError("\(executable) exited before listening: \(seen)") }
            seen += String(decoding: data, as: UTF8.self)
            if let line = seen.split(separator: "\n").first(where: { $0.contains("listening on") }),
               let address = line.components(separatedBy: "listening on ").last?.split(separator: " ").first {
                port = Int(address.split(separator: ":").last ?? "") ?? 0
            }
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The directory of this executable: the release build puts actions-server beside it.
let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()

func binary(_ name: String) -> String { binaries.appendingPathComponent(name).path }

/// Runs a command and returns its stdout.
func capture(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
