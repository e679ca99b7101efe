/* verify_point.c - ad_op_verify at one point: forward against MPFR in ulps,
 * backward (a VJP with a random positive cotangent) and tangent against MPFR
 * derivatives, kink choices inside the one-sided hull; FD when no reference. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "check_int.h"

static void where(const ad__sweep *sw, double at[AD_MAX_ARITY])
{
    for (unsigned k = 0; k < AD_MAX_ARITY; k++)
        at[k] = k < sw->op->arity && sw->nx[k] ? sw->x[k][0] : NAN;
}

static void vsay(char *buf, size_t len, const ad__sweep *sw, const char *what, const char *fmt,
                 va_list ap)
{
    int n = snprintf(buf, len, "op %s: %s at x = [", sw->op->name, what);
    for (unsigned k = 0; n > 0 && (size_t)n < len && k < sw->op->arity; k++)
        n += snprintf(buf + n, len - (size_t)n, "%s%a%s", k ? ", " : "", sw->x[k][0],
                      sw->nx[k] > 1 ? " ..." : "");
    if (n > 0 && (size_t)n < len) {
        n += snprintf(buf + n, len - (size_t)n, "]: ");
        if ((size_t)n < len)
            vsnprintf(buf + n, len - (size_t)n, fmt, ap);
    }
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void fail(ad__sweep *sw, bool inside, const char *what, const char *fmt, ...)
{
    ad_op_report *r = sw->r;
    size_t *count = inside ? &r->failures : &r->outside_mismatches;
    char *buf = inside ? r->first_failure : r->first_outside;
    if ((*count)++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsay(buf, sizeof r->first_failure, sw, what, fmt, ap);
        va_end(ap);
    }
}

static void worst(const ad__sweep *sw, ad_verify_worst *w, double ulps)
{
    if (ulps > w->ulps || (isnan(ulps) && !isnan(w->ulps))) {
        w->ulps = ulps;
        where(sw, w->x);
    }
}

static void args(const ad__sweep *sw, ad_op_args *a, double kink_grad)
{
    memset(a, 0, sizeof *a);
    a->n_in = sw->op->arity;
    for (unsigned k = 0; k < a->n_in; k++) {
        a->x[k] = sw->x[k];
        a->xs[k] = sw->xs[k];
    }
    a->y = sw->y;
    a->ys = sw->ys;
    a->attr = sw->attr;
    a->kink_grad = kink_grad;
}

int ad__sweep_ref(ad__sweep *sw, mpfr_ptr out)
{
    ad_ref_args ra = {.n_in = sw->op->arity, .ys = sw->ys, .attr = sw->attr};
    for (unsigned k = 0; k < ra.n_in; k++) {
        ra.x[k] = sw->mx[k];
        ra.xs[k] = sw->xs[k];
    }
    int rs = sw->op->reference(&ra, out, MPFR_RNDN);
    if (rs == AD_ENOMEM) /* the sweep ends in AD_ENOMEM rather than skip the point */
        sw->oom = true;
    return rs;
}

static bool is_int(const ad__sweep *sw, unsigned k)
{
    return (sw->op->int_inputs >> k) & 1u;
}

/* |got - ref| in ulps of scale (the sum of the magnitudes of the terms, so a
 * reduction's cancellation is not blamed on the op); NaN-consistent. */
double ad__ulps_scaled(double got, mpfr_srcptr ref, mpfr_srcptr scale, mpfr_ptr t)
{
    double rd = mpfr_get_d(ref, MPFR_RNDN);
    if (isnan(got) || isnan(rd) || isinf(got) || isinf(rd))
        return ad__ulps(got, ref);
    mpfr_set_d(t, got, MPFR_RNDN);
    mpfr_sub(t, t, ref, MPFR_RNDN);
    mpfr_abs(t, t, MPFR_RNDN);
    mpfr_div_d(t, t, ad__ulp_of(mpfr_get_d(scale, MPFR_RNDN)), MPFR_RNDN);
    return mpfr_get_d(t, MPFR_RNDU);
}

