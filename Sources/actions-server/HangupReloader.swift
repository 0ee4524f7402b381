import ActionsEngine
import ActionsDomain
import ActionsStore
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP, as daemons have it: re-read the config file (secrets, API token, lockout and circuit
/// thresholds, limits) and the TLS certificate, and re-read the policy from the store at once.
/// A file that no longer parses is refused whole and the running configuration kept; a change
/// that needs a restart (address, database, durability, ...) is named in the log and not applied.
struct HangupReloader: Service {
    var engine: DecisionEngine
    var tls: TLSCertificates?
    var logger: Logger
    var loadConfig: @Sendable () throws -> EngineConfig

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            // Files and SQLite are read: off the cooperative pool.
            try? await BlockingWork.run { reload() }
        }
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func reload() {
        do {
            let (applied, needsRestart) = engine.reload(try loadConfig())
            logger.notice("SIGHUP: configuration reloaded", metadata: [
                "changed": "\(applied.isEmpty ? "nothing" : applied.joined(separator: ", "))",
            ])
            if !needsRestart.isEmpty {
                logger.warning("SIGHUP: these changes need a restart and were not applied",
                               metadata: ["keys": "\(needsRestart.joined(separator: ", "))"])
            }
        } catch {
            logger.error("SIGHUP: configuration not reloaded; keeping the running one", metadata: ["error": "\(error)"])
        }
        if let tls {
            do {
                try tls.reload()
                logger.notice("SIGHUP: TLS certificate reloaded", metadata: ["certificate": "\(tls.certificatePath)"])
            } catch {
                logger.error("SIGHUP: TLS certificate not reloaded; keeping the one in use", metadata: ["error": "\(error)"])
            }
        }
        engine.reloadPolicy()
    }
}
