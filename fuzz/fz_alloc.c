/* fz_alloc.c - a counting, failing allocator that also checks the old size it is told. */
#include <stdlib.h>
#include "fz_alloc.h"

static size_t *find(fz_alloc *a, void *p)
{
    for (size_t i = 0; i < a->n_blocks; i++)
        if (a->block[i].p == p)
            return &a->block[i].size;
    return NULL;
}

static void forget(fz_alloc *a, void *p)
{
    for (size_t i = 0; i < a->n_blocks; i++)
        if (a->block[i].p == p) {
            a->block[i] = a->block[--a->n_blocks];
            return;
        }
}

static void remember(fz_alloc *a, void *p, size_t size)
{
    if (a->n_blocks < FZ_ALLOC_TRACK) {
        a->block[a->n_blocks].p = p;
        a->block[a->n_blocks++].size = size;
    } else {
        a->overflowed = true;
    }
}

/* The old size the caller names must be the size it asked for. */
static void check_size(fz_alloc *a, void *p, size_t osize)
{
    size_t *s = find(a, p);
    if (s ? *s != osize : !a->overflowed)
        a->bad_size = true;
}

void *fz_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize)
{
    fz_alloc *a = ud;
    if (nsize == 0) {
        if (ptr) {
            check_size(a, ptr, osize);
            forget(a, ptr);
            a->live_bytes -= osize;
        }
        free(ptr);
        return NULL;
    }
    if (ptr)
        check_size(a, ptr, osize);
    size_t k = ++a->calls;
    if ((k <= 64 && (a->fail_mask >> (k - 1) & 1)) || (a->fail_from && k >= a->fail_from)) {
        a->failures++;
        return NULL; /* the old block stays as it was */
    }
    /* Forget the old block first: after a successful realloc its address must
     * not be used; a failed realloc keeps it, so it is remembered again. */
    if (ptr)
        forget(a, ptr);
    void *p = realloc(ptr, nsize);
    if (!p) {
        if (ptr)
            remember(a, ptr, osize);
        return NULL;
    }
    remember(a, p, nsize);
    a->live_bytes += nsize - (ptr ? osize : 0);
    return p;
}
