/* kernel.h - drivers that turn scalar functions into array kernels, so an
 * elementwise op is a few lines: f, its derivative, its MPFR reference. */
#ifndef AD_OPS_KERNEL_H
#define AD_OPS_KERNEL_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include "ad/ad.h"

/* Element count of a shape already validated by the tape. */
static inline size_t ad__count(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned i = 0; i < s->rank; i++)
        n *= s->dim[i];
    return n;
}

/* Set by ad__term when a term came out below DBL_MIN from a cotangent of at
 * least 2^-969 (DBL_MIN 2^53) and a nonzero local derivative: the derivative
 * alone pushed it out of range (1 times 1.75 / e^914 = 1e-397), so the
 * reverse sweep redoes the leaves' gradients at a larger seed
 * (ad/backward_rescue.c). A cotangent that decays gradually along a long
 * chain into the subnormals does not set it: there the gradient itself
 * vanishes, and the rescue's sweeps would be spent for nothing. */
extern _Thread_local bool ad__underflow_seen;

/* The cotangent whose product stands in for the local derivative d1 where
 * ad__term needs it: only d1's sign and whether it is exactly 0 matter there,
 * and a derivative of 1e-397 (1.75 / e^914) times 1 rounds to 0 where times
 * 2^1000 it does not. */
#define AD__DERIV_PROBE 0x1p1000

/* Whether ad__term needs the local derivative d1 = f'(x) for the term c of g. */
#define AD__SUDDEN_MIN 0x1p-969 /* DBL_MIN 2^53 */
static inline bool ad__term_needs_d(double g, double c)
{
    return isinf(g) || (fabs(c) < DBL_MIN && fabs(g) >= AD__SUDDEN_MIN);
}

/* The term a cotangent g contributes through a local product c = g f'(x),
 * d1 = f'(x) times a positive scale (read only where ad__term_needs_d; 1.0 elsewhere):
 * - exactly 0 when g is 0, even where f'(x) is infinite or NaN (sqrt of a
 *   negative element that the loss never reads: 0 * NaN would make that
 *   input's gradient NaN, though the loss does not depend on it);
 * - exactly 0 when g overflowed to +-inf and f'(x) is exactly 0 (a cotangent
 *   of 2e308 reaching x * y at y = 0: the product of a finite number and 0);
 * - a NaN g still passes on.
 * The scalar path (ad/scalar.c) applies the same rule. Forward mode (jvp)
 * keeps the IEEE products; where a zero meets an inf along a chain, the
 * dot-product test judges op by op (ad/dot.c). */
static inline double ad__term(double g, double c, double d1)
{
    if (fabs(c) < DBL_MIN && fabs(g) >= AD__SUDDEN_MIN && isfinite(g) && d1 != 0.0)
        ad__underflow_seen = true;
    return g == 0.0 || (isinf(g) && d1 == 0.0) ? 0.0 : c;
}

/* ---- unary elementwise ----
 * Given, for an op NAME:
 *   static double NAME_f(double x, const double *attr);
 *   static double NAME_df(double x, double y, const double *attr, double kink_grad);
 *   static int    NAME_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t rnd);
 * AD__UNARY_KERNELS(NAME) makes NAME_forward, NAME_backward, NAME_jvp and
 * NAME_reference; AD__UNARY_PIECE(NAME) makes NAME_piece from
 *   static int NAME_piece1(double x, const double *attr);
 * An op whose product g * f'(x) must not be formed from a separately rounded
 * f'(x) (f' overflows or underflows where the product does not: 1/x, e^x)
 * gives instead of NAME_df
 *   static double NAME_vjp(double g, double x, double y, const double *attr, double kg);
 * (g f'(x), used for the cotangent and the tangent alike) and uses
 * AD__UNARY_KERNELS_VJP(NAME).
 */
