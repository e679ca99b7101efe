/* counting_alloc.c - the counting, failing test allocator. */
#include <stdlib.h>
#include "counting_alloc.h"

void *counting_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize)
{
    counting_alloc *c = ud;
    if (nsize == 0) {
        if (ptr) {
            c->frees++;
            c->live_bytes -= osize;
        }
        free(ptr);
        return NULL;
    }
    c->allocs++;
    if (c->fail_at && (c->allocs == c->fail_at || (c->fail_after && c->allocs > c->fail_at)))
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        c->live_bytes += nsize - (ptr ? osize : 0);
    return p;
}
