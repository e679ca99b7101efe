/* unary.c - smooth elementwise functions: exp, expm1, log, log1p, sqrt, square, sin, cos, tanh, pow.
 * The per-element formulas of exp, log, sqrt, tanh and square are in elem.h (shared with the scalar path). */
#include "elem.h"
#include "../ad/internal.h" /* ad__s_*: the scalar builders' entries */

/* Bounds: glibc documents exp, log within 1 ulp and tanh within 2 ulps on
 * x86_64; sqrt is correctly rounded. Backward adds one multiply (and the
 * derivative's own rounding). */

/* ---- exp: y = e^x; dx = y, g y formed from x where y overflowed or is
 * subnormal while g e^x is not (ad__exp_mul) ---- */
static int exp_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_exp(y, x, r); return 0; }
AD__UNARY_KERNELS_VJP(exp)
const ad_op ad_op_exp = {
    .name = "exp", .math = "e^x", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(exp), .domain = {{-700}, {700}}, .ulp_fwd = 1, .ulp_bwd = 2,
};
ad_var ad_exp(ad_tape *t, ad_var x) { return ad__s_exp(t, x); }

/* ---- log: y = ln x; dx = 1 / x, formed as g / x (1 / x overflows for
 * x < 2^-1024 where g / x may not) ---- */
static int log_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_log(y, x, r); return 0; }
AD__UNARY_KERNELS_VJP(log)
const ad_op ad_op_log = {
    .name = "log", .math = "ln(x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(log), .domain = {{1e-300}, {1e300}}, .ulp_fwd = 1, .ulp_bwd = 1.5,
};
ad_var ad_log(ad_tape *t, ad_var x) { return ad__s_log(t, x); }

/* ---- sqrt: y = sqrt(x); dx = 1 / (2 y), +inf at x = 0 (the one-sided derivative) ---- */
static int sqrt_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_sqrt(y, x, r); return 0; }
AD__UNARY_KERNELS(sqrt)
const ad_op ad_op_sqrt = {
    .name = "sqrt", .math = "sqrt(x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(sqrt), .domain = {{1e-300}, {1e300}}, .ulp_fwd = 0.5,
    .ulp_bwd = 2, /* y, 0.5 / y and the cotangent each round: 1.81 measured */
};
ad_var ad_sqrt(ad_tape *t, ad_var x) { return ad__s_sqrt(t, x); }

/* ---- tanh: y = tanh x; dx = 1 - y^2, computed as sech^2 x = 4e / (1 + e)^2 with
 * e = exp(-2|x|): 1 - y^2 cancels catastrophically once |y| nears 1 ---- */
static int tanh_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_tanh(y, x, r); return 0; }
AD__UNARY_KERNELS(tanh)
const ad_op ad_op_tanh = {
    .name = "tanh", .math = "tanh(x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    /* forward: glibc documents tanh within 2 ulps, the sweep measured 2.1; backward:
     * exp, a square and a division (3.81 measured, the tangent 4.04) */
    AD__KERNEL_SLOTS(tanh), .domain = {{-20}, {20}}, .ulp_fwd = 2.5, .ulp_bwd = 5,
};
ad_var ad_tanh(ad_tape *t, ad_var x) { return ad__s_tanh(t, x); }

/* ---- expm1: y = e^x - 1; dx = e^x, from x (y + 1 would cancel to 0 for very
 * negative x, where e^x is still representable), g e^x by ad__exp_mul: below
 * -708 e^x alone is subnormal and keeps a few bits ---- */
static double expm1_f(double x, const double *attr) { (void)attr; return expm1(x); }
static double expm1_vjp(double g, double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return ad__exp_mul(x, g); }
static int expm1_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_expm1(y, x, r); return 0; }
AD__UNARY_KERNELS_VJP(expm1)
const ad_op ad_op_expm1 = {
    .name = "expm1", .math = "e^x - 1", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(expm1),
    /* swept into the saturated tail: the verifier raises MPFR's precision there */
    .domain = {{-745}, {700}}, .ulp_fwd = 1, .ulp_bwd = 2,
};
ad_var ad_expm1(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_expm1, &x, 1, NULL, 0); }

/* ---- log1p: y = ln(1 + x); dx = 1 / (1 + x) (1 + x rounds by half an ulp
 * at most, and is exact near -1, where the derivative is large) ---- */
