/* counting_alloc.h - a test allocator that counts calls and bytes and can fail the k-th allocation. */
#ifndef AD_TEST_COUNTING_ALLOC_H
#define AD_TEST_COUNTING_ALLOC_H

#include <stddef.h>
#include <ad/ad.h>

typedef struct counting_alloc {
    size_t allocs;      /* calls that asked for new or bigger memory   */
    size_t frees;
    size_t live_bytes;  /* bytes currently held                        */
    size_t fail_at;     /* 0: never; k: the k-th growth request fails  */
    int fail_after;     /* nonzero: every request from fail_at on fails */
} counting_alloc;

void *counting_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);

static inline ad_allocator counting_allocator(counting_alloc *c)
{
    return (ad_allocator){counting_alloc_fn, c};
}

#endif
