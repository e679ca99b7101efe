/* test_ops_piecewise.c - every kink: exactly on it, one ulp and one subnormal either side, the declared choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/grad_assert.h"
#include "support/op_eval.h"

#define T DBL_TRUE_MIN
#define UP(x) nextafter((x), INFINITY)
#define DN(x) nextafter((x), -INFINITY)
#define SELU_SCALE 1.0507009873554804934193349852946
#define SELU_SCALE_ALPHA 1.7580993408473768599402175208123 /* published scale * alpha */

typedef struct kink_case {
    const ad_op *op;
    double attr[2];
    unsigned na;
    double kg;          /* the tape's relu_at_zero                */
    double x, y, g;     /* input, expected value, expected gradient */
} kink_case;

/* Expected values from the definitions and the conventions of issue 4. */
static void run_cases(const kink_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double g, y = eval1(c[i].op, c[i].x, c[i].attr, c[i].na, c[i].kg, &g);
        if (!(y == c[i].y) || !(g == c[i].g))
            fail_msg("case %zu: %s(%a) = %.17g with gradient %.17g; expected %.17g and %.17g", i,
                     c[i].op->name, c[i].x, y, g, c[i].y, c[i].g);
    }
}

static void test_relu_grad_at_zero_uses_tape_setting_and_neighbours_are_pieces(void **state)
{
    (void)state;
    const kink_case c[] = {
        {&ad_op_relu, {0}, 0, 0.0, 0.0, 0.0, 0.0},  {&ad_op_relu, {0}, 0, 0.5, 0.0, 0.0, 0.5},
        {&ad_op_relu, {0}, 0, 1.0, 0.0, 0.0, 1.0},  {&ad_op_relu, {0}, 0, 0.5, -0.0, 0.0, 0.5},
        {&ad_op_relu, {0}, 0, 0.5, T, T, 1.0},      {&ad_op_relu, {0}, 0, 0.5, -T, 0.0, 0.0},
    };
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_leaky_relu_grad_at_zero_is_its_slope(void **state)
{
    (void)state;
    const kink_case c[] = {
        {&ad_op_leaky_relu, {0}, 0, 0, 0.0, 0.0, 0.01}, {&ad_op_leaky_relu, {0}, 0, 0, T, T, 1.0},
        {&ad_op_leaky_relu, {0}, 0, 0, -T, 0.0, 0.01},  {&ad_op_leaky_relu, {0.2}, 1, 0, 0.0, 0.0, 0.2},
        {&ad_op_leaky_relu, {0.2}, 1, 0, -2.0, -0.4, 0.2},
    };
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_relu6_hardtanh_hardsigmoid_take_zero_at_their_edges(void **state)
{
    (void)state;
    const kink_case c[] = {
        {&ad_op_relu6, {0}, 0, 1, 0.0, 0.0, 0.0},   {&ad_op_relu6, {0}, 0, 1, T, T, 1.0},
        {&ad_op_relu6, {0}, 0, 1, -T, 0.0, 0.0},    {&ad_op_relu6, {0}, 0, 1, 6.0, 6.0, 0.0},
        {&ad_op_relu6, {0}, 0, 1, UP(6.0), 6.0, 0.0}, {&ad_op_relu6, {0}, 0, 1, DN(6.0), DN(6.0), 1.0},
        {&ad_op_hardtanh, {0}, 0, 0, -1.0, -1.0, 0.0}, {&ad_op_hardtanh, {0}, 0, 0, 1.0, 1.0, 0.0},
        {&ad_op_hardtanh, {0}, 0, 0, DN(1.0), DN(1.0), 1.0}, {&ad_op_hardtanh, {0}, 0, 0, UP(1.0), 1.0, 0.0},
        {&ad_op_hardtanh, {0}, 0, 0, UP(-1.0), UP(-1.0), 1.0}, {&ad_op_hardtanh, {0}, 0, 0, DN(-1.0), -1.0, 0.0},
        {&ad_op_hardtanh, {-2, 3}, 2, 0, 3.0, 3.0, 0.0}, {&ad_op_hardtanh, {-2, 3}, 2, 0, -2.0, -2.0, 0.0},
        {&ad_op_hardtanh, {-2, 3}, 2, 0, 0.0, 0.0, 1.0},
        {&ad_op_hardsigmoid, {0}, 0, 0, -3.0, 0.0, 0.0}, {&ad_op_hardsigmoid, {0}, 0, 0, 3.0, 1.0, 0.0},
        {&ad_op_hardsigmoid, {0}, 0, 0, DN(-3.0), 0.0, 0.0}, {&ad_op_hardsigmoid, {0}, 0, 0, UP(3.0), 1.0, 0.0},
        /* just inside -3: x + 3 is exactly 2^-51 (one ulp of 3), the value 2^-51 / 6 */
        {&ad_op_hardsigmoid, {0}, 0, 0, UP(-3.0), 0x1p-51 / 6.0, 1.0 / 6.0},
        {&ad_op_hardsigmoid, {0}, 0, 0, 0.0, 0.5, 1.0 / 6.0},
    };
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_clamp_passes_the_value_through_at_its_bounds(void **state)
{
    (void)state;
    const kink_case c[] = {
        {&ad_op_clamp, {-1, 1}, 2, 0, -1.0, -1.0, 1.0}, {&ad_op_clamp, {-1, 1}, 2, 0, 1.0, 1.0, 1.0},
        {&ad_op_clamp, {-1, 1}, 2, 0, UP(1.0), 1.0, 0.0}, {&ad_op_clamp, {-1, 1}, 2, 0, DN(-1.0), -1.0, 0.0},
        {&ad_op_clamp, {0, 5}, 2, 0, T, T, 1.0},        {&ad_op_clamp, {0, 5}, 2, 0, -T, 0.0, 0.0},
        /* lo == hi: a constant function, only 0 is a subgradient */
        {&ad_op_clamp, {2, 2}, 2, 0, 2.0, 2.0, 0.0},    {&ad_op_clamp, {2, 2}, 2, 0, 0.0, 2.0, 0.0},
    };
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_hardswish_takes_the_middle_piece_at_both_edges(void **state)
{
    (void)state;
    const kink_case c[] = {
        {&ad_op_hardswish, {0}, 0, 0, -3.0, 0.0, -0.5}, {&ad_op_hardswish, {0}, 0, 0, 3.0, 3.0, 1.5},
        {&ad_op_hardswish, {0}, 0, 0, DN(-3.0), 0.0, 0.0}, {&ad_op_hardswish, {0}, 0, 0, UP(3.0), UP(3.0), 1.0},
        {&ad_op_hardswish, {0}, 0, 0, 0.0, 0.0, 0.5},
    };
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_abs_grad_at_zero_is_zero(void **state)
{
    (void)state;
    const kink_case c[] = {
        {&ad_op_abs, {0}, 0, 0, 0.0, 0.0, 0.0}, {&ad_op_abs, {0}, 0, 0, -0.0, 0.0, 0.0},
        {&ad_op_abs, {0}, 0, 0, T, T, 1.0},     {&ad_op_abs, {0}, 0, 0, -T, T, -1.0},
        {&ad_op_abs, {0}, 0, 0, UP(0.0), T, 1.0},
    };
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_elu_family_takes_the_left_derivative_at_zero(void **state)
{
    (void)state;
    const kink_case c[] = {
        {&ad_op_elu, {2}, 1, 0, 0.0, 0.0, 2.0},      {&ad_op_elu, {2}, 1, 0, T, T, 1.0},
        /* expm1(-T) rounds to -T, and 2 e^-T rounds to 2 */
        {&ad_op_elu, {2}, 1, 0, -T, -2 * T, 2.0},    {&ad_op_elu, {0}, 0, 0, 0.0, 0.0, 1.0},
        {&ad_op_selu, {0}, 0, 0, 0.0, 0.0, SELU_SCALE_ALPHA},
        /* selu(-T) = -1.758 T, which rounds to the nearest subnormal, -2T */
        {&ad_op_selu, {0}, 0, 0, -T, -2 * T, SELU_SCALE_ALPHA},
        {&ad_op_selu, {0}, 0, 0, 1.0, SELU_SCALE, SELU_SCALE},
        {&ad_op_celu, {2}, 1, 0, 0.0, 0.0, 1.0},     {&ad_op_celu, {2}, 1, 0, T, T, 1.0},
    };
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_max_min_ties_split_the_gradient_evenly(void **state)
{
    (void)state;
    double ga, gb;
    assert_true(eval2(&ad_op_max, 1.0, 1.0, NULL, 0, &ga, &gb) == 1.0);
    assert_true(ga == 0.5 && gb == 0.5);
    assert_true(eval2(&ad_op_max, 1.0, UP(1.0), NULL, 0, &ga, &gb) == UP(1.0));
    assert_true(ga == 0.0 && gb == 1.0);
    assert_true(eval2(&ad_op_max, -T, T, NULL, 0, &ga, &gb) == T);
    assert_true(ga == 0.0 && gb == 1.0);
    assert_true(eval2(&ad_op_max, 0.0, -0.0, NULL, 0, &ga, &gb) == 0.0);
    assert_true(ga == 0.5 && gb == 0.5);
    assert_true(eval2(&ad_op_min, 2.0, 2.0, NULL, 0, &ga, &gb) == 2.0);
    assert_true(ga == 0.5 && gb == 0.5);
    assert_true(eval2(&ad_op_min, DN(2.0), 2.0, NULL, 0, &ga, &gb) == DN(2.0));
    assert_true(ga == 1.0 && gb == 0.0);
    assert_true(isnan(eval2(&ad_op_max, NAN, 1.0, NULL, 0, &ga, &gb)));
    assert_true(isnan(eval2(&ad_op_min, 1.0, NAN, NULL, 0, &ga, &gb)));
}

static void test_prelu_at_zero_gives_slope_to_x_and_zero_to_slope(void **state)
{
    (void)state;
    double ga, gb;
    assert_true(eval2(&ad_op_prelu, 0.0, 0.25, NULL, 0, &ga, &gb) == 0.0);
    assert_true(ga == 0.25 && gb == 0.0);
    assert_true(eval2(&ad_op_prelu, -T, 0.25, NULL, 0, &ga, &gb) == 0.0);
    assert_true(ga == 0.25 && gb == -T);
    assert_true(eval2(&ad_op_prelu, T, 0.25, NULL, 0, &ga, &gb) == T);
    assert_true(ga == 1.0 && gb == 0.0);
    assert_true(eval2(&ad_op_prelu, -2.0, 0.25, NULL, 0, &ga, &gb) == -0.5);
    assert_true(ga == 0.25 && gb == -2.0);
}

/* One slope per channel, broadcast over the batch; its gradient sums the rows. */
static void test_prelu_slope_broadcasts_per_channel_and_sums_its_gradient(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 3), (double[]){-1, 2, -3, 4, -5, 0});
    ad_var a = ad_input(t, AD_VEC(3), (double[]){0.125, 0.25, 0.5});
    ad_var y = ad_prelu(t, x, a);
    const double want_y[6] = {-0.125, 2, -1.5, 4, -1.25, 0};
    assert_all_close(ad_value(t, y), want_y, 6, 0);
    assert_int_equal(ad_backward(t, ad_sum(t, y)), AD_OK);
    const double want_gx[6] = {0.125, 1, 0.5, 1, 0.25, 0.5}; /* x = 0 takes a */
    const double want_ga[3] = {-1, -5, -3};                  /* sum of x where x <= 0 */
    assert_all_close(ad_grad(t, x), want_gx, 6, 0);
    assert_all_close(ad_grad(t, a), want_ga, 3, 0);
    ad_tape_reset(t);
    x = ad_input(t, AD_VEC(3), NULL);
    a = ad_input(t, AD_MAT(2, 3), NULL);
    assert_true(ad_var_is_nil(ad_prelu(t, x, a)));
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    assert_string_equal(ad_tape_error(t), "ad_prelu: node 2: the slope must broadcast to x's shape "
                                          "(inputs [3] and [2, 3])");
    ad_tape_free(t);
}

static void test_bad_piecewise_attributes_are_explained(void **state)
{
    (void)state;
    char msg[256];
    assert_int_equal(attr_error(&ad_op_hardtanh, (double[]){2, 1}, 2, msg, sizeof msg), AD_EINVAL);
    assert_string_equal(msg, "ad_hardtanh: node 1: lo (2) must not exceed hi (1)");
    assert_int_equal(attr_error(&ad_op_clamp, (double[]){0, -1}, 2, msg, sizeof msg), AD_EINVAL);
    assert_string_equal(msg, "ad_clamp: node 1: lo (0) must not exceed hi (-1)");
    assert_int_equal(attr_error(&ad_op_celu, (double[]){0}, 1, msg, sizeof msg), AD_EINVAL);
    assert_string_equal(msg, "ad_celu: node 1: alpha must be > 0, got 0");
    assert_int_equal(attr_error(&ad_op_leaky_relu, (double[]){INFINITY}, 1, msg, sizeof msg), AD_EINVAL);
    assert_string_equal(msg, "ad_leaky_relu: node 1: attribute slope is inf; attributes must be finite");
}

/* Every declared choice lies in the hull of its one-sided derivatives. */
static void test_every_declared_choice_lies_in_its_hull(void **state)
{
    (void)state;
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        for (unsigned k = 0; k < op->n_kinks; k++) {
            const ad_kink *q = &op->kinks[k];
            double lo = fmin(q->left, q->right), hi = fmax(q->left, q->right);
            if (!isnan(q->choice) && !(q->choice >= lo && q->choice <= hi))
                fail_msg("op %s kink %u: choice %g outside [%g, %g]", op->name, k, q->choice, lo, hi);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_grad_at_zero_uses_tape_setting_and_neighbours_are_pieces),
        cmocka_unit_test(test_leaky_relu_grad_at_zero_is_its_slope),
        cmocka_unit_test(test_relu6_hardtanh_hardsigmoid_take_zero_at_their_edges),
        cmocka_unit_test(test_clamp_passes_the_value_through_at_its_bounds),
        cmocka_unit_test(test_hardswish_takes_the_middle_piece_at_both_edges),
        cmocka_unit_test(test_abs_grad_at_zero_is_zero),
        cmocka_unit_test(test_elu_family_takes_the_left_derivative_at_zero),
        cmocka_unit_test(test_max_min_ties_split_the_gradient_evenly),
        cmocka_unit_test(test_prelu_at_zero_gives_slope_to_x_and_zero_to_slope),
        cmocka_unit_test(test_prelu_slope_broadcasts_per_channel_and_sums_its_gradient),
        cmocka_unit_test(test_bad_piecewise_attributes_are_explained),
        cmocka_unit_test(test_every_declared_choice_lies_in_its_hull),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
