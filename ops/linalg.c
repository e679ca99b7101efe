/* linalg.c - matmul (2-D, and batched rank 3 with matching batch) and dot. */
#include <stdio.h>
#include <stdlib.h>
#include "kernel.h"

/* A [batch, m, k] x [batch, k, n] view of both ranks (batch 1 for 2-D). */
typedef struct mm_view {
    size_t batch, m, k, n;
} mm_view;

static mm_view mm_of(const ad_op_args *a)
{
    const ad_shape *A = &a->xs[0], *B = &a->xs[1];
    if (A->rank == 3)
        return (mm_view){A->dim[0], A->dim[1], A->dim[2], B->dim[2]};
    return (mm_view){1, A->dim[0], A->dim[1], B->dim[1]};
}

static ad_status matmul_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    const ad_shape *A = &a->xs[0], *B = &a->xs[1];
    if (A->rank != B->rank || (A->rank != 2 && A->rank != 3)) {
        snprintf(why, len, "matmul takes two matrices (rank 2) or two batches of them (rank 3), got ranks %u and %u",
                 A->rank, B->rank);
        return AD_ESHAPE;
    }
    unsigned r = A->rank;
    if (r == 3 && A->dim[0] != B->dim[0]) {
        snprintf(why, len, "batch sizes differ: %zu and %zu", A->dim[0], B->dim[0]);
        return AD_ESHAPE;
    }
    if (A->dim[r - 1] != B->dim[r - 2]) {
        snprintf(why, len, "inner dimensions differ: %zu and %zu", A->dim[r - 1], B->dim[r - 2]);
        return AD_ESHAPE;
    }
    *out = *A;
    out->dim[r - 1] = B->dim[r - 1];
    return AD_OK;
}

/* C (+)= A B for one batch (row-major, no transposes). */
static void mm_kernel(const double *A, const double *B, double *C, size_t m, size_t k, size_t n,
                      int accumulate)
{
    ad__gemm(m, n, k, A, k, 1, B, n, 1, C, n, accumulate);
}

/* y = A B */
static void matmul_forward(const ad_op_args *a, double *y)
{
    mm_view v = mm_of(a);
    for (size_t b = 0; b < v.batch; b++)
        mm_kernel(a->x[0] + b * v.m * v.k, a->x[1] + b * v.k * v.n, y + b * v.m * v.n, v.m, v.k, v.n, 0);
}

/* dA += G B^T, dB += A^T G */
static void matmul_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    mm_view v = mm_of(a);
    for (size_t b = 0; b < v.batch; b++) {
        const double *A = a->x[0] + b * v.m * v.k, *B = a->x[1] + b * v.k * v.n;
        const double *G = gy + b * v.m * v.n;
        /* dA (m x k) += G (m x n) B^T: B read with swapped strides */
        if (gx[0])
            ad__gemm(v.m, v.k, v.n, G, v.n, 1, B, 1, v.n, gx[0] + b * v.m * v.k, v.k, 1);
        /* dB (k x n) += A^T (k x m) G: A read with swapped strides */
        if (gx[1])
            ad__gemm(v.k, v.n, v.m, A, 1, v.k, G, v.n, 1, gx[1] + b * v.k * v.n, v.n, 1);
    }
}

/* dy = dA B + A dB */
static void matmul_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    mm_view v = mm_of(a);
    for (size_t i = 0, n = v.batch * v.m * v.n; i < n; i++)
        dy[i] = 0.0;
    for (size_t b = 0; b < v.batch; b++) {
        double *D = dy + b * v.m * v.n;
        if (dx[0])
            mm_kernel(dx[0] + b * v.m * v.k, a->x[1] + b * v.k * v.n, D, v.m, v.k, v.n, 1);
        if (dx[1])
            mm_kernel(a->x[0] + b * v.m * v.k, dx[1] + b * v.k * v.n, D, v.m, v.k, v.n, 1);
    }
}

/* Each output is one correctly rounded dot product: the products are exact at
 * twice the inputs' precision and fed to mpfr_sum. */
