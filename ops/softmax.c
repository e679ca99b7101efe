/* softmax.c - ops along the last axis: softmax, log_softmax, logsumexp, layer_norm. */
#include <stdlib.h>
#include "kernel.h"

/* Rows of all -inf: logsumexp is -inf (the log of an empty sum) with gradient 0;
 * softmax and log_softmax are undefined there and give NaN in that row only,
 * values and gradient (as PyTorch). A +inf logit gives NaN in its row (inf - inf).
 * Other rows are never touched. */

double ad__lse_parts(const double *x, size_t n, double *m, size_t *k)
{
    *m = -INFINITY;
    *k = 0;
    for (size_t j = 0; j < n; j++)
        if (x[j] > *m || isnan(x[j])) {
            *m = x[j];
            *k = j;
            if (isnan(x[j]))
                return NAN;
        }
    if (*m == -INFINITY)
        return 0.0;
    double rest = 0.0;
    for (size_t j = 0; j < n; j++)
        if (j != *k)
            rest += ad__exp_diff(x[j], *m);
    return rest;
}

/* MPFR: lse of a row at y's precision plus guard bits, the largest entry shifted
 * out first (MPFR's exponent range would overflow e^(1e308)). -inf for a row of
 * all -inf. */
static void ref_lse(mpfr_ptr out, mpfr_srcptr x, size_t n)
{
    mpfr_prec_t p = mpfr_get_prec(out);
    mpfr_t m, t, s;
    mpfr_inits2(p, t, s, (mpfr_ptr)0);
    mpfr_init2(m, n ? mpfr_get_prec(x) : 2);
    mpfr_set_inf(m, -1);
    for (size_t j = 0; j < n; j++)
        if (mpfr_cmp(x + j, m) > 0 || mpfr_nan_p(x + j))
            mpfr_set(m, x + j, MPFR_RNDN);
    if (mpfr_inf_p(m) && mpfr_sgn(m) < 0) {
        mpfr_set_inf(out, -1);
    } else {
        mpfr_set_zero(s, 1);
        for (size_t j = 0; j < n; j++) {
            mpfr_sub(t, x + j, m, MPFR_RNDN);
            mpfr_exp(t, t, MPFR_RNDN);
            mpfr_add(s, s, t, MPFR_RNDN);
        }
        mpfr_log(s, s, MPFR_RNDN);
        mpfr_add(out, s, m, MPFR_RNDN);
    }
    mpfr_clears(m, t, s, (mpfr_ptr)0);
}

/* ---- softmax: y_j = e^(x_j - m) / (1 + rest); dx = y (g - <g, y>) ---- */
static void softmax_frow(const double *x, size_t n, double *y, const double *attr)
{
    (void)attr;
    double m, rest;
    size_t k;
    rest = ad__lse_parts(x, n, &m, &k);
    for (size_t j = 0; j < n; j++)
        y[j] = m == -INFINITY ? NAN : (j == k ? 1.0 : ad__exp_diff(x[j], m)) / (1.0 + rest);
}
static void softmax_brow(const double *x, const double *y, const double *gy, size_t n, double *gx, const double *attr)
{
    (void)x, (void)attr;
    double dot = 0.0;
    for (size_t j = 0; j < n; j++)
        dot += gy[j] * y[j];
    for (size_t j = 0; j < n; j++)
        gx[j] += y[j] * (gy[j] - dot);
}
static void softmax_jrow(const double *x, const double *y, const double *dx, size_t n, double *dy, const double *attr)
{
    (void)x, (void)attr;
    double dot = 0.0;
    for (size_t j = 0; j < n; j++)
        dot += dx[j] * y[j];
    for (size_t j = 0; j < n; j++)
        dy[j] = y[j] * (dx[j] - dot);
}
static int softmax_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t l;
    mpfr_init2(l, mpfr_get_prec(y) + 64);
    ref_lse(l, x, n);
    for (size_t j = 0; j < n; j++) {
        if (mpfr_inf_p(l) && mpfr_sgn(l) < 0) {
            mpfr_set_nan(y + j);
            continue;
        }
        mpfr_t t;
        mpfr_init2(t, mpfr_get_prec(y) + 64);
        mpfr_sub(t, x + j, l, MPFR_RNDN);
        mpfr_exp(y + j, t, r);
        mpfr_clear(t);
    }
    mpfr_clear(l);
    return 0;
}
AD__ROW_KERNELS(softmax, 1)
static const ad_shape row_sample[] = {{2, {3, 4}}};
const ad_op ad_op_softmax = {
    .name = "softmax", .math = "e^x_j / sum_k e^x_k (last axis)", .arity = 1,
    AD__KERNEL_SLOTS(softmax), .domain = {{-20}, {20}}, .sample_shapes = row_sample,
    .ulp_fwd = 4, .ulp_bwd = 8,
};
ad_var ad_softmax(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_softmax, &x, 1, NULL, 0); }

