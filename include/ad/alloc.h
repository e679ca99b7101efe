/* alloc.h - the swappable allocator, one function told the old size (Lua's lua_Alloc idea). */
#ifndef AD_ALLOC_H
#define AD_ALLOC_H

#include <stddef.h>
#include "export.h"

/**
 * One function does all memory work for a tape or parameter:
 *  - nsize == 0: free ptr (which holds osize bytes) and return NULL;
 *  - ptr == NULL: allocate nsize bytes (osize is 0);
 *  - otherwise: resize ptr from osize to nsize bytes.
 * Returning NULL for nsize > 0 means "out of memory"; the old block is then
 * untouched. Being told the old size lets arenas carry no headers and lets a
 * counting allocator keep exact statistics.
 */
typedef void *(*ad_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);

typedef struct ad_allocator {
    ad_alloc_fn fn; /* NULL: the default, on malloc/realloc/free */
    void *ud;       /* passed back to fn untouched               */
} ad_allocator;

/**
 * The default allocator function (malloc, realloc, free).
 * @return never NULL for nsize == 0; NULL on failure otherwise.
 */
AD_API void *ad_alloc_default(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
