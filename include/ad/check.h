/* check.h - gradient verification: finite differences, the MPFR replay,
 * kink-aware verdicts, the dot-product test, whole-domain op sweeps. */
#ifndef AD_CHECK_H
#define AD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "export.h"
#include "status.h"
#include "op.h"
#include "tape.h"

/* ---- checking one program: ad_check_grad ----
 *
 * Tolerances. A coordinate (or direction) passes the MPFR witness when the
 * engine lies within the largest of
 *   - max_ulps (default 64) ulps of the reference;
 *   - 64 eps times the largest reference entry (normwise);
 *   - 4 times err_est, the rounding error the program itself allows: forward
 *     error bounds propagated along the tape (each op's ulp_fwd plus its
 *     condition applied to its inputs' bounds, through its jvp), then, per
 *     node, |adjoint| times the change of the local Jacobian-vector product
 *     when an input moves by its bound, plus (ulp_bwd + 2) eps |adjoint|
 *     |J T| for the backward's own rounding (ad/cond.c). A zero gradient of
 *     cancelling terms (sum(softmax x)) gets the size of the terms that
 *     cancelled; an ill-conditioned chain (expm1(expm1(expm1 x))) the
 *     amplification of its forward errors. A non-finite term or an op
 *     without jvp adds nothing. The dot test adds 8 err_est along u to its
 *     normwise tolerance; FD adds 4 err_est to its own.
 * The MPFR difference keeps at least 64 bits above the rounding of the
 * largest value the replay held (x*y + 1e199): the precision is raised by
 * what is missing, up to 4096 bits (beyond: the entry is skipped, the notes
 * say "cancels"). A step that leaves the domain (sqrt near 0) is retried
 * relative to the smallest moved input, then one-sided; when every step
 * leaves it the entry is skipped and the notes say the reference is
 * undefined (never a mismatch).
 *
 * Kinks. The engine's gradient where ops sit on kinks is the chain rule
 * with each op's local choice, and the loss's one-sided derivatives do not
 * bound it once two kinks meet one coordinate (relu(x) + abs(x) at 0:
 * one-sided -1 and 2; relu' = g, abs' = 0 give g). So every output element
 * that sits exactly on a kink of an elementwise op (one or two inputs) of a
 * node the loss depends on is pinned (ad/pin.c): its local partials are
 * read from the op's backward (one-hot cotangent) and must lie within the
 * op's one-sided partials at its recorded inputs (MPFR, one element;
 * tolerance: their truncation plus ulp_bwd), else the coordinate is
 * kink-bad and the notes name the op; the replay then evaluates each pinned
 * element as its linear map with those partials, so its derivative is the
 * chain rule with the engine's choices, judged like a smooth coordinate
 * (kink_pinned). Sound both ways: a right engine equals it up to rounding;
 * a wrong backward anywhere, or a local choice that is no subgradient of its
 * op, fails. It is the chain rule, not the Clarke hull of a composite: a
 * composition of valid choices is accepted even where the composite's hull
 * excludes it. Kinks only crossed within the FD step, or one kink of an op
 * that cannot be pinned, keep the hull verdict (the engine within the
 * loss's one-sided MPFR derivatives); two or more unpinnable kinks make the
 * entry skipped (the notes say so): their one-sided values bound nothing.
 */

/* Settings: start from ad_check_opts_default() (or AD_CHECK_DEFAULTS). */
typedef struct ad_check_opts {
    bool fd;               /* witness 1: finite differences in double           */
    bool mpfr;             /* witness 2: the MPFR replay (kinks use it too)     */
    bool dot;              /* witness 4: forward vs reverse dot-product test    */
    bool fast;             /* random directions instead of every coordinate     */
    size_t fast_above;     /* fast mode by itself above this many coordinates (0: never) */
    unsigned n_directions; /* directions in fast mode                           */
    uint64_t seed;         /* for directions and dot-product vectors            */
    unsigned prec;         /* MPFR bits, 64..4096                               */
    double rtol, atol;     /* 0: derived from the FD error estimate             */
    double max_ulps;       /* MPFR verdict: engine within this many ulps (0: default) */
} ad_check_opts;

#define AD_CHECK_DEFAULTS                                                                  \
    ((ad_check_opts){.fd = true, .mpfr = true, .dot = true, .fast = false,                 \
                     .fast_above = 64, .n_directions = 4, .seed = 1, .prec = 256,          \
                     .rtol = 0, .atol = 0, .max_ulps = 0})

/** @return the default check settings (the same as AD_CHECK_DEFAULTS). */
AD_API ad_check_opts ad_check_opts_default(void);

