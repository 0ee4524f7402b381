import Foundation
import ActionsProtocol
import ActionsStore
import ActionsPolicy

/// Connects the state to the store: loads, tails, and carries out the reducer's effects.
/// Each tick reads only what changed (`PRAGMA data_version`, then rows after the last id seen),
/// so a 10-million-row log costs the same as an empty one.
public final class DashboardController {
    public private(set) var state = AppState()
    public private(set) var theme: Theme
    let store: Store
    let catalog: ThemeCatalog
    let noColor: Bool
    let actor: Operator
    private var cursor = TailCursor()
    private var lastDataVersion = -1
    private var lastSlowRefreshMs: Int64 = 0
    /// Most new rows read in one tick; beyond this the tail skips ahead (a flood cannot stall the screen).
    let maxTailPerTick = 20_000
    /// At start, holes among this many newest ids are watched for late commits.
    static let startHoleScan = 1000

    public init(store: Store, theme: Theme, catalog: ThemeCatalog, noColor: Bool, readOnly: Bool,
                actor: Operator = .current()) {
        self.store = store
        self.catalog = catalog
        self.noColor = noColor
        self.theme = noColor ? theme.withoutColor : theme
        self.actor = actor
        state.readOnly = readOnly || store.isReadOnly
        state.databasePath = store.path
        state.themeName = theme.name
    }

    /// The first screen: the newest rows, the header's last minute, settings.
    public func load(nowMs: Int64 = WallClock.nowMs()) {
        state.nowMs = nowMs
        attempt {
            cursor.start(at: try store.newestEventIDs(limit: Self.startHoleScan).reversed(), nowMs: nowMs)
            try reloadEvents()
            state.stats.logStartMs = try store.firstEventTimeMs()
            try loadStats(nowMs: nowMs)
            lastDataVersion = try store.dataVersion()
        }
        refreshSlowly(nowMs: nowMs, force: true)
    }

    /// One refresh: the tail, the holes it left, the header, and every second the settings and warnings.
    public func tick(nowMs: Int64 = WallClock.nowMs()) {
        state.nowMs = nowMs
        attempt {
            let version = try store.dataVersion()
            if version != lastDataVersion {
                lastDataVersion = version
                try readTail(nowMs: nowMs)
            }
            // A late commit need not change the data version (PostgreSQL's is built on max(id)).
            try readGaps(nowMs: nowMs)
        }
        refreshSlowly(nowMs: nowMs, force: false)
    }

    /// The table is the store's answer for the filter; the tail goes on from where it stands.
    private func reloadEvents() throws(StoreError) {
        state.replaceEvents(try store.latestEvents(state.filter, limit: AppState.tableLoad), limit: AppState.tableLoad)
    }

    private func readTail(nowMs: Int64) throws(StoreError) {
        let newest = try store.maxEventID()
        let behind = newest - cursor.lastSeenID > Int64(maxTailPerTick)
        // A flood: read on from the newest rows, and take the table from the store's answer, so
        // that it never holds the rows around a skipped stretch without the stretch itself.
        if behind { cursor.skip(to: newest - Int64(maxTailPerTick)) }
        let fresh = try store.events(after: cursor.lastSeenID, limit: maxTailPerTick)
        cursor.advance(over: fresh.compactMap(\.id), nowMs: nowMs)
        state.stats.add(fresh)
        guard !state.paused else { return }
        if behind {
            state.refreshEvents(try store.latestEvents(state.filter, limit: AppState.tableLoad), limit: AppState.tableLoad)
        }
        state.receive(fresh)
    }

    private func readGaps(nowMs: Int64) throws(StoreError) {
        cursor.expire(nowMs: nowMs)
        guard !cursor.gaps.isEmpty else { return }
        let late = try store.events(inIDRanges: cursor.gaps.map(\.range))
        guard !late.isEmpty else { return }
        cursor.fill(late.compactMap(\.id))
        state.stats.add(late)
        if !state.paused { state.receive(late) }
    }

    private func refreshSlowly(nowMs: Int64, force: Bool) {
        guard force || nowMs - lastSlowRefreshMs >= 1000 else { return }
        lastSlowRefreshMs = nowMs
        var warnings: [String] = []
        do {
            state.settings = try store.settings()
            state.circuits = try store.circuits()
            let dropped = try store.writerStatuses(nowMs: nowMs).reduce(0) { $0 + $1.dropped }
            if dropped > 0 { warnings.append("event writer dropping events (\(dropped) dropped)") }
            let unknown = try store.unknownMigrations()
            if !unknown.isEmpty { warnings.append("schema too new: \(unknown.joined(separator: ", "))") }
            if state.screen == .rules { try reloadRules(hits: nil) }
            if state.screen == .lockouts { state.lockouts = try store.loginFailures(nowMs: nowMs) }
            if state.screen == .top, nowMs - lastTopLoadMs >= 2000 { try loadTop() }
            state.nodes = try store.nodes(nowMs: nowMs)
            state.searchBacklog = try store.searchBacklog()
            for node in state.nodes where node.isStale(nowMs: nowMs) && nowMs - node.updatedMs < 3_600_000 {
                warnings.append("node \(TerminalText.escape(node.name)) stopped reporting \((nowMs - node.updatedMs) / 1000)s ago")
            }
        } catch {
            warnings.append("database unreachable: \(error.description)")
        }
        state.warnings = warnings
    }

