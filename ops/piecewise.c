/* piecewise.c - ops with kinks: every kink of the library lives in this file. */
#include "elem.h" /* relu_f, relu_df: shared with the scalar path */
#include "../ad/internal.h" /* ad__s_relu */

/* ---- relu: y = max(0, x); dx = 1 for x > 0, 0 for x < 0, the tape's
 * relu_at_zero at x = 0 (default 0 as PyTorch and JAX; any value in [0, 1]
 * is in the Clarke subdifferential). NaN propagates. ---- */
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
ad_var ad_relu(ad_tape *t, ad_var x) { return ad__s_relu(t, x); }

/* ---- the abs-like subgradient, shared by abs, l1_loss and l1_penalty:
 * sign(d), 0 at d = 0 (PyTorch's sgn; the midpoint of [-1, 1]) ---- */
double ad__abs_grad(double d) { return d > 0.0 ? 1.0 : d < 0.0 ? -1.0 : d == 0.0 ? 0.0 : d; }
int ad__abs_piece(double d) { return d > 0.0 ? 1 : d < 0.0 ? -1 : AD_PIECE_KINK; }

/* Sign pieces: -1 below the kink, +1 above, AD_PIECE_KINK on it (NaN: +2). */
static int sign_piece(double x, double at) { return x > at ? 1 : x < at ? -1 : x == at ? AD_PIECE_KINK : 2; }

/* MPFR: y = x where x > 0 (or NaN), else y = c expm1(x / inner) (the elu family);
 * c is the decimal string cs, or the double cd exactly when cs is NULL. */
static int ref_elu_like(mpfr_ptr y, mpfr_srcptr x, const char *cs, double cd, double inner, mpfr_rnd_t r)
{
    if (mpfr_nan_p(x) || mpfr_sgn(x) > 0) {
        mpfr_set(y, x, r);
        return 0;
    }
    mpfr_t t, c;
    mpfr_inits2(mpfr_get_prec(y) + mpfr_get_prec(x) + 64, t, c, (mpfr_ptr)0);
    mpfr_div_d(t, x, inner, MPFR_RNDN);
    mpfr_expm1(t, t, MPFR_RNDN);
    if (cs)
        mpfr_set_str(c, cs, 10, MPFR_RNDN);
    else
        mpfr_set_d(c, cd, MPFR_RNDN);
    mpfr_mul(y, t, c, r);
    mpfr_clears(t, c, (mpfr_ptr)0);
    return 0;
}

/* ---- leaky_relu(x, slope): y = x for x > 0, slope x otherwise; dx = 1 or slope,
 * slope at 0 (PyTorch: the gradient is taken from the x <= 0 branch) ---- */
static double leaky_relu_f(double x, const double *attr) { return x > 0.0 ? x : attr[0] * x; }
static double leaky_relu_df(double x, double y, const double *attr, double kg)
{
    (void)y, (void)kg;
    return x > 0.0 ? 1.0 : x <= 0.0 ? attr[0] : x;
}
static int leaky_relu_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    if (mpfr_nan_p(x) || mpfr_sgn(x) > 0)
        mpfr_set(y, x, r);
    else
        mpfr_mul_d(y, x, attr[0], r);
    return 0;
}
static int leaky_relu_piece1(double x, const double *attr) { (void)attr; return sign_piece(x, 0.0); }
AD__UNARY_KERNELS(leaky_relu)
AD__UNARY_PIECE(leaky_relu)
static const char *const leaky_relu_names[] = {"slope"};
static const double leaky_relu_default[] = {0.01};
static const ad_kink leaky_relu_kinks[] = {
    {.at = 0.0, .left = 0.01, .right = 1.0, .choice = 0.01,
     .why = "slope (the left derivative), as PyTorch; a negative slope too"},
};
/* The kink at 0 between the slopes attr[0] (left) and 1, whatever their order
 * (a slope of -10 or 2): the left one is chosen, which is in their hull. */
static void left_slope_kink(const double *attr, ad_kink *k)
{
    k->left = k->choice = attr[0];
    k->right = 1.0;
}
const ad_op ad_op_leaky_relu = {
    .name = "leaky_relu", .math = "x > 0 ? x : slope x", .arity = 1, .n_attr = 1,
    .attr_name = leaky_relu_names, .attr_default = leaky_relu_default, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(leaky_relu), .piece = leaky_relu_piece, .kinks = leaky_relu_kinks, .n_kinks = 1,
    .kinks_at = left_slope_kink,
    .domain = {{-10}, {10}}, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};
