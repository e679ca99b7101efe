/* fault.c - the call-site fault injector of the `oom` suite (see fault.h). */
#include <stdlib.h>
#include <string.h>
#include "fault.h"

void *ad__alloc(const ad_allocator *a, size_t nsize);
void *ad__realloc(const ad_allocator *a, void *p, size_t osize, size_t nsize);

fault_state fault;

void fault_arm(size_t k, bool persist)
{
    long live = fault.live_blocks;
    fault = (fault_state){.fail_at = k, .persist = persist, .live_blocks = live};
    fault_site *const *b, *const *e;
    for (fault_sites(&b, &e); b < e; b++)
        (*b)->failed = 0;
}

/* A named function, so a debugger can stop at every simulated failure. */
void fault_injected(const fault_site *s)
{
    (void)s;
}

extern fault_site *const __start_fault_sites[], *const __stop_fault_sites[];

bool fault_hit(fault_site *s)
{
    s->hits++;
    fault.calls++;
    if (fault.fail_at && (fault.calls == fault.fail_at || (fault.persist && fault.calls > fault.fail_at))) {
        s->failed++;
        s->ever_failed = true;
        fault.injected++;
        fault_injected(s);
        return true;
    }
    return false;
}

void fault_sites(fault_site *const **begin, fault_site *const **end)
{
    *begin = __start_fault_sites;
    *end = __stop_fault_sites;
}

void *fault_ad_alloc(fault_site *s, const ad_allocator *a, size_t n)
{
    if (n && fault_hit(s))
        return NULL;
    return ad__alloc(a, n);
}

void *fault_ad_realloc(fault_site *s, const ad_allocator *a, void *p, size_t o, size_t n)
{
    if (n && fault_hit(s)) /* a resize that fails leaves p untouched; n == 0 frees */
        return NULL;
    return ad__realloc(a, p, o, n);
}

void *fault_malloc(fault_site *s, size_t n)
{
    if (fault_hit(s))
        return NULL;
    void *p = malloc(n);
    fault.live_blocks += p != NULL;
    return p;
}

void *fault_calloc(fault_site *s, size_t n, size_t size)
{
    if (fault_hit(s))
        return NULL;
    void *p = calloc(n, size);
    fault.live_blocks += p != NULL;
    return p;
}

void *fault_aligned_alloc(fault_site *s, size_t align, size_t n)
{
    if (fault_hit(s))
        return NULL;
    void *p = aligned_alloc(align, n);
    fault.live_blocks += p != NULL;
    return p;
}

void *fault_realloc(fault_site *s, void *p, size_t n)
{
    if (fault_hit(s))
        return NULL;
    void *q = realloc(p, n);
    fault.live_blocks += q && !p;
    return q;
}

char *fault_strdup(fault_site *s, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = fault_malloc(s, n);
    if (p)
        memcpy(p, str, n);
    return p;
}

void fault_free(void *p)
{
    fault.live_blocks -= p != NULL;
    free(p);
}
