/* dot.c - the dot-product test: reverse mode <u, J^T v> against forward mode
 * <J u, v> for random u (v = 1 for a scalar loss), with no finite differences. */
#include <float.h>
#include <math.h>
#include "check_int.h"

ad_status ad__dot_test(const ad__ctx *c, ad__rng *rng, unsigned n, ad_check_witness *w, char *why,
                       size_t len)
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
        double rel = mag > 0 ? diff / (double)mag : (diff > 0 ? INFINITY : 0.0);
        if (isnan(fwd) || isnan((double)rev))
            rel = isnan(fwd) && isnan((double)rev) ? 0.0 : INFINITY;
        if (rel > w->max_error || isnan(rel))
            w->max_error = rel;
        if (!(rel <= tol))
            w->pass = false;
    }
    return AD_OK;
}
