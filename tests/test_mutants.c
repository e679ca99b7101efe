/* test_mutants.c - deliberately wrong copies of correct ops, registered as
 * custom ops: each must be caught by the witness that should catch it, with a
 * report naming the op and the coordinate; the correct twins must pass. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>

static size_t count(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned i = 0; i < s->rank; i++)
        n *= s->dim[i];
    return n;
}

static bool has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* ---- sigmoid: s = 1 / (1 + e^-x); s' = s (1 - s), with 1 - s computed as
 * 1 / (1 + e^x) so it does not cancel for large x. The mutant forgets (1 - s). ---- */
static void sig_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        y[i] = 1.0 / (1.0 + exp(-a->x[0][i]));
}
static double sig_d_ok(double x) { return 1.0 / (1.0 + exp(-x)) * (1.0 / (1.0 + exp(x))); }
static double sig_d_bad(double x) { return 1.0 / (1.0 + exp(-x)); }
static void sig_backward_ok(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = count(&a->ys); gx[0] && i < n; i++)
        gx[0][i] += gy[i] * sig_d_ok(a->x[0][i]);
}
static void sig_backward_bad(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = count(&a->ys); gx[0] && i < n; i++)
        gx[0][i] += gy[i] * sig_d_bad(a->x[0][i]);
}
static void sig_jvp_ok(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = dx[0] ? sig_d_ok(a->x[0][i]) * dx[0][i] : 0.0;
}
static void sig_jvp_bad(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = dx[0] ? sig_d_bad(a->x[0][i]) * dx[0][i] : 0.0;
}
static int sig_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++) {
        mpfr_neg(y + i, a->x[0] + i, MPFR_RNDN);
        mpfr_exp(y + i, y + i, MPFR_RNDN);
        mpfr_add_ui(y + i, y + i, 1, MPFR_RNDN);
        mpfr_ui_div(y + i, 1, y + i, r);
    }
    return 0;
}
/* bounds: exp, add, divide and (backward) a product of two such: measured
 * by the sweep below at 1.6 (forward) and 3.3 (backward) ulps */
static const ad_op sigmoid_ok = {
    .name = "sigmoid_ok", .math = "1 / (1 + e^-x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    .forward = sig_forward, .backward = sig_backward_ok, .jvp = sig_jvp_ok,
    .reference = sig_reference, .domain = {{-30}, {30}}, .ulp_fwd = 3, .ulp_bwd = 6,
};
static const ad_op sigmoid_bad = {
    .name = "sigmoid_bad", .math = "1 / (1 + e^-x), derivative without (1 - s)", .arity = 1,
    .flags = AD_OP_ELEMENTWISE, .forward = sig_forward, .backward = sig_backward_bad,
    .jvp = sig_jvp_bad, .reference = sig_reference, .domain = {{-30}, {30}}, .ulp_fwd = 3,
    .ulp_bwd = 6,
};

/* ---- relu whose gradient at 0 is 2 (outside the hull [0, 1]) ---- */
static void relu2_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        y[i] = a->x[0][i] > 0 ? a->x[0][i] : 0.0;
}
static double relu2_d(double x) { return x > 0 ? 1.0 : x < 0 ? 0.0 : 2.0; }
static void relu2_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = count(&a->ys); gx[0] && i < n; i++)
        gx[0][i] += gy[i] * relu2_d(a->x[0][i]);
}
static void relu2_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = dx[0] ? relu2_d(a->x[0][i]) * dx[0][i] : 0.0;
}
static int relu2_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++) {
        if (mpfr_sgn(a->x[0] + i) > 0)
            mpfr_set(y + i, a->x[0] + i, r);
        else
            mpfr_set_zero(y + i, 1);
    }
    return 0;
}
static int relu2_piece(const ad_op_args *a, size_t i)
{
    double x = a->x[0][i];
    return x > 0 ? 1 : x < 0 ? -1 : AD_PIECE_KINK;
}
static const ad_kink relu2_kinks[] = {{.at = 0, .left = 0, .right = 1, .choice = NAN, .why = "tape setting"}};
static const ad_op relu2 = {
    .name = "relu2", .math = "max(0, x), gradient 2 at 0", .arity = 1,
    .flags = AD_OP_ELEMENTWISE | AD_OP_KINK_GRAD, .forward = relu2_forward,
    .backward = relu2_backward, .jvp = relu2_jvp, .reference = relu2_reference,
    .piece = relu2_piece, .kinks = relu2_kinks, .n_kinks = 1, .domain = {{-10}, {10}},
};

