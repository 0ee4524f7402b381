import Foundation
import Synchronization
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy

/// Connects the state to the store: loads, tails, and carries out the reducer's effects.
///
/// The state lives on the UI thread and only there. Every store read and write runs on a
/// `StoreWorker` lane (the tail's, or the queries'), and its result is applied when the UI loop
/// calls `drain()`: a query on the biggest log never stops the screen, the clock or the keys,
/// and `Esc` stops it. Each tick reads only what changed (`PRAGMA data_version`, then rows after
/// the last id seen), so a 100-million-row log costs the same as an empty one.
package final class DashboardController {
    package private(set) var state = AppState()
    package private(set) var theme: Theme
    let store: Store
    let catalog: ThemeCatalog
    let noColor: Bool
    let actor: Operator
    private let worker: StoreWorker
    private var cursor = TailCursor()
    private var lastDataVersion = -1
    private var lastSlowRefreshMs: Int64 = 0
    private var tailReadRunning = false
    private var slowRunning = false
    /// Events the tail delivered while a reload was under way: a reload's answer is a snapshot
    /// from when it ran, so what arrived since is merged back into it (never lost, never twice).
    private var tailDuringReload: [Event] = []
    private var reloadsPending = 0
    /// The filter the table's rows were last read for.
    private var shownFilter = AppState().filter
    /// Most new rows read in one tick; beyond this the tail skips ahead (a flood cannot stall the screen).
    let maxTailPerTick = 20_000
    /// At start, holes among this many newest ids are watched for late commits.
    static let startHoleScan = 1000
    /// Most tail events kept for merging into a reload's answer.
    static let tailBufferLimit = 50_000

    /// - Parameter queryStore: a second connection for long queries, so that they never hold up
    ///   the tail (SQLite serializes a connection's work); the tail's store when nil.
    package init(store: Store, queryStore: Store? = nil, theme: Theme, catalog: ThemeCatalog, noColor: Bool, readOnly: Bool,
                actor: Operator = .current()) {
        self.store = store
        self.catalog = catalog
        self.noColor = noColor
        self.theme = noColor ? theme.withoutColor : theme
        self.actor = actor
        worker = StoreWorker(tail: store, query: queryStore ?? store)
        state.readOnly = readOnly || store.isReadOnly
        state.databasePath = store.path
        state.themeName = theme.name
    }

    // MARK: The UI loop's side

    /// Applies every result that is ready; true when something changed (the screen needs drawing).
    @discardableResult
    package func drain() -> Bool {
        // How far a running search got, for the message line.
        var changed = false
        if state.searching != nil, let step = searchControl.progress.withLock({ $0 }), step != state.searching?.progress {
            state.searching?.progress = step
            changed = true
        }
        return worker.drain() || changed
    }

    /// A running search's last step, and the flag that stops it (set from the UI thread, read by
    /// the query lane between steps: on PostgreSQL nothing else stops a search's statements).
    private let searchControl = SearchControl()

    private final class SearchControl: Sendable {
        let progress = Mutex<SearchProgress?>(nil)
        let stop = Mutex(false)
    }

    /// True while work is queued or running (the loop then wakes more often to apply it).
    package var isWorking: Bool { worker.hasPendingWork }

    /// Waits until every queued read and write has run and its result is applied (tests, benchmarks).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func settle(timeout: TimeInterval = 60) { worker.settle(timeout: timeout) }

    /// The header's clock, between ticks.
    package func showTime(nowMs: Int64 = WallClock.nowMs()) { state.nowMs = nowMs }

    /// A long-lived reader must not keep the WAL growing: truncates it, on the tail's lane.
    package func checkpoint() {
        worker.run(.tail) { store in store.checkpoint() } then: { _ in }
    }

    // MARK: Loading and the tail

    private struct Loaded: Sendable {
        var newestIDs: [Int64]
        var events: [Event]
        var logStartMs: Int64?
        var samples: [StatSample]
        var version: Int
    }

    /// The first screen: the newest rows, the header's window, settings.
    package func load(nowMs: Int64 = WallClock.nowMs()) {
        state.nowMs = nowMs
        let filter = state.filter, since = nowMs - state.stats.windowMs
        // The first tick waits for this: it starts from the cursor the load sets.
        tailReadRunning = true
        worker.run(.tail) { store in
            Result { () throws(StoreError) -> Loaded in
                // The data version first: a commit after it is read again by the first tick.
                let version = try store.dataVersion()
                return Loaded(newestIDs: try store.newestEventIDs(limit: Self.startHoleScan).reversed(),
                              events: try store.latestEvents(filter, limit: AppState.tableLoad),
                              logStartMs: try store.firstEventTimeMs(),
                              samples: try store.statSamples(sinceMs: since, limit: Self.statsLoadLimit), version: version)
            }
        } then: { [self] result in
            tailReadRunning = false
            guard let loaded = succeeded(result, warn: true) else { return }
            cursor.start(at: loaded.newestIDs, nowMs: nowMs)
            lastDataVersion = loaded.version
            // A filter chosen meanwhile has its own reload queued.
            if state.filter == filter {
                shownFilter = filter
                state.replaceEvents(loaded.events, limit: AppState.tableLoad)
            }
            state.stats.logStartMs = loaded.logStartMs
            applyStats(loaded.samples, since: since)
        }
        refreshSlowly(nowMs: nowMs, force: true)
    }

    private struct TailRead: Sendable {
        var version: Int
        var cursor: TailCursor
        var fresh: [Event]
        /// The tail fell too far behind: the table's rows, read afresh for this filter.
        var reloaded: [Event]?
    }

    /// One refresh: the tail, the holes it left, the header, and every second the settings and
    /// warnings. A tick is skipped while the previous one still runs.
    package func tick(nowMs: Int64 = WallClock.nowMs()) {
        state.nowMs = nowMs
        defer { refreshSlowly(nowMs: nowMs, force: false) }
        guard !tailReadRunning else { return }
        tailReadRunning = true
        let cursor = self.cursor, lastVersion = lastDataVersion, filter = state.filter, maxTail = maxTailPerTick
        worker.run(.tail) { store in
            Result { () throws(StoreError) -> TailRead in
                var cursor = cursor
                var fresh: [Event] = []
                var reloaded: [Event]?
                let version = try store.dataVersion()
                if version != lastVersion {
                    let newest = try store.maxEventID()
                    // A flood: read on from the newest rows, and take the table from the store's
                    // answer, so that it never holds rows around a skipped stretch without the stretch.
                    if newest - cursor.lastSeenID > Int64(maxTail) {
                        cursor.skip(to: newest - Int64(maxTail))
                        reloaded = try store.latestEvents(filter, limit: AppState.tableLoad)
                    }
                    fresh = try store.events(after: cursor.lastSeenID, limit: maxTail)
                    cursor.advance(over: fresh.compactMap(\.id), nowMs: nowMs)
                }
                // A late commit need not change the data version (PostgreSQL's is built on max(id)).
                cursor.expire(nowMs: nowMs)
                if !cursor.gaps.isEmpty {
                    let late = try store.events(inIDRanges: cursor.gaps.map(\.range))
                    cursor.fill(late.compactMap(\.id))
                    fresh += late
                }
                return TailRead(version: version, cursor: cursor, fresh: fresh, reloaded: reloaded)
            }
        } then: { [self] result in
            tailReadRunning = false
            guard let read = succeeded(result, warn: true) else { return }
            self.cursor = read.cursor
            lastDataVersion = read.version
            state.stats.add(read.fresh)
            followOffenders(read.fresh, skipped: read.reloaded != nil, nowMs: state.nowMs)
            if reloadsPending > 0 {
                tailDuringReload += read.fresh
                // Bounded: the reload's answer holds the newest rows; older arrivals add nothing to it.
                if tailDuringReload.count > Self.tailBufferLimit { tailDuringReload.removeFirst(tailDuringReload.count - Self.tailBufferLimit) }
            }
            guard !state.paused else { return }
            // A reload for another filter is already queued; its answer will do.
            if let reloaded = read.reloaded, state.filter == filter { state.refreshEvents(reloaded) }
            // Until a reload lands the table shows the filter it was read for: arrivals join by that filter.
            state.receive(read.fresh, matching: shownFilter)
        }
    }

    /// The table becomes the store's answer for the filter; what the tail delivered meanwhile is merged in.
    private func reloadEvents() {
        let filter = state.filter
        reloadsPending += 1
        if !filter.text.isEmpty { state.searching = .init(text: filter.text, sinceMs: WallClock.nowMs()) }
        // A search runs in steps that report how far they got and stop when Esc is pressed.
        let control = searchControl
        control.progress.withLock { $0 = nil }
        control.stop.withLock { $0 = false }
        worker.run(.query) { store in
            Result { () throws(StoreError) -> (events: [Event], unscanned: Int64) in
                var last: SearchProgress?
                let answer = try store.searchLatest(filter, limit: AppState.tableLoad) { step in
                    last = step
                    control.progress.withLock { $0 = step }
                    return !control.stop.withLock { $0 }
                }
                let unscanned = answer.events.count < AppState.tableLoad ? last.map { max(0, $0.unindexed - $0.total) } ?? 0 : 0
                return (answer.events, unscanned)
            }
        } then: { [self] result in
            reloadsPending -= 1
            defer { if reloadsPending == 0 { tailDuringReload = [] } }
            if state.searching?.text == filter.text { state.searching = nil }
            // A later filter's reload follows; this answer is for a filter no longer shown.
            guard state.filter == filter, let answer = succeeded(result, warn: false) else { return }
            let events = answer.events
            state.searchUnscanned = filter.text.isEmpty ? 0 : answer.unscanned
            shownFilter = filter
            state.replaceEvents(events, limit: AppState.tableLoad)
            // Everything the tail delivered meanwhile, late commits below the snapshot's newest id
            // included: the table takes each event once whatever its id.
            state.receive(tailDuringReload)
        }
    }

    // MARK: The slow refresh

    private struct Slow: Sendable {
        var settings: [ActionType: ActionSettings]
        var circuits: [ActionType: CircuitState]
        var dropped: Int
        var unknownMigrations: [String]
        var rules: RuleSet?
        var lockouts: [LoginFailures]?
        var nodes: [NodeStatus]
        var searchBacklog: Int64
    }

    /// Every second: settings, circuits, the writers' health, nodes, and the open list screen.
    private func refreshSlowly(nowMs: Int64, force: Bool) {
        guard force || nowMs - lastSlowRefreshMs >= 1000 else { return }
        lastSlowRefreshMs = nowMs
        defer { refreshPanels(nowMs: nowMs) }
        // One at a time: with the database slow or away, refreshes must not pile up behind each other.
        guard !slowRunning else { return }
        slowRunning = true
        let screen = state.screen
        worker.run(.tail) { store in
            Result { () throws(StoreError) -> Slow in
                Slow(settings: try store.settings(), circuits: try store.circuits(),
                     dropped: try store.writerStatuses(nowMs: nowMs).reduce(0) { $0 + $1.dropped },
                     unknownMigrations: try store.unknownMigrations(),
                     rules: screen == .rules ? try store.rules(nowMs: nowMs) : nil,
                     lockouts: screen == .lockouts ? try store.loginFailures(nowMs: nowMs) : nil,
                     nodes: try store.nodes(nowMs: nowMs), searchBacklog: try store.searchBacklog())
            }
        } then: { [self] result in
            slowRunning = false
            var warnings: [String] = []
            switch result {
            case .success(let slow):
                state.settings = slow.settings
                state.circuits = slow.circuits
                if slow.dropped > 0 { warnings.append("event writer dropping events (\(slow.dropped) dropped)") }
                if !slow.unknownMigrations.isEmpty { warnings.append("schema too new: \(slow.unknownMigrations.joined(separator: ", "))") }
                if let rules = slow.rules, state.screen == .rules { showRules(rules) }
                if let lockouts = slow.lockouts, state.screen == .lockouts { state.lockouts = lockouts }
                state.nodes = slow.nodes
                state.searchBacklog = slow.searchBacklog
                // A node that said it stopped is no news; one that went silent is.
                for node in state.nodes where node.phase(nowMs: nowMs) == .silent && nowMs - node.updatedMs < 3_600_000 {
                    warnings.append("node \(TerminalText.escape(node.name)) went silent \((nowMs - node.updatedMs) / 1000)s ago")
                }
            case .failure(let error):
                warnings.append("database unreachable: \(error.description)")
            }
            state.warnings = warnings
        }
    }

    /// The open panel's heavier figures, on the query lane when it is free.
    private func refreshPanels(nowMs: Int64) {
        if state.screen == .top, offenderWindow == nil, !topLoading, !worker.isBusy(.query) { loadTop(.background) }
        // The rules screen's hit counts follow the log (a new rule showed 0 hits while the log had 35).
        if state.screen == .rules, nowMs - lastHitsMs >= 5000, !worker.isBusy(.query) {
            lastHitsMs = nowMs
            reloadRules(countHits: true, kind: .background)
        }
    }

    /// The result's value; its error becomes a footer warning (`warn`) or the message line.
    private func succeeded<T>(_ result: Result<T, StoreError>, warn: Bool) -> T? {
        switch result {
        case .success(let value):
            return value
        case .failure(let error):
            if warn {
                let text = "database unreachable: \(error.description)"
                if !state.warnings.contains(text) { state.warnings.append(text) }
            } else {
                state.message = .init(text: TerminalText.escape(error.description), isError: true)
            }
            return nil
        }
    }

    // MARK: Panels

    /// A test action against local policy as the server would see it now: today's rules, the
    /// lockout, and rate windows rebuilt from the log (its newest 200,000 events at most). Nothing
    /// is logged or counted; the endpoint is not called.
    private static func testTrace(_ store: Store, _ type: ActionType, email: String, ip: String?) throws(StoreError) -> [TraceStep] {
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
    /// The attack panel's window, kept up to date from the tail once loaded (nil: not on the
    /// panel, or not loaded yet); arrivals during its load are held and added to it.
    private var offenderWindow: OffenderWindow?
    private var topLoading = false
    private var topArrivals: [Event] = []
    /// A capped load's figures cover the window once its oldest event has left it.
    private var topCappedUntilMs: Int64?

    /// Reads the window's denied and failed decisions once; from then on the tail's arrivals
    /// keep the panel's counts (`followOffenders`), so nothing is re-read while it is open.
    private func loadTop(_ kind: StoreWorker.Kind = .read) {
        let nowMs = state.nowMs, windowMs = state.stats.windowMs, since = nowMs - windowMs
        offenderWindow = nil
        topLoading = true
        topArrivals = []
        worker.run(.query, kind) { store in
            Result { () throws(StoreError) -> (events: [Event], cappedFromMs: Int64?) in
                let denied = try store.latestEvents(EventFilter(deniedOnly: true, sinceMs: since), limit: Self.topLoadLimit)
                let failed = try store.latestEvents(EventFilter(failuresOnly: true, sinceMs: since), limit: Self.topLoadLimit)
                let capped = [denied, failed].filter { $0.count == Self.topLoadLimit }.compactMap { $0.map(\.timeMs).min() }.max()
                return (denied + failed, capped)
            }
        } then: { [self] result in
            topLoading = false
            guard state.screen == .top, windowMs == state.stats.windowMs, let loaded = succeeded(result, warn: false) else { return }
            var window = OffenderWindow(windowMs: windowMs)
            window.add(loaded.events + topArrivals, nowMs: state.nowMs)
            topArrivals = []
            offenderWindow = window
            topCappedUntilMs = loaded.cappedFromMs.map { $0 + windowMs }
            showOffenders()
        }
    }

    /// Arrivals count toward the open panel; a tail that skipped a flood's stretch reloads it.
    private func followOffenders(_ fresh: [Event], skipped: Bool, nowMs: Int64) {
        guard state.screen == .top else {
            offenderWindow = nil
            return
        }
        if topLoading {
            // Only what the panel counts, and bounded: a load that outlasts a flood reloads anyway.
            topArrivals += fresh.filter { $0.verdict == .deny || $0.outcome != .ok }
            if topArrivals.count > OffenderWindow.maxEntries { topArrivals.removeFirst(topArrivals.count - OffenderWindow.maxEntries) }
        } else if skipped {
            loadTop(.background)
        } else if offenderWindow != nil {
            offenderWindow?.add(fresh, nowMs: nowMs)
            showOffenders()
        }
    }

    private func showOffenders() {
        guard var window = offenderWindow else { return }
        window.advance(nowMs: state.nowMs)
        offenderWindow = window
        var offenders = window.snapshot(nowMs: state.nowMs)
        offenders.capped = offenders.capped || topCappedUntilMs.map { state.nowMs < $0 } ?? false
        let selectedKey = state.topRows.indices.contains(state.topSelected) ? state.topRows[state.topSelected].key : nil
        state.offenders = offenders
        state.topSelected = selectedKey.flatMap { key in state.topRows.firstIndex { $0.key == key } }
            ?? min(state.topSelected, max(0, state.topRows.count - 1))
    }

    /// A window's figures are loaded from at most the newest million events; the header says when
    /// that cut the window short.
    static let statsLoadLimit = 1_000_000

    private func loadStats(announce: Bool) {
        let since = state.nowMs - state.stats.windowMs, nowMs = state.nowMs
        worker.run(.query) { store in
            Result { () throws(StoreError) in try store.statSamples(sinceMs: since, limit: Self.statsLoadLimit) }
        } then: { [self] result in
            guard let samples = succeeded(result, warn: false) else { return }
            applyStats(samples, since: since)
            guard announce else { return }
            let covered = state.stats.coveredSinceMs.map { " (the newest \(Self.statsLoadLimit / 1_000_000) M events: since \(DurationText.text(max(1000, (nowMs - $0) / 1000 * 1000))) ago)" } ?? ""
            state.message = .init(text: "window \(state.stats.window.label)\(covered)", isError: false)
        }
    }

    private func applyStats(_ samples: [StatSample], since: Int64) {
        state.stats.reset()
        state.stats.add(samples)
        if samples.count >= Self.statsLoadLimit, let oldest = samples.map(\.timeMs).min(), oldest > since {
            state.stats.coveredSinceMs = oldest
        }
    }

    /// Hits are counted over the newest million events at most, so the screen opens at once on a huge log.
    static let hitScanLimit = 1_000_000
    private var ruleHits: [Int64: RuleHits] = [:]
    private var lastHitsMs: Int64 = 0

    /// Shows the rules (with the hits last counted), keeping the selection on the same rule, or
    /// moving it to `focusRule`.
    private func showRules(_ rules: RuleSet) {
        let selectedID = state.focusRule ?? (state.rules.indices.contains(state.ruleSelected) ? state.rules[state.ruleSelected].id : nil)
        state.rules = RuleRow.rows(rules, hits: ruleHits)
        state.ruleSelected = selectedID.flatMap { id in state.rules.firstIndex { $0.id == id } }
            ?? min(state.ruleSelected, max(0, state.rules.count - 1))
        if let focus = state.focusRule, !state.rules.contains(where: { $0.id == focus }) {
            state.message = .init(text: "rule \(focus) no longer exists", isError: true)
        }
        state.focusRule = nil
    }

    /// Re-reads the rules, and their hits when `countHits` (counting them scans the log).
    private func reloadRules(countHits: Bool = false, then message: Message? = nil, kind: StoreWorker.Kind = .read) {
        let nowMs = state.nowMs
        worker.run(.query, kind) { store in
            Result { () throws(StoreError) -> (RuleSet, [Int64: RuleHits]?) in
                (try store.rules(nowMs: nowMs),
                 countHits ? try store.ruleHits(sinceMs: nowMs - 86_400_000, scanLimit: Self.hitScanLimit) : nil)
            }
        } then: { [self] result in
            guard let (rules, hits) = succeeded(result, warn: false) else { return }
            if let hits { ruleHits = hits }
            showRules(rules)
            if let message { state.message = message }
        }
    }

    private typealias Message = AppState.Message

    // MARK: Keys

    /// A key press: reduce, then do what the reducer asked. `Esc` also stops a running query.
    package func press(_ key: Key) {
        // Esc stops a running search or panel load, and does only that: the table still shows
        // the last filter it was read for, and that filter is back in force.
        if key == .escape, state.prompt == nil, !state.showHelp, worker.cancelQueries() {
            searchControl.stop.withLock { $0 = true }
            // A panel load stopped with it: the panel loads again on its next refresh.
            topLoading = false
            topArrivals = []
            reloadsPending = 0
            tailDuringReload = []
            state.filter = shownFilter
            state.searching = nil
            state.message = .init(text: "stopped", isError: false)
            return
        }
        let effects = state.handle(key)
        for effect in effects { apply(effect) }
    }

    /// At quit: reads are dropped, writes already confirmed (a deny entry, a mode flip) are
    /// finished, within a few seconds, before the program exits.
    package func finish() { worker.finish() }

    package var shouldQuit: Bool { state.quit }

    package func setBindings(_ bindings: KeyBindings) { state.bindings = bindings }

    package func setSize(width: Int, height: Int) {
        state.width = width
        state.height = height
        state.pageSize = Renderer.tableRows(height: height)
    }

    package func setASCII(_ ascii: Bool) { state.asciiOnly = ascii }

    /// Where `y` copies an event: the terminal's clipboard when it takes OSC 52 (set by the app),
    /// else a file in the current directory.
    package var clipboard: ((String) -> Void)?
    /// Why there is no clipboard, for the message that says where the event went instead.
    package var clipboardMissing = "this terminal takes no clipboard writes"

    /// Runs store work on the query lane (`.write`: never stopped by Esc); `then` reports it on the UI thread.
    private func write<T: Sendable>(_ kind: StoreWorker.Kind = .write, _ work: @escaping @Sendable (Store) throws(StoreError) -> T,
                                    then: @escaping (T) -> Void) {
        worker.run(.query, kind) { store in Result { () throws(StoreError) -> T in try work(store) } } then: { [self] result in
            guard let value = succeeded(result, warn: false) else { return }
            then(value)
        }
    }

    func apply(_ effect: Effect) {
        let actor = self.actor, nowMs = state.nowMs
        switch effect {
        case .setMode(let type, let mode):
            write { store throws(StoreError) in
                try store.setErrorMode(mode, for: type, by: actor)
                return try store.settings()
            } then: { [self] settings in
                state.settings = settings
                // Said once it is in the store, where every node reads it.
                state.message = .init(text: "\(type.rawValue): error mode set to \(mode.rawValue)", isError: false)
            }
        case .addDeny(let entry):
            write { store throws(StoreError) in try store.addListEntry(entry, by: actor) } then: { [self] saved in
                state.focusRule = saved.id
                reloadRules(then: .init(text: "\(saved.shadow ? "shadow: logging" : "denied") \(saved.kind.rawValue) \(TerminalText.escape(saved.value)) (\(saved.scope.rawValue)), rule \(saved.id)", isError: false))
            }
        case .previewDeny(let entry):
            // The same replay `actionsctl deny add --preview` runs, over the last 24 hours.
            // An entry that already denies it (enforcing, not expired: the same value, a wildcard
            // or a network around it, not undone by an allow entry) is named instead: a preview of
            // "would have denied 0" invited a second rule for what rule 1 does.
            write(.read) { store throws(StoreError) -> (existing: Int64?, impact: Replay.RuleImpact?) in
                var normalized = entry
                normalized.value = try StoreError.checking { () throws(InvalidValue) in try ListEntry.normalize(entry.value, kind: entry.kind) }
                let existing = DenyCoverage.coveringEntry(for: normalized, in: try store.rules(includeExpired: false, nowMs: nowMs), nowMs: nowMs)
                if let existing, !entry.shadow { return (existing.id, nil) }
                return (nil, try ImpactPreview.run(store, entry: normalized, nowMs: nowMs))
            } then: { [self] result in
                if let rule = result.existing {
                    state.message = .init(text: "\(TerminalText.escape(entry.value)) is already denied by rule \(rule)", isError: false)
                    return
                }
                // Not over a prompt the operator opened meanwhile.
                guard state.prompt == nil, let impact = result.impact else { return }
                state.message = nil
                state.prompt = .confirmAdd(entry, preview: ImpactPreview.sentence(impact))
            }
        case .removeRule(let id):
            write { store throws(StoreError) in try store.removeRule(id: id, by: actor) } then: { [self] _ in
                reloadRules(then: .init(text: "deleted rule \(id)", isError: false))
            }
        case .setShadow(let id, let shadow):
            write { store throws(StoreError) in try store.setShadow(shadow, rule: id, by: actor) } then: { [self] _ in
                reloadRules(then: .init(text: shadow ? "rule \(id) demoted: shadow, logged only" : "rule \(id) promoted: enforcing", isError: false))
            }
        case .unlock(let email):
            write { store throws(StoreError) in
                try store.unlock(email: email, by: actor)
                return try store.loginFailures()
            } then: { [self] lockouts in
                state.lockouts = lockouts
                state.lockoutSelected = min(state.lockoutSelected, max(0, state.lockouts.count - 1))
                state.message = .init(text: "unlocked \(TerminalText.escape(email))", isError: false)
            }
        case .reloadEvents:
            reloadEvents()
        case .loadRules:
            reloadRules(countHits: true)
        case .loadLockouts:
            write(.read) { store throws(StoreError) in try store.loginFailures() } then: { [self] lockouts in state.lockouts = lockouts }
        case .loadStats:
            loadStats(announce: true)
        case .loadTop:
            loadTop()
        case .testAction(let type, let email, let ip):
            write(.read) { store throws(StoreError) in try Self.testTrace(store, type, email: email, ip: ip) } then: { [self] trace in
                state.testTrace = trace
            }
        case .loadNodes:
            write(.read) { store throws(StoreError) in try store.nodes() } then: { [self] nodes in
                state.nodes = nodes
                state.nodeSelected = min(state.nodeSelected, max(0, state.nodes.count - 1))
            }
        case .export(let path):
            let filter = state.filter
            let format = EventExport.Format(fileName: path)
            write { store throws(StoreError) in
                let events = try store.latestEvents(filter, limit: AppState.exportLimit)
                do { return try EventExport.write(events, to: path, format: format) } catch {
                    throw (error as? StoreError) ?? .invalidValue("cannot write \(path): \(error)")
                }
            } then: { [self] count in
                let bounded = count == AppState.exportLimit ? " (the newest \(AppState.exportLimit); actionsctl events --limit for more)" : ""
                state.message = .init(text: "exported \(count) events to \(TerminalText.escape(path)) as \(format.rawValue)\(bounded)", isError: false)
            }
        case .copyEvent(let event):
            copy(event)
        case .cycleTheme:
            let name = catalog.next(after: state.themeName), catalog = self.catalog, noColor = self.noColor
            write(.read) { _ throws(StoreError) in
                do { return try catalog.load(name) } catch { throw .invalidValue("\(error)") }
            } then: { [self] loaded in
                theme = noColor ? loaded.withoutColor : loaded
                state.themeName = name
                state.message = .init(text: "theme \(name)" + (noColor ? " (NO_COLOR: attributes only)" : ""), isError: false)
            }
        }
    }

    private func copy(_ event: Event) {
        let json: String
        do {
            json = try EventExport.line(event, .jsonl)
        } catch {
            state.message = .init(text: TerminalText.escape("\(error)"), isError: true)
            return
        }
        if let clipboard {
            clipboard(json)
            state.message = .init(text: "copied event \(TerminalText.escape(event.uid)) as JSON to the clipboard (OSC 52)", isError: false)
            return
        }
        let path = "actions-event-\(event.uid.filter { $0.isLetter || $0.isNumber || $0 == "_" }).json"
        write { _ throws(StoreError) in
            do { try EventExport.writePrivateFile(path, Array((json + "\n").utf8)) } catch { throw .invalidValue("\(error)") }
        } then: { [self] _ in
            state.message = .init(text: "event written to \(path) (\(clipboardMissing))", isError: false)
        }
    }
}
