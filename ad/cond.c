/* cond.c - how far rounding alone can move the engine's gradient: a
 * first-order, condition-aware error estimate propagated along the tape.
 *
 * Forward: each node's value carries an absolute error bound
 *     E_i = ulp_fwd_i ulp(v_i) + sum_q |J_iq E_q|      (leaves and constants: 0),
 * each op's condition applied to its inputs' errors through its jvp (one
 * input at a time, so that a difference does not cancel two errors).
 * Backward: the engine's gradient along a tangent T (a coordinate or a
 * direction) is sum over nodes of adj_i J_i T_in. Each local product is off
 *   - by its own rounding, (ulp_bwd_i + 2) eps |adj_i| sum_q |J_iq| |T_q|
 *     (and in forward mode a subnormal tangent's, (ulp_bwd_i + 2) DBL_TRUE_MIN
 *     |adj_i|, for the dot test)
 *     (an op with jvp_terms gives this bound itself, from its terms' size:
 *     layer_norm's projection cancels them to a nearly vanishing column)
 *     (the +2: the adjoint's accumulation and the product; |J| |T|, not
 *     |J T|: log_softmax's J kills a uniform T, while its backward still
 *     rounds its O(|adj|) terms, 3.5e-15 against an estimate of 1e-28 on an
 *     equal row, fuzz_program), plus (ulp_bwd_i
 *     + 2) DBL_TRUE_MIN |T_q| for the absolute rounding of subnormal adjoints;
 *   - because J_i is evaluated at inputs that are off by E: |adj_i| |J_i(x
 *     +- E_r) T - J_i(x) T| for each input r, measured by the jvp at the
 *     displaced input (a displacement below one ulp is made one ulp and the
 *     change scaled back by E / ulp).
 * The sum is the estimate: zero gradients of cancelling terms (sum(softmax
 * x)) get the size of the terms that cancelled; ill-conditioned chains
 * (expm1(expm1(expm1 x))) get the amplification of their forward errors.
 * Elements exactly on a kink are not displaced: the replay pins them to the
 * engine's own slope (pin.c). Where a bound reaches across a kink the
 * estimate admits the other side's derivative, as rounding can. A
 * non-finite term, or an op without jvp, adds nothing (never a larger
 * tolerance than can be shown); an adjoint that overflowed counts as DBL_MAX,
 * the least it can be; a tangent that overflowed is taken again scaled down,
 * the terms being linear in it (ad__cond_err). */
#include <float.h>
#include <math.h>
#include <string.h>
#include "check_int.h"

ad_status ad__cond_init(const ad__ctx *c, ad__cond *cd)
{
    const ad_tape *t = c->t;
    memset(cd, 0, sizeof *cd);
    cd->c = c;
    size_t n_nodes = c->last + 1, total = 0, maxc = 1;
    for (size_t i = 0; i < n_nodes; i++) {
        total += t->nodes[i].count;
        if (t->nodes[i].count > maxc)
            maxc = t->nodes[i].count;
    }
    size_t nd, b1, b2;
    if (total > SIZE_MAX / 2 - 4 * maxc ||
        !ad__mul_size(2 * total + 4 * maxc, sizeof(double), &b1) ||
        !ad__mul_size(n_nodes, sizeof(size_t), &b2) || b1 > SIZE_MAX - b2)
        return ad__fail(c->t, AD_EOVERFLOW, "ad_check_grad: the error estimate's size overflows");
    nd = b1 + b2;
    char *block = ad__alloc(&t->alloc, nd);
    if (!block)
        return ad__fail(c->t, AD_ENOMEM, NULL);
    cd->bytes = nd;
    cd->E = (double *)block;
    cd->T = cd->E + total;
    cd->scr = cd->T + total;
    cd->at = (size_t *)(block + b1);
    cd->maxc = maxc;
    size_t at = 0;
    for (size_t i = 0; i < n_nodes; i++) {
        cd->at[i] = at;
        at += t->nodes[i].count;
    }
    memset(cd->E, 0, total * sizeof(double));
    /* the forward error bounds */
    double *dy = cd->scr;
    for (size_t i = 0; i < n_nodes; i++) {
        const ad__node *n = &t->nodes[i];
        if (n->kind != AD__NODE_OP)
            continue;
        double *E = cd->E + cd->at[i];
        for (size_t e = 0; e < n->count; e++) {
            E[e] = fmax(n->op->ulp_fwd, 0.5) * ad__ulp_of(n->val[e]);
            /* half the subnormal spacing is no double: it rounded to 0, and a
             * product rounded to 1.7e-321 (1.4e-3 of itself) counted as exact */
            if (E[e] == 0.0 && n->val[e] != 0.0)
                E[e] = DBL_TRUE_MIN;
        }
        if (!n->op->jvp)
            continue;
        ad_op_args a;
        ad__node_args(t, n, &a);
        for (unsigned q = 0; q < n->n_in; q++) {
            const double *dx[AD_MAX_ARITY] = {NULL};
            dx[q] = cd->E + cd->at[n->in[q]];
            n->op->jvp(&a, dx, dy);
            for (size_t e = 0; e < n->count; e++)
                E[e] += fabs(dy[e]);
        }
        for (size_t e = 0; e < n->count; e++)
            if (!isfinite(E[e]) || !isfinite(n->val[e]))
                E[e] = 0.0;
    }
    return AD_OK;
}

