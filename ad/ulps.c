/* ulps.c - errors measured in units in the last place of a double, against MPFR. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include "check_int.h"

double ad__ulp_of(double r)
{
    r = fabs(r);
    if (!(r >= DBL_MIN))
        return DBL_TRUE_MIN; /* zero and subnormals: the fixed subnormal spacing */
    if (isinf(r))
        return ldexp(1.0, DBL_MAX_EXP - DBL_MANT_DIG);
    return ldexp(1.0, ilogb(r) - (DBL_MANT_DIG - 1));
}

double ad__ulps(double got, mpfr_srcptr ref)
{
    double rd = mpfr_get_d(ref, MPFR_RNDN);
    if (isnan(got) || isnan(rd))
        return isnan(got) && isnan(rd) ? 0.0 : INFINITY;
    if (isinf(got) || isinf(rd))
        return got == rd ? 0.0 : INFINITY;
    /* the difference in MPFR: the reference carries more than 53 bits */
    mpfr_t d;
    mpfr_init2(d, mpfr_get_prec(ref) + 64);
    mpfr_set_d(d, got, MPFR_RNDN);
    mpfr_sub(d, d, ref, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_div_d(d, d, ad__ulp_of(rd), MPFR_RNDN);
    double u = mpfr_get_d(d, MPFR_RNDU);
    mpfr_clear(d);
    return u;
}

void ad__mp_str(mpfr_srcptr ref, char *buf, size_t len)
{
    if (mpfr_nan_p(ref))
        snprintf(buf, len, "nan");
    else if (mpfr_inf_p(ref))
        snprintf(buf, len, mpfr_sgn(ref) > 0 ? "inf" : "-inf");
    else
        mpfr_snprintf(buf, len, "%.21Rg", ref);
}
