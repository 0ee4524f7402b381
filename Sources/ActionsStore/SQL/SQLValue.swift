/// A value bound into SQL or read out of it, the same for both backends: the schema uses only
/// integers (booleans as 0/1) and text, so that one statement text serves SQLite and PostgreSQL.
package enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
}

/// What store code may bind: integers, booleans, text, and their optionals.
package protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension Int64: SQLBindable { package var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLBindable { package var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Bool: SQLBindable { package var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension String: SQLBindable { package var sqlValue: SQLValue { .text(self) } }
extension SQLValue: SQLBindable { package var sqlValue: SQLValue { self } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    package var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// One result row, read by column position.
package struct SQLRow: Sendable {
    package var values: [SQLValue]

    package init(_ values: [SQLValue]) { self.values = values }

    package func int64(_ index: Int) -> Int64 { optionalInt64(index) ?? 0 }
    package func int(_ index: Int) -> Int { Int(int64(index)) }
    package func bool(_ index: Int) -> Bool { int64(index) != 0 }
    package func string(_ index: Int) -> String { optionalString(index) ?? "" }

    package func optionalInt64(_ index: Int) -> Int64? {
        switch values[index] {
        case .integer(let value): return value
        case .text(let text): return Int64(text)
        case .null: return nil
        }
    }

    package func optionalInt(_ index: Int) -> Int? { optionalInt64(index).map { Int($0) } }

    package func optionalString(_ index: Int) -> String? {
        switch values[index] {
        case .text(let text): return text
        case .integer(let value): return String(value)
        case .null: return nil
        }
    }
}

/// A connection inside a transaction (or a read), on which store code runs its statements. SQL
/// uses `?` placeholders on both backends; PostgreSQL's session numbers them.
package protocol SQLSession {
    var dialect: SQLDialect { get }
    /// Runs a statement. Returns, on SQLite, the number of rows it changed; on PostgreSQL, the
    /// number of rows it returned (0 without RETURNING): count changes with RETURNING or a query.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow]
    /// Hands each row to `body` as it is read, without keeping them all (large reads).
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func forEachRow(_ sql: String, _ arguments: [any SQLBindable], _ body: (SQLRow) throws -> Void) throws
}

extension SQLSession {
    @discardableResult
    package func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    package func row(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row, if there is one and it is not NULL.
    package func int64(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> Int64? {
        try row(sql, arguments)?.optionalInt64(0)
    }

    package func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }

    package func forEachRow(_ sql: String, _ arguments: [any SQLBindable], _ body: (SQLRow) throws -> Void) throws {
        for row in try rows(sql, arguments) { try body(row) }
    }
}
