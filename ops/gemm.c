/* gemm.c - the blocked matrix product behind matmul's forward, backward and
 * tangent: C (+)= op(A) op(B) with any row/column strides, so the transposed
 * products of the backward pass need no transposed copies.
 *
 * Layout (the usual three-level blocking): a KC x NC block of op(B) is packed
 * into NR-column panels, an MC x KC block of op(A) into MR-row panels, and a
 * register-resident MR x NR micro-kernel walks them. Packing pads the edges
 * with zeros, so the micro-kernel always runs at full size and edge tiles go
 * through a small buffer. The micro-kernel is chosen once per process from the
 * CPU's features (AVX-512, AVX2+FMA, or plain C): the library is built for the
 * baseline ISA and cannot assume -march=native.
 *
 * Rounding: each output is accumulated over p in order, from zero, within a KC
 * block and then added to C, as the naive loop did; only products with
 * k > KC change the order of the partial sums, and the AVX variants round
 * each multiply-add once (fma), which is never less accurate. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GEMM_X86 1
#endif

enum { KC = 256, MC = 96, NC = 1024, MR_MAX = 8, NR_MAX = 16 };

/* One variant: its tile and its micro-kernel, which computes the MR x NR tile
 * sum_p a[p*MR + r] b[p*NR + c] and stores it to c[r*ldc + col], or adds it
 * there when add is set (writing C straight from registers: with a short k,
 * a detour through a buffer costs as much as the products). */
typedef struct gemm_variant {
    unsigned mr, nr;
    void (*micro)(size_t kc, const double *a, const double *b, double *c, size_t ldc, int add);
} gemm_variant;

/* ---- plain C: 4 x 4, which compilers keep in SSE2 registers ---- */
static void micro_c(size_t kc, const double *a, const double *b, double *c, size_t ldc, int add)
{
    double acc[4][4] = {{0.0}};
    for (size_t p = 0; p < kc; p++, a += 4, b += 4)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                acc[r][q] += a[r] * b[q];
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++)
            c[r * ldc + q] = add ? c[r * ldc + q] + acc[r][q] : acc[r][q];
}

