/* loss.c - losses, each a scalar mean: mse, l1_loss, huber, bce_with_logits, cross_entropy, nll. */
#include <stdlib.h>
#include "kernel.h"

/* The reference of AD__SUM_KERNELS and of the mean losses: each term at y's precision plus 64 bits,
 * added with one rounding. */
int ad__sum_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd, int mean,
                      int (*term)(mpfr_ptr, mpfr_srcptr, mpfr_srcptr, const double *))
{
    size_t n = ad__count(&a->xs[0]);
    mpfr_srcptr b = a->n_in > 1 ? a->x[1] : a->x[0];
    mpfr_t *t = malloc(n ? n * sizeof *t : 1);
    mpfr_ptr *tab = calloc(n ? n : 1, sizeof *tab);
    size_t done = 0;
    int oom = !t || !tab, bad = oom;
    for (; !bad && done < n; done++) {
        mpfr_init2(t[done], mpfr_get_prec(y) + 64);
        tab[done] = t[done];
        bad |= term(t[done], a->x[0] + done, b + done, a->attr);
    }
    if (!bad) {
        mpfr_sum(y, tab, (unsigned long)n, rnd);
        if (mean)
            mpfr_div_ui(y, y, (unsigned long)n, rnd);
    }
    for (size_t i = 0; i < done; i++)
        mpfr_clear(t[i]);
    free(t);
    free(tab);
    return oom ? AD_ENOMEM : bad;
}

/* Both inputs one shape, not empty (a mean of nothing is undefined). */
static ad_status pair_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    if (!ad_shape_equal(&a->xs[0], &a->xs[1])) {
        snprintf(why, len, "prediction and target must have the same shape");
        return AD_ESHAPE;
    }
    if (ad__count(&a->xs[0]) == 0) {
        snprintf(why, len, "the mean of an empty tensor is undefined");
        return AD_ESHAPE;
    }
    *out = AD_SCALAR;
    return AD_OK;
}

static const ad_shape pair_sample[] = {{2, {2, 3}}, {2, {2, 3}}};

/* MPFR: d = a - b exactly (enough bits for both operands). */
static void ref_diff(mpfr_ptr d, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_prec_t p = mpfr_get_prec(a) > mpfr_get_prec(b) ? mpfr_get_prec(a) : mpfr_get_prec(b);
    mpfr_set_prec(d, p + 1100); /* exact for doubles of any exponents */
    mpfr_sub(d, a, b, MPFR_RNDN);
}

/* ---- the mean losses' driver (mse, l1_loss, huber, bce_with_logits): y = sum_i
 * l(p_i, t_i) / n. Not AD__SUM_KERNELS: the sum may overflow where the mean
 * does not (a term of -DBL_MAX), and the backward's gy dl/dp / n must round
 * once near the subnormals, where (gy / n) dl/dp rounds twice. Each loss gives
 *   NAME_t(p, t, attr, s):  l(p, t) 2^-s; with s = LOSS_SCALE it stays finite
 *                           for any finite p, t (used when the plain sum overflows);
 *   NAME_dp, NAME_dt(p, t, attr, &e): dl/dp (dl/dt) = ret 2^e, so 2 (p - t)
 *                           exists where p - t overflows. ---- */
#define LOSS_SCALE 1100 /* even (mse halves it); terms < 2^26 vanish, against a sum > 2^1023 */

/* a b 2^e / n, rounded about once: the mantissas' product and quotient stay
 * normal, only the final scaling can meet the subnormal range. */
static double mul_div(double a, double b, int e, double n)
{
    double v = a * b;
    if (isfinite(v) && fabs(v) >= 0x1p-900) /* v / n stays normal (n < 2^64): the same two roundings */
        return ldexp(v / n, e);
    if (!isfinite(a) || !isfinite(b) || a == 0.0 || b == 0.0)
        return ldexp(v, e) / n;
    int ea, eb;
    double ma = frexp(a, &ea), mb = frexp(b, &eb);
    return ldexp(ma * mb / n, ea + eb + e);
}

