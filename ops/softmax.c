/* softmax.c - ops along the last axis: softmax, log_softmax, logsumexp, layer_norm. */
#include <stdlib.h>
#include "kernel.h"

/* Rows of all -inf: logsumexp is -inf (the log of an empty sum) with gradient 0;
 * softmax and log_softmax are undefined there and give NaN in that row only,
 * values and gradient (as PyTorch). A +inf logit: logsumexp is +inf (so is
 * the log of a sum with an infinite term), its gradient NaN in the row;
 * softmax and log_softmax give NaN in the row (inf / inf, as PyTorch).
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

/* MPFR: a row's largest entry m (exact) and ls = ln sum_j e^(x_j - m) at ls's
 * precision; m is shifted out first (MPFR's exponent range would overflow
 * e^(1e308)) and kept apart, since m + ls would round ls away when m is huge.
 * ls = log1p(rest), rest the sum without the (first) largest term: 1 + rest
 * would round a rest of 2^-1024 away at any working precision.
 * @return 0, or 1 for a row of all -inf (m = -inf, ls untouched). */
static int ref_lse(mpfr_ptr m, mpfr_ptr ls, mpfr_srcptr x, size_t n)
{
    mpfr_t t;
    size_t k = 0;
    mpfr_set_prec(m, n ? mpfr_get_prec(x) : 2);
    mpfr_set_inf(m, -1);
    for (size_t j = 0; j < n; j++)
        if (mpfr_cmp(x + j, m) > 0 || mpfr_nan_p(x + j)) {
            mpfr_set(m, x + j, MPFR_RNDN);
            k = j;
        }
    if (mpfr_inf_p(m) && mpfr_sgn(m) < 0)
        return 1;
    if (mpfr_inf_p(m)) { /* +inf - +inf: NaN in the whole row, as the engine */
        mpfr_set_nan(ls);
        return 0;
    }
    mpfr_init2(t, mpfr_get_prec(ls));
    mpfr_set_zero(ls, 1);
    for (size_t j = 0; j < n; j++) {
        if (j == k && !mpfr_nan_p(m))
            continue;
        mpfr_sub(t, x + j, m, MPFR_RNDN);
        mpfr_exp(t, t, MPFR_RNDN);
        mpfr_add(ls, ls, t, MPFR_RNDN);
    }
    mpfr_log1p(ls, ls, MPFR_RNDN);
    mpfr_clear(t);
    return 0;
}

/* The row's (first) largest output: the dominant class of a softmax. */
static size_t argmax(const double *y, size_t n)
{
    size_t k = 0;
    for (size_t j = 1; j < n; j++)
        if (y[j] > y[k])
            k = j;
    return k;
}

/* ---- softmax: y_j = e^(x_j - m) / (1 + rest); the Jacobian diag(y) - y y^T is
 * symmetric, so the VJP and the tangent are one map: out_i = y_i (g_i - <g, y>).
 * Since sum y = 1, g_i - <g, y> = sum_j y_j (g_i - g_j) = (g_i - g_k) + d_k with
 * d_k = sum_{j != k} y_j (g_k - g_j) for the dominant k: differences of g only,
 * so a uniform cotangent (the gradient of sum softmax = 1) gives exactly 0, and
 * d_k keeps its accuracy when y_k rounds near 1. ---- */
