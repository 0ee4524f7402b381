import Testing
@testable import ActionsDemo

@Suite struct DemoTrafficTests {
    /// Every story the demo tells must actually be sent: the attacker's failed passwords and login
    /// attempts (the lockout) and the hostile strings (the sanitizer). A shadowed branch hid the lockout once.
    @Test func theMixContainsEveryStory() {
        let requests = (0..<2_000).map { DemoTraffic.nextRequest(counter: $0) }
        func count(_ predicate: (DemoTraffic.Request) -> Bool) -> Int { requests.filter(predicate).count }
        let text = { (request: DemoTraffic.Request) in String(decoding: request.body, as: UTF8.self) }
        let failures = count { $0.path == "/v1/events" && text($0).contains("mallory@acme.io") }
        let attempts = count { $0.path.hasSuffix("/authentication") && text($0).contains("mallory@acme.io") }
        let hostile = count { text($0).contains("pwned") || text($0).contains("\\u202e") || text($0).contains("\u{202e}") }
        #expect(failures > 150 && attempts > 80, "failed passwords \(failures), login attempts \(attempts)")
        #expect(hostile >= 15)
        #expect(count { $0.path.hasSuffix("/user_registration") } > 400)
    }
}