/* The verdict on one coordinate (or one direction in fast mode). */
typedef enum ad_coord_class {
    AD_COORD_OK,            /* engine agrees with every witness                    */
    AD_COORD_MISMATCH,      /* engine disagrees beyond the tolerance               */
    AD_COORD_KINK_OK,       /* on or across a kink: the pinned replay agrees, or inside the hull */
    AD_COORD_KINK_BAD,      /* on or across a kink: disagrees, a choice is no subgradient, or outside the hull */
    AD_COORD_NAN_MISMATCH,  /* one of engine and reference is NaN/inf, the other not */
    AD_COORD_SKIPPED,       /* not checked (non-finite input, reference undefined or
                               cancelling at 4096 bits, several unpinnable kinks)   */
} ad_coord_class;

/* A kink met by a coordinate: which node sat on or crossed it. */
typedef struct ad_check_kink {
    const char *op;         /* op name                                   */
    size_t node;            /* index of the node on the tape             */
    size_t element;         /* element of that node's output             */
    double left, right;     /* one-sided derivatives of the loss along this coordinate (MPFR) */
    bool exactly_on;        /* the input sat on the kink (not only crossed it within a step) */
} ad_check_kink;

/* In fast mode, an entry for direction d has node AD_CHECK_DIRECTION and element d. */
#define AD_CHECK_DIRECTION SIZE_MAX

typedef struct ad_check_coord {
    size_t node;            /* the leaf (input or parameter binding) on the tape */
    size_t element;         /* element within that leaf                           */
    double x;               /* the input's value                                  */
    double engine;          /* reverse-mode gradient                              */
    double fd, fd_err;      /* central difference and its error estimate (NAN: not run) */
    double ref;             /* MPFR reference rounded to double (NAN: not run)    */
    char ref_str[48];       /* the reference with >= 20 significant digits        */
    double ulps, rel;       /* engine vs reference                                */
    ad_coord_class cls;
    bool fd_overruled;      /* FD disagreed, but the confirmed MPFR reference agrees with the engine */
    bool has_kink;
    bool kink_pinned;       /* judged against the replay with every kink at the engine's local slope */
    double err_est;         /* how far rounding alone can move the engine's value (ad/cond.c);
                               0: not needed by the verdict (computed only then) or none */
    ad_check_kink kink;
} ad_check_coord;

typedef struct ad_check_witness {
    bool ran, pass;
    double max_error;       /* fd: relative; mpfr: ulps; dot: relative      */
} ad_check_witness;

typedef struct ad_check_report {
    bool pass;                          /* every witness that ran passed     */
    ad_check_witness fd, mpfr, dot;
    bool ref_confirmed;                 /* the MPFR reference agreed with a run at higher precision */
    bool fast;                          /* directions, not coordinates       */
    bool localized;                     /* fast mode failed and fell back to coordinates */
    size_t n_coords, n_checked, n_kinks, n_skipped;
    size_t n_fd_overruled;              /* FD disagreements the MPFR reference overruled */
    size_t n_replays;                   /* MPFR evaluations of the whole tape (the cost) */
    char notes[512];                    /* e.g. "no MPFR reference for op 'x' (node 3)";
                                           after a failure, the first op that fails alone
                                           at its recorded inputs ("suspect node N: op ...") */
    bool vacuous;                       /* the check proved nothing          */
    char vacuity[160];                  /* why, when vacuous                 */
    ad_check_coord *coords;             /* n_coords entries, worst first     */
    ad_allocator alloc;                 /* what coords came from             */
    size_t cap_bytes;                   /* bytes of coords (the allocator is told) */
} ad_check_report;

/**
 * Checks the reverse-mode gradient of loss with respect to every input
 * (ad_input, ad_scalar) and parameter binding (ad_use) recorded before it.
 * Runs the reverse sweep itself: the tape's values are left as they were,
 * nothing is added into parameters' gradients, and ad_grad afterwards gives
 * the gradients of this loss. Memory comes from the tape's allocator (MPFR's
 * limbs from GMP's). Tolerances and the kink verdict: above, and README,
 * "Checking gradients".
 * @param t     a tape holding the recorded program
 * @param loss  a scalar variable of t
 * @param opts  settings, or NULL for the defaults
 * @param r     receives the report; free it with ad_check_report_free
 * @return AD_OK when the check ran (read r->pass for the verdict); the tape's
 *         sticky error; AD_EINVAL, AD_ENOTSCALAR, AD_EHANDLE, AD_ENOMEM.
 */
AD_API ad_status ad_check_grad(ad_tape *t, ad_var loss, const ad_check_opts *opts,
                               ad_check_report *r);

/** Frees what a report holds (NULL is fine); the struct itself is the caller's. */
AD_API void ad_check_report_free(ad_check_report *r);

/** Prints a report as text (worst coordinate first). @return AD_OK or AD_EIO. */
AD_API ad_status ad_check_report_print(const ad_check_report *r, FILE *f);

/** Prints a report as one JSON object. @return AD_OK or AD_EIO. */
AD_API ad_status ad_check_report_json(const ad_check_report *r, FILE *f);