static void softmax_frow(const double *x, size_t n, double *y, const double *attr)
{
    (void)attr;
    double m, rest;
    size_t k;
    rest = ad__lse_parts(x, n, &m, &k);
    for (size_t j = 0; j < n; j++)
        y[j] = isinf(m) ? NAN : (j == k ? 1.0 : ad__exp_diff(x[j], m)) / (1.0 + rest);
}
static void softmax_map(const double *y, const double *g, size_t n, double *out, int acc)
{
    if (n == 0)
        return;
    size_t k = argmax(y, n);
    double dk = 0.0;
    for (size_t j = 0; j < n; j++)
        if (j != k)
            dk += y[j] * (g[k] - g[j]);
    for (size_t j = 0; j < n; j++) {
        double v = y[j] * (j == k ? dk : (g[j] - g[k]) + dk);
        out[j] = acc ? out[j] + v : v;
    }
}
static void softmax_brow(const double *x, const double *y, const double *gy, size_t n, double *gx, const double *attr)
{
    (void)x, (void)attr;
    softmax_map(y, gy, n, gx, 1);
}
static void softmax_jrow(const double *x, const double *y, const double *dx, size_t n, double *dy, const double *attr)
{
    (void)x, (void)attr;
    softmax_map(y, dx, n, dy, 0);
}
static int softmax_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t m, ls, t;
    mpfr_inits2(mpfr_get_prec(y) + 64, m, ls, t, (mpfr_ptr)0);
    int empty = ref_lse(m, ls, x, n);
    for (size_t j = 0; j < n; j++) {
        if (empty) {
            mpfr_set_nan(y + j);
            continue;
        }
        mpfr_sub(t, x + j, m, MPFR_RNDN);
        mpfr_sub(t, t, ls, MPFR_RNDN);
        mpfr_exp(y + j, t, r);
    }
    mpfr_clears(m, ls, t, (mpfr_ptr)0);
    return 0;
}
AD__ROW_KERNELS(softmax, 1)
/* two rows of three: small, so the sweep stays fast (its cost grows as n^2) */
static const ad_shape row_sample[] = {{2, {2, 3}}};
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
        if (isinf(m)) {
            y[j] = NAN;
            continue;
        }
        /* x_j - m rounded, its error e put back after the subtraction of l */
        double d = x[j] - m, bb = d - x[j], e = (x[j] - (d - bb)) + (-m - bb);
        y[j] = (d - l) + (isfinite(e) ? e : 0.0);
    }
}
/* J = I - 1 p^T with p_j = e_j / S, e_j = e^(x_j - m), S = sum e. The VJP
 * g_j - p_j sum(g) is formed as (g_j R_j - e_j G_j) / S with R_j = S - e_j and
 * G_j = sum(g) - g_j, each a sum over i != j: a row of equal logits under an
 * equal cotangent then gives exactly 0 (R_j = (n - 1) e_j), where
 * g - e^y n g leaves the rounding of e^y (-2^-55 at g = 1/4). Near another
 * root (p_j sum(g) ~ g_j) the rounding of e_j is magnified by the
 * cancellation, which no double formula avoids. */
static void log_softmax_brow(const double *x, const double *y, const double *gy, size_t n, double *gx, const double *attr)
{
    (void)y, (void)attr;
    double m, G = 0.0, Glo = 0.0;
    size_t k;
    double rest = ad__lse_parts(x, n, &m, &k), S = 1.0 + rest;
    /* sum(g) as G + Glo (each step's rounding error kept, Knuth's TwoSum), so
     * that G_j = sum(g) - g_j keeps the small g_i beside a large g_j: with g =
     * [5.6e-21, 1] the rounded sum lost g_0, and G_1 came out 0, not 5.6e-21 */
    for (size_t j = 0; j < n; j++) {
        double s = G + gy[j], b = s - G;
        Glo += (G - (s - b)) + (gy[j] - b);
        G = s;
    }
    for (size_t j = 0; j < n; j++) {
        if (isinf(m)) {
            gx[j] += NAN;
            continue;
        }
        double e = j == k ? 1.0 : ad__exp_diff(x[j], m), R = j == k ? rest : 1.0 + (rest - e);
        double Gj = (G - gy[j]) + (isfinite(Glo) ? Glo : 0.0);
        gx[j] += (gy[j] * R - e * Gj) / S;
    }
}
/* out_i = dx_i - <p, dx> = (dx_i - dx_k) + out_k, out_k = sum_{j != k} p_j (dx_k - dx_j)
 * for the dominant k (J 1 = 0: differences of dx only, as softmax's map). */