static int matmul_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    const ad_shape *A = &a->xs[0], *B = &a->xs[1];
    mm_view v = A->rank == 3 ? (mm_view){A->dim[0], A->dim[1], A->dim[2], B->dim[2]}
                             : (mm_view){1, A->dim[0], A->dim[1], B->dim[1]};
    mpfr_prec_t prec = 2 * (mpfr_get_prec(a->x[0]) > mpfr_get_prec(a->x[1]) ? mpfr_get_prec(a->x[0])
                                                                            : mpfr_get_prec(a->x[1]));
    size_t k = v.k ? v.k : 1;
    mpfr_t *prod = malloc(k * sizeof *prod);
    mpfr_ptr *tab = malloc(k * sizeof *tab);
    if (!prod || !tab) {
        free(prod);
        free(tab);
        return AD_ENOMEM; /* not "cannot evaluate": the caller must not skip the point */
    }
    for (size_t p = 0; p < k; p++) {
        mpfr_init2(prod[p], prec);
        tab[p] = prod[p];
    }
    for (size_t b = 0; b < v.batch; b++)
        for (size_t i = 0; i < v.m; i++)
            for (size_t j = 0; j < v.n; j++) {
                for (size_t p = 0; p < v.k; p++)
                    mpfr_mul(prod[p], a->x[0] + (b * v.m + i) * v.k + p,
                             a->x[1] + (b * v.k + p) * v.n + j, MPFR_RNDN);
                mpfr_sum(y + (b * v.m + i) * v.n + j, tab, (unsigned long)v.k, r);
            }
    for (size_t p = 0; p < k; p++)
        mpfr_clear(prod[p]);
    free(prod);
    free(tab);
    return 0;
}

/* Verified on positive 3x4 . 4x2 matrices: no cancellation, so a k-term dot
 * product stays within about k ulps.
 * Contract: each output (and each backward entry, a dot product of g with a
 * row or column) is meaningful while the magnitudes of its terms sum to at
 * most DBL_MAX (sum_p |a_ip| |b_pj| <= DBL_MAX). Beyond that a partial sum
 * overflows and the entry is +-inf or NaN (inf - inf), as in any BLAS, even
 * where the exact dot product is finite: a scaled GEMM would cost the hot
 * path for inputs whose forward overflows already. */
static const ad_shape matmul_sample[] = {{2, {3, 4}}, {2, {4, 2}}};

const ad_op ad_op_matmul = {
    .name = "matmul", .math = "y_ij = sum_p a_ip b_pj", .arity = 2, .shape = matmul_shape,
    .forward = matmul_forward, .backward = matmul_backward, .jvp = matmul_jvp,
    .reference = matmul_reference, .domain = {{0.5, 0.5}, {2, 2}}, .sample_shapes = matmul_sample,
    .ulp_fwd = 4, .ulp_bwd = 4,
};
ad_var ad_matmul(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_matmul, (ad_var[]){a, b}, 2, NULL, 0); }

/* ---- dot: y = sum_i a_i b_i over two tensors of one shape (vectors, usually);
 * da = g b, db = g a. The reference forms each product exactly. ---- */
static double dot_l(double a, double b, const double *attr) { (void)attr; return a * b; }
static double dot_la(double a, double b, const double *attr) { (void)a, (void)attr; return b; }
static double dot_lb(double a, double b, const double *attr) { (void)b, (void)attr; return a; }
static int dot_lref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, const double *attr)
{
    (void)attr;
    mpfr_set_prec(y, mpfr_get_prec(a) + mpfr_get_prec(b));
    mpfr_mul(y, a, b, MPFR_RNDN); /* exact */
    return 0;
}
static ad_status dot_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    if (!ad_shape_equal(&a->xs[0], &a->xs[1])) {
        snprintf(why, len, "both inputs must have the same shape");
        return AD_ESHAPE;
    }
    *out = AD_SCALAR;
    return AD_OK;
}
AD__SUM_KERNELS(dot)
/* Verified on positive vectors, where an n-term sum stays within about n ulps. */
static const ad_shape dot_sample[] = {{1, {6}}, {1, {6}}};
const ad_op ad_op_dot = {
    .name = "dot", .math = "sum_i a_i b_i", .arity = 2, .shape = dot_shape,
    AD__KERNEL_SLOTS(dot), .domain = {{0.5, 0.5}, {2, 2}}, .sample_shapes = dot_sample,
    .ulp_fwd = 6, .ulp_bwd = 0.5,
};
ad_var ad_dot(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_dot, (ad_var[]){a, b}, 2, NULL, 0); }
