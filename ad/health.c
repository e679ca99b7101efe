/* health.c - computing the gradient-health report from parameters and a tape. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

ad_health_opts ad_health_opts_default(void)
{
    return (ad_health_opts){.explode_norm = 1e3, .vanish_norm = 1e-7, .growth_limit = 1e3,
                            .dead_limit = 0.5};
}

/* Norm with scaling by the largest |g| so huge gradients report a finite norm. */
static void grad_stats(const ad_param *p, double *norm, double *max_abs, bool *nonfinite)
{
    double big = 0.0, s = 0.0;
    *nonfinite = false;
    for (size_t i = 0; i < p->count; i++) {
        double a = fabs(p->grad[i]);
        if (!isfinite(a))
            *nonfinite = true;
        else if (a > big)
            big = a;
    }
    if (big > 0.0)
        for (size_t i = 0; i < p->count; i++)
            if (isfinite(p->grad[i])) {
                double q = p->grad[i] / big;
                s += q * q;
            }
    *max_abs = *nonfinite ? INFINITY : big;
    *norm = *nonfinite ? INFINITY : big * sqrt(s);
}

/* Counts the units of a node whose output is exactly 0 in every row. */
static void dead_units(const ad__node *n, size_t index, ad_health_units *u)
{
    size_t units = n->shape->rank >= 2 ? n->shape->dim[n->shape->rank - 1] : n->count;
    size_t rows = units ? n->count / units : 0;
    memset(u, 0, sizeof *u);
    u->node = index;
    if (n->label)
        snprintf(u->label, sizeof u->label, "%s", n->label);
    u->units = units;
    for (size_t j = 0; j < units; j++) {
        bool dead = true;
        for (size_t r = 0; r < rows && dead; r++)
            dead = n->val[r * units + j] == 0.0;
        u->dead += dead;
    }
    u->dead_fraction = units ? (double)u->dead / (double)units : 0.0;
}

static bool valid_opts(const ad_health_opts *o)
{
    return o->explode_norm > 0.0 && o->vanish_norm >= 0.0 && o->growth_limit > 0.0 &&
           o->dead_limit >= 0.0 && o->dead_limit <= 1.0 && !(o->n_units && !o->units);
}

static ad_status fill_units(const ad_tape *t, const ad_health_opts *o, ad_health_report *r)
{
    size_t n = 0;
    if (!ad__tape_sync(t)) /* deferred scalar relus are units too */
        return AD_ENOMEM;
    if (o->units) {
        for (size_t k = 0; k < o->n_units; k++)
            if (!ad_value(t, o->units[k]))
                return AD_EHANDLE;
        n = o->n_units;
    } else {
        for (size_t i = 0; i < t->n_nodes; i++)
            n += t->nodes[i].op == &ad_op_relu;
    }
    if (n == 0)
        return AD_OK;
    size_t bytes;
    if (!ad__mul_size(n, sizeof *r->units, &bytes) || !(r->units = ad__alloc(&r->alloc, bytes)))
        return AD_ENOMEM;
    r->n_units = n;
    size_t k = 0;
    for (size_t i = 0; i < (o->units ? o->n_units : t->n_nodes); i++) {
        size_t idx = o->units ? o->units[i].index : i;
        if (!o->units && t->nodes[idx].op != &ad_op_relu)
            continue;
        ad_health_units *u = &r->units[k++];
        dead_units(&t->nodes[idx], idx, u);
        u->flagged = u->dead_fraction > o->dead_limit;
        r->dead |= u->flagged;
    }
    return AD_OK;
}

ad_status ad_health_check(const ad_tape *t, ad_param *const *params, const char *const *names,
                          size_t n, const ad_health_opts *opts, ad_health_report *out)
{
    if (!out)
        return AD_EINVAL;
    ad_health_opts o = opts ? *opts : ad_health_opts_default();
    memset(out, 0, sizeof *out);
    out->alloc = o.alloc;
    out->growth = NAN;
    if ((n && !params) || !valid_opts(&o))
        return AD_EINVAL;
    for (size_t k = 0; k < n; k++)
        if (!params[k])
            return AD_EINVAL;
    size_t bytes;
    if (n) {
        if (!ad__mul_size(n, sizeof *out->params, &bytes) ||
            !(out->params = ad__alloc(&o.alloc, bytes)))
            return AD_ENOMEM;
        out->n_params = n;
    }
    for (size_t k = 0; k < n; k++) {
        ad_health_param *h = &out->params[k];
        bool nonfinite;
        grad_stats(params[k], &h->norm, &h->max_abs, &nonfinite);
        if (names && names[k])
            snprintf(h->name, sizeof h->name, "%s", names[k]);
        else
            snprintf(h->name, sizeof h->name, "param%zu", k);
        h->count = params[k]->count;
        double prev = k ? out->params[k - 1].norm : 0.0;
        h->ratio = prev > 0.0 && isfinite(prev) && isfinite(h->norm) ? h->norm / prev : NAN;
        h->flags = (nonfinite ? AD_HEALTH_NONFINITE : 0) |
                   (nonfinite || h->norm > o.explode_norm ? AD_HEALTH_EXPLODING : 0) |
                   (h->norm < o.vanish_norm ? AD_HEALTH_VANISHING : 0);
        out->exploding |= (h->flags & AD_HEALTH_EXPLODING) != 0;
        out->vanishing |= (h->flags & AD_HEALTH_VANISHING) != 0;
        out->nonfinite |= nonfinite;
    }
    if (n >= 2) {
        double first = out->params[0].norm, last = out->params[n - 1].norm;
        if (last > 0.0 && isfinite(first) && isfinite(last))
            out->growth = first / last;
        /* gradients flow output to input: the first layer sees the product of every
         * layer's amplification, so its ratio to the last shows growth or decay */
        out->exploding |= out->growth > o.growth_limit;
        out->vanishing |= out->growth < 1.0 / o.growth_limit;
    }
    ad_status st = t ? fill_units(t, &o, out) : AD_OK;
    if (st != AD_OK)
        ad_health_report_free(out);
    return st;
}

void ad_health_report_free(ad_health_report *r)
{
    if (!r)
        return;
    if (r->params)
        ad__free(&r->alloc, r->params, r->n_params * sizeof *r->params);
    if (r->units)
        ad__free(&r->alloc, r->units, r->n_units * sizeof *r->units);
    ad_allocator a = r->alloc;
    memset(r, 0, sizeof *r);
    r->alloc = a;
    r->growth = NAN;
}
