/* test_check.c - ad_check_grad, ad_jvp, reports and verify-every-backward:
 * expected values are hand-derived derivatives, never the engine's output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/counting_alloc.h"

/* ---- a test op: y = x^2 whose backward is 2x below 1.5 and 2x + 1 above
 * (a bug only some coordinates show); its jvp and reference are right ---- */
static size_t count(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned i = 0; i < s->rank; i++)
        n *= s->dim[i];
    return n;
}
static void sq_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        y[i] = a->x[0][i] * a->x[0][i];
}
static void sq_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = count(&a->ys); gx[0] && i < n; i++) {
        double x = a->x[0][i];
        gx[0][i] += gy[i] * (x > 1.5 ? 2 * x + 1 : 2 * x);
    }
}
static void sq_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        dy[i] = dx[0] ? 2 * a->x[0][i] * dx[0][i] : 0.0;
}
static int sq_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t i = 0, n = count(&a->ys); i < n; i++)
        mpfr_sqr(y + i, a->x[0] + i, r);
    return 0;
}
static const ad_op sq_skewed = {
    .name = "sq_skewed", .math = "x^2 (backward wrong above 1.5)", .arity = 1,
    .flags = AD_OP_ELEMENTWISE, .forward = sq_forward, .backward = sq_backward, .jvp = sq_jvp,
    .reference = sq_reference, .domain = {{-1}, {1}}, .ulp_fwd = 0.5, .ulp_bwd = 1,
};
/* the same op without a reference: the MPFR replay must say so */
static const ad_op sq_noref = {
    .name = "sq_noref", .arity = 1, .flags = AD_OP_ELEMENTWISE, .forward = sq_forward,
    .backward = sq_backward, .domain = {{-1}, {1}}, .ulp_fwd = 0.5, .ulp_bwd = 1,
};

/* y = x, but its reference is x (1 + 2^-(prec/4)): a derivative that moves
 * with the precision, which the second MPFR run must expose */
static void id_forward(const ad_op_args *a, double *y) { y[0] = a->x[0][0]; }
static void id_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    (void)a;
    if (gx[0])
        gx[0][0] += gy[0];
}
static int id_drifting_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    mpfr_mul_2si(y, a->x[0], -(long)(mpfr_get_prec(y) / 4), r);
    mpfr_add(y, y, a->x[0], r);
    return 0;
}
static const ad_op id_drifting = {
    .name = "id_drifting", .arity = 1, .flags = AD_OP_ELEMENTWISE, .forward = id_forward,
    .backward = id_backward, .reference = id_drifting_reference, .domain = {{-1}, {1}},
};

