/* arena.c - a chunked arena per tape: chunks are kept across resets, so a
 * program recorded again in the same order allocates nothing. */
#include "internal.h"

struct ad__chunk {
    ad__chunk *next;
    size_t cap;   /* doubles available after the header */
    size_t used;  /* doubles handed out since the last rewind */
    double data[];
};

void ad__arena_init(ad__arena *ar, size_t chunk_bytes)
{
    ar->head = ar->cur = NULL;
    ar->chunk_bytes = chunk_bytes < 1024 ? 1024 : chunk_bytes;
    ar->held = 0;
}

double *ad__arena_doubles(ad__arena *ar, const ad_allocator *a, size_t n)
{
    if (n == 0)
        n = 1; /* a distinct, valid pointer even for zero-size tensors */
    /* Walk forward from the current chunk: after a rewind the same requests
     * land in the same chunks, so steady state never reaches the allocator. */
    for (ad__chunk *c = ar->cur; c; c = c->next) {
        if (c->cap - c->used >= n) {
            ar->cur = c;
            double *p = c->data + c->used;
            c->used += n;
            return p;
        }
    }
    size_t cap = ar->chunk_bytes / sizeof(double);
    if (cap < n)
        cap = n;
    size_t bytes;
    if (!ad__mul_size(cap, sizeof(double), &bytes) || bytes > SIZE_MAX - sizeof(ad__chunk))
        return NULL;
    bytes += sizeof(ad__chunk);
    ad__chunk *c = ad__alloc(a, bytes);
    if (!c)
        return NULL;
    c->next = NULL;
    c->cap = cap;
    c->used = n;
    if (!ar->head) {
        ar->head = c;
    } else {
        ad__chunk *last = ar->cur ? ar->cur : ar->head;
        while (last->next)
            last = last->next;
        last->next = c;
    }
    ar->cur = c;
    ar->held += bytes;
    return c->data;
}

void ad__arena_rewind(ad__arena *ar)
{
    for (ad__chunk *c = ar->head; c; c = c->next)
        c->used = 0;
    ar->cur = ar->head;
}

void ad__arena_release(ad__arena *ar, const ad_allocator *a)
{
    ad__chunk *c = ar->head;
    while (c) {
        ad__chunk *next = c->next;
        ad__free(a, c, sizeof(ad__chunk) + c->cap * sizeof(double));
        c = next;
    }
    ar->head = ar->cur = NULL;
    ar->held = 0;
}
