/* mp_ref.h - expected values for the stability tests, computed in MPFR at 200 bits. */
#ifndef AD_TEST_MP_REF_H
#define AD_TEST_MP_REF_H

#define LN2 0.693147180559945309417232121458176568 /* ln 2, published digits */

#include <mpfr.h>

/* e^(s a) / (1 + e^(s a))^2 * k: sigmoid'(a) scaled (s = -1 gives the mirrored side). */
static inline double mp_sigmoid_d(double a)
{
    mpfr_t e, d;
    mpfr_inits2(200, e, d, (mpfr_ptr)0);
    mpfr_set_d(e, -a, MPFR_RNDN);
    mpfr_exp(e, e, MPFR_RNDN);
    mpfr_add_ui(d, e, 1, MPFR_RNDN);
    mpfr_sqr(d, d, MPFR_RNDN);
    mpfr_div(e, e, d, MPFR_RNDN);
    double r = mpfr_get_d(e, MPFR_RNDN);
    mpfr_clears(e, d, (mpfr_ptr)0);
    return r;
}

/* k e^a */
static inline double mp_exp_times(double k, double a)
{
    mpfr_t e;
    mpfr_init2(e, 200);
    mpfr_set_d(e, a, MPFR_RNDN);
    mpfr_exp(e, e, MPFR_RNDN);
    mpfr_mul_d(e, e, k, MPFR_RNDN);
    double r = mpfr_get_d(e, MPFR_RNDN);
    mpfr_clear(e);
    return r;
}

/* (x / 2) erfc(-x / sqrt 2) */
static inline double mp_gelu(double x)
{
    mpfr_t t, s;
    mpfr_inits2(200, t, s, (mpfr_ptr)0);
    mpfr_sqrt_ui(s, 2, MPFR_RNDN);
    mpfr_set_d(t, -x, MPFR_RNDN);
    mpfr_div(t, t, s, MPFR_RNDN);
    mpfr_erfc(t, t, MPFR_RNDN);
    mpfr_mul_d(t, t, x / 2, MPFR_RNDN);
    double r = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clears(t, s, (mpfr_ptr)0);
    return r;
}

/* ln(1 + e^(b x)) / b */
static inline double mp_softplus(double x, double b)
{
    mpfr_t t;
    mpfr_init2(t, 200);
    mpfr_set_d(t, x, MPFR_RNDN);
    mpfr_mul_d(t, t, b, MPFR_RNDN);
    mpfr_exp(t, t, MPFR_RNDN);
    mpfr_log1p(t, t, MPFR_RNDN);
    mpfr_div_d(t, t, b, MPFR_RNDN);
    double r = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clear(t);
    return r;
}

/* |got - want| in ulps of want */
static inline double ulps_off(double got, double want)
{
    double u = nextafter(fabs(want), INFINITY) - fabs(want);
    return fabs(got - want) / u;
}

#endif
