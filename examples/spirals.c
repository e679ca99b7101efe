/* spirals.c - two-spirals classification (seeded data generated here) with
 * relu, leaky_relu, elu and tanh hidden layers: final accuracy, dead-unit
 * fraction and steps to 95% accuracy, as a table. Asserts every activation
 * learns the spirals (>= 95% training accuracy). */
#include <math.h>
#include <stdio.h>
#include <ad/ad.h>
#include "common.h"

enum { PER_CLASS = 100, N = 2 * PER_CLASS, WIDTH = 16, CHUNK = 50, MAX_STEPS = 500 };
#define GOAL 0.95
#define PI 3.14159265358979323846

typedef struct task {
    ad_mlp *net;
    double x[2 * N], y[N]; /* labels -1 and +1 */
} task;

/* Class c's arm: angle 0.5 .. 4 pi (two turns), radius growing with it, the second arm
 * turned by pi, plus a little Gaussian noise. */
static void spirals(ad_rng *r, task *k)
{
    for (int i = 0; i < N; i++) {
        int c = i % 2;
        double a = 0.5 + 4 * PI * ad_rng_uniform(r);
        double rad = a / (4 * PI);
        k->x[2 * i] = rad * cos(a + c * PI) + 0.02 * ad_rng_normal(r);
        k->x[2 * i + 1] = rad * sin(a + c * PI) + 0.02 * ad_rng_normal(r);
        k->y[i] = c ? 1.0 : -1.0;
    }
}

/* MSE on the ±1 labels through a tanh output; with a sigmoid/cross_entropy
 * op available, ad_cross_entropy on logits is the one-line swap here. */
static ad_var step(ad_tape *t, void *ud, size_t s)
{
    (void)s;
    task *k = ud;
    ad_var x = ad_const(t, AD_MAT(N, 2), k->x);
    return ad_mse(t, ad_mlp_forward(t, k->net, x), ad_const(t, AD_MAT(N, 1), k->y));
}

/* Accuracy and dead-unit fraction (both hidden layers) on the training set. */
static void evaluate(task *k, ad_tape *t, double *acc, double *dead)
{
    ad_tape_reset(t);
    const double *out;
    ad_var y = ad_mlp_forward(t, k->net, ad_const(t, AD_MAT(N, 2), k->x));
    out = ad_value(t, y);
    int right = 0;
    for (int i = 0; out && i < N; i++)
        right += (out[i] > 0) == (k->y[i] > 0);
    *acc = (double)right / N;
    ad_var acts[2] = {ad_mlp_activation(k->net, 0), ad_mlp_activation(k->net, 1)};
    ad_health_opts ho = ad_health_opts_default();
    ho.units = acts;
    ho.n_units = 2;
    ad_health_report r;
    *dead = NAN;
    if (ad_health_check(t, NULL, NULL, 0, &ho, &r) == AD_OK) {
        *dead = (double)(r.units[0].dead + r.units[1].dead) / (2.0 * WIDTH);
        ad_health_report_free(&r);
    }
}

typedef struct row {
    double acc, dead, loss;
    size_t steps_to_goal; /* 0: never */
} row;

static row run(task *k, ad_act act)
{
    row out = {0, NAN, NAN, 0};
    ad_rng rng = ad_rng_make(17);
    ad_mlp_opts mo = ad_mlp_opts_default();
    mo.hidden = act;
    mo.output = AD_ACT_TANH;
    if (ad_mlp_new((size_t[]){2, WIDTH, WIDTH, 1}, 4, &mo, &rng, &k->net) != AD_OK)
        return out;
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_ADAM);
    oo.lr = 0.02;
    ad_optim *o = ad_optim_new(&oo, ad_mlp_params(k->net), ad_mlp_n_params(k->net));
    ad_tape *t = ad_tape_new(NULL);
    ad_train_opts to = ad_train_opts_default();
    to.steps = CHUNK;
    for (size_t done = 0; done < MAX_STEPS; done += CHUNK) {
        ad_train_result r;
        if (ad_train(t, o, step, k, &to, &r) != AD_OK)
            break;
        out.loss = r.final_loss;
        evaluate(k, t, &out.acc, &out.dead);
        if (!out.steps_to_goal && out.acc >= GOAL)
            out.steps_to_goal = done + CHUNK;
    }
    ad_tape_free(t);
    ad_optim_free(o);
    ad_mlp_free(k->net);
    return out;
}

int main(void)
{
    static task k;
    ad_rng data = ad_rng_make(8);
    spirals(&data, &k);
    const ad_act acts[4] = {AD_ACT_RELU, AD_ACT_LEAKY_RELU, AD_ACT_ELU, AD_ACT_TANH};
    printf("two spirals, %d points; 2-%d-%d-1 net, tanh output, MSE on +-1, Adam lr 0.02, %d steps\n\n",
           N, WIDTH, WIDTH, MAX_STEPS);
    printf("%-12s %10s %10s %12s %16s\n", "activation", "accuracy", "dead", "final loss",
           "steps to 95%");
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        row r = run(&k, acts[i]);
        char steps[32];
        if (r.steps_to_goal)
            snprintf(steps, sizeof steps, "%zu", r.steps_to_goal);
        else
            snprintf(steps, sizeof steps, "never");
        printf("%-12s %9.1f%% %9.1f%% %12.4g %16s\n", ad_act_name(acts[i]), 100 * r.acc,
               100 * r.dead, r.loss, steps);
        ok &= r.acc >= GOAL;
    }
    printf("\n%s: every activation reaches %.0f%% training accuracy\n", ok ? "PASS" : "FAIL",
           100 * GOAL);
    return ok ? 0 : 1;
}