ad_var ad_leaky_relu(ad_tape *t, ad_var x, double slope)
{
    return ad_apply(t, &ad_op_leaky_relu, &x, 1, (double[]){slope}, 1);
}

/* ---- prelu(x, a): y = x for x > 0, a x otherwise, the slope a a differentiable
 * input broadcast against x by NumPy rules (a scalar, or one per channel shaped
 * to align: [C] for x [N, C], [C, 1, 1] for x [N, C, H, W]). dx = 1 or a, a at
 * x = 0 (PyTorch); da = 0 for x > 0, x otherwise, so 0 at x = 0. ---- */
static double prelu_f(double x, double a) { return x > 0.0 ? x : a * x; }
static double prelu_da(double x, double a, double y) { (void)y; return x > 0.0 ? 1.0 : x <= 0.0 ? a : x; }
static double prelu_db(double x, double a, double y) { (void)a, (void)y; return x > 0.0 ? 0.0 : x; }
static int prelu_ref(mpfr_ptr y, mpfr_srcptr x, mpfr_srcptr a, mpfr_rnd_t r)
{
    if (mpfr_nan_p(x) || mpfr_sgn(x) > 0)
        mpfr_set(y, x, r);
    else
        mpfr_mul(y, x, a, r);
    return 0;
}
static int prelu_piece1(double x, double a) { (void)a; return sign_piece(x, 0.0); }
static ad_status prelu_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    ad_status st = ad__bcast_shape(a, out, why, len);
    if (st == AD_OK && !ad_shape_equal(out, &a->xs[0])) {
        snprintf(why, len, "the slope must broadcast to x's shape");
        return AD_ESHAPE;
    }
    return st;
}
AD__BINARY_KERNELS(prelu)
AD__BINARY_PIECE(prelu)
static const ad_kink prelu_kinks[] = {
    {.at = 0.0, .left = 0.25, .right = 1.0, .choice = 0.25,
     .why = "d/dx = a (the left derivative, PyTorch; shown for a = 0.25); d/da = 0 there"},
};
static const ad_shape prelu_sample[] = {{2, {3, 4}}, {1, {4}}};
const ad_op ad_op_prelu = {
    .name = "prelu", .math = "x > 0 ? x : a x", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = prelu_shape, AD__KERNEL_SLOTS(prelu), .piece = prelu_piece,
    .kinks = prelu_kinks, .n_kinks = 1, .sample_shapes = prelu_sample,
    /* backward sums a's gradient over the broadcast rows */
    .domain = {{-10, 0}, {10, 1}}, .ulp_fwd = 0.5, .ulp_bwd = 2.5,
};
ad_var ad_prelu(ad_tape *t, ad_var x, ad_var a) { return ad_apply(t, &ad_op_prelu, (ad_var[]){x, a}, 2, NULL, 0); }

/* ---- the clamp family: y = min(max(x, lo), hi). hardtanh and relu6 take
 * gradient 0 at the edges (PyTorch: the gradient is 1 only strictly inside);
 * clamp takes 1 there (the value passes through, as torch.clamp), except when
 * lo == hi, where the function is constant and only 0 is a subgradient. ---- */
static double clamp1(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }
static double clamp1_d(double x, double lo, double hi, double edge)
{
    if (x > lo && x < hi)
        return 1.0;
    if (x == lo || x == hi)
        return lo < hi ? edge : 0.0;
    return x < lo || x > hi ? 0.0 : x;
}
static int clamp1_ref(mpfr_ptr y, mpfr_srcptr x, double lo, double hi, mpfr_rnd_t r)
{
    if (mpfr_cmp_d(x, lo) < 0 && !mpfr_nan_p(x))
        mpfr_set_d(y, lo, r);
    else if (mpfr_cmp_d(x, hi) > 0 && !mpfr_nan_p(x))
        mpfr_set_d(y, hi, r);
    else
        mpfr_set(y, x, r);
    return 0;
}
static int clamp1_piece(double x, double lo, double hi)
{
    return x < lo ? 1 : x > hi ? 3 : x == lo || x == hi ? AD_PIECE_KINK : 2;
}
static ad_status lo_hi_check(const double *attr, char *why, size_t len)
{
    if (attr[0] > attr[1]) {
        snprintf(why, len, "lo (%g) must not exceed hi (%g)", attr[0], attr[1]);
        return AD_EINVAL;
    }
    return AD_OK;
}
/* The kinks at lo and hi, the value passing through at a bound with gradient
 * edge; when lo == hi the function is constant: both sides and the choice 0. */