static bool has(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* f = tanh(x) * exp(y) + x*y: df/dx = (1 - tanh^2 x) e^y + y, df/dy = tanh(x) e^y + x. */
static void test_smooth_program_passes_every_witness(void **state)
{
    (void)state;
    double x0 = 0.7, y0 = -1.3;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, x0), y = ad_scalar(t, y0);
    ad_var f = ad_add(t, ad_mul(t, ad_tanh(t, x), ad_exp(t, y)), ad_mul(t, x, y));
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_true(r.pass);
    assert_true(r.fd.ran && r.fd.pass && r.mpfr.ran && r.mpfr.pass && r.dot.ran && r.dot.pass);
    assert_true(r.ref_confirmed);
    assert_false(r.vacuous);
    assert_int_equal(r.n_coords, 2);
    assert_int_equal(r.n_checked, 2);
    double want[2] = {(1 - tanh(x0) * tanh(x0)) * exp(y0) + y0, tanh(x0) * exp(y0) + x0};
    for (size_t i = 0; i < 2; i++) {
        const ad_check_coord *c = &r.coords[i];
        double w = want[c->node == x.index ? 0 : 1];
        assert_true(fabs(c->ref - w) <= 4e-16 * fabs(w));
        assert_true(fabs(c->fd - w) <= 1e-8 * fabs(w));
        assert_true(c->fd_err > 0 && c->fd_err < 1e-7);
        assert_true(strlen(c->ref_str) >= 21);
        assert_int_equal(c->cls, AD_COORD_OK);
    }
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* log(1 + exp(x)) at x = -30.5: in double 1 + exp(x) rounds to 1, so finite
 * differences read 0, while the slope is exp(x) / (1 + exp(x)) ~ 5.6e-14. The
 * confirmed MPFR reference agrees with the engine and overrules FD. */
static void test_mpfr_overrules_finite_differences_where_the_double_program_is_flat(void **state)
{
    (void)state;
    double x0 = -30.5;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, x0);
    ad_var one = ad_const(t, AD_SCALAR, (double[]){1.0});
    ad_var f = ad_log(t, ad_add(t, one, ad_exp(t, x)));
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    double want = exp(x0) / (1.0 + exp(x0));
    assert_true(r.coords[0].fd == 0.0);
    assert_true(fabs(r.coords[0].ref - want) <= 4e-16 * want);
    assert_true(r.coords[0].fd_overruled);
    assert_int_equal(r.n_fd_overruled, 1);
    assert_true(r.pass);
    assert_non_null(strstr(r.notes, "flat or rounded"));
    ad_check_report_free(&r);

    /* without the MPFR witness, FD alone decides: a failure */
    ad_check_opts o = ad_check_opts_default();
    o.mpfr = false;
    assert_int_equal(ad_check_grad(t, f, &o, &r), AD_OK);
    assert_false(r.pass);
    assert_false(r.coords[0].fd_overruled);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* exp(1000) overflows: forward and reverse mode both give +inf, which agree. */
static void test_dot_test_accepts_equal_infinities(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var f = ad_exp(t, ad_scalar(t, 1000.0));
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_true(r.dot.ran && r.dot.pass);
    assert_true(isinf(r.coords[0].engine) && r.coords[0].engine > 0);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* d/dx ln x at 3 is 1/3: the 21-digit reference string is 0.333333333333333333333. */
static void test_mpfr_reference_is_printed_with_21_digits(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 3.0);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, ad_log(t, x), NULL, &r), AD_OK);
    assert_true(r.pass);
    assert_string_equal(r.coords[0].ref_str, "0.333333333333333333333");
    assert_true(r.coords[0].ref == 1.0 / 3.0);
    assert_true(r.coords[0].ulps <= 1.0);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* relu at exactly 0: one-sided derivatives 0 and 1; every setting in [0, 1]
 * passes, and the declared choice is the tape setting. */
static void test_relu_exactly_at_zero_is_judged_by_the_hull_and_the_setting(void **state)
{
    (void)state;
    const double settings[3] = {0.0, 0.5, 1.0};
    for (int s = 0; s < 3; s++) {
        ad_tape *t = ad_tape_new(NULL);
        ad_tape_set_relu_at_zero(t, settings[s]);
        ad_var x = ad_scalar(t, 0.0);
        ad_var f = ad_relu(t, x);
        ad_check_report r;
        assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
        assert_true(r.pass);
        assert_int_equal(r.n_kinks, 1);
        const ad_check_coord *c = &r.coords[0];
        assert_int_equal(c->cls, AD_COORD_KINK_OK);
        assert_true(c->has_kink && c->kink.exactly_on);
        assert_string_equal(c->kink.op, "relu");
        assert_int_equal(c->kink.node, f.index);
        assert_true(c->kink.left == 0.0 && c->kink.right == 1.0);
        assert_true(c->engine == settings[s]);
        ad_check_report_free(&r);
        ad_tape_free(t);
    }
}

/* relu(-x) at 0: from the left the slope is -1, from the right 0; the
 * setting g gives -g, the declared choice carried through the negation. */