static double log1p_f(double x, const double *attr) { (void)attr; return log1p(x); }
static double log1p_df(double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return 1.0 / (1.0 + x); }
static int log1p_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_log1p(y, x, r); return 0; }
AD__UNARY_KERNELS(log1p)
const ad_op ad_op_log1p = {
    .name = "log1p", .math = "ln(1 + x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(log1p), .domain = {{-0.999}, {1e300}}, .ulp_fwd = 1, .ulp_bwd = 2,
};
ad_var ad_log1p(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_log1p, &x, 1, NULL, 0); }

/* ---- square: y = x^2; dx = 2x. g 2x rounds once either way: 2x is exact
 * up to DBL_MAX / 2 (above it, it overflows where g 2x may not), and (g x) 2
 * is exact beyond (g x cannot be subnormal for |x| > 2^1022) ---- */
static int square_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_sqr(y, x, r); return 0; }
AD__UNARY_KERNELS_VJP(square)
const ad_op ad_op_square = {
    .name = "square", .math = "x^2", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(square), .domain = {{-1e150}, {1e150}}, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};
ad_var ad_square(ad_tape *t, ad_var x) { return ad__s_square(t, x); }

/* ---- sin: y = sin x; dx = cos x ---- */
static double sin_f(double x, const double *attr) { (void)attr; return sin(x); }
static double sin_df(double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return cos(x); }
static int sin_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_sin(y, x, r); return 0; }
AD__UNARY_KERNELS(sin)
const ad_op ad_op_sin = {
    .name = "sin", .math = "sin(x)", .arity = 1, .flags = AD_OP_ELEMENTWISE | AD_OP_PERIODIC,
    AD__KERNEL_SLOTS(sin), .domain = {{-100}, {100}}, .ulp_fwd = 1, .ulp_bwd = 2,
};
ad_var ad_sin(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_sin, &x, 1, NULL, 0); }

/* ---- cos: y = cos x; dx = -sin x ---- */
static double cos_f(double x, const double *attr) { (void)attr; return cos(x); }
static double cos_df(double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return -sin(x); }
static int cos_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_cos(y, x, r); return 0; }
AD__UNARY_KERNELS(cos)
const ad_op ad_op_cos = {
    .name = "cos", .math = "cos(x)", .arity = 1, .flags = AD_OP_ELEMENTWISE | AD_OP_PERIODIC,
    AD__KERNEL_SLOTS(cos), .domain = {{-100}, {100}}, .ulp_fwd = 1, .ulp_bwd = 2,
};
ad_var ad_cos(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_cos, &x, 1, NULL, 0); }

/* ---- pow: y = x^p, both differentiable; dx = p x^(p-1), dp = x^p ln x.
 * Conventions (C's pow for the forward: x^0 = 1^p = 1 for every x and p, NaN too):
 * - p = 0: y = 1 for every x, so dx is an exact 0, even against a NaN or
 *   infinite cotangent (a constant exponent 0 must not pass on a NaN from
 *   elsewhere: x^(-(x^0)) at x < 0).
 * - x = 1: y = 1 for every p, so dp is an exact 0 the same way: 1^((-1.25)^p)
 *   must not pass on the NaN tangent of the inner power (fuzz_expr).
 * - a cotangent of 0 gives 0 for both inputs: ln x (NaN for x < 0, -inf at
 *   0) and p x^(p-1) (inf at x = 0, p < 1) are not formed.
 * - x = 0: dx is 0 for p > 1, 1 for p = 1, +inf for 0 < p < 1 (the one-sided
 *   derivative).
 * - y = 0 gives dp = 0, ln x not formed: x = 0, p > 0 (the limit of x^p ln x),
 *   x = +inf, p < 0 (y = 0 around p, not 0 inf), and an underflowed x^p, also
 *   for x < 0 at a huge (integer) p, where the function is 0 at every double
 *   near p.
 * - y = 0 at p = +-inf gives dx = 0: x^p is 0 around x there.
 * - x < 0 otherwise: dp is NaN (x^p is real only at integer p); dx is p x^(p-1). ---- */
/* x^0 = 1^p = 1 for every x and p, a NaN included; glibc's pow returns NaN for a
 * signaling NaN there (ISO/IEC TS 18661-1), MPFR (and the convention above) 1 */
static double pow_f(double a, double b) { return b == 0.0 || a == 1.0 ? 1.0 : pow(a, b); }
/* x^p overflowed, underflowed or is subnormal at a finite, nonzero x and finite p (at
 * x < 0, p is then an integer): the products g p x^(p-1) and g x^p ln x may
 * not. They are formed from h = |x|^(p/2) (p/2 exact), h h standing for
 * |x|^p, as mantissas with one final scaling: the factors' mantissas keep the
 * product in range (x = 2^512, p = 3, g = 1/4: 1.35e308, not inf).
 * @return false when h itself is out of range (the plain formula then). */