static void log_softmax_jrow(const double *x, const double *y, const double *dx, size_t n, double *dy, const double *attr)
{
    (void)x, (void)attr;
    if (n == 0)
        return;
    size_t k = argmax(y, n);
    double dk = 0.0;
    for (size_t j = 0; j < n; j++)
        if (j != k)
            dk += exp(y[j]) * (dx[k] - dx[j]);
    for (size_t j = 0; j < n; j++)
        dy[j] = j == k ? dk : (dx[j] - dx[k]) + dk;
}
static int log_softmax_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t m, ls, t;
    mpfr_inits2(mpfr_get_prec(y) + 64, m, ls, t, (mpfr_ptr)0);
    int empty = ref_lse(m, ls, x, n);
    for (size_t j = 0; j < n; j++) {
        if (empty) {
            mpfr_set_nan(y + j);
            continue;
        }
        mpfr_sub(t, x + j, m, MPFR_RNDN); /* exact at this precision for nearby m */
        mpfr_sub(y + j, t, ls, r);
    }
    mpfr_clears(m, ls, t, (mpfr_ptr)0);
    return 0;
}
AD__ROW_KERNELS(log_softmax, 1)
const ad_op ad_op_log_softmax = {
    .name = "log_softmax", .math = "x_j - ln sum_k e^x_k (last axis)", .arity = 1,
    AD__KERNEL_SLOTS(log_softmax), .domain = {{-20}, {20}}, .sample_shapes = row_sample,
    .ulp_fwd = 4, .ulp_bwd = 16, /* the tangent's <p, dx> carries n roundings: 12 measured */
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
    y[0] = isinf(m) ? m : m + log1p(rest);
}
/* softmax of the row from its parts (m exact, rest accurate): y itself carries
 * a rounding that e^(x_j - y) would magnify by |y|. */
static void lse_softmax(const double *x, size_t n, size_t j, double m, size_t k, double rest, double *p)
{
    *p = (j == k ? 1.0 : ad__exp_diff(x[j], m)) / (1.0 + rest);
}
static void logsumexp_brow(const double *x, const double *y, const double *gy, size_t n, double *gx, const double *attr)
{
    (void)attr;
    double m, p;
    size_t k;
    double rest = ad__lse_parts(x, n, &m, &k);
    if (y[0] == -INFINITY || gy[0] == 0.0) /* a zero cotangent adds 0 (ad__term) */
        return;
    for (size_t j = 0; j < n; j++) {
        if (m == INFINITY) {
            gx[j] += NAN;
            continue;
        }
        lse_softmax(x, n, j, m, k, rest, &p);
        gx[j] += gy[0] * p;
    }
}
static void logsumexp_jrow(const double *x, const double *y, const double *dx, size_t n, double *dy, const double *attr)
{
    (void)attr;
    double m, p, s = 0.0;
    size_t k;
    double rest = ad__lse_parts(x, n, &m, &k);
    for (size_t j = 0; y[0] != -INFINITY && j < n; j++) {
        lse_softmax(x, n, j, m, k, rest, &p);
        s += p * dx[j];
    }
    dy[0] = m == INFINITY ? NAN : s;
}
static int logsumexp_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r)
{
    (void)attr;
    mpfr_t m, ls;
    mpfr_inits2(mpfr_get_prec(y) + 64, m, ls, (mpfr_ptr)0);
    if (ref_lse(m, ls, x, n))
        mpfr_set_inf(y, -1);
    else if (mpfr_inf_p(m))
        mpfr_set_inf(y, 1);
    else
        mpfr_add(y, m, ls, r);
    mpfr_clears(m, ls, (mpfr_ptr)0);
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
    /* m + log1p(rest) cancels where the result crosses 0 (negative logits):
     * there only its absolute error (~1e-16) is bounded, so the box is positive */
    .shape = drop_last_axis, AD__KERNEL_SLOTS(logsumexp), .domain = {{0}, {20}},
    .sample_shapes = row_sample, .ulp_fwd = 4, .ulp_bwd = 8,
};
ad_var ad_logsumexp(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_logsumexp, &x, 1, NULL, 0); }

