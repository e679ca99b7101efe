/* layer.h - layers as helpers, not a framework: linear, activations by name, an MLP that owns its parameters. */
#ifndef AD_LAYER_H
#define AD_LAYER_H

#include <stddef.h>
#include "export.h"
#include "status.h"
#include "alloc.h"
#include "tape.h"
#include "init.h"
#include "rng.h"

/**
 * y = x @ W + b: x is [batch, in], W is [in, out], b is [out] and
 * broadcast over the batch, or AD_NIL for no bias.
 * @return y, or AD_NIL with the tape in error (shapes are named by the
 *         matmul or add that rejected them).
 */
AD_API ad_var ad_linear(ad_tape *t, ad_var x, ad_var W, ad_var b);

/**
 * A regularization term to add to a loss: l1 * sum |w| + l2 * sum w^2 over
 * the n variables (usually ad_use of the weights). The gradient of the l2
 * part is 2 l2 w, so l2 = wd / 2 matches SGD's weight_decay wd. |w| is
 * relu(w) + relu(-w), whose gradient at exactly 0 is 0 whatever the tape's
 * relu setting (the smallest subgradient).
 * @return a scalar (a constant 0 when n == 0); AD_NIL with AD_EINVAL recorded
 *         for ws NULL with n > 0, or l1 or l2 negative or not finite.
 */
AD_API ad_var ad_penalty(ad_tape *t, const ad_var *ws, size_t n, double l1, double l2);

/*
 * Activations, as data: each is one row of a table in ad/act.c (name, builder,
 * default parameter, init gain), so adding one is one line there and one
 * value here.
 */
typedef enum ad_act {
    AD_ACT_LINEAR,     /* x                                       */
    AD_ACT_RELU,       /* max(0, x)                               */
    AD_ACT_TANH,       /* tanh x                                  */
    AD_ACT_LEAKY_RELU, /* x > 0 ? x : slope x (param: slope, 0.01) */
    AD_ACT_ELU,        /* x > 0 ? x : alpha (e^x - 1) (param: alpha, 1) */
    AD_ACT_SIGMOID,    /* 1 / (1 + e^-x)                          */
    AD_ACT_COUNT       /* never use: a sentinel                   */
} ad_act;

/**
 * Applies an activation.
 * @param param the activation's parameter (slope, alpha); NAN: its default
 * @return the result; AD_NIL with AD_EINVAL recorded for an unknown act.
 */
AD_API ad_var ad_act_apply(ad_tape *t, ad_act act, ad_var x, double param);

/** @return the activation's name ("relu"), or "?" for an unknown one. */
AD_API const char *ad_act_name(ad_act act);

/** @return the init gain the activation calls for (param NAN: its default). */
AD_API double ad_act_gain(ad_act act, double param);

/** How an MLP's weights start. */
typedef enum ad_mlp_init {
    AD_MLP_INIT_AUTO,           /* He normal (fan in) for relu-family layers, Xavier uniform otherwise */
    AD_MLP_INIT_ZEROS,          /* all zero: symmetry is never broken (examples/zero_init)  */
    AD_MLP_INIT_XAVIER_UNIFORM,
    AD_MLP_INIT_XAVIER_NORMAL,
    AD_MLP_INIT_HE_UNIFORM,
    AD_MLP_INIT_HE_NORMAL,
    AD_MLP_INIT_ORTHOGONAL,
    AD_MLP_INIT_NORMAL,         /* N(0, std^2) with std = weight_scale, nothing else */
    AD_MLP_INIT_COUNT           /* never use */
} ad_mlp_init;

/* MLP settings: fill with ad_mlp_opts_default(), change what you need. */
typedef struct ad_mlp_opts {
    ad_act hidden;        /* activation after every layer but the last (default relu) */
    ad_act output;        /* after the last layer (default linear)                    */
    double act_param;     /* slope/alpha of hidden (NAN: the activation's default)     */
    ad_mlp_init init;     /* default AUTO                                             */
    double weight_scale;  /* multiplies the initial weights (default 1); NORMAL: std  */
    double bias_init;     /* every bias starts here (default 0)                       */
    ad_allocator alloc;   /* for the MLP and its parameters                           */
} ad_mlp_opts;

/** @return the default MLP settings. */
AD_API ad_mlp_opts ad_mlp_opts_default(void);

typedef struct ad_mlp ad_mlp;

/**
 * Creates an MLP with layers sizes[0] -> sizes[1] -> ... -> sizes[n-1], each a
 * weight [in, out] and a bias [out] that the MLP owns, initialized from rng.
 * @param sizes n >= 2 layer widths, each > 0
 * @param out receives the MLP (NULL on failure)
 * @return AD_OK; AD_EINVAL (NULL, n < 2, a zero width, an unknown act or
 *         init, a non-finite scale or bias); AD_ENOMEM.
 */
AD_API ad_status ad_mlp_new(const size_t *sizes, size_t n, const ad_mlp_opts *opts, ad_rng *rng,
                            ad_mlp **out);

/** Frees an MLP and its parameters (NULL is fine). */
AD_API void ad_mlp_free(ad_mlp *m);

/**
 * Records the network on x ([batch, sizes[0]]). Each hidden activation is
 * labeled "h1", "h2", ... (anomaly messages and health reports print them)
 * and kept: ad_mlp_activation returns it until the next forward.
 * @return the output, or AD_NIL with the tape in error (m NULL: AD_EINVAL).
 */
AD_API ad_var ad_mlp_forward(ad_tape *t, ad_mlp *m, ad_var x);

/** @return the number of layers (weights), sizes count minus 1; 0 for NULL. */
AD_API size_t ad_mlp_layers(const ad_mlp *m);

/** @return the parameters in order W1, b1, W2, b2, ...; count via ad_mlp_n_params. */
AD_API ad_param *const *ad_mlp_params(const ad_mlp *m);

/** @return 2 * layers. */
AD_API size_t ad_mlp_n_params(const ad_mlp *m);

/** @return the weight (or bias) of layer i (0-based), NULL when out of range. */
AD_API ad_param *ad_mlp_weight(const ad_mlp *m, size_t i);
AD_API ad_param *ad_mlp_bias(const ad_mlp *m, size_t i);

/** @return parameter names "W1", "b1", ... in ad_mlp_params order. */
AD_API const char *const *ad_mlp_param_names(const ad_mlp *m);

/** @return hidden activation i (0-based) of the last forward, or AD_NIL. */
AD_API ad_var ad_mlp_activation(const ad_mlp *m, size_t i);

#endif
