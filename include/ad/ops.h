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
AD_API extern const ad_op ad_op_expm1, ad_op_log1p, ad_op_square, ad_op_sin, ad_op_cos, ad_op_pow;
AD_API ad_var ad_expm1(ad_tape *t, ad_var x);  /* e^x - 1; derivative e^x          */
AD_API ad_var ad_log1p(ad_tape *t, ad_var x);  /* ln(1 + x); derivative 1/(1 + x)  */
AD_API ad_var ad_square(ad_tape *t, ad_var x); /* x^2                              */
AD_API ad_var ad_sin(ad_tape *t, ad_var x);    /* sin x                            */
AD_API ad_var ad_cos(ad_tape *t, ad_var x);    /* cos x                            */
/* x^p, both differentiable (broadcast). At x = 0: dx = 0 (p > 1), 1 (p = 1),
 * +inf (0 < p < 1); dp = 0 for p > 0. dp is NaN for x < 0. */
AD_API ad_var ad_pow(ad_tape *t, ad_var x, ad_var p);

/* ---- smooth activations (ops/activation.c) ---- */
AD_API extern const ad_op ad_op_sigmoid, ad_op_logsigmoid, ad_op_softplus, ad_op_softsign,
    ad_op_erf, ad_op_gelu, ad_op_gelu_tanh, ad_op_silu, ad_op_mish;
AD_API ad_var ad_sigmoid(ad_tape *t, ad_var x);    /* 1 / (1 + e^-x), split-stable          */
AD_API ad_var ad_logsigmoid(ad_tape *t, ad_var x); /* -softplus(-x); logsigmoid(-1000) = -1000 */
/* ln(1 + e^(beta x)) / beta, exact for every x (no linear switch); beta > 0 (default 1). */
AD_API ad_var ad_softplus(ad_tape *t, ad_var x, double beta);
AD_API ad_var ad_softsign(ad_tape *t, ad_var x);   /* x / (1 + |x|)                         */
AD_API ad_var ad_erf(ad_tape *t, ad_var x);        /* erf x                                 */
AD_API ad_var ad_gelu(ad_tape *t, ad_var x);       /* x Phi(x), exact (erfc); gelu'(0) = 1/2 */
AD_API ad_var ad_gelu_tanh(ad_tape *t, ad_var x);  /* the tanh approximation of gelu        */
AD_API ad_var ad_silu(ad_tape *t, ad_var x);       /* x sigmoid(x)                          */
AD_API ad_var ad_mish(ad_tape *t, ad_var x);       /* x tanh(softplus x); mish'(0) = 0.6    */

/* ---- piecewise, with kinks (ops/piecewise.c) ---- */
AD_API extern const ad_op ad_op_relu;
/* max(0, x); gradient at exactly 0 is the tape's relu_at_zero (default 0). */
AD_API ad_var ad_relu(ad_tape *t, ad_var x);
AD_API extern const ad_op ad_op_leaky_relu, ad_op_prelu, ad_op_relu6, ad_op_hardtanh,
    ad_op_hardsigmoid, ad_op_hardswish, ad_op_abs, ad_op_max, ad_op_min, ad_op_clamp,
    ad_op_elu, ad_op_selu, ad_op_celu;
/* x > 0 ? x : slope x (default 0.01); gradient at 0 is slope (PyTorch). */
AD_API ad_var ad_leaky_relu(ad_tape *t, ad_var x, double slope);
/* x > 0 ? x : a x with a differentiable slope a broadcast to x's shape (a scalar,
 * or [C] for x [N, C]); at 0: d/dx = a, d/da = 0 (PyTorch). */
AD_API ad_var ad_prelu(ad_tape *t, ad_var x, ad_var a);
AD_API ad_var ad_relu6(ad_tape *t, ad_var x); /* min(max(x, 0), 6); gradient 0 at 0 and 6 */
/* min(max(x, lo), hi), lo <= hi (defaults -1, 1); gradient 0 at the edges (PyTorch). */
AD_API ad_var ad_hardtanh(ad_tape *t, ad_var x, double lo, double hi);
AD_API ad_var ad_hardsigmoid(ad_tape *t, ad_var x); /* relu6(x + 3)/6; gradient 0 at -3, 3 */
AD_API ad_var ad_hardswish(ad_tape *t, ad_var x);   /* x relu6(x + 3)/6; -1/2 at -3, 3/2 at 3 */
AD_API ad_var ad_abs(ad_tape *t, ad_var x);         /* |x|; gradient 0 at 0                 */
AD_API ad_var ad_max(ad_tape *t, ad_var a, ad_var b); /* broadcast; a tie gives 1/2 each    */
AD_API ad_var ad_min(ad_tape *t, ad_var a, ad_var b); /* broadcast; a tie gives 1/2 each    */
/* min(max(x, lo), hi), lo <= hi; gradient 1 at the bounds (the value passes through),
 * 0 when lo == hi (a constant). */
