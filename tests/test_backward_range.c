/* test_backward_range.c - reverse mode where an adjoint overflows or
 * underflows though the gradient does not (ad/backward_rescue.c): the leaf
 * gradient is redone at a scaled seed; true infinities and NaNs stay, nothing
 * else moves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/mp_ref.h"

/* 1e300 log(1e-20 x): the adjoint of 1e-20 x is 1e300 / 1e-20 = 1e320, beyond
 * DBL_MAX, while d/dx = 1e300 / x. The same through the scalar path (rank-0
 * inputs) and a vector input. */
static void test_an_overflowed_adjoint_gives_the_finite_gradient(void **state)
{
    (void)state;
    for (int vec = 0; vec < 2; vec++) {
        ad_tape *t = ad_tape_new(NULL);
        ad_var x = vec ? ad_input(t, AD_VEC(2), (double[]){1.0, 4.0}) : ad_scalar(t, 1.0);
        ad_var u = ad_mul(t, ad_const(t, AD_SCALAR, (double[]){1e-20}), x);
        ad_var f = ad_mul(t, ad_const(t, AD_SCALAR, (double[]){1e300}), ad_log(t, u));
        if (vec)
            f = ad_sum(t, f);
        assert_int_equal(ad_backward(t, f), AD_OK);
        const double *g = ad_grad(t, x);
        if (!(ulps_off(g[0], 1e300) <= 2.0))
            fail_msg("vec %d: d/dx %g, expected 1e300", vec, g[0]);
        if (vec && !(ulps_off(g[1], 0.25e300) <= 2.0))
            fail_msg("d/dx[1] %g, expected 2.5e299", g[1]);
        /* the intermediate adjoint keeps the first sweep's value: it did overflow */
        assert_true(isinf(ad_grad(t, u)[0]));
        ad_tape_free(t);
    }
}

/* 1e300 log(1e-20 x) - 0.5e300 log(1e-20 x): the two overflowed adjoints
 * meet as inf - inf = NaN; the gradient is 0.5e300. Another input's gradient
 * (y^2: 2y) is the first sweep's, exactly. */
static void test_overflowed_adjoints_that_cancel_give_the_finite_gradient(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 1.0), y = ad_scalar(t, 0.75);
    ad_var l = ad_log(t, ad_mul(t, ad_const(t, AD_SCALAR, (double[]){1e-20}), x));
    ad_var f = ad_sub(t, ad_mul(t, ad_const(t, AD_SCALAR, (double[]){1e300}), l),
                      ad_mul(t, ad_const(t, AD_SCALAR, (double[]){0.5e300}), l));
    f = ad_add(t, f, ad_mul(t, y, y));
    assert_int_equal(ad_backward(t, f), AD_OK);
    double gx = ad_grad(t, x)[0];
    if (!(ulps_off(gx, 0.5e300) <= 2.0))
        fail_msg("d/dx %g, expected 5e299", gx);
    assert_true(ad_grad(t, y)[0] == 1.5);
    ad_tape_free(t);
}

/* True infinities and NaNs stay: sqrt at 0 (d/dx = inf) and sqrt at -1 (NaN),
 * beside an overflow rescued in the same sweep; a parameter gets the rescued
 * gradient too. */
static void test_true_infinities_stay_and_parameters_get_the_rescue(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_param *p;
    assert_int_equal(ad_param_new(AD_SCALAR, (double[]){1.0}, NULL, &p), AD_OK);
    ad_var a = ad_scalar(t, 0.0), b = ad_scalar(t, -1.0), w = ad_use(t, p);
    ad_var big = ad_mul(t, ad_const(t, AD_SCALAR, (double[]){1e300}),
                        ad_log(t, ad_mul(t, ad_const(t, AD_SCALAR, (double[]){1e-20}), w)));
    ad_var f = ad_add(t, ad_add(t, ad_sqrt(t, a), ad_sqrt(t, b)), big);
    assert_int_equal(ad_backward(t, f), AD_OK);
    assert_true(isinf(ad_grad(t, a)[0]) && ad_grad(t, a)[0] > 0);
    assert_true(isnan(ad_grad(t, b)[0]));
    double gp = ad_param_grad(p)[0];
    if (!(ulps_off(gp, 1e300) <= 2.0))
        fail_msg("d/dp %g, expected 1e300", gp);
    ad_tape_free(t);
    ad_param_free(p);
}

/* MPFR at 256 bits: d/dv_i of sum(v) / E, E = expm1(expm1(v . v)), for v of
 * two entries: 1/E - sum(v) 2 v_i (E + 1) e^(v . v) / E^2. */
static double mp_expm1_chain_grad(const double *v, int i)
{
    mpfr_t s, e1, E, t, u;
    mpfr_inits2(256, s, e1, E, t, u, (mpfr_ptr)0);
    mpfr_set_d(s, v[0], MPFR_RNDN);
    mpfr_sqr(s, s, MPFR_RNDN);
    mpfr_set_d(t, v[1], MPFR_RNDN);
    mpfr_sqr(t, t, MPFR_RNDN);
    mpfr_add(s, s, t, MPFR_RNDN);        /* v . v */
    mpfr_expm1(e1, s, MPFR_RNDN);
    mpfr_expm1(E, e1, MPFR_RNDN);        /* E */
    mpfr_exp(t, s, MPFR_RNDN);
    mpfr_add_ui(u, E, 1, MPFR_RNDN);
    mpfr_mul(t, t, u, MPFR_RNDN);        /* E'(s) = (E + 1) e^s */
    mpfr_mul_d(t, t, 2.0 * v[i] * (v[0] + v[1]), MPFR_RNDN);
    mpfr_div(t, t, E, MPFR_RNDN);
    mpfr_div(t, t, E, MPFR_RNDN);
    mpfr_ui_div(u, 1, E, MPFR_RNDN);
    mpfr_sub(t, u, t, MPFR_RNDN);
    double r = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clears(s, e1, E, t, u, (mpfr_ptr)0);
    return r;
}

