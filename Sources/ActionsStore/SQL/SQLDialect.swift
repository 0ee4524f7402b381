import ActionsDomain

/// The SQL each database spells its own way, in one place: store code writes its statements once
/// and asks the session's dialect for these parts. (What differs below the SQL, such as opening,
/// bulk appends or stopping a statement, is `Backend`'s.)
package enum SQLDialect: Sendable {
    case sqlite, postgres

    /// The larger of two values: SQLite's two-argument `max`, PostgreSQL's `GREATEST`.
    var greatest: String {
        switch self {
        case .sqlite: "max"
        case .postgres: "GREATEST"
        }
    }

    /// Where a string first occurs in another (1-based, 0 for nowhere): `instr(haystack, needle)`
    /// and `strpos(haystack, needle)`.
    var position: String {
        switch self {
        case .sqlite: "instr"
        case .postgres: "strpos"
        }
    }

    /// SQLite's planner sometimes picks a worse index for these queries, and is told which to use;
    /// PostgreSQL's chooses by its statistics and has no such clause.
    func indexedBy(_ index: String) -> String {
        switch self {
        case .sqlite: "INDEXED BY \(index)"
        case .postgres: ""
        }
    }

    /// Whether LIKE folds ASCII case by itself (SQLite's does; on PostgreSQL every search compares
    /// `actions_lower`, which its trigram index is built on).
    var likeFoldsASCII: Bool { self == .sqlite }

    /// Where the last indexed event id is kept, as SQL after FROM: the index file's own mark on
    /// SQLite (see SearchIndexFile.attach), a row of `meta` on PostgreSQL.
    var searchMark: String {
        switch self {
        case .sqlite: "search_meta WHERE key = 'indexed_up_to'"
        case .postgres: "meta WHERE key = 'search_indexed_up_to'"
        }
    }

    /// The ids the search index holds for `text`, and the arguments the statement takes in
    /// order. PostgreSQL's index is on the LIKE pattern itself; SQLite's answers a trigram query
    /// (made here only: `EventFilter.trigramQuery` needs three characters, which only an indexed
    /// search has), with reasons indexed apart (once per distinct reason, Schema v10) and tested
    /// with `reasonLike` and its arguments.
    func searchCandidates(pattern: String, text: String,
                          reasonLike: (sql: String, arguments: [any SQLBindable])) -> (sql: String, arguments: [any SQLBindable]) {
        switch self {
        case .postgres:
            ("SELECT id FROM events_search WHERE actions_lower(body) LIKE ? ESCAPE '\\'", [pattern])
        case .sqlite:
            ("""
             SELECT rowid FROM events_search WHERE events_search MATCH ?
             UNION ALL SELECT event_id FROM search_reason_events
             WHERE reason_id IN (SELECT id FROM search_reasons WHERE \(reasonLike.sql))
             """, [EventFilter.trigramQuery(text)] + reasonLike.arguments)
        }
    }

    /// The columns whose text the index holds in one document per event (SQLite keeps reasons
    /// apart; see `searchCandidates`).
    var searchDocumentColumns: [String] {
        switch self {
        case .sqlite: Schema.indexedSearchColumns
        case .postgres: Schema.searchColumns
        }
    }

    /// The statement, if any, that tells other processes the policy changed, sent on commit with
    /// the change (PostgreSQL's NOTIFY; SQLite's readers poll the config version instead).
    var configChangeNotice: String? {
        switch self {
        case .sqlite: nil
        case .postgres: "NOTIFY \(PostgresSchema.configChannel)"
        }
    }

    /// The statement, if any, that holds one account's failed-login record for the transaction,
    /// across every node, keyed by its one argument (PostgreSQL's advisory lock; SQLite's write
    /// transaction already excludes every other writer).
    var accountLock: String? {
        switch self {
        case .sqlite: nil
        case .postgres: "SELECT pg_advisory_xact_lock(hashtextextended(?, 8734))"
        }
    }
}
