import ActionsDomain
import GRDB
import GRDBSQLite

/// `SQLSession` over a GRDB connection.
struct SQLiteSession: SQLSession {
    let db: Database
    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEachRow(sql, arguments) { rows.append($0) }
        return rows
    }

    /// Steps the statement through the SQLite API and reads each column straight into an
    /// `SQLRow`: going through GRDB's `Row` copied every value once more, and was most of the
    /// time a policy reload of 110,000 rules took. The row's storage is reused when `body`
    /// keeps no copy of it.
    func forEachRow(_ sql: String, _ arguments: [any SQLBindable], _ body: (SQLRow) throws -> Void) throws {
        let statement = try db.makeStatement(sql: sql)
        try statement.setArguments(Self.arguments(arguments))
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        let columns = sqlite3_column_count(handle)
        var row = SQLRow([])
        row.values.reserveCapacity(Int(columns))
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                    sql: sql)
            }
            row.values.removeAll(keepingCapacity: true)
            for column in 0..<columns {
                switch sqlite3_column_type(handle, column) {
                case SQLITE_NULL: row.values.append(.null)
                case SQLITE_INTEGER: row.values.append(.integer(sqlite3_column_int64(handle, column)))
                case SQLITE_FLOAT: row.values.append(.integer(Int64(sqlite3_column_double(handle, column))))
                default:
                    // Text (and blobs, read as UTF-8): the bytes are valid until the next step.
                    let count = Int(sqlite3_column_bytes(handle, column))
                    if let bytes = sqlite3_column_text(handle, column) {
                        row.values.append(.text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)))
                    } else {
                        row.values.append(.text(""))
                    }
                }
            }
            try body(row)
        }
    }

    static func arguments(_ values: [any SQLBindable]) -> StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value.sqlValue {
            case .null: return nil
            case .integer(let number): return number
            case .text(let text): return text
            }
        })
    }
}