/**
 * Saves the recorded program up to loss, its inputs as hex floats, and the
 * report's failing coordinates as a replayable text file (format in README).
 * @param r  a report of this program, or NULL to save the program only
 * @return AD_OK; AD_EINVAL (NULL t or f), AD_EHANDLE, the tape's sticky error; AD_EIO.
 */
AD_API ad_status ad_check_save(ad_tape *t, ad_var loss, const ad_check_report *r, FILE *f);

/**
 * Loads a file written by ad_check_save into an empty tape: leaves become
 * inputs (parameters too) or constants, ops are looked up in the registry.
 * @param loss receives the loss variable
 * @return AD_OK; AD_EPARSE (line named in the tape message), AD_ENOTFOUND
 *         (an unknown op), or an error of the builders; recorded on t.
 */
AD_API ad_status ad_check_load(ad_tape *t, FILE *f, ad_var *loss);

/**
 * Forward mode: the directional derivative of out along a tangent for every
 * leaf, by each op's jvp, in one forward sweep.
 * @param dir  for leaf node i (in tape order, inputs and parameter bindings),
 *             dir[i] points at count(shape) doubles, or NULL for a zero tangent;
 *             entries of constants and op nodes are ignored; n_dir must be
 *             out's node index + 1
 * On a tape in error returns its sticky status and writes nothing; a new
 * error (bad handle, n_dir, an op without jvp) is recorded on the tape.
 * @param dy   receives count(shape of out) doubles
 * @return AD_OK, AD_EUNSUPPORTED (an op without jvp, named in the message), ...
 */
AD_API ad_status ad_jvp(ad_tape *t, ad_var out, const double *const *dir, size_t n_dir,
                        double *dy);

/* ---- verifying every backward pass ---- */

typedef enum ad_verify_mode {
    AD_VERIFY_OFF,
    AD_VERIFY_FD,
    AD_VERIFY_MPFR,
    AD_VERIFY_ALL,
} ad_verify_mode;

/**
 * Makes every ad_backward on t run the checker after computing (and adding
 * into parameters) the gradients: fd and/or mpfr by mode, the dot-product test
 * for AD_VERIFY_ALL, fast mode above 64 coordinates. A wrong gradient makes
 * ad_backward return AD_ECHECK, recorded on the tape (sticky) with the
 * report's worst line as the message. The environment variable
 * AD_VERIFY=off|fd|mpfr|all, read by ad_tape_new, sets the default of new
 * tapes (unknown values mean off). The mode survives ad_tape_reset.
 * @return AD_OK; AD_EINVAL for a NULL tape or a mode outside the enum
 *         (recorded); the static in-error tape's status.
 */
AD_API ad_status ad_tape_set_verify(ad_tape *t, ad_verify_mode mode);

/* ---- sweeping one op over its domain: ad_op_verify ---- */

typedef struct ad_verify_opts {
    size_t samples;         /* seeded samples, log-uniform in magnitude over the domain */
    uint64_t seed;
    unsigned prec;          /* MPFR bits                                        */
    bool special_points;    /* +-0, subnormals, DBL_MIN, +-1, kinks +-1 ulp, edges, overflow, inf, NaN */
} ad_verify_opts;

#define AD_VERIFY_DEFAULTS ((ad_verify_opts){.samples = 200, .seed = 1, .prec = 256, .special_points = true})

/** @return the default sweep settings (the same as AD_VERIFY_DEFAULTS). */
AD_API ad_verify_opts ad_verify_opts_default(void);

/* Where a worst case happened. */
typedef struct ad_verify_worst {
    double ulps;                   /* error in ulps against MPFR          */
    double x[AD_MAX_ARITY];        /* first element of each input there   */
} ad_verify_worst;

typedef struct ad_op_report {
    const char *op;
    bool pass;
    bool fd_only;                  /* the op has no reference: FD only   */
    size_t samples, kinks_checked, failures;
    ad_verify_worst fwd, bwd, jvp;
    char first_failure[256];       /* explains itself: input, expected, got, ulps */
    size_t outside_mismatches;     /* disagreements at special points outside the
                                      domain box: reported, not failures   */
    char first_outside[256];
} ad_op_report;

/**
 * Verifies one op (built-in or custom) across its domain against MPFR:
 * forward, backward (a VJP with a random cotangent), tangent, kink choices;
 * FD only when the op has no reference. Points, shapes and bounds: README,
 * "Sweeping one op". Needs no tape; memory from malloc, all returned.
 * @param opts  settings, or NULL for the defaults
 * @return AD_OK when the sweep ran (read r->pass); AD_EINVAL for NULL
 *         arguments, an op without name or forward, prec outside 64..4096
 *         (r->first_failure says which); AD_ESHAPE, AD_ELIMIT (sample shapes
 *         the op rejects or too large); AD_ENOMEM.
 */
AD_API ad_status ad_op_verify(const ad_op *op, const ad_verify_opts *opts, ad_op_report *r);

#endif
