/* ref_eval.c - replays the evaluator's trace in MPFR: the forward reference `hunt` measures ulps against. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include "ref_eval.h"

/* The check API gives the reference gradient but not the reference value, so
 * the tools replay the program they built themselves, op by op. */

typedef struct slot {
    mpfr_ptr v;   /* count values, or NULL while not computed */
    size_t n;
} slot;

static bool leaf(const ad_tape *t, ad_var x, mpfr_prec_t prec, slot *s)
{
    ad_shape sh = ad_var_shape(t, x);
    const double *d = ad_value(t, x);
    if (!d || ad_shape_count(&sh, &s->n) != AD_OK)
        return false;
    s->v = malloc((s->n ? s->n : 1) * sizeof *s->v);
    if (!s->v)
        return false;
    for (size_t k = 0; k < s->n; k++) {
        mpfr_init2(s->v + k, prec);
        mpfr_set_d(s->v + k, d[k], MPFR_RNDN);
    }
    return true;
}

static void slot_free(slot *s)
{
    for (size_t k = 0; s->v && k < s->n; k++)
        mpfr_clear(s->v + k);
    free(s->v);
}

bool ref_eval(const ad_tape *t, const expr_trace *tr, ad_var out, mpfr_prec_t prec, mpfr_ptr y,
              char *why, size_t len)
{
    size_t n_nodes = ad_tape_size(t);
    slot *sl = calloc(n_nodes ? n_nodes : 1, sizeof *sl);
    bool ok = sl != NULL;
    if (!ok)
        snprintf(why, len, "out of memory");
    for (size_t i = 0; ok && i < tr->n; i++) {
        const expr_step *st = &tr->steps[i];
        ad_ref_args a = {.n_in = st->n_in, .attr = st->attr, .ys = ad_var_shape(t, st->out)};
        for (unsigned k = 0; ok && k < st->n_in; k++) {
            slot *in = &sl[st->in[k].index];
            if (!in->v && !leaf(t, st->in[k], prec, in))
                ok = false, snprintf(why, len, "out of memory");
            a.x[k] = in->v;
            a.xs[k] = ad_var_shape(t, st->in[k]);
        }
        slot *o = &sl[st->out.index];
        if (ok && !st->op->reference)
            ok = false, snprintf(why, len, "op '%s' has no MPFR reference", st->op->name);
        if (ok && !o->v) {
            ok = leaf(t, st->out, prec, o); /* allocates and sizes; the reference overwrites */
            if (!ok)
                snprintf(why, len, "out of memory");
        }
        if (ok && st->op->reference(&a, o->v, MPFR_RNDN) != 0)
            ok = false, snprintf(why, len, "the MPFR reference of '%s' failed", st->op->name);
    }
    if (ok) {
        slot *o = &sl[out.index];
        if (!o->v)
            ok = leaf(t, out, prec, o);
        if (ok)
            mpfr_set(y, o->v, MPFR_RNDN);
        else
            snprintf(why, len, "out of memory");
    }
    for (size_t i = 0; sl && i < n_nodes; i++)
        slot_free(&sl[i]);
    free(sl);
    return ok;
}

double ref_ulps(double engine, mpfr_srcptr ref)
{
    double r = mpfr_get_d(ref, MPFR_RNDN);
    if (isnan(engine) || mpfr_nan_p(ref))
        return isnan(engine) && mpfr_nan_p(ref) ? 0.0 : INFINITY;
    if (isinf(engine) || isinf(r))
        return engine == r ? 0.0 : INFINITY;
    /* |engine - ref| exactly, over the ulp of the double nearest ref */
    mpfr_t d;
    mpfr_init2(d, mpfr_get_prec(ref) + 64);
    mpfr_set_d(d, engine, MPFR_RNDN);
    mpfr_sub(d, d, ref, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    int e;
    frexp(r, &e);
    double ulp = r == 0.0 || e - 53 < -1074 ? 0x1p-1074 : ldexp(1.0, e - 53);
    double u = mpfr_get_d(d, MPFR_RNDU) / ulp;
    mpfr_clear(d);
    return u;
}