static void lo_hi_kinks(const double *attr, ad_kink *k, double edge)
{
    int flat = attr[0] == attr[1];
    k[0] = (ad_kink){.at = attr[0], .left = 0.0, .right = flat ? 0.0 : 1.0, .choice = flat ? 0.0 : edge, .why = k[0].why};
    k[1] = (ad_kink){.at = attr[1], .left = flat ? 0.0 : 1.0, .right = 0.0, .choice = flat ? 0.0 : edge, .why = k[1].why};
}
static void hardtanh_kinks_at(const double *attr, ad_kink *k) { lo_hi_kinks(attr, k, 0.0); }
static void clamp_kinks_at(const double *attr, ad_kink *k) { lo_hi_kinks(attr, k, 1.0); }
static const char *const lo_hi_names[] = {"lo", "hi"};
static const double lo_hi_default[] = {-1.0, 1.0};

/* hardtanh(x, lo, hi): dx = 1 strictly inside, 0 outside and at both edges. */
static double hardtanh_f(double x, const double *attr) { return clamp1(x, attr[0], attr[1]); }
static double hardtanh_df(double x, double y, const double *attr, double kg) { (void)y, (void)kg; return clamp1_d(x, attr[0], attr[1], 0.0); }
static int hardtanh_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { return clamp1_ref(y, x, attr[0], attr[1], r); }
static int hardtanh_piece1(double x, const double *attr) { return clamp1_piece(x, attr[0], attr[1]); }
AD__UNARY_KERNELS(hardtanh)
AD__UNARY_PIECE(hardtanh)
static const ad_kink hardtanh_kinks[] = {
    {.at = -1.0, .left = 0.0, .right = 1.0, .choice = 0.0, .why = "0 at the edges, as PyTorch"},
    {.at = 1.0, .left = 1.0, .right = 0.0, .choice = 0.0, .why = "0 at the edges, as PyTorch"},
};
const ad_op ad_op_hardtanh = {
    .name = "hardtanh", .math = "min(max(x, lo), hi)", .arity = 1, .n_attr = 2,
    .attr_name = lo_hi_names, .attr_default = lo_hi_default, .flags = AD_OP_ELEMENTWISE,
    .check_attr = lo_hi_check, AD__KERNEL_SLOTS(hardtanh), .piece = hardtanh_piece,
    .kinks = hardtanh_kinks, .n_kinks = 2, .kinks_at = hardtanh_kinks_at, .domain = {{-3}, {3}}, .ulp_fwd = 0, .ulp_bwd = 0,
};
ad_var ad_hardtanh(ad_tape *t, ad_var x, double lo, double hi)
{
    return ad_apply(t, &ad_op_hardtanh, &x, 1, (double[]){lo, hi}, 2);
}

/* clamp(x, lo, hi): dx = 1 inside and at the bounds (the value passes through), 0 outside. */
static double clamp_f(double x, const double *attr) { return clamp1(x, attr[0], attr[1]); }
static double clamp_df(double x, double y, const double *attr, double kg) { (void)y, (void)kg; return clamp1_d(x, attr[0], attr[1], 1.0); }
static int clamp_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { return clamp1_ref(y, x, attr[0], attr[1], r); }
static int clamp_piece1(double x, const double *attr) { return clamp1_piece(x, attr[0], attr[1]); }
AD__UNARY_KERNELS(clamp)
AD__UNARY_PIECE(clamp)
static const ad_kink clamp_kinks[] = {
    {.at = -1.0, .left = 0.0, .right = 1.0, .choice = 1.0,
     .why = "1 at a bound: the value passes through (torch.clamp); 0 when lo == hi (a constant)"},
    {.at = 1.0, .left = 1.0, .right = 0.0, .choice = 1.0,
     .why = "1 at a bound: the value passes through (torch.clamp); 0 when lo == hi (a constant)"},
};
const ad_op ad_op_clamp = {
    .name = "clamp", .math = "min(max(x, lo), hi)", .arity = 1, .n_attr = 2,
    .attr_name = lo_hi_names, .attr_default = lo_hi_default, .flags = AD_OP_ELEMENTWISE,
    .check_attr = lo_hi_check, AD__KERNEL_SLOTS(clamp), .piece = clamp_piece,
    .kinks = clamp_kinks, .n_kinks = 2, .kinks_at = clamp_kinks_at, .domain = {{-3}, {3}}, .ulp_fwd = 0, .ulp_bwd = 0,
};
ad_var ad_clamp(ad_tape *t, ad_var x, double lo, double hi)
{
    return ad_apply(t, &ad_op_clamp, &x, 1, (double[]){lo, hi}, 2);
}

