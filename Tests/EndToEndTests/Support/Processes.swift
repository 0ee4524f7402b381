import ActionsStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A child process that announces readiness with a "listening on ...:PORT" line on stdout.
final class ServiceProcess: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    private let output = Pipe()
    private let errors = Pipe()

    /// Starts and waits (at most 60 s) for the listening line; its last number is the port.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = childEnvironment(environment)
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            // Whole lines only: a line read in two parts would give a port cut short.
            let lines = seen.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            if let line = lines.first(where: { $0.contains("listening on") }) {
                // "listening on http://127.0.0.1:PORT ..." or "listening on PORT"
                let address = line.components(separatedBy: "listening on ").last?.split(separator: " ").first ?? ""
                port = Int(address.split(separator: ":").last ?? "") ?? 0
                break
            }
        }
        guard port > 0 else {
            process.terminate()
            throw TestFailure("\(executable) did not start: \(seen)")
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// SIGTERM, then wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Everything the process wrote to stderr and stdout; call after it has exited.
    func outputAfterExit() -> String {
        String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            + String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill() }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A port nothing listens on (bound, then released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct HTTPAnswer {
    var status: Int
    var body: [UInt8]
    var seconds: Double
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A plain HTTP request over loopback.
/// `session`: a client caps its connections per host, so requests that are meant to wait (on a
/// locked database, say) get a session of their own and do not queue the ones being timed.
func http(_ method: String, _ url: String, body: [UInt8]? = nil, headers: [String: String] = [:],
          session: URLSession = .shared) async throws -> HTTPAnswer {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.timeoutInterval = 30
    if let body { request.httpBody = Data(body) }
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let start = Date()
    let (data, response) = try await session.data(for: request)
    return HTTPAnswer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: Array(data),
                      seconds: Date().timeIntervalSince(start))
}

func post(_ url: String, _ json: String, headers: [String: String] = [:], session: URLSession = .shared) async throws -> HTTPAnswer {
    try await http("POST", url, body: Array(json.utf8), headers: headers, session: session)
}

/// Polls until `condition` holds or `timeout` passes; returns how long it took, or nil.
func eventually(timeout: Double = 5, interval: Double = 0.05, _ condition: () async throws -> Bool) async rethrows -> Double? {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        if try await condition() { return Date().timeIntervalSince(start) }
        try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
    return nil
}

/// The same for a condition that blocks its thread (a store read): each check runs on
/// `BlockingWork`, as the product's store calls do, never on the cooperative pool. A check that
/// throws counts as not yet.
func eventually(timeout: Double = 5, interval: Double = 0.05, _ condition: @escaping @Sendable () throws -> Bool) async -> Double? {
    await eventually(timeout: timeout, interval: interval) { (try? await BlockingWork.run(condition)) ?? false }
}
