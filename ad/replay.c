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
    m->max_prec = prec > 4096 ? (unsigned)prec : 4096;
    for (size_t i = 0; i <= c->last; i++)
        for (size_t e = 0; e < c->t->nodes[i].count; e++) {
            double a = fabs(c->t->nodes[i].val[e]);
            if (isfinite(a) && a > m->vmax)
                m->vmax = a;
        }
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
    if (m->base) {
        size_t nb = m->pins->n * (1 + AD_MAX_ARITY);
        for (size_t j = 0; j < nb; j++)
            mpfr_clear(&m->base[j]);
        ad__free(a, m->base, nb * sizeof(__mpfr_struct));
    }
    m->pool = NULL;
}

void ad__mp_set_prec(ad__mp *m, mpfr_prec_t prec)
{
    for (size_t j = 0; j < m->pool_n; j++)
        mpfr_set_prec(&m->pool[j], prec);
    mpfr_prec_round(m->h, prec, MPFR_RNDN);
    mpfr_set_prec(m->tmp, prec);
    for (size_t j = 0; m->base && j < m->pins->n * (1 + AD_MAX_ARITY); j++)
        mpfr_set_prec(&m->base[j], prec);
    m->base_prec = 0;
    m->prec = prec;
}

ad_status ad__mp_use_pins(ad__mp *m, const ad__pins *pins)
{
    m->pins = pins;
    if (!pins || pins->n == 0)
        return AD_OK;
    size_t nb = pins->n * (1 + AD_MAX_ARITY), bytes; /* pins->n is bounded by the tape */
    if (!ad__mul_size(nb, sizeof(__mpfr_struct), &bytes))
        return ad__fail(m->c->t, AD_EOVERFLOW, "ad_check_grad: the kink pins' size overflows");
    m->base = ad__alloc(&m->c->t->alloc, bytes);
    if (!m->base) {
        m->pins = NULL;
        return ad__fail(m->c->t, AD_ENOMEM, NULL);
    }
    for (size_t j = 0; j < nb; j++)
        mpfr_init2(&m->base[j], m->prec);
    m->base_prec = 0;
    return AD_OK;
}

/* The scale of a coordinate's step: |x|, or for x = 0, 2^-(prec/3) divided
 * by the largest value on the tape (a weight of 0 times an input of 1e308
 * moves the product by 2^-(prec/3) then, not by 2^939). */
static long double coord_scale(const ad__mp *m, double x, long third)
{
    /* long double: 2^-85 / 1e308 is below the smallest double */
    return x != 0.0 ? fabsl((long double)x) : ldexpl(1.0L, (int)-third) / fmax(1.0, m->vmax);
}

void ad__mp_step(ad__mp *m, const double *u, size_t k)
{
    /* 2^-(prec/3) times the scale: relative to x, so truncation and
     * rounding balance at prec bits (diff() raises the precision where large
     * values swamp the difference). Along a direction, the smallest scale of
     * the moved coordinates: one of 2^513 beside weights of 0 would
     * otherwise move the weights by 2^428. */
    long third = (long)(m->prec / 3);
    long double scale = u ? INFINITY : coord_scale(m, m->c->x[k], third);
    for (size_t j = 0; u && j < m->c->n_coords; j++)
        if (u[j] != 0.0 && isfinite(m->c->x[j]))
            scale = fminl(scale, coord_scale(m, m->c->x[j], third));
    if (!isfinite(scale) || !(scale > 0))
        scale = 1.0L;
    mpfr_set_ld(m->h, scale, MPFR_RNDN);
    mpfr_mul_2si(m->h, m->h, -third, MPFR_RNDN);
    /* a stiff node or a kink nearby: the power of two at most step_cap
     * (diff() raises the precision the smaller step needs) */
    if (m->step_cap > 0.0 && isfinite(m->step_cap) && mpfr_cmp_d(m->h, m->step_cap) > 0)
        mpfr_set_ui_2exp(m->h, 1, ilogb(m->step_cap), MPFR_RNDN);
}

/* The pins of node i: while capturing, records each pinned element's value
 * and inputs; otherwise replaces the element by its linear map around them. */
static void apply_pins(ad__mp *m, size_t i, size_t *pi)
{
    const ad__pins *ps = m->pins;
    const ad__node *n = &m->c->t->nodes[i];
    for (; *pi < ps->n && ps->p[*pi].node <= i; (*pi)++) {
        const ad__pin *p = &ps->p[*pi];
        if (p->node != i)
            continue;
        mpfr_ptr b = m->base + *pi * (1 + AD_MAX_ARITY), y = m->v[i] + p->elem;
        if (m->capture) {
            mpfr_set(b, y, MPFR_RNDN);
            for (unsigned q = 0; q < n->n_in; q++)
                mpfr_set(b + 1 + q, m->v[n->in[q]] + p->j[q], MPFR_RNDN);
            continue;
        }
        mpfr_set(y, b, MPFR_RNDN);
        for (unsigned q = 0; q < n->n_in; q++) {
            if (p->s[q] == 0.0)
                continue;
            mpfr_sub(m->tmp, m->v[n->in[q]] + p->j[q], b + 1 + q, MPFR_RNDN);
            mpfr_mul_d(m->tmp, m->tmp, p->s[q], MPFR_RNDN);
            mpfr_add(y, y, m->tmp, MPFR_RNDN);
        }
    }
}

