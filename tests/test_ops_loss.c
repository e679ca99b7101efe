/* test_ops_loss.c - losses and regularization: stability, kinks, class-index errors, dropout's mask. */
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
#include "support/mp_ref.h"

/* cross_entropy from logits [0, 1e4]: the class with logit 0 costs 1e4 (the
 * log-sum-exp is 1e4 + log1p(e^-1e4) = 1e4) with gradient [-1, 1]; the class
 * with logit 1e4 costs 0 with gradient 0. Over both rows the mean halves them. */
static void test_cross_entropy_with_logits_1e4_apart_is_exact(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 2), (double[]){0, 1e4, 0, 1e4});
    ad_var c = ad_const(t, AD_VEC(2), (double[]){0, 1});
    ad_var l = ad_cross_entropy(t, x, c);
    assert_true(ad_value_scalar(t, l) == 5e3);
    assert_int_equal(ad_backward(t, l), AD_OK);
    const double want[4] = {-0.5, 0.5, 0, 0};
    assert_all_close(ad_grad(t, x), want, 4, 0);
    ad_tape_reset(t);
    /* one row [C] with a scalar class; equal logits: ln 3, gradient 1/3 - onehot */
    x = ad_input(t, AD_VEC(3), (double[]){1e308, 1e308, 1e308});
    l = ad_cross_entropy(t, x, ad_const(t, AD_SCALAR, (double[]){2}));
    assert_close(ad_value_scalar(t, l), 1.0986122886681098, 2.1e-16); /* ln 3 within an ulp */
    assert_int_equal(ad_backward(t, l), AD_OK);
    assert_close(ad_grad(t, x)[0], 1.0 / 3, 1e-16);
    assert_close(ad_grad(t, x)[2], -2.0 / 3, 2.3e-16); /* 1/3 - 1: two roundings */
    ad_tape_reset(t);
    /* a -inf logit: weight 0; as the target, the loss is +inf (probability 0)
     * while the gradient stays finite: softmax - onehot */
    x = ad_input(t, AD_MAT(2, 2), (double[]){0, -INFINITY, 0, -INFINITY});
    l = ad_cross_entropy(t, x, ad_const(t, AD_VEC(2), (double[]){0, 1}));
    assert_true(ad_value_scalar(t, l) == INFINITY);
    assert_int_equal(ad_backward(t, l), AD_OK);
    const double ginf[4] = {0, 0, 0.5, -0.5};
    assert_all_close(ad_grad(t, x), ginf, 4, 0);
    ad_tape_free(t);
}

static void test_class_indices_out_of_range_or_fractional_are_rejected(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 4), NULL);
    assert_true(ad_var_is_nil(ad_cross_entropy(t, x, ad_const(t, AD_VEC(2), (double[]){1, 4}))));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_cross_entropy: node 2: class index 4 at position 1 is out "
                                          "of range [0, 4) (inputs [2, 4] and [2])");
    ad_tape_reset(t);
    x = ad_input(t, AD_MAT(2, 4), NULL);
    assert_true(ad_var_is_nil(ad_nll(t, x, ad_const(t, AD_VEC(2), (double[]){1.5, 0}))));
    assert_string_equal(ad_tape_error(t), "ad_nll: node 2: class index 1.5 at position 0 is not an "
                                          "integer (inputs [2, 4] and [2])");
    ad_tape_reset(t);
    x = ad_input(t, AD_MAT(2, 4), NULL);
    assert_true(ad_var_is_nil(ad_nll(t, x, ad_const(t, AD_VEC(2), (double[]){-1, 0}))));
    assert_non_null(strstr(ad_tape_error(t), "class index -1 at position 0 is out of range [0, 4)"));
    ad_tape_reset(t);
    x = ad_input(t, AD_MAT(2, 4), NULL);
    assert_true(ad_var_is_nil(ad_nll(t, x, ad_const(t, AD_VEC(3), NULL))));
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    ad_tape_free(t);
}

/* nll: -mean of the picked log-probabilities; gradient -1/N at each pick. */
static void test_nll_picks_and_averages(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 3), (double[]){-1, -2, -3, -4, -5, -6});
    ad_var l = ad_nll(t, x, ad_const(t, AD_VEC(2), (double[]){2, 0}));
    assert_true(ad_value_scalar(t, l) == 3.5);
    assert_int_equal(ad_backward(t, l), AD_OK);
    const double want[6] = {0, 0, -0.5, -0.5, 0, 0};
    assert_all_close(ad_grad(t, x), want, 6, 0);
    ad_tape_free(t);
}

