/* expr_ops.c - the two ops vector syntax needs (index: v[i]; place: [a, b]), registered as custom ops. */
#include <math.h>
#include <stdio.h>
#include "expr.h"

/*
 * The built-in registry has no op that reads or writes one element, so the
 * expression language brings its own, through the same public extension point
 * a user's custom op uses: they appear in `adcheck ops`, and `adcheck
 * selftest` verifies them like every other op. Both are linear and exact.
 */

static bool is_index(double v, double below) { return v >= 0 && v < below && v == floor(v); }

/* ---- index: y = x[i] for a vector x; dx[i] += gy ---- */
static const char *const index_attr_name[] = {"i"};
static const double index_attr_default[] = {0};
static const ad_shape index_sample[] = {{1, {4, 0, 0, 0}}};

static ad_status index_check(const double *attr, char *why, size_t len)
{
    if (is_index(attr[0], 1e15))
        return AD_OK;
    snprintf(why, len, "index: i must be a non-negative integer, got %g", attr[0]);
    return AD_EINVAL;
}
static ad_status index_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    char s[64];
    if (a->xs[0].rank != 1) {
        snprintf(why, len, "index: needs a vector, got shape %s", ad_shape_format(&a->xs[0], s, sizeof s));
        return AD_ESHAPE;
    }
    if (!is_index(a->attr[0], (double)a->xs[0].dim[0])) {
        snprintf(why, len, "index: %g is out of range for a vector of %zu elements", a->attr[0],
                 a->xs[0].dim[0]);
        return AD_ESHAPE;
    }
    *out = AD_SCALAR;
    return AD_OK;
}
static void index_forward(const ad_op_args *a, double *y) { y[0] = a->x[0][(size_t)a->attr[0]]; }
static void index_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    if (gx[0])
        gx[0][(size_t)a->attr[0]] += gy[0];
}
static void index_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    dy[0] = dx[0] ? dx[0][(size_t)a->attr[0]] : 0.0;
}
static int index_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    mpfr_set(y, a->x[0] + (size_t)a->attr[0], r);
    return 0;
}
static const ad_op index_op = {
    .name = "index", .math = "x[i]", .arity = 1, .n_attr = 1,
    .attr_name = index_attr_name, .attr_default = index_attr_default, .flags = 0,
    .shape = index_shape, .check_attr = index_check, .forward = index_forward,
    .backward = index_backward, .jvp = index_jvp, .reference = index_reference,
    .domain = {{-1e300}, {1e300}}, .sample_shapes = index_sample, .ulp_fwd = 0, .ulp_bwd = 0,
};

/* ---- place: y = x e_i, a vector of n zeros with x at i; dx += gy[i] ---- */
static const char *const place_attr_name[] = {"n", "i"};
static const double place_attr_default[] = {1, 0};

static ad_status place_check(const double *attr, char *why, size_t len)
{
    if (is_index(attr[0] - 1, (double)EXPR_MAX_ARGS) && is_index(attr[1], attr[0]))
        return AD_OK;
    snprintf(why, len, "place: needs integers 1 <= n <= %d and 0 <= i < n, got n = %g, i = %g",
             EXPR_MAX_ARGS, attr[0], attr[1]);
    return AD_EINVAL;
}
static ad_status place_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    char s[64];
    if (a->xs[0].rank != 0) {
        snprintf(why, len, "place: needs a scalar, got shape %s", ad_shape_format(&a->xs[0], s, sizeof s));
        return AD_ESHAPE;
    }
    *out = AD_VEC((size_t)a->attr[0]);
    return AD_OK;
}
static void place_forward(const ad_op_args *a, double *y)
{
    for (size_t k = 0; k < (size_t)a->attr[0]; k++)
        y[k] = 0.0;
    y[(size_t)a->attr[1]] = a->x[0][0];
}
static void place_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    if (gx[0])
        gx[0][0] += gy[(size_t)a->attr[1]];
}
static void place_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t k = 0; k < (size_t)a->attr[0]; k++)
        dy[k] = 0.0;
    dy[(size_t)a->attr[1]] = dx[0] ? dx[0][0] : 0.0;
}
static int place_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t k = 0; k < (size_t)a->attr[0]; k++)
        mpfr_set_zero(y + k, 1);
    mpfr_set(y + (size_t)a->attr[1], a->x[0], r);
    return 0;
}
static const ad_op place_op = {
    .name = "place", .math = "x e_i (n zeros, x at i)", .arity = 1, .n_attr = 2,
    .attr_name = place_attr_name, .attr_default = place_attr_default, .flags = 0,
    .shape = place_shape, .check_attr = place_check, .forward = place_forward,
    .backward = place_backward, .jvp = place_jvp, .reference = place_reference,
    .domain = {{-1e300}, {1e300}}, .ulp_fwd = 0, .ulp_bwd = 0,
};

const ad_op *expr_op_index(void) { return &index_op; }
const ad_op *expr_op_place(void) { return &place_op; }

bool expr_ops_register(char *why, size_t len)
{
    /* Idempotent: a test binary may call it more than once. A different op
     * already holding the name keeps it (our descriptor still works, unlisted). */
    if (!ad_op_find("index") && ad_op_register(&index_op, why, len) != AD_OK)
        return false;
    if (!ad_op_find("place") && ad_op_register(&place_op, why, len) != AD_OK)
        return false;
    return true;
}
