/* regularize.c - penalties and dropout: l1_penalty, l2_penalty, dropout. */
#include <stdint.h>
#include "kernel.h"

/* ---- l1_penalty: y = sum |w|; dw = sign w, 0 at 0 (abs's convention, PyTorch) ---- */
static double l1_penalty_l(double w, double u, const double *attr) { (void)u, (void)attr; return fabs(w); }
static double l1_penalty_la(double w, double u, const double *attr) { (void)u, (void)attr; return ad__abs_grad(w); }
static double l1_penalty_lb(double w, double u, const double *attr) { (void)w, (void)u, (void)attr; return 0.0; }
static int l1_penalty_lref(mpfr_ptr y, mpfr_srcptr w, mpfr_srcptr u, const double *attr)
{
    (void)u, (void)attr;
    mpfr_abs(y, w, MPFR_RNDN);
    return 0;
}
static int l1_penalty_piece1(double w, double u, const double *attr) { (void)u, (void)attr; return ad__abs_piece(w); }
AD__SUM_KERNELS(l1_penalty)
AD__SUM_PIECE(l1_penalty)
static const ad_kink l1_penalty_kinks[] = {
    {.at = 0.0, .left = -1.0, .right = 1.0, .choice = 0.0,
     .why = "0 at w = 0 (per element), abs's convention (PyTorch)"},
};
static const ad_shape penalty_sample[] = {{2, {2, 3}}};
static ad_status scalar_out(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    (void)a, (void)why, (void)len;
    *out = AD_SCALAR;
    return AD_OK;
}
const ad_op ad_op_l1_penalty = {
    .name = "l1_penalty", .math = "sum |w|", .arity = 1, .shape = scalar_out,
    AD__KERNEL_SLOTS(l1_penalty), .piece = l1_penalty_piece, .kinks = l1_penalty_kinks,
    .n_kinks = 1, .sample_shapes = penalty_sample, .domain = {{-10}, {10}},
    .ulp_fwd = 8, .ulp_bwd = 0,
};
ad_var ad_l1_penalty(ad_tape *t, ad_var w) { return ad_apply(t, &ad_op_l1_penalty, &w, 1, NULL, 0); }

/* ---- l2_penalty: y = sum w^2; dw = 2w ---- */
static double l2_penalty_l(double w, double u, const double *attr) { (void)u, (void)attr; return w * w; }
static double l2_penalty_la(double w, double u, const double *attr) { (void)u, (void)attr; return 2.0 * w; }
static double l2_penalty_lb(double w, double u, const double *attr) { (void)w, (void)u, (void)attr; return 0.0; }
static int l2_penalty_lref(mpfr_ptr y, mpfr_srcptr w, mpfr_srcptr u, const double *attr)
{
    (void)u, (void)attr;
    mpfr_sqr(y, w, MPFR_RNDN);
    return 0;
}
AD__SUM_KERNELS(l2_penalty)
const ad_op ad_op_l2_penalty = {
    .name = "l2_penalty", .math = "sum w^2", .arity = 1, .shape = scalar_out,
    AD__KERNEL_SLOTS(l2_penalty), .sample_shapes = penalty_sample, .domain = {{-10}, {10}},
    .ulp_fwd = 8, .ulp_bwd = 0.5,
};
ad_var ad_l2_penalty(ad_tape *t, ad_var w) { return ad_apply(t, &ad_op_l2_penalty, &w, 1, NULL, 0); }

/* ---- dropout(x, p, seed): y = keep x / (1 - p), dx = keep / (1 - p), with
 * keep_i = [u(seed, i) >= p] and u a counter-based uniform in [0, 1) (splitmix64
 * of the seed and the element index). The mask is recorded on the tape through
 * its node's attributes: forward, backward, tangent and the MPFR reference all
 * draw the same mask from (seed, i), so it is fixed per seed and independent of
 * anything else on the tape. p = 0 keeps everything and is the identity;
 * p in [0, 1); seed an integer in [0, 2^53]. Use a new seed each step. ---- */
static uint64_t splitmix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static int dropout_keep(const double *attr, size_t i)
{
    uint64_t h = splitmix64((uint64_t)attr[1] ^ splitmix64((uint64_t)i));
    return (double)(h >> 11) * 0x1p-53 >= attr[0];
}
static void dropout_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = ad__count(&a->ys); i < n; i++)
        y[i] = dropout_keep(a->attr, i) ? a->x[0][i] / (1.0 - a->attr[0]) : 0.0;
}
static void dropout_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = ad__count(&a->ys); gx[0] && i < n; i++)
        if (dropout_keep(a->attr, i))
            gx[0][i] += gy[i] / (1.0 - a->attr[0]);
}
static void dropout_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = ad__count(&a->ys); i < n; i++)
        dy[i] = dx[0] && dropout_keep(a->attr, i) ? dx[0][i] / (1.0 - a->attr[0]) : 0.0;
}
static int dropout_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    mpfr_t q;
    mpfr_init2(q, 1100); /* 1 - p exactly for any double p in [0, 1) */
    mpfr_set_d(q, a->attr[0], MPFR_RNDN);
    mpfr_ui_sub(q, 1, q, MPFR_RNDN);
    for (size_t i = 0, n = ad__count(&a->ys); i < n; i++)
        if (dropout_keep(a->attr, i))
            mpfr_div(y + i, a->x[0] + i, q, r);
        else
            mpfr_set_zero(y + i, 1);
    mpfr_clear(q);
    return 0;
}
static ad_status dropout_check(const double *attr, char *why, size_t len)
{
    if (!(attr[0] >= 0.0 && attr[0] < 1.0)) {
        snprintf(why, len, "p must be in [0, 1), got %g", attr[0]);
        return AD_EINVAL;
    }
    if (!(attr[1] >= 0.0 && attr[1] <= 0x1p53 && attr[1] == floor(attr[1]))) {
        snprintf(why, len, "seed must be an integer in [0, 2^53], got %g", attr[1]);
        return AD_EINVAL;
    }
    return AD_OK;
}
static const char *const dropout_names[] = {"p", "seed"};
static const double dropout_default[] = {0.5, 0.0};
static const ad_shape dropout_sample[] = {{2, {4, 5}}};
const ad_op ad_op_dropout = {
    .name = "dropout", .math = "keep(seed, i) x / (1 - p)", .arity = 1, .n_attr = 2,
    /* not AD_OP_ELEMENTWISE: the mask depends on the element's index, so the op
     * is not one scalar function applied to every element */
    .attr_name = dropout_names, .attr_default = dropout_default,
    .check_attr = dropout_check, .forward = dropout_forward, .backward = dropout_backward,
    .jvp = dropout_jvp, .reference = dropout_reference, .sample_shapes = dropout_sample,
    .domain = {{-10}, {10}}, .ulp_fwd = 1.5, .ulp_bwd = 1.5,
};
ad_var ad_dropout(ad_tape *t, ad_var x, double p, uint64_t seed)
{
    return ad_apply(t, &ad_op_dropout, &x, 1, (double[]){p, (double)seed}, 2);
}