    /// A test action against local policy as the server would see it now: today's rules, the
    /// lockout, and rate windows rebuilt from the log (its newest 200,000 events at most). Nothing
    /// is logged or counted; the endpoint is not called.
    private func testTrace(_ type: ActionType, email: String, ip: String?) throws(StoreError) -> [TraceStep] {
        let now = WallClock.nowMs()
        let book = RuleBook(try store.rules(includeExpired: false, nowMs: now))
        let fold = try store.foldAddresses()
        let counter = RateCounter()
        _ = try counter.rebuild(from: store, rules: book.rates, foldAddresses: fold, nowMs: now, maxEvents: 200_000)
        let attempt = Attempt(type: type, timeMs: now, email: email, ip: ip)
        let key = Normalize.accountKey(attempt.email, foldAddresses: fold)
        let lockout = type == .authentication ? try store.loginFailures(nowMs: now).first { $0.email == key } : nil
        let verdict = PolicyEvaluator.evaluate(attempt, book: book, counter: counter, lockout: lockout,
                                               options: .init(record: false, trace: true, foldAddresses: fold))
        let outcome = verdict.denied
            ? "Deny" + (verdict.rule.map { " by rule \($0)" } ?? "") + ": " + (verdict.message ?? "")
            : "not denied locally" + (verdict.rule.map { " (rule \($0) allows)" } ?? "") + "; the endpoint or the default decides next"
        return [TraceStep("test", "\(type.rawValue) \(email)" + (ip.map { " from \($0)" } ?? ""))] + verdict.trace + [TraceStep("verdict", outcome)]
    }

    /// The attack panel reads at most this many of the window's newest denied (and failed)
    /// decisions; the panel says when that cut the window short.
    static let topLoadLimit = 20_000
    private var lastTopLoadMs: Int64 = 0

    private func loadTop() throws(StoreError) {
        let since = state.nowMs - state.stats.windowMs
        let denied = try store.latestEvents(EventFilter(deniedOnly: true, sinceMs: since), limit: Self.topLoadLimit)
        let failed = try store.latestEvents(EventFilter(failuresOnly: true, sinceMs: since), limit: Self.topLoadLimit)
        let selectedKey = state.topRows.indices.contains(state.topSelected) ? state.topRows[state.topSelected].key : nil
        state.offenders = TopOffenders(denied: denied, failed: failed, nowMs: state.nowMs, windowMs: state.stats.windowMs,
                                       capped: denied.count == Self.topLoadLimit || failed.count == Self.topLoadLimit)
        state.topSelected = selectedKey.flatMap { key in state.topRows.firstIndex { $0.key == key } }
            ?? min(state.topSelected, max(0, state.topRows.count - 1))
        lastTopLoadMs = state.nowMs
    }

    /// A window's figures are loaded from at most the newest million events; the header says when
    /// that cut the window short.
    static let statsLoadLimit = 1_000_000

    private func loadStats(nowMs: Int64) throws(StoreError) {
        let since = nowMs - state.stats.windowMs
        let samples = try store.statSamples(sinceMs: since, limit: Self.statsLoadLimit)
        state.stats.reset()
        state.stats.add(samples)
        if samples.count >= Self.statsLoadLimit, let oldest = samples.map(\.timeMs).min(), oldest > since {
            state.stats.coveredSinceMs = oldest
        }
    }

    /// Hits are counted over the newest million events at most, so the screen opens at once on a huge log.
    static let hitScanLimit = 1_000_000
    private var ruleHits: [Int64: RuleHits] = [:]

    /// Re-reads the rules (hits only when given: counting them scans the log), keeping the
    /// selection on the same rule, or moving it to `focusRule`.
    private func reloadRules(hits: [Int64: RuleHits]?) throws(StoreError) {
        if let hits { ruleHits = hits }
        let selectedID = state.focusRule ?? (state.rules.indices.contains(state.ruleSelected) ? state.rules[state.ruleSelected].id : nil)
        state.rules = RuleRow.rows(try store.rules(nowMs: state.nowMs), hits: ruleHits)
        state.ruleSelected = selectedID.flatMap { id in state.rules.firstIndex { $0.id == id } }
            ?? min(state.ruleSelected, max(0, state.rules.count - 1))
        if let focus = state.focusRule, !state.rules.contains(where: { $0.id == focus }) {
            state.message = .init(text: "rule \(focus) no longer exists", isError: true)
        }
        state.focusRule = nil
    }

    private func attempt(_ body: () throws -> Void) {
        do { try body() } catch {
            let text = "database unreachable: \((error as? StoreError)?.description ?? "\(error)")"
            if !state.warnings.contains(text) { state.warnings.append(text) }
        }
    }

