import Testing
import ActionsProtocol
import ActionsStore
@testable import ActionsEngine

@Suite struct PolicyTests {
    func context(_ email: String, ip: String? = nil, type: ActionType = .userRegistration) -> ActionContext {
        switch type {
        case .userRegistration: return .userRegistration(UserRegistrationContext(userData: .init(email: email), ipAddress: ip))
        case .authentication: return .authentication(AuthenticationContext(user: .init(email: email), ipAddress: ip))
        }
    }

    @Test func denyMatcherHonoursKindScopeWildcardsAndExpiry() {
        let matcher = DenyMatcher(entries: [
            ListEntry(id: 1, kind: .domain, value: "gmail.com"),
            ListEntry(id: 2, kind: .domain, value: "*.corp.example"),
            ListEntry(id: 3, kind: .email, value: "eve@x.io", scope: .authentication),
            ListEntry(id: 4, kind: .ip, value: "10.0.0.0/8", expiresMs: 1000),
            ListEntry(id: 5, kind: .ip, value: "2001:db8::/32"),
        ])
        #expect(matcher.match(context("A@GMAIL.COM"), nowMs: 0)?.id == 1)
        #expect(matcher.match(context("a@mail.gmail.com"), nowMs: 0) == nil, "gmail.com does not cover subdomains")
        #expect(matcher.match(context("a@eu.corp.example"), nowMs: 0)?.id == 2)
        #expect(matcher.match(context("a@corp.example"), nowMs: 0) == nil, "*.corp.example does not cover the apex")
        #expect(matcher.match(context("eve@x.io"), nowMs: 0) == nil, "scoped to authentication")
        #expect(matcher.match(context("Eve@X.io", type: .authentication), nowMs: 0)?.id == 3)
        #expect(matcher.match(context("a@b.c", ip: "10.1.2.3"), nowMs: 999)?.id == 4)
        #expect(matcher.match(context("a@b.c", ip: "10.1.2.3"), nowMs: 1000) == nil, "expired")
        #expect(matcher.match(context("a@b.c", ip: "2001:db8:0:1::9"), nowMs: 0)?.id == 5)
        #expect(matcher.match(context("a@b.c", ip: "not an ip"), nowMs: 0) == nil)
    }

    @Test func circuitBreakerStateMachine() {
        let circuit = CircuitBreaker(config: .init(threshold: 3, cooldownMs: 1000))
        for _ in 0..<2 {
            #expect(circuit.permit(.authentication, nowMs: 0) == .call)
            circuit.recordFailure(.authentication, error: "timeout", nowMs: 0)
        }
        #expect(circuit.permit(.authentication, nowMs: 0) == .call)
        circuit.recordFailure(.authentication, error: "timeout", nowMs: 10)
        #expect(circuit.snapshot(.authentication).phase == .open)
        #expect(circuit.permit(.authentication, nowMs: 500) == .reject)
        #expect(circuit.permit(.userRegistration, nowMs: 500) == .call, "circuits are per action type")
        #expect(circuit.permit(.authentication, nowMs: 1010) == .probe)
        #expect(circuit.permit(.authentication, nowMs: 1011) == .reject, "one probe at a time")
        circuit.recordSuccess(.authentication, nowMs: 1020)
        #expect(circuit.snapshot(.authentication).phase == .closed)
        #expect(circuit.permit(.authentication, nowMs: 1030) == .call)
        // A success in between resets the consecutive count.
        circuit.recordFailure(.authentication, error: "x", nowMs: 2000)
        circuit.recordFailure(.authentication, error: "x", nowMs: 2000)
        circuit.recordSuccess(.authentication, nowMs: 2000)
        circuit.recordFailure(.authentication, error: "x", nowMs: 2000)
        #expect(circuit.snapshot(.authentication).phase == .closed)
    }

