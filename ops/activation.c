/* activation.c - smooth activations: sigmoid, logsigmoid, softplus, softsign, erf, gelu, gelu_tanh, silu, mish. */
#include "elem.h" /* sigmoid_f, sigmoid_vjp: shared with the scalar path */
#include "near_root.h"

/* MPFR references work with this many guard bits beyond the output's precision. */
#define GUARD 64
#define TWO_RSQRTPI 1.1283791670955126 /* 2 / sqrt(pi) */

/* MPFR: t = ln(1 + e^t) in place. e^t overflows MPFR's exponent range near
 * t = 7e8, so large t uses the identity t + ln(1 + e^-t) (exact mathematics,
 * evaluated at high precision). */
static void ref_softplus(mpfr_ptr t, mpfr_srcptr x)
{
    mpfr_t e;
    mpfr_init2(e, mpfr_get_prec(t));
    if (mpfr_sgn(x) > 0) {
        mpfr_neg(e, x, MPFR_RNDN);
        mpfr_exp(e, e, MPFR_RNDN);
        mpfr_log1p(e, e, MPFR_RNDN);
        mpfr_add(t, x, e, MPFR_RNDN);
    } else {
        mpfr_exp(e, x, MPFR_RNDN);
        mpfr_log1p(t, e, MPFR_RNDN);
    }
    mpfr_clear(e);
}

/* ---- sigmoid: y = 1 / (1 + e^-x); dx = e / (1 + e)^2 with e = e^-|x|, from the
 * input (y (1 - y) would be 0 once y rounds to 1, at x = 40 the derivative is 4.2e-18);
 * beyond |x| = 700 the cotangent's product g e^-|x| is rounded once
 * (ad__sigmoid_d_mul), not e^-|x| first and then again in the subnormal range ---- */
static int sigmoid_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(y) + GUARD);
    mpfr_neg(t, x, MPFR_RNDN);
    mpfr_exp(t, t, MPFR_RNDN);
    mpfr_add_ui(t, t, 1, MPFR_RNDN);
    mpfr_ui_div(y, 1, t, r);
    mpfr_clear(t);
    return 0;
}
AD__UNARY_KERNELS_VJP(sigmoid)
const ad_op ad_op_sigmoid = {
    .name = "sigmoid", .math = "1 / (1 + e^-x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(sigmoid),
    /* swept into the saturated tail: the verifier raises MPFR's precision there */
    .domain = {{-745}, {745}}, .ulp_fwd = 2.5, .ulp_bwd = 6,
};
ad_var ad_sigmoid(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_sigmoid, &x, 1, NULL, 0); }

/* ---- logsigmoid: y = -softplus(-x) = min(x, 0) - log1p(e^-|x|) (logsigmoid(-1000)
 * = -1000, not -inf); dx = sigmoid(-x), which is e^-x to double precision beyond
 * x = 700: there g e^-x is rounded once (ad__sigmoid_mul), not twice near subnormals ---- */
static double logsigmoid_f(double x, const double *attr) { (void)attr; return -ad__softplus(-x); }
static double logsigmoid_vjp(double g, double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return ad__sigmoid_mul(-x, g); }
static int logsigmoid_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(y) + mpfr_get_prec(x) + GUARD);
    mpfr_neg(t, x, MPFR_RNDN);
    ref_softplus(t, t);
    mpfr_neg(y, t, r);
    mpfr_clear(t);
    return 0;
}
AD__UNARY_KERNELS_VJP(logsigmoid)
const ad_op ad_op_logsigmoid = {
    .name = "logsigmoid", .math = "-ln(1 + e^-x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(logsigmoid), .domain = {{-1e308}, {745}}, .ulp_fwd = 2, .ulp_bwd = 2,
};
ad_var ad_logsigmoid(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_logsigmoid, &x, 1, NULL, 0); }

/* ---- softplus(x, beta): y = ln(1 + e^(beta x)) / beta, the exact function for every x
 * (max(z, 0) + log1p(e^-|z|) with z = beta x, no linear switch); dx = sigmoid(beta x).
 * beta > 0. For x > 0, max(z, 0) / beta is x itself: y = x + log1p(e^-z) / beta,
 * so nothing overflows where beta x does (and y is not rounded twice). The
 * cotangent's product g sigmoid(beta x) is rounded once near the subnormals
 * (ad__sigmoid_mul). ---- */