/* sum_j w_j * f_j into out. */
static void weigh(ad__sweep *sw, mpfr_srcptr f, mpfr_ptr out)
{
    mpfr_set_zero(out, 1);
    for (size_t j = 0; j < sw->ny; j++) {
        mpfr_mul_d(sw->t1, f + j, sw->w[j], MPFR_RNDN);
        mpfr_add(out, out, sw->t1, MPFR_RNDN);
    }
}

static bool at_kink(const ad__sweep *sw)
{
    if (!sw->op->piece)
        return false;
    ad_op_args a;
    args(sw, &a, 0.0);
    for (size_t j = 0; j < sw->ny; j++)
        if (sw->op->piece(&a, j) == AD_PIECE_KINK)
            return true;
    return false;
}

/* The declared choice at a kink of a unary elementwise op at element e. */
static bool declared(const ad__sweep *sw, size_t e, double kg, double *choice)
{
    const ad_op *op = sw->op;
    ad_kink kk[16]; /* at the sweep's attributes: clamp's bounds, leaky_relu's slope */
    if (op->arity != 1 || !(op->flags & AD_OP_ELEMENTWISE) || !op->kinks)
        return false;
    unsigned n = ad_op_kinks(op, sw->attr, kk, 16);
    for (unsigned q = 0; q < n && q < 16; q++)
        if (kk[q].at == sw->x[0][e]) {
            *choice = isnan(kk[q].choice) ? kg : kk[q].choice;
            return true;
        }
    return false;
}

static void check_forward(ad__sweep *sw, bool inside)
{
    ad_op_args a;
    args(sw, &a, 0.0);
    a.y = NULL;
    sw->op->forward(&a, sw->y);
    if (!sw->op->reference)
        return;
    for (unsigned k = 0; k < sw->op->arity; k++)
        for (size_t e = 0; e < sw->nx[k]; e++)
            mpfr_set_d(sw->mx[k] + e, sw->x[k][e], MPFR_RNDN);
    if (ad__sweep_ref(sw, sw->my))
        return; /* the reference cannot evaluate here: nothing to compare */
    for (size_t j = 0; j < sw->ny; j++) {
        double u = ad__ulps(sw->y[j], sw->my + j);
        if (inside)
            worst(sw, &sw->r->fwd, u);
        if (!(u <= sw->op->ulp_fwd)) {
            char s[48];
            ad__mp_str(sw->my + j, s, sizeof s);
            fail(sw, inside, "forward", "element %zu: expected %s (MPFR), got %.17g: %.3g ulps > bound %g",
                 j, s, sw->y[j], u, sw->op->ulp_fwd);
            return;
        }
    }
}

/* Input k element e moved by s * h in the MPFR inputs; f into out. */
static int moved(ad__sweep *sw, unsigned k, size_t e, int s, mpfr_ptr out)
{
    mpfr_set_d(sw->mx[k] + e, sw->x[k][e], MPFR_RNDN);
    if (s > 0)
        mpfr_add(sw->mx[k] + e, sw->mx[k] + e, sw->h, MPFR_RNDN);
    else if (s < 0)
        mpfr_sub(sw->mx[k] + e, sw->mx[k] + e, sw->h, MPFR_RNDN);
    int bad = ad__sweep_ref(sw, out);
    mpfr_set_d(sw->mx[k] + e, sw->x[k][e], MPFR_RNDN);
    return bad;
}