static void test_relu_of_negated_input_maps_the_choice_through_the_chain(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_tape_set_relu_at_zero(t, 1.0);
    ad_var x = ad_scalar(t, 0.0);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, ad_relu(t, ad_neg(t, x)), NULL, &r), AD_OK);
    assert_true(r.pass);
    assert_true(r.coords[0].engine == -1.0);
    assert_true(r.coords[0].kink.left == -1.0 && r.coords[0].kink.right == 0.0);
    assert_true(r.coords[0].ref == -1.0);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* relu(x) at x = 1e-9: the FD step (about 6e-6) crosses the kink, so the
 * double FD says about 0.5; the checker sees the crossing and the MPFR
 * one-sided derivatives (both 1) pass the engine's 1. */
static void test_crossing_a_kink_within_a_step_is_not_a_mismatch(void **state)
{
    (void)state;
    for (int with_mpfr = 0; with_mpfr < 2; with_mpfr++) {
        ad_tape *t = ad_tape_new(NULL);
        ad_var x = ad_scalar(t, 1e-9);
        ad_var f = ad_relu(t, x);
        ad_check_opts o = ad_check_opts_default();
        o.mpfr = with_mpfr;
        ad_check_report r;
        assert_int_equal(ad_check_grad(t, f, &o, &r), AD_OK);
        assert_true(r.pass);
        const ad_check_coord *c = &r.coords[0];
        assert_int_equal(c->cls, AD_COORD_KINK_OK);
        assert_true(c->has_kink);
        assert_false(c->kink.exactly_on);
        assert_true(fabs(c->fd - 1.0) > 0.1); /* plain FD would have been fooled */
        if (with_mpfr)
            assert_true(c->kink.left == 1.0 && c->kink.right == 1.0);
        ad_check_report_free(&r);
        ad_tape_free(t);
    }
}

/* sqrt at 1e-7: the default step 6e-6 would reach sqrt(< 0) = NaN; the FD
 * retries with a step relative to x. d/dx sqrt x = 1 / (2 sqrt x). */
static void test_fd_step_that_leaves_the_domain_is_retried_smaller(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 1e-7);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, ad_sqrt(t, x), NULL, &r), AD_OK);
    assert_true(r.pass);
    double want = 0.5 / sqrt(1e-7);
    assert_true(fabs(r.coords[0].fd - want) <= 1e-8 * want);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

static void test_vacuous_checks_say_so(void **state)
{
    (void)state;
    ad_check_report r;
    /* a loss that depends on no input */
    ad_tape *t = ad_tape_new(NULL);
    ad_var c = ad_const(t, AD_SCALAR, (double[]){2.0});
    assert_int_equal(ad_check_grad(t, ad_exp(t, c), NULL, &r), AD_OK);
    assert_true(r.vacuous);
    assert_true(has(r.vacuity, "no coordinate"));
    ad_check_report_free(&r);
    ad_tape_free(t);
    /* relu(-1): the gradient and every witness are exactly 0 */
    t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, -1.0);
    assert_int_equal(ad_check_grad(t, ad_relu(t, x), NULL, &r), AD_OK);
    assert_true(r.pass && r.vacuous);
    assert_true(has(r.vacuity, "exactly 0"));
    ad_check_report_free(&r);
    ad_tape_free(t);
    /* a non-finite input is skipped and counted */
    t = ad_tape_new(NULL);
    x = ad_scalar(t, INFINITY);
    assert_int_equal(ad_check_grad(t, ad_tanh(t, x), NULL, &r), AD_OK);
    assert_int_equal(r.n_skipped, 1);
    assert_int_equal(r.n_checked, 0);
    assert_true(r.vacuous);
    assert_int_equal(r.coords[0].cls, AD_COORD_SKIPPED);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* log(-1): the function is NaN, yet 1/x gives the engine a finite -1. */
static void test_finite_gradient_of_a_nan_function_is_a_nan_mismatch(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, -1.0);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, ad_log(t, x), NULL, &r), AD_OK);
    assert_false(r.pass);
    assert_int_equal(r.coords[0].cls, AD_COORD_NAN_MISMATCH);
    assert_true(r.coords[0].engine == -1.0);
    assert_true(isnan(r.coords[0].ref));
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* 100 inputs: fast mode by itself; a backward wrong only at element 37
 * fails a direction, and the fallback names that element. */
