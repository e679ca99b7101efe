/* mlp.c - a multi-layer perceptron helper that owns its parameters and records itself on a tape. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define NAME_LEN 24

struct ad_mlp {
    ad_mlp_opts o;
    size_t layers;
    ad_param **params;          /* W1, b1, W2, b2, ...                 */
    char (*names)[NAME_LEN];    /* "W1", "b1", ...                     */
    const char **name_ptrs;
    ad_var *acts;               /* hidden activations of the last forward */
};

ad_mlp_opts ad_mlp_opts_default(void)
{
    return (ad_mlp_opts){.hidden = AD_ACT_RELU, .output = AD_ACT_LINEAR, .act_param = NAN,
                         .init = AD_MLP_INIT_AUTO, .weight_scale = 1.0, .bias_init = 0.0};
}

static bool relu_family(ad_act a)
{
    return a == AD_ACT_RELU || a == AD_ACT_LEAKY_RELU || a == AD_ACT_ELU;
}

/* Initializes one weight; act is the activation that consumes its output. */
static ad_status init_weight(ad_param *W, const ad_mlp_opts *o, ad_act act, ad_rng *r)
{
    double gain = ad_act_gain(act, act == o->hidden ? o->act_param : NAN);
    ad_mlp_init k = o->init;
    if (k == AD_MLP_INIT_AUTO)
        k = relu_family(act) ? AD_MLP_INIT_HE_NORMAL : AD_MLP_INIT_XAVIER_UNIFORM;
    ad_status st;
    switch (k) {
    case AD_MLP_INIT_ZEROS: return ad_init_zeros(W);
    case AD_MLP_INIT_NORMAL: return ad_init_normal(W, r, 0.0, o->weight_scale);
    case AD_MLP_INIT_XAVIER_UNIFORM: st = ad_init_xavier_uniform(W, r, gain); break;
    case AD_MLP_INIT_XAVIER_NORMAL: st = ad_init_xavier_normal(W, r, gain); break;
    case AD_MLP_INIT_HE_UNIFORM: st = ad_init_kaiming_uniform(W, r, AD_FAN_IN, gain); break;
    case AD_MLP_INIT_HE_NORMAL: st = ad_init_kaiming_normal(W, r, AD_FAN_IN, gain); break;
    case AD_MLP_INIT_ORTHOGONAL: st = ad_init_orthogonal(W, r, gain); break;
    default: return AD_EINVAL;
    }
    if (st == AD_OK && o->weight_scale != 1.0)
        for (size_t i = 0; i < W->count; i++)
            W->data[i] *= o->weight_scale;
    return st;
}

static bool valid_opts(const ad_mlp_opts *o)
{
    return o->hidden >= 0 && o->hidden < AD_ACT_COUNT && o->output >= 0 && o->output < AD_ACT_COUNT &&
           o->init >= 0 && o->init < AD_MLP_INIT_COUNT && isfinite(o->weight_scale) &&
           isfinite(o->bias_init) && !isinf(o->act_param);
}

