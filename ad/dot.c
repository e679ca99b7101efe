/* dot.c - the dot-product test: reverse mode <u, J^T v> against forward mode
 * <J u, v> for random u (v = 1 for a scalar loss), with no finite differences.
 * Tolerance: tol relative to sum |g_j u_j| plus 8 times the rounding error
 * estimate along u (cond.c: 4 for one mode, times 2 modes), plus a floor of
 * 8 DBL_TRUE_MIN per term: a subnormal value is rounded to an absolute 2^-1075
 * whatever its size (9.19e-322 both ways at one mul, apart in the last bit).
 * Where one side is finite and the other not, the identity is checked op by op
 * instead, at the ops whose inputs and products stay finite. */
#define SUBNORMAL_FLOOR (8.0L * DBL_TRUE_MIN)
#include <float.h>
#include <math.h>
#include <stdio.h>
#include "check_int.h"

/* Whether two dot products agree within tol * mag: equal infinities and two
 * NaNs agree too (an op at a pole: sqrt at 0 gives -inf both ways). */
static bool dots_agree(long double fwd, long double rev, long double tol_mag)
{
    /* classified as doubles: valgrind's long double is a double underneath,
     * and its infinities failed isinf() as long doubles */
    double f = (double)fwd, r = (double)rev;
    if (!isfinite(f) || !isfinite(r))
        return (isnan(f) && isnan(r)) || f == r;
    return fabsl(fwd - rev) <= tol_mag;
}

/* Adds one product of the identity to its sum and magnitude; an infinite
 * product sets *overflowed. */
static void add_term(long double *sum, long double *mag, bool *overflowed, long double term)
{
    *sum += term;
    *mag += fabsl(term);
    *overflowed |= isinf((double)term);
}

static bool inputs_finite(const ad_tape *t, const ad__node *n)
{
    for (unsigned k = 0; k < n->n_in; k++) {
        const ad__node *in = &t->nodes[n->in[k]];
        for (size_t j = 0; j < in->count; j++)
            if (!isfinite(in->val[j]))
                return false;
    }
    return true;
}

/* After a failed test: the same identity op by op, at each node's recorded
 * inputs, <w, J u> by its jvp against <J^T w, u> by its backward, names the
 * first op whose two modes disagree (*found).
 * @return AD_OK, or AD_ENOMEM / AD_EOVERFLOW for its buffers. */
static ad_status localize(const ad__ctx *c, ad_rng *rng, double tol, char *why, size_t len,
                          bool *found)
{
    *found = false;
    const ad_tape *t = c->t;
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &t->nodes[i];
        if (n->kind != AD__NODE_OP || !n->op->jvp || !n->op->backward || !inputs_finite(t, n))
            continue; /* derivatives at an infinite input are not defined: pow(1.75, inf) */
        size_t total = n->count, bytes;
        for (unsigned k = 0; k < n->n_in; k++)
            total += 2 * t->nodes[n->in[k]].count;
        if (!ad__mul_size(total + n->count, sizeof(double), &bytes))
            return AD_EOVERFLOW;
        double *buf = ad__alloc(&t->alloc, bytes);
        if (!buf)
            return AD_ENOMEM;
        double *w = buf, *dy = buf + n->count, *p = dy + n->count;
        const double *dx[AD_MAX_ARITY] = {NULL};
        double *gx[AD_MAX_ARITY] = {NULL};
        for (size_t j = 0; j < n->count; j++)
            w[j] = ad__rng_range(rng, -1.0, 1.0);
        for (unsigned k = 0; k < n->n_in; k++) {
            size_t m = t->nodes[n->in[k]].count;
            double *u = p;
            for (size_t j = 0; j < m; j++) {
                u[j] = ad__rng_range(rng, -1.0, 1.0);
                p[m + j] = 0.0;
            }
            dx[k] = u;
            gx[k] = p + m;
            p += 2 * m;
        }
        ad_op_args a;
        ad__node_args(t, n, &a);
        n->op->jvp(&a, dx, dy);
        n->op->backward(&a, w, gx);
        long double fwd = 0.0L, rev = 0.0L, mag = 0.0L;
        bool overflowed = false;
        for (size_t j = 0; j < n->count; j++)
            add_term(&fwd, &mag, &overflowed, (long double)w[j] * dy[j]);
        for (unsigned k = 0; k < n->n_in; k++)
            for (size_t j = 0, m = t->nodes[n->in[k]].count; j < m; j++)
                add_term(&rev, &mag, &overflowed, (long double)gx[k][j] * dx[k][j]);
        ad__free(&t->alloc, buf, bytes);
        /* A partial beyond DBL_MAX (pow(1e308, 2): d/dx = 2e308 is inf at w
         * > 0.9 but finite times dx < 0.9) makes one mode inf - inf = NaN where
         * the other rounds to inf: the identity cannot be read in double there,
         * and the op's own MPFR check covers its partials. A NaN term alone
         * (a jvp that is NaN where the backward is finite) is still judged. */
        if (overflowed)
            continue;
        if (!dots_agree(fwd, rev, (long double)tol * mag + SUBNORMAL_FLOOR * (long double)total)) {
            snprintf(why, len,
                     "dot-product test: op '%s' (node %zu): forward <w, J u> = %.17g, reverse <J^T w, u> = %.17g",
                     n->op->name, i, (double)fwd, (double)rev);
            *found = true;
            return AD_OK;
        }
    }
    return AD_OK;
}

