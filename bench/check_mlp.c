/* check_mlp.c - what checking a gradient costs: an MLP 2 -> 64 -> 64 -> 1
 * (tanh, batch 64, 4417 parameters), its per-coordinate FD check, its fast
 * (random direction) FD check, and the MPFR fast check counted in replays.
 * Prints `bench: NAME VALUE unit` lines; timings are process CPU time, the
 * median of several whole ad_check_grad calls (the machine is small and
 * shared, so wall time says little). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ad/ad.h>

#define BATCH 64
#define HIDDEN 64
#define REPS_COORD 3
#define REPS_FAST 9

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A fixed LCG keeps the weights the same in every run. */
static double uniform(unsigned long long *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) * 0x1p-53 * 2.0 - 1.0;
}

static ad_param *param(ad_shape s, double scale, unsigned long long *seed)
{
    size_t n = 1;
    for (unsigned i = 0; i < s.rank; i++)
        n *= s.dim[i];
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = scale * uniform(seed);
    ad_param *p = NULL;
    ad_param_new(s, d, NULL, &p);
    free(d);
    return p;
}

int main(void)
{
    unsigned long long seed = 42;
    ad_param *w1 = param(AD_MAT(2, HIDDEN), 0.7, &seed), *b1 = param(AD_VEC(HIDDEN), 0.1, &seed);
    ad_param *w2 = param(AD_MAT(HIDDEN, HIDDEN), 0.18, &seed), *b2 = param(AD_VEC(HIDDEN), 0.1, &seed);
    ad_param *w3 = param(AD_MAT(HIDDEN, 1), 0.18, &seed), *b3 = param(AD_VEC(1), 0.1, &seed);
    double xs[BATCH * 2], ys[BATCH];
    for (int i = 0; i < BATCH; i++) {
        xs[2 * i] = uniform(&seed);
        xs[2 * i + 1] = uniform(&seed);
        ys[i] = sin(3 * xs[2 * i]) * xs[2 * i + 1];
    }
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_const(t, AD_MAT(BATCH, 2), xs), y = ad_const(t, AD_MAT(BATCH, 1), ys);
    ad_var h = ad_tanh(t, ad_add(t, ad_matmul(t, x, ad_use(t, w1)), ad_use(t, b1)));
    h = ad_tanh(t, ad_add(t, ad_matmul(t, h, ad_use(t, w2)), ad_use(t, b2)));
    ad_var out = ad_add(t, ad_matmul(t, h, ad_use(t, w3)), ad_use(t, b3));
    ad_var d = ad_sub(t, out, y);
    ad_var loss = ad_mean(t, ad_mul(t, d, d));
    if (ad_tape_status(t) != AD_OK) {
        fprintf(stderr, "%s\n", ad_tape_error(t));
        return 1;
    }
    size_t n_params = ad_param_count(w1) + ad_param_count(b1) + ad_param_count(w2) +
                      ad_param_count(b2) + ad_param_count(w3) + ad_param_count(b3);
    printf("bench: mlp_parameters %zu count\n", n_params);

    double t0 = now();
    for (int i = 0; i < 10; i++)
        ad_backward(t, loss);
    double backward = (now() - t0) / 10;
    printf("bench: mlp_backward %.6f s\n", backward);

    ad_check_report r;
    ad_check_opts o = ad_check_opts_default();
    o.mpfr = o.dot = false;
    o.fast = false;
    o.fast_above = 0;
    double fd_coord[REPS_COORD], fd_fast[REPS_FAST];
    for (int i = 0; i < REPS_COORD; i++) {
        t0 = now();
        ad_check_grad(t, loss, &o, &r);
        fd_coord[i] = now() - t0;
        if (i + 1 < REPS_COORD)
            ad_check_report_free(&r);
    }
    qsort(fd_coord, REPS_COORD, sizeof fd_coord[0], cmp);
    printf("# per-coordinate FD check: median of %d, %s, %zu coordinates, max rel %.2g\n", REPS_COORD,
           r.pass ? "pass" : "FAIL", r.n_checked, r.fd.max_error);
    printf("bench: fd_per_coordinate %.3f s\n", fd_coord[REPS_COORD / 2]);
    ad_check_report_free(&r);

    o.fast = true;
    o.n_directions = 1;
    for (int i = 0; i < REPS_FAST; i++) {
        t0 = now();
        ad_check_grad(t, loss, &o, &r);
        fd_fast[i] = now() - t0;
        if (i + 1 < REPS_FAST)
            ad_check_report_free(&r);
    }
    /* the first call also pays for first-touching the checker's buffers */
    printf("bench: fd_fast_first_call %.6f s\n", fd_fast[0]);
    qsort(fd_fast, REPS_FAST, sizeof fd_fast[0], cmp);
    printf("# fast FD check along one direction: median of %d, %s\n", REPS_FAST, r.pass ? "pass" : "FAIL");
    printf("bench: fd_fast_1_direction %.6f s\n", fd_fast[REPS_FAST / 2]);
    ad_check_report_free(&r);

    o.fd = false;
    o.mpfr = true;
    t0 = now();
    ad_check_grad(t, loss, &o, &r);
    double mp_fast = now() - t0;
    printf("# MPFR fast check: %s, reference %s\n", r.pass ? "pass" : "FAIL",
           r.ref_confirmed ? "confirmed" : "unconfirmed");
    printf("bench: mpfr_fast_replays %zu replays\n", r.n_replays);
    printf("bench: mpfr_fast_time %.3f s\n", mp_fast);
    printf("bench: mpfr_fast_vs_backward %.0f ratio\n", mp_fast / backward);
    ad_check_report_free(&r);

    ad_tape_free(t);
    ad_param *ps[6] = {w1, b1, w2, b2, w3, b3};
    for (int i = 0; i < 6; i++)
        ad_param_free(ps[i]);
    return 0;
}
