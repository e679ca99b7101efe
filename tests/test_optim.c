/* test_optim.c - optimizer steps against hand-computed updates, clipping, bad settings with exact messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/counting_alloc.h"
#include "support/grad_assert.h"

static ad_param *make(size_t n, const double *data)
{
    ad_param *p = NULL;
    assert_int_equal(ad_param_new(AD_VEC(n), data, NULL, &p), AD_OK);
    return p;
}

static void set_grad(ad_param *p, double g)
{
    for (size_t i = 0; i < ad_param_count(p); i++)
        ad_param_grad(p)[i] = g;
}

/* One parameter at 1, steps with the given gradients, returns the final value. */
static double run(const ad_optim_opts *o, const double *grads, int n)
{
    ad_param *p = make(1, (double[]){1.0});
    ad_optim *opt = ad_optim_new(o, &p, 1);
    assert_int_equal(ad_optim_status(opt), AD_OK);
    for (int i = 0; i < n; i++) {
        set_grad(p, grads[i]);
        assert_int_equal(ad_optim_step(opt), AD_OK);
    }
    assert_int_equal(ad_optim_steps(opt), n);
    double v = ad_param_data(p)[0];
    ad_optim_free(opt);
    ad_param_free(p);
    return v;
}

static void test_sgd_plain_step_is_p_minus_lr_g(void **state)
{
    (void)state;
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_SGD);
    o.lr = 0.1;
    assert_close(run(&o, (double[]){0.5}, 1), 0.95, 1e-15);
    o.weight_decay = 0.1; /* g = 0.5 + 0.1 * 1 = 0.6 */
    assert_close(run(&o, (double[]){0.5}, 1), 0.94, 1e-15);
}

static void test_sgd_momentum_two_steps_by_hand(void **state)
{
    (void)state;
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_SGD);
    o.lr = 0.1;
    o.momentum = 0.9;
    /* b1 = 0.5, p = 0.95; b2 = 0.9 * 0.5 + 0.5 = 0.95, p = 0.95 - 0.095 = 0.855 */
    assert_close(run(&o, (double[]){0.5, 0.5}, 2), 0.855, 1e-15);
    o.nesterov = true;
    /* d1 = 0.5 + 0.9 * 0.5 = 0.95, p = 0.905; b2 = 0.95, d2 = 0.5 + 0.855 = 1.355, p = 0.7695 */
    assert_close(run(&o, (double[]){0.5, 0.5}, 2), 0.7695, 1e-15);
}

static void test_adam_two_steps_by_hand(void **state)
{
    (void)state;
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_ADAM);
    o.lr = 0.1;
    /* step 1: m^ = g, v^ = g^2: p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) */
    double p1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8);
    assert_close(run(&o, (double[]){0.5}, 1), p1, 1e-15);
    /* step 2, g = 0.25: m = 0.045 + 0.025 = 0.07, v = 0.999 * 0.00025 + 0.001 * 0.0625
     * = 0.00031225; m^ = 0.07 / 0.19, v^ = 0.00031225 / 0.001999 */
    double p2 = p1 - 0.1 * (0.07 / 0.19) / (sqrt(0.00031225 / 0.001999) + 1e-8);
    assert_close(run(&o, (double[]){0.5, 0.25}, 2), p2, 1e-14);
}

static void test_adam_l2_and_adamw_decoupled_decay_differ_as_derived(void **state)
{
    (void)state;
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_ADAM);
    o.lr = 0.1;
    o.weight_decay = 0.1;
    /* Adam: g = 0.5 + 0.1 = 0.6, first step moves lr * 0.6 / (0.6 + eps) */
    assert_close(run(&o, (double[]){0.5}, 1), 1 - 0.1 * 0.6 / (0.6 + 1e-8), 1e-15);
    o.kind = AD_OPTIM_ADAMW;
    /* AdamW: p = 1 * (1 - 0.1 * 0.1) = 0.99, then - 0.1 * 0.5 / (0.5 + eps) */
    assert_close(run(&o, (double[]){0.5}, 1), 0.99 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
}

