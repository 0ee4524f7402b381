import Testing
import ActionsProtocol
import ActionsDomain
import ActionsStore
@testable import ActionsEngine

@Suite struct PolicyTests {
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

    /// The example env file's placeholder is refused; a short secret starts, with a warning that
    /// names its position and length, never the secret.
    @Test func placeholderSecretsAreRefusedAndShortOnesWarned() throws {
        let example = try String(contentsOfFile: #filePath.components(separatedBy: "/Tests/")[0] + "/packaging/actions-server.env.example", encoding: .utf8)
        let placeholder = try #require(example.split(separator: "\n").first { $0.hasPrefix("ACTIONS_SECRET=") }?.dropFirst("ACTIONS_SECRET=".count))
        for secret in [String(placeholder), "CHANGE-ME", "0123456789abcdef0123, change-me"] {
            #expect(throws: EngineConfig.Problem.self, "\(secret)") { try EngineConfig.load(file: nil, environment: ["ACTIONS_SECRET": secret]) }
        }
        let short = try EngineConfig.load(file: nil, environment: ["ACTIONS_SECRET": "0123456789abcdef0123456789abcdef,tiny-one"])
        #expect(short.weakSecretWarnings.count == 1)
        #expect(short.weakSecretWarnings.first?.contains("secret 2 is 8 bytes") == true)
        #expect(short.weakSecretWarnings.allSatisfy { !$0.contains("tiny-one") })
        // The config file's per-action secrets too.
        var fromFile = EngineConfig()
        #expect(throws: EngineConfig.Problem.self) { try fromFile.apply(["actions.authentication.secret": .string("change-me")], file: "t.toml") }
        try fromFile.apply(["actions.authentication.secrets": .strings(["short"])], file: "t.toml")
        #expect(fromFile.weakSecretWarnings == ["actions.authentication.secrets's secret 1 is 5 bytes; use at least 16 (openssl rand -hex 32)"])
    }
}

@Suite struct EntryNormalizationTests {
    @Test func entriesAreStoredInTheNormalizedSpelling() throws {
        #expect(try ListEntry.normalize(" Bücher.DE. ", kind: .domain) == "xn--bcher-kva.de")
        #expect(try ListEntry.normalize("::ffff:10.1.2.3", kind: .ip) == "10.1.2.3")
        #expect(try ListEntry.normalize("::ffff:10.1.2.0/120", kind: .ip) == "10.1.2.0/24")
        #expect(throws: InvalidValue.self) { try ListEntry.normalize("exa mple.com", kind: .domain) }
        #expect(throws: InvalidValue.self) { try ListEntry.normalize("a..b", kind: .domain) }
    }
}
