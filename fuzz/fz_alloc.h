/* fz_alloc.h - the harnesses' allocator: counts live bytes, checks the old sizes it is
 * told, and fails on a decoded schedule. */
#ifndef FZ_ALLOC_H
#define FZ_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ad/ad.h>

#define FZ_ALLOC_TRACK 512

typedef struct fz_alloc {
    size_t calls;          /* requests for new or bigger memory so far     */
    size_t live_bytes;
    uint64_t fail_mask;    /* request k (1-based, k <= 64) fails when bit k-1 is set */
    size_t fail_from;      /* 0: off; k: every request from the k-th fails */
    size_t failures;       /* requests refused                             */
    bool bad_size;         /* a free or resize named the wrong old size    */
    size_t n_blocks;       /* live blocks tracked (sizes checked)          */
    struct { void *p; size_t size; } block[FZ_ALLOC_TRACK];
    bool overflowed;       /* more blocks than tracked: sizes unchecked    */
} fz_alloc;

void *fz_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);

static inline ad_allocator fz_allocator(fz_alloc *a)
{
    return (ad_allocator){fz_alloc_fn, a};
}

#endif
