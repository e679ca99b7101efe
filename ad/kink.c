/* kink.c - the hull verdict on a coordinate whose perturbation met a kink the
 * replay does not pin (pin.c): crossed within the FD step, one kink of an op
 * that cannot be pinned, or no MPFR. The engine must lie in the hull of the
 * loss's one-sided derivatives (the Clarke subdifferential along that
 * coordinate when one kink is met) and, exactly on a kink of a unary
 * elementwise op, equal the op's declared choice carried through the chain.
 * Where the replay's difference cancels or is undefined the coordinate is
 * skipped, as off a kink (check.c). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check_int.h"

/* The declared choice of node n at element e as a fraction theta of the way
 * from the op's left to its right derivative; false when it cannot be told
 * (not unary elementwise, no declared kink there, equal sides). */
static bool declared_theta(const ad__ctx *c, const ad__node *n, size_t e, double *theta,
                           double *at)
{
    const ad_op *op = n->op;
    if (op->arity != 1 || !(op->flags & AD_OP_ELEMENTWISE) || !op->kinks)
        return false;
    double xin = c->t->nodes[n->in[0]].val[e];
    for (unsigned q = 0; q < op->n_kinks; q++) {
        const ad_kink *kk = &op->kinks[q];
        if (kk->at != xin || kk->left == kk->right)
            continue;
        double choice = isnan(kk->choice) ? c->t->relu_at_zero : kk->choice;
        *theta = (choice - kk->left) / (kk->right - kk->left);
        *at = kk->at;
        return true;
    }
    return false;
}

static bool agree(double a, double b, double tol_ulps)
{
    return a == b || fabs(a - b) <= tol_ulps * ad__ulp_of(fmax(fabs(a), fabs(b)));
}

ad_coord_class ad__kink_judge(ad__ctx *c, ad__mp *m, const double *u, size_t k, const ad__fd *fd,
                              double tol_ulps, ad_check_coord *out)
{
    const ad__node *n = &c->t->nodes[fd->knode];
    out->has_kink = true;
    out->kink.op = n->op->name;
    out->kink.node = fd->knode;
    out->kink.element = fd->kelem;
    out->kink.exactly_on = c->piece0[fd->knode][fd->kelem] == AD_PIECE_KINK;
    double dl = fd->dl, dr = fd->dr, slack = fd->err;
    if (m) {
        /* The replay's step may cross a kink only crossed in double (inputs
         * of 1e-300 against a step of 2^-170), or meet curvature far larger
         * than the loss's slope (a weight of 0 times an input of 2^513):
         * the step shrinks by 2^-(prec/3) (at most 16 times; the precision
         * follows, diff() in replay.c) until both sides repeat their value
         * and, off the kink, agree with each other. */
        mpfr_t l, r;
        mpfr_inits2(m->prec, l, r, (mpfr_ptr)0);
        long third = (long)(m->prec / 3);
        double pl = NAN, pr = NAN;
        for (long shrink = 0; shrink <= 16 * third; shrink += third) {
            int rc = ad__mp_sided(m, u, k, fabs(out->engine), shrink, l, r);
            if (rc != 0 && shrink == 0 && rc != AD__MP_NOREF) {
                /* cancels or undefined (m->note says which): the double
                 * FD's sides may have crossed a kink the replay's step
                 * would not (abs at 2^-81 against h = 6e-6), so they
                 * cannot stand in; nothing is judged, as off a kink */
                mpfr_clears(l, r, (mpfr_ptr)0);
                out->kink.left = out->kink.right = NAN;
                snprintf(out->ref_str, sizeof out->ref_str, "%s",
                         rc == AD__MP_UNDEFINED ? "undefined" : "cancels");
                return AD_COORD_SKIPPED;
            }
            if (rc != 0)
                break;
            dl = mpfr_get_d(l, MPFR_RNDN);
            dr = mpfr_get_d(r, MPFR_RNDN);
            slack = 0.0;
            if (agree(dl, pl, tol_ulps) && agree(dr, pr, tol_ulps) &&
                (out->kink.exactly_on || agree(dl, dr, tol_ulps)))
                break;
            pl = dl;
            pr = dr;
        }
        mpfr_clears(l, r, (mpfr_ptr)0);
    }
    out->kink.left = dl;
    out->kink.right = dr;
    double lo = fmin(dl, dr), hi = fmax(dl, dr), e = out->engine;
    double tol = slack + tol_ulps * ad__ulp_of(fmax(fabs(lo), fabs(hi)));
    if (isnan(e) || isnan(lo) || isnan(hi))
        return isnan(e) && (isnan(lo) || isnan(hi)) ? AD_COORD_KINK_OK : AD_COORD_NAN_MISMATCH;
    bool in_hull = e >= lo - tol && e <= hi + tol;
    out->ref = e < lo ? lo : e > hi ? hi : e; /* the nearest point of the hull */
    double theta, at;
    if (in_hull && out->kink.exactly_on && declared_theta(c, n, fd->kelem, &theta, &at)) {
        /* which side of the op's kink does a step up in this coordinate reach? */
        memcpy(c->xs, c->x, c->n_coords * sizeof(double));
        if (u) {
            double h = cbrt(DBL_EPSILON) * fmax(1.0, c->xmax);
            for (size_t j = 0; j < c->n_coords; j++)
                c->xs[j] += h * u[j];
        } else {
            c->xs[k] += cbrt(DBL_EPSILON) * fmax(1.0, fabs(c->x[k]));
        }
        ad__ctx_eval(c, c->xs);
        bool up_is_right = c->val[n->in[0]][fd->kelem] > at;
        ad__ctx_eval(c, c->x);
        double want = up_is_right ? dl + theta * (dr - dl) : dr + theta * (dl - dr);
        out->ref = want;
        if (!(fabs(e - want) <= tol))
            return AD_COORD_KINK_BAD;
    }
    return in_hull ? AD_COORD_KINK_OK : AD_COORD_KINK_BAD;
}