static double softplus_f(double x, const double *attr)
{
    double z = attr[0] * x;
    return x > 0.0 ? x + log1p(exp(-z)) / attr[0] : ad__softplus(z) / attr[0];
}
static double softplus_vjp(double g, double x, double y, const double *attr, double kg) { (void)y, (void)kg; return ad__sigmoid_mul(attr[0] * x, g); }
static int softplus_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(y) + mpfr_get_prec(x) + GUARD); /* beta x exactly */
    mpfr_mul_d(t, x, attr[0], MPFR_RNDN);
    ref_softplus(t, t);
    mpfr_div_d(y, t, attr[0], r);
    mpfr_clear(t);
    return 0;
}
static ad_status softplus_check(const double *attr, char *why, size_t len)
{
    if (!(attr[0] > 0.0)) {
        snprintf(why, len, "beta must be > 0, got %g", attr[0]);
        return AD_EINVAL;
    }
    return AD_OK;
}
AD__UNARY_KERNELS_VJP(softplus)
static const char *const softplus_names[] = {"beta"};
static const double softplus_default[] = {1.0};
const ad_op ad_op_softplus = {
    .name = "softplus", .math = "ln(1 + e^(beta x)) / beta", .arity = 1, .n_attr = 1,
    .attr_name = softplus_names, .attr_default = softplus_default, .flags = AD_OP_ELEMENTWISE,
    .check_attr = softplus_check, AD__KERNEL_SLOTS(softplus),
    .domain = {{-745}, {1e308}}, .ulp_fwd = 2, .ulp_bwd = 2,
};
ad_var ad_softplus(ad_tape *t, ad_var x, double beta)
{
    return ad_apply(t, &ad_op_softplus, &x, 1, (double[]){beta}, 1);
}

/* ---- softsign: y = x / (1 + |x|) (+-1 at +-inf); dx = 1 / (1 + |x|)^2 ---- */
/* 1 + |x| = s + e exactly (Fast2Sum, the larger term first): 1 + |x| rounds
 * above 2^53 and where it crosses into the next binade, and that rounding
 * cost 1.17 ulps of x / (1 + |x|) at x = 1.2 * 2^53 (fuzz_op). */
static void one_plus_abs(double x, double *s, double *e)
{
    double a = fabs(x);
    *s = 1.0 + a;
    *e = a >= 1.0 ? 1.0 - (*s - a) : a - (*s - 1.0);
}
static double softsign_f(double x, const double *attr)
{
    (void)attr;
    if (isinf(x))
        return copysign(1.0, x);
    double s, e, a = fabs(x);
    one_plus_abs(x, &s, &e);
    /* a / (s + e) = q + (r - q e) / (s + e), r = a - q s exact (fma) */
    double q = a / s, r = fma(-q, s, a);
    return copysign(q + (r - q * e) / s, x);
}
/* g / (1 + |x|)^2 with g divided in first: 1 / s^2 alone is subnormal at
 * |x| = 2^512 and its rounding, times g = 128, was 4 ulps (fuzz_op) */
static double softsign_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    double s, e;
    one_plus_abs(x, &s, &e);
    double q = g / s / s; /* two divisions: s * s would overflow first */
    if (!isfinite(s))
        return q; /* |x| = inf: 0; NaN: NaN */
    return q - q * (2.0 * e / s); /* g / (s + e)^2 to first order in e / s (<= 2^-53) */
}
static int softsign_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    if (mpfr_inf_p(x)) { /* the limit +-1, as the forward */
        mpfr_set_si(y, mpfr_sgn(x), r);
        return 0;
    }
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(y) + mpfr_get_prec(x) + GUARD);
    mpfr_abs(t, x, MPFR_RNDN);
    mpfr_add_ui(t, t, 1, MPFR_RNDN);
    mpfr_div(y, x, t, r);
    mpfr_clear(t);
    return 0;
}
AD__UNARY_KERNELS_VJP(softsign)
const ad_op ad_op_softsign = {
    .name = "softsign", .math = "x / (1 + |x|)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(softsign), .domain = {{-1e300}, {1e300}}, .ulp_fwd = 1, .ulp_bwd = 2,
};
ad_var ad_softsign(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_softsign, &x, 1, NULL, 0); }

