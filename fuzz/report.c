/* report.c - findings: one explained message on stderr, then abort(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <float.h>
#include <math.h>
#include <ad/ad.h>
#include "report.h"

_Noreturn void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("fuzz finding: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort(); /* the one right place for abort: it is how a harness reports */
}

const char *fz_mpfr_str(char *buf, size_t len, mpfr_srcptr x)
{
    mpfr_snprintf(buf, len, "%.25Rg", x);
    return buf;
}

bool fz_check_conclusive(const ad_check_report *r, double big, double adj, unsigned prec)
{
    (void)big, (void)prec; /* the checker now raises its own precision under cancellation */
    if (r->pass || r->vacuous || !(r->mpfr.pass || r->ref_confirmed))
        return false;
    /* the dot test: not where an adjoint overflowed (NaN = 0 * inf, below) */
    if (r->dot.ran && !r->dot.pass && !isinf(adj))
        return true;
    for (size_t i = 0; i < r->n_coords; i++) {
        const ad_check_coord *c = &r->coords[i];
        /* An engine NaN or inf where some adjoint on the tape overflowed (adj
         * is then inf): 0 * x * 1e308 * x has a true adjoint above DBL_MAX for
         * its zero factor, and 0 * inf is NaN: a limit of double, not a defect
         * of one op (fuzz_op judges each op's overflow on its own). */
        if (c->cls == AD_COORD_NAN_MISMATCH && !isfinite(c->engine) && isinf(adj))
            continue;
        if (c->cls == AD_COORD_MISMATCH || c->cls == AD_COORD_KINK_BAD ||
            c->cls == AD_COORD_NAN_MISMATCH)
            return true;
    }
    return false;
}