typedef struct mean_loss {
    double (*t)(double p, double t, const double *attr, int s);
    double (*dp)(double p, double t, const double *attr, int *e);
    double (*dt)(double p, double t, const double *attr, int *e);
} mean_loss;

/* sum_i l_i 2^-s; *mag (may be NULL): sum_i |l_i| 2^-s */
static double loss_sum(const mean_loss *L, const ad_op_args *a, size_t n, int s, double *mag)
{
    double sum = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = L->t(a->x[0][i], a->x[1][i], a->attr, s);
        sum += t;
        m += fabs(t);
    }
    if (mag)
        *mag = m;
    return sum;
}
static void loss_forward(const mean_loss *L, const ad_op_args *a, double *y)
{
    size_t n = ad__count(&a->xs[0]);
    double sum = loss_sum(L, a, n, 0, NULL);
    if (isfinite(sum)) {
        y[0] = sum / (double)n;
        return;
    }
    /* overflowed (to inf, or to inf - inf), or a non-finite input: the scaled sum tells */
    double mag, scaled = loss_sum(L, a, n, LOSS_SCALE, &mag);
    y[0] = ldexp(scaled / (double)n, LOSS_SCALE);
    /* Terms whose magnitudes' mean is beyond DBL_MAX cancelled to a finite
     * mean, by more than their rounding (n eps/2 sum |l_i|) allows: not one
     * digit is left (x (1 - y) with x = DBL_MAX, y = 1.6 2^920 loses x, as
     * large as the mean itself). NaN, the contract of sums whose terms exceed
     * DBL_MAX (matmul, broadcasting), rather than a finite number. */
    if (isfinite(y[0]) && isinf(ldexp(mag / (double)n, LOSS_SCALE)) &&
        fabs(scaled) < 8.0 * (double)n * DBL_EPSILON * mag)
        y[0] = NAN;
}
static void loss_backward(const mean_loss *L, const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    size_t n = ad__count(&a->xs[0]);
    int e;
    for (unsigned k = 0; k < 2; k++)
        for (size_t i = 0; gx[k] && i < n; i++) {
            double d = (k ? L->dt : L->dp)(a->x[0][i], a->x[1][i], a->attr, &e);
            gx[k][i] += mul_div(d, gy[0], e, (double)n);
        }
}
static void loss_jvp(const mean_loss *L, const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    size_t n = ad__count(&a->xs[0]);
    double sum = 0.0;
    int e;
    for (unsigned k = 0; k < 2; k++)
        for (size_t i = 0; dx[k] && i < n; i++) {
            double d = (k ? L->dt : L->dp)(a->x[0][i], a->x[1][i], a->attr, &e);
            sum += mul_div(d, dx[k][i], e, 1.0);
        }
    dy[0] = sum / (double)n;
}
#define LOSS_KERNELS(NAME)                                                                \
    static const mean_loss NAME##_loss = {NAME##_t, NAME##_dp, NAME##_dt};                \
    static void NAME##_forward(const ad_op_args *a, double *y) { loss_forward(&NAME##_loss, a, y); } \
    static void NAME##_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY]) \
    {                                                                                     \
        loss_backward(&NAME##_loss, a, gy, gx);                                           \
    }                                                                                     \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy) \
    {                                                                                     \
        loss_jvp(&NAME##_loss, a, dx, dy);                                                \
    }                                                                                     \
    static int NAME##_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)         \
    {                                                                                     \
        return ad__sum_reference(a, y, rnd, 1, NAME##_lref);                              \
    }

/* p - t halved when it would overflow: returns d with p - t = d 2^*e. */
static double half_diff(double p, double t, int *e)
{
    double d = p - t;
    *e = 0;
    if (isinf(d) && isfinite(p) && isfinite(t)) {
        *e = 1;
        return p / 2 - t / 2;
    }
    return d;
}

/* ---- mse: mean (p - t)^2; dp = 2 (p - t) / n, dt = -dp ---- */
static double mse_t(double p, double t, const double *attr, int s)
{
    (void)attr;
    int e;
    double d = half_diff(s ? p / 2 : p, s ? t / 2 : t, &e); /* s: (p - t) / 2, then 2^-s/2 */
    d = ldexp(d, e + (s ? 1 - s / 2 : 0));
    return d * d;
}
static double mse_dp(double p, double t, const double *attr, int *e)
{
    (void)attr;
    double d = half_diff(p, t, e);
    *e += 1;
    return d;
}
static double mse_dt(double p, double t, const double *attr, int *e) { return -mse_dp(p, t, attr, e); }
static int mse_lref(mpfr_ptr y, mpfr_srcptr p, mpfr_srcptr t, const double *attr)
{
    (void)attr;
    mpfr_t d;
    mpfr_init(d);
    ref_diff(d, p, t);
    mpfr_sqr(y, d, MPFR_RNDN);
    mpfr_clear(d);
    return 0;
}
LOSS_KERNELS(mse)
const ad_op ad_op_mse = {
    .name = "mse", .math = "mean (p - t)^2", .arity = 2, .shape = pair_shape,
    AD__KERNEL_SLOTS(mse), .sample_shapes = pair_sample, .domain = {{-10, -10}, {10, 10}},
    .ulp_fwd = 8, .ulp_bwd = 2.5,
};
ad_var ad_mse(ad_tape *t, ad_var pred, ad_var target) { return ad_apply(t, &ad_op_mse, (ad_var[]){pred, target}, 2, NULL, 0); }

/* ---- l1_loss: mean |p - t|; dp = sign(p - t) / n, 0 at p == t (abs's convention,
 * PyTorch), dt = -dp ---- */
static double l1_loss_t(double p, double t, const double *attr, int s)
{
    (void)attr;
    int e;
    double d = half_diff(s ? p / 2 : p, s ? t / 2 : t, &e);
    return ldexp(fabs(d), e + (s ? 1 - s : 0));
}
static double l1_loss_dp(double p, double t, const double *attr, int *e) { (void)attr; *e = 0; return ad__abs_grad(p - t); }
static double l1_loss_dt(double p, double t, const double *attr, int *e) { (void)attr; *e = 0; return -ad__abs_grad(p - t); }
static int l1_loss_lref(mpfr_ptr y, mpfr_srcptr p, mpfr_srcptr t, const double *attr)
{
    (void)attr;
    mpfr_t d;
    mpfr_init(d);
    ref_diff(d, p, t);
    mpfr_abs(y, d, MPFR_RNDN);
    mpfr_clear(d);
    return 0;
}
static int l1_loss_piece1(double p, double t, const double *attr) { (void)attr; return ad__abs_piece(p - t); }
LOSS_KERNELS(l1_loss)
AD__SUM_PIECE(l1_loss)
static const ad_kink l1_loss_kinks[] = {
    {.at = 0.0, .left = -1.0, .right = 1.0, .choice = 0.0,
     .why = "at p == t (at = p - t, per element before the 1/n): 0, abs's convention (PyTorch)"},
};
const ad_op ad_op_l1_loss = {
    .name = "l1_loss", .math = "mean |p - t|", .arity = 2, .shape = pair_shape,
    AD__KERNEL_SLOTS(l1_loss), .piece = l1_loss_piece, .kinks = l1_loss_kinks, .n_kinks = 1,
    .sample_shapes = pair_sample, .domain = {{-10, -10}, {10, 10}}, .ulp_fwd = 8, .ulp_bwd = 1,
};
ad_var ad_l1_loss(ad_tape *t, ad_var pred, ad_var target) { return ad_apply(t, &ad_op_l1_loss, (ad_var[]){pred, target}, 2, NULL, 0); }

/* ---- huber(p, t, delta): with d = p - t, mean of d^2 / 2 for |d| <= delta and
 * delta (|d| - delta / 2) beyond; dp = d inside, delta sign(d) beyond, dt = -dp.
 * Continuously differentiable: at |d| == delta both pieces give delta sign(d)
 * (the quadratic piece is used there, as PyTorch). delta > 0. ---- */
static double huber_t(double p, double t, const double *attr, int s)
{
    int e;
    double k = attr[0], d = fabs(half_diff(s ? p / 2 : p, s ? t / 2 : t, &e));
    int sh = (s ? 1 : 0) + e; /* |p - t| = d 2^sh */
    if (d <= ldexp(k, -sh)) {
        double h = ldexp(d, sh - s / 2);
        return 0.5 * h * h;
    }
    return mul_div(k, d - ldexp(k, -1 - sh), sh - s, 1.0); /* k (|p - t| - k/2) 2^-s */
}
static double huber_dp(double p, double t, const double *attr, int *e)
{
    double d = p - t, k = attr[0];
    *e = 0;
    return fabs(d) <= k ? d : k * ad__abs_grad(d);
}
static double huber_dt(double p, double t, const double *attr, int *e) { return -huber_dp(p, t, attr, e); }
static int huber_lref(mpfr_ptr y, mpfr_srcptr p, mpfr_srcptr t, const double *attr)
{
    mpfr_t d;
    mpfr_init(d);
    ref_diff(d, p, t);
    mpfr_abs(d, d, MPFR_RNDN);
    if (mpfr_cmp_d(d, attr[0]) <= 0) {
        mpfr_sqr(d, d, MPFR_RNDN);
        mpfr_div_ui(y, d, 2, MPFR_RNDN);
    } else {
        mpfr_sub_d(d, d, 0.5 * attr[0], MPFR_RNDN);
        mpfr_mul_d(y, d, attr[0], MPFR_RNDN);
    }
    mpfr_clear(d);
    return 0;
}
static int huber_piece1(double p, double t, const double *attr)
{
    double d = p - t;
    return fabs(d) <= attr[0] ? 2 : d > 0 ? 3 : 4; /* no kink: the seams are C^1 */
}
static ad_status huber_check(const double *attr, char *why, size_t len)
{
    if (!(attr[0] > 0.0)) {
        snprintf(why, len, "delta must be > 0, got %g", attr[0]);
        return AD_EINVAL;
    }
    return AD_OK;
}
LOSS_KERNELS(huber)
AD__SUM_PIECE(huber)
static const char *const huber_names[] = {"delta"};
static const double huber_default[] = {1.0};
const ad_op ad_op_huber = {
    .name = "huber", .math = "mean (|d| <= delta ? d^2/2 : delta (|d| - delta/2)), d = p - t",
    .arity = 2, .n_attr = 1, .attr_name = huber_names, .attr_default = huber_default,
    .shape = pair_shape, .check_attr = huber_check, AD__KERNEL_SLOTS(huber), .piece = huber_piece,
    .sample_shapes = pair_sample, .domain = {{-10, -10}, {10, 10}}, .ulp_fwd = 8, .ulp_bwd = 2.5,
};
ad_var ad_huber(ad_tape *t, ad_var pred, ad_var target, double delta)
{
    return ad_apply(t, &ad_op_huber, (ad_var[]){pred, target}, 2, (double[]){delta}, 1);
}

/* ---- bce_with_logits(x, y): mean of ln(1 + e^x) - x y, computed as
 * x (1 - y) + log1p(e^-x) for x >= 0 and -x y + log1p(e^x) below (both terms >= 0
 * for y in [0, 1]: no overflow, no cancellation); dx = sigmoid(x) - y, dy = -x ---- */
static double bce_with_logits_t(double x, double y, const double *attr, int s)
{
    (void)attr;
    double lin = x >= 0.0 ? mul_div(x, 1.0 - y, -s, 1.0) : mul_div(-x, y, -s, 1.0);
    return lin + ldexp(log1p(exp(-fabs(x))), -s);
}
/* sigmoid(x) - y, as (1 - y) - sigmoid(-x) for x >= 0 so y = 1 at large x gives
 * -sigmoid(-x) rather than a difference of two numbers near 1 */
static double bce_with_logits_dp(double x, double y, const double *attr, int *e)
{
    (void)attr;
    *e = 0;
    return x >= 0.0 ? (1.0 - y) - ad__sigmoid(-x) : ad__sigmoid(x) - y;
}
static double bce_with_logits_dt(double x, double y, const double *attr, int *e) { (void)attr, (void)y; *e = 0; return -x; }
static int bce_with_logits_lref(mpfr_ptr out, mpfr_srcptr x, mpfr_srcptr y, const double *attr)
{
    (void)attr;
    mpfr_t a, b;
    mpfr_inits2(mpfr_get_prec(out) + 64, a, b, (mpfr_ptr)0);
    if (mpfr_sgn(x) >= 0) {
        mpfr_ui_sub(a, 1, y, MPFR_RNDN);
        mpfr_mul(a, a, x, MPFR_RNDN);
        mpfr_neg(b, x, MPFR_RNDN);
    } else {
        mpfr_mul(a, x, y, MPFR_RNDN);
        mpfr_neg(a, a, MPFR_RNDN);
        mpfr_set(b, x, MPFR_RNDN);
    }
    mpfr_exp(b, b, MPFR_RNDN);
    mpfr_log1p(b, b, MPFR_RNDN);
    mpfr_add(out, a, b, MPFR_RNDN);
    mpfr_clears(a, b, (mpfr_ptr)0);
    return 0;
}
LOSS_KERNELS(bce_with_logits)
const ad_op ad_op_bce_with_logits = {
    .name = "bce_with_logits", .math = "mean ln(1 + e^x) - x y", .arity = 2, .shape = pair_shape,
    AD__KERNEL_SLOTS(bce_with_logits), .sample_shapes = pair_sample,
    /* dx = sigmoid(x) - y has a root where y = sigmoid(x); near it no double
     * formula keeps relative accuracy (exp's own rounding is ~1e-16 absolute), so
     * the box keeps them apart (sigmoid(2) = 0.88 < 0.9) while covering both branches */
    .domain = {{-30, 0.9}, {2, 1}}, .ulp_fwd = 8, .ulp_bwd = 8,
};
ad_var ad_bce_with_logits(ad_tape *t, ad_var x, ad_var y)
{
    return ad_apply(t, &ad_op_bce_with_logits, (ad_var[]){x, y}, 2, NULL, 0);
}

/* ---- class indices: logits or log-probabilities [N, C] (or [C]) with indices
 * [N] (or a scalar), each an integer in [0, C). The shape rule checks them when
 * it is given values (ad_apply gives them, before forward): a bad index is an
 * AD_EINVAL naming its position. Kernels called directly with a bad index
 * still never read outside the row: that row's loss is NaN and its gradient 0. ---- */
static int class_of(const double *c, size_t r, size_t n, size_t *out)
{
    double v = c[r];
    *out = (size_t)(v >= 0 && v < (double)n && v == floor(v) ? v : 0);
    return v >= 0 && v < (double)n && v == floor(v);
}
static ad_status class_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    const ad_shape *x = &a->xs[0], *c = &a->xs[1];
    size_t rows, n;
    if (x->rank < 1 || c->rank + 1 != x->rank) {
        snprintf(why, len, "want scores [N, C] (or [C]) and class indices [N] (or a scalar)");
        return AD_ESHAPE;
    }
    for (unsigned k = 0; k < c->rank; k++)
        if (c->dim[k] != x->dim[k]) {
            snprintf(why, len, "class indices must have the scores' shape without the last axis");
            return AD_ESHAPE;
        }
    ad__rows(x, &rows, &n);
    if (rows == 0 || n == 0) {
        snprintf(why, len, "no classes or no rows: the mean is undefined");
        return AD_ESHAPE;
    }
    for (size_t r = 0; a->x[1] && r < rows; r++) { /* values, when the caller has them */
        double v = a->x[1][r];
        if (!(v == floor(v))) {
            snprintf(why, len, "class index %g at position %zu is not an integer", v, r);
            return AD_EINVAL;
        }
        if (v < 0 || v >= (double)n) {
            snprintf(why, len, "class index %g at position %zu is out of range [0, %zu)", v, r, n);
            return AD_EINVAL;
        }
    }
    *out = AD_SCALAR;
    return AD_OK;
}

static const ad_shape class_sample[] = {{2, {2, 3}}, {1, {2}}};

/* ---- cross_entropy(logits, class): mean over rows of lse(x) - x_c, computed as
 * (m - x_c) + log1p(rest) (both >= 0: logits 1e4 apart stay exact); dx =
 * (softmax(x) - onehot(c)) / N, where softmax_c - 1 = -rest / (1 + rest) when c
 * is the row's largest (no cancellation). No gradient to the indices. ---- */
static double ce_row(const double *x, size_t n, size_t c, double *rest, double *m, size_t *k)
{
    *rest = ad__lse_parts(x, n, m, k);
    return (*m - x[c]) + log1p(*rest);
}
static void ce_grad_row(const double *x, size_t n, size_t c, double g, double *out, int acc)
{
    double rest, m;
    size_t k;
    ce_row(x, n, c, &rest, &m, &k);
    for (size_t j = 0; j < n; j++) {
        double p = (j == k ? 1.0 : ad__exp_diff(x[j], m)) / (1.0 + rest);
        if (j == c)
            p = j == k ? -rest / (1.0 + rest) : p - 1.0;
        out[j] = acc ? out[j] + g * p : g * p;
    }
}
/* The rows' losses summed; half: each halved, (m/2 - x_c/2) + log1p(rest)/2,
 * and scaled by 2^-63 (exact but for negligible subnormals), so neither a row
 * (m - x_c of DBL_MAX and -1e301) nor the sum overflows. */
static double ce_sum(const ad_op_args *a, size_t rows, size_t n, int half)
{
    double s = 0.0, rest, m;
    size_t k, c;
    for (size_t r = 0; r < rows; r++) {
        const double *x = a->x[0] + r * n;
        if (!class_of(a->x[1], r, n, &c)) {
            s += NAN;
            continue;
        }
        double l = ce_row(x, n, c, &rest, &m, &k);
        s += half ? ldexp((m / 2 - x[c] / 2) + log1p(rest) / 2, -63) : l;
    }
    return s;
}
static void cross_entropy_forward(const ad_op_args *a, double *y)
{
    size_t rows, n;
    ad__rows(&a->xs[0], &rows, &n);
    double s = ce_sum(a, rows, n, 0);
    y[0] = isinf(s) ? ldexp(ce_sum(a, rows, n, 1) / (double)rows, 64) : s / (double)rows;
}
static void cross_entropy_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    size_t rows, n;
    if (!gx[0])
        return;
    ad__rows(&a->xs[0], &rows, &n);
    for (size_t r = 0; r < rows; r++) {
        size_t c;
        if (class_of(a->x[1], r, n, &c))
            ce_grad_row(a->x[0] + r * n, n, c, gy[0] / (double)rows, gx[0] + r * n, 1);
    }
}
static void cross_entropy_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    size_t rows, n;
    double s = 0.0, p[64], *row = p;
    ad__rows(&a->xs[0], &rows, &n);
    if (n > 64 && !(row = malloc(n * sizeof *row))) {
        dy[0] = NAN; /* no memory for the row's gradient: say so in the value */
        return;
    }
    for (size_t r = 0; dx[0] && r < rows; r++) {
        size_t c;
        if (!class_of(a->x[1], r, n, &c))
            continue;
        ce_grad_row(a->x[0] + r * n, n, c, 1.0, row, 0);
        for (size_t j = 0; j < n; j++)
            s += row[j] * dx[0][r * n + j];
    }
    if (row != p)
        free(row);
    dy[0] = s / (double)rows;
}
static int cross_entropy_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)
{
    size_t rows, n;
    ad__rows(&a->xs[0], &rows, &n);
    mpfr_t s, l;
    mpfr_inits2(mpfr_get_prec(y) + 64, s, l, (mpfr_ptr)0);
    mpfr_set_zero(s, 1);
    for (size_t r = 0; r < rows; r++) {
        long c = mpfr_get_si(a->x[1] + r, MPFR_RNDN);
        mpfr_t m;
        mpfr_init2(m, mpfr_get_prec(y) + 64);
        mpfr_set_inf(m, -1);
        for (size_t j = 0; j < n; j++)
            if (mpfr_cmp(a->x[0] + r * n + j, m) > 0)
                mpfr_set(m, a->x[0] + r * n + j, MPFR_RNDN);
        mpfr_set_zero(l, 1);
        for (size_t j = 0; j < n; j++) {
            mpfr_t e;
            mpfr_init2(e, mpfr_get_prec(y) + 64);
            mpfr_sub(e, a->x[0] + r * n + j, m, MPFR_RNDN);
            mpfr_exp(e, e, MPFR_RNDN);
            mpfr_add(l, l, e, MPFR_RNDN);
            mpfr_clear(e);
        }
        mpfr_log(l, l, MPFR_RNDN);
        /* (m - x_c) + ln sum: forming lse = m + ln sum first would round the
         * sum's logarithm away when m is huge */
        mpfr_sub(m, m, a->x[0] + r * n + (size_t)c, MPFR_RNDN);
        mpfr_add(l, l, m, MPFR_RNDN);
        mpfr_add(s, s, l, MPFR_RNDN);
        mpfr_clear(m);
    }
    mpfr_div_ui(y, s, (unsigned long)rows, rnd);
    mpfr_clears(s, l, (mpfr_ptr)0);
    return 0;
}
const ad_op ad_op_cross_entropy = {
    .name = "cross_entropy", .math = "mean_r (ln sum_j e^x_rj - x_r,c_r)", .arity = 2,
    .int_inputs = 1u << 1, .shape = class_shape, AD__KERNEL_SLOTS(cross_entropy),
    .sample_shapes = class_sample, .domain = {{-20, 0}, {20, 2}}, .ulp_fwd = 8, .ulp_bwd = 8,
};
ad_var ad_cross_entropy(ad_tape *t, ad_var logits, ad_var classes)
{
    return ad_apply(t, &ad_op_cross_entropy, (ad_var[]){logits, classes}, 2, NULL, 0);
}

