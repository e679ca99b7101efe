/* mlp_step.c - one training step of two small networks, float64, through the
 * nn kit (ad_mlp, ad_optim): record forward, loss, backward, SGD update.
 *   M1: 2 -> 64 -> 64 -> 1, relu, batch 64, MSE
 *   M2: 784 -> 128 -> 10, relu, batch 32, softmax cross-entropy
 * Prints `bench: mlp_step_M1 VALUE us` (median of several timed blocks of
 * steps, process CPU time: the machine is small and shared). The same
 * workloads run in bench/peers/ for PyTorch and ADOL-C. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ad/ad.h>

#define BLOCKS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One network, its data and its optimizer. */
typedef struct workload {
    const char *name;
    size_t sizes[4], n_sizes, batch;
    int classify; /* 1: cross-entropy over sizes[last] classes, 0: MSE */
} workload;

static double run(const workload *w, int steps)
{
    ad_rng rng;
    ad_rng_seed(&rng, 42);
    ad_mlp *m = NULL;
    ad_mlp_opts mo = ad_mlp_opts_default();
    if (ad_mlp_new(w->sizes, w->n_sizes, &mo, &rng, &m) != AD_OK) {
        fprintf(stderr, "mlp_step: ad_mlp_new failed\n");
        exit(1);
    }
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_SGD);
    ad_optim *o = ad_optim_new(&oo, ad_mlp_params(m), ad_mlp_n_params(m));
    size_t in = w->sizes[0], out = w->sizes[w->n_sizes - 1];
    double *x = malloc(w->batch * in * sizeof *x), *y = malloc(w->batch * out * sizeof *y);
    for (size_t i = 0; i < w->batch * in; i++)
        x[i] = 2.0 * ad_rng_uniform(&rng) - 1.0;
    for (size_t i = 0; i < w->batch * out; i++)
        y[i] = ad_rng_uniform(&rng);
    for (size_t i = 0; w->classify && i < w->batch; i++)
        y[i] = (double)ad_rng_below(&rng, out); /* class indices */
    ad_tape *t = ad_tape_new(NULL);
    double block[BLOCKS], last = 0.0;
    for (int b = 0; b < BLOCKS; b++) {
        double t0 = now();
        for (int s = 0; s < steps; s++) {
            ad_tape_reset(t);
            ad_var xv = ad_const(t, AD_MAT(w->batch, in), x);
            ad_var pred = ad_mlp_forward(t, m, xv);
            ad_var loss = w->classify ? ad_cross_entropy(t, pred, ad_const(t, AD_VEC(w->batch), y))
                                      : ad_mse(t, pred, ad_const(t, AD_MAT(w->batch, out), y));
            ad_optim_zero_grad(o);
            if (ad_backward(t, loss) != AD_OK || ad_optim_step(o) != AD_OK) {
                fprintf(stderr, "mlp_step: %s\n", ad_tape_error(t));
                exit(1);
            }
            last = ad_value_scalar(t, loss);
        }
        block[b] = (now() - t0) / steps;
    }
    qsort(block, BLOCKS, sizeof block[0], cmp);
    printf("# %s: loss after %d steps %g\n", w->name, BLOCKS * steps, last);
    ad_tape_free(t);
    ad_optim_free(o);
    ad_mlp_free(m);
    free(x), free(y);
    return block[BLOCKS / 2];
}

int main(void)
{
    static const workload M1 = {"M1", {2, 64, 64, 1}, 4, 64, 0};
    static const workload M2 = {"M2", {784, 128, 10}, 3, 32, 1};
    printf("bench: mlp_step_M1 %.1f us\n", 1e6 * run(&M1, 200));
    printf("bench: mlp_step_M2 %.1f us\n", 1e6 * run(&M2, 100));
    return 0;
}
