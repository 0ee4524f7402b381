import ArgumentParser
import AsyncHTTPClient
import ActionsProtocol
import ActionsDomain
import ActionsStore
import Foundation
import NIOCore

/// Like the WorkOS dashboard's "send test action": a synthetic context through the running
/// server, answered with the decision trace. The server logs it as a test, and rate rules do not
/// count it.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Send a test action through the running server and print its decision trace.")
    @Argument(help: "user_registration or authentication") var action: String
    @Option(help: "The user's email.") var email: String
    @Option(help: "The client's IP address.") var ip: String?
    @Option(help: "The client's user agent.") var userAgent: String?
    @Option(help: "The server (default: $ACTIONS_SERVER, else a live node from the database's heartbeats, else http://127.0.0.1:8787).")
    var server: String?
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() throws {
        let type = try parseAction(action)
        let environment = ProcessInfo.processInfo.environment
        let context: ActionContext
        switch type {
        case .userRegistration:
            context = .userRegistration(UserRegistrationContext(userData: .init(email: email), ipAddress: ip, userAgent: userAgent))
        case .authentication:
            context = .authentication(AuthenticationContext(user: .init(email: email), ipAddress: ip, userAgent: userAgent))
        }
        // Where to send it, each with why; the first that answers takes it.
        let candidates: [(url: String, why: String)]
        if let explicit = server ?? environment["ACTIONS_SERVER"] {
            candidates = [(explicit, server != nil ? "--server" : "$ACTIONS_SERVER")]
        } else {
            let live = liveNodes()
            candidates = live.isEmpty ? [("http://127.0.0.1:8787", "the default: no live node in the heartbeats of \(database.shownPath)")] : live
        }
        var tried: [String] = []
        var response: HTTPClient.Response?
        var base = ""
        for candidate in candidates {
            base = candidate.url.trimmingCharacters(in: ["/"])
            var request = try HTTPClient.Request(url: "\(base)/v1/actions/\(type.rawValue)/test", method: .POST)
            request.headers.add(name: "Content-Type", value: "application/json")
            // The token from the environment only: an argument would show in `ps`.
            if let token = environment["ACTIONS_API_TOKEN"], !token.isEmpty {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            request.body = .bytes(context.encoded())
            do {
                // A blocking wait on the client's own event loop: this command's main thread is not Swift's cooperative pool.
                response = try HTTPClient.shared.execute(request: request, deadline: .now() + .seconds(30)).wait()
                break
            } catch {
                tried.append("\(base) (\(candidate.why)): \(Self.describe(error))")
            }
        }
        guard let response else {
            throw failure("no server answered; tried " + tried.joined(separator: "; "), status: 75)
        }
        let body = response.body.map { Array($0.readableBytesView) } ?? []
        if json {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        guard response.status == .ok,
              let answer = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw failure("\(base) answered \(response.status.code): \(String(decoding: body.prefix(500), as: UTF8.self))",
                          status: response.status.code >= 500 ? 75 : 65)
        }
        for step in answer["trace"] as? [[String: Any]] ?? [] {
            printRow(step["check"] as? String ?? "", step["result"] as? String ?? "")
        }
        printRow("verdict", answer["verdict"] as? String ?? "?", (answer["rule_id"] as? Int).map { "rule \($0)" } ?? "-",
                 answer["error_message"] as? String ?? "", "event \(answer["event_id"] as? String ?? "?") (logged as a test)")
    }

    /// The nodes of this machine that are up by their heartbeats, newest heartbeat first, at the
    /// loopback address (an unspecified bind, 0.0.0.0 or ::, as 127.0.0.1 or ::1). Only this
    /// machine's: a heartbeat is anyone's to write who can write the log, and the API token is
    /// not sent where a row says. A node is this machine's when its name is the default one
    /// (`hostname:port`) and it listens on loopback or everywhere. The store is opened read-only:
    /// a test never migrates a cluster's schema.
    func liveNodes() -> [(url: String, why: String)] {
        guard let store = try? Store(path: database.path, create: false, readOnly: true, busyTimeout: 2),
              let nodes = try? store.nodes() else { return [] }
        let nowMs = WallClock.nowMs(), host = ProcessInfo.processInfo.hostName
        return nodes.filter { $0.phase(nowMs: nowMs) == .up && $0.name.hasPrefix(host + ":") }
            .sorted { $0.updatedMs > $1.updatedMs }
            .compactMap { node in
                guard let url = node.url.flatMap(Self.loopback) else { return nil }
                return (url, "node \(TerminalText.escape(node.name)), this machine's, from the heartbeats in \(database.shownPath)")
            }
    }

    /// A listening URL as this machine reaches it, when it is a loopback or unspecified address.
    static func loopback(_ url: String) -> String? {
        for (bound, local) in [("0.0.0.0", "127.0.0.1"), ("[::]", "[::1]"), ("127.0.0.1", "127.0.0.1"), ("[::1]", "[::1]"), ("localhost", "localhost")] {
            for scheme in ["http://", "https://"] where url.hasPrefix(scheme + bound + ":") {
                return scheme + local + url.dropFirst(scheme.count + bound.count)
            }
        }
        return nil
    }

    /// An HTTP client error in words: NIO's "connection reset (error set): Connection refused"
    /// says neither what nor where.
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        let text = "\(error)"
        if text.contains("Connection refused") { return "connection refused (nothing listens there)" }
        if text.contains("connectTimeout") || text.contains("deadlineExceeded") { return "no answer in time" }
        return text
    }
}
