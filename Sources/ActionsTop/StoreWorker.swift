import Foundation
import ActionsDomain
import ActionsStore

/// Runs the dashboard's store work off the UI thread, as k9s's background updater does: the
/// screen keeps drawing, the clock ticks and keys work while a query runs.
///
/// Two lanes, each a thread of its own with its own connection: the tail (the refresh tick's
/// short reads) and queries (reloads, searches, panels, exports, edits), so that a search that
/// scans a huge log never stops the tail. Work runs in order within a lane. Its result comes back
/// to the UI thread, which applies it in `drain()`: only the UI thread ever touches the state,
/// and the closures that apply results never cross threads.
final class StoreWorker {
    enum LaneName: Int, CaseIterable { case tail, query }

    /// A read may be stopped and its result dropped (Esc); a write always runs and reports; a
    /// background refresh (a panel's figures) is dropped too, but stopping it is nothing to report.
    enum Kind { case read, write, background }

    /// Work handed to a lane: it gets that lane's store, and returns a Sendable result.
    private typealias Job = @Sendable (Store) -> any Sendable

    private final class Lane: @unchecked Sendable {
        let store: Store
        private let condition = NSCondition()
        private var jobs: [(id: Int, job: Job)] = []
        private var done: [(id: Int, result: any Sendable)] = []
        /// The job running now, if any.
        private(set) var running: Int?
        /// The lane's thread, as the store names it (a PostgreSQL statement is cancelled by it).
        private var thread: UInt?
        private var stopped = false

        init(store: Store, name: String) {
            self.store = store
            BlockingWork.startThread(named: name) { [self] in loop() }
        }

        /// Drops queued jobs whose ids are in `ids` (they never run).
        func remove(_ ids: Set<Int>) {
            condition.lock()
            jobs.removeAll { ids.contains($0.id) }
            condition.unlock()
        }

        /// Interrupts the job running now if it is one of `ids`, under the lane's lock: no other
        /// job (a write) can start between the check and the interrupt.
        func interrupt(ifRunning ids: Set<Int>) {
            condition.lock()
            defer { condition.unlock() }
            if let running, ids.contains(running) { store.interrupt(thread: thread) }
        }

        func isRunning(any ids: Set<Int>) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            return running.map(ids.contains) ?? false
        }

        func submit(_ id: Int, _ job: @escaping Job) {
            condition.lock()
            jobs.append((id, job))
            condition.signal()
            condition.unlock()
        }

        /// Results ready, in the order their work ran.
        func take() -> [(id: Int, result: any Sendable)] {
            condition.lock()
            defer { condition.unlock() }
            let ready = done
            done = []
            return ready
        }

        var isIdle: Bool {
            condition.lock()
            defer { condition.unlock() }
            return jobs.isEmpty && running == nil && done.isEmpty
        }

        var isBusy: Bool {
            condition.lock()
            defer { condition.unlock() }
            return !jobs.isEmpty || running != nil
        }

        func stop() {
            condition.lock()
            stopped = true
            condition.signal()
            condition.unlock()
        }

        private func loop() {
            condition.lock()
            thread = Store.currentThread
            condition.unlock()
            while true {
                condition.lock()
                while jobs.isEmpty && !stopped { condition.wait() }
                if stopped {
                    condition.unlock()
                    return
                }
                let (id, job) = jobs.removeFirst()
                running = id
                condition.unlock()
                let result = job(store)
                condition.lock()
                running = nil
                done.append((id, result))
                condition.unlock()
            }
        }
    }

    private let lanes: [Lane]
    private var nextID = 0
    /// What to do with each result, by job: kept on the UI thread, never handed to a lane.
    private var completions: [Int: (lane: LaneName, kind: Kind, apply: (any Sendable) -> Void)] = [:]
    private var cancelled: Set<Int> = []

    /// `tail` and `query`: two connections to the same database (one may be the other when the
    /// backend pools connections itself).
    init(tail: Store, query: Store) {
        lanes = [Lane(store: tail, name: "top-tail-lane"), Lane(store: query, name: "top-query-lane")]
    }

    deinit { lanes.forEach { $0.stop() } }

    /// Runs `work` on `lane`; `then` gets its result on the UI thread, in `drain()`.
    @discardableResult
    func run<T: Sendable>(_ lane: LaneName, _ kind: Kind = .read, _ work: @escaping @Sendable (Store) -> T,
                          then: @escaping (T) -> Void) -> Int {
        nextID += 1
        let id = nextID
        completions[id] = (lane, kind, { result in then(result as! T) })
        lanes[lane.rawValue].submit(id, { store in work(store) })
        return id
    }

    /// Applies every result that is ready. Returns whether anything was applied.
    @discardableResult
    func drain() -> Bool {
        var applied = false
        for lane in lanes {
            for (id, result) in lane.take() {
                guard let completion = completions.removeValue(forKey: id) else { continue }
                if cancelled.remove(id) != nil { continue }
                completion.apply(result)
                applied = true
            }
        }
        return applied
    }

    func isBusy(_ lane: LaneName) -> Bool { lanes[lane.rawValue].isBusy }

    var hasPendingWork: Bool { !completions.isEmpty }

    /// Stops the reads of the query lane: the queued ones never run, the running one is
    /// interrupted (SQLite: `sqlite3_interrupt`), and their results are dropped. Writes go on.
    /// Returns whether a read the operator asked for was stopped (not only a background refresh).
    @discardableResult
    func cancelQueries() -> Bool {
        let lane = lanes[LaneName.query.rawValue]
        let reads = Set(completions.filter { $0.value.lane == .query && $0.value.kind != .write }.keys)
        guard !reads.isEmpty else { return false }
        let stoppedARead = completions.contains { reads.contains($0.key) && $0.value.kind == .read }
        lane.remove(reads)
        for id in reads {
            if lane.isRunning(any: [id]) {
                // Its result still arrives; drain drops it.
                cancelled.insert(id)
                lane.interrupt(ifRunning: [id])
            } else {
                completions.removeValue(forKey: id)
            }
        }
        return stoppedARead
    }

    /// Stops at quit: reads are dropped, writes already asked for are finished (at most
    /// `timeout`), and the lanes' threads end.
    func finish(timeout: TimeInterval = 5) {
        cancelQueries()
        let deadline = Date().addingTimeInterval(timeout)
        while completions.values.contains(where: { $0.kind == .write }) && Date() < deadline {
            drain()
            Thread.sleep(forTimeInterval: 0.005)
        }
        lanes.forEach { $0.stop() }
        completions = [:]
    }

    /// Waits until both lanes are idle and every result is applied (tests and benchmarks).
    func settle(timeout: TimeInterval = 60) {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            drain()
            if completions.isEmpty && lanes.allSatisfy(\.isIdle) { return }
            Thread.sleep(forTimeInterval: 0.001)
        } while Date() < deadline
    }
}
