/* optim.c - SGD, Adam and AdamW: state allocated once, steps that allocate nothing. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

struct ad_optim {
    ad_optim_opts o;
    ad_param **params;
    double **m, **v;        /* per parameter: momentum / first moment, second moment */
    size_t n, steps;
    double b1t, b2t;        /* beta1^t, beta2^t, kept as running products         */
    ad_status status;
    char msg[256];
    bool is_static;
};

static ad_optim nomem_optim = {
    .status = AD_ENOMEM, .msg = "ad_optim_new: out of memory", .is_static = true};

ad_optim_opts ad_optim_opts_default(ad_optim_kind kind)
{
    ad_optim_opts o = {.kind = kind, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    if (kind == AD_OPTIM_ADAM || kind == AD_OPTIM_ADAMW)
        o.lr = 1e-3;
    if (kind == AD_OPTIM_ADAMW)
        o.weight_decay = 0.01;
    return o;
}

static ad_status fail(ad_optim *o, ad_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static ad_status fail(ad_optim *o, ad_status st, const char *fmt, ...)
{
    if (o->is_static || o->status != AD_OK)
        return st;
    o->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->msg, sizeof o->msg, fmt, ap);
    va_end(ap);
    return st;
}

static bool in_unit(double x) /* [0, 1); false for NaN */
{
    return x >= 0.0 && x < 1.0;
}

/* Names the first bad setting; AD_OK when all are usable. */
static ad_status check_opts(ad_optim *o, const ad_optim_opts *s)
{
    static const char *const names[] = {"SGD", "Adam", "AdamW"};
    if (s->kind < 0 || s->kind >= AD_OPTIM_COUNT)
        return fail(o, AD_EINVAL, "ad_optim_new: unknown optimizer kind %d", (int)s->kind);
    const char *k = names[s->kind];
    if (!(s->lr > 0.0) || !isfinite(s->lr))
        return fail(o, AD_EINVAL, "ad_optim_new: %s: lr must be finite and > 0, got %g", k, s->lr);
    if (!(s->weight_decay >= 0.0) || !isfinite(s->weight_decay))
        return fail(o, AD_EINVAL, "ad_optim_new: %s: weight_decay must be finite and >= 0, got %g",
                    k, s->weight_decay);
    if (s->kind == AD_OPTIM_SGD) {
        if (!in_unit(s->momentum))
            return fail(o, AD_EINVAL, "ad_optim_new: SGD: momentum must be in [0, 1), got %g",
                        s->momentum);
        if (s->nesterov && s->momentum == 0.0)
            return fail(o, AD_EINVAL, "ad_optim_new: SGD: nesterov needs momentum > 0");
        return AD_OK;
    }
    if (!in_unit(s->beta1))
        return fail(o, AD_EINVAL, "ad_optim_new: %s: beta1 must be in [0, 1), got %g", k, s->beta1);
    if (!in_unit(s->beta2))
        return fail(o, AD_EINVAL, "ad_optim_new: %s: beta2 must be in [0, 1), got %g", k, s->beta2);
    if (!(s->eps > 0.0) || !isfinite(s->eps))
        return fail(o, AD_EINVAL, "ad_optim_new: %s: eps must be finite and > 0, got %g", k, s->eps);
    return AD_OK;
}

/* Allocates the parameter list and n state vectors of each parameter's size
 * into *slots (NULL when the kind needs none). */
static bool alloc_state(ad_optim *o, double ***slots)
{
    size_t bytes;
    if (!ad__mul_size(o->n, sizeof **slots, &bytes))
        return false;
    *slots = ad__alloc(&o->o.alloc, bytes ? bytes : 1);
    if (!*slots)
        return false;
    memset(*slots, 0, bytes);
    for (size_t i = 0; i < o->n; i++) {
        size_t c = o->params[i]->count, b;
        if (!ad__mul_size(c, sizeof(double), &b))
            return false;
        (*slots)[i] = ad__alloc(&o->o.alloc, b ? b : sizeof(double));
        if (!(*slots)[i])
            return false;
        memset((*slots)[i], 0, b);
    }
    return true;
}

static void free_state(ad_optim *o, double **slots)
{
    if (!slots)
        return;
    for (size_t i = 0; i < o->n; i++)
        if (slots[i])
            ad__free(&o->o.alloc, slots[i], o->params[i]->count ? o->params[i]->count * sizeof(double)
                                                                 : sizeof(double));
    ad__free(&o->o.alloc, slots, o->n ? o->n * sizeof *slots : 1);
}

ad_optim *ad_optim_new(const ad_optim_opts *opts, ad_param *const *params, size_t n)
{
    ad_optim_opts s = opts ? *opts : ad_optim_opts_default(AD_OPTIM_SGD);
    ad_optim *o = ad__alloc(&s.alloc, sizeof *o);
    if (!o)
        return &nomem_optim;
    memset(o, 0, sizeof *o);
    o->o = s;
    o->b1t = o->b2t = 1.0;
    if (check_opts(o, &s) != AD_OK)
        return o;
    if (n && !params) {
        fail(o, AD_EINVAL, "ad_optim_new: params is NULL with n = %zu", n);
        return o;
    }
    for (size_t i = 0; i < n; i++)
        if (!params[i]) {
            fail(o, AD_EINVAL, "ad_optim_new: parameter %zu is NULL", i);
            return o;
        }
    size_t bytes;
    if (!ad__mul_size(n, sizeof *o->params, &bytes) ||
        !(o->params = ad__alloc(&s.alloc, bytes ? bytes : 1))) {
        ad__free(&s.alloc, o, sizeof *o);
        return &nomem_optim;
    }
    memcpy(o->params, params, bytes);
    o->n = n;
    bool need_m = s.kind != AD_OPTIM_SGD || s.momentum > 0.0;
    bool need_v = s.kind != AD_OPTIM_SGD;
    if ((need_m && !alloc_state(o, &o->m)) || (need_v && !alloc_state(o, &o->v))) {
        ad_optim_free(o);
        return &nomem_optim;
    }
    return o;
}

void ad_optim_free(ad_optim *o)
{
    if (!o || o->is_static)
        return;
    ad_allocator a = o->o.alloc;
    free_state(o, o->m);
    free_state(o, o->v);
    if (o->params)
        ad__free(&a, o->params, o->n ? o->n * sizeof *o->params : 1);
    ad__free(&a, o, sizeof *o);
}

static void sgd_update(const ad_optim *o, size_t k)
{
    ad_param *p = o->params[k];
    double lr = o->o.lr, wd = o->o.weight_decay, mu = o->o.momentum;
    double *b = o->m ? o->m[k] : NULL;
    for (size_t i = 0; i < p->count; i++) {
        double g = p->grad[i] + wd * p->data[i];
        if (b) {
            b[i] = mu * b[i] + g; /* from a zero buffer: PyTorch's "b = g" on step 1 */
            g = o->o.nesterov ? g + mu * b[i] : b[i];
        }
        p->data[i] -= lr * g;
    }
}

static void adam_update(const ad_optim *o, size_t k)
{
    ad_param *p = o->params[k];
    double lr = o->o.lr, b1 = o->o.beta1, b2 = o->o.beta2, eps = o->o.eps;
    bool decoupled = o->o.kind == AD_OPTIM_ADAMW;
    double wd = o->o.weight_decay;
    double c1 = 1.0 - o->b1t, c2 = 1.0 - o->b2t; /* bias corrections */
    double *m = o->m[k], *v = o->v[k];
    for (size_t i = 0; i < p->count; i++) {
        double g = p->grad[i];
        if (decoupled)
            p->data[i] *= 1.0 - lr * wd;
        else
            g += wd * p->data[i];
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        p->data[i] -= lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps);
    }
}

