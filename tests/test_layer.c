/* test_layer.c - linear, the activation table against their formulas, the MLP helper. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/counting_alloc.h"
#include "support/grad_assert.h"

static void test_linear_is_x_times_w_plus_broadcast_bias(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 2), (double[]){1, 2, -1, 0});
    ad_var W = ad_input(t, AD_MAT(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ad_var b = ad_input(t, AD_VEC(3), (double[]){0.5, -0.5, 1});
    ad_var y = ad_linear(t, x, W, b);
    /* row 0: [1 + 8, 2 + 10, 3 + 12] + b; row 1: [-1, -2, -3] + b */
    const double want[6] = {9.5, 11.5, 16, -0.5, -2.5, -2};
    assert_all_close(ad_value(t, y), want, 6, 1e-15);
    ad_var y2 = ad_linear(t, x, W, AD_NIL);
    assert_close(ad_value(t, y2)[0], 9.0, 1e-15);
    ad_linear(t, x, b, AD_NIL); /* [2, 2] x [3]: matmul refuses */
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    ad_tape_free(t);
}

/* value and derivative of an activation at x */
static void act_at(ad_act act, double param, double x, double *y, double *dy)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_var v = ad_scalar(t, x);
    ad_var f = ad_act_apply(t, act, v, param);
    assert_int_equal(ad_backward(t, f), AD_OK);
    *y = ad_value_scalar(t, f);
    *dy = ad_grad(t, v)[0];
    ad_tape_free(t);
}

static void test_activations_match_their_formulas_and_derivatives(void **state)
{
    (void)state;
    double y, d;
    act_at(AD_ACT_LINEAR, NAN, -3.0, &y, &d);
    assert_true(y == -3.0 && d == 1.0);
    act_at(AD_ACT_RELU, NAN, -3.0, &y, &d);
    assert_true(y == 0.0 && d == 0.0);
    act_at(AD_ACT_TANH, NAN, 0.5, &y, &d);
    assert_close(y, tanh(0.5), 1e-15);
    assert_close(d, 1 - tanh(0.5) * tanh(0.5), 1e-15);
    act_at(AD_ACT_LEAKY_RELU, 0.1, -2.0, &y, &d);
    assert_close(y, -0.2, 1e-15);
    assert_close(d, 0.1, 1e-15);
    act_at(AD_ACT_LEAKY_RELU, NAN, -2.0, &y, &d); /* default slope 0.01 */
    assert_close(y, -0.02, 1e-15);
    act_at(AD_ACT_LEAKY_RELU, 0.1, 3.0, &y, &d);
    assert_true(y == 3.0 && d == 1.0);
    act_at(AD_ACT_ELU, NAN, -1.0, &y, &d); /* alpha 1: e^-1 - 1, derivative e^-1 */
    assert_close(y, exp(-1.0) - 1, 1e-15);
    assert_close(d, exp(-1.0), 1e-15);
    act_at(AD_ACT_ELU, 2.0, 1.5, &y, &d);
    assert_true(y == 1.5 && d == 1.0);
    act_at(AD_ACT_SIGMOID, NAN, 0.3, &y, &d);
    double s = 1 / (1 + exp(-0.3));
    assert_close(y, s, 1e-15);
    assert_close(d, s * (1 - s), 1e-15);
    act_at(AD_ACT_SIGMOID, NAN, -800.0, &y, &d); /* no overflow far out */
    assert_true(y == 0.0 && d == 0.0);
    assert_string_equal(ad_act_name(AD_ACT_ELU), "elu");
    assert_string_equal(ad_act_name(AD_ACT_COUNT), "?");
    assert_close(ad_act_gain(AD_ACT_TANH, NAN), 5.0 / 3, 1e-15);
    assert_close(ad_act_gain(AD_ACT_LEAKY_RELU, 0.2), sqrt(2 / 1.04), 1e-15);

    ad_tape *t = ad_tape_new(NULL);
    ad_act_apply(t, (ad_act)42, ad_scalar(t, 1), NAN);
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_act_apply: unknown activation 42");
    ad_tape_free(t);
}