    @Test func configFileParsesAndRejectsNonsense() throws {
        let values = try TOMLSubset.parse("""
            # comment
            [server]
            port = 9000 # trailing comment
            host = "0.0.0.0"
            [circuit]
            failure_threshold = 3
            [actions.authentication]
            secrets = ["new", "old#1"]
            """)
        var config = EngineConfig()
        try config.apply(values, file: "t.toml")
        #expect(config.port == 9000)
        #expect(config.host == "0.0.0.0")
        #expect(config.circuit.threshold == 3)
        #expect(config.secrets(for: .authentication) == ["new", "old#1"])
        #expect(throws: TOMLSubset.ParseError.self) { try TOMLSubset.parse("port = 'single'") }
        #expect(throws: TOMLSubset.ParseError.self) { try TOMLSubset.parse("[server\nport = 1") }
        var bad = EngineConfig()
        #expect(throws: EngineConfig.Problem.self) { try bad.apply(["server.prot": .integer(1)], file: "t.toml") }
        #expect(throws: EngineConfig.Problem.self) { try bad.apply(["server.port": .integer(99999)], file: "t.toml") }
    }

    @Test func emptySecretsAndTokensAreRefused() throws {
        var config = EngineConfig()
        for values: [String: TOMLSubset.Value] in [["actions.authentication.secret": .string("")],
                                                   ["actions.user_registration.secrets": .strings(["new", ""])],
                                                   ["actions.authentication.secrets": .strings([])],
                                                   ["actions.authentication.secret": .string("   ")]] {
            #expect(throws: EngineConfig.Problem.self) { try config.apply(values, file: "t.toml") }
        }
        for secret in ["", "a,,b", "a, "] {
            #expect(throws: EngineConfig.Problem.self) { try EngineConfig.load(file: nil, environment: ["ACTIONS_SECRET": secret]) }
        }
        #expect(throws: EngineConfig.Problem.self) { try EngineConfig.load(file: nil, environment: ["ACTIONS_API_TOKEN": " "]) }
        let loaded = try EngineConfig.load(file: nil, environment: ["ACTIONS_SECRET": "new, old", "ACTIONS_API_TOKEN": "t0k"])
        #expect(loaded.secrets == ["new", "old"])
        #expect(loaded.apiToken == "t0k")
    }
}

@Suite struct NormalizedMatchingTests {
    func entry(_ kind: EntryKind, _ value: String) throws -> ListEntry {
        ListEntry(kind: kind, value: try ListEntry.normalize(value, kind: kind))
    }

    @Test func variantsCannotSlipPastDenyEntries() throws {
        let matcher = DenyMatcher(entries: [try entry(.domain, "bücher.de"), try entry(.email, "CEO@Example.com"),
                                            try entry(.ip, "203.0.113.0/24"), try entry(.domain, "*.evil.test")])
        func denied(_ email: String, ip: String? = nil) -> Bool {
            let context = ActionContext.userRegistration(.init(userData: .init(email: email), ipAddress: ip))
            return matcher.match(context, nowMs: 0) != nil
        }
        for email in ["a@bücher.de", "a@BÜCHER.de", "a@xn--bcher-kva.de", "a@bücher.de.", "a@XN--BCHER-KVA.DE",
                      "ceo@example.com", "CEO@EXAMPLE.COM.", "ｃｅｏ@example.com", "x@a.evil.test.", "x@A.EVIL.TEST"] {
            #expect(denied(email), "\(email)")
        }
        #expect(denied("ok@example.org", ip: "::ffff:203.0.113.5"), "IPv4-mapped IPv6 is the IPv4 address")
        #expect(denied("ok@example.org", ip: "::FFFF:203.0.113.200"))
        #expect(!denied("ok@example.org", ip: "::ffff:203.0.114.5"))
        #expect(!denied("ok@example.org", ip: "2001:db8::203.0.113.5"), "only the mapped prefix is IPv4")
        #expect(!denied("ceo@example.org"))
        #expect(!denied("x@evil.test"), "*. covers subdomains only")
    }

    @Test func entriesAreStoredInTheNormalizedSpelling() throws {
        #expect(try ListEntry.normalize(" Bücher.DE. ", kind: .domain) == "xn--bcher-kva.de")
        #expect(try ListEntry.normalize("::ffff:10.1.2.3", kind: .ip) == "10.1.2.3")
        #expect(try ListEntry.normalize("::ffff:10.1.2.0/120", kind: .ip) == "10.1.2.0/24")
        #expect(throws: StoreError.self) { try ListEntry.normalize("exa mple.com", kind: .domain) }
        #expect(throws: StoreError.self) { try ListEntry.normalize("a..b", kind: .domain) }
    }
}
