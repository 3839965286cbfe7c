#include "CProcessMemory.h"

#if defined(__linux__)
#include <malloc.h>
#endif

int xo_use_one_malloc_arena(void) {
#if defined(M_ARENA_MAX)
    return mallopt(M_ARENA_MAX, 1);
#else
    return 0;
#endif
}