static void track(ad__mp *m, mpfr_srcptr y, size_t count)
{
    for (size_t e = 0; e < count; e++)
        if (mpfr_regular_p(y + e) && mpfr_get_exp(y + e) > m->emax)
            m->emax = mpfr_get_exp(y + e);
}

static int run(ad__mp *m, const double *u, size_t k, int s)
{
    const ad__ctx *c = m->c;
    const ad_tape *t = c->t;
    size_t pi = 0;
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
            track(m, y, n->count);
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
        if (m->pins && !m->unpinned)
            apply_pins(m, i, &pi);
        track(m, y, n->count);
    }
    return 0;
}

int ad__mp_eval(ad__mp *m, const double *u, size_t k, int s, mpfr_ptr out)
{
    if (m->pins && m->pins->n && !m->unpinned && m->base_prec != m->prec) {
        m->capture = true; /* the pins' base point at this precision */
        int bad = run(m, u, k, 0);
        m->capture = false;
        if (bad)
            return bad;
        m->base_prec = m->prec;
    }
    int bad = run(m, u, k, s);
    if (!bad)
        mpfr_set(out, m->v[m->c->last], MPFR_RNDN);
    return bad;
}

/* Bits the difference must keep above the rounding of the largest value. */
#define GUARD_BITS 64

/* f(x + a h u) - f(x + b h u) into out. When the difference keeps fewer than
 * GUARD_BITS above 2^(emax - prec), where emax is the exponent of the largest
 * value either evaluation held (x*y + 1e199: the constant's rounding swamps
 * the change), the precision is raised by what is missing, keeping the step,
 * up to max_prec. A difference of exactly 0 is trusted only when the
 * precision resolves a change of h |hint| (h 2^-60 when hint is 0). */
static int diff(ad__mp *m, const double *u, size_t k, int a, int b, double hint, mpfr_ptr out)
{
    mpfr_prec_t p0 = m->prec;
    int rc;
    for (;;) {
        mpfr_t fa, fb;
        mpfr_inits2(m->prec, fa, fb, (mpfr_ptr)0);
        m->emax = mpfr_get_emin();
        rc = ad__mp_eval(m, u, k, a, fa) || ad__mp_eval(m, u, k, b, fb) ? AD__MP_NOREF : 0;
        mpfr_exp_t want = 0;
        bool check = false;
        if (!rc) {
            mpfr_sub(fa, fa, fb, MPFR_RNDN);
            mpfr_set(out, fa, MPFR_RNDN);
            check = mpfr_regular_p(fa) || mpfr_zero_p(fa);
            want = mpfr_regular_p(fa) ? mpfr_get_exp(fa)
                   : mpfr_get_exp(m->h) + (hint > 0 && isfinite(hint) ? ilogb(hint) + 1 : -60);
        }
        mpfr_clears(fa, fb, (mpfr_ptr)0);
        if (!check || m->emax == mpfr_get_emin() || want - (m->emax - m->prec) >= GUARD_BITS)
            break;
        if (m->prec >= m->max_prec) {
            snprintf(m->note, sizeof m->note,
                     "the MPFR difference cancels even at %u bits (values up to 2^%ld)",
                     m->max_prec, (long)m->emax);
            rc = AD__MP_CANCELS;
            break;
        }
        long need = (long)m->emax - (long)want + 2 * GUARD_BITS;
        if (need < (long)m->prec + GUARD_BITS)
            need = (long)m->prec + GUARD_BITS;
        ad__mp_set_prec(m, need > (long)m->max_prec ? m->max_prec : (mpfr_prec_t)need);
    }
    if (m->prec != p0)
        ad__mp_set_prec(m, p0);
    return rc;
}

/* The smallest |x_j| > 0 that the step moves, or 0. */
static double smallest_moved(const ad__mp *m, const double *u, size_t k)
{
    if (!u)
        return fabs(m->c->x[k]);
    double s = 0.0;
    for (size_t j = 0; j < m->c->n_coords; j++) {
        double a = fabs(m->c->x[j]);
        if (u[j] != 0.0 && a > 0.0 && (s == 0.0 || a < s))
            s = a;
    }
    return s;
}

/* The central difference gave NaN or an infinity though f(x) is a number: a
 * step left the domain (sqrt near 0) or met a pole (0^(1/x) at x = 0 is 0 on
 * the right, inf on the left). Again with a step relative to the smallest
 * moved input, then one-sided (right, then left). Writes the derivative. */
/* The replay's f(x) is NaN where the double program's is not: some value the
 * double program rounded landed in an op's domain, while the exact one did
 * not ((-1.25)^p at p = 7e26 + 55, a fraction that rounds to an even integer).
 * The mathematical function is undefined at x; the double program is not.
 * Names the first such op in the note. @return AD__MP_UNDEFINED. */
