/* replay.c - the recorded program evaluated again in MPFR, node by node, with
 * each op's reference from the same double inputs; derivatives by
 * high-precision differences, so no backward rule is trusted. */
#include <math.h>
#include <string.h>
#include "check_int.h"

ad_status ad__mp_init(ad__mp *m, const ad__ctx *c, mpfr_prec_t prec)
{
    memset(m, 0, sizeof *m);
    m->c = c;
    m->prec = prec;
    ad_tape *t = c->t;
    size_t n = 0, b1, b2;
    for (size_t i = 0; i <= c->last; i++)
        n += t->nodes[i].count;
    if (!ad__mul_size(n, sizeof(__mpfr_struct), &b1) ||
        !ad__mul_size(c->last + 1, sizeof(mpfr_ptr), &b2))
        return ad__fail(t, AD_EOVERFLOW, "ad_check_grad: the MPFR replay's size overflows");
    m->pool = ad__alloc(&t->alloc, b1 ? b1 : 1);
    m->v = ad__alloc(&t->alloc, b2);
    if (!m->pool || !m->v) {
        ad__free(&t->alloc, m->pool, b1 ? b1 : 1);
        ad__free(&t->alloc, m->v, b2);
        m->pool = NULL;
        return ad__fail(t, AD_ENOMEM, NULL);
    }
    m->pool_n = n;
    /* limbs come from GMP's allocator, which the tape's allocator cannot reach */
    for (size_t j = 0; j < n; j++)
        mpfr_init2(&m->pool[j], prec);
    for (size_t i = 0, at = 0; i <= c->last; i++) {
        m->v[i] = &m->pool[at];
        at += t->nodes[i].count;
    }
    mpfr_inits2(prec, m->h, m->tmp, (mpfr_ptr)0);
    return AD_OK;
}

void ad__mp_free(ad__mp *m)
{
    if (!m->pool)
        return;
    const ad_allocator *a = &m->c->t->alloc;
    for (size_t j = 0; j < m->pool_n; j++)
        mpfr_clear(&m->pool[j]);
    mpfr_clears(m->h, m->tmp, (mpfr_ptr)0);
    ad__free(a, m->pool, m->pool_n ? m->pool_n * sizeof(__mpfr_struct) : 1);
    ad__free(a, m->v, (m->c->last + 1) * sizeof(mpfr_ptr));
    m->pool = NULL;
}

void ad__mp_set_prec(ad__mp *m, mpfr_prec_t prec)
{
    for (size_t j = 0; j < m->pool_n; j++)
        mpfr_set_prec(&m->pool[j], prec);
    mpfr_prec_round(m->h, prec, MPFR_RNDN);
    mpfr_set_prec(m->tmp, prec);
    m->prec = prec;
}

void ad__mp_step(ad__mp *m, const double *u, size_t k)
{
    /* relative to x, never below 2^-(prec/3) squared, so that O(1) terms
     * plus the step stay representable at prec bits */
    long third = (long)(m->prec / 3);
    double scale = u ? m->c->xmax : fabs(m->c->x[k]);
    if (!isfinite(scale))
        scale = 1.0;
    mpfr_set_d(m->h, fmax(scale, ldexp(1.0, (int)-third)), MPFR_RNDN);
    mpfr_mul_2si(m->h, m->h, -third, MPFR_RNDN);
}

int ad__mp_eval(ad__mp *m, const double *u, size_t k, int s, mpfr_ptr out)
{
    const ad__ctx *c = m->c;
    const ad_tape *t = c->t;
    m->evals++;
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &t->nodes[i];
        mpfr_ptr y = m->v[i];
        if (n->kind != AD__NODE_OP) {
            size_t l = c->leaf_of[i];
            for (size_t e = 0; e < n->count; e++) {
                mpfr_set_d(y + e, n->val[e], MPFR_RNDN); /* exact */
                if (l == SIZE_MAX || s == 0)
                    continue;
                size_t j = c->off[l] + e;
                if (u) {
                    mpfr_mul_d(m->tmp, m->h, s * u[j], MPFR_RNDN);
                    mpfr_add(y + e, y + e, m->tmp, MPFR_RNDN);
                } else if (j == k) {
                    mpfr_mul_si(m->tmp, m->h, s, MPFR_RNDN);
                    mpfr_add(y + e, y + e, m->tmp, MPFR_RNDN);
                }
            }
            continue;
        }
        if (!n->op->reference) {
            snprintf(m->note, sizeof m->note, "no MPFR reference for op '%s' (node %zu)",
                     n->op->name, i);
            return 1;
        }
        ad_ref_args a = {.n_in = n->n_in, .ys = *n->shape, .attr = n->attr};
        for (unsigned q = 0; q < n->n_in; q++) {
            a.x[q] = m->v[n->in[q]];
            a.xs[q] = *t->nodes[n->in[q]].shape;
        }
        int rs = n->op->reference(&a, y, MPFR_RNDN);
        if (rs == AD_ENOMEM) /* no memory is not "no reference": the check must not pass on FD alone */
            m->oom = true;
        if (rs) {
            snprintf(m->note, sizeof m->note, "the MPFR reference of op '%s' failed (node %zu)",
                     n->op->name, i);
            return 1;
        }
    }
    mpfr_set(out, m->v[c->last], MPFR_RNDN);
    return 0;
}

int ad__mp_central(ad__mp *m, const double *u, size_t k, mpfr_ptr d)
{
    mpfr_t fm;
    mpfr_init2(fm, m->prec);
    ad__mp_step(m, u, k);
    int bad = ad__mp_eval(m, u, k, 1, d) || ad__mp_eval(m, u, k, -1, fm);
    if (!bad) {
        mpfr_sub(d, d, fm, MPFR_RNDN);
        mpfr_div(d, d, m->h, MPFR_RNDN);
        mpfr_div_2ui(d, d, 1, MPFR_RNDN);
    }
    mpfr_clear(fm);
    return bad;
}

int ad__mp_sided(ad__mp *m, const double *u, size_t k, mpfr_ptr dl, mpfr_ptr dr)
{
    mpfr_t f0;
    mpfr_init2(f0, m->prec);
    ad__mp_step(m, u, k);
    int bad = ad__mp_eval(m, u, k, 0, f0) || ad__mp_eval(m, u, k, -1, dl) ||
              ad__mp_eval(m, u, k, 1, dr);
    if (!bad) {
        mpfr_sub(dl, f0, dl, MPFR_RNDN);
        mpfr_div(dl, dl, m->h, MPFR_RNDN);
        mpfr_sub(dr, dr, f0, MPFR_RNDN);
        mpfr_div(dr, dr, m->h, MPFR_RNDN);
    }
    mpfr_clear(f0);
    return bad;
}