/* ---- erf: y = erf x; dx = 2/sqrt(pi) e^(-x^2), with x^2 split exactly so the
 * derivative keeps its accuracy in the tails; the cotangent's product
 * g 2/sqrt(pi) e^(-x^2) is rounded once where e^(-x^2) is subnormal (|x| > 26.6),
 * not the derivative first and then again scaled by g (ad__exp_neg_sq_mul) ---- */
static double erf_f(double x, const double *attr) { (void)attr; return erf(x); }
static double erf_vjp(double g, double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return ad__exp_neg_sq_mul(x, g, TWO_RSQRTPI); }
static int erf_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_erf(y, x, r); return 0; }
AD__UNARY_KERNELS_VJP(erf)
const ad_op ad_op_erf = {
    .name = "erf", .math = "erf(x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(erf),
    /* swept into the saturated tail: the verifier raises MPFR's precision there */
    .domain = {{-27}, {27}}, .ulp_fwd = 1.5, .ulp_bwd = 4,
};
ad_var ad_erf(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_erf, &x, 1, NULL, 0); }

/* ---- gelu: y = x Phi(x) = (x/2) erfc(-x/sqrt 2); dx = Phi(x) + x phi(x).
 * x/sqrt 2 is carried as hi + lo (1/sqrt 2 in two doubles, the product split
 * by fma) and erfc corrected to first order in lo: in the left tail erfc's
 * relative error is 2 z^2 times its argument's, so one rounding of z would
 * cost hundreds of ulps at x = -10. gelu'(0) = 1/2; gelu(-inf) = 0 (the limit). ---- */
#define RSQRT2_HI 0.7071067811865476
#define RSQRT2_LO (-4.833646656726457e-17)
#define RSQRT_2PI 0.3989422804014327 /* 1 / sqrt(2 pi) */

/* Phi(x) = erfc(-x/sqrt 2) / 2 and phi(x) = e^(-x^2/2) / sqrt(2 pi). */
static void gauss(double x, double *cdf, double *pdf)
{
    if (isinf(x)) {
        *cdf = x > 0 ? 1.0 : 0.0;
        *pdf = 0.0;
        return;
    }
    double p = x * RSQRT2_HI, lo = fma(x, RSQRT2_HI, -p) + x * RSQRT2_LO;
    double g = ad__exp_neg_sq(p); /* e^(-p^2); e^(-(p+lo)^2) = g (1 - 2 p lo) */
    *cdf = 0.5 * (erfc(-p) + TWO_RSQRTPI * g * lo);
    *pdf = g == 0.0 ? 0.0 : RSQRT_2PI * g * (1.0 - 2.0 * p * lo);
}
static double gelu_f(double x, const double *attr)
{
    (void)attr;
    double c, d;
    gauss(x, &c, &d);
    return x == -INFINITY ? 0.0 : x * c;
}
/* gelu'' = phi(x) (2 - x^2), positive next to the zero of gelu' */
static double gelu_d2(double x)
{
    double c, d;
    gauss(x, &c, &d);
    return d * (2.0 - x * x);
}
static const ad__deriv_root gelu_root = {-0x1.80ead197f00b4p-1, 0x1.13e74c58cada8p-56, gelu_d2};
static double gelu_df(double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    if (ad__near_root(x, &gelu_root))
        return ad__deriv_near_root(x, &gelu_root);
    double c, d;
    gauss(x, &c, &d);
    return isinf(x) ? c : c + x * d;
}
/* Depth of erfc's continued fraction at most: beyond, MPFR's erfc is cheaper. */
#define ERFC_CF_MAX_DEPTH 4096

/* The continued fraction t + (1/2)/(t + (2/2)/(t + (3/2)/(t + ...))) cut at
 * depth n, evaluated from the bottom (every term positive: no cancellation). */
static void erfc_cf_denominator(mpfr_ptr f, mpfr_srcptr t, unsigned long n, mpfr_ptr q)
{
    mpfr_set(f, t, MPFR_RNDN);
    for (unsigned long k = n; k >= 1; k--) {
        mpfr_ui_div(q, k, f, MPFR_RNDN);
        mpfr_div_2ui(q, q, 1, MPFR_RNDN);
        mpfr_add(f, t, q, MPFR_RNDN);
    }
}

/* The depth whose convergent is within 2^-bits of the fraction at t: the gap
 * between depths n and n + 1 is about n! / (2 t^2)^n while n < 2 t^2 (as the
 * asymptotic series' terms). 0 where that needs more than 2 t^2 or
 * ERFC_CF_MAX_DEPTH terms. */