void ad__ref_quotient(ad__sweep *sw, int side, mpfr_ptr out, mpfr_ptr scale)
{
    mpfr_t a, b; /* at the working precision: out may be narrower */
    mpfr_inits2(mpfr_get_prec(sw->acc), a, b, (mpfr_ptr)0);
    weigh(sw, side < 0 ? sw->my : sw->mf, a);
    weigh(sw, side > 0 ? sw->my : sw->mf + sw->ny, b);
    long he = (long)mpfr_get_exp(sw->h) - 1; /* h = 2^he (ad__ref_diff) */
    mpfr_sub(a, a, b, MPFR_RNDN);
    mpfr_mul_2si(out, a, -he - (side == 0), MPFR_RNDN);
    if (scale) { /* sum_j |w_j (f+_j - f-_j)| / 2h */
        mpfr_set_zero(a, 1);
        for (size_t j = 0; j < sw->ny; j++) {
            mpfr_sub(b, sw->mf + j, sw->mf + sw->ny + j, MPFR_RNDN);
            mpfr_mul_d(b, b, sw->w[j], MPFR_RNDN);
            mpfr_abs(b, b, MPFR_RNDN);
            mpfr_add(a, a, b, MPFR_RNDN);
        }
        mpfr_mul_2si(scale, a, -he - 1, MPFR_RNDN);
    }
    mpfr_clears(a, b, (mpfr_ptr)0);
}

/* Element (k, e) at a kink: one-sided sums, the hull, the declared choice. */
static void kink_element(ad__sweep *sw, unsigned k, size_t e, double kg)
{
    double bound = sw->op->ulp_bwd, g = sw->gx[k][e];
    mpfr_t L, R;
    mpfr_inits2(mpfr_get_prec(sw->acc), L, R, (mpfr_ptr)0);
    ad__ref_quotient(sw, -1, L, NULL);
    ad__ref_quotient(sw, 1, R, NULL);
    double l = mpfr_get_d(L, MPFR_RNDN), rr = mpfr_get_d(R, MPFR_RNDN);
    double lo = fmin(l, rr), hi = fmax(l, rr), tol = bound * ad__ulp_of(fmax(fabs(lo), fabs(hi)));
    sw->r->kinks_checked++;
    if (!(g >= lo - tol && g <= hi + tol))
        fail(sw, true, "kink", "input %u element %zu (kink_grad %g): gradient %.17g outside the one-sided hull [%.17g, %.17g]",
             k, e, kg, g, lo, hi);
    double choice;
    if (fabs(rr - l) > tol && declared(sw, e, kg, &choice) &&
        !(fabs(g - sw->w[e] * choice) <= tol))
        fail(sw, true, "kink", "element %zu: gradient %.17g is not the declared choice %g (times cotangent %.17g)",
             e, g, choice, sw->w[e]);
    mpfr_clears(L, R, (mpfr_ptr)0);
}


/* sum_j |w_j (a_j - b_j)| into out (t: scratch). */
static void weighed_gap(ad__sweep *sw, mpfr_srcptr a, mpfr_srcptr b, mpfr_ptr out, mpfr_ptr t)
{
    mpfr_set_zero(out, 1);
    for (size_t j = 0; j < sw->ny; j++) {
        mpfr_sub(t, a + j, b + j, MPFR_RNDN);
        mpfr_abs(t, t, MPFR_RNDN);
        mpfr_mul_d(t, t, fabs(sw->w[j]), MPFR_RNDN);
        mpfr_add(out, out, t, MPFR_RNDN);
    }
}

/* The difference f(x + h) - f(x - h) is not resolved: the rounding of the
 * f values at the working precision, sum_j |w_j| (|f+_j| + |f-_j|) 2^-prec,
 * is not negligible (2^-64) next to the cotangent-weighted difference or the
 * engine's own 2 h |g|. So it is for cos at 2^-1022 (slope 2^-1022 next to
 * the value 1) or sigmoid at 700 (1 - e^-700). Where both are 0 (a constant
 * piece) it asks for one escalation only: tries says how many were made.
 * At a kink (f0 = f(x), else NULL) each one-sided difference must be resolved
 * on its own: prelu with a slope of 2^-1072 beside terms of 2^1026 has a
 * central difference of the right side's size, while the left one is lost. */