static void test_optim_set_lr_changes_the_next_step(void **state)
{
    (void)state;
    ad_param *p = make(1, (double[]){1.0});
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_SGD);
    ad_optim *opt = ad_optim_new(&o, &p, 1);
    assert_int_equal(ad_optim_set_lr(opt, 0.5), AD_OK);
    assert_true(ad_optim_lr(opt) == 0.5);
    set_grad(p, 1.0);
    assert_int_equal(ad_optim_step(opt), AD_OK);
    assert_close(ad_param_data(p)[0], 0.5, 1e-15);
    ad_optim_zero_grad(opt);
    assert_true(ad_param_grad(p)[0] == 0.0);
    assert_int_equal(ad_optim_set_lr(opt, -1.0), AD_EINVAL);
    assert_string_equal(ad_optim_error(opt), "ad_optim_set_lr: lr must be finite and > 0, got -1");
    ad_optim_free(opt);
    ad_param_free(p);
}

/* Creates an optimizer from o over one parameter and checks its error. */
static void expect_rejected(const ad_optim_opts *o, const char *msg)
{
    ad_param *p = make(1, NULL);
    ad_optim *opt = ad_optim_new(o, &p, 1);
    assert_int_equal(ad_optim_status(opt), AD_EINVAL);
    assert_string_equal(ad_optim_error(opt), msg);
    assert_int_equal(ad_optim_step(opt), AD_EINVAL);
    ad_optim_free(opt);
    ad_param_free(p);
}

static void test_optim_rejects_bad_settings_naming_them(void **state)
{
    (void)state;
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_SGD);
    o.lr = 0.0;
    expect_rejected(&o, "ad_optim_new: SGD: lr must be finite and > 0, got 0");
    o.lr = NAN;
    expect_rejected(&o, "ad_optim_new: SGD: lr must be finite and > 0, got nan");
    o = ad_optim_opts_default(AD_OPTIM_SGD);
    o.momentum = 1.0;
    expect_rejected(&o, "ad_optim_new: SGD: momentum must be in [0, 1), got 1");
    o.momentum = 0.0;
    o.nesterov = true;
    expect_rejected(&o, "ad_optim_new: SGD: nesterov needs momentum > 0");
    o = ad_optim_opts_default(AD_OPTIM_SGD);
    o.weight_decay = -0.5;
    expect_rejected(&o, "ad_optim_new: SGD: weight_decay must be finite and >= 0, got -0.5");
    o = ad_optim_opts_default(AD_OPTIM_ADAM);
    o.beta1 = 1.0;
    expect_rejected(&o, "ad_optim_new: Adam: beta1 must be in [0, 1), got 1");
    o = ad_optim_opts_default(AD_OPTIM_ADAMW);
    o.beta2 = -0.1;
    expect_rejected(&o, "ad_optim_new: AdamW: beta2 must be in [0, 1), got -0.1");
    o = ad_optim_opts_default(AD_OPTIM_ADAM);
    o.eps = 0.0;
    expect_rejected(&o, "ad_optim_new: Adam: eps must be finite and > 0, got 0");
    o.kind = (ad_optim_kind)9;
    expect_rejected(&o, "ad_optim_new: unknown optimizer kind 9");

    o = ad_optim_opts_default(AD_OPTIM_SGD);
    ad_param *ps[2] = {make(1, NULL), NULL};
    ad_optim *opt = ad_optim_new(&o, ps, 2);
    assert_int_equal(ad_optim_status(opt), AD_EINVAL);
    assert_string_equal(ad_optim_error(opt), "ad_optim_new: parameter 1 is NULL");
    ad_optim_free(opt);
    opt = ad_optim_new(&o, NULL, 3);
    assert_string_equal(ad_optim_error(opt), "ad_optim_new: params is NULL with n = 3");
    ad_optim_free(opt);
    ad_param_free(ps[0]);
    assert_int_equal(ad_optim_step(NULL), AD_EINVAL);
    assert_int_equal(ad_optim_status(NULL), AD_EINVAL);
}