void ad__cond_free(ad__cond *cd)
{
    if (cd->E)
        ad__free(&cd->c->t->alloc, cd->E, cd->bytes);
    cd->E = NULL;
}

#define HALF_PERIOD 3.141592653589793 /* pi: an AD_OP_PERIODIC derivative's swing */

/* sum_e |adj_e| |J(x with input r displaced) T - d0|_e / 2 over the
 * displacements up and down by E_r (at least one ulp, the change scaled back
 * by E / displacement; elements exactly on a kink are left out). */
static double displaced(const ad__cond *cd, size_t i, ad_op_args *a, const double *const *dx,
                        unsigned r)
{
    const ad_tape *t = cd->c->t;
    const ad__node *n = &t->nodes[i], *in = &t->nodes[n->in[r]];
    const double *E = cd->E + cd->at[n->in[r]], *d0 = cd->T + cd->at[i];
    const int *piece = cd->c->piece0[i];
    double *xd = cd->scr, *dy = cd->scr + cd->maxc, *yd = cd->scr + 3 * cd->maxc, ratio = 0.0;
    bool same = in->count == n->count;
    for (size_t e = 0; e < in->count; e++) {
        double d = fmax(E[e], ad__ulp_of(in->val[e]));
        ratio = fmax(ratio, E[e] / d);
    }
    if (!(ratio > 0.0))
        return 0.0;
    double sum = 0.0;
    bool periodic = (n->op->flags & AD_OP_PERIODIC) && same && dx[r];
    /* sin of 1.6e308 rounded by 1e292: the derivative at the exact input is
     * anywhere in [-1, 1], and two displaced samples can both land near the
     * engine's (fuzz_expr: 6.1e307 allowed against 7.3e307 off) */
    for (size_t e = 0; periodic && e < n->count; e++)
        if (E[e] >= HALF_PERIOD && isfinite(E[e]) && isfinite(n->grad[e]) && isfinite(dx[r][e]))
            sum += fmin(2.0 * fabs(n->grad[e]) * fabs(dx[r][e]), DBL_MAX); /* shown: at least DBL_MAX */
    const double *save = a->x[r], *ysave = a->y;
    for (int s = -1; s <= 1; s += 2) {
        for (size_t e = 0; e < in->count; e++)
            xd[e] = in->val[e] + s * fmax(E[e], ad__ulp_of(in->val[e]));
        a->x[r] = xd;
        a->y = NULL; /* a jvp may read y (exp, expm1): recompute it there */
        n->op->forward(a, yd);
        a->y = yd;
        n->op->jvp(a, dx, dy);
        for (size_t e = 0; e < n->count; e++) {
            if ((piece && piece[e] == AD_PIECE_KINK) || (periodic && E[e] >= HALF_PERIOD))
                continue; /* a kink is pinned; a period-wide error is counted above */
            double f = same ? E[e] / fmax(E[e], ad__ulp_of(in->val[e])) : ratio;
            /* an overflowed adjoint is at least DBL_MAX (the rescued sweep gave
             * the gradient): jjjj 1e-321 j 1e308 y, whose subnormal product
             * rounds by 1.4e-3 of itself behind an adjoint of 2e308 */
            double adj = isinf(n->grad[e]) ? DBL_MAX : fabs(n->grad[e]);
            double term = adj * fabs(dy[e] - d0[e]) * f / 2.0;
            if (isfinite(term))
                sum += term;
        }
    }
    a->x[r] = save;
    a->y = ysave;
    return sum;
}

/* |J_q| |Tq| into out (n->count values): the jvp of Tq itself where each
 * output element reads one element of input q (elementwise ops, broadcasts
 * included), where nothing can cancel; else column by column (one jvp per
 * nonzero entry of Tq) up to ABS_JACOBIAN_MAX entries, and beyond, |J_q Tq|
 * (an estimate that may be low: a false alarm, never a missed defect, is the
 * worst it can do). Uses cd->scr's first two quarters. */
