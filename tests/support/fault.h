/* fault.h - fault injection by call site for the `oom` suite: every allocation
 * site of the library and the expression language, compiled into the test with
 * fault_sites.h, asks fault_hit() first (SQLite's idea, plus a per-site tally). */
#ifndef AD_TEST_FAULT_H
#define AD_TEST_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <ad/alloc.h>

/* One allocation call site; a static record per site, listed in the section
 * "fault_sites" so the test can find every site, reached or not. */
typedef struct fault_site {
    const char *file;
    int line;
    const char *what;      /* "ad__alloc", "malloc", ...                  */
    unsigned long hits;    /* calls that reached this site                */
    unsigned long failed;  /* calls failed here since fault_arm            */
    bool ever_failed;      /* a fault was injected here at some time      */
} fault_site;

typedef struct fault_state {
    size_t calls;          /* allocation requests seen since fault_arm    */
    size_t fail_at;        /* 0: never; k: the k-th request fails         */
    bool persist;          /* from fail_at on, every request fails        */
    size_t injected;       /* requests failed since fault_arm             */
    long live_blocks;      /* malloc-family blocks held (not ad__alloc)   */
} fault_state;

extern fault_state fault;

/** Resets the counters; fail the k-th request (0: none), once or from then on. */
void fault_arm(size_t k, bool persist);

/** Counts one request at s. @return true when this request must fail. */
bool fault_hit(fault_site *s);

/** The breakpoint spot: every simulated failure passes through here. */
void fault_injected(const fault_site *s);

/** Every site linked into the program: [*begin, *end). */
void fault_sites(fault_site *const **begin, fault_site *const **end);

/* The site-aware versions the macros in fault_sites.h call. */
void *fault_ad_alloc(fault_site *s, const ad_allocator *a, size_t n);
void *fault_ad_realloc(fault_site *s, const ad_allocator *a, void *p, size_t o, size_t n);
void *fault_malloc(fault_site *s, size_t n);
void *fault_calloc(fault_site *s, size_t n, size_t size);
void *fault_realloc(fault_site *s, void *p, size_t n);
void *fault_aligned_alloc(fault_site *s, size_t align, size_t n);
char *fault_strdup(fault_site *s, const char *str);
void fault_free(void *p);

#endif