static void test_fast_mode_falls_back_to_coordinates_to_localize(void **state)
{
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = -1.0 + 0.02 * i;
    v[37] = 2.0;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_VEC(100), v);
    ad_var f = ad_sum(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0));
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_true(r.fast && r.localized);
    assert_false(r.pass);
    assert_int_equal(r.coords[0].node, x.index);
    assert_int_equal(r.coords[0].element, 37);
    assert_int_equal(r.coords[0].cls, AD_COORD_MISMATCH);
    assert_true(fabs(r.coords[0].ref - 4.0) < 1e-15); /* d/dx x^2 at 2 */
    assert_true(r.coords[1].node == AD_CHECK_DIRECTION || r.coords[1].cls != AD_COORD_MISMATCH);
    ad_check_report_free(&r);
    /* without the bad element every direction passes: no localization */
    ad_tape_reset(t);
    v[37] = 0.5;
    x = ad_input(t, AD_VEC(100), v);
    f = ad_sum(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0));
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_true(r.pass && r.fast && !r.localized);
    assert_int_equal(r.n_coords, 4);
    assert_int_equal(r.coords[0].node, AD_CHECK_DIRECTION);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

static void test_an_op_without_reference_is_named_in_the_notes(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 0.5);
    ad_var f = ad_apply(t, &sq_noref, &x, 1, NULL, 0);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_true(r.pass);
    assert_false(r.mpfr.ran);
    assert_true(r.fd.ran && r.fd.pass);
    assert_true(has(r.notes, "no MPFR reference for op 'sq_noref' (node 1)"));
    ad_check_report_free(&r);
    ad_tape_free(t);
}

static char *print_to_string(ad_status (*pr)(const ad_check_report *, FILE *), const ad_check_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(pr(r, f), AD_OK);
    fclose(f);
    return buf;
}

static void test_reports_name_the_failing_coordinate_in_text_and_json(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_scalar(t, 0.25), x = ad_scalar(t, 2.0);
    ad_var f = ad_add(t, ad_mul(t, a, a), ad_apply(t, &sq_skewed, &x, 1, NULL, 0));
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_false(r.pass);
    char *text = print_to_string(ad_check_report_print, &r);
    assert_true(has(text, "gradient check FAILED"));
    assert_true(has(text, "node 1 element 0: x 0x1p+1 engine 5"));
    assert_true(has(text, "mpfr 4 "));
    assert_true(has(text, "mismatch"));
    assert_false(has(text, "node 0 element")); /* the passing coordinate is not listed */
    free(text);
    char *json = print_to_string(ad_check_report_json, &r);
    assert_true(has(json, "{\"pass\":false,"));
    assert_true(has(json, "\"mpfr\":{\"ran\":true,\"pass\":false,"));
    assert_true(has(json, "\"node\":1,\"element\":0,\"x\":2,\"engine\":5,"));
    assert_true(has(json, "\"class\":\"mismatch\""));
    free(json);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

static void test_json_spells_non_finite_numbers_as_strings(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, -1.0);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, ad_log(t, x), NULL, &r), AD_OK);
    char *json = print_to_string(ad_check_report_json, &r);
    assert_true(has(json, "\"ref\":\"nan\""));
    assert_true(has(json, "\"class\":\"nan-mismatch\""));
    free(json);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

static void test_verify_every_backward_returns_echeck_with_the_worst_line(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    assert_int_equal(ad_tape_set_verify(t, AD_VERIFY_ALL), AD_OK);
    ad_var x = ad_scalar(t, 1.0);
    assert_int_equal(ad_backward(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0)), AD_OK);
    assert_true(ad_grad(t, x)[0] == 2.0);
    ad_tape_reset(t); /* the mode survives a reset */
    x = ad_scalar(t, 2.0);
    assert_int_equal(ad_backward(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0)), AD_ECHECK);
    assert_int_equal(ad_tape_status(t), AD_ECHECK);
    assert_true(has(ad_tape_error(t), "ad_backward: gradient check failed: node 0 element 0: x 0x1p+1 engine 5"));
    assert_true(has(ad_tape_error(t), "mismatch"));
    ad_tape_free(t);
}