/* relu6: y = min(max(x, 0), 6); dx = 1 strictly inside, 0 at 0 and 6 (PyTorch). */
static double relu6_f(double x, const double *attr) { (void)attr; return clamp1(x, 0.0, 6.0); }
static double relu6_df(double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return clamp1_d(x, 0.0, 6.0, 0.0); }
static int relu6_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; return clamp1_ref(y, x, 0.0, 6.0, r); }
static int relu6_piece1(double x, const double *attr) { (void)attr; return clamp1_piece(x, 0.0, 6.0); }
AD__UNARY_KERNELS(relu6)
AD__UNARY_PIECE(relu6)
static const ad_kink relu6_kinks[] = {
    {.at = 0.0, .left = 0.0, .right = 1.0, .choice = 0.0, .why = "0 at the edges, as PyTorch (relu6 is hardtanh(x, 0, 6))"},
    {.at = 6.0, .left = 1.0, .right = 0.0, .choice = 0.0, .why = "0 at the edges, as PyTorch (relu6 is hardtanh(x, 0, 6))"},
};
const ad_op ad_op_relu6 = {
    .name = "relu6", .math = "min(max(x, 0), 6)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(relu6), .piece = relu6_piece, .kinks = relu6_kinks, .n_kinks = 2,
    .domain = {{-10}, {10}}, .ulp_fwd = 0, .ulp_bwd = 0,
};
ad_var ad_relu6(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_relu6, &x, 1, NULL, 0); }

/* ---- hardsigmoid: y = relu6(x + 3) / 6, computed as (x + 3) / 6 inside (x/6 + 1/2
 * would cancel near -3); dx = 1/6 strictly inside, 0 at -3 and 3 (PyTorch) ---- */
static double hardsigmoid_f(double x, const double *attr) { (void)attr; return x <= -3.0 ? 0.0 : x >= 3.0 ? 1.0 : (x + 3.0) / 6.0; }
static double hardsigmoid_df(double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    return x > -3.0 && x < 3.0 ? 1.0 / 6.0 : x <= -3.0 || x >= 3.0 ? 0.0 : x;
}
static int hardsigmoid_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    if (mpfr_nan_p(x))
        mpfr_set_nan(y);
    else if (mpfr_cmp_si(x, -3) <= 0)
        mpfr_set_zero(y, 1);
    else if (mpfr_cmp_si(x, 3) >= 0)
        mpfr_set_ui(y, 1, r);
    else {
        mpfr_t t;
        mpfr_init2(t, mpfr_get_prec(x) + 8);
        mpfr_add_si(t, x, 3, MPFR_RNDN); /* exact */
        mpfr_div_ui(y, t, 6, r);
        mpfr_clear(t);
    }
    return 0;
}
static int hardsigmoid_piece1(double x, const double *attr) { (void)attr; return clamp1_piece(x, -3.0, 3.0); }
AD__UNARY_KERNELS(hardsigmoid)
AD__UNARY_PIECE(hardsigmoid)
static const ad_kink hardsigmoid_kinks[] = {
    {.at = -3.0, .left = 0.0, .right = 1.0 / 6.0, .choice = 0.0, .why = "0 at the edges, as PyTorch"},
    {.at = 3.0, .left = 1.0 / 6.0, .right = 0.0, .choice = 0.0, .why = "0 at the edges, as PyTorch"},
};
const ad_op ad_op_hardsigmoid = {
    .name = "hardsigmoid", .math = "min(max(x + 3, 0), 6) / 6", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(hardsigmoid), .piece = hardsigmoid_piece, .kinks = hardsigmoid_kinks,
    .n_kinks = 2, .domain = {{-10}, {10}}, .ulp_fwd = 1.5, .ulp_bwd = 1,
};
ad_var ad_hardsigmoid(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_hardsigmoid, &x, 1, NULL, 0); }

