#include <errno.h>
#include <archive.h>
#include <archive_entry.h>

// AE_IFREG and its kin are macros of octal literals with casts Swift does not import.
static inline unsigned int xo_archive_regular_file_type(void) { return AE_IFREG; }
static inline unsigned int xo_archive_directory_type(void) { return AE_IFDIR; }
static inline unsigned int xo_archive_symbolic_link_type(void) { return AE_IFLNK; }
static inline unsigned int xo_archive_character_device_type(void) { return AE_IFCHR; }

// archive_set_error is variadic, which Swift cannot call.
static inline void xo_archive_set_error(struct archive *archive, const char *message) {
    archive_set_error(archive, EIO, "%s", message);
}
