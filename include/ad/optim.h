/* optim.h - optimizers (SGD with momentum/Nesterov/weight decay, Adam, AdamW) and gradient clipping. */
#ifndef AD_OPTIM_H
#define AD_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include "export.h"
#include "status.h"
#include "alloc.h"
#include "tape.h"

typedef enum ad_optim_kind {
    AD_OPTIM_SGD,
    AD_OPTIM_ADAM,
    AD_OPTIM_ADAMW,
    AD_OPTIM_COUNT /* never use: a sentinel */
} ad_optim_kind;

/*
 * Optimizer settings: fill with ad_optim_opts_default(kind), change what you
 * need. The updates are PyTorch's (torch.optim.SGD with dampening 0, Adam,
 * AdamW), with g the accumulated gradient, p the parameter, t the step
 * count starting at 1:
 *   SGD:   g += wd p; b = (t == 1 ? g : mu b + g);
 *          d = nesterov ? g + mu b : b (d = g when mu == 0); p -= lr d
 *   Adam:  g += wd p (L2 in the gradient); m = b1 m + (1-b1) g;
 *          v = b2 v + (1-b2) g^2; p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   AdamW: p *= 1 - lr wd (decoupled decay), then Adam with wd = 0.
 */
typedef struct ad_optim_opts {
    ad_optim_kind kind;
    double lr;            /* > 0, finite                              */
    double momentum;      /* SGD: in [0, 1)                           */
    bool nesterov;        /* SGD: needs momentum > 0                  */
    double weight_decay;  /* >= 0, finite                             */
    double beta1, beta2;  /* Adam/AdamW: each in [0, 1)               */
    double eps;           /* Adam/AdamW: > 0, finite                  */
    ad_allocator alloc;   /* for the optimizer and its state          */
} ad_optim_opts;

/**
 * Defaults per kind: SGD lr 0.01, no momentum, no decay; Adam lr 1e-3,
 * betas (0.9, 0.999), eps 1e-8, no decay; AdamW as Adam with decay 0.01.
 * @return the settings (an unknown kind gives the SGD defaults with that kind,
 *         which ad_optim_new rejects).
 */
AD_API ad_optim_opts ad_optim_opts_default(ad_optim_kind kind);

typedef struct ad_optim ad_optim;

/**
 * Creates an optimizer over n parameters (not copied: the array may go, the
 * parameters must outlive the optimizer). State (momentum, moments) is
 * allocated here, once; steps allocate nothing.
 * @return never NULL. Bad settings give an optimizer in error whose
 *         ad_optim_status/ad_optim_error say what is wrong (AD_EINVAL: which
 *         setting and its value, or which parameter is NULL); out of memory
 *         gives a static one in AD_ENOMEM. Free it with ad_optim_free either way.
 */
AD_API ad_optim *ad_optim_new(const ad_optim_opts *opts, ad_param *const *params, size_t n);

/** Frees an optimizer (NULL and the static in-error one are fine). */
AD_API void ad_optim_free(ad_optim *o);

/**
 * One update of every parameter from its accumulated gradient. Gradients are
 * left as they are (call ad_optim_zero_grad before the next backward).
 * @return AD_OK; the sticky error of an optimizer in error; AD_EDOMAIN (kept)
 *         when a gradient holds NaN or inf, naming the parameter and element;
 *         no parameter is changed then. AD_EINVAL for o NULL.
 */
AD_API ad_status ad_optim_step(ad_optim *o);

/** Zeroes the accumulated gradient of every parameter of o. */
AD_API void ad_optim_zero_grad(ad_optim *o);

/**
 * Changes the learning rate (for a schedule).
 * @return AD_OK, or AD_EINVAL (kept) for lr <= 0 or not finite.
 */
AD_API ad_status ad_optim_set_lr(ad_optim *o, double lr);

/** @return the learning rate (NAN for NULL). */
AD_API double ad_optim_lr(const ad_optim *o);

/** @return the number of steps taken. */
AD_API size_t ad_optim_steps(const ad_optim *o);

/**
 * The parameters the optimizer updates.
 * @param n receives their number (may be NULL)
 * @return the optimizer's own array (valid while it lives), NULL when empty.
 */
AD_API ad_param *const *ad_optim_params(const ad_optim *o, size_t *n);

/** @return the optimizer's first error (sticky), AD_OK, or AD_EINVAL for NULL. */
AD_API ad_status ad_optim_status(const ad_optim *o);

/** @return the first error's message ("" when none); never NULL. */
AD_API const char *ad_optim_error(const ad_optim *o);

/* ---- learning-rate schedules (schedule.c): pure functions, feed ad_optim_set_lr ---- */

/**
 * Step decay: base * gamma^floor(step / every).
 * @return the rate; NAN for every == 0, base not > 0, or gamma not in (0, 1].
 */
AD_API double ad_lr_step_decay(double base, size_t step, size_t every, double gamma);

/**
 * Cosine annealing (Loshchilov and Hutter): min + (base - min)(1 + cos(pi s / total)) / 2,
 * s = min(step, total): base at step 0, min from step total on.
 * @return the rate; NAN for total == 0 or not 0 <= min <= base (base > 0).
 */
AD_API double ad_lr_cosine(double base, double min, size_t step, size_t total);

/* ---- clipping (clip.c) ---- */

/**
 * Scales all gradients together so their global L2 norm is at most max_norm
 * (no epsilon: the norm after clipping is max_norm up to rounding).
 * @param norm_before receives the global norm before clipping (may be NULL);
 *        computed with scaling, so huge gradients do not overflow it
 * @return AD_OK; AD_EINVAL (params NULL with n > 0, a NULL parameter,
 *         max_norm not finite or < 0); AD_EDOMAIN when a gradient is NaN or
 *         inf (nothing is changed, norm_before receives NaN or inf).
 */
AD_API ad_status ad_clip_grad_norm(ad_param *const *params, size_t n, double max_norm,
                                   double *norm_before);

/**
 * Clamps every gradient element into [-clip, clip].
 * @param norm_before receives the global L2 norm before clipping (may be NULL)
 * @return as ad_clip_grad_norm.
 */
AD_API ad_status ad_clip_grad_value(ad_param *const *params, size_t n, double clip,
                                    double *norm_before);

#endif
