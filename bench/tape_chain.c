/* tape_chain.c - the tape's overhead: a chain of 10^6 scalar ops (mul, add,
 * tanh, relu, exp) in plain C doubles, then taped forward + backward; prints
 * the median ratio of several repetitions and the bytes per recorded op. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ad/ad.h>

#define N_OPS 1000000
#define REPS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The op sequence cycles mul, add, tanh, relu, exp; constants keep it bounded. */
static double plain_chain(double x)
{
    double v = x;
    for (int i = 0; i < N_OPS; i += 5) {
        v = v * 0.999;
        v = v + 0.001;
        v = tanh(v);
        v = v > 0.0 ? v : 0.0;
        v = exp(v) - 0.9; /* keeps v positive, so relu and tanh stay on a live piece */
    }
    return v;
}

static double taped_chain(ad_tape *t, double x, double *grad)
{
    ad_tape_reset(t);
    ad_var c1 = ad_const(t, AD_SCALAR, (double[]){0.999});
    ad_var c2 = ad_const(t, AD_SCALAR, (double[]){0.001});
    ad_var c3 = ad_const(t, AD_SCALAR, (double[]){-0.9});
    ad_var xv = ad_scalar(t, x), v = xv;
    for (int i = 0; i < N_OPS; i += 5) {
        v = ad_mul(t, v, c1);
        v = ad_add(t, v, c2);
        v = ad_tanh(t, v);
        v = ad_relu(t, v);
        v = ad_add(t, ad_exp(t, v), c3);
    }
    if (ad_backward(t, v) != AD_OK) {
        fprintf(stderr, "tape_chain: %s\n", ad_tape_error(t));
        exit(1);
    }
    *grad = ad_grad(t, xv)[0];
    return ad_value_scalar(t, v);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    ad_tape *t = ad_tape_new(NULL);
    double plain[REPS], taped[REPS], sink = 0.0, grad = 0.0;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        sink += plain_chain(0.3 + 1e-3 * r);
        double t1 = now();
        sink += taped_chain(t, 0.3 + 1e-3 * r, &grad);
        double t2 = now();
        plain[r] = t1 - t0;
        taped[r] = t2 - t1;
    }
    size_t nodes = ad_tape_size(t), bytes = ad_tape_bytes(t);
    double ratio[REPS];
    for (int r = 0; r < REPS; r++)
        ratio[r] = taped[r] / plain[r];
    qsort(ratio, REPS, sizeof ratio[0], cmp);
    qsort(plain, REPS, sizeof plain[0], cmp);
    qsort(taped, REPS, sizeof taped[0], cmp);
    printf("# %d ops (N/5 each of mul, add, tanh, relu, exp, plus one add per exp on the tape)\n", N_OPS);
    printf("# plain median %.3f ms, taped forward+backward median %.3f ms (%d reps), checksum %g, grad %g\n",
           1e3 * plain[REPS / 2], 1e3 * taped[REPS / 2], REPS, sink, grad);
    printf("bench: tape_chain_ratio %.2f x\n", ratio[REPS / 2]);
    printf("bench: tape_bytes_per_op %.1f bytes\n", (double)bytes / (double)nodes);
    ad_tape_free(t);
    return 0;
}
