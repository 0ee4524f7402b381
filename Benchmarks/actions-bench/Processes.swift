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

/// utime + stime of a process, all threads, in seconds, from /proc/PID/stat (0 if unreadable).
func cpuSeconds(of pid: Int32) -> Double {
    // Fields 14 and 15 count clock ticks; the name in field 2 may hold spaces, so count from its ")".
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
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
