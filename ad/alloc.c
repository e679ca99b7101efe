/* alloc.c - the default allocator and the helpers every allocation goes through. */
#include <stdlib.h>
#include <stdint.h>
#include "internal.h"

void *ad_alloc_default(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static ad_alloc_fn fn_of(const ad_allocator *a)
{
    return a && a->fn ? a->fn : ad_alloc_default;
}

void *ad__alloc(const ad_allocator *a, size_t nsize)
{
    return nsize ? fn_of(a)(a ? a->ud : NULL, NULL, 0, nsize) : NULL;
}

void *ad__realloc(const ad_allocator *a, void *p, size_t osize, size_t nsize)
{
    return fn_of(a)(a ? a->ud : NULL, p, osize, nsize);
}

void ad__free(const ad_allocator *a, void *p, size_t osize)
{
    if (p)
        fn_of(a)(a ? a->ud : NULL, p, osize, 0);
}

bool ad__mul_size(size_t a, size_t b, size_t *out)
{
    if (b && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}
