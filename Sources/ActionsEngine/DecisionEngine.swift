import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy
import Tracing

/// A verdict and how it was reached.
package struct Decision: Sendable {
    package var verdict: Verdict
    package var errorMessage: String?
    package var event: Event
    /// Each check and what it found; only for test decisions (`actionsctl test`).
    package var trace: [TraceStep] = []
}

/// Decides: local policy first, then the endpoint (behind the circuit breaker), else Allow.
/// Every decision is handed to the event writer; none waits for the disk.
///
/// The engine's background work is in `services`, to run in the caller's `ServiceGroup` ahead of
/// the HTTP server (a group shuts down in reverse order: the server stops first, the event log
/// is flushed last). Its collaborators are private; the HTTP layer reads what it needs through
/// the narrow accessors below.
package final class DecisionEngine: Sendable {
    private let store: Store
    private let writer: EventWriter
    private let policy: LivePolicy
    private let rates: RateSync
    private let circuit: CircuitBreaker
    private let persister: CircuitPersister
    private let metrics: EngineMetrics
    private let settings: ReloadableConfig
    private let client: EndpointClient
    private let spans: DecisionSpans
    private let logger: Logger
    private let refusalLog = Mutex<(lastMs: Int64, suppressed: Int)>((0, 0))
    /// Decisions made (and requests refused) since start, for the heartbeat's rate.
    private let decisionCount = Atomic<Int>(0)
    /// `--node`; `hostname:port` unless set, with the bound port once the server listens.
    private let nodeName: NodeName
    private let listenURL = Mutex<String?>(nil)

    /// `tracer`: where decision spans go (OTLP, built by actions-server from the `OTEL_*`
    /// variables); nil, the default, is no spans at all.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package init(store: Store, config: EngineConfig, metrics: EngineMetrics = EngineMetrics(),
                logger: Logger = Logger(label: "actions.engine"), tracer: (any Tracer)? = nil) {
        self.store = store
        self.spans = DecisionSpans(tracer: tracer)
        self.settings = ReloadableConfig(config)
        let nodeName = NodeName(config.node ?? Self.defaultNodeName(port: config.port), known: config.node != nil || config.port != 0)
        self.nodeName = nodeName
        self.metrics = metrics
        self.logger = logger
        // Durable mode gathers only when busy: its answers wait for the commit, so an idle server
        // commits each event at once, and a busy one waits up to 1 ms for more to share its fsync.
        self.writer = EventWriter(store: store, capacity: config.eventQueueCapacity,
                                  gather: config.durableEvents ? .whileBusy(upTo: .milliseconds(1), busyAt: 8) : .window(.milliseconds(2)))
        let policy = LivePolicy(store: store, logger: logger)
        self.policy = policy
        self.rates = RateSync(store: store, policy: policy, node: { nodeName.value }, logger: logger,
                              maxSubjects: config.rateMaxSubjects)
        self.client = EndpointClient()
        let persister = CircuitPersister(store: store, logger: logger)
        self.persister = persister
        self.circuit = CircuitBreaker(config: config.circuit) { [metrics] state in
            metrics.recordCircuit(state)
            persister.save(state)
        }
        // A new endpoint deserves a fresh circuit.
        policy.onChange { [circuit] old, new in
            for type in ActionType.allCases where old.settings(for: type).activeEndpoint != new.settings(for: type).activeEndpoint {
                circuit.reset(type)
            }
        }
    }

    /// The engine's long-running parts, in start order: the event writer first (so it is the
    /// last to stop, after everything that submits events), the outbound client (shut down once no
    /// decision can call out), the policy watcher, the rate-window sync, retention, the search
    /// indexer, the circuit persister and the node heartbeat.
    package var services: [any Service] {
        [writer, client, policy, rates, RetentionService(store: store, config: settings.current, logger: logger,
                                                        lockoutWindowMs: { [settings] in settings.current.lockout.windowMs }),
         SearchIndexer(store: store, logger: logger, metrics: metrics), persister,
         NodeHeartbeat(engine: self, store: store, logger: logger)]
    }

    /// The node name events and heartbeats carry.
    package var node: String { nodeName.value }

    /// Whether `node` is final: heartbeats wait for it, so port 0 leaves no `host:0` row behind.
    var nodeNameKnown: Bool { nodeName.known }

    /// Once the server listens: a default name takes the bound port (port 0 picks one), and the
    /// heartbeats carry `url` (`http://127.0.0.1:8787`), where `actionsctl test` finds a server.
    package func listening(on port: Int, url: String? = nil) {
        if let url { listenURL.withLock { $0 = url } }
        guard settings.current.node == nil else { return }
        nodeName.value = Self.defaultNodeName(port: port)
    }

    static func defaultNodeName(port: Int) -> String {
        "\(ProcessInfo.processInfo.hostName):\(port)"
    }

    /// This node's heartbeat, with the rate since the previous one.
    func nodeStatus(startedMs: Int64, nowMs: Int64, since last: (ms: Int64, decisions: Int)) -> NodeStatus {
        let decisions = decisionCount.load(ordering: .relaxed)
        let seconds = max(Double(nowMs - last.ms) / 1000, 0.001)
        let stats = writer.stats
        var circuits: [ActionType: CircuitPhase] = [:]
        for type in ActionType.allCases { circuits[type] = circuit.snapshot(type).phase }
        return NodeStatus(name: node, version: BuildInfo.version, startedMs: startedMs, updatedMs: nowMs, decisions: decisions,
                          decisionsPerSecond: Double(decisions - last.decisions) / seconds, queued: stats.queued,
                          dropped: stats.dropped, circuits: circuits, databaseServer: store.databaseServer,
                          url: listenURL.withLock { $0 })
    }

    /// The configuration decisions use now (SIGHUP may replace its reloadable part).
    package var config: EngineConfig { settings.current }

    /// Applies a re-read configuration: what can change at run time takes effect for the next
    /// decision; the rest is returned by name (those need a restart) and left as it was.
    @discardableResult
    package func reload(_ new: EngineConfig) -> (applied: [String], needsRestart: [String]) {
        let outcome = settings.reload(new)
        circuit.update(config: settings.current.circuit)
        return outcome
    }

    /// The event log's queue, writes and drops.
    package var eventLog: EventWriter.Stats { writer.stats }

    /// How far the search index trails the log, as the indexer last saw it.
    package var searchIndexLag: (events: Int64, seconds: Double) { metrics.searchLag }

    /// Past this, /healthz says the index is behind (as the ActionsSearchIndexBehind alert does).
    package static let searchLagProblemSeconds: Double = 300

    /// The PostgreSQL server events go to now, `host:port`; nil on SQLite.
    package var databaseServer: String? { store.databaseServer }

    /// The policy version decisions use (the store's `config_version`).
    package var policyVersion: Int64 { policy.current.configVersion }

    /// The lockouts version decisions use (the store's `lockout_version`).
    package var lockoutVersion: Int64 { policy.current.versions.lockouts }

    /// Re-reads the policy now instead of at the next poll.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func reloadPolicy() { policy.reload(force: true) }

    /// Prometheus text, with the writer's figures brought up to date.
    package func metricsExposition() -> [UInt8] {
        metrics.recordWriter(writer.stats)
        metrics.recordRates(subjects: rates.counter.subjectCount, evicted: rates.counter.evicted)
        return metrics.exposition()
    }

    /// Decides for a context. `startNs` is when the request arrived (monotonic clock).
    /// With `consultEndpoint: false` only local policy decides (the WorkOS endpoint role: WorkOS itself
    /// is the caller, so calling out again would loop).
    /// `received`: the context's bytes as the identity service sent them, forwarded to the
    /// endpoint unchanged (nil: the context is encoded from its fields, for in-process callers).
    /// `test`: a synthetic decision (`actionsctl test`): traced, marked as a test in the log, and
    /// not counted in the rate windows.
    /// `trace`: the request's W3C trace context: the event keeps its trace id, and the endpoint
    /// call carries the trace on with a span of its own.
    package func decide(_ context: ActionContext, received: [UInt8]? = nil, startNs: UInt64 = MonotonicClock.nowNs(),
                       consultEndpoint: Bool = true, test: Bool = false, trace traceParent: TraceParent? = nil) async -> Decision {
        await decide(context, identity: nil, received: received, startNs: startNs, consultEndpoint: consultEndpoint, test: test,
                     trace: traceParent)
    }

    /// The same for a context decoded from a request: its email is judged as `decodeChecked`
    /// normalized it, not normalized again.
    package func decide(_ checked: CheckedContext, received: [UInt8]? = nil, startNs: UInt64 = MonotonicClock.nowNs(),
                       consultEndpoint: Bool = true, test: Bool = false, trace traceParent: TraceParent? = nil) async -> Decision {
        await decide(checked.context, identity: checked.identity, received: received, startNs: startNs,
                     consultEndpoint: consultEndpoint, test: test, trace: traceParent)
    }

    /// `identity`: the context's own email normalized (nil: normalized here).
    private func decide(_ context: ActionContext, identity: Normalize.EmailAndDomain?, received: [UInt8]?, startNs: UInt64,
                        consultEndpoint: Bool, test: Bool, trace traceParent: TraceParent?) async -> Decision {
        let type = context.type
        let nowMs = WallClock.nowMs()
        let snapshot = policy.current
        let settings = snapshot.settings(for: type)
        let actionID = context.id ?? Self.newActionID(nowMs: nowMs)
        let span = spans.decision(type, parent: traceParent)
        // Matching uses the normalized spelling; the event keeps the email as it was sent.
        let attempt = identity.map { Attempt(type: type, timeMs: nowMs, normalized: $0, ip: context.ipAddress) }
            ?? Attempt(type: type, timeMs: nowMs, email: context.email, ip: context.ipAddress)
        var event = Event(timeMs: nowMs, actionType: type, actionId: actionID, userId: context.userId,
                          email: context.email, emailDomain: attempt.domain, ip: context.ipAddress, userAgent: context.userAgent,
                          verdict: .allow, decidedBy: .allowDefault, errorMode: settings.errorMode,
                          authMethod: context.authenticationMethod, organizationId: context.organizationId,
                          deviceFingerprint: context.deviceFingerprint, node: node, isTest: test,
                          // The request's trace, or (tracing on, none came in) the one the span started.
                          traceId: traceParent?.traceID ?? span?.traceParent?.traceID)
        decisionCount.add(1, ordering: .relaxed)

        let lockout = type == .authentication && !snapshot.lockouts.isEmpty
            ? snapshot.lockouts[Normalize.accountKey(attempt.email, foldAddresses: snapshot.foldAddresses)] : nil
        let local = PolicyEvaluator.evaluate(attempt, book: snapshot.rules, counter: rates.counter, lockout: lockout,
                                             options: .init(record: !test, trace: test, foldAddresses: snapshot.foldAddresses))
        var trace = local.trace
        event.ruleId = local.rule
        event.shadowRuleId = local.shadowRule
        if local.denied {
            event.verdict = .deny
            event.decidedBy = .policy
            event.reason = local.reason
            event.errorMessage = local.message
            if test { trace.append(TraceStep("endpoint", "not called: local policy denied")) }
        } else if consultEndpoint, let url = settings.activeEndpoint {
            await callEndpoint(url: url, context: context, received: received, actionID: actionID, settings: settings,
                               test: test, trace: traceParent, span: span, event: &event)
            if let reason = local.reason { event.reason = (event.reason.map { $0 + "; " } ?? "") + reason }
            if test {
                let status = event.httpStatus.map { "HTTP \($0)" } ?? event.outcome.rawValue
                let latency = event.endpointLatencyUs.map { " in \(Double($0 / 100) / 10) ms" } ?? ""
                trace.append(TraceStep("endpoint", "\(url): \(status)\(latency), \(event.verdict.rawValue) (\(event.reason ?? ""))"))
            }
        } else {
            event.reason = local.reason ?? "no policy matched; no endpoint configured"
            if test { trace.append(TraceStep("endpoint", consultEndpoint ? "none configured" : "not consulted")) }
        }
        if let shadow = local.shadowReason { event.reason = (event.reason.map { $0 + "; " } ?? "") + shadow }
        event.latencyUs = MonotonicClock.microsSince(startNs)
        var decision: Decision
        if config.durableEvents {
            decision = await answerOnceCommitted(event, settings: settings)
        } else {
            writer.submit(event)
            recordMetrics(event)
            decision = Decision(verdict: event.verdict, errorMessage: event.errorMessage, event: event)
        }
        decision.trace = trace
        span?.endDecision(decision.event)
        return decision
    }

    /// Durable mode: the answer waits for the event's commit (group commit shares each fsync among
    /// the waiting decisions). A decision that cannot be logged within `durableWaitMs` is never
    /// allowed silently: the error mode answers (a Deny stays a Deny), and that answer is queued as
    /// an event of its own, outcome `log_unavailable`, beside the decision if it lands later.
    private func answerOnceCommitted(_ event: Event, settings: ActionSettings) async -> Decision {
        if let seq = writer.submit(event) {
            if await writer.durable(seq, timeout: .milliseconds(config.durableWaitMs)) {
                recordMetrics(event)
                return Decision(verdict: event.verdict, errorMessage: event.errorMessage, event: event)
            }
        }
        var answered = event
        answered.uid = Event.newUID()
        answered.outcome = .logUnavailable
        answered.reason = "event log unavailable (durable mode); \(settings.errorMode.rawValue)"
        if event.verdict == .allow {
            answered.verdict = settings.errorMode.verdict
            answered.decidedBy = .errorMode
            if answered.verdict == .deny { answered.errorMessage = Self.unverifiedMessage }
        }
        writer.submit(answered)
        recordMetrics(answered)
        return Decision(verdict: answered.verdict, errorMessage: answered.errorMessage, event: answered)
    }

    /// Test decisions are logged (marked) but are not traffic: the metrics leave them out.
    private func recordMetrics(_ event: Event) {
        if !event.isTest { metrics.record(event, type: event.actionType) }
    }

    /// `test`: a test action sees the circuit as it is and changes nothing: an open circuit
    /// answers it as it would real traffic, but its calls never open, probe or close the circuit.
    private func callEndpoint(url: String, context: ActionContext, received: [UInt8]?, actionID: String,
                              settings: ActionSettings, test: Bool, trace: TraceParent?, span: DecisionSpan?,
                              event: inout Event) async {
        let type = context.type
        let permit = test ? (circuit.snapshot(type).phase == .open ? .reject : .call) : circuit.permit(type)
        if permit == .reject {
            event.verdict = settings.errorMode.verdict
            event.decidedBy = .circuit
            event.outcome = .circuitOpen
            event.reason = "circuit open; \(settings.errorMode.rawValue)"
            event.detail = circuit.snapshot(type).lastError
            return
        }
        let secrets = config.secrets(for: type)
        let body = ActionContext.forwardedBody(received ?? context.encoded(), id: actionID)
        // The call carries the trace on with a span of its own: the exported client span's when
        // tracing is on, a new span id otherwise.
        let callSpan = span?.endpointCall(url: url)
        let result = await client.call(url: url, type: type, body: body, signer: RequestSigner(secret: secrets.first ?? ""),
                                       verifier: ResponseVerifier(secrets: secrets), timeoutMs: settings.timeoutMs,
                                       trace: callSpan?.traceParent ?? trace?.child())
        callSpan?.endCall(result)
        event.httpStatus = result.httpStatus
        event.endpointLatencyUs = result.latencyUs
        event.detail = result.detail
        event.outcome = result.outcome
        if let payload = result.payload, result.succeeded {
            if !test { circuit.recordSuccess(type) }
            event.verdict = payload.verdict
            event.decidedBy = .endpoint
            event.errorMessage = payload.errorMessage
            event.reason = "endpoint \(payload.verdict.rawValue)" + (permit == .probe ? " (probe closed the circuit)" : "")
        } else {
            if !test { circuit.recordFailure(type, error: "\(result.outcome.rawValue): \(result.detail ?? "")") }
            event.verdict = settings.errorMode.verdict
            event.decidedBy = .errorMode
            event.reason = "endpoint \(result.outcome.rawValue); \(settings.errorMode.rawValue)"
            if event.verdict == .deny { event.errorMessage = Self.unverifiedMessage }
        }
    }

    /// Logs a request that could not be decided (bad JSON, bad signature, ...): Deny, with the reason.
    @discardableResult
    package func logRejected(type: ActionType, outcome: Outcome, reason: String, startNs: UInt64,
                            email: String? = nil, ip: String? = nil, userAgent: String? = nil) -> Event {
        let nowMs = WallClock.nowMs()
        let domain = email.map { Normalize.emailDomain($0) }
        var event = Event(timeMs: nowMs, actionType: type, actionId: Self.newActionID(nowMs: nowMs), email: email,
                          emailDomain: domain, ip: ip, userAgent: userAgent, verdict: .deny, decidedBy: .invalid,
                          reason: reason, outcome: outcome, errorMode: policy.current.settings(for: type).errorMode, node: node)
        decisionCount.add(1, ordering: .relaxed)
        event.latencyUs = MonotonicClock.microsSince(startNs)
        writer.submit(event)
        metrics.record(event, type: type)
        return event
    }

    /// A request refused before it was decided (no or a wrong token, a bad signature): counted
    /// in `actions_requests_refused_total` by route and reason, and logged with the peer's
    /// address at most once a second (a flood of them must not flood the log either).
    /// `peer` is worked out only for a line that is written.
    package func refused(_ route: APIRoute, reason: String, peer: @autoclosure () -> String?) {
        metrics.recordRefusal(route: route.path, reason: reason)
        let nowMs = WallClock.nowMs()
        let suppressed: Int? = refusalLog.withLock { state in
            guard nowMs - state.lastMs >= 1000 else {
                state.suppressed += 1
                return nil
            }
            defer { state = (nowMs, 0) }
            return state.suppressed
        }
        guard let suppressed else { return }
        logger.warning("refused \(route.path): \(reason)", metadata: [
            "peer": .string(peer() ?? "unknown"), "refused_since_last_line": .stringConvertible(suppressed),
        ])
    }

    // MARK: Failed-login lockout

    package enum LoginEvent: Sendable {
        case failed(email: String, userId: String?, ip: String?)
        case succeeded(email: String)
    }

    /// Counts a failed login or clears the count after a success. Returns the record after a
    /// failure, and the lockout after a success that could not clear one (nil when cleared).
    /// The write runs on the blocking pool and gives up (SQLITE_BUSY) if it cannot start within
    /// `config.lockoutWriteWaitMs`, so the caller gets an answer it can retry instead of waiting on
    /// another process's lock.
    package func record(_ loginEvent: LoginEvent) async throws -> LoginFailures? {
        let store = self.store, lockoutPolicy = config.lockout
        let deadline = MonotonicClock.nowNs() + UInt64(config.lockoutWriteWaitMs) * 1_000_000
        switch loginEvent {
        case .failed(let email, let userId, let ip):
            let counted = try await BlockingWork.run {
                try store.countLoginFailure(email: email, userId: userId, ip: ip, policy: lockoutPolicy, deadlineNs: deadline)
            }
            if let version = counted.startedLockout { policy.noteLockout(counted.record, version: version) }
            return counted.record
        case .succeeded(let email):
            return try await BlockingWork.run { try store.recordLoginSuccess(email: email, deadlineNs: deadline) }
        }
    }

    /// What a user denied by the error mode is told: nothing about them was judged.
    static let unverifiedMessage = "Unable to verify this request right now. Please try again later."

    static func newActionID(nowMs: Int64) -> String {
        Event.newID(prefix: "act_", nowMs: nowMs)
    }
}

/// The node's name, shared with the rate sync (which skips this node's own events in the log).
final class NodeName: Sendable {
    private let name: Mutex<(value: String, known: Bool)>
    init(_ name: String, known: Bool) { self.name = Mutex((name, known)) }
    var value: String {
        get { name.withLock { $0.value } }
        set { name.withLock { $0 = (newValue, true) } }
    }
    /// False while a default name waits for the port that port 0 picks.
    var known: Bool { name.withLock { $0.known } }
}
