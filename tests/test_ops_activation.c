/* test_ops_activation.c - smooth ops at extreme inputs: saturation, underflow, overflow, documented derivatives. */
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
#include "support/mp_ref.h"

#define assert_ulps(got, want, n)                                                           \
    do {                                                                                    \
        double g__ = (got), w__ = (want);                                                   \
        if (!(ulps_off(g__, w__) <= (n)))                                                   \
            fail_msg("%s = %.17g, expected %.17g (%.3g ulps > %g)", #got, g__, w__,         \
                     ulps_off(g__, w__), (double)(n));                                      \
    } while (0)

/* At x = 40 sigmoid rounds to 1, so y (1 - y) would be 0; the true derivative
 * is about 4.2e-18. At -800 the derivative (e^-800) is below the subnormals:
 * 0, never NaN; at -700 it is representable and must be positive. */
static void test_sigmoid_gradient_comes_from_the_input_not_the_saturated_output(void **state)
{
    (void)state;
    double g, y = eval1(&ad_op_sigmoid, 40.0, NULL, 0, 0, &g);
    assert_true(y == 1.0);
    assert_ulps(g, mp_sigmoid_d(40.0), 4);
    assert_true(g > 4.2e-18 && g < 4.3e-18);
    y = eval1(&ad_op_sigmoid, -800.0, NULL, 0, 0, &g);
    assert_true(y == 0.0 && g == 0.0);
    y = eval1(&ad_op_sigmoid, -700.0, NULL, 0, 0, &g);
    assert_true(g > 0.0);
    assert_ulps(g, mp_sigmoid_d(-700.0), 4);
    assert_ulps(y, mp_exp_times(1.0, -700.0), 2); /* sigmoid(-700) = e^-700 to double precision */
    y = eval1(&ad_op_sigmoid, 0.0, NULL, 0, 0, &g);
    assert_true(y == 0.5 && g == 0.25);
}

/* softplus is the exact function everywhere: softplus(1000) = 1000 with
 * derivative 1, no overflow at 1e308, softplus'(0) = 1/2. */
static void test_softplus_is_exact_from_minus_745_to_1e308(void **state)
{
    (void)state;
    double g, y = eval1(&ad_op_softplus, 1000.0, NULL, 0, 0, &g);
    assert_true(y == 1000.0 && g == 1.0);
    y = eval1(&ad_op_softplus, 1e308, NULL, 0, 0, &g);
    assert_true(y == 1e308 && g == 1.0);
    y = eval1(&ad_op_softplus, 0.0, NULL, 0, 0, &g);
    assert_ulps(y, LN2, 1);
    assert_true(g == 0.5);
    y = eval1(&ad_op_softplus, -745.0, NULL, 0, 0, &g);
    assert_true(y > 0.0 && y == mp_softplus(-745.0, 1.0));
    y = eval1(&ad_op_softplus, 30.0, NULL, 0, 0, &g); /* where a linear switch would start */
    assert_ulps(y, mp_softplus(30.0, 1.0), 2);
    y = eval1(&ad_op_softplus, 1.0, (double[]){2.0}, 1, 0, &g);
    assert_ulps(y, mp_softplus(1.0, 2.0), 2);
    assert_ulps(g, 1.0 / (1.0 + exp(-2.0)), 2);
}

static void test_logsigmoid_of_minus_1000_is_minus_1000_not_minus_inf(void **state)
{
    (void)state;
    double g, y = eval1(&ad_op_logsigmoid, -1000.0, NULL, 0, 0, &g);
    assert_true(y == -1000.0 && g == 1.0);
    y = eval1(&ad_op_logsigmoid, 1000.0, NULL, 0, 0, &g);
    assert_true(y == -0.0 && g == 0.0); /* -ln(1 + e^-1000): below the subnormals */
    y = eval1(&ad_op_logsigmoid, 40.0, NULL, 0, 0, &g);
    assert_ulps(y, -mp_exp_times(1.0, -40.0), 2); /* -log1p(e^-40) = -e^-40 to double precision */
}

/* elu, selu, celu: the left branch's derivative alpha e^x stays accurate far
 * down (not 1 + expm1(x), which cancels to 0). */
