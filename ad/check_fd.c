/* check_fd.c - central finite differences in double with an error estimate.
 *
 * Step rule: h = cbrt(eps) * max(1, |x|) (for a direction: max(1, max|x|)),
 * which balances the O(h^2) truncation of a central difference against the
 * O(eps/h) rounding of the two function values. Two steps, h and 2h, give
 * D1 and D2; Richardson's (4 D1 - D2) / 3 is the reported value and
 * |D1 - D2| (which bounds the truncation of D1 by a factor 3) plus the
 * rounding term 32 eps max|f| / h is its error estimate. When |x| < 1 and a
 * step leaves the function's domain, the step becomes cbrt(eps) |x|. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "check_int.h"

/* Moves the scratch inputs to x + s*h*u (or x_k + s*h) and evaluates; along
 * a coordinate only what that coordinate reaches is recomputed. */
static double at(ad__ctx *c, const double *u, size_t k, double s, double h, double *step)
{
    if (u) {
        for (size_t j = 0; j < c->n_coords; j++)
            c->xs[j] = c->x[j] + s * h * u[j];
        *step = s * h;
        return ad__ctx_eval(c, c->xs);
    }
    double xk = c->x[k] + s * h;
    *step = xk - c->x[k]; /* the step the inputs really took */
    return ad__ctx_eval_coord(c, k, xk);
}

void ad__fd_run(ad__ctx *c, const double *u, size_t k, ad__fd *o)
{
    memset(o, 0, sizeof *o);
    double scale = u ? c->xmax : fabs(c->x[k]);
    double h = cbrt(DBL_EPSILON) * (scale > 1.0 ? scale : 1.0);
    static const double s[4] = {-2, -1, 1, 2};
    double f[4], st[4], fmax;
    for (int attempt = 0;; attempt++) {
        bool finite = true;
        fmax = fabs(c->f0);
        for (int i = 0; i < 4; i++) {
            f[i] = at(c, u, k, s[i], h, &st[i]);
            finite &= isfinite(f[i]);
            if (fabs(f[i]) > fmax)
                fmax = fabs(f[i]);
            if (!o->kink && ad__ctx_piece_moved(c, &o->knode, &o->kelem))
                o->kink = true;
        }
        /* a step that left the function's domain (sqrt at 1e-7, h = 6e-6):
         * once more with a step relative to |x| alone, then give up */
        if (finite || !isfinite(c->f0) || attempt == 1 || !(scale > 0.0) || scale >= 1.0)
            break;
        h = cbrt(DBL_EPSILON) * scale;
        o->kink = false;
    }
    double d1 = (f[2] - f[1]) / (st[2] - st[1]);
    double d2 = (f[3] - f[0]) / (st[3] - st[0]);
    o->d = (4.0 * d1 - d2) / 3.0;
    o->err = fabs(d1 - d2) + 32.0 * DBL_EPSILON * fmax / fabs(st[2] - st[1]);
    if (u) {
        /* x + s*h*u is rounded per coordinate: the step taken differs from
         * s*h*u by about eps*|x_j|, which moves the difference by g_j times that */
        double e = 0.0;
        for (size_t j = 0; j < c->n_coords; j++)
            e += fabs(c->g[j]) * (fabs(c->x[j]) + h) * DBL_EPSILON / h;
        o->err += 2.0 * e;
    }
    o->dl = (c->f0 - f[1]) / -st[1];
    o->dr = (f[2] - c->f0) / st[2];
}