#define ABS_JACOBIAN_MAX 64
static void abs_jacobian_times(const ad__cond *cd, const ad__node *n, ad_op_args *a, unsigned q,
                               const double *Tq, double *out)
{
    const ad__node *in = &cd->c->t->nodes[n->in[q]];
    const double *one[AD_MAX_ARITY] = {NULL};
    if ((n->op->flags & AD_OP_ELEMENTWISE) || in->count > ABS_JACOBIAN_MAX) {
        one[q] = Tq;
        n->op->jvp(a, one, out);
        for (size_t e = 0; e < n->count; e++)
            out[e] = fabs(out[e]);
        return;
    }
    double *unit = cd->scr, *col = cd->scr + cd->maxc;
    memset(unit, 0, in->count * sizeof *unit);
    memset(out, 0, n->count * sizeof *out);
    one[q] = unit;
    for (size_t j = 0; j < in->count; j++) {
        if (Tq[j] == 0.0)
            continue;
        unit[j] = fabs(Tq[j]);
        n->op->jvp(a, one, col);
        unit[j] = 0.0;
        for (size_t e = 0; e < n->count; e++)
            out[e] += fabs(col[e]);
    }
}

/* The op's own rounding error for input q's tangent Tq, in units of eps
 * (its jvp_terms of |Tq|), into out. Uses cd->scr's first quarter. */
static void terms_error(const ad__cond *cd, const ad__node *n, ad_op_args *a, unsigned q,
                        const double *Tq, double *out)
{
    const ad__node *in = &cd->c->t->nodes[n->in[q]];
    const double *one[AD_MAX_ARITY] = {NULL};
    double *abs_t = cd->scr;
    for (size_t j = 0; j < in->count; j++)
        abs_t[j] = fabs(Tq[j]);
    one[q] = abs_t;
    n->op->jvp_terms(a, one, out);
}

/* How much of max(|value|, 1) a node may change over a replay step. */
#define STIFF_CHANGE 0x1p-32

/* Node i's tangent along s u (s e_k where u is NULL) into cd->T, from its
 * inputs' (forward mode): a leaf's from u, an op's by its jvp. a: the op's
 * arguments; dx: per input its tangent, NULL where it is all zero.
 * @return whether the op ran its jvp (false: a leaf, or nothing moves). */
static bool node_tangent(ad__cond *cd, size_t i, const double *u, size_t k, double s,
                         ad_op_args *a, const double **dx)
{
    const ad__ctx *c = cd->c;
    const ad_tape *t = c->t;
    const ad__node *n = &t->nodes[i];
    double *T = cd->T + cd->at[i];
    if (n->kind != AD__NODE_OP) {
        size_t l = c->leaf_of[i];
        for (size_t e = 0; e < n->count; e++)
            T[e] = l == SIZE_MAX ? 0.0
                   : u           ? s * u[c->off[l] + e]
                                 : (c->off[l] + e == k ? s : 0.0);
        return false;
    }
    memset(T, 0, n->count * sizeof(double));
    if (!n->op->jvp)
        return false;
    ad__node_args(t, n, a);
    bool any = false;
    for (unsigned q = 0; q < n->n_in; q++) {
        const double *Tq = cd->T + cd->at[n->in[q]];
        dx[q] = NULL;
        for (size_t e = 0; e < t->nodes[n->in[q]].count && !dx[q]; e++)
            if (Tq[e] != 0.0)
                dx[q] = Tq;
        any |= dx[q] != NULL;
    }
    if (any)
        n->op->jvp(a, dx, T);
    return any;
}

/* The longest step along a tangent T_in that keeps an element of a unary
 * op at input v off each of its kinks, or INFINITY. */
static double kink_room(const ad__node *n, double v, double T_in)
{
    ad_kink kk[8];
    unsigned nk = ad_op_kinks(n->op, n->attr, kk, 8);
    double room = INFINITY;
    for (unsigned q = 0; q < nk && q < 8; q++) {
        double d = fabs(v - kk[q].at);
        if (d > 0.0 && T_in != 0.0 && isfinite(T_in))
            room = fmin(room, d / (2.0 * fabs(T_in)));
    }
    return room;
}

