/* singular.c - where the chain rule itself does not hold: an elementwise op
 * whose local derivative is infinite or NaN where its value is finite (sqrt
 * at 0, 0^p at p = 0, x^0.5 at 0, inf^x at x = 0, 1^p at p = inf, where the
 * last three jump). A zero meeting it there
 * (0 * inf) makes the engine's product a convention, not a derivative:
 * d/dx sqrt(x)^2 at 0 is 1, the chain rule's 2 sqrt(0) / (2 sqrt(0)) is
 * 0 * inf; log1p(x) 0^(x^1.25) jumps from 1 to 0 at x = 0. The checker does
 * not judge a disagreement on a coordinate that reaches such an element
 * (check.c); the notes name the op. Nor on any coordinate where an element
 * jumped: its input was rounded across a jump, so its value in double is
 * not the exact program's and every coordinate that uses it differs. A
 * singular element that moved far (x + x 0^(y^1110) at y = 0.5: y^1110
 * underflows to 0, 0^0 is 1 where 0^(2^-1110) is 0, and d/dx reads 2
 * against the exact 1), or an infinity of the other sign ((-3)^(3^512):
 * 3^512 is odd, its double even). */
#include <math.h>
#include <string.h>
#include "check_int.h"

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* Whether node i's partials under a cotangent of ones are not all finite
 * while its value is; scratch: 3 * max_count doubles of c->tmp. */
static bool singular_at(const ad__ctx *c, size_t i)
{
    const ad_tape *t = c->t;
    const ad__node *n = &t->nodes[i];
    if (n->kind != AD__NODE_OP || !(n->op->flags & AD_OP_ELEMENTWISE) || !n->op->backward ||
        n->n_in > 2 || !n->needs_grad || !all_finite(n->val, n->count))
        return false;
    double *gy = c->tmp, *gx[AD_MAX_ARITY] = {NULL};
    for (unsigned q = 0; q < n->n_in; q++) {
        /* an input may be infinite where the value is finite: inf^x at x = 0
         * and 1^p at p = inf are 1, and jump there */
        const ad__node *in = &t->nodes[n->in[q]];
        gx[q] = c->tmp + (q + 1) * c->max_count;
        memset(gx[q], 0, in->count * sizeof(double));
    }
    for (size_t e = 0; e < n->count; e++)
        gy[e] = 1.0;
    ad_op_args a;
    ad__node_args(t, n, &a);
    n->op->backward(&a, gy, gx);
    for (unsigned q = 0; q < n->n_in; q++)
        if (t->nodes[n->in[q]].needs_grad && !all_finite(gx[q], t->nodes[n->in[q]].count))
            return true;
    return false;
}

void ad__singular_find(ad__ctx *c)
{
    c->singular = SIZE_MAX;
    for (size_t i = 0; i <= c->last; i++)
        if ((c->reach[i] & AD__REACH_CONE) && singular_at(c, i)) {
            if (c->singular == SIZE_MAX)
                c->singular = i;
            c->reach[i] |= AD__REACH_SINGULAR;
        }
    for (size_t i = c->last + 1; c->singular != SIZE_MAX && i-- > 0;)
        if (c->reach[i] & AD__REACH_SINGULAR)
            for (unsigned q = 0; q < c->t->nodes[i].n_in; q++)
                c->reach[c->t->nodes[i].in[q]] |= AD__REACH_SINGULAR;
}

bool ad__singular_reached(const ad__ctx *c, const double *u, size_t k)
{
    if (c->singular == SIZE_MAX)
        return false;
    if (u)
        return true; /* a direction moves every coordinate */
    for (size_t l = 0; l < c->n_leaf; l++)
        if (k >= c->off[l] && k < c->off[l + 1])
            return (c->reach[c->leaf[l]] & AD__REACH_SINGULAR) != 0;
    return false;
}

/* Whether an element's double value v and exact value e part by more than
 * rounding can: opposite signs where either is infinite ((-3)^y for y =
 * 3^512 rounded to an even number is +inf, exactly -inf). */
static bool signs_part(double v, mpfr_srcptr e)
{
    if (isnan(v) || mpfr_nan_p(e) || v == 0.0 || mpfr_zero_p(e))
        return false;
    return (isinf(v) || mpfr_inf_p(e)) && (v < 0.0) != (mpfr_sgn(e) < 0);
}

/* Whether a singular element's double value v lies far beyond any rounding
 * from its exact value e. */
static bool moved_far(double v, mpfr_srcptr e)
{
    double exact = mpfr_get_d(e, MPFR_RNDN);
    return !(fabs(exact - v) <= 0x1p-20 * fmax(fabs(exact), fabs(v)));
}

/* The first node in the loss's cone whose double value parts from m's. */
static size_t first_jump(const ad__ctx *c, const ad__mp *m)
{
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &c->t->nodes[i];
        if (n->kind != AD__NODE_OP || !(c->reach[i] & AD__REACH_CONE))
            continue;
        bool singular = (c->reach[i] & AD__REACH_SINGULAR) && singular_at(c, i);
        for (size_t e = 0; e < n->count; e++)
            if (signs_part(n->val[e], m->v[i] + e) || (singular && moved_far(n->val[e], m->v[i] + e)))
                return i;
    }
    return SIZE_MAX;
}

size_t ad__jump_find(const ad__ctx *c, ad__mp *m)
{
    /* every node's value at x, in m->v, at the most bits the replay uses: a
     * huge integer exponent's parity may show only there (3^512 needs 812) */
    mpfr_prec_t p0 = m->prec;
    ad__mp_set_prec(m, m->max_prec);
    mpfr_t f;
    mpfr_init2(f, m->prec);
    int bad = ad__mp_eval(m, NULL, 0, 0, f);
    mpfr_clear(f);
    size_t found = bad ? SIZE_MAX : first_jump(c, m);
    ad__mp_set_prec(m, p0);
    return found;
}
