#include <sqlite3.h>

/// sqlite3_config is variadic, which Swift cannot call. Turns off SQLite's memory statistics:
/// with them on, every allocation SQLite makes takes a global mutex to count itself, for figures
/// nothing here reads. Only effective before SQLite initializes (SQLITE_MISUSE after).
static inline int actions_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/// Lets ATTACH take `file:` URIs (the search index is attached read-only with `?mode=ro`), where
/// SQLite was not built with SQLITE_USE_URI (Debian's is). Also only effective before SQLite initializes.
static inline int actions_sqlite_enable_uri(void) {
    return sqlite3_config(SQLITE_CONFIG_URI, 1);
}
