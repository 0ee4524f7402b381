import Foundation
import Synchronization

/// Steady HTTP/1.1 keep-alive load at a fixed rate over a few connections, one thread each.
/// Bare sockets, because the tests run debug builds: a Swift HTTP client built for debugging
/// could not itself keep up with 2,000 requests a second beside the server on two cores.
final class LoadGenerator: Sendable {
    let answered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)

    /// Sends registrations (a mix of allowed and deny-listed domains) to `port` until `seconds` pass.
    func run(port: Int, rate: Int, seconds: Double, connections: Int = 8) {
        let group = DispatchGroup()
        let perConnection = Double(rate) / Double(connections)
        for c in 0..<connections {
            group.enter()
            Thread.detachNewThread { [self] in
                defer { group.leave() }
                guard let connection = try? RawConnection(port: port) else {
                    failed.add(1, ordering: .relaxed)
                    return
                }
                let start = Date()
                var n = 0
                while Date().timeIntervalSince(start) < seconds {
                    let domain = n % 10 == 0 ? "mailinator.com" : "example.com"
                    let body = #"{"user_data":{"email":"load\#(c)x\#(n)@\#(domain)"},"ip_address":"198.51.100.\#(n % 250)"}"#
                    let request = "POST /v1/actions/user_registration HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    guard connection.send(request), let status = connection.readResponseStatus(timeout: 10) else {
                        failed.add(1, ordering: .relaxed)
                        return
                    }
                    if status == 200 { answered.add(1, ordering: .relaxed) } else { failed.add(1, ordering: .relaxed) }
                    n += 1
                    // Pace to the rate: sleep until this connection's next slot.
                    let due = start.addingTimeInterval(Double(n) / perConnection)
                    let wait = due.timeIntervalSinceNow
                    if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
                }
            }
        }
        group.wait()
    }
}

extension RawConnection {
    /// Reads one HTTP response (head, then a Content-Length body) and returns its status.
    func readResponseStatus(timeout: Double) -> Int? {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let separator: [UInt8] = [13, 10, 13, 10]
        while Date() < deadline {
            if let end = received.indices.dropLast(3).first(where: { Array(received[$0..<$0 + 4]) == separator }) {
                let head = String(decoding: received[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count >= end + 4 + length {
                    return Int(head.split(separator: " ").dropFirst().first ?? "")
                }
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 1000) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            received += buffer[0..<count]
        }
        return nil
    }
}