static void test_elu_family_gradients_survive_very_negative_inputs(void **state)
{
    (void)state;
    double g;
    eval1(&ad_op_elu, -700.0, NULL, 0, 0, &g);
    assert_true(g > 0.0);
    assert_ulps(g, mp_exp_times(1.0, -700.0), 2);
    eval1(&ad_op_selu, -700.0, NULL, 0, 0, &g);
    assert_ulps(g, mp_exp_times(1.7580993408473768599402175208123, -700.0), 3);
    eval1(&ad_op_celu, -700.0, (double[]){2.0}, 1, 0, &g);
    assert_ulps(g, mp_exp_times(1.0, -350.0), 2);
    double y = eval1(&ad_op_elu, -1e-300, NULL, 0, 0, &g); /* expm1, not exp - 1 */
    assert_true(y == -1e-300 && g == 1.0);
}

/* gelu'(0) = 1/2, mish'(0) = 3/5, silu'(0) = 1/2, erf'(0) = 2/sqrt(pi); gelu in its
 * left tail against MPFR (1 + erf would cancel to 0 there). */
static void test_documented_derivatives_at_zero_and_gelu_tail(void **state)
{
    (void)state;
    double g;
    eval1(&ad_op_gelu, 0.0, NULL, 0, 0, &g);
    assert_true(g == 0.5);
    eval1(&ad_op_gelu_tanh, 0.0, NULL, 0, 0, &g);
    assert_true(g == 0.5);
    eval1(&ad_op_mish, 0.0, NULL, 0, 0, &g);
    assert_ulps(g, 0.6, 1);
    eval1(&ad_op_silu, 0.0, NULL, 0, 0, &g);
    assert_true(g == 0.5);
    eval1(&ad_op_erf, 0.0, NULL, 0, 0, &g);
    assert_ulps(g, 1.1283791670955125739, 1);
    double y = eval1(&ad_op_gelu, -10.0, NULL, 0, 0, &g);
    assert_true(y < 0.0);
    assert_ulps(y, mp_gelu(-10.0), 4);
    y = eval1(&ad_op_gelu, -30.0, NULL, 0, 0, &g);
    assert_ulps(y, mp_gelu(-30.0), 4);
    y = eval1(&ad_op_gelu, INFINITY, NULL, 0, 0, &g);
    assert_true(y == INFINITY && g == 1.0);
    y = eval1(&ad_op_mish, 800.0, NULL, 0, 0, &g); /* n = e^x (e^x + 2) would overflow */
    assert_true(y == 800.0 && g == 1.0);
}

/* pow(0, p): dx is 0 (p > 1), 1 (p = 1), +inf (0 < p < 1); dp is 0 for p > 0. */
static void test_pow_at_zero_gives_the_documented_gradients(void **state)
{
    (void)state;
    double gx, gp;
    assert_true(eval2(&ad_op_pow, 0.0, 2.0, NULL, 0, &gx, &gp) == 0.0);
    assert_true(gx == 0.0 && gp == 0.0);
    assert_true(eval2(&ad_op_pow, 0.0, 1.0, NULL, 0, &gx, &gp) == 0.0);
    assert_true(gx == 1.0 && gp == 0.0);
    assert_true(eval2(&ad_op_pow, 0.0, 0.5, NULL, 0, &gx, &gp) == 0.0);
    assert_true(isinf(gx) && gx > 0 && gp == 0.0);
    assert_true(eval2(&ad_op_pow, 3.0, 0.0, NULL, 0, &gx, &gp) == 1.0);
    assert_true(gx == 0.0);
    assert_ulps(gp, log(3.0), 1);
    assert_true(eval2(&ad_op_pow, 2.0, 10.0, NULL, 0, &gx, &gp) == 1024.0);
    assert_true(gx == 5120.0);
    assert_ulps(gp, 1024.0 * LN2, 2);
}