/* ---- hardswish: y = x relu6(x + 3) / 6; dx = 0 below -3, (2x + 3)/6 on [-3, 3],
 * 1 above 3 (PyTorch: the middle formula at both edges, -1/2 at -3 and 3/2 at 3) ---- */
static double hardswish_f(double x, const double *attr) { (void)attr; return x <= -3.0 ? 0.0 : x >= 3.0 ? x : x * (x + 3.0) / 6.0; }
static double hardswish_df(double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    return x < -3.0 ? 0.0 : x <= 3.0 ? (2.0 * x + 3.0) / 6.0 : x > 3.0 ? 1.0 : x;
}
static int hardswish_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    if (mpfr_nan_p(x))
        mpfr_set_nan(y);
    else if (mpfr_cmp_si(x, -3) <= 0)
        mpfr_set_zero(y, 1);
    else if (mpfr_cmp_si(x, 3) >= 0)
        mpfr_set(y, x, r);
    else {
        mpfr_t t;
        mpfr_init2(t, 2 * mpfr_get_prec(x) + 8);
        mpfr_add_si(t, x, 3, MPFR_RNDN);
        mpfr_mul(t, t, x, MPFR_RNDN); /* exact at this precision */
        mpfr_div_ui(y, t, 6, r);
        mpfr_clear(t);
    }
    return 0;
}
static int hardswish_piece1(double x, const double *attr) { (void)attr; return clamp1_piece(x, -3.0, 3.0); }
AD__UNARY_KERNELS(hardswish)
AD__UNARY_PIECE(hardswish)
static const ad_kink hardswish_kinks[] = {
    {.at = -3.0, .left = 0.0, .right = -0.5, .choice = -0.5, .why = "the middle piece's (2x + 3)/6, as PyTorch"},
    {.at = 3.0, .left = 1.5, .right = 1.0, .choice = 1.5, .why = "the middle piece's (2x + 3)/6, as PyTorch"},
};
const ad_op ad_op_hardswish = {
    .name = "hardswish", .math = "x min(max(x + 3, 0), 6) / 6", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(hardswish), .piece = hardswish_piece, .kinks = hardswish_kinks,
    .n_kinks = 2, .domain = {{-10}, {10}}, .ulp_fwd = 2.5, .ulp_bwd = 2.5,
};
ad_var ad_hardswish(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_hardswish, &x, 1, NULL, 0); }

/* ---- abs: y = |x|; dx = sign x, 0 at 0 (PyTorch) ---- */
static double abs_f(double x, const double *attr) { (void)attr; return fabs(x); }
static double abs_df(double x, double y, const double *attr, double kg) { (void)y, (void)attr, (void)kg; return ad__abs_grad(x); }
static int abs_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_abs(y, x, r); return 0; }
static int abs_piece1(double x, const double *attr) { (void)attr; return ad__abs_piece(x); }
AD__UNARY_KERNELS(abs)
AD__UNARY_PIECE(abs)
static const ad_kink abs_kinks[] = {
    {.at = 0.0, .left = -1.0, .right = 1.0, .choice = 0.0, .why = "0, as PyTorch (sgn(0) = 0, the midpoint of [-1, 1])"},
};
const ad_op ad_op_abs = {
    .name = "abs", .math = "|x|", .arity = 1, .flags = AD_OP_ELEMENTWISE, AD__KERNEL_SLOTS(abs),
    .piece = abs_piece, .kinks = abs_kinks, .n_kinks = 1, .domain = {{-10}, {10}}, .ulp_fwd = 0, .ulp_bwd = 0,
};
ad_var ad_abs(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_abs, &x, 1, NULL, 0); }

/* ---- max(a, b), min(a, b) (broadcast): the larger (smaller) input gets the
 * whole gradient; a tie splits it evenly, 1/2 each (PyTorch's maximum/minimum).
 * NaN in either input propagates. ---- */