/* Above 64 coordinates the hook checks random directions. */
static void test_verify_hook_uses_fast_mode_for_many_inputs(void **state)
{
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = -1.0 + 0.02 * i;
    ad_tape *t = ad_tape_new(NULL);
    ad_tape_set_verify(t, AD_VERIFY_FD);
    ad_var x = ad_input(t, AD_VEC(100), v);
    assert_int_equal(ad_backward(t, ad_sum(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0))), AD_OK);
    ad_tape_reset(t);
    v[10] = 3.0;
    x = ad_input(t, AD_VEC(100), v);
    assert_int_equal(ad_backward(t, ad_sum(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0))), AD_ECHECK);
    /* the localized coordinate comes first */
    assert_true(has(ad_tape_error(t), "gradient check failed: node 0 element 10: x 0x1.8p+1 engine 7"));
    ad_tape_free(t);
}

static void test_ad_verify_environment_sets_the_mode_of_new_tapes(void **state)
{
    (void)state;
    setenv("AD_VERIFY", "mpfr", 1);
    ad_tape *t = ad_tape_new(NULL);
    unsetenv("AD_VERIFY");
    ad_var x = ad_scalar(t, 3.0);
    assert_int_equal(ad_backward(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0)), AD_ECHECK);
    ad_tape_free(t);
    setenv("AD_VERIFY", "off", 1);
    t = ad_tape_new(NULL);
    unsetenv("AD_VERIFY");
    x = ad_scalar(t, 3.0);
    assert_int_equal(ad_backward(t, ad_apply(t, &sq_skewed, &x, 1, NULL, 0)), AD_OK);
    ad_tape_free(t);
}

/* f = x * y: the tangent along (1, 0) is y, along (0, 1) is x. */
static void test_jvp_gives_directional_derivatives(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 3.0), y = ad_scalar(t, -2.0);
    ad_var f = ad_mul(t, x, y);
    const double one = 1.0;
    const double *dir[3] = {&one, NULL, NULL};
    double dy;
    assert_int_equal(ad_jvp(t, f, dir, 3, &dy), AD_OK);
    assert_true(dy == -2.0);
    dir[0] = NULL;
    dir[1] = &one;
    assert_int_equal(ad_jvp(t, f, dir, 3, &dy), AD_OK);
    assert_true(dy == 3.0);
    assert_int_equal(ad_jvp(t, f, dir, 2, &dy), AD_EINVAL);
    assert_true(has(ad_tape_error(t), "ad_jvp: 2 directions given"));
    ad_tape_free(t);
}

static void test_jvp_of_an_op_without_jvp_is_unsupported_and_named(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 0.5);
    ad_var f = ad_apply(t, &sq_noref, &x, 1, NULL, 0);
    const double one = 1.0;
    const double *dir[2] = {&one, NULL};
    double dy;
    assert_int_equal(ad_jvp(t, f, dir, 2, &dy), AD_EUNSUPPORTED);
    assert_string_equal(ad_tape_error(t), "ad_jvp: op 'sq_noref' (node 1) has no jvp");
    ad_tape_free(t);
    /* ad_check_grad notes it and runs the other witnesses */
    t = ad_tape_new(NULL);
    x = ad_scalar(t, 0.5);
    f = ad_apply(t, &sq_noref, &x, 1, NULL, 0);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_false(r.dot.ran);
    assert_true(has(r.notes, "has no jvp"));
    ad_check_report_free(&r);
    ad_tape_free(t);
}