/* ---- a broadcasting add whose backward assigns instead of summing over
 * the broadcast rows: b's gradient is 1 where it should be the row count ---- */
static ad_status addnr_shape(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    size_t n0 = count(&a->xs[0]), n1 = count(&a->xs[1]);
    if (n1 == 0 || n0 % n1) {
        snprintf(why, len, "b must tile a");
        return AD_ESHAPE;
    }
    *out = a->xs[0];
    return AD_OK;
}
static void addnr_forward(const ad_op_args *a, double *y)
{
    size_t n1 = count(&a->xs[1]);
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        y[i] = a->x[0][i] + a->x[1][i % n1];
}
static void addnr_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    size_t n1 = count(&a->xs[1]);
    for (size_t i = 0, n = count(&a->ys); i < n; i++) {
        if (gx[0])
            gx[0][i] += gy[i];
        if (gx[1])
            gx[1][i % n1] = gy[i]; /* the bug: the last row wins */
    }
}
static void addnr_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    size_t n1 = count(&a->xs[1]);
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = (dx[0] ? dx[0][i] : 0.0) + (dx[1] ? dx[1][i % n1] : 0.0);
}
static int addnr_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    size_t n1 = count(&a->xs[1]);
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        mpfr_add(y + i, a->x[0] + i, a->x[1] + i % n1, r);
    return 0;
}
static const ad_op add_noreduce = {
    .name = "add_noreduce", .math = "a + b (broadcast), backward without the sum", .arity = 2,
    .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST, .shape = addnr_shape,
    .forward = addnr_forward, .backward = addnr_backward, .jvp = addnr_jvp,
    .reference = addnr_reference, .domain = {{-10, -10}, {10, 10}}, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};

/* ---- exp whose tangent has the wrong sign (backward right) ---- */
static void exp_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        y[i] = exp(a->x[0][i]);
}
static void exp_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = count(&a->ys); gx[0] && i < n; i++)
        gx[0][i] += gy[i] * a->y[i];
}
static void exp_jvp_neg(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = dx[0] ? -exp(a->x[0][i]) * dx[0][i] : 0.0;
}
static int exp_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        mpfr_exp(y + i, a->x[0] + i, r);
    return 0;
}
static const ad_op exp_badjvp = {
    .name = "exp_badjvp", .math = "e^x, tangent -e^x dx", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    .forward = exp_forward, .backward = exp_backward, .jvp = exp_jvp_neg,
    .reference = exp_reference, .domain = {{-700}, {700}}, .ulp_fwd = 1, .ulp_bwd = 2,
};

/* ---- log whose backward is off by 10^6 ulps (reference and tangent right) ---- */
static void log_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        y[i] = log(a->x[0][i]);
}
static void log_backward_off(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = count(&a->ys); gx[0] && i < n; i++)
        gx[0][i] += gy[i] * (1.0 / a->x[0][i]) * (1.0 + 1e6 * DBL_EPSILON);
}
static void log_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = dx[0] ? dx[0][i] / a->x[0][i] : 0.0;
}
static int log_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        mpfr_log(y + i, a->x[0] + i, r);
    return 0;
}
static const ad_op log_off = {
    .name = "log_off", .math = "ln x, backward off by 1e6 ulps", .arity = 1,
    .flags = AD_OP_ELEMENTWISE, .forward = log_forward, .backward = log_backward_off,
    .jvp = log_jvp, .reference = log_reference, .domain = {{1e-300}, {1e300}}, .ulp_fwd = 1,
    .ulp_bwd = 1.5,
};

/* ---- y = x * n with n a class-index-like integer input: the sweep must
 * sample n as integers and never ask for its gradient ---- */
static bool saw_fraction, saw_int_gradient;
static void scale_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++) {
        double k = a->x[1][i];
        if (isfinite(k) && k != floor(k))
            saw_fraction = true;
        y[i] = a->x[0][i] * k;
    }
}
static void scale_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    if (gx[1])
        saw_int_gradient = true;
    for (size_t i = 0, n = count(&a->ys); gx[0] && i < n; i++)
        gx[0][i] += gy[i] * a->x[1][i];
}
static void scale_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    if (dx[1])
        saw_int_gradient = true;
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = dx[0] ? dx[0][i] * a->x[1][i] : 0.0;
}
static int scale_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        mpfr_mul(y + i, a->x[0] + i, a->x[1] + i, r);
    return 0;
}
static const ad_op scale_int = {
    .name = "scale_int", .arity = 2, .flags = AD_OP_ELEMENTWISE, .int_inputs = 1u << 1,
    .forward = scale_forward, .backward = scale_backward, .jvp = scale_jvp,
    .reference = scale_reference, .domain = {{-10, 0}, {10, 5}}, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};