/* expm1' = e^x, not y + 1 (which is 0 for x = -40 while e^-40 is 4.2e-18). */
static void test_expm1_and_log1p_gradients_do_not_cancel(void **state)
{
    (void)state;
    double g;
    eval1(&ad_op_expm1, -40.0, NULL, 0, 0, &g);
    assert_ulps(g, mp_exp_times(1.0, -40.0), 1);
    eval1(&ad_op_log1p, 1e-300, NULL, 0, 0, &g);
    assert_true(g == 1.0);
    eval1(&ad_op_log1p, -0.75, NULL, 0, 0, &g);
    assert_true(g == 4.0);
}

/* silu, gelu, gelu_tanh and mish: f' vanishes at one point r, where its closed
 * form adds two terms of about 0.25 and opposite sign (gelu_tanh at -0.75 was
 * 181 ulps, gelu 175, found by the fuzzers; 2,000 to 10,000 ulps within 0.001).
 * Against an MPFR difference of the op's reference: the published root (to
 * 1e-30, so the kernels' r = hi + lo is right), then 801 points over r +- 0.6
 * (the integral's window is r +- 0.5, the closed form beyond), then the 64
 * doubles nearest r, where f' is about 1e-17. */
static void test_derivative_near_its_own_zero_keeps_its_digits(void **state)
{
    (void)state;
    static const struct {
        const ad_op *op;
        double hi, lo;
    } roots[] = {
        {&ad_op_silu, -0x1.474973c84120bp+0, -0x1.f8d74bc9ac154p-54},
        {&ad_op_gelu, -0x1.80ead197f00b4p-1, 0x1.13e74c58cada8p-56},
        {&ad_op_gelu_tanh, -0x1.81429f9e97e4dp-1, 0x1.4f523ed77dbdcp-55},
        {&ad_op_mish, -0x1.31432c0d12d84p+0, -0x1.bf319154da210p-55},
    };
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        const ad_op *op = roots[i].op;
        double at_root = mp_op_derivative(op, roots[i].hi, roots[i].lo);
        if (!(fabs(at_root) < 1e-30))
            fail_msg("%s: f'(r) = %g at the kernels' root", op->name, at_root);
        double worst = 0.0, worst_x = 0.0;
        double below = roots[i].hi, above = roots[i].hi;
        for (int k = -400; k <= 400 + 64; k++) {
            double x, g;
            if (k <= 400) {
                x = roots[i].hi + 0.0015 * k;
            } else { /* r's neighbours, alternately below and above */
                below = nextafter(below, -INFINITY);
                above = nextafter(above, INFINITY);
                x = k % 2 ? below : above;
            }
            eval1(op, x, NULL, 0, 0.0, &g);
            double u = ulps_off(g, mp_op_derivative(op, x, 0.0));
            if (u > worst) {
                worst = u;
                worst_x = x;
            }
        }
        print_message("%s: worst %.3g ulps at %a\n", op->name, worst, worst_x);
        if (!(worst <= op->ulp_bwd))
            fail_msg("%s: backward %.3g ulps off at %a (bound %g)", op->name, worst, worst_x, op->ulp_bwd);
    }
}

/* gelu_tanh far left, where sigmoid'(2u) is subnormal (2u < -700): at x =
 * -21.3 the derivative is 5e-312 and was 1.05e-9 off (1,080 ulps, fuzz_program),
 * sigmoid' having been rounded into the subnormals first; now (1 + x (2u)')
 * e^(2u) times g from one rounding. At x = -22 the derivative (1e-342) is below
 * the doubles, but times g = 2^400 it is not. Against MPFR times g. */
static void test_gelu_tanh_backward_in_the_far_left_tail(void **state)
{
    (void)state;
    const struct {
        double x;
        int k;
    } cs[] = {{-0x1.55046a143788fp+4, 0}, {-0x1.55046a143788fp+4, 40}, {-22.0, 400}, {-23.5, 600}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        double want = mp_op_derivative_scaled(&ad_op_gelu_tanh, cs[i].x, 0.0, cs[i].k);
        ad_tape *t = ad_tape_new(NULL);
        ad_var x = ad_scalar(t, cs[i].x);
        ad_var f = ad_mul(t, ad_const(t, AD_SCALAR, (double[]){ldexp(1.0, cs[i].k)}), ad_gelu_tanh(t, x));
        assert_int_equal(ad_backward(t, f), AD_OK);
        double got = ad_grad(t, x)[0];
        ad_tape_free(t);
        if (!(ulps_off(got, want) <= ad_op_gelu_tanh.ulp_bwd + 1.0))
            fail_msg("x = %a, g = 2^%d: got %a, MPFR %a (%.3g ulps)", cs[i].x, cs[i].k, got, want,
                     ulps_off(got, want));
    }
}

