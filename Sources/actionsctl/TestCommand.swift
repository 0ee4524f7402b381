import ArgumentParser
import AsyncHTTPClient
import ActionsProtocol
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
    @Option(help: "The server (default: $ACTIONS_SERVER, else http://127.0.0.1:8787).") var server: String?
    @Flag(help: "Print the server's JSON answer.") var json = false

    func run() throws {
        let type = try parseAction(action)
        let environment = ProcessInfo.processInfo.environment
        let base = (server ?? environment["ACTIONS_SERVER"] ?? "http://127.0.0.1:8787").trimmingCharacters(in: ["/"])
        let context: ActionContext
        switch type {
        case .userRegistration:
            context = .userRegistration(UserRegistrationContext(userData: .init(email: email), ipAddress: ip, userAgent: userAgent))
        case .authentication:
            context = .authentication(AuthenticationContext(user: .init(email: email), ipAddress: ip, userAgent: userAgent))
        }
        var request = try HTTPClient.Request(url: "\(base)/v1/actions/\(type.rawValue)/test", method: .POST)
        request.headers.add(name: "Content-Type", value: "application/json")
        // The token from the environment only: an argument would show in `ps`.
        if let token = environment["ACTIONS_API_TOKEN"], !token.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        request.body = .bytes(context.encoded())
        let response: HTTPClient.Response
        do {
            // A blocking wait on the client's own event loop: this command's main thread is not Swift's cooperative pool.
            response = try HTTPClient.shared.execute(request: request, deadline: .now() + .seconds(30)).wait()
        } catch {
            throw failure("cannot reach \(base): \(error)", status: 75)
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
}
