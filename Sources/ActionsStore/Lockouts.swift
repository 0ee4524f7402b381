import ActionsDomain
import ActionsProtocol

extension Store {
    /// Counts one failed login; starts a lockout when the count reaches the threshold within the window.
    /// Atomic across processes and nodes: SQLite's write lock, or on PostgreSQL a transaction-scoped
    /// advisory lock on the account key, serializes the read-modify-write of one account's record.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func recordLoginFailure(email: String, userId: String?, ip: String?, policy: LockoutPolicy,
                                   nowMs: Int64 = WallClock.nowMs(), deadlineNs: UInt64? = nil) throws(StoreError) -> LoginFailures {
        try countLoginFailure(email: email, userId: userId, ip: ip, policy: policy, nowMs: nowMs, deadlineNs: deadlineNs).record
    }

    /// A failed login counted, and when it started a lockout, the lockout version that committed
    /// it: a server applies a lockout it started at once, but only to a snapshot older than that
    /// version (a newer one already holds what followed, an unlock included).
    package struct CountedFailure: Sendable {
        package var record: LoginFailures
        package var startedLockout: Int64?
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func countLoginFailure(email: String, userId: String?, ip: String?, policy: LockoutPolicy,
                                   nowMs: Int64 = WallClock.nowMs(), deadlineNs: UInt64? = nil) throws(StoreError) -> CountedFailure {
        try writing(deadlineNs: deadlineNs) { db in
            let key = try Self.lockoutKey(email, db)
            try Self.lockAccount(key, db)
            let current = try Self.loginFailures(db, email: key)
                ?? LoginFailures(email: key, userId: userId, failures: 0, windowStartMs: nowMs, lockedUntilMs: nil,
                                 lastIP: ip, updatedMs: nowMs)
            let (record, locked) = current.countingFailure(userId: userId, ip: ip, policy: policy, nowMs: nowMs)
            let startedLockout = locked ? try Self.bumpLockoutVersion(db) : nil
            try db.execute("""
                INSERT INTO login_failures(email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms, recent_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(email) DO UPDATE SET user_id = excluded.user_id, failures = excluded.failures,
                    window_start_ms = excluded.window_start_ms, locked_until_ms = excluded.locked_until_ms,
                    last_ip = excluded.last_ip, updated_ms = excluded.updated_ms, recent_ms = excluded.recent_ms
                """, [record.email, record.userId, record.failures, record.windowStartMs, record.lockedUntilMs,
                      record.lastIP, record.updatedMs, record.recentMs.map(String.init).joined(separator: ",")])
            return CountedFailure(record: record, startedLockout: startedLockout)
        }
    }

    /// A successful login clears the count, unless the user is locked out: then nothing changes
    /// and the lockout is returned, so the caller can say so instead of claiming a reset.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func recordLoginSuccess(email: String, nowMs: Int64 = WallClock.nowMs(), deadlineNs: UInt64? = nil) throws(StoreError) -> LoginFailures? {
        try writing(deadlineNs: deadlineNs) { db in
            let key = try Self.lockoutKey(email, db)
            try Self.lockAccount(key, db)
            if let record = try Self.loginFailures(db, email: key), record.isLocked(nowMs: nowMs) { return record }
            try db.execute("DELETE FROM login_failures WHERE email = ?", [key])
            return nil
        }
    }

    /// The lockouts in force (what a decision needs), or with `includeUnlocked` every count too.
    /// Only the rows asked for are read: the table keeps every account that failed a login.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func loginFailures(includeUnlocked: Bool = false, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> [LoginFailures] {
        try reading { db in
            try db.rows("""
                SELECT email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms, recent_ms
                FROM login_failures \(includeUnlocked ? "" : "WHERE locked_until_ms > ?") ORDER BY updated_ms DESC
                """, includeUnlocked ? [] : [nowMs]).map(Self.loginFailures(row:))
        }.filter { includeUnlocked || $0.isLocked(nowMs: nowMs) }
    }

    /// Retention for failed-login counts: deletes those not locked and not updated within
    /// `idleMs` (a count older than the lockout window can lock no one). Returns how many went.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func pruneLoginFailures(idleMs: Int64, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> Int {
        try writing { db in
            try db.rows("""
                DELETE FROM login_failures WHERE updated_ms < ? AND (locked_until_ms IS NULL OR locked_until_ms <= ?) RETURNING email
                """, [nowMs - idleMs, nowMs]).count
        }
    }

    /// Ends a lockout and clears the count; audited. Throws notFound when the email has none.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func unlock(email: String, by actor: Operator, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) {
        var key = email
        let found: Bool = try writing { db in
            key = try Self.lockoutKey(email, db)
            try Self.lockAccount(key, db)
            guard let old = try Self.loginFailures(db, email: key) else { return false }
            try db.execute("DELETE FROM login_failures WHERE email = ?", [key])
            try Self.audit(db, by: actor, action: "lockout.unlock", target: key,
                           old: "failures=\(old.failures) locked_until=\(old.lockedUntilMs.map(String.init) ?? "none")", new: nil)
            try Self.bumpLockoutVersion(db)
            return true
        }
        if !found { throw .notFound("lockout for \(key)") }
    }

    /// The key failed logins are counted under: `Normalize.accountKey`, with the store's folding switch.
    static func lockoutKey(_ email: String, _ db: any SQLSession) throws -> String {
        Normalize.accountKey(email, foldAddresses: try foldAddresses(db))
    }

    /// PostgreSQL: holds one account's record for this transaction, across every node (SQLite's
    /// write transaction already excludes every other writer).
    static func lockAccount(_ key: String, _ db: any SQLSession) throws {
        if let lock = db.dialect.accountLock { _ = try db.rows(lock, [key]) }
    }

    static func loginFailures(_ db: any SQLSession, email: String) throws -> LoginFailures? {
        try db.row("""
            SELECT email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms, recent_ms
            FROM login_failures WHERE email = ?
            """, [email]).map(loginFailures(row:))
    }

    static func loginFailures(row: SQLRow) -> LoginFailures {
        LoginFailures(email: row.string(0), userId: row.optionalString(1), failures: row.int(2), windowStartMs: row.int64(3),
                      lockedUntilMs: row.optionalInt64(4), lastIP: row.optionalString(5), updatedMs: row.int64(6),
                      recentMs: row.string(7).split(separator: ",").compactMap { Int64($0) })
    }
}