/* bce_with_logits: no overflow at +-800, and at x = 40, y = 1 the gradient
 * sigmoid(40) - 1 = -sigmoid(-40) ~ -4.2e-18, not 0. */
static void test_bce_with_logits_is_stable_at_extreme_logits(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_VEC(2), (double[]){-800, 800});
    ad_var y = ad_input(t, AD_VEC(2), (double[]){1, 0});
    ad_var l = ad_bce_with_logits(t, x, y);
    assert_true(ad_value_scalar(t, l) == 800.0); /* (800 + 800) / 2 */
    assert_int_equal(ad_backward(t, l), AD_OK);
    const double gx[2] = {-0.5, 0.5}, gy[2] = {400, -400};
    assert_all_close(ad_grad(t, x), gx, 2, 0);
    assert_all_close(ad_grad(t, y), gy, 2, 0);
    ad_tape_reset(t);
    x = ad_scalar(t, 40);
    l = ad_bce_with_logits(t, x, ad_const(t, AD_SCALAR, (double[]){1}));
    assert_int_equal(ad_backward(t, l), AD_OK);
    double s = mp_exp_times(1.0, -40.0); /* sigmoid(-40) = e^-40 / (1 + e^-40) */
    assert_true(ulps_off(-ad_grad(t, x)[0], s / (1 + s)) <= 2);
    assert_true(ulps_off(ad_value_scalar(t, l), s) <= 2); /* log1p(e^-40) */
    ad_tape_free(t);
}

/* mse, l1_loss, huber on d = p - t = [-3, -0.5, 0, 2] (delta 1): l1's kink at 0
 * gives 0; huber is d / n inside, delta sign(d) / n beyond, and at |d| == delta
 * both pieces agree. */
static void test_pair_losses_by_hand(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var p = ad_input(t, AD_VEC(4), (double[]){-3, -0.5, 0, 2});
    ad_var q = ad_input(t, AD_VEC(4), (double[]){0, 0, 0, 0});
    ad_var m = ad_mse(t, p, q), a = ad_l1_loss(t, p, q), h = ad_huber(t, p, q, 1.0);
    assert_true(ad_value_scalar(t, m) == (9 + 0.25 + 0 + 4) / 4);
    assert_true(ad_value_scalar(t, a) == (3 + 0.5 + 0 + 2) / 4.0);
    assert_true(ad_value_scalar(t, h) == (2.5 + 0.125 + 0 + 1.5) / 4);
    assert_int_equal(ad_backward(t, a), AD_OK);
    const double ga[4] = {-0.25, -0.25, 0, 0.25};
    assert_all_close(ad_grad(t, p), ga, 4, 0);
    assert_int_equal(ad_backward(t, h), AD_OK);
    const double gh[4] = {-0.25, -0.125, 0, 0.25}, gt[4] = {0.25, 0.125, 0, -0.25};
    assert_all_close(ad_grad(t, p), gh, 4, 0);
    assert_all_close(ad_grad(t, q), gt, 4, 0);
    assert_int_equal(ad_backward(t, m), AD_OK);
    const double gm[4] = {-1.5, -0.25, 0, 1};
    assert_all_close(ad_grad(t, p), gm, 4, 0);
    ad_tape_reset(t);
    /* at |d| == delta exactly */
    p = ad_scalar(t, 1.0);
    h = ad_huber(t, p, ad_const(t, AD_SCALAR, (double[]){0}), 1.0);
    assert_true(ad_value_scalar(t, h) == 0.5);
    assert_int_equal(ad_backward(t, h), AD_OK);
    assert_true(ad_grad(t, p)[0] == 1.0);
    ad_tape_reset(t);
    p = ad_scalar(t, 1.0);
    assert_true(ad_var_is_nil(ad_huber(t, p, ad_scalar(t, 0), -1.0)));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_huber: node 2: delta must be > 0, got -1");
    ad_tape_reset(t);
    assert_true(ad_var_is_nil(ad_mse(t, ad_input(t, AD_VEC(2), NULL), ad_input(t, AD_VEC(3), NULL))));
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    ad_tape_free(t);
}

