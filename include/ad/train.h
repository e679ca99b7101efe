/* train.h - training-loop support: a reused tape per step, progress on a terminal, loss CSV, sparkline. */
#ifndef AD_TRAIN_H
#define AD_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "export.h"
#include "status.h"
#include "tape.h"
#include "optim.h"

/**
 * Records one step's program on t (already reset) and returns the scalar loss.
 * A failed builder leaves the tape in error; returning that AD_NIL is fine.
 */
typedef ad_var (*ad_train_fn)(ad_tape *t, void *ud, size_t step);

/* Loop settings: fill with ad_train_opts_default(), change what you need. */
typedef struct ad_train_opts {
    size_t steps;           /* number of steps (default 1000)                          */
    double target_loss;     /* stop once the loss is below this (default NAN: never)   */
    double clip_norm;       /* clip the global gradient norm to this (0: no clipping)  */
    size_t progress_every;  /* a progress line every N steps (default 100; 0: never)   */
    FILE *progress;         /* NULL: stderr, only when it is a terminal; a FILE given
                               here is always written (one line per N steps)         */
    const char *csv_path;   /* write "step,loss" rows here at the end (NULL: no CSV)   */
    FILE *summary;          /* print "loss A -> B in N steps" and a sparkline here at
                               the end (NULL: nothing)                                 */
} ad_train_opts;

/** @return the default loop settings. */
AD_API ad_train_opts ad_train_opts_default(void);

typedef struct ad_train_result {
    size_t steps;           /* steps taken                                            */
    double first_loss, final_loss, best_loss;
    size_t reached;         /* the step (1-based) the loss first fell below target, 0 if never */
    double last_grad_norm;  /* global gradient norm of the last step, before clipping  */
} ad_train_result;

/**
 * Runs the loop: per step ad_tape_reset, ad_optim_zero_grad, fn, ad_backward,
 * clipping if asked, ad_optim_step. The loss curve is kept in one buffer
 * allocated once from the tape's allocator before the first step; in steady
 * state (fn recording the same program) a step allocates nothing.
 * @param res receives the outcome (may be NULL); filled for the steps done
 *        even on failure
 * @return AD_OK; AD_EINVAL (NULL t, o or fn; steps 0; clip_norm < 0 or not
 *         finite); the tape's error (ad_tape_error says why) or the optimizer's
 *         (ad_optim_error); AD_EDOMAIN for a non-finite loss or gradient norm;
 *         AD_ENOMEM; AD_EIO when the CSV cannot be written.
 */
AD_API ad_status ad_train(ad_tape *t, ad_optim *o, ad_train_fn fn, void *ud,
                          const ad_train_opts *opts, ad_train_result *res);

/**
 * Draws y[0..n) as one line of Unicode block characters (U+2581..U+2588),
 * `width` cells (each the mean of its share of points; fewer when n < width),
 * on a log scale when every value is positive (loss curves span decades).
 * Non-finite values draw as '!'.
 * @param buf receives the UTF-8 line, NUL-terminated; 3 * width + 1 bytes suffice
 * @return AD_OK; AD_EINVAL (NULL, width 0); AD_ELIMIT when buf is too small
 *         (buf then holds a shorter prefix).
 */
AD_API ad_status ad_sparkline(const double *y, size_t n, size_t width, char *buf, size_t len);

/**
 * Writes "step,loss" and one row per value (steps 1-based, %.17g) to path.
 * @return AD_OK; AD_EINVAL (NULL); AD_EIO when the file cannot be written.
 */
AD_API ad_status ad_curve_write_csv(const char *path, const double *y, size_t n);

#endif