ad_status ad__dot_test(const ad__ctx *c, ad__cond *cd, ad_rng *rng, unsigned n,
                       ad_check_witness *w, char *why, size_t len)
{
    w->ran = true;
    w->pass = true;
    w->max_error = 0.0;
    double *u = c->xs; /* scratch: the double evaluations are not running now */
    /* a few ulps per node times the condition of the sums: the tolerance is
     * normwise, relative to sum |g_j u_j| */
    size_t ops = 0;
    for (size_t i = 0; i <= c->last; i++)
        ops += c->t->nodes[i].kind == AD__NODE_OP;
    double tol = 8.0 * DBL_EPSILON * (double)(ops + 4) * (1.0 + log2((double)c->n_coords + 1.0));
    for (unsigned d = 0; d < n; d++) {
        for (size_t j = 0; j < c->n_coords; j++)
            u[j] = ad__rng_range(rng, -1.0, 1.0);
        long double rev = 0.0L, mag = 0.0L;
        for (size_t j = 0; j < c->n_coords; j++) {
            rev += (long double)c->g[j] * u[j];
            mag += fabsl((long double)c->g[j] * u[j]);
        }
        double fwd;
        ad_status st = ad__jvp_flat(c, u, &fwd, why, len);
        if (st != AD_OK) {
            w->ran = false;
            return st;
        }
        double diff = fabs((double)(rev - (long double)fwd));
        double floor_abs = (double)(SUBNORMAL_FLOOR * (long double)(c->n_coords + ops));
        if (diff <= floor_abs) /* (a NaN stays) */
            diff = 0.0;
        /* both modes round the same local products: twice the estimated
         * error of one (cond.c) joins the normwise tolerance, so terms that
         * cancel to a zero gradient (sum(softmax x)) are measured by their size */
        double scale = (double)mag;
        if (cd && !(diff <= tol * scale)) /* the estimate costs a sweep: only when needed */
            scale += 2.0 * AD__TOL_EST * ad__cond_err(cd, u, 0) / tol;
        double rel = scale > 0 ? diff / scale : (diff > 0 ? INFINITY : 0.0);
        if (isnan(fwd) || isnan((double)rev))
            rel = isnan(fwd) && isnan((double)rev) ? 0.0 : INFINITY;
        else if (isinf(fwd) || isinf((double)rev)) /* overflowed: equal infinities agree */
            rel = fwd == (double)rev ? 0.0 : INFINITY;
        if (!(rel <= tol) && (!isfinite(fwd) || !isfinite((double)rev))) {
            /* A zero meets an inf or NaN along the chain: reverse mode makes it
             * a zero cotangent, which contributes 0 (ops/kernel.h), forward
             * mode a NaN tangent. The chain's products then differ by that
             * convention alone if every op's own identity holds. */
            bool found;
            st = localize(c, rng, tol, why, len, &found);
            if (st != AD_OK)
                return st;
            if (!found) {
                snprintf(why, len, "dot-product test: forward %.17g, reverse %.17g differ where a zero "
                         "meets an inf or NaN along the chain; every op's own identity holds",
                         fwd, (double)rev);
                continue;
            }
        }
        if (rel > w->max_error || isnan(rel))
            w->max_error = rel;
        if (!(rel <= tol))
            w->pass = false;
    }
    bool found;
    return w->pass ? AD_OK : localize(c, rng, tol, why, len, &found);
}
