/* mp_ref.h - expected values for the stability tests, computed in MPFR at 200 bits. */
#ifndef AD_TEST_MP_REF_H
#define AD_TEST_MP_REF_H

#define LN2 0.693147180559945309417232121458176568 /* ln 2, published digits */

#include <mpfr.h>
#include <ad/ad.h>

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

/* 2^k d/dx of a unary registry op at x = hi + lo (lo may be 0), from its MPFR
 * reference: a central difference at 600 bits with h = 2^-150 (truncation
 * about 2^-300, rounding about 2^-450 relative), scaled before it is rounded to
 * a double (a derivative below the subnormals times a cotangent 2^k).
 * Independent of the double kernels. */
static inline double mp_op_derivative_scaled(const ad_op *op, double hi, double lo, long k)
{
    mpfr_t x, y0, y1;
    mpfr_inits2(600, x, y0, y1, (mpfr_ptr)0);
    ad_ref_args a = {.n_in = 1, .x = {x}};
    mpfr_set_d(x, hi, MPFR_RNDN);
    mpfr_add_d(x, x, lo, MPFR_RNDN);
    mpfr_add_d(x, x, -0x1p-150, MPFR_RNDN);
    op->reference(&a, y0, MPFR_RNDN);
    mpfr_add_d(x, x, 0x1p-149, MPFR_RNDN);
    op->reference(&a, y1, MPFR_RNDN);
    mpfr_sub(y1, y1, y0, MPFR_RNDN);
    mpfr_mul_2si(y1, y1, 149 + k, MPFR_RNDN);
    double r = mpfr_get_d(y1, MPFR_RNDN);
    mpfr_clears(x, y0, y1, (mpfr_ptr)0);
    return r;
}
static inline double mp_op_derivative(const ad_op *op, double hi, double lo)
{
    return mp_op_derivative_scaled(op, hi, lo, 0);
}

/* |got - want| in ulps of want */
static inline double ulps_off(double got, double want)
{
    double u = nextafter(fabs(want), INFINITY) - fabs(want);
    return fabs(got - want) / u;
}

#endif