static void test_integer_inputs_are_sampled_as_integers_without_gradient(void **state)
{
    (void)state;
    ad_op_report o;
    saw_fraction = saw_int_gradient = false;
    assert_int_equal(ad_op_verify(&scale_int, NULL, &o), AD_OK);
    assert_true(o.pass);
    assert_false(saw_fraction);
    assert_false(saw_int_gradient);
}

static int setup(void **state)
{
    (void)state;
    const ad_op *ops[] = {&sigmoid_ok, &sigmoid_bad, &relu2, &add_noreduce, &exp_badjvp, &log_off};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ad_op_register(ops[i], NULL, 0) != AD_OK)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ad_op_unregister_all();
    return 0;
}

/* ad_check_grad on op(x) at one scalar point. */
static void check_unary(const char *name, double x0, double relu_at_zero, ad_check_report *r,
                        ad_var *x)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_tape_set_relu_at_zero(t, relu_at_zero);
    *x = ad_scalar(t, x0);
    const ad_op *op = ad_op_find(name);
    assert_non_null(op);
    ad_var f = ad_apply(t, op, x, 1, NULL, 0);
    assert_int_equal(ad_check_grad(t, f, NULL, r), AD_OK);
    ad_tape_free(t);
}

static void test_sigmoid_twin_passes_and_mutant_without_one_minus_s_dies(void **state)
{
    (void)state;
    ad_check_report r;
    ad_var x;
    check_unary("sigmoid_ok", 0.3, 0, &r, &x);
    assert_true(r.pass);
    /* s'(0.3) = s(1 - s), s = 1 / (1 + e^-0.3) */
    double s = 1.0 / (1.0 + exp(-0.3));
    assert_true(fabs(r.coords[0].ref - s * (1 - s)) <= 1e-16);
    ad_check_report_free(&r);
    ad_op_report o;
    assert_int_equal(ad_op_verify(&sigmoid_ok, NULL, &o), AD_OK);
    assert_true(o.pass);

    check_unary("sigmoid_bad", 0.3, 0, &r, &x);
    assert_false(r.pass);
    assert_false(r.fd.pass);
    assert_false(r.mpfr.pass);
    assert_int_equal(r.coords[0].node, x.index);
    assert_int_equal(r.coords[0].element, 0);
    assert_int_equal(r.coords[0].cls, AD_COORD_MISMATCH);
    /* the program-level report names the op too: re-checked alone, it fails */
    assert_true(has(r.notes, "suspect node 1: op sigmoid_bad: backward at x = [0x1.3333333333333p-2]"));
    ad_check_report_free(&r);
    assert_int_equal(ad_op_verify(&sigmoid_bad, NULL, &o), AD_OK);
    assert_false(o.pass);
    assert_true(has(o.first_failure, "op sigmoid_bad: backward at x = ["));
    assert_true(has(o.first_failure, "input 0 element 0"));
}

static void test_relu_with_gradient_two_at_zero_dies_at_the_kink(void **state)
{
    (void)state;
    ad_check_report r;
    ad_var x;
    check_unary("relu2", 0.0, 0, &r, &x);
    assert_false(r.pass);
    assert_int_equal(r.coords[0].cls, AD_COORD_KINK_BAD);
    assert_string_equal(r.coords[0].kink.op, "relu2");
    assert_int_equal(r.coords[0].kink.node, 1);
    assert_int_equal(r.coords[0].node, x.index);
    assert_true(r.coords[0].kink.exactly_on);
    ad_check_report_free(&r);
    /* away from 0 it is a correct relu */
    check_unary("relu2", 0.75, 0, &r, &x);
    assert_true(r.pass);
    ad_check_report_free(&r);
    ad_op_report o;
    assert_int_equal(ad_op_verify(&relu2, NULL, &o), AD_OK);
    assert_false(o.pass);
    assert_true(has(o.first_failure, "op relu2: kink at x = [0x0p+0]"));
    /* the hull is scaled by the random cotangent: [0, w] */
    assert_true(has(o.first_failure, "input 0 element 0 (kink_grad 0): gradient "));
    assert_true(has(o.first_failure, "outside the one-sided hull [0, "));
}