static double max_f(double a, double b) { return a > b ? a : b > a ? b : a == b ? a : NAN; }
static double max_da(double a, double b, double y) { (void)y; return a > b ? 1.0 : a < b ? 0.0 : a == b ? 0.5 : NAN; }
static double max_db(double a, double b, double y) { (void)y; return a < b ? 1.0 : a > b ? 0.0 : a == b ? 0.5 : NAN; }
static int max_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r)
{
    if (mpfr_nan_p(a) || mpfr_nan_p(b))
        mpfr_set_nan(y);
    else
        mpfr_set(y, mpfr_cmp(a, b) >= 0 ? a : b, r);
    return 0;
}
static int max_piece1(double a, double b) { return sign_piece(a, b); }
AD__BINARY_KERNELS(max)
AD__BINARY_PIECE(max)
static const ad_kink max_kinks[] = {
    {.at = 0.0, .left = 0.0, .right = 1.0, .choice = 0.5,
     .why = "at a == b (at = a - b, derivatives for a) each input gets 1/2, as PyTorch"},
};
const ad_op ad_op_max = {
    .name = "max", .math = "max(a, b)", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(max), .piece = max_piece, .kinks = max_kinks,
    .n_kinks = 1, .domain = {{-10, -10}, {10, 10}}, .ulp_fwd = 0, .ulp_bwd = 0.5,
};
ad_var ad_max(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_max, (ad_var[]){a, b}, 2, NULL, 0); }

static double min_f(double a, double b) { return a < b ? a : b < a ? b : a == b ? a : NAN; }
static double min_da(double a, double b, double y) { return max_db(a, b, y); }
static double min_db(double a, double b, double y) { return max_da(a, b, y); }
static int min_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r)
{
    if (mpfr_nan_p(a) || mpfr_nan_p(b))
        mpfr_set_nan(y);
    else
        mpfr_set(y, mpfr_cmp(a, b) <= 0 ? a : b, r);
    return 0;
}
static int min_piece1(double a, double b) { return sign_piece(a, b); }
AD__BINARY_KERNELS(min)
AD__BINARY_PIECE(min)
static const ad_kink min_kinks[] = {
    {.at = 0.0, .left = 1.0, .right = 0.0, .choice = 0.5,
     .why = "at a == b (at = a - b, derivatives for a) each input gets 1/2, as PyTorch"},
};
const ad_op ad_op_min = {
    .name = "min", .math = "min(a, b)", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(min), .piece = min_piece, .kinks = min_kinks,
    .n_kinks = 1, .domain = {{-10, -10}, {10, 10}}, .ulp_fwd = 0, .ulp_bwd = 0.5,
};
ad_var ad_min(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_min, (ad_var[]){a, b}, 2, NULL, 0); }

/* ---- the elu family, exponential below 0: elu(x, alpha) = x > 0 ? x : alpha expm1(x),
 * dx = 1 or alpha e^x, alpha at 0 (the left derivative, as PyTorch; a kink unless
 * alpha = 1). selu = scale elu(x, alpha) with the fixed self-normalizing
 * constants; dx at 0 = scale alpha (likewise). celu(x, alpha) = x > 0 ? x :
 * alpha expm1(x / alpha), dx = 1 or e^(x/alpha): continuously differentiable,
 * no kink. expm1 and exp keep the left branch accurate for very negative x. ---- */
#define SELU_SCALE 1.0507009873554804934
#define SELU_SCALE_ALPHA 1.7580993408473768599 /* scale * alpha, rounded once */
#define SELU_SCALE_S "1.0507009873554804934193349852946"
#define SELU_SCALE_ALPHA_S "1.7580993408473768599402175208123"