static void test_bad_arguments_give_exact_status_and_message(void **state)
{
    (void)state;
    ad_check_report r;
    assert_int_equal(ad_check_grad(NULL, AD_NIL, NULL, &r), AD_EINVAL);
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_VEC(2), (double[]){1, 2});
    assert_int_equal(ad_check_grad(t, x, NULL, NULL), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_check_grad: the report is NULL");
    ad_tape_free(t);

    t = ad_tape_new(NULL);
    x = ad_input(t, AD_VEC(2), (double[]){1, 2});
    assert_int_equal(ad_check_grad(t, x, NULL, &r), AD_ENOTSCALAR);
    assert_string_equal(ad_tape_error(t), "ad_check_grad: the loss (node 0) must be a scalar");
    assert_null(r.coords);
    ad_tape_free(t);

    t = ad_tape_new(NULL);
    ad_var s = ad_scalar(t, 1.0);
    ad_check_opts o = ad_check_opts_default();
    o.prec = 32;
    assert_int_equal(ad_check_grad(t, s, &o, &r), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_check_grad: prec must be 64 to 4096 bits, got 32");
    /* the tape is now in error: sticky */
    assert_int_equal(ad_check_grad(t, s, NULL, &r), AD_EINVAL);
    ad_tape_free(t);

    t = ad_tape_new(NULL);
    s = ad_scalar(t, 1.0);
    ad_tape_reset(t);
    assert_int_equal(ad_check_grad(t, s, NULL, &r), AD_EHANDLE);
    assert_true(has(ad_tape_error(t), "ad_check_grad: stale variable 0"));
    ad_tape_free(t);

    t = ad_tape_new(NULL);
    s = ad_scalar(t, 1.0);
    o = ad_check_opts_default();
    o.fd = o.mpfr = o.dot = false;
    assert_int_equal(ad_check_grad(t, s, &o, &r), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_check_grad: every witness is off (fd, mpfr, dot)");
    ad_tape_free(t);

    t = ad_tape_new(NULL);
    assert_int_equal(ad_tape_set_verify(t, (ad_verify_mode)7), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_tape_set_verify: mode 7 is not an ad_verify_mode");
    ad_tape_free(t);
    assert_int_equal(ad_tape_set_verify(NULL, AD_VERIFY_ALL), AD_EINVAL);
    ad_check_report_free(NULL);
    assert_int_equal(ad_check_report_print(NULL, stdout), AD_EINVAL);

    ad_op_report orep;
    assert_int_equal(ad_op_verify(NULL, NULL, &orep), AD_EINVAL);
    assert_true(has(orep.first_failure, "ad_op_verify: the op is NULL"));
    assert_int_equal(ad_op_verify(&ad_op_exp, NULL, NULL), AD_EINVAL);
    ad_verify_opts vo = ad_verify_opts_default();
    vo.prec = 8000;
    assert_int_equal(ad_op_verify(&ad_op_exp, &vo, &orep), AD_EINVAL);
    assert_string_equal(orep.first_failure, "ad_op_verify: prec must be 64 to 4096 bits, got 8000");
}

/* Every byte the checker takes comes back; every failed allocation is a
 * clean AD_ENOMEM (SQLite-style: fail the 1st, 2nd, ... until it completes). */
static void test_checker_memory_is_all_returned_and_oom_is_clean(void **state)
{
    (void)state;
    for (size_t k = 1; k < 64; k++) {
        counting_alloc c = {0};
        ad_tape_opts to = ad_tape_opts_default();
        to.alloc = counting_allocator(&c);
        ad_tape *t = ad_tape_new(&to);
        ad_var x = ad_input(t, AD_VEC(3), (double[]){0.5, -0.25, 0.0});
        ad_var f = ad_sum(t, ad_relu(t, ad_tanh(t, x)));
        assert_int_equal(ad_tape_status(t), AD_OK);
        c.fail_at = c.allocs + k;
        ad_check_report r;
        ad_status st = ad_check_grad(t, f, NULL, &r);
        if (st == AD_OK) {
            assert_true(r.pass);
            ad_check_report_free(&r);
            ad_tape_free(t);
            assert_int_equal(c.live_bytes, 0);
            return;
        }
        assert_int_equal(st, AD_ENOMEM);
        assert_null(r.coords);
        ad_tape_free(t);
        assert_int_equal(c.live_bytes, 0);
    }
    fail_msg("the check never completed");
}

/* A failing program saved and loaded again fails the same way. */
static void test_saved_failing_report_replays_the_same_failure(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_tape_set_relu_at_zero(t, 0.5);
    ad_var a = ad_input(t, AD_VEC(2), (double[]){0.1, -0.3});
    ad_var x = ad_scalar(t, 2.0);
    ad_var s = ad_sum(t, ad_relu(t, a));     /* nodes 2, 3 */
    ad_var q = ad_apply(t, &sq_skewed, &x, 1, NULL, 0); /* node 4 */
    ad_var f = ad_add(t, s, q);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_false(r.pass);
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    assert_int_equal(ad_check_save(t, f, &r, mf), AD_OK);
    fclose(mf);
    assert_true(has(buf, "adcheck-replay 1\nrelu_at_zero 0x1p-1\ninput 0 1 2 0x1.999999999999ap-4 -0x1.3333333333333p-2\n"));
    assert_true(has(buf, "op 4 sq_skewed 1 1 0\n"));
    assert_true(has(buf, "loss 5\n# failing: node 1 element 0: x 0x1p+1 engine 5"));
    ad_check_report_free(&r);
    ad_tape_free(t);

    ad_op_register(&sq_skewed, NULL, 0);
    t = ad_tape_new(NULL);
    mf = fmemopen(buf, len, "r");
    ad_var loss;
    assert_int_equal(ad_check_load(t, mf, &loss), AD_OK);
    fclose(mf);
    assert_true(ad_tape_relu_at_zero(t) == 0.5);
    assert_int_equal(ad_check_grad(t, loss, NULL, &r), AD_OK);
    assert_false(r.pass);
    assert_int_equal(r.coords[0].node, 1);
    assert_true(r.coords[0].engine == 5.0 && r.coords[0].ref == 4.0);
    ad_check_report_free(&r);
    ad_tape_free(t);
    ad_op_unregister_all();

    /* an op the registry does not know, and a malformed file */
    t = ad_tape_new(NULL);
    mf = fmemopen(buf, len, "r");
    assert_int_equal(ad_check_load(t, mf, &loss), AD_ENOTFOUND);
    fclose(mf);
    assert_string_equal(ad_tape_error(t), "ad_check_load: node 4: no op named 'sq_skewed' is registered");
    ad_tape_free(t);
    free(buf);
    static char junk[] = "adcheck-replay 1\nrelu_at_zero 0x0p+0\ninput 0 1 2 0x1p+0 pear\n";
    t = ad_tape_new(NULL);
    mf = fmemopen(junk, sizeof junk - 1, "r");
    assert_int_equal(ad_check_load(t, mf, &loss), AD_EPARSE);
    fclose(mf);
    assert_string_equal(ad_tape_error(t), "ad_check_load: node 0: value 1 is not a number");
    ad_tape_free(t);
}

static void test_a_reference_that_moves_with_precision_is_unconfirmed(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 0.5);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, ad_apply(t, &id_drifting, &x, 1, NULL, 0), NULL, &r), AD_OK);
    assert_false(r.ref_confirmed);
    assert_true(has(r.notes, "the MPFR reference is unconfirmed"));
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* rtol widens the FD verdict only; the MPFR witness still sees 5 vs 4. */
static void test_rtol_overrides_the_fd_tolerance(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 2.0);
    ad_var f = ad_apply(t, &sq_skewed, &x, 1, NULL, 0);
    ad_check_opts o = ad_check_opts_default();
    o.rtol = 0.3;
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, &o, &r), AD_OK);
    assert_true(r.fd.pass);
    assert_false(r.mpfr.pass);
    ad_check_report_free(&r);
    o.rtol = 0.2; /* |5 - 4| > 0.2 * 4 */
    assert_int_equal(ad_check_grad(t, f, &o, &r), AD_OK);
    assert_false(r.fd.pass);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* The check touches neither the tape's values nor the parameters' gradients. */
