import Testing
import Foundation
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

/// The two backends' schemas are written twice (SQLite migrations, `PostgresSchema`): this
/// compares the live schemas a fresh store of each creates, so a column or index added to one
/// and not the other, or with another type or nullability, fails here and not in production.
@Suite(.serialized) struct SchemaParityTests {
    struct Column: Hashable, CustomStringConvertible {
        var table: String, name: String, kind: String, notNull: Bool
        var description: String { "\(table).\(name) \(kind)\(notNull ? " NOT NULL" : "")" }
    }

    /// What each backend keeps that the other keeps elsewhere, by design.
    static let sqliteOnly: Set<String> = [
        "grdb_migrations",       // GRDB's migration log; PostgreSQL has schema_migrations
    ]
    static let postgresOnly: Set<String> = [
        "schema_migrations",     // see grdb_migrations
        "events_search",         // SQLite's search index is a file of its own (SearchIndexFile)
    ]

    /// Types as the two spell them for the same values: SQLite's declared affinity against
    /// PostgreSQL's type (booleans are 0/1 integers on SQLite, which the readers accept both ways).
    static func kind(sqlite type: String) -> String {
        switch type.uppercased() {
        case "INTEGER", "INT", "BIGINT", "BOOLEAN": return "integer"
        case "TEXT": return "text"
        case "REAL", "DOUBLE": return "real"
        case "BLOB": return "blob"
        default: return type.lowercased()
        }
    }

    static func kind(postgres type: String) -> String {
        switch type {
        case "bigint", "integer", "smallint", "boolean": return "integer"
        case "text", "character varying": return "text"
        case "double precision", "real": return "real"
        case "bytea": return "blob"
        default: return type
        }
    }

    func sqliteSchema(_ store: Store) throws -> (columns: Set<Column>, indexes: Set<String>) {
        try store.reading { db in
            let columns = try db.rows("""
                SELECT m.name, p.name, p.type, p."notnull", p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                """).map { row in
                // A rowid alias (INTEGER PRIMARY KEY) is never null, though table_info says 0.
                Column(table: row.string(0), name: row.string(1), kind: Self.kind(sqlite: row.string(2)),
                       notNull: row.int64(3) == 1 || row.int64(4) > 0)
            }
            // Secondary indexes by name (their columns differ by design: SQLite's partial indexes
            // key on the rowid implicitly, PostgreSQL's name id), and unique constraints by columns.
            let indexes = try db.rows("""
                SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                """).map { "\($0.string(0)).\($0.string(1))" }
            let unique = try db.rows("""
                SELECT m.name, (SELECT group_concat(name, ',') FROM (SELECT i.name FROM pragma_index_info(l.name) i ORDER BY i.name))
                FROM sqlite_master m JOIN pragma_index_list(m.name) l WHERE m.type = 'table' AND l.origin = 'u'
                """).map { "UNIQUE \($0.string(0))(\($0.string(1)))" }
            return (Set(columns.filter { !Self.sqliteOnly.contains($0.table) }), Set(indexes + unique))
        }
    }

    func postgresSchema(_ store: Store) throws -> (columns: Set<Column>, indexes: Set<String>) {
        try store.reading { db in
            let columns = try db.rows("""
                SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
                WHERE table_schema = current_schema()
                """).map { row in
                Column(table: row.string(0), name: row.string(1), kind: Self.kind(postgres: row.string(2)), notNull: row.string(3) == "NO")
            }
            let indexes = try db.rows("""
                SELECT t.relname::text, i.relname::text FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                WHERE t.relnamespace = current_schema()::regnamespace
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
                """).map { "\($0.string(0)).\($0.string(1))" }
            let unique = try db.rows("""
                SELECT t.relname::text, (SELECT string_agg(a.attname::text, ',' ORDER BY a.attname) FROM pg_attribute a
                                         WHERE a.attrelid = t.oid AND a.attnum = ANY (c.conkey))
                FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                WHERE c.contype = 'u' AND t.relnamespace = current_schema()::regnamespace
                """).map { "UNIQUE \($0.string(0))(\($0.string(1)))" }
            return (Set(columns.filter { !Self.postgresOnly.contains($0.table) }),
                    Set((indexes + unique).filter { index in !Self.postgresOnly.contains { index.hasPrefix($0 + ".") } }))
        }
    }

    @Test func bothBackendsCreateTheSameTablesColumnsAndIndexes() throws {
        let sqlite = try sqliteSchema(try Store(path: try StoreBackend.sqlite.newDatabase()))
        let postgres = try postgresSchema(try Store(path: try StoreBackend.postgres.newDatabase()))
        // What is compared is there: the log's columns, its named indexes, the rules' unique key.
        #expect(sqlite.columns.filter { $0.table == "events" }.count > 25 && sqlite.indexes.contains("events.events_by_time"))
        #expect(sqlite.indexes.contains { $0.hasPrefix("UNIQUE rules(") }, "\(sqlite.indexes.sorted())")
        let onlySQLite = sqlite.columns.subtracting(postgres.columns).sorted { $0.description < $1.description }
        let onlyPostgres = postgres.columns.subtracting(sqlite.columns).sorted { $0.description < $1.description }
        #expect(onlySQLite.isEmpty && onlyPostgres.isEmpty, "SQLite only: \(onlySQLite)\nPostgreSQL only: \(onlyPostgres)")
        #expect(sqlite.indexes.subtracting(postgres.indexes).isEmpty && postgres.indexes.subtracting(sqlite.indexes).isEmpty,
                "SQLite only: \(sqlite.indexes.subtracting(postgres.indexes).sorted())\nPostgreSQL only: \(postgres.indexes.subtracting(sqlite.indexes).sorted())")
        // The events table is `EventColumn`'s, column for column: names, types and nullability
        // (and so on both, by the comparison above).
        let table = Set(EventColumn.allCases.map { column in
            Column(table: "events", name: column.name, kind: column.storage == .text ? "text" : "integer", notNull: !column.nullable)
        })
        let live = sqlite.columns.filter { $0.table == "events" }
        #expect(live == table, "in the schema only: \(live.subtracting(table).sorted { $0.description < $1.description })\nin EventColumn only: \(table.subtracting(live).sorted { $0.description < $1.description })")
    }
}