static void test_mlp_owns_named_params_and_computes_by_hand(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(5);
    ad_mlp_opts o = ad_mlp_opts_default();
    o.hidden = AD_ACT_TANH;
    o.bias_init = 0.25;
    ad_mlp *m;
    assert_int_equal(ad_mlp_new((size_t[]){3, 4, 2}, 3, &o, &r, &m), AD_OK);
    assert_int_equal(ad_mlp_layers(m), 2);
    assert_int_equal(ad_mlp_n_params(m), 4);
    const char *const *names = ad_mlp_param_names(m);
    assert_string_equal(names[0], "W1");
    assert_string_equal(names[3], "b2");
    ad_shape s = ad_param_shape(ad_mlp_weight(m, 1));
    assert_true(s.rank == 2 && s.dim[0] == 4 && s.dim[1] == 2);
    assert_true(ad_param_data(ad_mlp_bias(m, 0))[3] == 0.25);
    assert_null(ad_mlp_weight(m, 2));

    double x[3] = {0.5, -1, 2};
    ad_tape *t = ad_tape_new(NULL);
    ad_var y = ad_mlp_forward(t, m, ad_input(t, AD_MAT(1, 3), x));
    /* by hand: h = tanh(x W1 + b1), y = h W2 + b2 */
    const double *W1 = ad_param_data(ad_mlp_weight(m, 0)), *W2 = ad_param_data(ad_mlp_weight(m, 1));
    double h[4], want[2];
    for (int j = 0; j < 4; j++) {
        double z = 0.25;
        for (int i = 0; i < 3; i++)
            z += x[i] * W1[i * 4 + j];
        h[j] = tanh(z);
    }
    for (int k = 0; k < 2; k++) {
        want[k] = 0.25;
        for (int j = 0; j < 4; j++)
            want[k] += h[j] * W2[j * 2 + k];
    }
    assert_all_close(ad_value(t, y), want, 2, 1e-14);
    assert_string_equal(ad_var_get_label(t, ad_mlp_activation(m, 0)), "h1");
    assert_all_close(ad_value(t, ad_mlp_activation(m, 0)), h, 4, 1e-15);
    assert_true(ad_var_is_nil(ad_mlp_activation(m, 1)));
    ad_tape_free(t);
    ad_mlp_free(m);
}

static void test_mlp_auto_init_is_he_for_relu_and_xavier_for_tanh(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(6);
    ad_mlp_opts o = ad_mlp_opts_default(); /* relu hidden, linear output */
    ad_mlp *m;
    assert_int_equal(ad_mlp_new((size_t[]){400, 300, 10}, 3, &o, &r, &m), AD_OK);
    /* W1 feeds relu: He normal, variance 2/400; W2 feeds linear: Xavier uniform, bound sqrt(6/310) */
    ad_param *W1 = ad_mlp_weight(m, 0), *W2 = ad_mlp_weight(m, 1);
    double s2 = 0;
    for (size_t i = 0; i < ad_param_count(W1); i++)
        s2 += ad_param_data(W1)[i] * ad_param_data(W1)[i];
    double n = (double)ad_param_count(W1), v = 2.0 / 400;
    assert_true(fabs(s2 / n - v) < 5 * v * sqrt(2 / n));
    double a = sqrt(6.0 / 310), hi = 0;
    for (size_t i = 0; i < ad_param_count(W2); i++)
        hi = fmax(hi, fabs(ad_param_data(W2)[i]));
    assert_true(hi < a && hi > 0.95 * a);
    ad_mlp_free(m);
}

