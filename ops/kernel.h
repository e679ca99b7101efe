/* kernel.h - drivers that turn scalar functions into array kernels, so an
 * elementwise op is a few lines: f, its derivative, its MPFR reference. */
#ifndef AD_OPS_KERNEL_H
#define AD_OPS_KERNEL_H

#include <math.h>
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

/* ---- unary elementwise ----
 * Given, for an op NAME:
 *   static double NAME_f(double x, const double *attr);
 *   static double NAME_df(double x, double y, const double *attr, double kink_grad);
 *   static int    NAME_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t rnd);
 * AD__UNARY_KERNELS(NAME) makes NAME_forward, NAME_backward, NAME_jvp and
 * NAME_reference; AD__UNARY_PIECE(NAME) makes NAME_piece from
 *   static int NAME_piece1(double x, const double *attr);
 */
#define AD__UNARY_KERNELS(NAME)                                                           \
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
        for (size_t i = 0; i < n; i++)                                                    \
            gx[0][i] += gy[i] * NAME##_df(a->x[0][i], a->y[i], a->attr, a->kink_grad);    \
    }                                                                                     \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY],     \
                           double *dy)                                                    \
    {                                                                                     \
        size_t n = ad__count(&a->ys);                                                     \
        for (size_t i = 0; i < n; i++)                                                    \
            dy[i] = dx[0] ? NAME##_df(a->x[0][i], a->y[i], a->attr, a->kink_grad) * dx[0][i] \
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
 * through the broadcast offsets, which sums the gradient back to each input's shape. */
#define AD__BINARY_KERNELS(NAME)                                                          \
    static void NAME##_forward(const ad_op_args *a, double *y)                            \
    {                                                                                     \
        ad__bcast b;                                                                      \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        AD__BCAST_FOR(b, y[i] = NAME##_f(a->x[0][i0], a->x[1][i1]));                      \
    }                                                                                     \
    static void NAME##_backward(const ad_op_args *a, const double *gy,                    \
                                double *const gx[AD_MAX_ARITY])                           \
    {                                                                                     \
        ad__bcast b;                                                                      \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        if (gx[0])                                                                        \
            AD__BCAST_FOR(b, gx[0][i0] += gy[i] * NAME##_da(a->x[0][i0], a->x[1][i1], a->y[i])); \
        if (gx[1])                                                                        \
            AD__BCAST_FOR(b, gx[1][i1] += gy[i] * NAME##_db(a->x[0][i0], a->x[1][i1], a->y[i])); \
    }                                                                                     \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY],     \
                           double *dy)                                                    \
    {                                                                                     \
        ad__bcast b;                                                                      \
        ad__bcast_init(&b, &a->ys, &a->xs[0], &a->xs[1]);                                 \
        AD__BCAST_FOR(b, {                                                                \
            double t = 0.0;                                                               \
            if (dx[0])                                                                    \
                t += NAME##_da(a->x[0][i0], a->x[1][i1], a->y[i]) * dx[0][i0];            \
            if (dx[1])                                                                    \
                t += NAME##_db(a->x[0][i0], a->x[1][i1], a->y[i]) * dx[1][i1];            \
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

/* The four kernel slots of an op made by AD__UNARY_KERNELS or AD__BINARY_KERNELS. */
#define AD__KERNEL_SLOTS(NAME)                                                            \
    .forward = NAME##_forward, .backward = NAME##_backward, .jvp = NAME##_jvp,            \
    .reference = NAME##_reference

#endif
