import ActionsDomain
import Foundation
import GRDB
import ServiceLifecycle
import ActionsProtocol

/// Appends events off the request path with group commit: whatever is waiting when the previous
/// transaction ends goes into the next one, after a short gathering window (`Gather`), so the
/// batch grows with load. Bounded: when the queue is full an event is refused and counted,
/// never lost silently.
///
/// A `Service`: `run()` gives the writes a dedicated thread (SQLite calls block) for as long as
/// it runs; a graceful shutdown (or cancellation) closes the queue and `run()` returns once what
/// was queued is written. Events submitted before `run()` starts wait in the queue. All shared
/// state is guarded by `lock`, which is why the class is `@unchecked Sendable`.
package final class EventWriter: Service, @unchecked Sendable {
    package struct Stats: Sendable, Equatable {
        package var queued: Int
        package var written: Int
        package var dropped: Int
        package var lastError: String?
        /// Events the database refused one by one (every other row of their batch was written),
        /// and when the last of them was (Unix ms).
        package var rejected = 0
        package var lastRejectedMs: Int64?
        /// When the oldest event still waiting for the disk was decided (Unix ms), if any waits.
        package var oldestQueuedMs: Int64?

        /// Events are stuck rather than passing through: the oldest has waited longer than
        /// `stuckAfterMs` (a healthy writer commits within a few milliseconds).
        package func isStuck(nowMs: Int64, stuckAfterMs: Int64 = 2000) -> Bool {
            guard let oldest = oldestQueuedMs else { return false }
            return nowMs - oldest > stuckAfterMs
        }
    }

    private struct Pending: EventRow {
        var seq: UInt64
        var event: Event

        func write<Row: EventFieldWriter>(to row: inout Row) { event.write(to: &row) }
        var uid: String { event.uid }
        var timeMs: Int64 { event.timeMs }
    }

    private let store: Store
    private let capacity: Int
    private let maxBatch: Int
    private let lock = NSCondition()
    private var buffer: [Pending] = []
    private var inFlight = 0
    private var inFlightOldestMs: Int64?
    /// While the writer gathers: the queue length that ends it early (see `Gather`).
    private var gatherTarget: Int?
    private var nextSeq: UInt64 = 1
    private var written = 0
    private var dropped = 0
    /// Events the database refused alone (after their batch was split), and when the last was.
    private var rejected = 0
    private var lastRejectedMs: Int64?
    private var lastError: String?
    private var closed = false
    /// When `close()` was first called; the grace period runs from here.
    private var closingSinceNs: UInt64?
    private var finished = false
    private var waiters: [(seq: UInt64, deadlineNs: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
    /// Sweeps waiters past their deadline; made on the first wait that has one. A task, not the
    /// writer thread: that thread may itself be stuck on a lock.
    private var deadlineSweeper: Task<Void, Never>?
    private var finishWaiters: [CheckedContinuation<Void, Never>] = []
    private let startedMs = WallClock.nowMs()
    private let shutdownGraceSeconds: Double
    private let gather: Gather

    /// How long the writer waits for more events before a commit: a group-commit window, like
    /// PostgreSQL's commit_delay. Larger batches share a commit's fixed costs (locks, WAL frames,
    /// an fsync in durable mode, wake-ups).
    package enum Gather: Sendable {
        /// Nothing waits for the commit (background mode): the whole window, unless `gatherUpTo`
        /// events are in first. It delays only when an event becomes visible to readers.
        case window(Duration)
        /// Answers wait for their commit (durable mode). Only when the previous commit held at
        /// least `busyAt` events (like commit_siblings), so an idle server commits each event at
        /// once; and only until as many events are in as the previous commit held, or `upTo`
        /// passes. With a fixed number of clients waiting on their answers, no more than that come:
        /// waiting out the whole window added it to every answer.
        case whileBusy(upTo: Duration, busyAt: Int)
    }

    private static let gatherUpTo = 512

    /// - Parameters:
    ///   - gather: the group-commit window (see `Gather`).
    package init(store: Store, capacity: Int = 100_000, maxBatch: Int = 8192, gather: Gather = .window(.milliseconds(2)),
                shutdownGraceSeconds: Double = 5) {
        self.store = store
        self.capacity = capacity
        self.maxBatch = maxBatch
        self.gather = gather
        self.shutdownGraceSeconds = shutdownGraceSeconds
    }

    /// How many events end the gathering window after a commit of `lastBatch`, and when it ends
    /// at the latest; nil for no window.
    private func gatherWindow(after lastBatch: Int) -> (enough: Int, deadline: Date)? {
        switch gather {
        case .window(let window) where window > .zero:
            return (Self.gatherUpTo, Date(timeIntervalSinceNow: window.seconds))
        case .whileBusy(let upTo, let busyAt) where upTo > .zero && lastBatch >= busyAt:
            return (min(lastBatch, Self.gatherUpTo), Date(timeIntervalSinceNow: upTo.seconds))
        default:
            return nil
        }
    }

    private var started = false

    /// Writes until closed: by a graceful shutdown of its service group, by cancellation, or by
    /// `close()`. Returns when the queue is written (or the shutdown grace has passed).
    package func run() async {
        markStarted()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await BlockingWork.runOnThread(named: "event-writer") { [self] in writeLoop() }
            } onCancel: { self.beginClosing() }
        } onGracefulShutdown: { self.beginClosing() }
    }

    private func markStarted() {
        lock.lock()
        precondition(!started, "EventWriter.run() called twice")
        started = true
        lock.unlock()
    }

    /// Stops accepting events; the write loop drains what is queued and ends.
    private func beginClosing() {
        lock.lock()
        if !closed { closingSinceNs = MonotonicClock.nowNs() }
        closed = true
        lock.signal()
        lock.unlock()
    }

    /// Queues an event. Returns its ticket, or nil when the queue is full (the drop is counted).
    @discardableResult
    package func submit(_ event: Event) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        guard !closed, buffer.count + inFlight < capacity else {
            dropped += 1
            return nil
        }
        let seq = nextSeq
        nextSeq += 1
        buffer.append(Pending(seq: seq, event: event))
        if buffer.count == 1 || buffer.count == gatherTarget { lock.signal() }
        return seq
    }

    /// Waits until the event with this ticket is committed. False if it could not be written, when
    /// `timeout` passes first (checked every 50 ms, off the writer thread, which may itself be
    /// stuck on a lock), or when the waiting task is cancelled.
    package func durable(_ seq: UInt64, timeout: Duration? = nil) async -> Bool {
        let deadlineNs = timeout.map { timeout in
            let (seconds, attoseconds) = timeout.components
            return MonotonicClock.nowNs() + UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        } ?? UInt64.max
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                lock.lock()
                if seq < committedBelow {
                    let ok = !failedTickets.contains(seq)
                    lock.unlock()
                    continuation.resume(returning: ok)
                    return
                }
                // Cancelled before the waiter was registered: the handler found nothing to resume.
                if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(returning: false)
                    return
                }
                waiters.append((seq, deadlineNs, continuation))
                if deadlineNs != UInt64.max && deadlineSweeper == nil { startDeadlineSweeper() }
                lock.unlock()
            }
        } onCancel: {
            lock.lock()
            var cancelled: [CheckedContinuation<Bool, Never>] = []
            waiters.removeAll { waiter in
                guard waiter.seq == seq else { return false }
                cancelled.append(waiter.continuation)
                return true
            }
            lock.unlock()
            for continuation in cancelled { continuation.resume(returning: false) }
        }
    }

    /// Called with `lock` held.
    private func startDeadlineSweeper() {
        deadlineSweeper = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50), tolerance: .milliseconds(10))
                guard let self else { return }
                self.sweepExpiredWaiters()
            }
        }
    }

    private func sweepExpiredWaiters() {
        let now = MonotonicClock.nowNs()
        lock.lock()
        var expired: [CheckedContinuation<Bool, Never>] = []
        waiters.removeAll { waiter in
            guard waiter.deadlineNs <= now else { return false }
            expired.append(waiter.continuation)
            return true
        }
        lock.unlock()
        for continuation in expired { continuation.resume(returning: false) }
    }

    deinit { deadlineSweeper?.cancel() }

    /// Queues an event and waits for it to be committed.
    package func append(_ event: Event) async -> Bool {
        guard let seq = submit(event) else { return false }
        return await durable(seq)
    }

    package var stats: Stats {
        lock.lock()
        defer { lock.unlock() }
        return Stats(queued: buffer.count + inFlight, written: written, dropped: dropped, lastError: lastError,
                     rejected: rejected, lastRejectedMs: lastRejectedMs, oldestQueuedMs: inFlightOldestMs ?? buffer.first?.event.timeMs)
    }

    /// Stops accepting events, and returns once `run()` has written what is queued (giving a stuck
    /// database a grace period). For callers that run the writer outside a service group.
    package func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if !closed { closingSinceNs = MonotonicClock.nowNs() }
            closed = true
            if finished {
                lock.unlock()
                continuation.resume()
                return
            }
            finishWaiters.append(continuation)
            lock.signal()
            lock.unlock()
        }
    }

    // MARK: - Writer thread

    /// Every ticket below this has been processed (committed or given up).
    private var committedBelow: UInt64 = 1
    /// Tickets of events given up after a non-retryable error (kept small: only recent failures).
    private var failedTickets = Set<UInt64>()

    private func writeLoop() {
        var lastStatusMs: Int64 = 0
        var lastBatch = 0
        while true {
            lock.lock()
            while buffer.isEmpty && !closed {
                if !lock.wait(until: Date(timeIntervalSinceNow: 1)) { break }
            }
            if buffer.isEmpty && closed {
                lock.unlock()
                break
            }
            // Gather a little more before committing: without this, a busy server committed about
            // five events per transaction, and per-transaction costs (locks, WAL frames, wake-ups)
            // made the writer the largest cost of a decision.
            if let window = gatherWindow(after: lastBatch) {
                gatherTarget = window.enough
                while buffer.count < window.enough && !closed && lock.wait(until: window.deadline) {}
                gatherTarget = nil
            }
            // Usually everything waiting fits one transaction: take the whole buffer without copying.
            let batch: [Pending]
            if buffer.count <= maxBatch {
                batch = buffer
                buffer = []
                buffer.reserveCapacity(batch.count)
            } else {
                batch = Array(buffer.prefix(maxBatch))
                buffer.removeFirst(maxBatch)
            }
            inFlight = batch.count
            inFlightOldestMs = batch.first?.event.timeMs
            lastBatch = batch.count
            lock.unlock()

            let nowMs = WallClock.nowMs()
            let writeStatus = nowMs - lastStatusMs >= 1000
            if batch.isEmpty && !writeStatus { continue }
            // Past the grace period nothing is tried any more: what is left is counted as dropped.
            if shutdownGraceExpired() {
                complete(batch, unwritten: Unwritten(lost: Set(batch.map(\.seq))))
                continue
            }
            let unwritten = write(batch[...], status: writeStatus ? statusRow() : nil)
            if writeStatus && unwritten.lost.isEmpty { lastStatusMs = nowMs }
            complete(batch, unwritten: unwritten)
        }
        // Final status row so other processes see the totals (not worth waiting for a stuck database).
        if !shutdownGraceExpired() { try? store.append([Event](), status: statusRow()) }
        lock.lock()
        finished = true
        let toResume = finishWaiters
        finishWaiters.removeAll()
        let pending = waiters
        waiters.removeAll()
        lock.unlock()
        for waiter in pending { waiter.continuation.resume(returning: false) }
        for continuation in toResume { continuation.resume() }
    }

    /// What became of a batch's events that were not written.
    struct Unwritten {
        /// Rows the database refused on their own (the rest of their batch was written).
        var refused: Set<UInt64> = []
        /// Rows lost with a failure that was not theirs alone (the database down past the grace
        /// period, a schema error), or given up when splitting ran out of budget.
        var lost: Set<UInt64> = []

        var all: Set<UInt64> { refused.union(lost) }
    }

    /// Appends `batch` in one transaction, retrying while the failure may pass (a lock, a full
    /// disk); decisions never wait on this. The closing flag is read on every attempt, so a
    /// shutdown's grace period also bounds a batch that was taken before the shutdown began.
    ///
    /// A failure that may be one row's own (PostgreSQL refusing a value fails the whole COPY)
    /// splits the batch: the halves are written apart, down to the row that fails alone, so one
    /// row the database refuses never costs another. Splitting has a budget of transactions
    /// (enough to find a few bad rows by bisection): a failure every row shares (a constraint
    /// added to the table, say) costs a few dozen transactions, not one per row.
    private func write(_ batch: ArraySlice<Pending>, status: WriterStatus?) -> Unwritten {
        var budget = 64 + 8 * max(1, batch.count.bitWidth - batch.count.leadingZeroBitCount)
        var unwritten = Unwritten()
        if !write(batch, status: status, budget: &budget, into: &unwritten), let status {
            // The batch was split: the status row goes in a transaction of its own.
            try? store.append([Event](), status: status)
        }
        return unwritten
    }

    /// Returns false when the batch was split (or given up) rather than written whole.
    @discardableResult
    private func write(_ batch: ArraySlice<Pending>, status: WriterStatus?, budget: inout Int,
                       into unwritten: inout Unwritten) -> Bool {
        var attempt = 0
        while true {
            do {
                budget -= 1
                try store.append(batch, status: status, retrying: attempt > 0)
                return true
            } catch {
                setLastError(error.description)
                if error.isTransient && !shutdownGraceExpired() {
                    attempt += 1
                    Thread.sleep(forTimeInterval: min(0.01 * Double(attempt), 0.2))
                    continue
                }
                guard error.mayBeOneRows, !shutdownGraceExpired(), budget > 0 else {
                    unwritten.lost.formUnion(batch.map(\.seq))
                    return false
                }
                guard batch.count > 1 else {
                    unwritten.refused.insert(batch[batch.startIndex].seq)
                    return false
                }
                let middle = batch.startIndex + batch.count / 2
                write(batch[..<middle], status: nil, budget: &budget, into: &unwritten)
                write(batch[middle...], status: nil, budget: &budget, into: &unwritten)
                return false
            }
        }
    }

    /// Resumes the batch's waiters: true for each event written. Rows the database refused alone
    /// are counted as rejected, rows lost otherwise as dropped.
    private func complete(_ batch: [Pending], unwritten: Unwritten = Unwritten()) {
        let failed = unwritten.all
        guard let last = batch.last else { return }
        lock.lock()
        inFlight = 0
        inFlightOldestMs = nil
        written += batch.count - failed.count
        if failed.isEmpty {
            lastError = nil
        } else {
            if !unwritten.refused.isEmpty {
                rejected += unwritten.refused.count
                lastRejectedMs = WallClock.nowMs()
            }
            dropped += unwritten.lost.count
            if failedTickets.count > 100_000 { failedTickets.removeAll() }
            failedTickets.formUnion(failed)
        }
        committedBelow = last.seq + 1
        // A waiter's own event decides its answer, never another row of the batch.
        var ready: [(CheckedContinuation<Bool, Never>, Bool)] = []
        waiters.removeAll { waiter in
            guard waiter.seq <= last.seq else { return false }
            ready.append((waiter.continuation, !failedTickets.contains(waiter.seq)))
            return true
        }
        lock.unlock()
        for (continuation, written) in ready { continuation.resume(returning: written) }
    }

    /// True once the writer has been closing for longer than its grace period.
    private func shutdownGraceExpired() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let since = closingSinceNs else { return false }
        return Double(MonotonicClock.nowNs() - since) / 1e9 > shutdownGraceSeconds
    }

    private func setLastError(_ message: String) {
        lock.lock()
        lastError = message
        lock.unlock()
    }

    private func statusRow() -> WriterStatus {
        let snapshot = stats
        return WriterStatus(pid: Int(getpid()), startedMs: startedMs, updatedMs: WallClock.nowMs(), queued: snapshot.queued,
                            written: snapshot.written, dropped: snapshot.dropped, lastError: snapshot.lastError)
    }
}

