/* dead_relu.c - a bad setup (hidden biases starting at -3) kills most relu
 * units: the health report shows it and training cannot revive them, while
 * leaky_relu and elu in the same setup keep every unit alive and fit better.
 * Asserted. */
#include <math.h>
#include <stdio.h>
#include <ad/ad.h>
#include "common.h"

enum { N = 128, WIDTH = 32, STEPS = 400 };
#define BAD_BIAS (-3.0)

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

typedef struct outcome {
    double loss, dead_before, dead_after;
} outcome;

/* Dead-unit fraction over both hidden layers on the whole data set. */
static double dead_fraction(task *k, ad_tape *t, bool print)
{
    ad_tape_reset(t);
    step(t, k, 0);
    ad_var acts[2] = {ad_mlp_activation(k->net, 0), ad_mlp_activation(k->net, 1)};
    ad_health_opts ho = ad_health_opts_default();
    ho.units = acts;
    ho.n_units = 2;
    ad_health_report r;
    /* the parameters' gradients are the last training step's */
    if (ad_health_check(t, ad_mlp_params(k->net), ad_mlp_param_names(k->net),
                        ad_mlp_n_params(k->net), &ho, &r) != AD_OK)
        return NAN;
    if (print)
        ad_health_print_text(&r, stdout);
    double dead = (double)(r.units[0].dead + r.units[1].dead) / (2.0 * WIDTH);
    ad_health_report_free(&r);
    return dead;
}

static outcome run(task *k, ad_act act, bool print)
{
    outcome out = {NAN, NAN, NAN};
    ad_rng rng = ad_rng_make(99);
    ad_mlp_opts mo = ad_mlp_opts_default();
    mo.hidden = act;
    mo.act_param = act == AD_ACT_LEAKY_RELU ? 0.1 : NAN;
    mo.bias_init = BAD_BIAS;
    if (ad_mlp_new((size_t[]){2, WIDTH, WIDTH, 1}, 4, &mo, &rng, &k->net) != AD_OK)
        return out;
    ad_init_zeros(ad_mlp_bias(k->net, 2)); /* only the hidden layers start badly */
    ad_tape *t = ad_tape_new(NULL);
    out.dead_before = dead_fraction(k, t, false);
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_SGD);
    oo.lr = 0.05;
    oo.momentum = 0.9;
    ad_optim *o = ad_optim_new(&oo, ad_mlp_params(k->net), ad_mlp_n_params(k->net));
    ad_train_opts to = ad_train_opts_default();
    to.steps = STEPS;
    ad_train_result r;
    if (ad_train(t, o, step, k, &to, &r) == AD_OK)
        out.loss = r.final_loss;
    if (print)
        printf("health report of the relu net after training:\n\n");
    out.dead_after = dead_fraction(k, t, print);
    ad_optim_free(o);
    ad_tape_free(t);
    ad_mlp_free(k->net);
    return out;
}

int main(void)
{
    static task k;
    ad_rng data = ad_rng_make(3);
    ex_regression_data(&data, N, k.x, k.y);
    const ad_act acts[3] = {AD_ACT_RELU, AD_ACT_LEAKY_RELU, AD_ACT_ELU};
    outcome o[3];
    for (int i = 0; i < 3; i++)
        o[i] = run(&k, acts[i], i == 0);
    printf("\n2-%d-%d-1 net, hidden biases start at %g, %d steps of SGD (lr 0.05, momentum 0.9)\n\n",
           WIDTH, WIDTH, BAD_BIAS, STEPS);
    printf("%-12s %14s %14s %12s\n", "activation", "dead before", "dead after", "final loss");
    for (int i = 0; i < 3; i++)
        printf("%-12s %13.0f%% %13.0f%% %12.4g\n", ad_act_name(acts[i]), 100 * o[i].dead_before,
               100 * o[i].dead_after, o[i].loss);
    /* the claims: most relu units are dead and stay dead; leaky_relu and elu
     * have no unit whose output is 0 over the batch, and fit better */
    int ok = o[0].dead_before > 0.5 && o[0].dead_after > 0.5;
    for (int i = 1; i < 3; i++)
        ok &= o[i].dead_before == 0.0 && o[i].dead_after == 0.0 && o[i].loss < o[0].loss;
    printf("\n%s: relu loses most units to the bad start; leaky_relu and elu keep them all\n",
           ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
