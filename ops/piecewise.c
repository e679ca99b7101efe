/* piecewise.c - ops with kinks: every kink of the library lives in this file. */
#include "kernel.h"

/* ---- relu: y = max(0, x); dx = 1 for x > 0, 0 for x < 0, the tape's
 * relu_at_zero at x = 0 (default 0 as PyTorch and JAX; any value in [0, 1]
 * is in the Clarke subdifferential). NaN propagates. ---- */
static double relu_f(double x, const double *attr) { (void)attr; return x > 0.0 ? x : (x <= 0.0 ? 0.0 : x); }
static double relu_df(double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr;
    return x > 0.0 ? 1.0 : x < 0.0 ? 0.0 : x == 0.0 ? kg : x;
}
static int relu_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    if (mpfr_nan_p(x))
        mpfr_set_nan(y);
    else if (mpfr_sgn(x) > 0)
        mpfr_set(y, x, r);
    else
        mpfr_set_zero(y, 1);
    return 0;
}
static int relu_piece1(double x, const double *attr) { (void)attr; return x > 0.0 ? 1 : x < 0.0 ? -1 : AD_PIECE_KINK; }
AD__UNARY_KERNELS(relu)
AD__UNARY_PIECE(relu)
static const ad_kink relu_kinks[] = {
    {.at = 0.0, .left = 0.0, .right = 1.0, .choice = NAN,
     .why = "the tape's relu_at_zero (default 0, as PyTorch and JAX); any value in [0, 1] is a subgradient"},
};
const ad_op ad_op_relu = {
    .name = "relu", .math = "max(0, x)", .arity = 1, .flags = AD_OP_ELEMENTWISE | AD_OP_KINK_GRAD,
    AD__KERNEL_SLOTS(relu), .piece = relu_piece, .kinks = relu_kinks, .n_kinks = 1,
    .domain = {{-10}, {10}}, .ulp_fwd = 0, .ulp_bwd = 0,
};
ad_var ad_relu(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_relu, &x, 1, NULL, 0); }