static unsigned long erfc_cf_depth(double t, double bits)
{
    double lg2t2 = log(2.0 * t * t), most = fmin(2.0 * t * t, ERFC_CF_MAX_DEPTH);
    for (double n = 1.0; n <= most; n += 1.0)
        if ((lgamma(n + 1.0) - n * lg2t2) / 0.6931471805599453 < -bits)
            return (unsigned long)n;
    return 0;
}

/* erfc(t) into y for t > 0 large enough, as e^(-t^2) / (sqrt(pi) D(t)) with
 * D the continued fraction above. MPFR's own erfc works against 1 - erf
 * with about t^2 / ln 2 more bits (0.8 s at t = 108 and 4,096 bits, 0.56 ms
 * at t = 10 and 192: the cost of fuzz_program's slowest inputs). D's
 * convergents bracket it (all elements positive), so depths n and n + 1
 * that agree to the working precision bound it. y and t may be the same.
 * @return false where the depth would be too great or the two did not
 * agree: the caller uses mpfr_erfc. */
static bool erfc_cf(mpfr_ptr y, mpfr_srcptr t)
{
    mpfr_prec_t p = mpfr_get_prec(y) + 32;
    double td = mpfr_get_d(t, MPFR_RNDZ);
    if (!(td >= 2.0) || !isfinite(td))
        return false;
    unsigned long n = erfc_cf_depth(td, (double)p);
    if (!n)
        return false;
    mpfr_t f, g, q;
    mpfr_inits2(p, f, g, q, (mpfr_ptr)0);
    erfc_cf_denominator(f, t, n, q);
    erfc_cf_denominator(g, t, n + 1, q);
    mpfr_sub(q, f, g, MPFR_RNDN);
    bool agree = mpfr_zero_p(q) || mpfr_get_exp(q) < mpfr_get_exp(f) - (mpfr_exp_t)(p - 8);
    if (agree) {
        mpfr_sqr(g, t, MPFR_RNDN);
        mpfr_neg(g, g, MPFR_RNDN);
        mpfr_exp(g, g, MPFR_RNDN);
        mpfr_const_pi(q, MPFR_RNDN);
        mpfr_sqrt(q, q, MPFR_RNDN);
        mpfr_mul(f, f, q, MPFR_RNDN);
        mpfr_div(y, g, f, MPFR_RNDN);
    }
    mpfr_clears(f, g, q, (mpfr_ptr)0);
    return agree;
}

static int gelu_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    if (mpfr_inf_p(x) && mpfr_sgn(x) < 0) { /* the limit; -inf * erfc(+inf) is NaN */
        mpfr_set_zero(y, 1);
        return 0;
    }
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(y) + GUARD);
    mpfr_sqrt_ui(t, 2, MPFR_RNDN);
    mpfr_div(t, x, t, MPFR_RNDN);
    mpfr_neg(t, t, MPFR_RNDN);
    if (!erfc_cf(t, t)) /* the continued fraction where it is cheap */
        mpfr_erfc(t, t, MPFR_RNDN);
    mpfr_mul(t, t, x, MPFR_RNDN);
    mpfr_div_ui(y, t, 2, r);
    mpfr_clear(t);
    return 0;
}
AD__UNARY_KERNELS(gelu)
const ad_op ad_op_gelu = {
    .name = "gelu", .math = "x Phi(x) = (x/2) erfc(-x/sqrt 2)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(gelu), .domain = {{-37}, {1e300}}, .ulp_fwd = 4, .ulp_bwd = 8,
};
ad_var ad_gelu(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_gelu, &x, 1, NULL, 0); }

/* ---- gelu_tanh: y = (x/2)(1 + tanh u), u = sqrt(2/pi)(x + 0.044715 x^3), computed
 * as x sigmoid(2u) (1 + tanh u cancels for x < 0); dx = sigmoid(2u) + x sigmoid'(2u)
 * 2 sqrt(2/pi)(1 + 3 0.044715 x^2). In the left tail the function's relative
 * sensitivity to 2u is 2|u| (y is about x e^(2u)), so a rounded 2u would cost up
 * to 2|u| ulps (262 at x = -18.7): 2u is formed in double-double (x^3 by fma, the
 * constants 2 sqrt(2/pi) and 0.044715 as two doubles each) and its low part
 * enters sigmoid to first order; below 2u = -700, y = x e^(2u) by ad__exp_mul
 * (one rounding into the subnormals). The backward corrects sigmoid and
 * sigmoid' by the low part too (47 ulps at x = -8 without); it sums two terms
 * of opposite sign (1.008 cancellation at -8) and rounds more: measured 6 ulps
 * on x >= -8 (|u| < 25). ---- */
