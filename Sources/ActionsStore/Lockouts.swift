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

    public init(email: String, userId: String? = nil, failures: Int, windowStartMs: Int64, lockedUntilMs: Int64? = nil,
                lastIP: String? = nil, updatedMs: Int64) {
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
        let key = email.lowercased()
        return try write(deadlineNs: deadlineNs) { db in
            var record = try Self.loginFailures(db, email: key)
                ?? LoginFailures(email: key, userId: userId, failures: 0, windowStartMs: nowMs, lockedUntilMs: nil,
                                 lastIP: ip, updatedMs: nowMs)
            if record.isLocked(nowMs: nowMs) {
                // Failures while locked are counted but do not extend the lockout.
                record.failures += 1
            } else {
                if nowMs - record.windowStartMs > policy.windowMs || record.lockedUntilMs != nil {
                    record.failures = 0
                    record.windowStartMs = nowMs
                    record.lockedUntilMs = nil
                }
                record.failures += 1
                if record.failures >= policy.threshold {
                    record.lockedUntilMs = nowMs + policy.lockoutMs
                    try Self.bumpConfigVersion(db)
                }
            }
            record.userId = userId ?? record.userId
            record.lastIP = ip ?? record.lastIP
            record.updatedMs = nowMs
            try db.execute(sql: """
                INSERT OR REPLACE INTO login_failures(email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [record.email, record.userId, record.failures, record.windowStartMs, record.lockedUntilMs,
                                 record.lastIP, record.updatedMs])
            return record
        }
    }

    /// A successful login clears the count, unless the user is locked out.
    public func recordLoginSuccess(email: String, nowMs: Int64 = WallClock.nowMs(), deadlineNs: UInt64? = nil) throws(StoreError) {
        try write(deadlineNs: deadlineNs) { db in
            try db.execute(sql: "DELETE FROM login_failures WHERE email = ? AND (locked_until_ms IS NULL OR locked_until_ms <= ?)",
                           arguments: [email.lowercased(), nowMs])
        }
    }

    public func loginFailures(includeUnlocked: Bool = false, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) -> [LoginFailures] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms
                FROM login_failures ORDER BY updated_ms DESC
                """).map(Self.loginFailures(row:))
        }.filter { includeUnlocked || $0.isLocked(nowMs: nowMs) }
    }

    /// Ends a lockout and clears the count; audited. Throws notFound when the email has none.
    public func unlock(email: String, by actor: Operator, nowMs: Int64 = WallClock.nowMs()) throws(StoreError) {
        let key = email.lowercased()
        let found: Bool = try write { db in
            guard let old = try Self.loginFailures(db, email: key) else { return false }
            try db.execute(sql: "DELETE FROM login_failures WHERE email = ?", arguments: [key])
            try Self.audit(db, by: actor, action: "lockout.unlock", target: key,
                           old: "failures=\(old.failures) locked_until=\(old.lockedUntilMs.map(String.init) ?? "none")", new: nil)
            try Self.bumpConfigVersion(db)
            return true
        }
        if !found { throw .notFound("lockout for \(key)") }
    }

    static func loginFailures(_ db: Database, email: String) throws -> LoginFailures? {
        try Row.fetchOne(db, sql: """
            SELECT email, user_id, failures, window_start_ms, locked_until_ms, last_ip, updated_ms
            FROM login_failures WHERE email = ?
            """, arguments: [email]).map(loginFailures(row:))
    }

    static func loginFailures(row: Row) -> LoginFailures {
        LoginFailures(email: row[0], userId: row[1], failures: row[2], windowStartMs: row[3], lockedUntilMs: row[4],
                      lastIP: row[5], updatedMs: row[6])
    }
}