static bool unresolved(ad__sweep *sw, mpfr_srcptr fp, mpfr_srcptr fm, mpfr_srcptr f0, double g,
                       int tries, mpfr_prec_t *want)
{
    *want = 0;
    mpfr_ptr diff = sw->acc, err = sw->sc, t = sw->t1;
    mpfr_set_zero(err, 1);
    for (size_t j = 0; j < sw->ny; j++) {
        if (!mpfr_number_p(fp + j) || !mpfr_number_p(fm + j) || (f0 && !mpfr_number_p(f0 + j)))
            return false; /* non-finite values: the NaN checks judge those */
        double w = fabs(sw->w[j]);
        mpfr_abs(t, fp + j, MPFR_RNDN);
        mpfr_mul_d(t, t, w, MPFR_RNDN);
        mpfr_add(err, err, t, MPFR_RNDN);
        mpfr_abs(t, fm + j, MPFR_RNDN);
        mpfr_mul_d(t, t, w, MPFR_RNDN);
        mpfr_add(err, err, t, MPFR_RNDN);
    }
    if (f0) { /* the smaller nonzero side (a zero one is a constant piece: relu's left) */
        mpfr_t other;
        mpfr_init2(other, mpfr_get_prec(diff));
        weighed_gap(sw, fp, f0, diff, t);
        weighed_gap(sw, f0, fm, other, t);
        if (mpfr_zero_p(diff) || (!mpfr_zero_p(other) && mpfr_cmp(other, diff) < 0))
            mpfr_set(diff, other, MPFR_RNDN);
        mpfr_clear(other);
    } else {
        weighed_gap(sw, fp, fm, diff, t);
    }
    mpfr_mul_d(t, sw->h, fabs(g), MPFR_RNDN); /* 2 |g| in double overflows at g = -DBL_MAX */
    mpfr_mul_2ui(t, t, 1, MPFR_RNDN);
    if (isfinite(g) && mpfr_cmp(t, diff) > 0) /* an engine inf would resolve anything */
        mpfr_set(diff, t, MPFR_RNDN);
    if (mpfr_zero_p(err))
        return false;
    if (mpfr_zero_p(diff))
        return tries == 0;
    mpfr_mul_2si(err, err, -(long)sw->cur_prec + 64, MPFR_RNDN);
    if (mpfr_cmp(err, diff) <= 0)
        return false;
    /* the precision at which err would fall below diff */
    *want = sw->cur_prec + (mpfr_prec_t)(mpfr_get_exp(err) - mpfr_get_exp(diff)) + 1;
    return true;
}

/* Steps at most 2^-AD__STEP_CAP: a step relative to a huge x would span
 * periods of sin or cos (at DBL_MAX, 2^939), and the quotient would say
 * nothing about the derivative; below the cap the truncation error, h^2/6
 * of the derivative for O(1)-scale functions, stays under 2^-72. */
#define AD__STEP_CAP 35

/* The step's exponent at x = 0: below every double, so the truncation
 * error h^2 f'''/6 (x^3's whole quotient there) vanishes against the smallest
 * subnormal, and below the smallest nonzero input or attribute by 2^-third
 * (max(-2^-1072, 0) must not step over the other input, a kink; celu with
 * alpha 2^-1072 bends on that scale). */
static long zero_step(const ad__sweep *sw, long third)
{
    long he = -1100;
    for (unsigned k = 0; k < sw->op->arity; k++)
        for (size_t e = 0; e < sw->nx[k]; e++)
            if (sw->x[k][e] != 0.0 && isfinite(sw->x[k][e]) && ilogb(sw->x[k][e]) - third < he)
                he = ilogb(sw->x[k][e]) - third;
    for (unsigned q = 0; q < sw->op->n_attr && q < AD_MAX_ATTR; q++) /* celu's alpha sets its scale */
        if (sw->attr[q] != 0.0 && isfinite(sw->attr[q]) && ilogb(sw->attr[q]) - third < he)
            he = ilogb(sw->attr[q]) - third;
    return he;
}

