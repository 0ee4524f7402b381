import AsyncHTTPClient
import Foundation
import Synchronization
import NIOCore
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Realistic traffic for the demo and the benchmark: a mix of ordinary and deny-listed domains,
/// addresses inside a denied block, a brute-force attacker who trips the lockout, and now and then
/// a hostile string that a careless terminal would obey.
package final class DemoTraffic: Sendable {
    let baseURL: String
    private let client = HTTPClient(eventLoopGroupProvider: .singleton)
    /// Decisions answered (`/v1/actions/*`, any HTTP status: each one is logged) and requests that
    /// got no answer at all, so a caller can check the log against what was decided.
    private let answered = Atomic<Int>(0)
    private let unanswered = Atomic<Int>(0)

    package var decisionsAnswered: Int { answered.load(ordering: .relaxed) }
    package var requestsUnanswered: Int { unanswered.load(ordering: .relaxed) }

    package init(baseURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    package func shutdown() async { try? await client.shutdown() }

    static let names = ["ana", "bo", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kim", "lea", "mo", "noor", "olu", "pia"]
    static let goodDomains = ["example.com", "acme.io", "globex.com", "initech.dev", "umbrella.org", "gmail.com"]
    static let deniedDomains = ["mailinator.com", "tempmail.dev", "bulk.spam.example"]
    static let userAgents = [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148",
        "okhttp/4.12.0",
    ]
    /// Strings that would retitle the terminal, clear it, or fake a row if drawn raw.
    static let hostile = [
        // An address with a C0 control is refused at the door: this one retitles a terminal with
        // the 8-bit OSC, and the user agent (any text) clears it with 7-bit CSI.
        ("ev\u{9d}0;pwned\u{9c}il@example.com", "curl/8.0 \u{1b}[2J\u{1b}[H"),
        ("admin@exam\u{202e}moc.elpmaxe", "Mozilla/5.0\r\n2026-01-01 Allow  root@example.com"),
    ]

    /// One synthetic request: which route, and its JSON body.
    package struct Request: Sendable {
        package var path: String
        package var body: [UInt8]
    }

    package static func nextRequest(counter: Int) -> Request {
        // Rarest first: each check shadows the ones below it. (In the other order every login
        // attempt of the attacker fell on a failed-password turn, and the lockout never showed.)
        if counter % 97 == 50 {
            let (email, agent) = hostile[(counter / 97) % hostile.count]
            return registration(email: email, ip: "192.0.2.13", agent: agent)
        }
        // Every 7th request belongs to the attacker: mostly failed passwords, every third a login attempt.
        if counter % 21 == 10 {
            return authentication(email: "mallory@acme.io", userID: "user_mallory", ip: "198.51.100.66", agent: userAgents[3])
        }
        if counter % 7 == 3 {
            let event = #"{"event":"authentication.password_failed","data":{"email":"mallory@acme.io","user_id":"user_mallory","ip_address":"198.51.100.66"}}"#
            return Request(path: "/v1/events", body: Array(event.utf8))
        }
        let name = names.randomElement()! + String(Int.random(in: 1...400))
        let domain = Int.random(in: 0..<10) == 0 ? deniedDomains.randomElement()! : goodDomains.randomElement()!
        let ip = Int.random(in: 0..<25) == 0 ? "203.0.113.\(Int.random(in: 1...254))"
            : (Int.random(in: 0..<5) == 0 ? "2001:db8::\(String(Int.random(in: 1...0xffff), radix: 16))" : "198.51.100.\(Int.random(in: 1...254))")
        let agent = userAgents.randomElement()!
        if Int.random(in: 0..<10) < 4 {
            return registration(email: "\(name)@\(domain)", ip: ip, agent: agent)
        }
        return authentication(email: "\(name)@\(domain)", userID: "user_\(name)", ip: ip, agent: agent)
    }

    static func registration(email: String, ip: String, agent: String) -> Request {
        let context = UserRegistrationContext(userData: .init(email: email, firstName: "Demo", lastName: "User"),
                                              ipAddress: ip, userAgent: agent, deviceFingerprint: "fp_demo")
        return Request(path: "/v1/actions/user_registration", body: ActionContext.userRegistration(context).encoded())
    }

    static func authentication(email: String, userID: String, ip: String, agent: String) -> Request {
        let context = AuthenticationContext(user: .init(id: userID, email: email, firstName: "Demo", lastName: "User", emailVerified: true),
                                            ipAddress: ip, userAgent: agent, deviceFingerprint: "fp_demo", issuer: "demo")
        return Request(path: "/v1/actions/authentication", body: ActionContext.authentication(context).encoded())
    }

    /// Sends requests at `rate` per second on a fixed schedule (each one started on time, not after
    /// the previous answer), until `count` or cancellation.
    package func run(rate: Double, count: Int? = nil) async throws {
        let interval = Duration.nanoseconds(Int64(1_000_000_000 / max(rate, 0.1)))
        let clock = ContinuousClock()
        var next = clock.now
        var counter = 0
        // A discarding group frees each send as it finishes: a plain task group keeps every finished
        // child until it is awaited, which grew without bound over a long demo.
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isCancelled, count.map({ counter < $0 }) ?? true {
                let request = Self.nextRequest(counter: counter)
                group.addTask { [self] in await self.send(request) }
                counter += 1
                next = next.advanced(by: interval)
                try await clock.sleep(until: next)
            }
        }
    }

    func send(_ request: Request) async {
        var http = HTTPClientRequest(url: baseURL + request.path)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        http.body = .bytes(ByteBuffer(bytes: request.body))
        guard let response = try? await client.execute(http, timeout: .seconds(15)),
              (try? await response.body.collect(upTo: 1 << 20)) != nil else {
            unanswered.add(1, ordering: .relaxed)
            return
        }
        if request.path.hasPrefix("/v1/actions/") { answered.add(1, ordering: .relaxed) }
    }
}