static void test_penalties_and_their_kink(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var w = ad_input(t, AD_VEC(3), (double[]){-2, 0, 3});
    ad_var l1 = ad_l1_penalty(t, w), l2 = ad_l2_penalty(t, w);
    assert_true(ad_value_scalar(t, l1) == 5.0 && ad_value_scalar(t, l2) == 13.0);
    assert_int_equal(ad_backward(t, l1), AD_OK);
    const double g1[3] = {-1, 0, 1}, g2[3] = {-4, 0, 6};
    assert_all_close(ad_grad(t, w), g1, 3, 0);
    assert_int_equal(ad_backward(t, l2), AD_OK);
    assert_all_close(ad_grad(t, w), g2, 3, 0);
    ad_tape_reset(t);
    /* one subnormal and one ulp either side of the kink: the pieces' slopes */
    w = ad_input(t, AD_VEC(4), (double[]){-DBL_TRUE_MIN, DBL_TRUE_MIN, nextafter(0.0, 1.0), -0.0});
    l1 = ad_l1_penalty(t, w);
    ad_var p = ad_input(t, AD_VEC(2), (double[]){nextafter(1.0, 0.0), nextafter(1.0, 2.0)});
    ad_var a = ad_l1_loss(t, p, ad_const(t, AD_VEC(2), (double[]){1, 1}));
    assert_int_equal(ad_backward(t, ad_add(t, l1, a)), AD_OK);
    const double gk[4] = {-1, 1, 1, 0}, gp[2] = {-0.5, 0.5};
    assert_all_close(ad_grad(t, w), gk, 4, 0);
    assert_all_close(ad_grad(t, p), gp, 2, 0);
    ad_tape_free(t);
}

/* dropout: p = 0 is the identity; one seed gives one mask (forward and backward
 * agree, a second recording repeats it); kept values are scaled by 1/(1 - p). */
static void test_dropout_is_deterministic_per_seed_and_identity_at_p0(void **state)
{
    (void)state;
    enum { N = 1000 };
    static double x[N];
    for (int i = 0; i < N; i++)
        x[i] = 1.0 + i;
    ad_tape *t = ad_tape_new(NULL);
    ad_var v = ad_input(t, AD_VEC(N), x);
    ad_var y = ad_dropout(t, v, 0.0, 7);
    assert_all_close(ad_value(t, y), x, N, 0);
    assert_int_equal(ad_backward(t, ad_sum(t, y)), AD_OK);
    for (int i = 0; i < N; i++)
        assert_true(ad_grad(t, v)[i] == 1.0);
    ad_tape_reset(t);
    static double first[N];
    v = ad_input(t, AD_VEC(N), x);
    y = ad_dropout(t, v, 0.25, 42);
    memcpy(first, ad_value(t, y), sizeof first);
    assert_int_equal(ad_backward(t, ad_sum(t, y)), AD_OK);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        int k = first[i] != 0.0;
        kept += k;
        if (k)
            assert_true(first[i] == x[i] / 0.75);
        assert_true(ad_grad(t, v)[i] == (k ? 1.0 / 0.75 : 0.0));
    }
    assert_true(kept > 700 && kept < 800); /* 750 expected; 5 standard deviations is 69 */
    ad_tape_reset(t);
    v = ad_input(t, AD_VEC(N), x);
    y = ad_dropout(t, v, 0.25, 42);
    assert_memory_equal(ad_value(t, y), first, sizeof first);
    y = ad_dropout(t, v, 0.25, 43);
    assert_memory_not_equal(ad_value(t, y), first, sizeof first);
    ad_tape_reset(t);
    v = ad_input(t, AD_VEC(2), NULL);
    assert_true(ad_var_is_nil(ad_dropout(t, v, 1.0, 1)));
    assert_string_equal(ad_tape_error(t), "ad_dropout: node 1: p must be in [0, 1), got 1");
    ad_tape_reset(t);
    v = ad_input(t, AD_VEC(2), NULL);
    assert_true(ad_var_is_nil(ad_dropout(t, v, -0.1, 1)));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    ad_tape_reset(t);
    v = ad_input(t, AD_VEC(2), NULL);
    assert_true(ad_var_is_nil(ad_apply(t, &ad_op_dropout, &v, 1, (double[]){0.5, 1.5}, 2)));
    assert_string_equal(ad_tape_error(t), "ad_dropout: node 1: seed must be an integer in [0, 2^53], got 1.5");
    ad_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_with_logits_1e4_apart_is_exact),
        cmocka_unit_test(test_class_indices_out_of_range_or_fractional_are_rejected),
        cmocka_unit_test(test_nll_picks_and_averages),
        cmocka_unit_test(test_bce_with_logits_is_stable_at_extreme_logits),
        cmocka_unit_test(test_pair_losses_by_hand),
        cmocka_unit_test(test_penalties_and_their_kink),
        cmocka_unit_test(test_dropout_is_deterministic_per_seed_and_identity_at_p0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