int ad__ref_diff(ad__sweep *sw, unsigned k, size_t e, double g, bool kink, bool *resolved)
{
    double xv = sw->x[k][e];
    /* relative to x (a step never leaves log's or sqrt's domain);
     * fit_prec made room for x +- h next to O(1) terms */
    long third = (long)(sw->o.prec / 3);
    long over = xv != 0.0 && isfinite(xv) ? (long)ilogb(xv) - third + AD__STEP_CAP : 0;
    mpfr_prec_t start = sw->cur_prec;
    if (over > 0) /* x +- 2^-AD__STEP_CAP exact, as many good bits as a relative step */
        ad__sweep_set_prec(sw, start + (mpfr_prec_t)over, true);
    mpfr_prec_t base = sw->cur_prec;
    /* a power of two: x +- h exact, the quotients' divisions exponent shifts */
    long he = over > 0 ? -AD__STEP_CAP : xv != 0.0 ? (long)ilogb(xv) - third : zero_step(sw, third);
    /* the precision grows while the difference cancels (a saturated tail such
     * as 1 - e^-700 needs about 1100 bits): straight to what the cancellation
     * asks for, at least doubling, at most 16 times the base, 4 times at most */
    mpfr_prec_t fx_prec = start; /* sw->my holds f(x) at this precision */
    for (int tries = 0;; tries++) {
        mpfr_set_ui_2exp(sw->h, 1, he, MPFR_RNDN);
        if (moved(sw, k, e, 1, sw->mf) || moved(sw, k, e, -1, sw->mf + sw->ny))
            return 1;
        /* a kink's one-sided quotients need f(x) at this precision (set_prec cleared it) */
        if (kink && fx_prec != sw->cur_prec) {
            if (ad__sweep_ref(sw, sw->my))
                return 1;
            fx_prec = sw->cur_prec;
        }
        mpfr_prec_t want;
        bool open = unresolved(sw, sw->mf, sw->mf + sw->ny, kink ? sw->my : NULL, g, tries, &want);
        if (!open || tries == 4 || sw->cur_prec >= base << 4) {
            if (resolved)
                *resolved = !open;
            break;
        }
        mpfr_prec_t next = base << (tries + 1);
        if (want + 32 > next)
            next = want + 32;
        ad__sweep_set_prec(sw, next < base << 4 ? next : base << 4, true);
    }
    return 0;
}

int ad__sweep_back_to(ad__sweep *sw, mpfr_prec_t base, bool keep_tangent, bool with_fx)
{
    if (sw->cur_prec == base)
        return 0;
    ad__sweep_set_prec(sw, base, keep_tangent);
    return with_fx ? ad__sweep_ref(sw, sw->my) : 0;
}

