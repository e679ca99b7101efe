/* tape_chain.c - the tape's overhead: a chain of 10^6 scalar ops in plain C
 * doubles, then taped forward + backward; prints the median ratio of several
 * repetitions and the bytes per recorded op, for two mixes:
 *   transcendental: mul, add, tanh, relu, exp (libm dominates the plain run)
 *   arithmetic:     mul, add, relu (1-2 ns per op plain: the tape's own cost)
 * Times are process CPU time (the machine is small and shared). */
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
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* mul, add, relu; the constants keep v near 0.5 on relu's live piece. */
static double plain_arith(double x)
{
    double v = x;
    for (int i = 0; i < N_OPS; i += 3) {
        v = v * 0.999;
        v = v + 0.0005;
        v = v > 0.0 ? v : 0.0;
    }
    return v;
}

static double taped_arith(ad_tape *t, double x, double *grad)
{
    ad_tape_reset(t);
    ad_var c1 = ad_const(t, AD_SCALAR, (double[]){0.999});
    ad_var c2 = ad_const(t, AD_SCALAR, (double[]){0.0005});
    ad_var xv = ad_scalar(t, x), v = xv;
    for (int i = 0; i < N_OPS; i += 3)
        v = ad_relu(t, ad_add(t, ad_mul(t, v, c1), c2));
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

/* Runs one mix REPS times, alternating plain and taped, and prints its figures. */
static void mix(const char *name, const char *ns_name, const char *desc, double (*plain_fn)(double),
                double (*taped_fn)(ad_tape *, double, double *), int tape_bytes)
{
    ad_tape *t = ad_tape_new(NULL);
    double plain[REPS], taped[REPS], ratio[REPS], sink = 0.0, grad = 0.0;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        sink += plain_fn(0.3 + 1e-3 * r);
        double t1 = now();
        sink += taped_fn(t, 0.3 + 1e-3 * r, &grad);
        double t2 = now();
        plain[r] = t1 - t0;
        taped[r] = t2 - t1;
        ratio[r] = taped[r] / plain[r];
    }
    size_t nodes = ad_tape_size(t), bytes = ad_tape_bytes(t);
    qsort(ratio, REPS, sizeof ratio[0], cmp);
    qsort(plain, REPS, sizeof plain[0], cmp);
    qsort(taped, REPS, sizeof taped[0], cmp);
    printf("# %s: %d ops (%s)\n", name, N_OPS, desc);
    printf("# plain median %.3f ms (%.2f ns/op), taped forward+backward median %.3f ms (%d reps), "
           "checksum %g, grad %g\n",
           1e3 * plain[REPS / 2], 1e9 * plain[REPS / 2] / N_OPS, 1e3 * taped[REPS / 2], REPS, sink, grad);
    printf("bench: %s %.2f x\n", name, ratio[REPS / 2]);
    /* absolute time per op, for comparing with peers (bench/peers/) */
    printf("bench: %s_ns_per_op %.2f ns\n", ns_name, 1e9 * taped[REPS / 2] / N_OPS);
    if (tape_bytes)
        printf("bench: tape_bytes_per_op %.1f bytes\n", (double)bytes / (double)nodes);
    ad_tape_free(t);
}

int main(void)
{
    mix("tape_chain_ratio", "tape_chain", "N/5 each of mul, add, tanh, relu, exp, plus one add per exp on the tape",
        plain_chain, taped_chain, 1);
    mix("tape_chain_arith_ratio", "tape_chain_arith", "N/3 each of mul, add, relu", plain_arith, taped_arith, 0);
    return 0;
}