/* gelu's MPFR reference takes erfc in the left tail from its continued
 * fraction (ops/activation.c: MPFR's erfc costs up to 0.8 s there); it must
 * agree with mpfr_erfc, 64 bits more precise, to within 2 ulps of the
 * working precision, at both ends of where the fraction is used and beside
 * them (x = -2.5: t = 1.77, MPFR's erfc itself). */
static void test_gelu_reference_tail_agrees_with_mpfr_erfc(void **state)
{
    (void)state;
    static const double xs[] = {-2.5, -3.0, -5.7, -10.0, -20.0, -37.0, -60.0, -153.0};
    static const mpfr_prec_t precs[] = {192, 256, 1024};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        for (size_t j = 0; j < sizeof precs / sizeof precs[0]; j++) {
            mpfr_prec_t p = precs[j];
            mpfr_t x, y, want, t;
            mpfr_inits2(p + 64, x, want, t, (mpfr_ptr)0);
            mpfr_init2(y, p);
            mpfr_set_d(x, xs[i], MPFR_RNDN);
            ad_ref_args a = {.n_in = 1, .x = {x}, .xs = {AD_SCALAR}, .ys = AD_SCALAR};
            assert_int_equal(ad_op_gelu.reference(&a, y, MPFR_RNDN), 0);
            mpfr_sqrt_ui(t, 2, MPFR_RNDN); /* (x/2) erfc(-x/sqrt 2) */
            mpfr_div(t, x, t, MPFR_RNDN);
            mpfr_neg(t, t, MPFR_RNDN);
            mpfr_erfc(want, t, MPFR_RNDN);
            mpfr_mul(want, want, x, MPFR_RNDN);
            mpfr_div_2ui(want, want, 1, MPFR_RNDN);
            mpfr_sub(t, y, want, MPFR_RNDN);
            if (!mpfr_zero_p(t) && mpfr_get_exp(t) > mpfr_get_exp(want) - (mpfr_exp_t)p + 2)
                fail_msg("gelu reference at x = %g, %ld bits: off by 2^%ld relative", xs[i], (long)p,
                         (long)(mpfr_get_exp(t) - mpfr_get_exp(want)));
            mpfr_clears(x, y, want, t, (mpfr_ptr)0);
        }
}

static void test_bad_activation_attributes_are_explained(void **state)
{
    (void)state;
    char msg[256];
    assert_int_equal(attr_error(&ad_op_softplus, (double[]){0}, 1, msg, sizeof msg), AD_EINVAL);
    assert_string_equal(msg, "ad_softplus: node 1: beta must be > 0, got 0");
    assert_int_equal(attr_error(&ad_op_softplus, (double[]){-2}, 1, msg, sizeof msg), AD_EINVAL);
    assert_string_equal(msg, "ad_softplus: node 1: beta must be > 0, got -2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigmoid_gradient_comes_from_the_input_not_the_saturated_output),
        cmocka_unit_test(test_softplus_is_exact_from_minus_745_to_1e308),
        cmocka_unit_test(test_logsigmoid_of_minus_1000_is_minus_1000_not_minus_inf),
        cmocka_unit_test(test_elu_family_gradients_survive_very_negative_inputs),
        cmocka_unit_test(test_documented_derivatives_at_zero_and_gelu_tail),
        cmocka_unit_test(test_pow_at_zero_gives_the_documented_gradients),
        cmocka_unit_test(test_expm1_and_log1p_gradients_do_not_cancel),
        cmocka_unit_test(test_derivative_near_its_own_zero_keeps_its_digits),
        cmocka_unit_test(test_gelu_tanh_backward_in_the_far_left_tail),
        cmocka_unit_test(test_gelu_reference_tail_agrees_with_mpfr_erfc),
        cmocka_unit_test(test_bad_activation_attributes_are_explained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
