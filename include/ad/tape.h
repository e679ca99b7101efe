/* tape.h - the tape (a Wengert list in an arena), variables, parameters and the backward sweep. */
#ifndef AD_TAPE_H
#define AD_TAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "export.h"
#include "status.h"
#include "alloc.h"
#include "shape.h"
#include "op.h"

typedef struct ad_tape ad_tape;
typedef struct ad_param ad_param;

/* A variable: a node index plus the tape's id and generation, so a handle from
 * another tape or from before ad_tape_reset is caught. All zero is the nil var. */
typedef struct ad_var {
    uint32_t index;
    uint32_t tape;
    uint32_t gen;
} ad_var;

#define AD_NIL ((ad_var){0, 0, 0})

/* Tape settings: fill with ad_tape_opts_default(), then change what you need. */
typedef struct ad_tape_opts {
    ad_allocator alloc;    /* {NULL, NULL}: malloc/realloc/free                */
    size_t chunk_bytes;    /* arena chunk size (bigger requests get their own) */
    double relu_at_zero;   /* ReLU-family gradient at 0, in [0, 1]; default 0  */
} ad_tape_opts;

/** @return the default tape settings. */
AD_API ad_tape_opts ad_tape_opts_default(void);

/**
 * Creates a tape.
 * @param opts settings, or NULL for the defaults
 * @return a tape; never NULL. When memory or settings fail, a tape in error
 *         is returned (ad_tape_status says why) on which every call is a no-op.
 *         Free it with ad_tape_free either way.
 */
AD_API ad_tape *ad_tape_new(const ad_tape_opts *opts);

/** Frees a tape and all its memory. NULL and the static in-error tape are fine. */
AD_API void ad_tape_free(ad_tape *t);

/**
 * Rewinds the tape: forgets every node, keeps the arena chunks, clears the
 * error. Handles from before the reset become stale. In steady state (the
 * same program each step) it allocates nothing.
 */
AD_API void ad_tape_reset(ad_tape *t);

/** @return the tape's first error (sticky), or AD_OK. NULL gives AD_EINVAL. */
AD_API ad_status ad_tape_status(const ad_tape *t);

/** @return the first error's message ("" when none); never NULL. */
AD_API const char *ad_tape_error(const ad_tape *t);

/**
 * Sets the ReLU-family gradient at exactly 0 (relu'(0)); any value in [0, 1]
 * is a valid subgradient. Default 0, as PyTorch and JAX.
 * @return AD_OK, or AD_EINVAL (also recorded on the tape) for a value outside [0, 1] or NaN.
 */
AD_API ad_status ad_tape_set_relu_at_zero(ad_tape *t, double g);

/** @return the tape's ReLU-family gradient at 0. */
AD_API double ad_tape_relu_at_zero(const ad_tape *t);

/** @return the number of nodes recorded since the last reset. */
AD_API size_t ad_tape_size(const ad_tape *t);

/** @return bytes of arena memory held by the tape (kept across resets). */
AD_API size_t ad_tape_bytes(const ad_tape *t);

/**
 * Records an input: a copy of data with the given shape. Backward computes
 * its gradient (read it with ad_grad).
 * @param data count(shape) doubles, copied; NULL gives zeros
 * @return the variable, or AD_NIL on a tape in error (or on a new error).
 */
AD_API ad_var ad_input(ad_tape *t, ad_shape shape, const double *data);

/** Records a scalar input. */
AD_API ad_var ad_scalar(ad_tape *t, double value);

/** Records a constant: like ad_input, but no gradient flows to it. */
AD_API ad_var ad_const(ad_tape *t, ad_shape shape, const double *data);

/**
 * Applies any op (built-in or custom) to inputs; the builders such as ad_relu
 * call this.
 * @param in     op->arity variables
 * @param attr   n_attr attributes, fewer than op->n_attr take the defaults
 * @return the output variable, or AD_NIL with the tape in error.
 */
AD_API ad_var ad_apply(ad_tape *t, const ad_op *op, const ad_var *in,
                       unsigned n_in, const double *attr, unsigned n_attr);

/** @return true for the nil variable. */
AD_API bool ad_var_is_nil(ad_var v);

/** @return the variable's values (count of its shape), or NULL for a bad handle. */
AD_API const double *ad_value(const ad_tape *t, ad_var v);

/** @return the first element of a variable's value; NAN for a bad handle. */
AD_API double ad_value_scalar(const ad_tape *t, ad_var v);

/** @return the shape of a variable (rank 0 for a bad handle). */
AD_API ad_shape ad_var_shape(const ad_tape *t, ad_var v);

/**
 * The gradient of the last ad_backward's loss with respect to v.
 * @return count(shape) doubles valid until the next backward or reset; NULL
 *         for a bad handle, before any backward, or when v needs no gradient.
 */
AD_API const double *ad_grad(const ad_tape *t, ad_var v);

/**
 * Reverse sweep: one loop over the nodes in reverse, accumulating into input
 * gradients, skipping nodes that need none. Parameters' gradients accumulate
 * across calls until ad_param_zero_grad.
 * @param loss a scalar variable of this tape
 * @return AD_OK; the sticky error for a tape in error; AD_ENOTSCALAR,
 *         AD_EHANDLE or AD_ENOMEM (all recorded on the tape).
 */
AD_API ad_status ad_backward(ad_tape *t, ad_var loss);

/* ---- parameters: outside tapes, they outlive them ---- */

/**
 * Creates a parameter (a trainable tensor) with its own allocator.
 * @param data count(shape) doubles copied in; NULL gives zeros
 * @param alloc allocator, or NULL for the default
 * @param out receives the parameter (NULL on failure)
 * @return AD_OK, AD_EINVAL (out NULL, bad rank), AD_EOVERFLOW or AD_ENOMEM.
 */
AD_API ad_status ad_param_new(ad_shape shape, const double *data,
                              const ad_allocator *alloc, ad_param **out);

/**
 * Frees a parameter (NULL is fine). A tape that bound it (ad_use) keeps it
 * alive until that tape is reset or freed, so freeing a bound parameter is
 * safe: backward still has somewhere to put its gradient, and the memory goes
 * back to the allocator when the last binding goes. Do not use p afterwards.
 */
AD_API void ad_param_free(ad_param *p);

/**
 * Binds a parameter into a tape. Its values are copied at this moment, so an
 * optimizer may update the parameter while the recording stays consistent;
 * ad_backward adds this binding's gradient into the parameter's gradient.
 * @return its variable, or AD_NIL (tape in error, or p NULL).
 */
AD_API ad_var ad_use(ad_tape *t, ad_param *p);

/** @return the parameter's values (mutable: optimizers update them in place). */
AD_API double *ad_param_data(ad_param *p);

/** @return the accumulated gradient. */
AD_API double *ad_param_grad(ad_param *p);

/** @return the parameter's shape. */
AD_API ad_shape ad_param_shape(const ad_param *p);

/** @return the number of elements. */
AD_API size_t ad_param_count(const ad_param *p);

/** Sets the accumulated gradient to zero. */
AD_API void ad_param_zero_grad(ad_param *p);

#endif
