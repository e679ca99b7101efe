/* health.h - the gradient-health report: norms per parameter, amplification per layer, exploding/vanishing flags, dead ReLU units. */
#ifndef AD_HEALTH_H
#define AD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "export.h"
#include "status.h"
#include "alloc.h"
#include "tape.h"

/* Flags of one parameter (bits). */
enum {
    AD_HEALTH_EXPLODING = 1u << 0, /* norm > explode_norm, or not finite              */
    AD_HEALTH_VANISHING = 1u << 1, /* norm < vanish_norm (exact zero included)        */
    AD_HEALTH_NONFINITE = 1u << 2, /* some gradient element is NaN or inf             */
};

/* Thresholds: fill with ad_health_opts_default(), change what you need. */
typedef struct ad_health_opts {
    double explode_norm;   /* a parameter's gradient norm above this explodes (1e3)          */
    double vanish_norm;    /* below this vanishes (1e-7)                                    */
    double growth_limit;   /* first/last norm above this: growth across layers (1e3)        */
    double dead_limit;     /* dead-unit fraction above which a node is flagged (0.5)        */
    const ad_var *units;   /* activations to count dead units in; NULL: every relu node     */
    size_t n_units;
    ad_allocator alloc;    /* for the report's arrays                                       */
} ad_health_opts;

/** @return the default thresholds. */
AD_API ad_health_opts ad_health_opts_default(void);

typedef struct ad_health_param {
    char name[32];         /* the caller's name (truncated), or "param<i>"             */
    size_t count;
    double norm;           /* L2 norm of the gradient                                  */
    double max_abs;        /* largest |g|                                              */
    double ratio;          /* norm / previous parameter's norm (NAN for the first or
                              after a zero norm): the amplification across one layer
                              when the parameters are listed input to output           */
    unsigned flags;        /* AD_HEALTH_* bits                                         */
} ad_health_param;

typedef struct ad_health_units {
    size_t node;           /* node index on the tape                                   */
    char label[64];        /* its label, or ""                                         */
    size_t units;          /* units: the last axis (all elements for rank < 2)         */
    size_t dead;           /* units whose output is 0 for every row of the batch       */
    double dead_fraction;  /* dead / units                                             */
    bool flagged;          /* dead_fraction > dead_limit                               */
} ad_health_units;

typedef struct ad_health_report {
    ad_health_param *params;
    size_t n_params;
    ad_health_units *units;
    size_t n_units;
    double growth;          /* norm of the first parameter / norm of the last (NAN if undefined) */
    bool exploding;         /* a parameter explodes, or growth > growth_limit                   */
    bool vanishing;         /* a parameter vanishes, or growth < 1 / growth_limit               */
    bool nonfinite;         /* some gradient is NaN or inf                                      */
    bool dead;              /* some activation node is flagged                                  */
    ad_allocator alloc;
} ad_health_report;

/**
 * Reads the accumulated gradients of params (list them input layer first)
 * and, when t is given, the activations of its last recording.
 * @param t     the tape (may be NULL: no dead-unit section)
 * @param names n names (copied, at most 31 bytes each), or NULL (or a NULL entry)
 *        for "param0", "param1", ...
 * @param opts  thresholds, or NULL for the defaults
 * @param out   receives the report; free it with ad_health_report_free
 * @return AD_OK; AD_EINVAL (out NULL, params NULL with n > 0, a NULL parameter,
 *         bad thresholds: explode_norm or growth_limit not > 0, dead_limit not in
 *         [0, 1], units NULL with n_units > 0); AD_EHANDLE for a unit handle
 *         not of t; AD_ENOMEM. On failure *out is empty and safe to free.
 */
AD_API ad_status ad_health_check(const ad_tape *t, ad_param *const *params,
                                 const char *const *names, size_t n,
                                 const ad_health_opts *opts, ad_health_report *out);

/** Frees the report's arrays (the struct itself is the caller's). NULL is fine. */
AD_API void ad_health_report_free(ad_health_report *r);

/**
 * Prints the report as an aligned table with flags and a one-line verdict.
 * @return AD_OK, AD_EINVAL (NULL), AD_EIO when writing fails.
 */
AD_API ad_status ad_health_print_text(const ad_health_report *r, FILE *f);

/**
 * Prints the report as one JSON object: {"params": [{"name", "count", "norm",
 * "max_abs", "ratio", "exploding", "vanishing", "nonfinite"}...], "units":
 * [{"node", "label", "units", "dead", "dead_fraction", "flagged"}...],
 * "growth", "exploding", "vanishing", "nonfinite", "dead"}; non-finite numbers
 * are the strings "nan", "inf", "-inf".
 * @return AD_OK, AD_EINVAL (NULL), AD_EIO when writing fails.
 */
AD_API ad_status ad_health_print_json(const ad_health_report *r, FILE *f);

#endif
