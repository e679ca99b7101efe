/* elem.h - the per-element formulas (value and cotangent product) of the ops
 * the engine's scalar path runs (ad/scalar.c): one definition, included by
 * the op family files (arith.c, unary.c, piecewise.c, activation.c), whose
 * comments explain each formula, and by the scalar switch, so the two paths
 * give bit-identical values and gradients by construction. */
#ifndef AD_OPS_ELEM_H
#define AD_OPS_ELEM_H
#include "kernel.h"

/* add */
static inline double add_f(double a, double b) { return a + b; }
static inline double add_da(double a, double b, double y) { (void)a, (void)b, (void)y; return 1.0; }
static inline double add_db(double a, double b, double y) { (void)a, (void)b, (void)y; return 1.0; }

/* sub */
static inline double sub_f(double a, double b) { return a - b; }
static inline double sub_da(double a, double b, double y) { (void)a, (void)b, (void)y; return 1.0; }
static inline double sub_db(double a, double b, double y) { (void)a, (void)b, (void)y; return -1.0; }

/* mul */
static inline double mul_f(double a, double b) { return a * b; }
static inline double mul_da(double a, double b, double y) { (void)a, (void)y; return b; }
static inline double mul_db(double a, double b, double y) { (void)b, (void)y; return a; }

/* div */
static inline double div_f(double a, double b) { return a / b; }
static inline double div_vda(double g, double a, double b, double y) { (void)a, (void)y; return g / b; }
static inline double div_db_scaled(double g, double a, double b)
{
    if (!isfinite(g) || !isfinite(a) || !isfinite(b) || g == 0.0 || a == 0.0 || b == 0.0)
        return -(g * a) / b / b; /* the IEEE special cases: 0, inf, NaN */
    int eg, ea, eb;
    double mg = frexp(g, &eg), ma = frexp(a, &ea), mb = frexp(b, &eb);
    return ldexp(-(mg * ma) / mb / mb, eg + ea - 2 * eb); /* the mantissa part is in (2^-2, 4) */
}
static inline double div_vdb(double g, double a, double b, double y)
{
    (void)y;
    double ga = g * a, d = -ga / b / b;
    if (fabs(ga) >= DBL_MIN && fabs(ga) <= DBL_MAX && fabs(d) >= DBL_MIN && fabs(d) <= DBL_MAX)
        return d;
    return div_db_scaled(g, a, b);
}

/* neg */
static inline double neg_f(double x, const double *attr) { (void)attr; return -x; }
static inline double neg_df(double x, double y, const double *attr, double kg) { (void)x, (void)y, (void)attr, (void)kg; return -1.0; }

/* exp */
static inline double exp_f(double x, const double *attr) { (void)attr; return exp(x); }
static inline double exp_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)attr, (void)kg;
    return y >= DBL_MIN && y <= DBL_MAX ? g * y : ad__exp_mul(x, g);
}

/* log */
static inline double log_f(double x, const double *attr) { (void)attr; return log(x); }
static inline double log_vjp(double g, double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return g / x; }

/* sqrt */
static inline double sqrt_f(double x, const double *attr) { (void)attr; return sqrt(x); }
static inline double sqrt_df(double x, double y, const double *attr, double kg) { (void)x, (void)attr, (void)kg; return 0.5 / y; }

/* tanh */
static inline double tanh_f(double x, const double *attr) { (void)attr; return tanh(x); }
static inline double tanh_df(double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    double e = exp(-2.0 * fabs(x)), d = 1.0 + e;
    return 4.0 * e / (d * d);
}

/* square */
static inline double square_f(double x, const double *attr) { (void)attr; return x * x; }
static inline double square_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    return fabs(x) <= 0x1p1022 ? g * (2.0 * x) : (g * x) * 2.0;
}

/* relu */
static inline double relu_f(double x, const double *attr) { (void)attr; return x > 0.0 ? x : (x <= 0.0 ? 0.0 : x); }
static inline double relu_df(double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr;
    return x > 0.0 ? 1.0 : x < 0.0 ? 0.0 : x == 0.0 ? kg : x;
}

/* sigmoid */
static inline double sigmoid_f(double x, const double *attr) { (void)attr; return ad__sigmoid(x); }
static inline double sigmoid_vjp(double g, double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return ad__sigmoid_d_mul(x, g); }

#endif