ad_status ad_optim_step(ad_optim *o)
{
    if (!o)
        return AD_EINVAL;
    if (o->status != AD_OK)
        return o->status;
    /* check first so a bad gradient leaves every parameter as it was */
    for (size_t k = 0; k < o->n; k++) {
        const ad_param *p = o->params[k];
        for (size_t i = 0; i < p->count; i++)
            if (!isfinite(p->grad[i]))
                return fail(o, AD_EDOMAIN,
                            "ad_optim_step: step %zu: parameter %zu has gradient %g at element %zu",
                            o->steps + 1, k, p->grad[i], i);
    }
    o->steps++;
    o->b1t *= o->o.beta1;
    o->b2t *= o->o.beta2;
    for (size_t k = 0; k < o->n; k++) {
        if (o->o.kind == AD_OPTIM_SGD)
            sgd_update(o, k);
        else
            adam_update(o, k);
    }
    return AD_OK;
}

void ad_optim_zero_grad(ad_optim *o)
{
    if (!o)
        return;
    for (size_t k = 0; k < o->n; k++)
        ad_param_zero_grad(o->params[k]);
}

ad_status ad_optim_set_lr(ad_optim *o, double lr)
{
    if (!o)
        return AD_EINVAL;
    if (!(lr > 0.0) || !isfinite(lr))
        return fail(o, AD_EINVAL, "ad_optim_set_lr: lr must be finite and > 0, got %g", lr);
    if (o->status != AD_OK)
        return o->status;
    o->o.lr = lr;
    return AD_OK;
}

double ad_optim_lr(const ad_optim *o)
{
    return o ? o->o.lr : NAN;
}

size_t ad_optim_steps(const ad_optim *o)
{
    return o ? o->steps : 0;
}

ad_param *const *ad_optim_params(const ad_optim *o, size_t *n)
{
    if (n)
        *n = o ? o->n : 0;
    return o && o->n ? o->params : NULL;
}

ad_status ad_optim_status(const ad_optim *o)
{
    return o ? o->status : AD_EINVAL;
}

const char *ad_optim_error(const ad_optim *o)
{
    return o ? o->msg : "ad_optim_error: the optimizer is NULL";
}
