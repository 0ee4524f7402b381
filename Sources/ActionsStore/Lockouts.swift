import GRDB
import ActionsProtocol

/// Failed logins for one email, and the lockout they caused.
public struct LoginFailures: Sendable, Equatable {
    public var email: String
    public var userId: String?
    public var failures: Int
    public var windowStartMs: Int64
    public var lockedUntilMs: Int64?
    public var lastIP: String?
    public var updatedMs: Int64
    /// When the failures inside the current window happened, oldest first (at most the threshold).
    public var recentMs: [Int64]

    public init(email: String, userId: String? = nil, failures: Int, windowStartMs: Int64, lockedUntilMs: Int64? = nil,
                lastIP: String? = nil, updatedMs: Int64, recentMs: [Int64] = []) {
        self.recentMs = recentMs
        self.email = email
        self.userId = userId
        self.failures = failures
        self.windowStartMs = windowStartMs
        self.lockedUntilMs = lockedUntilMs
        self.lastIP = lastIP
        self.updatedMs = updatedMs
    }

    public func isLocked(nowMs: Int64) -> Bool { lockedUntilMs.map { $0 > nowMs } ?? false }
}

/// The lockout rule: PCI-DSS 8.3.4 asks for lockout after no more than 10 attempts, for at least 30 minutes.
public struct LockoutPolicy: Sendable, Equatable {
    public var threshold = 10
    public var windowMs: Int64 = 15 * 60_000
    public var lockoutMs: Int64 = 30 * 60_000

    public init(threshold: Int = 10, windowMs: Int64 = 15 * 60_000, lockoutMs: Int64 = 30 * 60_000) {
        self.threshold = threshold
        self.windowMs = windowMs
        self.lockoutMs = lockoutMs
    }
}

extension Store {
    /// Counts one failed login; starts a lockout when the count reaches the threshold within the window.
    @discardableResult
    public func recordLoginFailure(email: String, userId: String?, ip: String?, policy: LockoutPolicy,
                                   nowMs: Int64 = WallClock.nowMs(), deadlineNs: UInt64? = nil) throws(StoreError) -> LoginFailures {
        try write(deadlineNs: deadlineNs) { db in
            let key = try Self.lockoutKey(email, db)
            var record = try Self.loginFailures(db, email: key)
                ?? LoginFailures(email: key, userId: userId, failures: 0, windowStartMs: nowMs, lockedUntilMs: nil,
                                 lastIP: ip, updatedMs: nowMs)
            if record.isLocked(nowMs: nowMs) {
                // Failures while locked are counted but do not extend the lockout.
                record.failures += 1
            } else {
                if record.lockedUntilMs != nil {
                    // A lockout that has run out starts a clean count.
                    record.recentMs = []
                    record.lockedUntilMs = nil
                }
                // A sliding window: the failures of the last `windowMs`, whenever the first one
                // was. A window fixed at the first failure let a burst straddling its end through.
                record.recentMs = record.recentMs.filter { TimestampWindow.ageMs(of: $0, nowMs: nowMs) < policy.windowMs } + [nowMs]
                record.recentMs = Array(record.recentMs.suffix(policy.threshold))
                record.failures = record.recentMs.count
                record.windowStartMs = record.recentMs[0]
                if record.recentMs.count >= policy.threshold {
                    record.lockedUntilMs = nowMs + policy.lockoutMs
                    try Self.bumpConfigVersion(db)
                }
            }
            record.userId = userId ?? record.userId
            record.lastIP = ip ?? record.lastIP
            record.updatedMs = nowMs
            try db.execute(sql: """
                INSERT OR REPLACE INTO login_failures(email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms, recent_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.email, record.userId, record.failures, record.windowStartMs, record.lockedUntilMs,
                                 record.lastIP, record.updatedMs, record.recentMs.map(String.init).joined(separator: ",")])
            return record
        }
    }

    /// A successful login clears the count, unless the user is locked out: then nothing changes
    /// and the lockout is returned, so the caller can say so instead of claiming a reset.
    @discardableResult
    public func recordLoginSuccess(email: String, nowMs: Int64 = WallClock.nowMs(), deadlineNs: UInt64? = nil) throws(StoreError) -> LoginFailures? {
        try write(deadlineNs: deadlineNs) { db in
            let key = try Self.lockoutKey(email, db)
            if let record = try Self.loginFailures(db, email: key), record.isLocked(nowMs: nowMs) { return record }
            try db.execute(sql: "DELETE FROM login_failures WHERE email = ?", arguments: [key])
            return nil
        }
    }

    public func loginFailures(includeUnlocked: Bool = false, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> [LoginFailures] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms, recent_ms
                FROM login_failures ORDER BY updated_ms DESC
                """).map(Self.loginFailures(row:))
        }.filter { includeUnlocked || $0.isLocked(nowMs: nowMs) }
    }

    /// Ends a lockout and clears the count; audited. Throws notFound when the email has none.
    public func unlock(email: String, by actor: Operator, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) {
        var key = email
        let found: Bool = try write { db in
            key = try Self.lockoutKey(email, db)
            guard let old = try Self.loginFailures(db, email: key) else { return false }
            try db.execute(sql: "DELETE FROM login_failures WHERE email = ?", arguments: [key])
            try Self.audit(db, by: actor, action: "lockout.unlock", target: key,
                           old: "failures=\(old.failures) locked_until=\(old.lockedUntilMs.map(String.init) ?? "none")", new: nil)
            try Self.bumpConfigVersion(db)
            return true
        }
        if !found { throw .notFound("lockout for \(key)") }
    }

    /// The key failed logins are counted under: `Normalize.accountKey`, with the store's folding switch.
    static func lockoutKey(_ email: String, _ db: Database) throws -> String {
        Normalize.accountKey(email, foldAddresses: try foldAddresses(db))
    }

    static func loginFailures(_ db: Database, email: String) throws -> LoginFailures? {
        try Row.fetchOne(db, sql: """
            SELECT email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms, recent_ms
            FROM login_failures WHERE email = ?
            """, arguments: [email]).map(loginFailures(row:))
    }

    static func loginFailures(row: Row) -> LoginFailures {
        LoginFailures(email: row[0], userId: row[1], failures: row[2], windowStartMs: row[3], lockedUntilMs: row[4],
                      lastIP: row[5], updatedMs: row[6],
                      recentMs: (row[7] as String? ?? "").split(separator: ",").compactMap { Int64($0) })
    }
}