static void test_mlp_rejects_bad_inputs_and_frees_on_oom(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(1);
    ad_mlp *m = (ad_mlp *)&r;
    ad_mlp_opts o = ad_mlp_opts_default();
    assert_int_equal(ad_mlp_new((size_t[]){3}, 1, &o, &r, &m), AD_EINVAL);
    assert_null(m);
    assert_int_equal(ad_mlp_new((size_t[]){3, 0, 1}, 3, &o, &r, &m), AD_EINVAL);
    assert_int_equal(ad_mlp_new((size_t[]){3, 1}, 2, &o, NULL, &m), AD_EINVAL);
    assert_int_equal(ad_mlp_new(NULL, 2, &o, &r, &m), AD_EINVAL);
    assert_int_equal(ad_mlp_new((size_t[]){3, 1}, 2, &o, &r, NULL), AD_EINVAL);
    o.hidden = AD_ACT_COUNT;
    assert_int_equal(ad_mlp_new((size_t[]){3, 1}, 2, &o, &r, &m), AD_EINVAL);
    o = ad_mlp_opts_default();
    o.weight_scale = NAN;
    assert_int_equal(ad_mlp_new((size_t[]){3, 1}, 2, &o, &r, &m), AD_EINVAL);
    ad_tape *t = ad_tape_new(NULL);
    ad_mlp_forward(t, NULL, ad_scalar(t, 1));
    assert_string_equal(ad_tape_error(t), "ad_mlp_forward: the MLP is NULL");
    ad_tape_free(t);
    /* each allocation failing in turn: AD_ENOMEM, nothing leaked */
    o = ad_mlp_opts_default();
    for (size_t k = 1; k < 40; k++) {
        counting_alloc c = {.fail_at = k};
        o.alloc = counting_allocator(&c);
        ad_status st = ad_mlp_new((size_t[]){3, 4, 2}, 3, &o, &r, &m);
        if (st == AD_OK) {
            ad_mlp_free(m);
            assert_int_equal(c.live_bytes, 0);
            break;
        }
        assert_int_equal(st, AD_ENOMEM);
        assert_int_equal(c.live_bytes, 0);
    }
}

static void test_penalty_is_l1_abs_plus_l2_squares_with_their_gradients(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_tape_set_relu_at_zero(t, 1.0); /* |w| at 0 must still get gradient 0 */
    ad_var a = ad_input(t, AD_VEC(3), (double[]){-2, 0, 3});
    ad_var b = ad_input(t, AD_SCALAR, (double[]){0.5});
    ad_var p = ad_penalty(t, (ad_var[]){a, b}, 2, 0.1, 0.01);
    /* 0.1 (2 + 0 + 3 + 0.5) + 0.01 (4 + 0 + 9 + 0.25) */
    assert_int_equal(ad_backward(t, p), AD_OK);
    assert_close(ad_value_scalar(t, p), 0.55 + 0.1325, 1e-15);
    /* d/dw: 0.1 sign(w) + 0.02 w */
    const double want[3] = {-0.1 - 0.04, 0.0, 0.1 + 0.06};
    assert_all_close(ad_grad(t, a), want, 3, 1e-15);
    assert_close(ad_grad(t, b)[0], 0.1 + 0.01, 1e-15);
    ad_var zero = ad_penalty(t, NULL, 0, 1.0, 1.0);
    assert_true(ad_value_scalar(t, zero) == 0.0);
    ad_penalty(t, (ad_var[]){a}, 1, -1.0, 0.0);
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_string_equal(ad_tape_error(t),
                        "ad_penalty: need ws for 1 variables and finite l1, l2 >= 0 (got -1, 0)");
    ad_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_is_x_times_w_plus_broadcast_bias),
        cmocka_unit_test(test_activations_match_their_formulas_and_derivatives),
        cmocka_unit_test(test_mlp_owns_named_params_and_computes_by_hand),
        cmocka_unit_test(test_mlp_auto_init_is_he_for_relu_and_xavier_for_tanh),
        cmocka_unit_test(test_mlp_rejects_bad_inputs_and_frees_on_oom),
        cmocka_unit_test(test_penalty_is_l1_abs_plus_l2_squares_with_their_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