static void test_check_leaves_values_and_parameter_gradients_alone(void **state)
{
    (void)state;
    ad_param *w;
    assert_int_equal(ad_param_new(AD_VEC(2), (double[]){0.5, -2.0}, NULL, &w), AD_OK);
    ad_tape *t = ad_tape_new(NULL);
    ad_var wv = ad_use(t, w);
    ad_var y = ad_tanh(t, wv);
    ad_var f = ad_sum(t, ad_mul(t, y, y));
    double before[2] = {ad_value(t, y)[0], ad_value(t, y)[1]};
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_true(r.pass);
    assert_int_equal(r.n_coords, 2);
    assert_true(ad_value(t, y)[0] == before[0] && ad_value(t, y)[1] == before[1]);
    assert_true(ad_value_scalar(t, f) == before[0] * before[0] + before[1] * before[1]);
    assert_true(ad_param_grad(w)[0] == 0.0 && ad_param_grad(w)[1] == 0.0);
    /* d/dw tanh(w)^2 = 2 tanh(w) sech^2(w) */
    for (size_t i = 0; i < 2; i++) {
        double wi = ad_param_data(w)[r.coords[i].element];
        double want = 2 * tanh(wi) * (1 - tanh(wi) * tanh(wi));
        assert_true(fabs(r.coords[i].ref - want) <= 1e-15 * fabs(want));
    }
    ad_check_report_free(&r);
    ad_tape_free(t);
    ad_param_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smooth_program_passes_every_witness),
        cmocka_unit_test(test_dot_test_accepts_equal_infinities),
        cmocka_unit_test(test_mpfr_overrules_finite_differences_where_the_double_program_is_flat),
        cmocka_unit_test(test_mpfr_reference_is_printed_with_21_digits),
        cmocka_unit_test(test_relu_exactly_at_zero_is_judged_by_the_hull_and_the_setting),
        cmocka_unit_test(test_relu_of_negated_input_maps_the_choice_through_the_chain),
        cmocka_unit_test(test_crossing_a_kink_within_a_step_is_not_a_mismatch),
        cmocka_unit_test(test_fd_step_that_leaves_the_domain_is_retried_smaller),
        cmocka_unit_test(test_vacuous_checks_say_so),
        cmocka_unit_test(test_finite_gradient_of_a_nan_function_is_a_nan_mismatch),
        cmocka_unit_test(test_fast_mode_falls_back_to_coordinates_to_localize),
        cmocka_unit_test(test_an_op_without_reference_is_named_in_the_notes),
        cmocka_unit_test(test_reports_name_the_failing_coordinate_in_text_and_json),
        cmocka_unit_test(test_json_spells_non_finite_numbers_as_strings),
        cmocka_unit_test(test_verify_every_backward_returns_echeck_with_the_worst_line),
        cmocka_unit_test(test_verify_hook_uses_fast_mode_for_many_inputs),
        cmocka_unit_test(test_ad_verify_environment_sets_the_mode_of_new_tapes),
        cmocka_unit_test(test_jvp_gives_directional_derivatives),
        cmocka_unit_test(test_jvp_of_an_op_without_jvp_is_unsupported_and_named),
        cmocka_unit_test(test_bad_arguments_give_exact_status_and_message),
        cmocka_unit_test(test_checker_memory_is_all_returned_and_oom_is_clean),
        cmocka_unit_test(test_saved_failing_report_replays_the_same_failure),
        cmocka_unit_test(test_a_reference_that_moves_with_precision_is_unconfirmed),
        cmocka_unit_test(test_rtol_overrides_the_fd_tolerance),
        cmocka_unit_test(test_check_leaves_values_and_parameter_gradients_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
