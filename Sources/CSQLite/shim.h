#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro ((sqlite3_destructor_type)-1) Swift cannot import.
static inline sqlite3_destructor_type xo_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// SQLITE_STATIC is likewise a cast macro; binding with it avoids a copy when the
// caller keeps the buffer alive until the statement is stepped.
static inline sqlite3_destructor_type xo_sqlite_static(void) { return SQLITE_STATIC; }
