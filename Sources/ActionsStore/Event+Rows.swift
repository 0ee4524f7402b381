import ActionsDomain
import ActionsProtocol
import GRDB
import GRDBSQLite

/// How an event is written to and read from the log's rows.
extension Event {
    /// The columns `insertSQL` fills, in order (PostgreSQL's COPY names them).
    static let insertColumns = EventColumn.inserted.map(\.name)

    /// An INSERT of `rows` rows.
    static func insertSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: insertColumns.count).joined(separator: ", ") + ")"
        return "INSERT INTO events (\(insertColumns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// Rows per INSERT statement when a batch has that many (ids are still assigned in order).
    /// SQLite's work per statement run (its savepoint, halting, resetting) cost about as much as
    /// binding a row: at 8 rows a statement the writer's instructions per event fell from 26.4k to
    /// 23.8k (callgrind); 32 saved less, as more of each batch was left over for single rows.
    static let rowsPerInsert = 8
    static let insertSQL = insertSQL(rows: 1)
    static let insertManySQL = insertSQL(rows: rowsPerInsert)

    /// Hands the row's fields to `row` in `insertColumns` order: SQLite binds them into its
    /// statement (`RowBinder`), PostgreSQL writes them as a line of COPY text (`CopyRowWriter`).
    func write<Row: EventFieldWriter>(to row: inout Row) {
        for column in EventColumn.inserted { write(column, to: &row) }
    }

    /// Reads a row of `EventColumn.selectList`.
    init(row: SQLRow) {
        self.init(uid: "", timeMs: 0, actionType: .userRegistration, actionId: "", verdict: .deny, decidedBy: .invalid,
                  outcome: .invalidResponse, latencyUs: 0, errorMode: .failClosed)
        for (index, column) in EventColumn.selected.enumerated() { read(column, from: row, at: index) }
    }
}

extension Store {
    /// Writes events at once in one transaction. The server goes through `EventWriter` instead.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package func insert(_ events: [Event]) throws(StoreError) {
        try append(events, status: nil)
    }

    /// Appends a batch of events, and the writer's status row when given, in one transaction.
    ///
    /// PostgreSQL: the transaction first takes an advisory lock, so that ids are assigned and
    /// committed in one order across every node. Without it, a transaction holding lower ids could
    /// commit after one holding higher ids had been read, and a tail reading `id > last seen`
    /// would skip its rows for good. The lock is held from the first id to the commit, a few
    /// milliseconds per batch of up to thousands of events.
    ///
    /// `retrying`: the batch was tried before and that try failed. On PostgreSQL the failure may
    /// have come after the server committed (the connection lost while COMMIT was answered, as
    /// when a primary dies and its synchronous standby already holds the batch): the batch's first
    /// and last events are looked for first (by time, then id: an index), and a batch already in
    /// the log is not written twice. A batch is written whole or not at all, so the two decide.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func append(_ events: some Collection<some EventRow>, status: WriterStatus?, retrying: Bool = false) throws(StoreError) {
        if isReadOnly { throw .readOnly(path: path) }
        try backend.append(events, status: status, retrying: retrying)
    }
}

/// Something that holds an event to insert, and writes its fields without copying it out: the
/// event writer's queued entries are written where they are (a copy of each event, retaining its
/// strings, cost about 2,000 instructions an event).
protocol EventRow {
    func write<Row: EventFieldWriter>(to row: inout Row)
    /// The event's own id and time: what finds it again in the log.
    var uid: String { get }
    var timeMs: Int64 { get }
}

extension Event: EventRow {}

/// Takes an event's insert fields in order, as text or integers (nil for NULL).
protocol EventFieldWriter {
    mutating func text(_ value: String?)
    mutating func integer(_ value: Int64?)
}

/// Binds one row's values in order (1-based, as SQLite counts). The texts are gathered into one
/// buffer and bound without a copy (SQLITE_STATIC) for the step: SQLite copying each of a row's
/// dozen texts into its own allocation was a quarter of the writer's work per event (callgrind).
struct RowBinder: EventFieldWriter {
    /// Binds each value straight into GRDB's cached statements through the SQLite API: building
    /// StatementArguments boxes all twenty values first, and that was over half the cost of a row.
    /// Full groups of `Event.rowsPerInsert` go in one statement each, the rest one row at a time.
    static func insert(_ events: some Collection<some EventRow>, _ db: Database) throws {
        var rest = events[...]
        var count = events.count
        for (sql, rows) in [(Event.insertManySQL, Event.rowsPerInsert), (Event.insertSQL, 1)] where count >= rows {
            var binder = RowBinder(handle: try db.cachedStatement(sql: sql).sqliteStatement)
            defer { binder.clear() }
            while count >= rows {
                try binder.run(rest.prefix(rows), db, sql: sql)
                rest = rest.dropFirst(rows)
                count -= rows
            }
        }
    }

    let handle: SQLiteStatement
    private var index: Int32 = 0
    private var texts: [UInt8] = []
    private var spans: [(index: Int32, start: Int, count: Int)] = []

    init(handle: SQLiteStatement) {
        self.handle = handle
    }

    /// One run of the statement over these rows (as many as it has value lists).
    mutating func run(_ rows: some Sequence<some EventRow>, _ db: Database, sql: String) throws {
        sqlite3_reset(handle)
        index = 0
        texts.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        for event in rows { event.write(to: &self) }
        let code = step()
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
        }
    }

    /// Leaves the cached statement reset and holding no pointers into `texts`.
    func clear() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    mutating func text(_ value: String?) {
        index += 1
        guard var value else {
            sqlite3_bind_null(handle, index)
            return
        }
        // One pass over the bytes in the usual case: checked, then copied while they are at hand.
        let encode = value.withUTF8 { bytes in
            if StoredText.needsEncoding(bytes) { return true }
            add(bytes)
            return false
        }
        if encode {
            value = StoredText.encode(value)
            value.withUTF8 { add($0) }
        }
    }

    private mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        spans.append((index, texts.count, bytes.count))
        texts.append(contentsOf: bytes) // a copy of the bytes; the view's own append went byte by byte
    }

    mutating func integer(_ value: Int64?) {
        index += 1
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    /// Binds the texts into the buffer and steps while it is pinned. The statement keeps the
    /// pointers after that, but reads them only in a step, and every step binds afresh.
    private mutating func step() -> Int32 {
        texts.withUnsafeBufferPointer { buffer in
            for span in spans {
                // A zero length with a null base (an empty buffer) would bind NULL, not "".
                let base = buffer.baseAddress.map { UnsafeRawPointer($0 + span.start) } ?? UnsafeRawPointer(bitPattern: 1)!
                sqlite3_bind_text(handle, span.index, base.assumingMemoryBound(to: CChar.self), Int32(span.count), nil)
            }
            return sqlite3_step(handle)
        }
    }
}
