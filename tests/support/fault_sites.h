/* fault_sites.h - included before each library source compiled into the `oom`
 * test: every allocation call becomes a call through a static per-site record. */
#ifndef AD_TEST_FAULT_SITES_H
#define AD_TEST_FAULT_SITES_H

/* Each site's record is listed by a pointer in the section "fault_sites"
 * (pointers, not the records: compilers pad larger objects to 32 bytes). */

/* Everything that declares an allocator goes first, so only the sources' own
 * calls are rewritten (the headers keep their prototypes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpfr.h>
#include "internal.h"
#include "fault.h"

#define FAULT_SITE_(what_, call_)                                                        \
    __extension__({                                                                      \
        static fault_site fault_s_ = {__FILE__, __LINE__, what_, 0, 0, 0};              \
        static fault_site *const fault_p_ __attribute__((section("fault_sites"), used)) = \
            &fault_s_;                                                                   \
        call_;                                                                           \
    })

#define ad__alloc(a, n) FAULT_SITE_("ad__alloc", fault_ad_alloc(&fault_s_, a, n))
#define ad__realloc(a, p, o, n) FAULT_SITE_("ad__realloc", fault_ad_realloc(&fault_s_, a, p, o, n))
#define malloc(n) FAULT_SITE_("malloc", fault_malloc(&fault_s_, n))
#define calloc(n, s) FAULT_SITE_("calloc", fault_calloc(&fault_s_, n, s))
#define aligned_alloc(al, n) FAULT_SITE_("aligned_alloc", fault_aligned_alloc(&fault_s_, al, n))
#define realloc(p, n) FAULT_SITE_("realloc", fault_realloc(&fault_s_, p, n))
#define strdup(s) FAULT_SITE_("strdup", fault_strdup(&fault_s_, s))
#define free(p) fault_free(p)

#endif