static double elu_f(double x, const double *attr) { return x > 0.0 ? x : attr[0] * expm1(x); }
/* g alpha e^x rounded once from x (ad__exp_mul): e^x alone is subnormal below -708 */
static double elu_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)kg;
    return x > 0.0 ? g * 1.0 : ad__exp_mul2(x, g, attr[0]);
}
static int elu_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    return ref_elu_like(y, x, NULL, attr[0], 1.0, r);
}
static int elu_piece1(double x, const double *attr) { (void)attr; return sign_piece(x, 0.0); }
static const char *const alpha_names[] = {"alpha"};
static const double alpha_default[] = {1.0};
AD__UNARY_KERNELS_VJP(elu)
AD__UNARY_PIECE(elu)
static const ad_kink elu_kinks[] = {
    {.at = 0.0, .left = 1.0, .right = 1.0, .choice = 1.0,
     .why = "alpha (the left derivative, as PyTorch; a negative alpha too); a kink only when alpha != 1"},
};
const ad_op ad_op_elu = {
    .name = "elu", .math = "x > 0 ? x : alpha (e^x - 1)", .arity = 1, .n_attr = 1,
    .attr_name = alpha_names, .attr_default = alpha_default, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(elu), .piece = elu_piece, .kinks = elu_kinks, .n_kinks = 1,
    .kinks_at = left_slope_kink, /* alpha e^0 on the left */
    /* swept into the saturated tail: the verifier raises MPFR's precision there */
    /* backward alpha e^x: exp's ulp and one product (0.86 measured; the tangent 1.01);
     * forward alpha expm1(x): expm1's rounding and one product (1.08 at x = -1, fuzz_op) */
    .domain = {{-745}, {1e300}}, .ulp_fwd = 1.5, .ulp_bwd = 1.5,
};
ad_var ad_elu(ad_tape *t, ad_var x, double alpha) { return ad_apply(t, &ad_op_elu, &x, 1, (double[]){alpha}, 1); }

static double selu_f(double x, const double *attr) { (void)attr; return x > 0.0 ? SELU_SCALE * x : SELU_SCALE_ALPHA * expm1(x); }
static double selu_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)attr, (void)kg;
    return x > 0.0 ? g * SELU_SCALE : ad__exp_mul2(x, g, SELU_SCALE_ALPHA); /* as elu */
}
static int selu_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    if (mpfr_nan_p(x) || mpfr_sgn(x) > 0) {
        mpfr_t c;
        mpfr_init2(c, mpfr_get_prec(y) + 64);
        mpfr_set_str(c, SELU_SCALE_S, 10, MPFR_RNDN);
        mpfr_mul(y, x, c, r);
        mpfr_clear(c);
        return 0;
    }
    return ref_elu_like(y, x, SELU_SCALE_ALPHA_S, 0.0, 1.0, r);
}
static int selu_piece1(double x, const double *attr) { (void)attr; return sign_piece(x, 0.0); }
AD__UNARY_KERNELS_VJP(selu)
AD__UNARY_PIECE(selu)
static const ad_kink selu_kinks[] = {
    {.at = 0.0, .left = SELU_SCALE_ALPHA, .right = SELU_SCALE, .choice = SELU_SCALE_ALPHA,
     .why = "scale alpha (the left derivative, as PyTorch's elu backward)"},
};
const ad_op ad_op_selu = {
    .name = "selu", .math = "1.0507 (x > 0 ? x : 1.67326 (e^x - 1))", .arity = 1,
    .flags = AD_OP_ELEMENTWISE, AD__KERNEL_SLOTS(selu), .piece = selu_piece, .kinks = selu_kinks,
    .n_kinks = 1, .domain = {{-745}, {1e300}}, .ulp_fwd = 2, .ulp_bwd = 2,
};
ad_var ad_selu(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_selu, &x, 1, NULL, 0); }

static double celu_f(double x, const double *attr) { return x > 0.0 ? x : attr[0] * expm1(x / attr[0]); }
static double celu_vjp(double g, double x, double y, const double *attr, double kg)
{
    (void)y, (void)kg;
    return x > 0.0 ? g * 1.0 : ad__exp_mul(x / attr[0], g); /* as elu */
}
static int celu_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r)
{
    return ref_elu_like(y, x, NULL, attr[0], attr[0], r);
}
static ad_status celu_check(const double *attr, char *why, size_t len)
{
    if (!(attr[0] > 0.0)) {
        snprintf(why, len, "alpha must be > 0, got %g", attr[0]);
        return AD_EINVAL;
    }
    return AD_OK;
}
AD__UNARY_KERNELS_VJP(celu)
const ad_op ad_op_celu = {
    .name = "celu", .math = "x > 0 ? x : alpha (e^(x/alpha) - 1)", .arity = 1, .n_attr = 1,
    .attr_name = alpha_names, .attr_default = alpha_default, .flags = AD_OP_ELEMENTWISE,
    .check_attr = celu_check, AD__KERNEL_SLOTS(celu), .domain = {{-745}, {1e300}},
    .ulp_fwd = 2, .ulp_bwd = 2,
};
ad_var ad_celu(ad_tape *t, ad_var x, double alpha) { return ad_apply(t, &ad_op_celu, &x, 1, (double[]){alpha}, 1); }
