/* exploding.c - a 30-layer relu net started with weights 1.5x too large: the
 * health report flags exploding gradients and plain SGD overflows at its
 * first step; clipping the global gradient norm keeps training going (the
 * loss falls by more than 1e4), He initialization as designed is healthy,
 * and with a far too large start anomaly mode names the first op whose
 * forward overflows. Asserted. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <ad/ad.h>
#include "common.h"

enum { N = 32, WIDTH = 16, LAYERS = 30, STEPS = 300 };

typedef struct task {
    ad_mlp *net;
    double x[2 * N], y[N];
} task;

static ad_var step(ad_tape *t, void *ud, size_t s)
{
    (void)s;
    task *k = ud;
    ad_var x = ad_const(t, AD_MAT(N, 2), k->x);
    return ad_mse(t, ad_mlp_forward(t, k->net, x), ad_const(t, AD_MAT(N, 1), k->y));
}

/* A deep relu net with He-normal weights times scale. */
static ad_mlp *deep(double scale)
{
    size_t sizes[LAYERS + 1];
    sizes[0] = 2;
    for (int i = 1; i < LAYERS; i++)
        sizes[i] = WIDTH;
    sizes[LAYERS] = 1;
    ad_rng rng = ad_rng_make(30);
    ad_mlp_opts mo = ad_mlp_opts_default();
    mo.init = AD_MLP_INIT_HE_NORMAL;
    mo.weight_scale = scale;
    ad_mlp *m = NULL;
    return ad_mlp_new(sizes, LAYERS + 1, &mo, &rng, &m) == AD_OK ? m : NULL;
}

/* One forward and backward; the health report over the weights W1..W30. */
static bool health(task *k, bool print, double *growth)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_param *W[LAYERS];
    const char *names[LAYERS];
    for (int l = 0; l < LAYERS; l++) {
        W[l] = ad_mlp_weight(k->net, (size_t)l);
        names[l] = ad_mlp_param_names(k->net)[2 * l];
        ad_param_zero_grad(W[l]);
    }
    ad_health_report r;
    bool exploding = true;
    if (ad_backward(t, step(t, k, 0)) == AD_OK &&
        ad_health_check(NULL, W, names, LAYERS, NULL, &r) == AD_OK) {
        if (print)
            ad_health_print_text(&r, stdout);
        exploding = r.exploding;
        *growth = r.growth;
        ad_health_report_free(&r);
    }
    ad_tape_free(t);
    return exploding;
}

/* Trains for STEPS; returns the status, the first and final loss. */
static ad_status train(task *k, double clip, double *first, double *final)
{
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_SGD);
    oo.lr = 0.01;
    ad_optim *o = ad_optim_new(&oo, ad_mlp_params(k->net), ad_mlp_n_params(k->net));
    ad_tape *t = ad_tape_new(NULL);
    ad_train_opts to = ad_train_opts_default();
    to.steps = STEPS;
    to.clip_norm = clip;
    ad_train_result r;
    ad_status st = ad_train(t, o, step, k, &to, &r);
    *first = r.first_loss;
    *final = r.final_loss;
    ad_tape_free(t);
    ad_optim_free(o);
    return st;
}

int main(void)
{
    static task k;
    ad_rng data = ad_rng_make(5);
    ex_regression_data(&data, N, k.x, k.y);
    int ok = 1;

    /* 1. weights 1.5x He: each layer amplifies the signal about 1.5x, 1.5^30 ~ 2e5 in all */
    k.net = deep(1.5);
    double g_bad = NAN, g_he = NAN;
    printf("== %d-layer relu net, He-normal weights x 1.5: health report after one backward\n\n", LAYERS);
    bool bad_explodes = health(&k, true, &g_bad);
    double f0, f1;
    ad_status plain = train(&k, 0.0, &f0, &f1);
    printf("\ntraining without clipping: %s (loss %.3g -> %.3g)\n",
           plain == AD_OK ? "finished" : ad_status_name(plain), f0, f1);
    bool plain_fails = plain != AD_OK || !(f1 < f0);
    ad_mlp_free(k.net);

    k.net = deep(1.5);
    double c0, c1;
    ad_status clipped = train(&k, 1.0, &c0, &c1);
    printf("training with the global gradient norm clipped to 1: %s (loss %.3g -> %.3g)\n",
           clipped == AD_OK ? "finished" : ad_status_name(clipped), c0, c1);
    bool clip_fixes = clipped == AD_OK && c1 < 1e-4 * c0;
    ad_mlp_free(k.net);

    /* 2. weights 1e11 x He: the forward pass overflows; anomaly mode says where */
    k.net = deep(1e11);
    ad_tape *t = ad_tape_new(NULL);
    ad_tape_set_anomaly(t, true);
    step(t, &k, 0);
    printf("\n== weights x 1e11, anomaly mode on:\n%s\n", ad_tape_error(t));
    bool named = ad_tape_status(t) == AD_EDOMAIN && strstr(ad_tape_error(t), "anomaly: node") &&
                 strstr(ad_tape_error(t), "forward gave") &&
                 strstr(ad_tape_error(t), "ad_matmul");
    ad_tape_free(t);
    ad_mlp_free(k.net);

    /* 3. He initialization as designed */
    k.net = deep(1.0);
    printf("\n== He-normal weights: health report after one backward\n\n");
    bool he_explodes = health(&k, true, &g_he);
    ad_mlp_free(k.net);

    ok = bad_explodes && plain_fails && clip_fixes && named && !he_explodes;
    printf("\nfirst/last weight-gradient norm: %.3g with weights x 1.5, %.3g with He\n", g_bad, g_he);
    printf("%s: explosion flagged (x1.5), clipping trains through it, He is healthy, overflow named (x1e11)\n",
           ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