static void test_optim_step_refuses_nonfinite_gradient_and_changes_nothing(void **state)
{
    (void)state;
    ad_param *p = make(3, (double[]){1, 2, 3});
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_ADAM);
    ad_optim *opt = ad_optim_new(&o, &p, 1);
    ad_param_grad(p)[0] = 1.0;
    ad_param_grad(p)[2] = INFINITY;
    assert_int_equal(ad_optim_step(opt), AD_EDOMAIN);
    assert_string_equal(ad_optim_error(opt),
                        "ad_optim_step: step 1: parameter 0 has gradient inf at element 2");
    assert_true(ad_param_data(p)[0] == 1.0 && ad_param_data(p)[2] == 3.0);
    assert_int_equal(ad_optim_steps(opt), 0);
    ad_optim_free(opt);
    ad_param_free(p);
}

static void test_optim_state_uses_the_allocator_and_is_freed(void **state)
{
    (void)state;
    counting_alloc c = {0};
    ad_param *p = make(4, NULL);
    ad_optim_opts o = ad_optim_opts_default(AD_OPTIM_ADAM);
    o.alloc = counting_allocator(&c);
    ad_optim *opt = ad_optim_new(&o, &p, 1);
    size_t after_new = c.allocs;
    assert_true(after_new > 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(ad_optim_step(opt), AD_OK);
    assert_int_equal(c.allocs, after_new); /* steps allocate nothing */
    ad_optim_free(opt);
    assert_int_equal(c.live_bytes, 0);
    /* every allocation failing in turn gives the static out-of-memory optimizer */
    for (size_t k = 1; k <= after_new; k++) {
        counting_alloc f = {.fail_at = k};
        o.alloc = counting_allocator(&f);
        opt = ad_optim_new(&o, &p, 1);
        assert_int_equal(ad_optim_status(opt), AD_ENOMEM);
        ad_optim_free(opt);
        assert_int_equal(f.live_bytes, 0);
    }
    ad_param_free(p);
}

static void test_clip_grad_norm_scales_to_the_limit_and_reports_the_norm(void **state)
{
    (void)state;
    ad_param *a = make(2, NULL), *b = make(1, NULL);
    ad_param *ps[2] = {a, b};
    ad_param_grad(a)[0] = 3;
    ad_param_grad(a)[1] = 0;
    ad_param_grad(b)[0] = 4; /* global norm 5 */
    double norm = 0;
    assert_int_equal(ad_clip_grad_norm(ps, 2, 1.0, &norm), AD_OK);
    assert_close(norm, 5.0, 1e-15);
    assert_close(ad_param_grad(a)[0], 0.6, 1e-15);
    assert_close(ad_param_grad(b)[0], 0.8, 1e-15);
    /* under the limit: untouched, norm reported */
    assert_int_equal(ad_clip_grad_norm(ps, 2, 10.0, &norm), AD_OK);
    assert_close(norm, 1.0, 1e-15);
    assert_close(ad_param_grad(b)[0], 0.8, 1e-15);
    /* huge gradients: the norm does not overflow */
    ad_param_grad(a)[0] = 1e300;
    ad_param_grad(b)[0] = 1e300;
    assert_int_equal(ad_clip_grad_norm(ps, 2, 1.0, &norm), AD_OK);
    assert_close(norm, sqrt(2.0) * 1e300, 1e-15);
    assert_close(ad_param_grad(a)[0], 1 / sqrt(2.0), 1e-15);
    ad_param_free(a);
    ad_param_free(b);
}

static void test_clip_grad_value_clamps_elements_and_reports_the_norm(void **state)
{
    (void)state;
    ad_param *a = make(3, NULL);
    ad_param_grad(a)[0] = 3;
    ad_param_grad(a)[1] = -4;
    ad_param_grad(a)[2] = 0.5;
    double norm = 0;
    assert_int_equal(ad_clip_grad_value(&a, 1, 1.0, &norm), AD_OK);
    assert_close(norm, sqrt(25.25), 1e-15);
    assert_true(ad_param_grad(a)[0] == 1.0 && ad_param_grad(a)[1] == -1.0 &&
                ad_param_grad(a)[2] == 0.5);
    ad_param_free(a);
}

static void test_clip_rejects_bad_inputs_and_nonfinite_gradients(void **state)
{
    (void)state;
    ad_param *a = make(2, NULL);
    ad_param *null_list[1] = {NULL};
    double norm = 7;
    assert_int_equal(ad_clip_grad_norm(&a, 1, -1.0, &norm), AD_EINVAL);
    assert_int_equal(ad_clip_grad_norm(&a, 1, NAN, &norm), AD_EINVAL);
    assert_int_equal(ad_clip_grad_value(&a, 1, INFINITY, &norm), AD_EINVAL);
    assert_int_equal(ad_clip_grad_norm(NULL, 1, 1.0, &norm), AD_EINVAL);
    assert_int_equal(ad_clip_grad_norm(null_list, 1, 1.0, &norm), AD_EINVAL);
    assert_true(norm == 7); /* untouched on EINVAL */
    ad_param_grad(a)[0] = 10;
    ad_param_grad(a)[1] = NAN;
    assert_int_equal(ad_clip_grad_norm(&a, 1, 1.0, &norm), AD_EDOMAIN);
    assert_true(isnan(norm));
    assert_true(ad_param_grad(a)[0] == 10); /* nothing scaled */
    ad_param_grad(a)[1] = -INFINITY;
    assert_int_equal(ad_clip_grad_value(&a, 1, 1.0, &norm), AD_EDOMAIN);
    assert_true(isinf(norm));
    assert_int_equal(ad_clip_grad_norm(NULL, 0, 1.0, &norm), AD_OK); /* empty list */
    assert_true(norm == 0.0);
    ad_param_free(a);
}

static void test_lr_schedules_at_hand_computed_points(void **state)
{
    (void)state;
    assert_close(ad_lr_step_decay(1.0, 0, 10, 0.1), 1.0, 1e-15);
    assert_close(ad_lr_step_decay(1.0, 9, 10, 0.1), 1.0, 1e-15);
    assert_close(ad_lr_step_decay(1.0, 25, 10, 0.1), 0.01, 1e-15);
    assert_true(isnan(ad_lr_step_decay(1.0, 5, 0, 0.1)));
    assert_true(isnan(ad_lr_step_decay(1.0, 5, 10, 1.5)));
    assert_true(isnan(ad_lr_step_decay(-1.0, 5, 10, 0.5)));
    /* cos(0) = 1, cos(pi/2) = 0, cos(pi/3) = 1/2, cos(pi) = -1 */
    assert_close(ad_lr_cosine(0.1, 0.001, 0, 90), 0.1, 1e-15);
    assert_close(ad_lr_cosine(0.1, 0.001, 45, 90), 0.0505, 1e-15);
    assert_close(ad_lr_cosine(0.1, 0.0, 30, 90), 0.075, 1e-15);
    assert_close(ad_lr_cosine(0.1, 0.001, 90, 90), 0.001, 1e-15);
    assert_close(ad_lr_cosine(0.1, 0.001, 500, 90), 0.001, 1e-15);
    assert_true(isnan(ad_lr_cosine(0.1, 0.2, 1, 90)));
    assert_true(isnan(ad_lr_cosine(0.1, 0.0, 1, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_plain_step_is_p_minus_lr_g),
        cmocka_unit_test(test_sgd_momentum_two_steps_by_hand),
        cmocka_unit_test(test_adam_two_steps_by_hand),
        cmocka_unit_test(test_adam_l2_and_adamw_decoupled_decay_differ_as_derived),
        cmocka_unit_test(test_optim_set_lr_changes_the_next_step),
        cmocka_unit_test(test_optim_rejects_bad_settings_naming_them),
        cmocka_unit_test(test_optim_step_refuses_nonfinite_gradient_and_changes_nothing),
        cmocka_unit_test(test_optim_state_uses_the_allocator_and_is_freed),
        cmocka_unit_test(test_clip_grad_norm_scales_to_the_limit_and_reports_the_norm),
        cmocka_unit_test(test_clip_grad_value_clamps_elements_and_reports_the_norm),
        cmocka_unit_test(test_clip_rejects_bad_inputs_and_nonfinite_gradients),
        cmocka_unit_test(test_lr_schedules_at_hand_computed_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