/* Backward and tangent against MPFR central differences, element by element. */
static void check_derivs_mpfr(ad__sweep *sw, double kg, bool kink)
{
    const ad_op *op = sw->op;
    ad_op_args a;
    args(sw, &a, kg);
    double *gx[AD_MAX_ARITY] = {NULL};
    const double *dx[AD_MAX_ARITY] = {NULL};
    for (unsigned k = 0; k < op->arity; k++)
        if (!is_int(sw, k)) {
            memset(sw->gx[k], 0, sw->nx[k] * sizeof(double));
            gx[k] = sw->gx[k];
            dx[k] = sw->dx[k];
        }
    op->backward(&a, sw->w, gx);
    bool tangent = op->jvp && !kink;
    if (tangent) {
        op->jvp(&a, dx, sw->dy);
        for (size_t j = 0; j < sw->ny; j++) {
            mpfr_set_zero(sw->jtot + j, 1);
            mpfr_set_zero(sw->jscale + j, 1);
        }
    }
    mpfr_ptr fp = sw->mf, fm = sw->mf + sw->ny;
    for (unsigned k = 0; k < op->arity; k++) {
        if (is_int(sw, k))
            continue;
        for (size_t e = 0; e < sw->nx[k]; e++) {
            mpfr_prec_t base = sw->cur_prec;
            if (ad__ref_diff(sw, k, e, sw->gx[k][e], kink, NULL))
                return;
            if (kink) {
                kink_element(sw, k, e, kg);
                if (ad__sweep_back_to(sw, base, true, true))
                    return;
                continue;
            }
            mpfr_set_zero(sw->acc, 1);
            mpfr_set_zero(sw->sc, 1);
            for (size_t j = 0; j < sw->ny; j++) {
                mpfr_sub(sw->t1, fp + j, fm + j, MPFR_RNDN);
                /* d f_j / d x_ke; h is a power of two (ad__ref_diff) */
                mpfr_mul_2si(sw->t1, sw->t1, -(long)mpfr_get_exp(sw->h), MPFR_RNDN);
                if (tangent) {
                    mpfr_t p;
                    mpfr_init2(p, mpfr_get_prec(sw->t1));
                    mpfr_mul_d(p, sw->t1, sw->dx[k][e], MPFR_RNDN);
                    mpfr_add(sw->jtot + j, sw->jtot + j, p, MPFR_RNDN);
                    mpfr_abs(p, p, MPFR_RNDN);
                    mpfr_add(sw->jscale + j, sw->jscale + j, p, MPFR_RNDN);
                    mpfr_clear(p);
                }
                mpfr_mul_d(sw->t1, sw->t1, sw->w[j], MPFR_RNDN);
                mpfr_add(sw->acc, sw->acc, sw->t1, MPFR_RNDN);
                mpfr_abs(sw->t1, sw->t1, MPFR_RNDN);
                mpfr_add(sw->sc, sw->sc, sw->t1, MPFR_RNDN);
            }
            double u = ad__ulps_scaled(sw->gx[k][e], sw->acc, sw->sc, sw->t1);
            worst(sw, &sw->r->bwd, u);
            if (!(u <= op->ulp_bwd)) {
                char s[48];
                ad__mp_str(sw->acc, s, sizeof s);
                fail(sw, true, "backward", "input %u element %zu: expected %s (MPFR), got %.17g: %.3g ulps > bound %g",
                     k, e, s, sw->gx[k][e], u, op->ulp_bwd);
            }
            ad__sweep_set_prec(sw, base, true);
        }
    }
    /* the tangent rounds like the forward (a reduction) and like the backward
     * (derivative products), plus one addition per further input */
    double tbound = fmax(op->ulp_fwd, op->ulp_bwd) + (double)(op->arity - 1);
    for (size_t j = 0; tangent && j < sw->ny; j++) {
        double u = ad__ulps_scaled(sw->dy[j], sw->jtot + j, sw->jscale + j, sw->t1);
        worst(sw, &sw->r->jvp, u);
        if (!(u <= tbound)) {
            char s[48];
            ad__mp_str(sw->jtot + j, s, sizeof s);
            fail(sw, true, "tangent", "output element %zu: expected %s (MPFR), got %.17g: %.3g ulps > bound %g",
                 j, s, sw->dy[j], u, tbound);
        }
    }
}

/* Without a reference: Richardson central differences in double. */
static double phi(ad__sweep *sw, double *out)
{
    ad_op_args a;
    args(sw, &a, 0.0);
    a.y = NULL;
    sw->op->forward(&a, out);
    long double s = 0.0L;
    for (size_t j = 0; j < sw->ny; j++)
        s += (long double)sw->w[j] * out[j];
    return (double)s;
}

