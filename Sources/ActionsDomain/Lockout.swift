import ActionsProtocol

/// Failed logins for one email, and the lockout they caused.
package struct LoginFailures: Sendable, Equatable {
    package var email: String
    package var userId: String?
    package var failures: Int
    package var windowStartMs: Int64
    package var lockedUntilMs: Int64?
    package var lastIP: String?
    package var updatedMs: Int64
    /// When the failures inside the current window happened, oldest first (at most the threshold).
    package var recentMs: [Int64]

    package init(email: String, userId: String? = nil, failures: Int, windowStartMs: Int64, lockedUntilMs: Int64? = nil,
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

    package func isLocked(nowMs: Int64) -> Bool { lockedUntilMs.map { $0 > nowMs } ?? false }
}

/// The lockout rule: PCI-DSS 8.3.4 asks for lockout after no more than 10 attempts, for at least 30 minutes.
package struct LockoutPolicy: Sendable, Equatable {
    package var threshold = 10
    package var windowMs: Int64 = 15 * 60_000
    package var lockoutMs: Int64 = 30 * 60_000

    package init(threshold: Int = 10, windowMs: Int64 = 15 * 60_000, lockoutMs: Int64 = 30 * 60_000) {
        self.threshold = threshold
        self.windowMs = windowMs
        self.lockoutMs = lockoutMs
    }
}

extension LoginFailures {
    /// The record after one more failed login at `nowMs`, under `policy`, and whether this failure
    /// started a lockout. Failures while locked are counted but do not extend the lockout; a lockout
    /// that has run out starts a clean count; the window slides (the failures of the last
    /// `windowMs`, whenever the first one was: a window fixed at the first failure let a burst
    /// straddling its end through).
    package func countingFailure(userId: String?, ip: String?, policy: LockoutPolicy, nowMs: Int64) -> (LoginFailures, locked: Bool) {
        var record = self
        var locked = false
        if record.isLocked(nowMs: nowMs) {
            record.failures += 1
        } else {
            if record.lockedUntilMs != nil {
                record.recentMs = []
                record.lockedUntilMs = nil
            }
            record.recentMs = record.recentMs.filter { TimestampWindow.ageMs(of: $0, nowMs: nowMs) < policy.windowMs } + [nowMs]
            record.recentMs = Array(record.recentMs.suffix(policy.threshold))
            record.failures = record.recentMs.count
            record.windowStartMs = record.recentMs[0]
            if record.recentMs.count >= policy.threshold {
                record.lockedUntilMs = nowMs + policy.lockoutMs
                locked = true
            }
        }
        record.userId = userId ?? record.userId
        record.lastIP = ip ?? record.lastIP
        record.updatedMs = nowMs
        return (record, locked)
    }
}
