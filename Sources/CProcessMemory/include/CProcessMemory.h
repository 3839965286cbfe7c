#ifndef XOSHARE_PROCESS_MEMORY_H
#define XOSHARE_PROCESS_MEMORY_H

/// Makes every thread of the process allocate from one malloc arena (glibc's
/// M_ARENA_MAX; <malloc.h> is not part of Swift's Glibc module). Returns 1 on
/// success, 0 where it is not supported.
int xo_use_one_malloc_arena(void);

#endif