/* ---- log_softmax: y_j = (x_j - m) - log1p(rest); dx = g - softmax sum(g),
 * softmax = e^y ---- */
static void log_softmax_frow(const double *x, size_t n, double *y, const double *attr)
{
    (void)attr;
    double m, rest;
    size_t k;
    rest = ad__lse_parts(x, n, &m, &k);
    double l = log1p(rest);
    for (size_t j = 0; j < n; j++) {
        if (m == -INFINITY) {
            y[j] = NAN;
            continue;
        }
        /* x_j - m rounded, its error e put back after the subtraction of l */
        double d = x[j] - m, bb = d - x[j], e = (x[j] - (d - bb)) + (-m - bb);
        y[j] = (d - l) + (isfinite(e) ? e : 0.0);
    }
}
static void log_softmax_brow(const double *x, const double *y, const double *gy, size_t n, double *gx, const double *attr)
{
    (void)x, (void)attr;
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += gy[j];
    for (size_t j = 0; j < n; j++)
        gx[j] += gy[j] - exp(y[j]) * s;
}
static void log_softmax_jrow(const double *x, const double *y, const double *dx, size_t n, double *dy, const double *attr)
{
    (void)x, (void)attr;
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += exp(y[j]) * dx[j];
    for (size_t j = 0; j < n; j++)
        dy[j] = dx[j] - s;
}
static int log_softmax_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t l;
    mpfr_init2(l, mpfr_get_prec(y) + 64);
    ref_lse(l, x, n);
    for (size_t j = 0; j < n; j++)
        if (mpfr_inf_p(l) && mpfr_sgn(l) < 0)
            mpfr_set_nan(y + j);
        else
            mpfr_sub(y + j, x + j, l, r);
    mpfr_clear(l);
    return 0;
}
AD__ROW_KERNELS(log_softmax, 1)
const ad_op ad_op_log_softmax = {
    .name = "log_softmax", .math = "x_j - ln sum_k e^x_k (last axis)", .arity = 1,
    AD__KERNEL_SLOTS(log_softmax), .domain = {{-20}, {20}}, .sample_shapes = row_sample,
    .ulp_fwd = 4, .ulp_bwd = 8,
};
ad_var ad_log_softmax(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_log_softmax, &x, 1, NULL, 0); }

/* ---- logsumexp: y = m + log1p(rest), the last axis removed; dx_j = g e^(x_j - y)
 * (0 for a row of all -inf) ---- */
static void logsumexp_frow(const double *x, size_t n, double *y, const double *attr)
{
    (void)attr;
    double m;
    size_t k;
    double rest = ad__lse_parts(x, n, &m, &k);
    y[0] = m == -INFINITY ? m : m + log1p(rest);
}
static void logsumexp_brow(const double *x, const double *y, const double *gy, size_t n, double *gx, const double *attr)
{
    (void)attr;
    if (y[0] == -INFINITY)
        return;
    for (size_t j = 0; j < n; j++)
        gx[j] += gy[0] * ad__exp_diff(x[j], y[0]);
}
static void logsumexp_jrow(const double *x, const double *y, const double *dx, size_t n, double *dy, const double *attr)
{
    (void)attr;
    double s = 0.0;
    for (size_t j = 0; y[0] != -INFINITY && j < n; j++)
        s += ad__exp_diff(x[j], y[0]) * dx[j];
    dy[0] = s;
}
static int logsumexp_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t l;
    mpfr_init2(l, mpfr_get_prec(y) + 64);
    ref_lse(l, x, n);
    mpfr_set(y, l, r);
    mpfr_clear(l);
    return 0;
}
static ad_status drop_last_axis(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    (void)why, (void)len;
    *out = a->xs[0];
    if (out->rank) {
        out->rank--;
        out->dim[out->rank] = 0;
    }
    return AD_OK;
}
AD__ROW_KERNELS(logsumexp, 0)
const ad_op ad_op_logsumexp = {
    .name = "logsumexp", .math = "ln sum_k e^x_k (last axis removed)", .arity = 1,
    .shape = drop_last_axis, AD__KERNEL_SLOTS(logsumexp), .domain = {{-20}, {20}},
    .sample_shapes = row_sample, .ulp_fwd = 4, .ulp_bwd = 8,
};
ad_var ad_logsumexp(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_logsumexp, &x, 1, NULL, 0); }