#define AD__UNARY_KERNELS(NAME)                                                           \
    static inline double NAME##_vjp(double g, double x, double y, const double *attr,     \
                                    double kg)                                            \
    {                                                                                     \
        return g * NAME##_df(x, y, attr, kg);                                             \
    }                                                                                     \
    AD__UNARY_KERNELS_VJP(NAME)

#define AD__UNARY_KERNELS_VJP(NAME)                                                       \
    static void NAME##_forward(const ad_op_args *a, double *y)                            \
    {                                                                                     \
        size_t n = ad__count(&a->ys);                                                     \
        for (size_t i = 0; i < n; i++)                                                    \
            y[i] = NAME##_f(a->x[0][i], a->attr);                                         \
    }                                                                                     \
    static void NAME##_backward(const ad_op_args *a, const double *gy,                    \
                                double *const gx[AD_MAX_ARITY])                           \
    {                                                                                     \
        if (!gx[0])                                                                       \
            return;                                                                       \
        size_t n = ad__count(&a->ys);                                                     \
        for (size_t i = 0; i < n; i++) {                                                  \
            double c = NAME##_vjp(gy[i], a->x[0][i], a->y[i], a->attr, a->kink_grad);     \
            gx[0][i] += ad__term(gy[i], c,                                                \
                                 ad__term_needs_d(gy[i], c)                               \
                                     ? NAME##_vjp(AD__DERIV_PROBE, a->x[0][i], a->y[i], a->attr, a->kink_grad) \
                                     : 1.0);                                              \
        }                                                                                 \
    }                                                                                     \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY],     \
                           double *dy)                                                    \
    {                                                                                     \
        size_t n = ad__count(&a->ys);                                                     \
        for (size_t i = 0; i < n; i++)                                                    \
            dy[i] = dx[0] ? NAME##_vjp(dx[0][i], a->x[0][i], a->y[i], a->attr, a->kink_grad) \
                          : 0.0;                                                          \
    }                                                                                     \
    static int NAME##_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)         \
    {                                                                                     \
        size_t n = ad__count(&a->ys);                                                     \
        for (size_t i = 0; i < n; i++)                                                    \
            if (NAME##_ref(y + i, a->x[0] + i, a->attr, rnd))                             \
                return 1;                                                                 \
        return 0;                                                                         \
    }

#define AD__UNARY_PIECE(NAME)                                                             \
    static int NAME##_piece(const ad_op_args *a, size_t i)                                \
    {                                                                                     \
        return NAME##_piece1(a->x[0][i], a->attr);                                        \
    }

/* ---- binary elementwise with NumPy broadcasting ---- */

/* Strides of input k aligned to the output's last dimensions, 0 where the
 * input is broadcast; the output is padded to rank 4 on the left. */
typedef struct ad__bcast {
    size_t dim[AD_MAX_RANK];
    size_t stride[2][AD_MAX_RANK];
} ad__bcast;

void ad__bcast_init(ad__bcast *b, const ad_shape *out, const ad_shape *x0, const ad_shape *x1);
ad_status ad__bcast_shape(const ad_op_args *a, ad_shape *out, char *why, size_t why_len);

/* Runs BODY for every output element i with input offsets i0 and i1. */
#define AD__BCAST_FOR(B, BODY)                                                            \
    do {                                                                                  \
        size_t i = 0;                                                                     \
        for (size_t d0 = 0; d0 < (B).dim[0]; d0++)                                        \
            for (size_t d1 = 0; d1 < (B).dim[1]; d1++)                                    \
                for (size_t d2 = 0; d2 < (B).dim[2]; d2++)                                \
                    for (size_t d3 = 0; d3 < (B).dim[3]; d3++, i++) {                     \
                        size_t i0 = d0 * (B).stride[0][0] + d1 * (B).stride[0][1] +       \
                                    d2 * (B).stride[0][2] + d3 * (B).stride[0][3];        \
                        size_t i1 = d0 * (B).stride[1][0] + d1 * (B).stride[1][1] +       \
                                    d2 * (B).stride[1][2] + d3 * (B).stride[1][3];        \
                        BODY;                                                             \
                    }                                                                     \
    } while (0)

/* Given, for an op NAME:
 *   static double NAME_f(double a, double b);
 *   static double NAME_da(double a, double b, double y);   d y / d a
 *   static double NAME_db(double a, double b, double y);   d y / d b
 *   static int    NAME_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t rnd);
 * AD__BINARY_KERNELS(NAME) makes the four array kernels. Backward accumulates
 * through the broadcast offsets, which sums the gradient back to each input's shape.
 * As for matmul (ops/linalg.c), such a sum is meaningful while its terms'
 * magnitudes sum to at most DBL_MAX: terms that overflow one way and the
 * other give NaN (inf - inf), even where the exact sum is finite.
 * As for unary ops, an op whose products g * dy/da, g * dy/db must be formed
 * together gives instead of NAME_da and NAME_db
 *   static double NAME_vda(double g, double a, double b, double y);   g dy/da
 *   static double NAME_vdb(double g, double a, double b, double y);   g dy/db
 * and uses AD__BINARY_KERNELS_VJP(NAME). */
#define AD__BINARY_KERNELS(NAME)                                                          \
    static inline double NAME##_vda(double g, double a, double b, double y)               \
    {                                                                                     \
        return g * NAME##_da(a, b, y);                                                    \
    }                                                                                     \
    static inline double NAME##_vdb(double g, double a, double b, double y)               \
    {                                                                                     \
        return g * NAME##_db(a, b, y);                                                    \
    }                                                                                     \
    AD__BINARY_KERNELS_VJP(NAME)

#define AD__BINARY_KERNELS_VJP(NAME)                                                      \
    /* the terms g contributes to each input, under ad__term's rule */                   \
    static inline double NAME##_term_a(double g, double a, double b, double y)            \
    {                                                                                     \
        double c = NAME##_vda(g, a, b, y);                                                \
        return ad__term(g, c, ad__term_needs_d(g, c) ? NAME##_vda(AD__DERIV_PROBE, a, b, y) : 1.0);   \
    }                                                                                     \
    static inline double NAME##_term_b(double g, double a, double b, double y)            \
    {                                                                                     \
        double c = NAME##_vdb(g, a, b, y);                                                \
        return ad__term(g, c, ad__term_needs_d(g, c) ? NAME##_vdb(AD__DERIV_PROBE, a, b, y) : 1.0);   \
    }                                                                                     \
    static void NAME##_forward(const ad_op_args *a, double *y)                            \
    {                                                                                     \
        ad__bcast b;                                                                      \
        if (a->ys.rank == 0) { /* scalars: skip the broadcast bookkeeping */              \
            y[0] = NAME##_f(a->x[0][0], a->x[1][0]);                                      \
            return;                                                                       \
        }                                                                                 \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        AD__BCAST_FOR(b, y[i] = NAME##_f(a->x[0][i0], a->x[1][i1]));                      \
    }                                                                                     \
    static void NAME##_backward(const ad_op_args *a, const double *gy,                    \
                                double *const gx[AD_MAX_ARITY])                           \
    {                                                                                     \
        ad__bcast b;                                                                      \
        if (a->ys.rank == 0) { /* a rank-0 output has rank-0 inputs */                    \
            double x0 = a->x[0][0], x1 = a->x[1][0];                                      \
            if (gx[0])                                                                    \
                gx[0][0] += NAME##_term_a(gy[0], x0, x1, a->y[0]);                        \
            if (gx[1])                                                                    \
                gx[1][0] += NAME##_term_b(gy[0], x0, x1, a->y[0]);                        \
            return;                                                                       \
        }                                                                                 \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        if (gx[0])                                                                        \
            AD__BCAST_FOR(b, gx[0][i0] += NAME##_term_a(gy[i], a->x[0][i0], a->x[1][i1], a->y[i])); \
        if (gx[1])                                                                        \
            AD__BCAST_FOR(b, gx[1][i1] += NAME##_term_b(gy[i], a->x[0][i0], a->x[1][i1], a->y[i])); \
    }                                                                                     \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY],     \
                           double *dy)                                                    \
    {                                                                                     \
        ad__bcast b;                                                                      \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        AD__BCAST_FOR(b, {                                                                \
            double t = 0.0;                                                               \
            if (dx[0])                                                                    \
                t += NAME##_vda(dx[0][i0], a->x[0][i0], a->x[1][i1], a->y[i]);            \
            if (dx[1])                                                                    \
                t += NAME##_vdb(dx[1][i1], a->x[0][i0], a->x[1][i1], a->y[i]);            \
            dy[i] = t;                                                                    \
        });                                                                               \
    }                                                                                     \
    static int NAME##_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)         \
    {                                                                                     \
        ad__bcast b;                                                                      \
        int bad = 0;                                                                      \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        AD__BCAST_FOR(b, bad |= NAME##_ref(y + i, a->x[0] + i0, a->x[1] + i1, rnd));      \
        return bad;                                                                       \
    }

/* Offsets into both inputs of output element i (for piece functions, which
 * see one element at a time). */
static inline void ad__bcast_at(const ad__bcast *b, size_t i, size_t *i0, size_t *i1)
{
    *i0 = *i1 = 0;
    for (unsigned k = AD_MAX_RANK; k-- > 0;) {
        size_t d = b->dim[k] ? i % b->dim[k] : 0;
        i = b->dim[k] ? i / b->dim[k] : 0;
        *i0 += d * b->stride[0][k];
        *i1 += d * b->stride[1][k];
    }
}

/* AD__BINARY_PIECE(NAME) makes NAME_piece from static int NAME_piece1(double a, double b). */
#define AD__BINARY_PIECE(NAME)                                                            \
    static int NAME##_piece(const ad_op_args *a, size_t i)                                \
    {                                                                                     \
        ad__bcast b;                                                                      \
        size_t i0, i1;                                                                    \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        ad__bcast_at(&b, i, &i0, &i1);                                                    \
        return NAME##_piece1(a->x[0][i0], a->x[1][i1]);                                   \
    }

/* ---- along the last axis ----
 * The tensor seen as rows of n elements (n = the last dimension; a scalar is
 * one row of one). Given, for an op NAME, row functions
 *   static void NAME_frow(const double *x, size_t n, double *y, const double *attr);
 *   static void NAME_brow(const double *x, const double *y, const double *gy, size_t n,
 *                         double *gx, const double *attr);          accumulates
 *   static void NAME_jrow(const double *x, const double *y, const double *dx, size_t n,
 *                         double *dy, const double *attr);
 *   static int  NAME_rrow(mpfr_srcptr x, size_t n, mpfr_ptr y, const double *attr, mpfr_rnd_t r);
 * AD__ROW_KERNELS(NAME, KEEP) makes the four array kernels; KEEP 1: y has x's
 * shape (n outputs a row), KEEP 0: one output a row (the last axis removed). */
static inline void ad__rows(const ad_shape *s, size_t *rows, size_t *n)
{
    *n = s->rank ? s->dim[s->rank - 1] : 1;
    *rows = 1;
    for (unsigned k = 0; k + 1 < s->rank; k++)
        *rows *= s->dim[k];
}

/* A row function of a tangent: NAME_jrow's signature. */
typedef void ad__row_tangent_fn(const double *x, const double *y, const double *dx, size_t n,
                                double *dy, const double *attr);

/* dy from dx row by row through f (dx NULL: a zero tangent, dy = 0); keep as
 * KEEP below. The jvp of AD__ROW_KERNELS, and an op's jvp_terms by row. */
static inline void ad__row_tangents(const ad_op_args *a, const double *dx, double *dy, int keep,
                                    ad__row_tangent_fn *f)
{
    size_t rows, n, m;
    ad__rows(&a->xs[0], &rows, &n);
    m = keep ? n : 1;
    for (size_t r = 0; r < rows; r++) {
        if (dx)
            f(a->x[0] + r * n, a->y + r * m, dx + r * n, n, dy + r * m, a->attr);
        else
            for (size_t j = 0; j < m; j++)
                dy[r * m + j] = 0.0;
    }
}

#define AD__ROW_KERNELS(NAME, KEEP)                                                       \
    static void NAME##_forward(const ad_op_args *a, double *y)                            \
    {                                                                                     \
        size_t rows, n, m;                                                                \
        ad__rows(&a->xs[0], &rows, &n);                                                   \
        m = (KEEP) ? n : 1;                                                               \
        for (size_t r = 0; r < rows; r++)                                                 \
            NAME##_frow(a->x[0] + r * n, n, y + r * m, a->attr);                          \
    }                                                                                     \
    static void NAME##_backward(const ad_op_args *a, const double *gy,                    \
                                double *const gx[AD_MAX_ARITY])                           \
    {                                                                                     \
        size_t rows, n, m;                                                                \
        if (!gx[0])                                                                       \
            return;                                                                       \
        ad__rows(&a->xs[0], &rows, &n);                                                   \
        m = (KEEP) ? n : 1;                                                               \
        for (size_t r = 0; r < rows; r++)                                                 \
            NAME##_brow(a->x[0] + r * n, a->y + r * m, gy + r * m, n, gx[0] + r * n,      \
                        a->attr);                                                         \
    }                                                                                     \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY],     \
                           double *dy)                                                    \
    {                                                                                     \
        ad__row_tangents(a, dx[0], dy, (KEEP), NAME##_jrow);                              \
    }                                                                                     \
    static int NAME##_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)         \
    {                                                                                     \
        size_t rows, n, m;                                                                \
        ad__rows(&a->xs[0], &rows, &n);                                                   \
        m = (KEEP) ? n : 1;                                                               \
        for (size_t r = 0; r < rows; r++)                                                 \
            if (NAME##_rrow(a->x[0] + r * n, n, y + r * m, a->attr, rnd))                 \
                return 1;                                                                 \
        return 0;                                                                         \
    }

/* ---- sums of a scalar term over elements: penalties and dot ----
 * y = sum_i l(a_i, b_i); the inputs have one shape (a unary op sees b = a).
 * (The mean losses have their own driver in loss.c: their sum may overflow
 * where the mean does not.) Given, for an op NAME:
 *   static double NAME_l(double a, double b, const double *attr);    the term
 *   static double NAME_la(double a, double b, const double *attr);   d term / d a
 *   static double NAME_lb(double a, double b, const double *attr);   d term / d b
 *   static int    NAME_lref(mpfr_ptr t, mpfr_srcptr a, mpfr_srcptr b, const double *attr);
 *                 the term at t's precision
 * AD__SUM_KERNELS(NAME) makes the four array kernels; the reference adds
 * the terms with one rounding (mpfr_sum). AD__SUM_PIECE(NAME) makes a piece
 * function from static int NAME_piece1(double a, double b, const double *attr):
 * AD_PIECE_KINK when any term sits on its kink, else a code of every term's piece. */
/* The mean of n finite values is finite though their sum may overflow: then
 * each term is scaled by 2^-e with 2^e > n (exact, except for bits below
 * 2^-1074 of tiny terms), so no partial sum can overflow, and the mean of the
 * scaled terms is scaled back by ldexp (exact unless the mean overflows). */
static inline int ad__mean_scale(size_t n)
{
    int e;
    frexp((double)n, &e); /* n < 2^e */
    return e;
}

int ad__sum_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd, int mean,
                      int (*term)(mpfr_ptr, mpfr_srcptr, mpfr_srcptr, const double *));

#define AD__SUM_KERNELS(NAME)                                                             \
    static void NAME##_backward(const ad_op_args *a, const double *gy,                    \
                                double *const gx[AD_MAX_ARITY])                           \
    {                                                                                     \
        size_t n = ad__count(&a->xs[0]);                                                  \
        const double *b = a->n_in > 1 ? a->x[1] : a->x[0];                                \
        for (size_t i = 0; gx[0] && i < n; i++)                                           \
            gx[0][i] += gy[0] * NAME##_la(a->x[0][i], b[i], a->attr);                     \
        for (size_t i = 0; a->n_in > 1 && gx[1] && i < n; i++)                            \
            gx[1][i] += gy[0] * NAME##_lb(a->x[0][i], b[i], a->attr);                     \
    }                                                                                     \
    static void NAME##_forward(const ad_op_args *a, double *y)                            \
    {                                                                                     \
        size_t n = ad__count(&a->xs[0]);                                                  \
        const double *b = a->n_in > 1 ? a->x[1] : a->x[0];                                \
        double s = 0.0;                                                                   \
        for (size_t i = 0; i < n; i++)                                                    \
            s += NAME##_l(a->x[0][i], b[i], a->attr);                                     \
        y[0] = s;                                                                         \
    }                                                                                     \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY],     \
                           double *dy)                                                    \
    {                                                                                     \
        size_t n = ad__count(&a->xs[0]);                                                  \
        const double *b = a->n_in > 1 ? a->x[1] : a->x[0];                                \
        double s = 0.0;                                                                   \
        for (size_t i = 0; i < n; i++) {                                                  \
            if (dx[0])                                                                    \
                s += NAME##_la(a->x[0][i], b[i], a->attr) * dx[0][i];                     \
            if (a->n_in > 1 && dx[1])                                                     \
                s += NAME##_lb(a->x[0][i], b[i], a->attr) * dx[1][i];                     \
        }                                                                                 \
        dy[0] = s;                                                                        \
    }                                                                                     \
    static int NAME##_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)         \
    {                                                                                     \
        return ad__sum_reference(a, y, rnd, 0, NAME##_lref);                              \
    }

#define AD__SUM_PIECE(NAME)                                                               \
    static int NAME##_piece(const ad_op_args *a, size_t i)                                \
    {                                                                                     \
        (void)i;                                                                          \
        size_t n = ad__count(&a->xs[0]);                                                  \
        const double *b = a->n_in > 1 ? a->x[1] : a->x[0];                                \
        unsigned h = 1;                                                                   \
        for (size_t j = 0; j < n; j++) {                                                  \
            int p = NAME##_piece1(a->x[0][j], b[j], a->attr);                             \
            if (p == AD_PIECE_KINK)                                                       \
                return AD_PIECE_KINK;                                                     \
            h = h * 31u + (unsigned)p;                                                    \
        }                                                                                 \
        return (int)(h & 0x3fffffffu) | 1; /* odd, so never AD_PIECE_KINK */              \
    }

/* ---- stable scalar pieces shared by several families ---- */

/* e^{-x^2} without the error of rounding x^2 first: x^2 = s + e exactly (fma),
 * and e^{-s-e} = e^{-s} (1 - e) to double precision since |e| <= ulp(s)/2. */
static inline double ad__exp_neg_sq(double x)
{
    double s = x * x, e = fma(x, x, -s), g = exp(-s);
    return g == 0.0 ? 0.0 : g * (1.0 - e); /* x^2 = inf would make e -inf */
}

/* 1 / (1 + e^{-x}), split at 0 so neither branch overflows or cancels. */
static inline double ad__sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* sigmoid'(x) = e / (1 + e)^2 with e = e^{-|x|}: from the input, so it stays
 * accurate (about e^{-|x|}) where sigmoid(x) itself has rounded to 1. */
static inline double ad__sigmoid_d(double x)
{
    double e = exp(-fabs(x)), d = 1.0 + e;
    return e / d / d;
}

/* A product kept as a mantissa in [1/2, 1) and a binary exponent (frexp's):
 * factors whose plain product over- or underflows on the way, or rounds in
 * the subnormals, meet as mantissas, each product rounded once as in double,
 * and ad__split_value scales the result with one final rounding (g x^p ln x
 * at x = 2^-1022, p = -1, g = 2^-8: -1.24e308, where y ln x alone is inf). */
typedef struct ad__split {
    double m;
    int e;
} ad__split;
static inline ad__split ad__split_of(double x)
{
    ad__split s;
    s.m = frexp(x, &s.e);
    return s;
}
static inline ad__split ad__split_mul(ad__split a, ad__split b)
{
    ad__split r;
    r.m = frexp(a.m * b.m, &r.e); /* rescaling by a power of two is exact */
    r.e += a.e + b.e;
    return r;
}
static inline ad__split ad__split_div(ad__split a, ad__split b)
{
    ad__split r;
    r.m = frexp(a.m / b.m, &r.e);
    r.e += a.e - b.e;
    return r;
}
static inline double ad__split_value(ad__split s) { return ldexp(s.m, s.e); }

/* g e^x for every x where the product is representable, also where e^x alone
 * overflows (x > 709.78) or is subnormal (x < -708, a few bits left) while
 * g e^x is not: there e^x = e^r 2^n with n = round(x / ln 2) and r = x - n ln 2
 * (n ln2_hi is exact and so is x - n ln2_hi; ln2_lo adds one rounding), and
 * g = m 2^k, so e^r m is formed without overflow and ldexp rounds it once.
 * Within 1.5 ulps (about 1 ulp more than exp), one rounding into the
 * subnormal range. g = 0 gives 0 for every finite x. */
#define AD__LN2_HI 0x1.62e42feep-1 /* 32 bits: n ln2_hi exact for |n| < 2^21 */
#define AD__LN2_LO 0x1.a39ef35793c76p-33
/* g e^x for |x| < 4096 and g a split (its mantissa of order 1): ldexp rounds
 * e^r g.m once into the subnormal range (the core of ad__exp_mul). */
static inline double ad__exp_scale(double x, ad__split g)
{
    double n = nearbyint(x * 0x1.71547652b82fep0); /* 1 / ln 2 */
    double r = (x - n * AD__LN2_HI) - n * AD__LN2_LO;
    return ldexp(exp(r) * g.m, (int)n + g.e);
}
static inline double ad__exp_mul(double x, double g)
{
    double e = exp(x);
    if (e >= DBL_MIN && e <= DBL_MAX)
        return g * e;
    if (g == 0.0 || !isfinite(g) || !(fabs(x) < 4096.0)) /* beyond 4096 g e^x is 0 or inf */
        return g == 0.0 && isfinite(x) ? g : g * e;
    return ad__exp_scale(x, ad__split_of(g));
}

/* g a e^x, with g a formed first where it is finite (one rounding from x), and
 * else as a split product of g and a with one final scaling: g = 32, a =
 * -DBL_MAX is 0 at x = -DBL_MAX (not -inf * 0) and -1.6e-14 at x = -745 (not
 * 32 e^-745 rounded into the subnormals, then times a: 1.5% off). */
static inline double ad__exp_mul2(double x, double g, double a)
{
    double ga = g * a;
    if (isfinite(ga) || !isfinite(g) || !isfinite(a) || isnan(x))
        return ad__exp_mul(x, ga);
    if (!(fabs(x) < 4096.0)) /* |g a| < 2^2048: 0 below, inf above */
        return x < 0.0 ? copysign(0.0, ga) : ga;
    return ad__exp_scale(x, ad__split_mul(ad__split_of(g), ad__split_of(a)));
}

/* g c e^{-x^2} (c > 0 a constant of order 1) for every x where the product is
 * representable: where e^{-x^2} alone is subnormal (x^2 > 708) it is not rounded
 * before the multiplication by g (which would scale that rounding); x^2 = s + e
 * by fma and e^{-s-e} = e^{-s} (1 - e) as in ad__exp_neg_sq, and g c = m c 2^k
 * cannot overflow. */
static inline double ad__exp_neg_sq_mul(double x, double g, double c)
{
    double s = x * x;
    if (!(s > 708.0 && s < 4096.0) || g == 0.0 || !isfinite(g))
        return g * (c * ad__exp_neg_sq(x)); /* beyond 4096: 0 for every finite g */
    ad__split gc = ad__split_of(g);
    double e = fma(x, x, -s), mc = gc.m * c;
    return ad__exp_scale(-s, (ad__split){fma(-mc, e, mc), gc.e});
}

/* g sigmoid'(x): sigmoid'(x) = e^-|x| to double precision once |x| > 700, and
 * g e^-|x| is formed by ad__exp_mul (one rounding where it is subnormal). */
static inline double ad__sigmoid_d_mul(double x, double g)
{
    return fabs(x) > 700.0 ? ad__exp_mul(-fabs(x), g) : g * ad__sigmoid_d(x);
}

/* g sigmoid(x): sigmoid(x) = e^x to double precision below x = -700, where
 * g e^x is rounded once (ad__exp_mul), not e^x first near the subnormals. */
static inline double ad__sigmoid_mul(double x, double g)
{
    return x < -700.0 ? ad__exp_mul(x, g) : g * ad__sigmoid(x);
}

/* ln(1 + e^x) = max(x, 0) + log1p(e^{-|x|}): exact function, no overflow, no
 * switch to a linear piece (both terms are >= 0, so nothing cancels). */
static inline double ad__softplus(double x)
{
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

/* e^(a - b) with the rounding error of a - b put back (TwoSum): a softmax of
 * logits 20 apart would otherwise lose about 10 ulps in the subtraction. */
static inline double ad__exp_diff(double a, double b)
{
    double s = a - b, bb = s - a, err = (a - (s - bb)) + (-b - bb), e = exp(s);
    return isfinite(err) ? e + e * err : e;
}

/* The pieces of a row's log-sum-exp: *m the largest entry, *k its (first) index,
 * and the return value rest = sum_{j != k} e^(x_j - m), so that
 * lse = m + log1p(rest) and softmax_j = e^(x_j - m) / (1 + rest) without
 * cancellation. A row of all -inf gives m = -inf and rest = 0; n = 0 gives
 * m = -inf, k = 0. (ops/softmax.c) */
double ad__lse_parts(const double *x, size_t n, double *m, size_t *k);

/* Subgradient of |d| used by every abs-like op (abs, l1_loss, l1_penalty):
 * sign(d), 0 at d = 0 (PyTorch's sgn; the midpoint of [-1, 1]); NaN stays NaN. */
double ad__abs_grad(double d);
/* Piece of |d|: -1, +1, AD_PIECE_KINK at 0. */
int ad__abs_piece(double d);

/* C (+)= op(A) op(B) for an m x k op(A) (element (i, p) at A[i*rsa + p*csa]) and
 * a k x n op(B) (element (p, j) at B[p*rsb + j*csb]) into row-major C with row
 * stride ldc; accumulate 0 overwrites C. Cache- and register-blocked, with the
 * micro-kernel chosen for the CPU at run time (ops/gemm.c). */
void ad__gemm(size_t m, size_t n, size_t k, const double *A, size_t rsa, size_t csa,
              const double *B, size_t rsb, size_t csb, double *C, size_t ldc, int accumulate);
/* The micro-kernel in use: "c", "avx2" or "avx512" (for benchmarks). */
const char *ad__gemm_variant(void);

/* The four kernel slots of an op made by AD__UNARY_KERNELS or AD__BINARY_KERNELS. */
#define AD__KERNEL_SLOTS(NAME)                                                            \
    .forward = NAME##_forward, .backward = NAME##_backward, .jvp = NAME##_jvp,            \
    .reference = NAME##_reference

#endif