static int undefined_exactly(ad__mp *m)
{
    const ad__ctx *c = m->c;
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &c->t->nodes[i];
        for (size_t j = 0; n->op && j < n->count; j++) {
            if (!mpfr_nan_p(m->v[i] + j) || isnan(n->val[j]))
                continue;
            snprintf(m->note, sizeof m->note,
                     "the exact program is undefined at x where the double one is not: op '%s' "
                     "(node %zu) is NaN on exact values, %g on rounded ones",
                     n->op->name, i, n->val[j]);
            return AD__MP_UNDEFINED;
        }
    }
    snprintf(m->note, sizeof m->note,
             "the exact program is undefined at x where the double one is not");
    return AD__MP_UNDEFINED;
}

static int domain_edge(ad__mp *m, const double *u, size_t k, double hint, mpfr_ptr d)
{
    int rc = ad__mp_eval(m, u, k, 0, d);
    if (!rc && mpfr_nan_p(d) && !isnan(m->c->f0))
        return undefined_exactly(m);
    if (rc || mpfr_nan_p(d)) {
        mpfr_set_nan(d);
        return rc; /* f itself is NaN there: a NaN derivative is the truth */
    }
    double small = smallest_moved(m, u, k);
    mpfr_t h;
    mpfr_init2(h, m->prec);
    mpfr_set_d(h, small, MPFR_RNDN);
    mpfr_mul_2si(h, h, -(long)(m->prec / 3), MPFR_RNDN);
    if (small > 0.0 && mpfr_cmp(h, m->h) < 0) {
        mpfr_set(m->h, h, MPFR_RNDN);
        rc = diff(m, u, k, 1, -1, hint, d);
        if (!rc && mpfr_number_p(d))
            mpfr_div_2ui(d, d, 1, MPFR_RNDN);
    } else {
        mpfr_set_nan(d);
    }
    mpfr_clear(h);
    if (!rc && !mpfr_number_p(d))
        rc = diff(m, u, k, 1, 0, hint, d);
    if (!rc && !mpfr_number_p(d))
        rc = diff(m, u, k, 0, -1, hint, d);
    if (rc)
        return rc;
    if (!mpfr_number_p(d)) {
        snprintf(m->note, sizeof m->note,
                 "the MPFR reference is undefined: every step of the replay leaves the domain or meets a pole");
        return AD__MP_UNDEFINED;
    }
    mpfr_div(d, d, m->h, MPFR_RNDN);
    return 0;
}

int ad__mp_central(ad__mp *m, const double *u, size_t k, double hint, mpfr_ptr d)
{
    ad__mp_step(m, u, k);
    int rc = diff(m, u, k, 1, -1, hint, d);
    if (!rc && !mpfr_number_p(d))
        return domain_edge(m, u, k, hint, d);
    if (!rc) {
        mpfr_div(d, d, m->h, MPFR_RNDN);
        mpfr_div_2ui(d, d, 1, MPFR_RNDN);
    }
    return rc;
}

/* One-sided quotients at steps h and 2h, extrapolated (2 D(h) - D(2h)):
 * their O(h) truncation would otherwise show at 128 bits (h = 2^-42). The
 * quotients are kept at max_prec bits: where the derivative is tiny beside
 * the curvature times h, the extrapolation cancels most of their digits. */
int ad__mp_sided(ad__mp *m, const double *u, size_t k, double hint, long shrink, mpfr_ptr dl,
                 mpfr_ptr dr)
{
    ad__mp_step(m, u, k);
    mpfr_mul_2si(m->h, m->h, -shrink, MPFR_RNDN);
    mpfr_t l1, r1, l2, r2;
    mpfr_inits2((mpfr_prec_t)m->max_prec, l1, r1, l2, r2, (mpfr_ptr)0);
    int rc = diff(m, u, k, 0, -1, hint, l1);
    if (!rc)
        rc = diff(m, u, k, 1, 0, hint, r1);
    if (!rc) {
        mpfr_mul_2ui(m->h, m->h, 1, MPFR_RNDN);
        rc = diff(m, u, k, 0, -1, hint, l2);
        if (!rc)
            rc = diff(m, u, k, 1, 0, hint, r2);
        mpfr_div_2ui(m->h, m->h, 1, MPFR_RNDN);
    }
    if (!rc) {
        /* 2 D(h) - D(2h) = (2 d1 - d2 / 2) / h for the differences d1, d2 */
        mpfr_ptr d1[2] = {l1, r1}, d2[2] = {l2, r2}, out[2] = {dl, dr};
        for (int j = 0; j < 2; j++) {
            if (mpfr_number_p(d1[j]) && mpfr_number_p(d2[j])) {
                mpfr_mul_2ui(d1[j], d1[j], 1, MPFR_RNDN);
                mpfr_div_2ui(d2[j], d2[j], 1, MPFR_RNDN);
                mpfr_sub(d1[j], d1[j], d2[j], MPFR_RNDN);
            }
            mpfr_div(out[j], d1[j], m->h, MPFR_RNDN);
        }
    }
    mpfr_clears(l1, r1, l2, r2, (mpfr_ptr)0);
    return rc;
}
