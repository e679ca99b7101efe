/* op.h - the op descriptor: everything about one op in one const struct, and the registry. */
#ifndef AD_OP_H
#define AD_OP_H

#include <stddef.h>
#include <stdint.h>
#include <mpfr.h>
#include "export.h"
#include "shape.h"
#include "status.h"

#define AD_MAX_ARITY 3
#define AD_MAX_ATTR 4

/* What a kernel sees: input values and shapes, attributes, tape settings. */
typedef struct ad_op_args {
    unsigned n_in;
    const double *x[AD_MAX_ARITY];  /* input values, row-major              */
    ad_shape xs[AD_MAX_ARITY];      /* input shapes                         */
    const double *y;                /* output value (NULL inside forward)   */
    ad_shape ys;                    /* output shape                         */
    const double *attr;             /* op->n_attr values, defaults filled   */
    double kink_grad;               /* the tape's ReLU-family gradient at 0 */
} ad_op_args;

/* What an MPFR reference sees: element j of input i is a->x[i] + j. */
typedef struct ad_ref_args {
    unsigned n_in;
    mpfr_srcptr x[AD_MAX_ARITY];
    ad_shape xs[AD_MAX_ARITY];
    ad_shape ys;
    const double *attr;
} ad_ref_args;

/* A point where the op is not differentiable, with the choice it makes there. */
typedef struct ad_kink {
    double at;          /* input value of the kink (x == at)                       */
    double left, right; /* one-sided derivatives there (with default attributes;   */
                        /* ad_op_kinks gives them at other attribute values)      */
    double choice;      /* what backward returns there; NAN: the tape's kink_grad  */
    const char *why;    /* printed by `adcheck ops`                                */
} ad_kink;

/* The sampling box of each input, used by ad_op_verify and the fuzzers. */
typedef struct ad_domain {
    double lo[AD_MAX_ARITY], hi[AD_MAX_ARITY];
} ad_domain;

/* Op flags. */
enum {
    AD_OP_ELEMENTWISE = 1u << 0, /* output element i depends on input element i only */
    AD_OP_BROADCAST   = 1u << 1, /* binary elementwise with NumPy broadcasting        */
    AD_OP_KINK_GRAD   = 1u << 2, /* reads the tape's ReLU-family gradient at 0       */
    /* unary elementwise with a derivative of period 2 pi and magnitude at most 1
     * (sin, cos): an input rounded by pi or more leaves it anywhere in [-1, 1],
     * which ad_check_grad's error estimate then allows */
    AD_OP_PERIODIC    = 1u << 3,
};

/* Value returned by piece() for a point exactly on a kink. */
#define AD_PIECE_KINK 0

typedef struct ad_op {
    const char *name;   /* registry name, e.g. "relu"               */
    const char *math;   /* what tools print, e.g. "max(0, x)"       */
    unsigned arity;     /* inputs, 1..AD_MAX_ARITY                  */
    unsigned n_attr;    /* numeric attributes, 0..AD_MAX_ATTR       */
    const char *const *attr_name;  /* n_attr names                  */
    const double *attr_default;    /* n_attr defaults               */
    uint32_t flags;
    uint32_t int_inputs; /* bitmask: inputs holding integers (class indices): no
                            gradient flows to them; verification samples them as
                            integers in their domain box                       */

    /* Output shape from input shapes and attributes. NULL: same as input 0.
     * On failure writes a reason into why and returns AD_ESHAPE or AD_EINVAL. */
    ad_status (*shape)(const ad_op_args *a, ad_shape *out, char *why, size_t why_len);
    /* Checks attribute values; NULL: any finite value. Writes a reason. */
    ad_status (*check_attr)(const double *attr, char *why, size_t why_len);

    /* y = f(x). */
    void (*forward)(const ad_op_args *a, double *y);
    /* Vector-Jacobian product: gx[i] += J_i^T gy. gx[i] == NULL: input i needs no gradient. */
    void (*backward)(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY]);
    /* Jacobian-vector product: dy = sum_i J_i dx[i]. dx[i] == NULL: a zero tangent. */
    void (*jvp)(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy);
    /* Optional, for ops whose jvp and backward sum terms that cancel (a
     * projection): dy_e >= the rounding error, in units of DBL_EPSILON, of
     * output (or, for a symmetric J, input) element e formed from the tangent
     * dx (given as |dx|): each term's magnitude times the roundings it passes
     * through, the accumulation into the adjoint and the product by it
     * included. ad_check_grad's error estimate then uses it in place of
     * (ulp_bwd + 2) |J| |dx|, which a cancelled column understates. */
    void (*jvp_terms)(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy);
    /* MPFR forward: y + j receives output element j at its own precision.
     * @return 0 on success; AD_ENOMEM when it could not allocate (checks and
     *         sweeps then end in AD_ENOMEM instead of skipping the point);
     *         another nonzero value when the reference cannot evaluate it. */
    int (*reference)(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd);
    /* Which smooth piece output element i lies in: AD_PIECE_KINK exactly on a
     * kink, any other value names a piece. NULL: smooth everywhere. */
    int (*piece)(const ad_op_args *a, size_t i);

    const ad_kink *kinks;  /* n_kinks declared kinks (documentation and tests) */
    unsigned n_kinks;
    /* The kinks at these attribute values: out holds `kinks` on entry, the
     * function moves their at, left, right and choice (clamp's bounds,
     * leaky_relu's slope). NULL: `kinks` hold at every attribute value. */
    void (*kinks_at)(const double *attr, ad_kink *out);
    ad_domain domain;      /* sampling box per input                 */
    const ad_shape *sample_shapes; /* per input, for verification; NULL: scalars */
    double ulp_fwd, ulp_bwd;       /* promised bounds against MPFR, in ulps     */
} ad_op;

/**
 * Finds a registered op (built-in or custom) by name.
 * @return the descriptor, or NULL when no op has that name.
 */
AD_API const ad_op *ad_op_find(const char *name);

/** @return the number of registered ops (built-ins first, then custom ops). */
AD_API size_t ad_op_count(void);

/** @return the i-th registered op, or NULL when i >= ad_op_count(). */
AD_API const ad_op *ad_op_at(size_t i);

/**
 * The kinks of an op at given attribute values: where each sits, the one-sided
 * derivatives there and the op's choice, all of which can move with the
 * attributes (clamp(x, c, c) is constant: both sides and the choice are 0).
 * @param op    the op (NULL: none)
 * @param attr  op->n_attr values, or NULL for the op's defaults
 * @param out   receives the first min(n_kinks, cap) kinks
 * @param cap   room in out
 * @return op->n_kinks (0 for a NULL op).
 */
AD_API unsigned ad_op_kinks(const ad_op *op, const double *attr, ad_kink *out, unsigned cap);

/**
 * Registers a custom op so that tools and the registry-driven checks see it.
 * The descriptor is not copied: it must outlive every use. Not thread-safe.
 * @param op   a descriptor with name, arity, forward and backward set
 * @param why  receives a reason on failure (may be NULL)
 * @return AD_OK; AD_EINVAL for a NULL op or a missing required slot or bad
 *         arity; AD_EEXIST for a duplicate name; AD_ELIMIT when full.
 */
AD_API ad_status ad_op_register(const ad_op *op, char *why, size_t why_len);

/**
 * Removes every custom op (tests use this to start clean).
 */
AD_API void ad_op_unregister_all(void);

#endif