static void check_derivs_fd(ad__sweep *sw)
{
    const ad_op *op = sw->op;
    ad_op_args a;
    args(sw, &a, 0.0);
    double *gx[AD_MAX_ARITY] = {NULL};
    for (unsigned k = 0; k < op->arity; k++)
        if (!is_int(sw, k)) {
            memset(sw->gx[k], 0, sw->nx[k] * sizeof(double));
            gx[k] = sw->gx[k];
        }
    op->backward(&a, sw->w, gx);
    static const double s[4] = {-2, -1, 1, 2};
    for (unsigned k = 0; k < op->arity; k++) {
        for (size_t e = 0; !is_int(sw, k) && e < sw->nx[k]; e++) {
            double xv = sw->x[k][e], h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(xv)), f[4], st[4], fmax_ = 0;
            for (int i = 0; i < 4; i++) {
                sw->x[k][e] = xv + s[i] * h;
                st[i] = sw->x[k][e] - xv;
                f[i] = phi(sw, sw->tmp);
                fmax_ = fmax(fmax_, fabs(f[i]));
            }
            sw->x[k][e] = xv;
            phi(sw, sw->y);
            double d1 = (f[2] - f[1]) / (st[2] - st[1]), d2 = (f[3] - f[0]) / (st[3] - st[0]);
            double d = (4 * d1 - d2) / 3, err = fabs(d1 - d2) + 32 * DBL_EPSILON * fmax_ / (st[2] - st[1]);
            double g = sw->gx[k][e];
            if (!(fabs(g - d) <= 2 * err + op->ulp_bwd * ad__ulp_of(d)))
                fail(sw, true, "backward", "input %u element %zu: finite differences give %.17g +- %.3g, got %.17g",
                     k, e, d, err, g);
        }
    }
}

/* Sets the working precision of the MPFR values and reloads the inputs,
 * which mpfr_set_prec clears. keep_tangent leaves the tangent accumulators
 * (the pool's last 2 ny values) as they are, mid-way through a point. */
void ad__sweep_set_prec(ad__sweep *sw, mpfr_prec_t p, bool keep_tangent)
{
    if (p == sw->cur_prec)
        return;
    size_t n = keep_tangent ? sw->n_mpool - 2 * sw->ny : sw->n_mpool;
    for (size_t i = 0; i < n; i++)
        mpfr_set_prec(&sw->mpool[i], p);
    mpfr_set_prec(sw->acc, p + 64);
    mpfr_set_prec(sw->sc, p + 64);
    mpfr_set_prec(sw->t1, p + 64);
    mpfr_set_prec(sw->h, p);
    sw->cur_prec = p;
    for (unsigned k = 0; k < sw->op->arity; k++)
        for (size_t e = 0; e < sw->nx[k]; e++)
            mpfr_set_d(sw->mx[k] + e, sw->x[k][e], MPFR_RNDN);
}

/* Working precision: prec plus how far the smallest nonzero input lies below
 * 1, so that 1 + x +- h stays exact and a tiny input's step stays visible. */
void ad__sweep_fit_prec(ad__sweep *sw)
{
    long below = 0;
    for (unsigned k = 0; k < sw->op->arity; k++)
        for (size_t e = 0; e < sw->nx[k]; e++) {
            double v = fabs(sw->x[k][e]);
            if (v > 0.0 && v < 1.0 && -(long)ilogb(v) > below)
                below = -(long)ilogb(v);
        }
    ad__sweep_set_prec(sw, (mpfr_prec_t)(sw->o.prec + (unsigned long)below), false);
}

void ad__sweep_point(ad__sweep *sw, bool inside)
{
    sw->r->samples++;
    ad__sweep_fit_prec(sw);
    check_forward(sw, inside);
    if (!inside || !sw->op->backward)
        return;
    for (size_t j = 0; j < sw->ny; j++)
        sw->w[j] = ad__rng_range(&sw->rng, 0.5, 2.0);
    for (unsigned k = 0; k < sw->op->arity; k++)
        for (size_t e = 0; e < sw->nx[k]; e++)
            sw->dx[k][e] = ad__rng_range(&sw->rng, 0.5, 2.0);
    if (!sw->op->reference) {
        if (!at_kink(sw))
            check_derivs_fd(sw);
        return;
    }
    bool kink = at_kink(sw);
    if (kink && (sw->op->flags & AD_OP_KINK_GRAD)) {
        static const double settings[3] = {0.0, 0.5, 1.0};
        for (int i = 0; i < 3; i++)
            check_derivs_mpfr(sw, settings[i], true);
    } else {
        check_derivs_mpfr(sw, 0.0, kink);
    }
}