#ifdef GEMM_X86
/* ---- AVX2 + FMA: 6 x 8, twelve ymm accumulators ---- */
__attribute__((target("avx2,fma"))) static void micro_avx2(size_t kc, const double *a,
                                                            const double *b, double *c,
                                                            size_t ldc, int add)
{
    __m256d acc[6][2];
    for (int r = 0; r < 6; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_pd();
    for (size_t p = 0; p < kc; p++, a += 6, b += 8) {
        __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
        /* unrolled, so the accumulators stay in registers at -O2 */
#pragma GCC unroll 8
        for (int r = 0; r < 6; r++) {
            __m256d ar = _mm256_broadcast_sd(a + r);
            acc[r][0] = _mm256_fmadd_pd(ar, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_pd(ar, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < 6; r++) {
        double *cr = c + r * ldc;
        if (add) {
            acc[r][0] = _mm256_add_pd(acc[r][0], _mm256_loadu_pd(cr));
            acc[r][1] = _mm256_add_pd(acc[r][1], _mm256_loadu_pd(cr + 4));
        }
        _mm256_storeu_pd(cr, acc[r][0]);
        _mm256_storeu_pd(cr + 4, acc[r][1]);
    }
}

/* ---- AVX-512: 8 x 16, sixteen zmm accumulators (enough independent fmas
 * to cover the latency of two fma pipes) ---- */
__attribute__((target("avx512f"))) static void micro_avx512(size_t kc, const double *a,
                                                             const double *b, double *c,
                                                             size_t ldc, int add)
{
    __m512d acc[8][2];
    for (int r = 0; r < 8; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_pd();
    for (size_t p = 0; p < kc; p++, a += 8, b += 16) {
        __m512d b0 = _mm512_loadu_pd(b), b1 = _mm512_loadu_pd(b + 8);
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            __m512d ar = _mm512_set1_pd(a[r]);
            acc[r][0] = _mm512_fmadd_pd(ar, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_pd(ar, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < 8; r++) {
        double *cr = c + r * ldc;
        if (add) {
            acc[r][0] = _mm512_add_pd(acc[r][0], _mm512_loadu_pd(cr));
            acc[r][1] = _mm512_add_pd(acc[r][1], _mm512_loadu_pd(cr + 8));
        }
        _mm512_storeu_pd(cr, acc[r][0]);
        _mm512_storeu_pd(cr + 8, acc[r][1]);
    }
}
#endif

static const gemm_variant variants[] = {
    {4, 4, micro_c},
#ifdef GEMM_X86
    {6, 8, micro_avx2},
    {8, 16, micro_avx512},
#endif
};

/* Index into variants, picked on first use; the env var AD_GEMM=c or
 * AD_GEMM=avx2 caps the choice (for comparing and testing the variants). Races are benign: every
 * thread computes the same answer. */
static atomic_int chosen = -1;

static int pick(void)
{
    int v = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (v >= 0)
        return v;
    v = 0;
#ifdef GEMM_X86
    const char *env = getenv("AD_GEMM");
    int cap = !env ? 2 : env[0] == 'c' ? 0 : strcmp(env, "avx2") == 0 ? 1 : 2;
    __builtin_cpu_init();
    if (cap >= 2 && __builtin_cpu_supports("avx512f"))
        v = 2;
    else if (cap >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        v = 1;
#endif
    atomic_store_explicit(&chosen, v, memory_order_relaxed);
    return v;
}

const char *ad__gemm_variant(void)
{
    static const char *const names[] = {"c", "avx2", "avx512"};
    return names[pick()];
}

/* Packs rows [0, mc) x cols [0, kc) of op(A) into MR-row panels, zero-padded. */
static void pack_a(const double *A, size_t rs, size_t cs, size_t mc, size_t kc, unsigned mr,
                   double *out)
{
    for (size_t i0 = 0; i0 < mc; i0 += mr)
        for (size_t p = 0; p < kc; p++)
            for (unsigned r = 0; r < mr; r++)
                *out++ = i0 + r < mc ? A[(i0 + r) * rs + p * cs] : 0.0;
}

/* Packs rows [0, kc) x cols [0, nc) of op(B) into NR-column panels, zero-padded. */
static void pack_b(const double *B, size_t rs, size_t cs, size_t kc, size_t nc, unsigned nr,
                   double *out)
{
    for (size_t j0 = 0; j0 < nc; j0 += nr)
        for (size_t p = 0; p < kc; p++) {
            const double *row = B + p * rs;
            for (unsigned c = 0; c < nr; c++)
                *out++ = j0 + c < nc ? row[(j0 + c) * cs] : 0.0;
        }
}

/* The unblocked loop: for tiny products, and when a pack buffer cannot be had. */
static void gemm_naive(size_t m, size_t n, size_t k, const double *A, size_t rsa, size_t csa,
                       const double *B, size_t rsb, size_t csb, double *C, size_t ldc,
                       int accumulate)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++)
                s += A[i * rsa + p * csa] * B[p * rsb + j * csb];
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
        }
}

void ad__gemm(size_t m, size_t n, size_t k, const double *A, size_t rsa, size_t csa,
              const double *B, size_t rsb, size_t csb, double *C, size_t ldc, int accumulate)
{
    if (m == 0 || n == 0)
        return;
    /* small products, and matrix-vector ones (a 1-wide panel would be padded
     * to a full tile of zeros): the plain loop */
    if (k == 0 || m * n * k < 4096 || m == 1 || n == 1) {
        gemm_naive(m, n, k, A, rsa, csa, B, rsb, csb, C, ldc, accumulate);
        return;
    }
    const gemm_variant *v = &variants[pick()];
    unsigned mr = v->mr, nr = v->nr;
    /* panels rounded up to whole tiles; 64-byte alignment for the vector loads */
    /* sized to the product (a small one must not pay for mmap'ing a full block) */
    size_t kb = k < KC ? k : KC, mb = m < MC ? m : MC, nb = n < NC ? n : NC;
    size_t a_len = (mb + mr - 1) / mr * mr * kb, b_len = (nb + nr - 1) / nr * nr * kb;
    size_t bytes = (a_len + b_len) * sizeof(double);
    double *pa = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!pa) {
        gemm_naive(m, n, k, A, rsa, csa, B, rsb, csb, C, ldc, accumulate);
        return;
    }
    double *pb = pa + a_len;
    double tile[MR_MAX * NR_MAX];
    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            /* the first k-block overwrites C unless the caller accumulates */
            int add = accumulate || pc > 0;
            pack_b(B + pc * rsb + jc * csb, rsb, csb, kc, nc, nr, pb);
            for (size_t ic = 0; ic < m; ic += MC) {
                size_t mc = m - ic < MC ? m - ic : MC;
                pack_a(A + ic * rsa + pc * csa, rsa, csa, mc, kc, mr, pa);
                for (size_t jr = 0; jr < nc; jr += nr) {
                    size_t nw = nc - jr < nr ? nc - jr : nr;
                    for (size_t ir = 0; ir < mc; ir += mr) {
                        size_t mw = mc - ir < mr ? mc - ir : mr;
                        double *c = C + (ic + ir) * ldc + jc + jr;
                        if (mw == mr && nw == nr) {
                            v->micro(kc, pa + ir * kc, pb + jr * kc, c, ldc, add);
                            continue;
                        }
                        /* an edge tile: computed whole into a buffer, the part inside C kept */
                        v->micro(kc, pa + ir * kc, pb + jr * kc, tile, nr, 0);
                        for (size_t r = 0; r < mw; r++)
                            for (size_t q = 0; q < nw; q++)
                                c[r * ldc + q] = add ? c[r * ldc + q] + tile[r * nr + q]
                                                     : tile[r * nr + q];
                    }
                }
            }
        }
    }
    free(pa);
}
