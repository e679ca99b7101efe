/* test_backward_range.c - reverse mode where an adjoint overflows though the
 * gradient does not (ad/backward_rescue.c): the leaf gradient is redone at a
 * scaled seed; true infinities and NaNs stay, nothing else moves. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_overflowed_adjoint_gives_the_finite_gradient),
        cmocka_unit_test(test_overflowed_adjoints_that_cancel_give_the_finite_gradient),
        cmocka_unit_test(test_true_infinities_stay_and_parameters_get_the_rescue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