/* fuzz_program: sum(v / expm1(expm1(v . v))) at v = [1.75, 1.75]. The adjoint
 * of E is -sum(v) / E^2 = 1e-396, which rounds to 0, though times E' (1e201) it
 * is the main term: the gradient was 5,600 times too small, silently. Through
 * the kernels (a vector) and the scalar path (two scalars), and beside an
 * input whose gradient, 1e200, would overflow at the larger rescue seed. The
 * double program's E carries the rounding of expm1(v . v) = 456 times 456 (its
 * condition): up to about 500 ulps of 1/E, allowed; the old answer was 1.6e19
 * ulps off. */
static void test_an_underflowed_adjoint_gives_the_full_gradient(void **state)
{
    (void)state;
    const double v[2] = {1.75, 1.75};
    const double want = mp_expm1_chain_grad(v, 0);
    for (int vec = 0; vec < 2; vec++) {
        ad_tape *t = ad_tape_new(NULL);
        ad_var big = ad_scalar(t, 3.0), f, in[2];
        if (vec) {
            in[0] = ad_input(t, AD_VEC(2), v);
            ad_var E = ad_expm1(t, ad_expm1(t, ad_dot(t, in[0], in[0])));
            f = ad_sum(t, ad_div(t, in[0], E));
        } else {
            in[0] = ad_scalar(t, v[0]);
            in[1] = ad_scalar(t, v[1]);
            ad_var s = ad_add(t, ad_mul(t, in[0], in[0]), ad_mul(t, in[1], in[1]));
            ad_var E = ad_expm1(t, ad_expm1(t, s));
            f = ad_add(t, ad_div(t, in[0], E), ad_div(t, in[1], E));
        }
        f = ad_add(t, f, ad_mul(t, ad_const(t, AD_SCALAR, (double[]){1e200}), big));
        assert_int_equal(ad_backward(t, f), AD_OK);
        for (int i = 0; i < 2; i++) {
            double g = vec ? ad_grad(t, in[0])[i] : ad_grad(t, in[i])[0];
            if (!(ulps_off(g, want) <= 1024.0))
                fail_msg("vec %d: d/dv%d = %a, MPFR %a (%.3g ulps)", vec, i, g, want, ulps_off(g, want));
        }
        assert_true(ad_grad(t, big)[0] == 1e200);
        ad_tape_free(t);
    }
}

/* v / expm1(3 v) at v = 182.25 (fuzz_program, through l1_penalty and dot):
 * the adjoint of E = expm1(546.75) = 2^788.8 is -v / E^2 = 2^-1570, so even
 * the 2^512 rescue seed left it subnormal (2^-1058, 16 bits) and d/dv was
 * 2^-21 off; the 2^1000 seed keeps it normal. d/dv = 1/E - 3 v (E + 1) / E^2
 * in MPFR; 3 v is exact, so the double program is off by E's rounding alone. */
static double mp_v_over_expm1_3v_grad(double v)
{
    mpfr_t e, a, b;
    mpfr_inits2(256, e, a, b, (mpfr_ptr)0);
    mpfr_set_d(e, 3.0 * v, MPFR_RNDN);
    mpfr_expm1(e, e, MPFR_RNDN);
    mpfr_ui_div(a, 1, e, MPFR_RNDN);          /* 1/E */
    mpfr_add_ui(b, e, 1, MPFR_RNDN);          /* E + 1 */
    mpfr_mul_d(b, b, 3.0 * v, MPFR_RNDN);     /* 3 v (E + 1) */
    mpfr_div(b, b, e, MPFR_RNDN);
    mpfr_div(b, b, e, MPFR_RNDN);
    mpfr_sub(a, a, b, MPFR_RNDN);
    double r = mpfr_get_d(a, MPFR_RNDN);
    mpfr_clears(e, a, b, (mpfr_ptr)0);
    return r;
}
static void test_an_adjoint_far_below_the_subnormals_keeps_its_digits(void **state)
{
    (void)state;
    const double v = 182.25, want = mp_v_over_expm1_3v_grad(v);
    for (int vec = 0; vec < 2; vec++) {
        ad_tape *t = ad_tape_new(NULL);
        ad_var x = vec ? ad_input(t, AD_VEC(1), &v) : ad_scalar(t, v);
        ad_var three = ad_const(t, AD_SCALAR, (double[]){3.0});
        ad_var f = ad_div(t, x, ad_expm1(t, ad_mul(t, three, x)));
        if (vec)
            f = ad_sum(t, f);
        assert_int_equal(ad_backward(t, f), AD_OK);
        double g = ad_grad(t, x)[0];
        if (!(ulps_off(g, want) <= 8.0))
            fail_msg("vec %d: d/dv = %a, MPFR %a (%.3g ulps)", vec, g, want, ulps_off(g, want));
        ad_tape_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_overflowed_adjoint_gives_the_finite_gradient),
        cmocka_unit_test(test_overflowed_adjoints_that_cancel_give_the_finite_gradient),
        cmocka_unit_test(test_true_infinities_stay_and_parameters_get_the_rescue),
        cmocka_unit_test(test_an_underflowed_adjoint_gives_the_full_gradient),
        cmocka_unit_test(test_an_adjoint_far_below_the_subnormals_keeps_its_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
