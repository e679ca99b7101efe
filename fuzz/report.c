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
    if (r->pass || r->vacuous || !(r->mpfr.pass || r->ref_confirmed))
        return false;
    /* Rounding noise on a gradient that is truly 0 (sum(softmax(x))) is not
     * judged: differences below 2^-44 times the largest adjoint are the
     * checker's missing absolute tolerance (its dot test fails on them too, so
     * its verdict is not used here; fuzz_program runs its own). */
    double floor = isinf(adj) ? 0.0 : 0x1p-44 * fmax(1.0, adj);
    /* The replay's central difference (step 2^-90 relative) at prec bits
     * under values as large as big carries noise up to about big 2^(96 - prec)
     * (x*y + 1e199 gives a reference of 0; 85-digit constants give garbage). */
    double noise = big > 0x1p64 ? ldexp(big, 96 - (int)prec) : 0.0;
    /* Its ulp bound (64) is fixed, not scaled by the program's condition:
     * expm1(expm1(expm1(x))) loses 447 ulps to rounding alone. A relative
     * error below 2^-30 is taken for rounding (a wrong derivative is off by
     * far more: the planted one by 2^-20). */
    for (size_t i = 0; i < r->n_coords; i++) {
        const ad_check_coord *c = &r->coords[i];
        /* A reference of exactly 0 beside a nonzero engine value in a program
         * holding values above 2^64: the replay's difference cancelled
         * (x*y + 1e199), the checker's defect. */
        if (c->cls == AD_COORD_MISMATCH && !(fabs(c->engine - c->ref) <= noise) &&
            fabs(c->engine - c->ref) > floor && !(fabs(c->engine - c->ref) <= 0x1p-30 * fabs(c->ref)))
            return true;
        /* A NaN reference beside a finite engine value (the loss is finite
         * here): the replay's step left the domain (sqrt at a subnormal), the
         * checker's defect; an engine NaN or inf beside a finite reference counts. */
        /* An engine NaN or inf where some adjoint on the tape overflowed (adj
         * is then inf): 0 * x * 1e308 * x has a true adjoint above DBL_MAX for
         * its zero factor, and 0 * inf is NaN: a limit of double, not a defect
         * of one op (fuzz_op judges each op's overflow on its own). */
        if (c->cls == AD_COORD_NAN_MISMATCH && !(isnan(c->ref) && isfinite(c->engine)) &&
            !(!isfinite(c->engine) && isinf(adj)))
            return true;
        /* Kink verdicts are not judged here: with several kinks on one
         * coordinate (a chain of prelu, a layer of relu units, relu(x) + abs(x))
         * the valid choices span more than the checker's two one-sided values,
         * and kinks crossed within a step or under large constants give
         * one-sided values of 0 (fuzz/findings/README.md). fuzz_op judges each
         * op's kink choice; fuzz_program's own dot-product test checks that
         * forward and reverse make the same choice. */
    }
    return false;
}