#define TWO_SQRT_2_PI_HI 0x1.9884533d43651p+0 /* 2 sqrt(2/pi), MPFR */
#define TWO_SQRT_2_PI_LO (-0x1.cbc0d30ebfd15p-54)
#define GELU_A_HI 0x1.6e4e26d4801f7p-5        /* 0.044715 */
#define GELU_A_LO 0x1.441355475a31ap-59

/* 2u = *h + *l with a relative error near 2^-100 for |x| < 2^100 (beyond, x^3
 * may overflow and sigmoid(2u) is 0 or 1: plain doubles, *l = 0). */
static void gelu_tanh_u2(double x, double *h, double *l)
{
    if (!(fabs(x) < 0x1p100)) {
        *h = TWO_SQRT_2_PI_HI * fma(GELU_A_HI * x, x * x, x);
        *l = 0.0;
        return;
    }
    double p = x * x, pe = fma(x, x, -p);                      /* x^2 = p + pe       */
    double c = p * x, ce = fma(p, x, -c) + pe * x;             /* x^3 = c + ce       */
    double a = GELU_A_HI * c, ae = fma(GELU_A_HI, c, -a) + (GELU_A_HI * ce + GELU_A_LO * c);
    double s = x + a, bb = s - x, se = ((x - (s - bb)) + (a - bb)) + ae; /* TwoSum */
    *h = TWO_SQRT_2_PI_HI * s;
    *l = fma(TWO_SQRT_2_PI_HI, s, -*h) + (TWO_SQRT_2_PI_HI * se + TWO_SQRT_2_PI_LO * s);
}
static double gelu_tanh_f(double x, const double *attr)
{
    (void)attr;
    double h, l;
    gelu_tanh_u2(x, &h, &l);
    if (h < -700.0) /* sigmoid(2u) = e^(2u) to double precision */
        return ad__exp_mul(h, fma(x, l, x));
    double xs = x * ad__sigmoid(h); /* sigmoid(h + l) = sigmoid(h) (1 + l sigmoid(-h)) */
    return l == 0.0 ? xs : fma(xs, l * ad__sigmoid(-h), xs); /* l = 0: also x = inf */
}
/* With v = 2u and y = x sigmoid(v): gelu_tanh'' = sigmoid'(v) (2 v' + x (1 - 2
 * sigmoid(v)) v'^2 + x v''), positive next to the zero of gelu_tanh' */
static double gelu_tanh_d2(double x)
{
    double h, l;
    gelu_tanh_u2(x, &h, &l);
    double v1 = TWO_SQRT_2_PI_HI * fma(3.0 * GELU_A_HI * x, x, 1.0);
    double v2 = TWO_SQRT_2_PI_HI * 6.0 * GELU_A_HI * x;
    return ad__sigmoid_d(h) * (2.0 * v1 + x * (1.0 - 2.0 * ad__sigmoid(h)) * v1 * v1 + x * v2);
}
static const ad__deriv_root gelu_tanh_root = {-0x1.81429f9e97e4dp-1, 0x1.4f523ed77dbdcp-55,
                                              gelu_tanh_d2};
static double gelu_tanh_df(double x)
{
    if (ad__near_root(x, &gelu_tanh_root))
        return ad__deriv_near_root(x, &gelu_tanh_root);
    double h, l;
    gelu_tanh_u2(x, &h, &l);
    double du2 = TWO_SQRT_2_PI_HI * fma(3.0 * GELU_A_HI * x, x, 1.0), sd = ad__sigmoid_d(h);
    double s = fma(sd, l, ad__sigmoid(h)); /* sigmoid(h + l) to first order */
    /* sd = 0 far out (|h| > 745), where du2 may be inf: the term is 0, not 0 inf */
    if (sd == 0.0)
        return s;
    sd = fma(sd * l, 1.0 - 2.0 * ad__sigmoid(h), sd); /* sigmoid'(h + l) = sd (1 + l (1 - 2 sigmoid h)) */
    return s + x * sd * du2;
}
/* g gelu_tanh'(x). Below 2u = -700, sigmoid(2u) and sigmoid'(2u) are both
 * e^(2u) to double precision, so the derivative is (1 + x (2u)') e^(2u): formed
 * with g from one rounding (ad__exp_mul2), not from sigmoid' rounded into the
 * subnormals (1.05e-9 relative at x = -21.3, where it is 5e-312: fuzz_program);
 * beyond 2u = -1500 it is 0 at any g. */