static bool pow_out_of_range(double a, double b, double y)
{
    /* a subnormal y kept only its top bits: x = -1.26e-106, p = 3 gives y with
     * 16, so g p y / x was 2% off (fuzz_op) */
    return (isinf(y) || fabs(y) < DBL_MIN) && a != 0.0 && isfinite(a) && isfinite(b);
}
/* f[0] ... f[n-1] / d as a split product (ad__split), scaled back with one
 * rounding: it stays in range where the plain one over- or underflows on the
 * way, or rounds in the subnormals. */
static double mantissa_product(const double *f, int n, double d)
{
    ad__split p = ad__split_of(1.0);
    for (int i = 0; i < n; i++)
        p = ad__split_mul(p, ad__split_of(f[i]));
    return ad__split_value(ad__split_div(p, ad__split_of(d)));
}
/* g x^p f, from the mantissas of g, h, h and f (x^p's sign put back). */
static bool pow_scaled(double g, double a, double b, double f, double *out)
{
    double h = pow(fabs(a), 0.5 * b);
    if (!(h > 0.0) || isinf(h) || f == 0.0 || !isfinite(f) || !isfinite(g))
        return false;
    /* x^p = -|x|^p at x < 0 and an odd integer p */
    double s = a < 0.0 && fmod(b, 2.0) != 0.0 ? -1.0 : 1.0;
    *out = s * mantissa_product((double[]){g, h, h, f}, 4, 1.0);
    return true;
}
static double pow_vda(double g, double a, double b, double y)
{
    if (b == 0.0 || g == 0.0)
        return 0.0;
    /* y = 0 at an infinite p: x^p is 0 on a neighbourhood of x (|x| > 1 at
     * p = -inf, |x| < 1 at +inf), not p x^(p-1) = inf * 0 */
    if (y == 0.0 && isinf(b))
        return 0.0;
    double r;
    /* x^p overflowed (x = 2^512, p = 3), g p x^(p-1) = g x^p (p / x) need not */
    if (pow_out_of_range(a, b, y) && pow_scaled(g, a, b, b / a, &r))
        return r;
    /* g p y / x: pow(x, p - 1) would carry the rounding of p - 1, amplified by ln x */
    if (a != 0.0 && y != 0.0 && isfinite(y)) {
        double q = b * (y / a);
        r = g * q;
        if ((fabs(r) < DBL_MIN || fabs(q) < DBL_MIN || !isfinite(r)) && isfinite(b) && isfinite(g)) {
            /* a quotient or product over- or underflowed (x = p = 2^-1074: y / x =
             * 2^1074), or the result or p y / x is subnormal, where each rounding
             * costs up to an ulp of it (26 ulps once scaled by g = 128): from the
             * mantissas, scaled back with one rounding */
            r = mantissa_product((double[]){g, b, y}, 3, a);
        }
        return r;
    }
    return g * (b * pow(a, b - 1.0));
}
static double pow_vdb(double g, double a, double b, double y)
{
    if (g == 0.0 || y == 0.0 || a == 1.0)
        return 0.0;
    double r;
    if (pow_out_of_range(a, b, y) && a > 0.0 && pow_scaled(g, a, b, log(a), &r))
        return r;
    double l = log(a);
    r = g * (y * l);
    if ((isinf(r) || fabs(r) < DBL_MIN) && isfinite(g) && isfinite(y) && isfinite(l) && l != 0.0) {
        /* y ln x overflowed where g y ln x need not (x = 2^-1022, p = -1, g = 2^-8:
         * -1.24e308), or a subnormal result: from the mantissas, one rounding */
        r = mantissa_product((double[]){g, y, l}, 3, 1.0);
    }
    return r;
}
static int pow_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_pow(y, a, b, r); return 0; }
AD__BINARY_KERNELS_VJP(pow)
const ad_op ad_op_pow = {
    .name = "pow", .math = "x^p", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(pow),
    /* x > 0: the real power is defined for every p there */
    .domain = {{0.01, -10}, {100, 10}}, .ulp_fwd = 1, .ulp_bwd = 4,
};
ad_var ad_pow(ad_tape *t, ad_var x, ad_var p) { return ad_apply(t, &ad_op_pow, (ad_var[]){x, p}, 2, NULL, 0); }
