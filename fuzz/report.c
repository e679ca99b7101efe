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

bool fz_check_conclusive(const ad_check_report *r)
{
    if (r->pass || r->vacuous || !(r->mpfr.pass || r->ref_confirmed))
        return false;
    if (r->dot.ran && !r->dot.pass)
        return true;
    for (size_t i = 0; i < r->n_coords; i++) {
        const ad_check_coord *c = &r->coords[i];
        if (c->cls == AD_COORD_MISMATCH)
            return true;
        /* A NaN reference beside a finite engine value (the loss is finite
         * here): the replay's step left the domain (sqrt at a subnormal), the
         * checker's defect; an engine NaN or inf beside a finite reference counts. */
        if (c->cls == AD_COORD_NAN_MISMATCH && !(isnan(c->ref) && isfinite(c->engine)))
            return true;
        if (c->cls == AD_COORD_KINK_BAD && c->has_kink) {
            double lo = fmin(c->kink.left, c->kink.right), hi = fmax(c->kink.left, c->kink.right);
            double tol = 1e-9 * fmax(fabs(lo), fabs(hi)) + DBL_MIN;
            if (!(c->engine >= lo - tol && c->engine <= hi + tol))
                return true;
        }
    }
    return false;
}