/* ---- layer_norm(x, eps): y = (x - mu) / sqrt(var + eps) along the last axis,
 * var the biased variance (PyTorch); no scale or shift (ordinary mul/add do
 * that). mu is refined by a second pass so x - mu keeps its digits. The Jacobian
 * is symmetric: dx = (g - mean(g) - y mean(g y)) / sigma, and the tangent is
 * the same map. eps >= 0; eps = 0 on a constant row divides by zero.
 * Bound: the map projects g off 1 and off y, the O(n) way every framework does;
 * where a column of the Jacobian nearly vanishes (one entry far from the
 * others, which nearly agree) the projection's absolute error ~ ulp |g| / sigma
 * is large against that column (thousands of ulps on rows of three), so the
 * backward bound is loose: 6 ulps measured in 50,000 samples of rows of
 * eight on [0.5, 2] (20 before the cotangent was centred first), bound 64; the forward is within 4. A row of two
 * values (a row of two among them), where the projection leaves only eps's
 * part on the group means, has its own formula (ln_map_two_valued). ---- */
/* A row's statistics, all in scaled units: the row is read as x 2^-ex (ex the
 * exponent of its largest |x|: the mean of subnormals keeps its digits, that
 * of DBL_MAX's does not overflow); its sum is kept exact, as an expansion (a
 * sum of nonoverlapping doubles, Shewchuk's), so a deviation x_j - mean is
 * (n x_j - sum) / n rounded about once: a double-double mean lost the 2^-925 in
 * [0.5 - 2^-52, -2^-925, 1 - 2^-53, 0.5 - 2^-53], where the last deviation is
 * exactly 2^-927 (fuzz_op); sigma is sigma 2^e, e the exponent of the largest
 * of |x_j - mean| and sqrt(eps): the squares are summed scaled by 2^-e, so a
 * spread of 1e200 does not overflow the variance, nor one of 1e-200 underflow it. */
#define LN_SUM_MAX 16 /* components kept (rows need 1 to 3; 20 need a spread of 1026 bits) */
typedef struct ln_stats {
    double sum[LN_SUM_MAX + 1]; /* the exact sum of x 2^-ex, increasing magnitudes */
    int n_sum;
    double n, sigma, eps, var; /* eps and var + eps (sigma^2) scaled by 2^-2e */
    int ex, e;
} ln_stats;

/* Adds b to the expansion e[0..m) (Grow-Expansion with zero elimination);
 * @return its new length. */
