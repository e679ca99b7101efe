/* act.c - the activation table: one row per activation (name, builder, default parameter, gain). */
#include <math.h>
#include "internal.h"

static ad_var act_linear(ad_tape *t, ad_var x, double p) { (void)t; (void)p; return x; }
static ad_var act_relu(ad_tape *t, ad_var x, double p) { (void)p; return ad_relu(t, x); }
static ad_var act_tanh(ad_tape *t, ad_var x, double p) { (void)p; return ad_tanh(t, x); }
static ad_var act_leaky(ad_tape *t, ad_var x, double s) { return ad_leaky_relu(t, x, s); }
static ad_var act_elu(ad_tape *t, ad_var x, double a) { return ad_elu(t, x, a); }
static ad_var act_sigmoid(ad_tape *t, ad_var x, double p) { (void)p; return ad_sigmoid(t, x); }

typedef struct act_row {
    const char *name;
    ad_var (*apply)(ad_tape *t, ad_var x, double param);
    double param;          /* default parameter (NAN: none) */
    ad_gain_kind gain;
} act_row;

static const act_row acts[AD_ACT_COUNT] = {
    [AD_ACT_LINEAR] = {"linear", act_linear, NAN, AD_GAIN_LINEAR},
    [AD_ACT_RELU] = {"relu", act_relu, NAN, AD_GAIN_RELU},
    [AD_ACT_TANH] = {"tanh", act_tanh, NAN, AD_GAIN_TANH},
    [AD_ACT_LEAKY_RELU] = {"leaky_relu", act_leaky, 0.01, AD_GAIN_LEAKY_RELU},
    /* elu's gain: PyTorch uses 1 (no closed form); relu's is the better start for deep nets */
    [AD_ACT_ELU] = {"elu", act_elu, 1.0, AD_GAIN_RELU},
    [AD_ACT_SIGMOID] = {"sigmoid", act_sigmoid, NAN, AD_GAIN_SIGMOID},
};

static const act_row *row(ad_act act)
{
    return act >= 0 && act < AD_ACT_COUNT ? &acts[act] : NULL;
}

ad_var ad_act_apply(ad_tape *t, ad_act act, ad_var x, double param)
{
    if (!t || t->status != AD_OK)
        return AD_NIL;
    const act_row *r = row(act);
    if (!r) {
        ad__fail(t, AD_EINVAL, "ad_act_apply: unknown activation %d", (int)act);
        return AD_NIL;
    }
    return r->apply(t, x, isnan(param) ? r->param : param);
}

const char *ad_act_name(ad_act act)
{
    const act_row *r = row(act);
    return r ? r->name : "?";
}

double ad_act_gain(ad_act act, double param)
{
    const act_row *r = row(act);
    if (!r)
        return NAN;
    return ad_init_gain(r->gain, isnan(param) ? r->param : param);
}

ad_var ad_linear(ad_tape *t, ad_var x, ad_var W, ad_var b)
{
    ad_var y = ad_matmul(t, x, W);
    return ad_var_is_nil(b) ? y : ad_add(t, y, b);
}