/* Allocates n * size bytes, zeroed; NULL on overflow or out of memory. */
static void *zalloc(const ad_allocator *a, size_t n, size_t size)
{
    size_t bytes;
    if (!ad__mul_size(n, size, &bytes))
        return NULL;
    void *p = ad__alloc(a, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

ad_status ad_mlp_new(const size_t *sizes, size_t n, const ad_mlp_opts *opts, ad_rng *rng,
                     ad_mlp **out)
{
    if (!out)
        return AD_EINVAL;
    *out = NULL;
    ad_mlp_opts o = opts ? *opts : ad_mlp_opts_default();
    if (!sizes || n < 2 || !rng || !valid_opts(&o))
        return AD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (sizes[i] == 0)
            return AD_EINVAL;
    ad_mlp *m = zalloc(&o.alloc, 1, sizeof *m);
    if (!m)
        return AD_ENOMEM;
    m->o = o;
    m->layers = n - 1;
    m->params = zalloc(&o.alloc, 2 * m->layers, sizeof *m->params);
    m->names = zalloc(&o.alloc, 2 * m->layers, sizeof *m->names);
    m->name_ptrs = zalloc(&o.alloc, 2 * m->layers, sizeof *m->name_ptrs);
    m->acts = zalloc(&o.alloc, m->layers, sizeof *m->acts);
    if (!m->params || !m->names || !m->name_ptrs || !m->acts) {
        ad_mlp_free(m);
        return AD_ENOMEM;
    }
    ad_status st = AD_OK;
    for (size_t l = 0; l < m->layers && st == AD_OK; l++) {
        ad_param **W = &m->params[2 * l], **b = &m->params[2 * l + 1];
        st = ad_param_new(AD_MAT(sizes[l], sizes[l + 1]), NULL, &o.alloc, W);
        if (st == AD_OK)
            st = ad_param_new(AD_VEC(sizes[l + 1]), NULL, &o.alloc, b);
        if (st == AD_OK)
            st = init_weight(*W, &o, l + 1 == m->layers ? o.output : o.hidden, rng);
        if (st == AD_OK)
            st = ad_init_constant(*b, o.bias_init);
        snprintf(m->names[2 * l], NAME_LEN, "W%zu", l + 1);
        snprintf(m->names[2 * l + 1], NAME_LEN, "b%zu", l + 1);
        m->name_ptrs[2 * l] = m->names[2 * l];
        m->name_ptrs[2 * l + 1] = m->names[2 * l + 1];
    }
    if (st != AD_OK) {
        ad_mlp_free(m);
        return st;
    }
    *out = m;
    return AD_OK;
}

void ad_mlp_free(ad_mlp *m)
{
    if (!m)
        return;
    ad_allocator a = m->o.alloc;
    size_t np = 2 * m->layers;
    if (m->params)
        for (size_t i = 0; i < np; i++)
            ad_param_free(m->params[i]);
    if (m->params)
        ad__free(&a, m->params, np * sizeof *m->params);
    if (m->names)
        ad__free(&a, m->names, np * sizeof *m->names);
    if (m->name_ptrs)
        ad__free(&a, m->name_ptrs, np * sizeof *m->name_ptrs);
    if (m->acts)
        ad__free(&a, m->acts, m->layers * sizeof *m->acts);
    ad__free(&a, m, sizeof *m);
}

ad_var ad_mlp_forward(ad_tape *t, ad_mlp *m, ad_var x)
{
    if (!t || t->status != AD_OK)
        return AD_NIL;
    if (!m) {
        ad__fail(t, AD_EINVAL, "ad_mlp_forward: the MLP is NULL");
        return AD_NIL;
    }
    ad_var h = x;
    for (size_t l = 0; l < m->layers; l++) {
        ad_var z = ad_linear(t, h, ad_use(t, m->params[2 * l]), ad_use(t, m->params[2 * l + 1]));
        if (l + 1 == m->layers)
            return ad_act_apply(t, m->o.output, z, NAN);
        char label[NAME_LEN];
        snprintf(label, sizeof label, "h%zu", l + 1);
        h = ad_var_label(t, ad_act_apply(t, m->o.hidden, z, m->o.act_param), label);
        m->acts[l] = h;
    }
    return h;
}

size_t ad_mlp_layers(const ad_mlp *m)
{
    return m ? m->layers : 0;
}

ad_param *const *ad_mlp_params(const ad_mlp *m)
{
    return m ? m->params : NULL;
}

size_t ad_mlp_n_params(const ad_mlp *m)
{
    return m ? 2 * m->layers : 0;
}

ad_param *ad_mlp_weight(const ad_mlp *m, size_t i)
{
    return m && i < m->layers ? m->params[2 * i] : NULL;
}

ad_param *ad_mlp_bias(const ad_mlp *m, size_t i)
{
    return m && i < m->layers ? m->params[2 * i + 1] : NULL;
}

const char *const *ad_mlp_param_names(const ad_mlp *m)
{
    return m ? m->name_ptrs : NULL;
}

ad_var ad_mlp_activation(const ad_mlp *m, size_t i)
{
    return m && i + 1 < m->layers ? m->acts[i] : AD_NIL;
}