static int ln_grow(double *e, int m, double b)
{
    double q = b;
    int k = 0;
    for (int i = 0; i < m; i++) {
        double s = q + e[i], bb = s - q, err = (q - (s - bb)) + (e[i] - bb);
        q = s;
        if (err != 0.0)
            e[k++] = err;
    }
    if (q != 0.0 || k == 0)
        e[k++] = q;
    return k;
}
/* The expansion's value, rounded about once (smallest components first). */
static double ln_value(const double *e, int m)
{
    double v = 0.0;
    for (int i = 0; i < m; i++)
        v += e[i];
    return v;
}
/* (x - mean) 2^-ex: (n x - sum) / n from the exact parts, n x by fma. */
static double ln_dev_scaled(double x, const ln_stats *st)
{
    double e[LN_SUM_MAX + 2], xs = ldexp(x, -st->ex), p = st->n * xs;
    int m = st->n_sum;
    for (int i = 0; i < m; i++)
        e[i] = -st->sum[i];
    m = ln_grow(e, m, fma(st->n, xs, -p));
    m = ln_grow(e, m, p);
    return ln_value(e, m) / st->n;
}
/* (x - mean) 2^-e: the deviation in sigma's units. */
static double ln_dev(double x, const ln_stats *st)
{
    return ldexp(ln_dev_scaled(x, st), st->ex - st->e);
}
static void ln_stats_of(const double *x, size_t n, double eps, ln_stats *st)
{
    double v = 0.0, big = 0.0;
    st->n = (double)n;
    for (size_t j = 0; j < n; j++)
        big = fmax(big, fabs(x[j]));
    st->ex = 0;
    if (big > 0.0 && isfinite(big))
        frexp(big, &st->ex);
    st->n_sum = 1;
    st->sum[0] = 0.0;
    for (size_t j = 0; j < n; j++) {
        double xj = ldexp(x[j], -st->ex);
        if (!isfinite(big)) { /* inf or NaN: the plain sum, which is too */
            st->sum[0] += xj;
            continue;
        }
        st->n_sum = ln_grow(st->sum, st->n_sum, xj);
        if (st->n_sum >= LN_SUM_MAX) { /* rare: round to a double-double */
            double hi = ln_value(st->sum, st->n_sum);
            st->n_sum = ln_grow(st->sum, st->n_sum, -hi);
            st->sum[0] = ln_value(st->sum, st->n_sum);
            st->sum[1] = hi;
            st->n_sum = 2;
        }
    }
    big = 0.0;
    for (size_t j = 0; j < n; j++)
        big = fmax(big, fabs(ln_dev_scaled(x[j], st)));
    st->e = 0;
    if (big > 0.0 && isfinite(big)) {
        frexp(big, &st->e);
        st->e += st->ex;
    }
    if (eps > 0.0) {
        int es;
        frexp(sqrt(eps), &es);
        if (big == 0.0 || es > st->e)
            st->e = es;
    }
    for (size_t j = 0; j < n; j++) {
        double d = ln_dev(x[j], st);
        v += d * d;
    }
    st->eps = ldexp(ldexp(eps, -st->e), -st->e);
    st->var = v / st->n + st->eps;
    st->sigma = sqrt(st->var);
}
static void layer_norm_frow(const double *x, size_t n, double *y, const double *attr)
{
    ln_stats st;
    ln_stats_of(x, n, attr[0], &st);
    for (size_t j = 0; j < n; j++)
        y[j] = ln_dev(x[j], &st) / st.sigma;
}
/* A row that takes two values a and b (a row of two, or [1, 1, 1, 2]): y is
 * constant on each group, so a cotangent splits into its deviations from the
 * group means (orthogonal to 1 and to y: the map keeps them) and the group
 * means (in span{1, y}, where the projection leaves only eps's part:
 * y_j^2 averages var / (var + eps)). So
 *   dx_j = ((g_j - mean_G(j) g) + eps / (var + eps) (mean_G(j) g - mean g)) / sigma,
 * with nothing cancelling; the general formula cancels O(1) terms to
 * eps / var^1.5 there (2,000 ulps at [1.25, 1.5], 1.4e5 at [1, 1, 1, 2],
 * 2,200 at [0.5, 0, 0] under relu's cotangent [1, 0, 0], fuzz_program).
 * eps = 0 leaves the deviations alone (y = +-const whatever x).
 * @return false when the row takes more than two values. */