static double gelu_tanh_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    double h, l;
    gelu_tanh_u2(x, &h, &l);
    if (!(h < -700.0))
        return g * gelu_tanh_df(x);
    if (!(h > -1500.0))
        return 0.0 * g;
    double du2 = TWO_SQRT_2_PI_HI * fma(3.0 * GELU_A_HI * x, x, 1.0);
    return ad__exp_mul2(h, g, fma(x, du2, 1.0) * (1.0 + l));
}
/* x / (1 + e^(-2u)): the same function as (x/2)(1 + tanh u), without the
 * cancellation of 1 + tanh u in the left tail (1 + tanh(-496) = 2^-1431 would
 * need some 1400 bits more) */
static int gelu_tanh_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t t, u;
    mpfr_prec_t p = mpfr_get_prec(y) + GUARD;
    mpfr_inits2(p, t, u, (mpfr_ptr)0);
    mpfr_set_str(t, "0.044715", 10, MPFR_RNDN);
    mpfr_mul(t, t, x, MPFR_RNDN);
    mpfr_mul(t, t, x, MPFR_RNDN);
    mpfr_mul(t, t, x, MPFR_RNDN);
    mpfr_add(t, t, x, MPFR_RNDN);           /* x + 0.044715 x^3 */
    mpfr_const_pi(u, MPFR_RNDN);
    mpfr_ui_div(u, 2, u, MPFR_RNDN);
    mpfr_sqrt(u, u, MPFR_RNDN);
    mpfr_mul(u, u, t, MPFR_RNDN);           /* u */
    mpfr_mul_si(u, u, -2, MPFR_RNDN);
    mpfr_exp(u, u, MPFR_RNDN);
    mpfr_add_ui(u, u, 1, MPFR_RNDN);
    mpfr_div(y, x, u, r);
    mpfr_clears(t, u, (mpfr_ptr)0);
    return 0;
}
AD__UNARY_KERNELS_VJP(gelu_tanh)
const ad_op ad_op_gelu_tanh = {
    .name = "gelu_tanh", .math = "(x/2)(1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))", .arity = 1,
    .flags = AD_OP_ELEMENTWISE, AD__KERNEL_SLOTS(gelu_tanh), .domain = {{-8}, {1e100}},
    .ulp_fwd = 2, .ulp_bwd = 8, /* forward 0.94 measured; backward: see above */
};
ad_var ad_gelu_tanh(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_gelu_tanh, &x, 1, NULL, 0); }

/* silu and mish far left (x < FAR_LEFT): both are x e^x and their derivative
 * (1 + x) e^x to double precision (relative terms e^x dropped); e^x alone is
 * subnormal below -708, so each product is rounded once from x (ad__exp_mul). */
#define FAR_LEFT (-700.0)
static double far_left_vjp(double g, double x)
{
    double k = g * (1.0 + x); /* 1 + x is exact here */
    return isfinite(k) || !isfinite(g) ? ad__exp_mul(x, k) : (1.0 + x) * ad__exp_mul(x, g);
}

/* ---- silu: y = x sigmoid(x); dx = sigmoid(x) (1 + x sigmoid(-x)), both sigmoids
 * split-stable (1 - sigmoid(x) would cancel for large x); x e^x below -700 (above:
 * silu(-745.13) = -1.84e-321 was -0, x times a subnormal e^x rounded to 0) ---- */
static double silu_f(double x, const double *attr) { (void)attr; return x < FAR_LEFT ? ad__exp_mul(x, x) : x * ad__sigmoid(x); }
/* silu'' = sigmoid(x) sigmoid(-x) (2 + x (sigmoid(-x) - sigmoid(x))), positive
 * next to the zero of silu' */