double ad__cond_step_cap(ad__cond *cd, const double *u, size_t k)
{
    const ad__ctx *c = cd->c;
    const ad_tape *t = c->t;
    double cap = INFINITY;
    for (size_t i = 0; i <= c->last; i++) {
        ad_op_args a;
        const double *dx[AD_MAX_ARITY];
        if (!node_tangent(cd, i, u, k, 1.0, &a, dx))
            continue;
        const ad__node *n = &t->nodes[i];
        const double *T = cd->T + cd->at[i];
        for (size_t e = 0; e < n->count; e++) {
            double r = fabs(T[e]) / fmax(fabs(n->val[e]), 1.0);
            if (isfinite(r) && r > 0.0)
                cap = fmin(cap, STIFF_CHANGE / r);
        }
        if (n->n_in != 1 || !(n->op->flags & AD_OP_ELEMENTWISE) || !n->op->n_kinks || !dx[0])
            continue;
        const ad__node *in = &t->nodes[n->in[0]];
        for (size_t e = 0; e < n->count && e < in->count; e++)
            cap = fmin(cap, kink_room(n, in->val[e], dx[0][e]));
    }
    return cap;
}

/* The estimate along the tangent s u (s e_k where u is NULL), not scaled
 * back; *overflowed (may be NULL) is set when a node's tangent came out inf
 * or NaN at a finite value (NaN too: a jvp's own product may overflow to
 * inf - inf, which a smaller tangent avoids). */
static double err_along(ad__cond *cd, const double *u, size_t k, double s, bool *overflowed)
{
    const ad__ctx *c = cd->c;
    const ad_tape *t = c->t;
    double err = 0.0, *dy = cd->scr + 2 * cd->maxc;
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &t->nodes[i];
        double *T = cd->T + cd->at[i];
        ad_op_args a;
        const double *dx[AD_MAX_ARITY] = {NULL};
        if (!node_tangent(cd, i, u, k, s, &a, dx))
            continue;
        for (size_t e = 0; overflowed && e < n->count; e++)
            *overflowed |= !isfinite(T[e]) && isfinite(n->val[e]);
        if (!n->grad)
            continue;
        /* forward mode rounds a tangent in the subnormals by up to DBL_TRUE_MIN,
         * and what follows the node scales that by its adjoint (x 2^-1074, then
         * times 5.5e6): the dot test weighs reverse mode against forward mode */
        double wt = fmax(n->op->ulp_bwd, 0.5) + 2.0;
        for (size_t e = 0; e < n->count; e++) {
            double term = wt * DBL_TRUE_MIN * fabs(n->grad[e]);
            if (fabs(T[e]) < DBL_MIN && isfinite(term)) /* 0 included: underflowed */
                err += term;
        }
        for (unsigned q = 0; q < n->n_in; q++) { /* the backward's own rounding */
            if (!dx[q])
                continue;
            double w = fmax(n->op->ulp_bwd, 0.5) + 2.0;
            if (n->op->jvp_terms) { /* the op counts its own rounding: layer_norm's projection */
                terms_error(cd, n, &a, q, dx[q], dy);
                w = 1.0;
            } else {
                abs_jacobian_times(cd, n, &a, q, dx[q], dy);
            }
            for (size_t e = 0; e < n->count; e++) {
                /* an adjoint that overflowed is at least DBL_MAX: its terms' rounding
                 * is at least that of DBL_MAX's (1.2e309 paths that cancel to 2.42) */
                double adj = isinf(n->grad[e]) ? DBL_MAX : fabs(n->grad[e]);
                double term = w * DBL_EPSILON * adj * fabs(dy[e]);
                if (isfinite(term))
                    err += term;
            }
            /* below DBL_MIN the input adjoints round absolutely: w DBL_TRUE_MIN
             * each, reaching the gradient times the input's tangent */
            for (size_t j = 0, m = t->nodes[n->in[q]].count; j < m; j++) {
                double term = w * DBL_TRUE_MIN * fabs(dx[q][j]);
                if (isfinite(term))
                    err += term;
            }
        }
        for (unsigned r = 0; r < n->n_in; r++) /* J at inputs off by their forward error */
            err += displaced(cd, i, &a, dx, r);
    }
    return err;
}

/* A tangent beyond DBL_MAX (sin's argument x5 x6 1e308 along x6: 2e308) left
 * its terms out as non-finite, so the estimate missed exactly where rounding
 * matters most: sin at 1.6e308, whose argument is off by 1e292. The terms are
 * linear in the tangent, so they are taken again along 2^-TANGENT_SHIFT u and
 * scaled back (inf where they are beyond DBL_MAX: nothing can be shown). */
#define TANGENT_SHIFT 600
double ad__cond_err(ad__cond *cd, const double *u, size_t k)
{
    bool overflowed = false;
    double err = err_along(cd, u, k, 1.0, &overflowed);
    if (!overflowed)
        return err;
    double scaled = ldexp(err_along(cd, u, k, ldexp(1.0, -TANGENT_SHIFT), NULL), TANGENT_SHIFT);
    return fmax(err, scaled);
}
