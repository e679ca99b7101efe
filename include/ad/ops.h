/* ops.h - the built-in ops: their descriptors and their builders.
 *
 * Every builder records one node and returns its variable. On a tape in
 * error it records nothing and returns AD_NIL; a new error (a bad handle, a
 * shape that does not fit) is recorded on the tape with a message naming the
 * builder, the node and the shapes. Binary elementwise ops broadcast by
 * NumPy rules, and their backward sums the gradient back to each input's shape. */
#ifndef AD_OPS_H
#define AD_OPS_H

#include "export.h"
#include "op.h"
#include "tape.h"

/* ---- arithmetic (ops/arith.c) ---- */
AD_API extern const ad_op ad_op_add, ad_op_sub, ad_op_mul, ad_op_div, ad_op_neg;
AD_API ad_var ad_add(ad_tape *t, ad_var a, ad_var b); /* a + b            */
AD_API ad_var ad_sub(ad_tape *t, ad_var a, ad_var b); /* a - b            */
AD_API ad_var ad_mul(ad_tape *t, ad_var a, ad_var b); /* a * b            */
AD_API ad_var ad_div(ad_tape *t, ad_var a, ad_var b); /* a / b            */
AD_API ad_var ad_neg(ad_tape *t, ad_var x);           /* -x               */

/* ---- smooth elementwise (ops/unary.c) ---- */
AD_API extern const ad_op ad_op_exp, ad_op_log, ad_op_sqrt, ad_op_tanh;
AD_API ad_var ad_exp(ad_tape *t, ad_var x);  /* e^x                               */
AD_API ad_var ad_log(ad_tape *t, ad_var x);  /* ln x                              */
AD_API ad_var ad_sqrt(ad_tape *t, ad_var x); /* sqrt x; derivative +inf at 0      */
AD_API ad_var ad_tanh(ad_tape *t, ad_var x); /* tanh x; derivative via sech^2     */

/* ---- piecewise, with kinks (ops/piecewise.c) ---- */
AD_API extern const ad_op ad_op_relu;
/* max(0, x); gradient at exactly 0 is the tape's relu_at_zero (default 0). */
AD_API ad_var ad_relu(ad_tape *t, ad_var x);

/* ---- reductions (ops/reduce.c) ---- */
AD_API extern const ad_op ad_op_sum, ad_op_mean, ad_op_sum_axis, ad_op_mean_axis;
AD_API ad_var ad_sum(ad_tape *t, ad_var x);  /* sum of all elements, a scalar     */
AD_API ad_var ad_mean(ad_tape *t, ad_var x); /* mean of all elements, a scalar    */
/* Sum or mean along one axis (negative counts from the end); the axis is removed. */
AD_API ad_var ad_sum_axis(ad_tape *t, ad_var x, int axis);
AD_API ad_var ad_mean_axis(ad_tape *t, ad_var x, int axis);

/* ---- linear algebra (ops/linalg.c) ---- */
AD_API extern const ad_op ad_op_matmul;
/* [m, k] x [k, n] -> [m, n], or batched [b, m, k] x [b, k, n] -> [b, m, n]. */
AD_API ad_var ad_matmul(ad_tape *t, ad_var a, ad_var b);

#endif
