/* reduce.c - sum and mean, over all elements or along one axis. */
#include <stdio.h>
#include <stdlib.h>
#include "kernel.h"

/* ---- whole-tensor reductions: y = scale * sum_i x_i, scale 1 (sum) or 1/n (mean) ---- */

static double whole_scale(const ad_op_args *a, int mean)
{
    size_t n = ad__count(&a->xs[0]);
    return mean ? 1.0 / (double)n : 1.0;
}

static ad_status whole_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    (void)a, (void)why, (void)len;
    *out = AD_SCALAR;
    return AD_OK;
}

static ad_status mean_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    if (ad__count(&a->xs[0]) == 0) {
        snprintf(why, len, "the mean of an empty tensor is undefined");
        return AD_ESHAPE;
    }
    return whole_shape(a, out, why, len);
}

/* sum_k x[k * stride] for k < n, divided by n when mean; a sum that overflows
 * is taken again with every element scaled (ad__mean_scale). */
static double row_sum(const double *x, size_t n, size_t stride, int mean)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++)
        s += x[k * stride];
    if (!mean)
        return s;
    if (isfinite(s))
        return s / (double)n;
    int e = ad__mean_scale(n);
    s = 0.0;
    for (size_t k = 0; k < n; k++)
        s += ldexp(x[k * stride], -e);
    return ldexp(s / (double)n, e);
}

static void whole_forward(const ad_op_args *a, double *y, int mean)
{
    y[0] = row_sum(a->x[0], ad__count(&a->xs[0]), 1, mean);
}

static void whole_backward(const ad_op_args *a, const double *gy, double *const gx[], int mean)
{
    if (!gx[0])
        return;
    size_t n = ad__count(&a->xs[0]);
    double g = gy[0] * whole_scale(a, mean);
    for (size_t i = 0; i < n; i++)
        gx[0][i] += g;
}

static void whole_jvp(const ad_op_args *a, const double *const dx[], double *dy, int mean)
{
    dy[0] = dx[0] ? row_sum(dx[0], ad__count(&a->xs[0]), 1, mean) : 0.0;
}

/* mpfr_sum rounds the exact sum once: the reference has no accumulation error. */
static int whole_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r, int mean)
{
    size_t n = ad__count(&a->xs[0]);
    mpfr_ptr *tab = malloc(n ? n * sizeof *tab : 1);
    if (!tab)
        return AD_ENOMEM;
    for (size_t i = 0; i < n; i++)
        tab[i] = (mpfr_ptr)(a->x[0] + i);
    mpfr_sum(y, tab, (unsigned long)n, r);
    free(tab);
    if (mean)
        mpfr_div_ui(y, y, (unsigned long)n, r);
    return 0;
}

/* The four kernel slots of one variant (NAME) of a family (IMPL), sum or mean. */
#define REDUCE_VARIANT(NAME, IMPL, MEAN)                                                        \
    static void NAME##_forward(const ad_op_args *a, double *y) { IMPL##_forward(a, y, MEAN); } \
    static void NAME##_backward(const ad_op_args *a, const double *gy,                        \
                                double *const gx[AD_MAX_ARITY])                               \
    {                                                                                         \
        IMPL##_backward(a, gy, gx, MEAN);                                                     \
    }                                                                                         \
    static void NAME##_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy) \
    {                                                                                         \
        IMPL##_jvp(a, dx, dy, MEAN);                                                          \
    }                                                                                         \
    static int NAME##_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)               \
    {                                                                                         \
        return IMPL##_reference(a, y, r, MEAN);                                               \
    }

REDUCE_VARIANT(sum, whole, 0)
REDUCE_VARIANT(mean, whole, 1)

/* Verified on a 4x5 tensor of positive values, where recursive summation is
 * within (n-1) ulps of the exact sum. */
static const ad_shape reduce_sample[] = {{2, {4, 5}}};

const ad_op ad_op_sum = {
    .name = "sum", .math = "sum_i x_i", .arity = 1, .shape = whole_shape,
    AD__KERNEL_SLOTS(sum), .domain = {{0.5}, {2}}, .sample_shapes = reduce_sample,
    .ulp_fwd = 20, .ulp_bwd = 0.5,
};
ad_var ad_sum(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_sum, &x, 1, NULL, 0); }

const ad_op ad_op_mean = {
    .name = "mean", .math = "sum_i x_i / n", .arity = 1, .shape = mean_shape,
    AD__KERNEL_SLOTS(mean), .domain = {{0.5}, {2}}, .sample_shapes = reduce_sample,
    .ulp_fwd = 21, .ulp_bwd = 1,
};
ad_var ad_mean(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_mean, &x, 1, NULL, 0); }

/* ---- along one axis: the tensor seen as [outer, n, inner]; axis may count from the end ---- */

typedef struct axis_view {
    size_t outer, n, inner;
} axis_view;

static axis_view view_of(const ad_shape *s, double axis_attr)
{
    int axis = (int)axis_attr;
    if (axis < 0)
        axis += (int)s->rank;
    axis_view v = {1, s->dim[axis], 1};
    for (int k = 0; k < axis; k++)
        v.outer *= s->dim[k];
    for (unsigned k = (unsigned)axis + 1; k < s->rank; k++)
        v.inner *= s->dim[k];
    return v;
}

