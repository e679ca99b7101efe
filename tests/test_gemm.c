/* test_gemm.c - the blocked matmul kernel (ops/gemm.c) against a long double
 * loop at sizes that reach its tile edges, its k-blocks and its n-blocks: the
 * registry sweep samples 3x4 matrices, which take the unblocked path. Run once
 * per micro-kernel (AD_GEMM caps the variant; see tests/meson.build). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <math.h>
#include <float.h>
#include <cmocka.h>
#include <ad/ad.h>

static double fill(size_t i, unsigned salt)
{
    unsigned h = (unsigned)i * 2654435761u + salt * 40503u;
    return (double)(h % 2001u) / 1000.0 - 1.0;
}

/* |got - want| within the textbook bound k eps sum_p |a||b| (plus a margin). */
static void assert_dot_close(double got, long double want, long double mag, size_t k)
{
    long double tol = (long double)(k + 2) * DBL_EPSILON * mag + 1e-300L;
    if (fabsl((long double)got - want) > tol)
        fail_msg("got %.17g, want %.17Lg (tolerance %Lg)", got, want, tol);
}

/* y = A B (m x k times k x n), loss = sum(W * y): checks y, dA = W B^T, dB = A^T W. */
static void check_size(size_t m, size_t k, size_t n)
{
    double *A = malloc(m * k * sizeof *A), *B = malloc(k * n * sizeof *B), *W = malloc(m * n * sizeof *W);
    assert_non_null(A), assert_non_null(B), assert_non_null(W);
    for (size_t i = 0; i < m * k; i++)
        A[i] = fill(i, 1);
    for (size_t i = 0; i < k * n; i++)
        B[i] = fill(i, 2);
    for (size_t i = 0; i < m * n; i++)
        W[i] = fill(i, 3);
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_input(t, AD_MAT(m, k), A), b = ad_input(t, AD_MAT(k, n), B);
    ad_var y = ad_matmul(t, a, b);
    ad_var loss = ad_sum(t, ad_mul(t, y, ad_const(t, AD_MAT(m, n), W)));
    assert_int_equal(ad_backward(t, loss), AD_OK);
    const double *yv = ad_value(t, y), *ga = ad_grad(t, a), *gb = ad_grad(t, b);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            long double s = 0, mag = 0;
            for (size_t p = 0; p < k; p++) {
                s += (long double)A[i * k + p] * B[p * n + j];
                mag += fabsl((long double)A[i * k + p] * B[p * n + j]);
            }
            assert_dot_close(yv[i * n + j], s, mag, k);
        }
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < k; p++) {
            long double s = 0, mag = 0;
            for (size_t j = 0; j < n; j++) {
                s += (long double)W[i * n + j] * B[p * n + j];
                mag += fabsl((long double)W[i * n + j] * B[p * n + j]);
            }
            assert_dot_close(ga[i * k + p], s, mag, n);
        }
    for (size_t p = 0; p < k; p++)
        for (size_t j = 0; j < n; j++) {
            long double s = 0, mag = 0;
            for (size_t i = 0; i < m; i++) {
                s += (long double)A[i * k + p] * W[i * n + j];
                mag += fabsl((long double)A[i * k + p] * W[i * n + j]);
            }
            assert_dot_close(gb[p * n + j], s, mag, m);
        }
    ad_tape_free(t);
    free(A), free(B), free(W);
}

static void test_gemm_small_and_ragged_sizes_match_the_long_double_loop(void **state)
{
    (void)state;
    check_size(3, 4, 2);    /* the unblocked path */
    check_size(17, 19, 23); /* one tile-ragged block */
    check_size(1, 64, 65);  /* a single row */
    check_size(64, 64, 64);
}

static void test_gemm_k_and_n_blocks_match_the_long_double_loop(void **state)
{
    (void)state;
    check_size(101, 300, 37); /* k crosses a k-block: partial sums added into C */
    check_size(9, 5, 1030);   /* n crosses an n-block */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_small_and_ragged_sizes_match_the_long_double_loop),
        cmocka_unit_test(test_gemm_k_and_n_blocks_match_the_long_double_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
