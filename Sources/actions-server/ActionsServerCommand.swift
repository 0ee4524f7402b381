import ArgumentParser
import ActionsEngine
import ActionsProtocol
import ActionsDomain
import ActionsStore
import Foundation
import Logging
import ServiceLifecycle
import Tracing

/// Started with the main thread parked, so valgrind can count its instructions
/// (see `runWithMainThreadParked`).
@main
enum ActionsServerMain {
    static func main() { runWithMainThreadParked { await ActionsServerCommand.main() } }
}

struct ActionsServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions-server",
        abstract: "Decides Allow or Deny for sign-ups and logins, WorkOS Actions compatible.",
        version: BuildInfo.version,
        subcommands: [Serve.self, ExampleEndpointCommand.self, DemoTrafficCommand.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Actions engine (the default).")

    @Option(help: "SQLite file, or postgres://user@host:port[,host2:port]/database[?target_session_attrs=read-write] for a cluster (default: $ACTIONS_DB, else ./actions.db).")
    var db: String?
    @Option(help: "This node's name in events and heartbeats (default: hostname:port).") var node: String?
    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int?
    @Option(help: "TOML config file (see actions.example.toml); SIGHUP re-reads it.") var config: String?
    @Option(help: ArgumentHelp("PEM certificate chain: serve HTTPS (needs --tls-key). SIGHUP re-reads it.", valueName: "file"))
    var tlsCert: String?
    @Option(help: ArgumentHelp("PEM private key for --tls-cert.", valueName: "file")) var tlsKey: String?
    @Flag(help: "Answer each decision only after its event is committed and fsync'd (config: events.durable).")
    var durableEvents = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(help: "Log lines on stderr: text, or json (one object per line, for log shippers).") var logFormat: LogFormat = .text
    @Flag(help: .hidden) var manualSections = false
    @Flag(help: "Print a config file with every key at its default, each with what it does, and exit (the file actions.example.toml is).")
    var printExampleConfig = false

    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together: pass both to serve HTTPS, or neither")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")); got '\(logLevel)'")
        }
    }

    /// The config file over the defaults, with the command line's overrides on top: at start and
    /// again on every SIGHUP.
    func loadConfig() throws -> EngineConfig {
        var settings = try EngineConfig.load(file: config)
        if let host { settings.host = host }
        if let port { settings.port = port }
        if let db { settings.databasePath = db }
        if let node { settings.node = node }
        if durableEvents { settings.durableEvents = true }
        return settings
    }

    /// A failure that is not a usage error (a config file, a certificate or the database could not
    /// be used, the port is taken): its message on stderr, escaped (it may echo a file's contents),
    /// no usage text, and a sysexits.h status a service manager can act on: 78 for a setting
    /// (EX_CONFIG), the store's own for the database (`StoreError.exitStatus`), 1 for the rest.
    static func failure(_ message: String, status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("actions-server: \(TerminalText.escape(message))\n".utf8))
        return ExitCode(status)
    }

    func run() async throws {
        if manualSections { return ServerManual.print() }
        if printExampleConfig { return print(ConfigKey.exampleFile(), terminator: "") }
        switch logFormat {
        case .text: LoggingSystem.bootstrap(StreamLogHandler.standardError)
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
        var logger = Logger(label: "actions-server")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        // Files are read on the blocking pool, never on the cooperative one.
        let settings: EngineConfig
        do {
            settings = try await BlockingWork.run { try loadConfig() }
        } catch {
            throw Self.failure("\(error)", status: 78)
        }
        let path = settings.databasePath ?? Store.defaultPath()
        var tls: TLSCertificates?
        if let tlsCert, let tlsKey {
            do {
                tls = try await BlockingWork.run { try TLSCertificates(certificatePath: tlsCert, keyPath: tlsKey) }
            } catch {
                throw Self.failure("\(error)", status: 78)
            }
        }
        // Before the store opens (and migrates): a setting the exporter cannot serve stops here.
        let spans: (tracer: any Tracer, service: any Service)?
        do {
            spans = try await BlockingWork.run { [logger] in
                try SpanExport.make(environment: ProcessInfo.processInfo.environment, logLevel: logger.logLevel, logger: logger)
            }
        } catch {
            throw Self.failure("OTLP span export: \(error)", status: 78)
        }
        if spans != nil { logger.info("exporting decision spans over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)") }
        let store: Store
        do {
            store = try await Store.open(path: path, access: .pool, busyTimeout: Double(settings.busyTimeoutMs) / 1000,
                                         syncEveryCommit: settings.durableEvents)
        } catch {
            // A database URL the store refuses (an unknown parameter, a bad sslmode) is a setting.
            if case .invalidValue = error { throw Self.failure(error.description, status: 78) }
            throw Self.failure(error.description, status: error.exitStatus)
        }
        if settings.secrets.isEmpty && settings.actionSecrets.isEmpty {
            logger.warning("ACTIONS_SECRET is not set: endpoint calls cannot be verified and /actions/* answers 503")
        }
        for warning in settings.weakSecretWarnings { logger.warning("\(warning)") }
        // The engine reads its first policy snapshot from the store: off the cooperative pool.
        let engine = try await BlockingWork.run { [settings, logger] in
            DecisionEngine(store: store, config: settings, logger: logger, tracer: spans?.tracer)
        }
        let host = settings.host, scheme = tls == nil ? "http" : "https"
        let shownDB = store.path
        let server = try ActionsServer.application(engine: engine, host: host, port: settings.port, tls: tls, logger: logger) { port in
            engine.listening(on: port, url: "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)")
            // One parseable line on stdout, for scripts and tests that start the server on port 0.
            announce("actions-server listening on \(scheme)://\(host):\(port) node=\(engine.node) db=\(shownDB)")
        }
        let reloader = HangupReloader(engine: engine, tls: tls, logger: logger, loadConfig: loadConfig)
        // Start order is shutdown order reversed: on SIGTERM the server stops accepting and
        // finishes the requests in flight first, then the engine's services stop, the event
        // writer last, once everything that submits events has stopped.
        // The span exporter starts first and so stops last, flushing the spans of the last requests.
        let exporter: [any Service] = spans.map { [$0.service] } ?? []
        let group = ServiceGroup(configuration: .init(services: exporter + engine.services + [server, reloader],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            // The port taken, say: worth restarting (the old process may still hold it).
            throw Self.failure("\(error)", status: 1)
        }
        let stats = engine.eventLog
        if let error = stats.lastError, stats.dropped > 0 {
            logger.error("actions-server stopped; events could not all be written",
                         metadata: ["written": "\(stats.written)", "dropped": "\(stats.dropped)", "last_error": "\(error)"])
        } else {
            logger.info("actions-server stopped; event log flushed", metadata: ["written": "\(stats.written)",
                                                                                 "dropped": "\(stats.dropped)"])
        }
    }
}