AD_API ad_var ad_clamp(ad_tape *t, ad_var x, double lo, double hi);
/* x > 0 ? x : alpha (e^x - 1) (default alpha 1); gradient alpha at 0 (the left one). */
AD_API ad_var ad_elu(ad_tape *t, ad_var x, double alpha);
AD_API ad_var ad_selu(ad_tape *t, ad_var x); /* 1.0507 elu(x, 1.67326); scale alpha at 0 */
/* x > 0 ? x : alpha (e^(x/alpha) - 1), alpha > 0 (default 1); smooth. */
AD_API ad_var ad_celu(ad_tape *t, ad_var x, double alpha);

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
AD_API extern const ad_op ad_op_dot;
/* sum_i a_i b_i over two tensors of one shape, a scalar. */
AD_API ad_var ad_dot(ad_tape *t, ad_var a, ad_var b);

/* ---- along the last axis (ops/softmax.c) ----
 * A row of all -inf: logsumexp is -inf with gradient 0; softmax and log_softmax
 * give NaN in that row only (undefined, as PyTorch). A +inf entry: logsumexp is
 * +inf with gradient NaN in its row; softmax and log_softmax give NaN in the row. */
AD_API extern const ad_op ad_op_softmax, ad_op_log_softmax, ad_op_logsumexp, ad_op_layer_norm;
AD_API ad_var ad_softmax(ad_tape *t, ad_var x);     /* e^x_j / sum_k e^x_k, max-shifted   */
AD_API ad_var ad_log_softmax(ad_tape *t, ad_var x); /* x_j - logsumexp(x)                 */
AD_API ad_var ad_logsumexp(ad_tape *t, ad_var x);   /* ln sum_k e^x_k; the axis is removed */
/* (x - mean) / sqrt(var + eps), biased variance, eps >= 0 (default 1e-5); no
 * scale or shift (use ad_mul and ad_add). */
AD_API ad_var ad_layer_norm(ad_tape *t, ad_var x, double eps);

/* ---- losses (ops/loss.c): scalars, means over elements (or rows) ----
 * pred and target have one shape (no broadcasting); class indices are a tensor
 * of integers in [0, C) (build them with ad_const), shaped like the scores
 * without their last axis; a bad index is AD_EINVAL naming its position. */
AD_API extern const ad_op ad_op_mse, ad_op_l1_loss, ad_op_huber, ad_op_bce_with_logits,
    ad_op_cross_entropy, ad_op_nll;
AD_API ad_var ad_mse(ad_tape *t, ad_var pred, ad_var target);     /* mean (p - t)^2         */
AD_API ad_var ad_l1_loss(ad_tape *t, ad_var pred, ad_var target); /* mean |p - t|; 0 at p = t */
/* mean of d^2/2 (|d| <= delta) or delta (|d| - delta/2), d = p - t; delta > 0 (default 1). */
AD_API ad_var ad_huber(ad_tape *t, ad_var pred, ad_var target, double delta);
/* mean ln(1 + e^x) - x y from logits x and targets y in [0, 1], stable. */
AD_API ad_var ad_bce_with_logits(ad_tape *t, ad_var x, ad_var y);
/* mean over rows of logsumexp(logits_r) - logits_r[c_r]; logits [N, C] or [C]. */
AD_API ad_var ad_cross_entropy(ad_tape *t, ad_var logits, ad_var classes);
/* -mean over rows of log_probs_r[c_r]. */
AD_API ad_var ad_nll(ad_tape *t, ad_var log_probs, ad_var classes);

/* ---- regularization (ops/regularize.c) ---- */
AD_API extern const ad_op ad_op_l1_penalty, ad_op_l2_penalty, ad_op_dropout;
AD_API ad_var ad_l1_penalty(ad_tape *t, ad_var w); /* sum |w|; gradient 0 at 0 */
AD_API ad_var ad_l2_penalty(ad_tape *t, ad_var w); /* sum w^2                  */
/* Inverted dropout: keep_i x_i / (1 - p), p in [0, 1) (p = 0 is the identity).
 * The mask is drawn from (seed, element index) and recorded through the node's
 * attributes, so forward and backward agree and one seed gives one mask; pass
 * a new seed each training step. seed must be at most 2^53. */
AD_API ad_var ad_dropout(ad_tape *t, ad_var x, double p, uint64_t seed);

#endif