/* ---- layer_norm(x, eps): y = (x - mu) / sqrt(var + eps) along the last axis,
 * var the biased variance (PyTorch); no scale or shift (ordinary mul/add do
 * that). mu is refined by a second pass so x - mu keeps its digits. The Jacobian
 * is symmetric: dx = (g - mean(g) - y mean(g y)) / sigma, and the tangent is
 * the same map. eps >= 0; eps = 0 on a constant row divides by zero. ---- */
static double ln_sigma(const double *x, size_t n, double eps, double *mu)
{
    double s = 0.0, v = 0.0, c = 0.0;
    for (size_t j = 0; j < n; j++)
        s += x[j];
    *mu = s / (double)n;
    for (size_t j = 0; j < n; j++)
        c += x[j] - *mu;
    *mu += c / (double)n;
    for (size_t j = 0; j < n; j++)
        v += (x[j] - *mu) * (x[j] - *mu);
    return sqrt(v / (double)n + eps);
}
static void layer_norm_frow(const double *x, size_t n, double *y, const double *attr)
{
    double mu, sigma = ln_sigma(x, n, attr[0], &mu);
    for (size_t j = 0; j < n; j++)
        y[j] = (x[j] - mu) / sigma;
}
static void ln_map(const double *x, const double *y, const double *g, size_t n, double *out, const double *attr, int acc)
{
    double mu, sigma = ln_sigma(x, n, attr[0], &mu), mg = 0.0, mgy = 0.0;
    for (size_t j = 0; j < n; j++) {
        mg += g[j];
        mgy += g[j] * y[j];
    }
    mg /= (double)n;
    mgy /= (double)n;
    for (size_t j = 0; j < n; j++) {
        double v = (g[j] - mg - y[j] * mgy) / sigma;
        out[j] = acc ? out[j] + v : v;
    }
}
static void layer_norm_brow(const double *x, const double *y, const double *gy, size_t n, double *gx, const double *attr)
{
    ln_map(x, y, gy, n, gx, attr, 1);
}
static void layer_norm_jrow(const double *x, const double *y, const double *dx, size_t n, double *dy, const double *attr)
{
    ln_map(x, y, dx, n, dy, attr, 0);
}
static int layer_norm_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r)
{
    mpfr_t mu, v, t;
    mpfr_inits2(mpfr_get_prec(y) + 64, mu, v, t, (mpfr_ptr)0);
    mpfr_set_zero(mu, 1);
    for (size_t j = 0; j < n; j++)
        mpfr_add(mu, mu, x + j, MPFR_RNDN);
    mpfr_div_ui(mu, mu, (unsigned long)n, MPFR_RNDN);
    mpfr_set_zero(v, 1);
    for (size_t j = 0; j < n; j++) {
        mpfr_sub(t, x + j, mu, MPFR_RNDN);
        mpfr_sqr(t, t, MPFR_RNDN);
        mpfr_add(v, v, t, MPFR_RNDN);
    }
    mpfr_div_ui(v, v, (unsigned long)n, MPFR_RNDN);
    mpfr_add_d(v, v, attr[0], MPFR_RNDN);
    mpfr_sqrt(v, v, MPFR_RNDN);
    for (size_t j = 0; j < n; j++) {
        mpfr_sub(t, x + j, mu, MPFR_RNDN);
        mpfr_div(y + j, t, v, r);
    }
    mpfr_clears(mu, v, t, (mpfr_ptr)0);
    return 0;
}
static ad_status layer_norm_check(const double *attr, char *why, size_t len)
{
    if (!(attr[0] >= 0.0)) {
        snprintf(why, len, "eps must be >= 0, got %g", attr[0]);
        return AD_EINVAL;
    }
    return AD_OK;
}
AD__ROW_KERNELS(layer_norm, 1)
static const char *const layer_norm_names[] = {"eps"};
static const double layer_norm_default[] = {1e-5};
const ad_op ad_op_layer_norm = {
    .name = "layer_norm", .math = "(x - mean) / sqrt(var + eps) (last axis)", .arity = 1,
    .n_attr = 1, .attr_name = layer_norm_names, .attr_default = layer_norm_default,
    .check_attr = layer_norm_check, AD__KERNEL_SLOTS(layer_norm), .domain = {{-10}, {10}},
    .sample_shapes = row_sample, .ulp_fwd = 8, .ulp_bwd = 16,
};
ad_var ad_layer_norm(ad_tape *t, ad_var x, double eps)
{
    return ad_apply(t, &ad_op_layer_norm, &x, 1, (double[]){eps}, 1);
}
