/* pin.c - the kink elements of a program, each pinned to the engine's local
 * partials there, after checking those against the op's one-sided ones.
 *
 * Why: the engine's gradient at a point where several ops sit on kinks is
 * the chain rule with each op's local choice. The loss's one-sided
 * derivatives do not bound it (relu(x) + abs(x) at 0: one-sided -1 and 2,
 * yet relu' = 0 and abs' = 0 give 0, a valid Clarke subgradient), and along
 * a direction several kinks are crossed at once. So the MPFR replay
 * evaluates each kink element as its linear map with the engine's partials
 * (replay.c), which makes the program smooth there: its derivative is the
 * chain rule with those partials, exactly what a right engine returns. What
 * the pins trust is checked here: each partial must lie between the op's
 * one-sided partial derivatives at its recorded inputs (MPFR, one element). */
#include <float.h>
#include <math.h>
#include <string.h>
#include "check_int.h"

/* Kink elements times node size above this: no pins (the hull verdict). */
#define PIN_WORK_MAX 10000000u

static bool pinnable(const ad__node *n)
{
    return (n->op->flags & AD_OP_ELEMENTWISE) && n->n_in >= 1 && n->n_in <= 2 && n->op->backward &&
           n->op->reference;
}

/* The element of input shape xs that broadcasts to element e of ys (NumPy
 * rules: shapes aligned on the right, a dimension of 1 repeats). */
static size_t bcast_index(const ad_shape *ys, const ad_shape *xs, size_t e)
{
    size_t j = 0, stride = 1;
    for (unsigned d = ys->rank; d-- > 0;) {
        size_t idx = e % ys->dim[d];
        e /= ys->dim[d];
        unsigned off = ys->rank - xs->rank;
        if (d < off)
            break;
        size_t xd = xs->dim[d - off];
        j += (xd == 1 ? 0 : idx) * stride;
        stride *= xd;
    }
    return j;
}

/* The op alone at element p: f at the recorded inputs with input q moved by
 * s * delta, into y (one element, every shape rank 0). */
static int ref_at(const ad__node *n, const ad_tape *t, const ad__pin *p, unsigned q, int s,
                  mpfr_srcptr delta, mpfr_ptr *x, mpfr_ptr y)
{
    ad_ref_args a = {.n_in = n->n_in, .ys = ad__scalar_shape, .attr = n->attr};
    for (unsigned i = 0; i < n->n_in; i++) {
        mpfr_set_d(x[i], t->nodes[n->in[i]].val[p->j[i]], MPFR_RNDN);
        if (i == q && s > 0)
            mpfr_add(x[i], x[i], delta, MPFR_RNDN);
        else if (i == q && s < 0)
            mpfr_sub(x[i], x[i], delta, MPFR_RNDN);
        a.x[i] = x[i];
        a.xs[i] = ad__scalar_shape;
    }
    return n->op->reference(&a, y, MPFR_RNDN);
}

/* Checks p's partial along input q against the op's one-sided partials:
 * D(d) = (f(x + d) - f(x)) / d at d and 2d; |D(d) - D(2d)| estimates the
 * truncation of D(d) (zero for piecewise-linear ops). */
static int check_partial(const ad__node *n, const ad_tape *t, ad__pin *p, unsigned q,
                         mpfr_prec_t prec)
{
    mpfr_t x0, x1, d, f0, fs, dd;
    mpfr_inits2(prec, x0, x1, d, f0, fs, dd, (mpfr_ptr)0);
    mpfr_ptr x[AD_MAX_ARITY] = {x0, x1};
    long third = (long)(prec / 3);
    double xq = fabs(t->nodes[n->in[q]].val[p->j[q]]);
    mpfr_set_d(d, fmax(xq, ldexp(1.0, (int)-third)), MPFR_RNDN);
    mpfr_mul_2si(d, d, -third, MPFR_RNDN);
    double side[2][2]; /* [left, right][step d, 2d] */
    int bad = ref_at(n, t, p, q, 0, d, x, f0);
    for (int k = 0; k < 2 && !bad; k++) {
        for (int sgn = -1; sgn <= 1 && !bad; sgn += 2) {
            mpfr_mul_2si(dd, d, k, MPFR_RNDN);
            bad = ref_at(n, t, p, q, sgn, dd, x, fs);
            mpfr_sub(fs, fs, f0, MPFR_RNDN);
            mpfr_div(fs, fs, dd, MPFR_RNDN);
            side[sgn > 0][k] = sgn * mpfr_get_d(fs, MPFR_RNDN);
        }
    }
    mpfr_clears(x0, x1, d, f0, fs, dd, (mpfr_ptr)0);
    if (bad)
        return bad;
    double l = side[0][0], r = side[1][0];
    double trunc = fabs(l - side[0][1]) + fabs(r - side[1][1]);
    /* the backward rounds its partial by up to ulp_bwd; the quotients by an ulp each */
    double big = fmax(fabs(l), fabs(r));
    double tol = 2.0 * trunc + (fmax(n->op->ulp_bwd, 0.5) + 2.0) * ad__ulp_of(big);
    p->lo[q] = fmin(l, r);
    p->hi[q] = fmax(l, r);
    double s = p->s[q];
    if (!(s >= p->lo[q] - tol && s <= p->hi[q] + tol))
        p->valid = false;
    return 0;
}