/* sum(a + b) with a [2, 3], b [3]: d/db_j = 2 (two rows); the mutant says 1. */
static void test_broadcasting_add_that_does_not_reduce_dies(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_input(t, AD_MAT(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ad_var b = ad_input(t, AD_VEC(3), (double[]){0.5, -0.5, 0.25});
    ad_var f = ad_sum(t, ad_apply(t, &add_noreduce, (ad_var[]){a, b}, 2, NULL, 0));
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_false(r.pass);
    assert_false(r.mpfr.pass);
    assert_int_equal(r.coords[0].node, b.index);
    assert_true(r.coords[0].ref == 2.0 && r.coords[0].engine == 1.0);
    size_t bad = 0;
    for (size_t i = 0; i < r.n_coords; i++)
        bad += r.coords[i].cls == AD_COORD_MISMATCH;
    assert_int_equal(bad, 3); /* b's three elements, none of a's */
    assert_true(has(r.notes, "suspect node 2: op add_noreduce: backward"));
    ad_check_report_free(&r);
    ad_tape_free(t);
    ad_op_report o;
    assert_int_equal(ad_op_verify(&add_noreduce, NULL, &o), AD_OK);
    assert_false(o.pass);
    assert_true(has(o.first_failure, "op add_noreduce: backward at x = ["));
    assert_true(has(o.first_failure, "input 1 element 0"));
    /* the built-in add is the correct twin */
    assert_int_equal(ad_op_verify(&ad_op_add, NULL, &o), AD_OK);
    assert_true(o.pass);
}

static void test_tangent_with_the_wrong_sign_dies_by_the_dot_product_test(void **state)
{
    (void)state;
    ad_check_report r;
    ad_var x;
    check_unary("exp_badjvp", 0.5, 0, &r, &x);
    assert_false(r.pass);
    assert_true(r.fd.pass && r.mpfr.pass); /* the gradient itself is right */
    assert_true(r.dot.ran);
    assert_false(r.dot.pass);
    assert_true(has(r.notes, "dot-product test: op 'exp_badjvp' (node 1)"));
    assert_true(has(r.notes, "suspect node 1: op exp_badjvp: tangent"));
    ad_check_report_free(&r);
    ad_op_report o;
    assert_int_equal(ad_op_verify(&exp_badjvp, NULL, &o), AD_OK);
    assert_false(o.pass);
    assert_true(has(o.first_failure, "op exp_badjvp: tangent at x = ["));
}

/* At x = 1 the derivative is 1 and an ulp is 2^-52: the mutant is 10^6 ulps off. */
static void test_log_off_by_a_million_ulps_dies_by_the_mpfr_replay(void **state)
{
    (void)state;
    ad_check_report r;
    ad_var x;
    check_unary("log_off", 1.0, 0, &r, &x);
    assert_false(r.pass);
    assert_false(r.mpfr.pass);
    assert_int_equal(r.coords[0].node, x.index);
    assert_true(r.coords[0].ref == 1.0);
    assert_true(fabs(r.coords[0].ulps - 1e6) <= 1.0);
    assert_true(has(r.notes, "suspect node 1: op log_off: backward at x = [0x1p+0]"));
    ad_check_report_free(&r);
    ad_op_report o;
    assert_int_equal(ad_op_verify(&log_off, NULL, &o), AD_OK);
    assert_false(o.pass);
    assert_true(has(o.first_failure, "op log_off: backward at x = ["));
    assert_true(o.bwd.ulps > 5e5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigmoid_twin_passes_and_mutant_without_one_minus_s_dies),
        cmocka_unit_test(test_relu_with_gradient_two_at_zero_dies_at_the_kink),
        cmocka_unit_test(test_broadcasting_add_that_does_not_reduce_dies),
        cmocka_unit_test(test_tangent_with_the_wrong_sign_dies_by_the_dot_product_test),
        cmocka_unit_test(test_log_off_by_a_million_ulps_dies_by_the_mpfr_replay),
        cmocka_unit_test(test_integer_inputs_are_sampled_as_integers_without_gradient),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