static bool ln_map_two_valued(const double *x, const double *g, size_t n, const ln_stats *st,
                              double *out, int acc)
{
    double a = x[0], b = a, sa = 0.0, sb = 0.0;
    size_t na = 0;
    for (size_t j = 0; j < n; j++) {
        if (x[j] != a && b == a)
            b = x[j];
        if (x[j] != a && x[j] != b)
            return false;
    }
    if (a == b)
        return false; /* a constant row: y = 0, the general formula is exact */
    /* g read as g_0 + (g - g_0), as the general formula: a uniform g gives 0 exactly */
    double g0 = g[0];
    for (size_t j = 0; j < n; j++) {
        if (x[j] == a) {
            sa += g[j] - g0;
            na++;
        } else {
            sb += g[j] - g0;
        }
    }
    double ma = sa / (double)na, mb = sb / (double)(n - na), m = (sa + sb) / (double)n;
    if (!isfinite(ma) || !isfinite(mb) || !isfinite(m))
        return false; /* sums beyond DBL_MAX: the general formula's guards */
    double f = st->eps / st->var;
    for (size_t j = 0; j < n; j++) {
        double mG = x[j] == a ? ma : mb;
        double v = ldexp((((g[j] - g0) - mG) + f * (mG - m)) / st->sigma, -st->e);
        out[j] = acc ? out[j] + v : v;
    }
    return true;
}
static void ln_map(const double *x, const double *y, const double *g, size_t n, double *out, const double *attr, int acc)
{
    ln_stats st;
    double mg = 0.0, mgy = 0.0;
    ln_stats_of(x, n, attr[0], &st);
    if (ln_map_two_valued(x, g, n, &st, out, acc))
        return;
    /* g is read as g_0 + (g - g_0) and mean(g y) as mean((g - mean g) y) (sum y = 0):
     * a uniform cotangent then gives exactly 0 (J 1 = 0), not g sum(y) / n, the
     * rounding noise of the centring (3,000 ulps against 1e-411 on a row of
     * eight with one entry apart) */
    double g0 = g[0];
    for (size_t j = 0; j < n; j++)
        mg += g[j] - g0;
    if (!isfinite(mg)) { /* differences beyond DBL_MAX: the plain sum */
        g0 = mg = 0.0;
        for (size_t j = 0; j < n; j++)
            mg += g[j];
    }
    mg /= (double)n;
    for (size_t j = 0; j < n; j++)
        mgy += ((g[j] - g0) - mg) * y[j];
    mgy /= (double)n;
    for (size_t j = 0; j < n; j++) {
        double v = ldexp(((g[j] - g0) - mg - y[j] * mgy) / st.sigma, -st.e);
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
/* ln_map's rounding error for |t| (t >= 0), in units of eps: its terms are
 * g_j - g_0, their mean (a sum of n), and y_j times mean((g - g_0 - mean) y)
 * (a sum of n more), each divided by sigma; each term is counted with the
 * roundings it passes through, the accumulation into the adjoint and the
 * product by it included. Where a Jacobian column nearly vanishes the terms
 * cancel to almost nothing while their rounding stays of their own size:
 * relu(layer_norm(.)) on the row [4, 0.0625, 0] loses 1.1e4 ulps of a column
 * of 2.3e-5 (fuzz_program). */
static void layer_norm_trow(const double *x, const double *y, const double *t, size_t n, double *out,
                            const double *attr)
{
    ln_stats st;
    ln_stats_of(x, n, attr[0], &st);
    double ma = 0.0, may = 0.0, k = (double)n;
    for (size_t j = 0; j < n; j++)
        ma += t[j] + t[0];
    ma /= k;
    for (size_t j = 0; j < n; j++)
        may += (t[j] + t[0] + ma) * fabs(y[j]);
    may /= k;
    for (size_t j = 0; j < n; j++)
        out[j] = ldexp((5.0 * (t[j] + t[0]) + (k + 4.0) * ma + (k + 5.0) * fabs(y[j]) * may) / st.sigma,
                       -st.e);
}
static void layer_norm_jvp_terms(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    ad__row_tangents(a, dx[0], dy, 1, layer_norm_trow);
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
/* Rows of eight: a nearly vanishing column (see the bound) needs the other
 * entries to nearly agree, which is rarer in longer rows. */
static const ad_shape layer_norm_sample[] = {{2, {2, 8}}};
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
    .check_attr = layer_norm_check, AD__KERNEL_SLOTS(layer_norm), .jvp_terms = layer_norm_jvp_terms,
    .domain = {{0.5}, {2}},
    .sample_shapes = layer_norm_sample, .ulp_fwd = 8, .ulp_bwd = 64,
};
ad_var ad_layer_norm(ad_tape *t, ad_var x, double eps)
{
    return ad_apply(t, &ad_op_layer_norm, &x, 1, (double[]){eps}, 1);
}