static ad_status axis_check(const double *attr, char *why, size_t len)
{
    /* Range first: converting a double outside int's range is undefined behaviour. */
    if (!(attr[0] >= -(double)AD_MAX_RANK && attr[0] <= (double)AD_MAX_RANK)) {
        snprintf(why, len, "axis must be in [-%d, %d], got %g", AD_MAX_RANK, AD_MAX_RANK, attr[0]);
        return AD_EINVAL;
    }
    if (attr[0] != (double)(int)attr[0]) {
        snprintf(why, len, "axis must be an integer, got %g", attr[0]);
        return AD_EINVAL;
    }
    return AD_OK;
}

static ad_status axis_shape_rule(const ad_op_args *a, ad_shape *out, char *why, size_t len, int mean)
{
    const ad_shape *s = &a->xs[0];
    int axis = (int)a->attr[0], rank = (int)s->rank;
    if (axis < -rank || axis >= rank) {
        snprintf(why, len, "axis %d is out of range for rank %d", axis, rank);
        return AD_ESHAPE;
    }
    if (axis < 0)
        axis += rank;
    if (mean && s->dim[axis] == 0) {
        snprintf(why, len, "the mean along an empty axis is undefined");
        return AD_ESHAPE;
    }
    out->rank = s->rank - 1;
    for (int k = 0, j = 0; k < rank; k++)
        if (k != axis)
            out->dim[j++] = s->dim[k];
    return AD_OK;
}

static ad_status sum_axis_shape(const ad_op_args *a, ad_shape *o, char *w, size_t l) { return axis_shape_rule(a, o, w, l, 0); }
static ad_status mean_axis_shape(const ad_op_args *a, ad_shape *o, char *w, size_t l) { return axis_shape_rule(a, o, w, l, 1); }

static void axis_forward(const ad_op_args *a, double *y, int mean)
{
    axis_view v = view_of(&a->xs[0], a->attr[0]);
    for (size_t o = 0; o < v.outer; o++)
        for (size_t i = 0; i < v.inner; i++)
            y[o * v.inner + i] = row_sum(a->x[0] + o * v.n * v.inner + i, v.n, v.inner, mean);
}

static void axis_backward(const ad_op_args *a, const double *gy, double *const gx[], int mean)
{
    if (!gx[0])
        return;
    axis_view v = view_of(&a->xs[0], a->attr[0]);
    for (size_t o = 0; o < v.outer; o++)
        for (size_t i = 0; i < v.inner; i++) {
            double g = gy[o * v.inner + i];
            if (mean)
                g /= (double)v.n;
            for (size_t k = 0; k < v.n; k++)
                gx[0][(o * v.n + k) * v.inner + i] += g;
        }
}

static void axis_jvp(const ad_op_args *a, const double *const dx[], double *dy, int mean)
{
    if (!dx[0]) {
        for (size_t i = 0, n = ad__count(&a->ys); i < n; i++)
            dy[i] = 0.0;
        return;
    }
    ad_op_args t = *a;
    t.x[0] = dx[0];
    axis_forward(&t, dy, mean); /* the map is linear */
}

static int axis_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r, int mean)
{
    axis_view v = view_of(&a->xs[0], a->attr[0]);
    mpfr_ptr *tab = malloc(v.n ? v.n * sizeof *tab : 1);
    if (!tab)
        return AD_ENOMEM;
    for (size_t o = 0; o < v.outer; o++)
        for (size_t i = 0; i < v.inner; i++) {
            for (size_t k = 0; k < v.n; k++)
                tab[k] = (mpfr_ptr)(a->x[0] + (o * v.n + k) * v.inner + i);
            mpfr_ptr out = y + o * v.inner + i;
            mpfr_sum(out, tab, (unsigned long)v.n, r);
            if (mean)
                mpfr_div_ui(out, out, (unsigned long)v.n, r);
        }
    free(tab);
    return 0;
}

REDUCE_VARIANT(sum_axis, axis, 0)
REDUCE_VARIANT(mean_axis, axis, 1)

static const char *const axis_names[] = {"axis"};
static const double axis_default[] = {-1};

const ad_op ad_op_sum_axis = {
    .name = "sum_axis", .math = "y_j = sum_k x_jk (along axis)", .arity = 1, .n_attr = 1,
    .attr_name = axis_names, .attr_default = axis_default, .shape = sum_axis_shape,
    .check_attr = axis_check, AD__KERNEL_SLOTS(sum_axis), .domain = {{0.5}, {2}},
    .sample_shapes = reduce_sample, .ulp_fwd = 5, .ulp_bwd = 0.5,
};
ad_var ad_sum_axis(ad_tape *t, ad_var x, int axis)
{
    return ad_apply(t, &ad_op_sum_axis, &x, 1, (double[]){axis}, 1);
}

const ad_op ad_op_mean_axis = {
    .name = "mean_axis", .math = "y_j = sum_k x_jk / n (along axis)", .arity = 1, .n_attr = 1,
    .attr_name = axis_names, .attr_default = axis_default, .shape = mean_axis_shape,
    .check_attr = axis_check, AD__KERNEL_SLOTS(mean_axis), .domain = {{0.5}, {2}},
    .sample_shapes = reduce_sample, .ulp_fwd = 6, .ulp_bwd = 1,
};
ad_var ad_mean_axis(ad_tape *t, ad_var x, int axis)
{
    return ad_apply(t, &ad_op_mean_axis, &x, 1, (double[]){axis}, 1);
}