/// What the dashboard shows about every writer that reported recently.
package struct WriterStatus: Sendable, Equatable {
    package var pid: Int
    package var startedMs: Int64 = 0
    package var updatedMs: Int64
    package var queued: Int
    package var written: Int
    package var dropped: Int
    package var lastError: String?
}

extension Store {
    /// Writers that reported within `freshMs`.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func writerStatuses(nowMs: Int64 = WallClock.nowMs(), freshMs: Int64 = 10_000) throws(StoreError) -> [WriterStatus] {
        try reading { db in
            try db.rows("""
                SELECT pid, updated_ms, queued, written, dropped, last_error, started_ms FROM writer_status
                WHERE updated_ms >= ? ORDER BY pid
                """, [nowMs - freshMs]).map {
                WriterStatus(pid: $0.int(0), startedMs: $0.int64(6), updatedMs: $0.int64(1), queued: $0.int(2),
                             written: $0.int(3), dropped: $0.int(4), lastError: $0.optionalString(5))
            }
        }
    }

    static func record(_ status: WriterStatus, _ db: any SQLSession) throws {
        try db.execute("""
            INSERT INTO writer_status(pid, started_ms, updated_ms, queued, written, dropped, last_error)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(pid) DO UPDATE SET updated_ms = excluded.updated_ms, queued = excluded.queued,
                written = excluded.written, dropped = excluded.dropped, last_error = excluded.last_error
            """, [status.pid, status.startedMs, status.updatedMs, status.queued, status.written, status.dropped, status.lastError])
    }
}

private extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
