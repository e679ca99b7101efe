/* ulp.c - ulp distances against MPFR, exact enough to judge bounds of 0.5 ulp. */
#include <math.h>
#include "ulp.h"

/* Exponent of the ulp of a double whose value has MPFR exponent e (x = m 2^e, m in [0.5, 1)). */
static mpfr_exp_t ulp_exp(mpfr_srcptr ref)
{
    if (mpfr_zero_p(ref))
        return -1074;
    mpfr_exp_t e = mpfr_get_exp(ref) - 53;
    if (e < -1074)
        e = -1074;
    if (e > 971) /* past DBL_MAX: keep the top binade's ulp */
        e = 971;
    return e;
}

double fz_ulp_of(mpfr_srcptr ref)
{
    if (mpfr_nan_p(ref))
        return 0.0;
    if (mpfr_inf_p(ref))
        return ldexp(1.0, 971);
    return ldexp(1.0, (int)ulp_exp(ref));
}

double fz_ulps(double got, mpfr_srcptr ref)
{
    if (isnan(got) || mpfr_nan_p(ref))
        return isnan(got) && mpfr_nan_p(ref) ? 0.0 : INFINITY;
    if (mpfr_inf_p(ref)) {
        /* MPFR itself overflowed (its exponent range is huge): only an infinity of the same sign matches. */
        return isinf(got) && (got > 0) == (mpfr_sgn(ref) > 0) ? 0.0 : INFINITY;
    }
    /* At or past 2^1024 the correctly rounded double is an infinity. */
    if (mpfr_get_exp(ref) > 1024 && isinf(got) && (got > 0) == (mpfr_sgn(ref) > 0))
        return 0.0;
    mpfr_t g, d;
    /* Enough bits that got - ref is exact for any double and a 256-bit ref of nearby magnitude. */
    mpfr_init2(g, 64);
    mpfr_init2(d, mpfr_get_prec(ref) + 2200);
    if (isinf(got))
        mpfr_set_si_2exp(g, got > 0 ? 1 : -1, 1024, MPFR_RNDN);
    else
        mpfr_set_d(g, got, MPFR_RNDN);
    mpfr_sub(d, g, ref, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_mul_2si(d, d, -(long)ulp_exp(ref), MPFR_RNDN);
    double u = mpfr_get_d(d, MPFR_RNDU);
    mpfr_clear(g);
    mpfr_clear(d);
    return u;
}