/* The engine's local partials at element p: the op's backward with a
 * one-hot cotangent, read where the element's inputs are. */
static ad_status partials(const ad_tape *t, const ad__node *n, ad__pin *p)
{
    size_t total = n->count, bytes;
    for (unsigned q = 0; q < n->n_in; q++)
        total += t->nodes[n->in[q]].count;
    if (!ad__mul_size(total, sizeof(double), &bytes))
        return AD_EOVERFLOW;
    double *buf = ad__alloc(&t->alloc, bytes);
    if (!buf)
        return AD_ENOMEM;
    memset(buf, 0, bytes);
    double *w = buf, *gx[AD_MAX_ARITY] = {NULL}, *at = buf + n->count;
    w[p->elem] = 1.0;
    for (unsigned q = 0; q < n->n_in; q++) {
        gx[q] = at;
        at += t->nodes[n->in[q]].count;
    }
    ad_op_args a;
    ad__node_args(t, n, &a);
    n->op->backward(&a, w, gx);
    for (unsigned q = 0; q < n->n_in; q++)
        p->s[q] = t->nodes[n->in[q]].needs_grad ? gx[q][p->j[q]] : 0.0;
    ad__free(&t->alloc, buf, bytes);
    return AD_OK;
}

/* piece0 is kept for the loss's nodes only (check_eval.c) */
static bool on_kink_and_reached(const ad__ctx *c, size_t i)
{
    return c->piece0[i] && c->t->nodes[i].needs_grad;
}

ad_status ad__pins_build(const ad__ctx *c, mpfr_prec_t prec, ad__pins *ps)
{
    const ad_tape *t = c->t;
    memset(ps, 0, sizeof *ps);
    size_t work = 0;
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &t->nodes[i];
        if (!on_kink_and_reached(c, i))
            continue;
        for (size_t e = 0; e < n->count; e++) {
            if (c->piece0[i][e] != AD_PIECE_KINK)
                continue;
            if (pinnable(n) && n->count <= PIN_WORK_MAX && work <= PIN_WORK_MAX - n->count) {
                ps->n++;
                work += n->count;
            } else if (ps->n_unpinned++ == 0) {
                ps->unpinned_node = i;
                ps->unpinned_elem = e;
            }
        }
    }
    ad_status st = AD_OK;
    if (ps->n == 0)
        goto out;
    if (!ad__mul_size(ps->n, sizeof(ad__pin), &ps->bytes)) {
        st = ad__fail(c->t, AD_EOVERFLOW, "ad_check_grad: the kink pins' size overflows");
        goto out;
    }
    ps->p = ad__alloc(&t->alloc, ps->bytes);
    if (!ps->p) {
        st = ad__fail(c->t, AD_ENOMEM, NULL);
        goto out;
    }
    size_t k = 0;
    ps->bad = ps->n;
    work = 0;
    for (size_t i = 0; i <= c->last && st == AD_OK; i++) {
        const ad__node *n = &t->nodes[i];
        if (!on_kink_and_reached(c, i) || !pinnable(n))
            continue;
        for (size_t e = 0; e < n->count && k < ps->n; e++) {
            if (c->piece0[i][e] != AD_PIECE_KINK)
                continue;
            ad__pin *p = &ps->p[k];
            memset(p, 0, sizeof *p);
            p->node = i;
            p->elem = e;
            p->valid = true;
            for (unsigned q = 0; q < n->n_in; q++)
                p->j[q] = bcast_index(n->shape, t->nodes[n->in[q]].shape, e);
            st = partials(t, n, p);
            if (st != AD_OK) {
                ad__pins_free(c, ps);
                st = ad__fail(c->t, st,
                              st == AD_ENOMEM ? NULL : "ad_check_grad: a kink's buffers overflow");
                break;
            }
            for (unsigned q = 0; q < n->n_in; q++)
                if (t->nodes[n->in[q]].needs_grad && check_partial(n, t, p, q, prec) != 0)
                    p->valid = false; /* no reference value: the pin is not trusted */
            if (!p->valid && ps->bad == ps->n)
                ps->bad = k;
            k++;
        }
    }
out:
    return st;
}

void ad__pins_free(const ad__ctx *c, ad__pins *ps)
{
    if (ps->p)
        ad__free(&c->t->alloc, ps->p, ps->bytes);
    ps->p = NULL;
    ps->n = 0;
}

bool ad__pins_has(const ad__pins *ps, size_t node, size_t elem)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->p[i].node == node && ps->p[i].elem == elem)
            return true;
    return false;
}
