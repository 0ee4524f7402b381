import ArgumentParser
import ActionsEngine
import ActionsProtocol
import ActionsStore
import Foundation
import Logging
import ServiceLifecycle

/// The decision path without HTTP, one step at a time, so a regression can be placed: decoding the
/// context, deciding by local policy (the event handed to the writer), and the whole path.
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "Per-decision cost of each step, in-process.")

    @Option(help: "Decisions per step.") var count = 200_000

    func run() async throws {
        section("engine: per-decision cost in-process (\(count) decisions per step, one thread)")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("actions-bench-engine-\(getpid()).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try Store(path: path, access: .pool)
        // The server bench's deny list: a domain and a network, so every decision checks both.
        try store.addListEntry(ListEntry(kind: .domain, value: "mailinator.com"), by: Operator(user: "bench"))
        try store.addListEntry(ListEntry(kind: .ip, value: "203.0.113.0/24"), by: Operator(user: "bench"))
        let engine = DecisionEngine(store: store, config: EngineConfig())
        engine.reloadPolicy()
        let services = ServiceGroup(configuration: .init(services: engine.services, logger: Logger(label: "bench")))
        let running = Task { try await services.run() }
        let bodies = (1...20).map { i in
            Array(#"{"object":"user_registration_action_context","user_data":{"object":"user_data","email":"user\#(i)@\#(i % 10 == 0 ? "mailinator.com" : "example.com")","first_name":"A","last_name":"B"},"ip_address":"198.51.100.\#(i)","user_agent":"wrk"}"#.utf8)
        }
        let contexts = try bodies.map { try ActionContext.decode(.userRegistration, from: $0) }

        let decode = try microseconds { i in _ = try ActionContext.decode(.userRegistration, from: bodies[i % 20]) }
        let decide = await asyncMicroseconds { i in _ = await engine.decide(contexts[i % 20]) }
        let whole = try await asyncMicroseconds { i in
            let context = try ActionContext.decode(.userRegistration, from: bodies[i % 20])
            _ = DecisionAnswer.bytes(await engine.decide(context))
        }
        await services.triggerGracefulShutdown()
        try await running.value
        report(String(format: "decode context: %.2f µs;  decide + log: %.2f µs;  decode + decide + answer: %.2f µs", decode, decide, whole))
        report("events written: \(engine.eventLog.written), dropped: \(engine.eventLog.dropped)")
    }

    func microseconds(_ body: (Int) throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<count { try body(i) }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(count)
    }

    func asyncMicroseconds(_ body: (Int) async throws -> Void) async rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<count { try await body(i) }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(count)
    }
}
