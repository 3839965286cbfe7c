#include <errno.h>
#include <archive.h>
#include <archive_entry.h>

// AE_IFREG is a macro of an octal literal Swift does not import.
static inline unsigned int xo_archive_regular_file_type(void) { return AE_IFREG; }

// archive_set_error is variadic, which Swift cannot call.
static inline void xo_archive_set_error(struct archive *archive, const char *message) {
    archive_set_error(archive, EIO, "%s", message);
}
