/* matmul.c - the matmul kernel's speed: GFLOP/s of the taped forward (A B)
 * and of forward + both backward products, at 64^3 and 256^3, against the
 * naive i-k-j loop in the same run. Prints `bench: NAME VALUE UNIT` lines;
 * timings are process CPU time, medians of several repetitions (the machine
 * is small and shared). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ad/ad.h>

#define REPS 7

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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp);
    return v[n / 2];
}

/* The loop the library had before: C = A B, i-k-j. */
static void naive(const double *A, const double *B, double *C, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double *c = C + i * n;
        for (size_t j = 0; j < n; j++)
            c[j] = 0.0;
        for (size_t p = 0; p < n; p++) {
            double a = A[i * n + p];
            const double *b = B + p * n;
            for (size_t j = 0; j < n; j++)
                c[j] += a * b[j];
        }
    }
}

/* Repeats the size-n work until about 20 ms pass; returns seconds per call. */
static double per_call(int kind, ad_tape *t, const double *A, const double *B, double *C, size_t n)
{
    int calls = 0;
    double t0 = now(), t1;
    do {
        if (kind == 0) {
            naive(A, B, C, n);
        } else {
            ad_tape_reset(t);
            ad_var a = ad_input(t, AD_MAT(n, n), A), b = ad_input(t, AD_MAT(n, n), B);
            ad_var y = ad_matmul(t, a, b);
            if (kind == 2 && ad_backward(t, ad_sum(t, y)) != AD_OK) {
                fprintf(stderr, "matmul: %s\n", ad_tape_error(t));
                exit(1);
            }
        }
        calls++;
        t1 = now();
    } while (t1 - t0 < 0.02);
    return (t1 - t0) / calls;
}

int main(void)
{
    static const size_t sizes[] = {64, 256};
    static const char *const kinds[] = {"naive", "fwd", "fwdbwd"};
    ad_tape *t = ad_tape_new(NULL);
    for (size_t s = 0; s < 2; s++) {
        size_t n = sizes[s], nn = n * n;
        double *A = malloc(nn * sizeof *A), *B = malloc(nn * sizeof *B), *C = malloc(nn * sizeof *C);
        for (size_t i = 0; i < nn; i++) {
            A[i] = (double)(i % 17) / 17.0 - 0.5;
            B[i] = (double)(i % 13) / 13.0 - 0.5;
        }
        for (int kind = 0; kind < 3; kind++) {
            double sec[REPS];
            for (int r = 0; r < REPS; r++)
                sec[r] = per_call(kind, t, A, B, C, n);
            /* forward + backward is three products of 2 n^3 flops each */
            double flops = (kind == 2 ? 3.0 : 1.0) * 2.0 * (double)n * (double)n * (double)n;
            printf("bench: matmul_%s_%zu %.2f GFLOP/s\n", kinds[kind], n, flops / median(sec, REPS) * 1e-9);
        }
        free(A), free(B), free(C);
    }
    ad_tape_free(t);
    return 0;
}
