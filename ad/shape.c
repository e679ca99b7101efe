/* shape.c - element counts with overflow checks, equality, formatting. */
#include <stdio.h>
#include "internal.h"

ad_status ad_shape_count(const ad_shape *s, size_t *count)
{
    if (!s || !count)
        return AD_EINVAL;
    if (s->rank > AD_MAX_RANK)
        return AD_ELIMIT;
    size_t n = 1;
    for (unsigned i = 0; i < s->rank; i++)
        if (!ad__mul_size(n, s->dim[i], &n))
            return AD_EOVERFLOW;
    size_t bytes;
    /* twice: a value and a gradient per element */
    if (!ad__mul_size(n, 2 * sizeof(double), &bytes))
        return AD_EOVERFLOW;
    *count = n;
    return AD_OK;
}

bool ad_shape_equal(const ad_shape *a, const ad_shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (unsigned i = 0; i < a->rank && i < AD_MAX_RANK; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

char *ad_shape_format(const ad_shape *s, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    size_t at = 0;
    int w = snprintf(buf, len, "[");
    at = w > 0 ? (size_t)w : 0;
    unsigned rank = s->rank > AD_MAX_RANK ? AD_MAX_RANK : s->rank;
    for (unsigned i = 0; i < rank && at < len; i++) {
        w = snprintf(buf + at, len - at, "%s%zu", i ? ", " : "", s->dim[i]);
        if (w > 0)
            at += (size_t)w;
    }
    if (at < len)
        snprintf(buf + at, len - at, "]");
    return buf;
}