/* ---- nll(log_probs, class): -mean_r lp[r, c_r]; dlp[r, c_r] = -1 / N ---- */
static void nll_forward(const ad_op_args *a, double *y)
{
    size_t rows, n;
    double s = 0.0;
    ad__rows(&a->xs[0], &rows, &n);
    for (size_t r = 0; r < rows; r++) {
        size_t c;
        s += class_of(a->x[1], r, n, &c) ? a->x[0][r * n + c] : NAN;
    }
    y[0] = -s / (double)rows;
}
static void nll_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    size_t rows, n;
    if (!gx[0])
        return;
    ad__rows(&a->xs[0], &rows, &n);
    for (size_t r = 0; r < rows; r++) {
        size_t c;
        if (class_of(a->x[1], r, n, &c))
            gx[0][r * n + c] -= gy[0] / (double)rows;
    }
}
static void nll_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    size_t rows, n;
    double s = 0.0;
    ad__rows(&a->xs[0], &rows, &n);
    for (size_t r = 0; dx[0] && r < rows; r++) {
        size_t c;
        s += class_of(a->x[1], r, n, &c) ? dx[0][r * n + c] : 0.0;
    }
    dy[0] = -s / (double)rows;
}
static int nll_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)
{
    size_t rows, n;
    ad__rows(&a->xs[0], &rows, &n);
    mpfr_ptr *tab = malloc(rows ? rows * sizeof *tab : 1);
    if (!tab)
        return AD_ENOMEM;
    for (size_t r = 0; r < rows; r++)
        tab[r] = (mpfr_ptr)(a->x[0] + r * n + (size_t)mpfr_get_si(a->x[1] + r, MPFR_RNDN));
    mpfr_sum(y, tab, (unsigned long)rows, rnd);
    mpfr_div_si(y, y, -(long)rows, rnd);
    free(tab);
    return 0;
}
const ad_op ad_op_nll = {
    .name = "nll", .math = "-mean_r lp_r,c_r", .arity = 2, .int_inputs = 1u << 1,
    .shape = class_shape, AD__KERNEL_SLOTS(nll), .sample_shapes = class_sample,
    .domain = {{-20, 0}, {-0.01, 2}}, .ulp_fwd = 4, .ulp_bwd = 0.5,
};
ad_var ad_nll(ad_tape *t, ad_var log_probs, ad_var classes)
{
    return ad_apply(t, &ad_op_nll, (ad_var[]){log_probs, classes}, 2, NULL, 0);
}
