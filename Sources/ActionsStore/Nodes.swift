import ActionsDomain
import ActionsProtocol

/// What each actions-server node last reported of itself (every `NodeStatus.heartbeatMs`).
package struct NodeStatus: Sendable, Equatable {
    package var name: String
    package var version: String
    package var startedMs: Int64
    package var updatedMs: Int64
    /// Decisions since the node started, and per second over its last heartbeat interval.
    package var decisions: Int
    package var decisionsPerSecond: Double
    package var queued: Int
    package var dropped: Int
    /// Each action type's circuit on this node (breakers stay per node).
    package var circuits: [ActionType: CircuitPhase]
    /// The PostgreSQL server the node writes to (`host:port`; it changes on a failover); nil on SQLite.
    package var databaseServer: String?
    /// Set by the node's last heartbeat when it shut down cleanly.
    package var stoppedMs: Int64?
    /// Where the node listens (`https://10.0.0.5:8787`; an unspecified address as bound).
    package var url: String?

    /// How often a node reports, and how long without a report marks it stopped.
    package static let heartbeatMs: Int64 = 2000
    package static let staleAfterMs: Int64 = 3 * heartbeatMs + 1000

    package init(name: String, version: String, startedMs: Int64, updatedMs: Int64, decisions: Int, decisionsPerSecond: Double,
                queued: Int, dropped: Int, circuits: [ActionType: CircuitPhase], databaseServer: String? = nil, stoppedMs: Int64? = nil, url: String? = nil) {
        self.url = url
        self.databaseServer = databaseServer
        self.stoppedMs = stoppedMs
        self.name = name
        self.version = version
        self.startedMs = startedMs
        self.updatedMs = updatedMs
        self.decisions = decisions
        self.decisionsPerSecond = decisionsPerSecond
        self.queued = queued
        self.dropped = dropped
        self.circuits = circuits
    }

    package func isStale(nowMs: Int64) -> Bool { nowMs - updatedMs > Self.staleAfterMs }

    /// Up; stopped (it said so as it shut down); or silent (its heartbeats stopped without a word:
    /// killed, crashed, hung or cut off), which is the one that needs an operator.
    package enum Phase: String, Sendable {
        case up, stopped, silent

        /// As the dashboard and actionsctl show it: the one to look at in capitals.
        package var label: String { self == .silent ? "SILENT" : rawValue }
    }

    package func phase(nowMs: Int64) -> Phase {
        if stoppedMs != nil { return .stopped }
        return isStale(nowMs: nowMs) ? .silent : .up
    }

    /// `user_registration=closed authentication=open`, as stored.
    var circuitsText: String {
        ActionType.allCases.compactMap { type in circuits[type].map { "\(type.rawValue)=\($0.rawValue)" } }.joined(separator: " ")
    }

    static func circuits(from text: String) -> [ActionType: CircuitPhase] {
        var result: [ActionType: CircuitPhase] = [:]
        for pair in text.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, let type = ActionType(rawValue: parts[0]), let phase = CircuitPhase(rawValue: parts[1]) {
                result[type] = phase
            }
        }
        return result
    }
}

/// This build's version, reported in heartbeats and by `--version`.
package enum BuildInfo {
    package static let version = "0.6.0"
}

extension Store {
    /// Records a node's heartbeat (insert or update its row).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func heartbeat(_ node: NodeStatus) throws(StoreError) {
        _ = try writing { db in
            try db.execute("""
                INSERT INTO nodes(name, version, started_ms, updated_ms, decisions, decisions_mps, queued, dropped, circuits, database_server, stopped_ms, url)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET version = excluded.version, started_ms = excluded.started_ms,
                    updated_ms = excluded.updated_ms, decisions = excluded.decisions, decisions_mps = excluded.decisions_mps,
                    queued = excluded.queued, dropped = excluded.dropped, circuits = excluded.circuits,
                    database_server = excluded.database_server, stopped_ms = excluded.stopped_ms, url = excluded.url
                """, [node.name, node.version, node.startedMs, node.updatedMs, node.decisions,
                      Int64((node.decisionsPerSecond * 1000).rounded()), node.queued, node.dropped, node.circuitsText,
                      node.databaseServer.map(StoredText.encode), node.stoppedMs, node.url.map(StoredText.encode)])
        }
    }

    /// Every node that reported within `withinMs` (a day by default: a stopped node stays listed,
    /// marked, until it has been gone that long), by name.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func nodes(nowMs: Int64 = WallClock.nowMs(), withinMs: Int64 = 86_400_000) throws(StoreError) -> [NodeStatus] {
        try reading { db in
            try db.rows("""
                SELECT name, version, started_ms, updated_ms, decisions, decisions_mps, queued, dropped, circuits, database_server, stopped_ms, url
                FROM nodes WHERE updated_ms >= ? ORDER BY name
                """, [nowMs - withinMs]).map { row in
                NodeStatus(name: row.string(0), version: row.string(1), startedMs: row.int64(2), updatedMs: row.int64(3),
                           decisions: row.int(4), decisionsPerSecond: Double(row.int64(5)) / 1000, queued: row.int(6),
                           dropped: row.int(7), circuits: NodeStatus.circuits(from: row.string(8)),
                           databaseServer: StoredText.decode(row.optionalString(9)), stoppedMs: row.optionalInt64(10),
                           url: StoredText.decode(row.optionalString(11)))
            }
        }
    }
}
