import ActionsDomain
import Foundation
import GRDB
import ActionsProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Who made an operator change: the OS user, and where they came from over SSH.
package struct Operator: Sendable, Equatable {
    package var user: String
    package var sshConnection: String?

    package init(user: String, sshConnection: String? = nil) {
        self.user = user
        self.sshConnection = sshConnection
    }

    /// The effective OS user (not `$USER`, which the caller controls) and `SSH_CONNECTION`.
    package static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> Operator {
        var name = environment["USER"] ?? "unknown"
        if let entry = getpwuid(geteuid()), let cName = entry.pointee.pw_name {
            name = String(cString: cName)
        }
        let ssh = environment["SSH_CONNECTION"].flatMap { $0.isEmpty ? nil : $0 }
        return Operator(user: name, sshConnection: ssh)
    }
}

package struct AuditEntry: Sendable, Equatable {
    package var id: Int64
    package var timeMs: Int64
    package var actor: String
    package var sshConnection: String?
    package var action: String
    package var target: String
    package var oldValue: String?
    package var newValue: String?
}

extension Store {
    static func audit(_ db: any SQLSession, by actor: Operator, action: String, target: String, old: String?, new: String?) throws {
        try db.execute("""
            INSERT INTO audit_log(ts_ms, actor, ssh_connection, action, target, old_value, new_value)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [WallClock.nowMs(), actor.user, actor.sshConnection, action, target, old, new])
    }

    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func auditLog(limit: Int = 100) throws(StoreError) -> [AuditEntry] {
        try reading { db in
            try db.rows("""
                SELECT id, ts_ms, actor, ssh_connection, action, target, old_value, new_value
                FROM audit_log ORDER BY id DESC LIMIT ?
                """, [limit]).map {
                AuditEntry(id: $0.int64(0), timeMs: $0.int64(1), actor: $0.string(2), sshConnection: $0.optionalString(3),
                           action: $0.string(4), target: $0.string(5), oldValue: $0.optionalString(6), newValue: $0.optionalString(7))
            }
        }
    }
}