static double silu_d2(double x)
{
    double p = ad__sigmoid(x), q = ad__sigmoid(-x);
    return p * q * (2.0 + x * (q - p));
}
static const ad__deriv_root silu_root = {-0x1.474973c84120bp+0, -0x1.f8d74bc9ac154p-54, silu_d2};
static double silu_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    if (x < FAR_LEFT)
        return far_left_vjp(g, x);
    if (ad__near_root(x, &silu_root))
        return g * ad__deriv_near_root(x, &silu_root);
    return g * (ad__sigmoid(x) * (1.0 + x * ad__sigmoid(-x)));
}
static int silu_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(y) + GUARD);
    mpfr_neg(t, x, MPFR_RNDN);
    mpfr_exp(t, t, MPFR_RNDN);
    mpfr_add_ui(t, t, 1, MPFR_RNDN);
    mpfr_div(y, x, t, r);
    mpfr_clear(t);
    return 0;
}
AD__UNARY_KERNELS_VJP(silu)
const ad_op ad_op_silu = {
    .name = "silu", .math = "x / (1 + e^-x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(silu),
    /* swept into the subnormal tail, where x e^x is rounded once */
    .domain = {{-745}, {1e300}}, .ulp_fwd = 3, .ulp_bwd = 8,
};
ad_var ad_silu(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_silu, &x, 1, NULL, 0); }

/* ---- mish: y = x tanh(softplus x). With n = e^x (e^x + 2), tanh(softplus x) =
 * n / (n + 2) and sech^2(softplus x) = 4 (n + 1) / (n + 2)^2; for x > 0 both are
 * rewritten in q = e^-x so nothing overflows or cancels. dx = tanh(sp) + x
 * sech^2(sp) sigmoid(x); mish'(0) = 3/5. Below x = -700, tanh(sp) = sigmoid(x) =
 * e^x and sech^2(sp) = 1 to double precision: x e^x and (1 + x) e^x as silu
 * (x tanh(sp) was -0 at x = -745.13 where x e^x = -1.84e-321). ---- */
static void mish_parts(double x, double *th, double *sech2)
{
    if (x > 0.0) {
        double q = exp(-x), d = fma(2.0 * q, q, 1.0 + 2.0 * q), s = (1.0 + q) * q / d;
        *th = (1.0 + 2.0 * q) / d;
        *sech2 = 4.0 * s * s;
    } else {
        double e = exp(x), n = e * (e + 2.0), d = n + 2.0;
        *th = n / d;
        *sech2 = 4.0 * (n + 1.0) / d / d;
    }
}
static double mish_f(double x, const double *attr)
{
    (void)attr;
    if (x < FAR_LEFT)
        return ad__exp_mul(x, x);
    double th, s2;
    mish_parts(x, &th, &s2);
    return x * th;
}
/* With T = tanh(sp), S = sech^2(sp), sp' = sigmoid: mish'' = S sigmoid(x) (2 -
 * 2 x T sigmoid(x) + x sigmoid(-x)), positive next to the zero of mish' */
static double mish_d2(double x)
{
    double th, s2, p = ad__sigmoid(x);
    mish_parts(x, &th, &s2);
    return s2 * p * (2.0 - 2.0 * x * th * p + x * ad__sigmoid(-x));
}
static const ad__deriv_root mish_root = {-0x1.31432c0d12d84p+0, -0x1.bf319154da210p-55, mish_d2};
static double mish_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    if (x < FAR_LEFT)
        return far_left_vjp(g, x);
    if (ad__near_root(x, &mish_root))
        return g * ad__deriv_near_root(x, &mish_root);
    double th, s2;
    mish_parts(x, &th, &s2);
    return g * (th + x * s2 * ad__sigmoid(x));
}
static int mish_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(y) + GUARD);
    mpfr_exp(t, x, MPFR_RNDN);
    mpfr_log1p(t, t, MPFR_RNDN);
    mpfr_tanh(t, t, MPFR_RNDN);
    mpfr_mul(y, t, x, r);
    mpfr_clear(t);
    return 0;
}
AD__UNARY_KERNELS_VJP(mish)
const ad_op ad_op_mish = {
    .name = "mish", .math = "x tanh(ln(1 + e^x))", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(mish),
    /* swept into the subnormal tail, where x e^x is rounded once */
    .domain = {{-745}, {1e300}}, .ulp_fwd = 4, .ulp_bwd = 8,
};
ad_var ad_mish(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_mish, &x, 1, NULL, 0); }