    /// A key press: reduce, then do what the reducer asked.
    public func press(_ key: Key) {
        let effects = state.handle(key)
        for effect in effects { apply(effect) }
    }

    public var shouldQuit: Bool { state.quit }

    public func setBindings(_ bindings: KeyBindings) { state.bindings = bindings }

    public func setSize(width: Int, height: Int) {
        state.width = width
        state.height = height
        state.pageSize = Renderer.tableRows(height: height)
    }

    public func setASCII(_ ascii: Bool) { state.asciiOnly = ascii }

    /// Where `y` copies an event: the terminal's clipboard when it takes OSC 52 (set by the app),
    /// else a file in the current directory.
    public var clipboard: ((String) -> Void)?

    func apply(_ effect: Effect) {
        do {
            switch effect {
            case .setMode(let type, let mode):
                try store.setErrorMode(mode, for: type, by: actor)
                state.settings = try store.settings()
            case .addDeny(let entry):
                let saved = try store.addListEntry(entry, by: actor)
                state.focusRule = saved.id
                try reloadRules(hits: nil)
                state.message = .init(text: "\(saved.shadow ? "shadow: logging" : "denied") \(saved.kind.rawValue) \(TerminalText.escape(saved.value)) (\(saved.scope.rawValue)), rule \(saved.id)", isError: false)
            case .previewDeny(let entry):
                // The same replay `actionsctl deny add --preview` runs, over the last 24 hours.
                let impact = try ImpactPreview.run(store, entry: entry, nowMs: state.nowMs)
                state.message = nil
                state.prompt = .confirmAdd(entry, preview: ImpactPreview.sentence(impact))
            case .removeRule(let id):
                try store.removeRule(id: id, by: actor)
                try reloadRules(hits: nil)
                state.message = .init(text: "deleted rule \(id)", isError: false)
            case .setShadow(let id, let shadow):
                try store.setShadow(shadow, rule: id, by: actor)
                try reloadRules(hits: nil)
                state.message = .init(text: shadow ? "rule \(id) demoted: shadow, logged only" : "rule \(id) promoted: enforcing", isError: false)
            case .unlock(let email):
                try store.unlock(email: email, by: actor)
                state.lockouts = try store.loginFailures()
                state.lockoutSelected = min(state.lockoutSelected, max(0, state.lockouts.count - 1))
                state.message = .init(text: "unlocked \(TerminalText.escape(email))", isError: false)
            case .reloadEvents:
                try reloadEvents()
            case .loadRules:
                try reloadRules(hits: try store.ruleHits(sinceMs: state.nowMs - 86_400_000, scanLimit: Self.hitScanLimit))
            case .loadLockouts:
                state.lockouts = try store.loginFailures()
            case .loadStats:
                try loadStats(nowMs: state.nowMs)
                let covered = state.stats.coveredSinceMs.map { " (the newest \(Self.statsLoadLimit / 1_000_000) M events: since \(DurationText.text(max(1000, (state.nowMs - $0) / 1000 * 1000))) ago)" } ?? ""
                state.message = .init(text: "window \(state.stats.window.label)\(covered)", isError: false)
            case .loadTop:
                try loadTop()
            case .testAction(let type, let email, let ip):
                state.testTrace = try testTrace(type, email: email, ip: ip)
            case .loadNodes:
                state.nodes = try store.nodes()
                state.nodeSelected = min(state.nodeSelected, max(0, state.nodes.count - 1))
            case .export(let path):
                let format = EventExport.Format(fileName: path)
                let events = try store.latestEvents(state.filter, limit: AppState.exportLimit)
                let count = try EventExport.write(events, to: path, format: format)
                let bounded = count == AppState.exportLimit ? " (the newest \(AppState.exportLimit); actionsctl events --limit for more)" : ""
                state.message = .init(text: "exported \(count) events to \(TerminalText.escape(path)) as \(format.rawValue)\(bounded)", isError: false)
            case .copyEvent(let event):
                let json = try EventExport.line(event, .jsonl)
                if let clipboard {
                    clipboard(json)
                    state.message = .init(text: "copied event \(TerminalText.escape(event.uid)) as JSON to the clipboard (OSC 52)", isError: false)
                } else {
                    let path = "actions-event-\(event.uid.filter { $0.isLetter || $0.isNumber || $0 == "_" }).json"
                    try (json + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                    state.message = .init(text: "event written to \(path) (this terminal takes no clipboard writes)", isError: false)
                }
            case .cycleTheme:
                let name = catalog.next(after: state.themeName)
                let loaded = try catalog.load(name)
                theme = noColor ? loaded.withoutColor : loaded
                state.themeName = name
                state.message = .init(text: "theme \(name)" + (noColor ? " (NO_COLOR: attributes only)" : ""), isError: false)
            }
        } catch let error as StoreError {
            state.message = .init(text: TerminalText.escape(error.description), isError: true)
        } catch {
            state.message = .init(text: TerminalText.escape("\(error)"), isError: true)
        }
    }
}
