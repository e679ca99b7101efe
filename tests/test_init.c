/* test_init.c - initializer statistics with sample-size tolerances, gains, fans, orthogonality, bad inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/grad_assert.h"

static ad_param *make(ad_shape s)
{
    ad_param *p = NULL;
    assert_int_equal(ad_param_new(s, NULL, NULL, &p), AD_OK);
    return p;
}

static void moments(const ad_param *p, double *mean, double *var, double *lo, double *hi)
{
    const double *x = ad_param_data((ad_param *)p);
    size_t n = ad_param_count(p);
    double s = 0, s2 = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        *lo = fmin(*lo, x[i]);
        *hi = fmax(*hi, x[i]);
    }
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        s2 += (x[i] - *mean) * (x[i] - *mean);
    *var = s2 / (double)n;
}

/* Uniform on [-a, a): all inside, mean and variance a^2/3 within 5 standard
 * errors (sd(mean) = sqrt(var/N), sd(var) = sqrt((mu4 - var^2)/N), mu4 = a^4/5). */
static void assert_uniform(const ad_param *p, double a)
{
    double mean, var, lo, hi, n = (double)ad_param_count(p), v = a * a / 3;
    moments(p, &mean, &var, &lo, &hi);
    assert_true(lo >= -a && hi < a);
    /* the whole range is used: P(max < a (1 - e)) = (1 - e/2)^N ~ exp(-N e / 2),
     * so e = 40/N fails by chance with probability e^-20 */
    assert_true(hi > a * (1 - 40 / n) && lo < -a * (1 - 40 / n));
    assert_true(fabs(mean) < 5 * sqrt(v / n));
    assert_true(fabs(var - v) < 5 * sqrt((pow(a, 4) / 5 - v * v) / n));
}

/* Normal with this mean and sd: mean within 5 sd/sqrt(N), variance within 5 sd^2 sqrt(2/N). */
static void assert_normal(const ad_param *p, double mu, double sd)
{
    double mean, var, lo, hi, n = (double)ad_param_count(p);
    moments(p, &mean, &var, &lo, &hi);
    assert_true(fabs(mean - mu) < 5 * sd / sqrt(n));
    assert_true(fabs(var - sd * sd) < 5 * sd * sd * sqrt(2 / n));
}

static void test_init_gains_are_the_standard_values(void **state)
{
    (void)state;
    assert_true(ad_init_gain(AD_GAIN_LINEAR, 0) == 1.0);
    assert_true(ad_init_gain(AD_GAIN_SIGMOID, 0) == 1.0);
    assert_close(ad_init_gain(AD_GAIN_TANH, 0), 5.0 / 3.0, 1e-15);
    assert_close(ad_init_gain(AD_GAIN_RELU, 0), 1.4142135623730951, 1e-15);
    assert_close(ad_init_gain(AD_GAIN_LEAKY_RELU, 0.2), sqrt(2 / 1.04), 1e-15);
    assert_close(ad_init_gain(AD_GAIN_LEAKY_RELU, 1.0), 1.0, 1e-15); /* slope 1 is linear */
    assert_true(isnan(ad_init_gain(AD_GAIN_COUNT, 0)));
    assert_true(isnan(ad_init_gain(AD_GAIN_LEAKY_RELU, NAN)));
}

static void test_init_constant_and_zeros_fill_everything(void **state)
{
    (void)state;
    ad_param *p = make(AD_MAT(3, 4));
    assert_int_equal(ad_init_constant(p, 2.5), AD_OK);
    for (size_t i = 0; i < 12; i++)
        assert_true(ad_param_data(p)[i] == 2.5);
    assert_int_equal(ad_init_zeros(p), AD_OK);
    for (size_t i = 0; i < 12; i++)
        assert_true(ad_param_data(p)[i] == 0.0);
    assert_int_equal(ad_init_constant(p, NAN), AD_EINVAL);
    assert_int_equal(ad_init_zeros(NULL), AD_EINVAL);
    ad_param_free(p);
}

static void test_init_uniform_stays_in_bounds_with_right_moments(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(11);
    ad_param *p = make(AD_VEC(100000));
    assert_int_equal(ad_init_uniform(p, &r, 2.0, 5.0), AD_OK);
    double mean, var, lo, hi;
    moments(p, &mean, &var, &lo, &hi);
    assert_true(lo >= 2.0 && hi < 5.0);
    assert_true(fabs(mean - 3.5) < 5 * sqrt(0.75 / 1e5)); /* var = 9/12 */
    assert_true(fabs(var - 0.75) < 5 * sqrt((81.0 / 80 - 0.5625) / 1e5));
    ad_param_free(p);
}

static void test_init_normal_has_right_mean_and_variance(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(12);
    ad_param *p = make(AD_VEC(100000));
    assert_int_equal(ad_init_normal(p, &r, -1.0, 3.0), AD_OK);
    assert_normal(p, -1.0, 3.0);
    ad_param_free(p);
}

static void test_init_xavier_uniform_and_normal_follow_glorot(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(13);
    ad_param *p = make(AD_MAT(200, 300));
    assert_int_equal(ad_init_xavier_uniform(p, &r, 1.0), AD_OK);
    assert_uniform(p, sqrt(6.0 / 500));
    assert_int_equal(ad_init_xavier_uniform(p, &r, 5.0 / 3), AD_OK);
    assert_uniform(p, 5.0 / 3 * sqrt(6.0 / 500));
    assert_int_equal(ad_init_xavier_normal(p, &r, 2.0), AD_OK);
    assert_normal(p, 0.0, 2.0 * sqrt(2.0 / 500));
    ad_param_free(p);
}

static void test_init_kaiming_uses_the_chosen_fan(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(14);
    ad_param *p = make(AD_MAT(400, 100)); /* fan_in 400, fan_out 100 */
    double g = sqrt(2.0);
    assert_int_equal(ad_init_kaiming_normal(p, &r, AD_FAN_IN, g), AD_OK);
    assert_normal(p, 0.0, g / 20);
    assert_int_equal(ad_init_kaiming_normal(p, &r, AD_FAN_OUT, g), AD_OK);
    assert_normal(p, 0.0, g / 10);
    assert_int_equal(ad_init_kaiming_uniform(p, &r, AD_FAN_IN, g), AD_OK);
    assert_uniform(p, g * sqrt(3.0 / 400));
    assert_int_equal(ad_init_kaiming_uniform(p, &r, AD_FAN_OUT, 1.0), AD_OK);
    assert_uniform(p, sqrt(3.0 / 100));
    assert_int_equal(ad_init_kaiming_uniform(p, &r, (ad_fan_mode)7, 1.0), AD_EINVAL);
    ad_param_free(p);
}

/* max |G - gain^2 I| over the Gram matrix of columns (cols) or rows */
static double gram_error(ad_param *p, bool cols, double gain)
{
    size_t m = ad_param_shape(p).dim[0], n = ad_param_shape(p).dim[1];
    const double *w = ad_param_data(p);
    size_t k = cols ? n : m, len = cols ? m : n;
    double worst = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0;
            for (size_t i = 0; i < len; i++)
                s += cols ? w[i * n + a] * w[i * n + b] : w[a * n + i] * w[b * n + i];
            worst = fmax(worst, fabs(s - (a == b ? gain * gain : 0.0)));
        }
    return worst;
}

static void test_init_orthogonal_gives_orthonormal_columns_or_rows(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(15);
    ad_param *tall = make(AD_MAT(60, 25)), *wide = make(AD_MAT(25, 60)), *sq = make(AD_MAT(40, 40));
    assert_int_equal(ad_init_orthogonal(tall, &r, 1.0), AD_OK);
    assert_true(gram_error(tall, true, 1.0) < 1e-13);
    assert_int_equal(ad_init_orthogonal(wide, &r, 2.0), AD_OK);
    assert_true(gram_error(wide, false, 2.0) < 1e-13);
    assert_int_equal(ad_init_orthogonal(sq, &r, 1.0), AD_OK);
    assert_true(gram_error(sq, true, 1.0) < 1e-13);
    assert_true(gram_error(sq, false, 1.0) < 1e-13); /* square: Q Q^T = I as well */
    ad_param_free(tall);
    ad_param_free(wide);
    ad_param_free(sq);
}

static void test_init_rejects_bad_inputs_with_exact_statuses(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(1);
    ad_param *vec = make(AD_VEC(5)), *w = make(AD_MAT(2, 3)), *empty = make(AD_MAT(0, 3));
    double before = ad_param_data(w)[0] = 0.25;
    assert_int_equal(ad_init_uniform(w, &r, 1.0, 0.0), AD_EINVAL);
    assert_int_equal(ad_init_uniform(w, &r, -INFINITY, 0.0), AD_EINVAL);
    assert_int_equal(ad_init_uniform(w, NULL, 0.0, 1.0), AD_EINVAL);
    assert_int_equal(ad_init_normal(w, &r, 0.0, -1.0), AD_EINVAL);
    assert_int_equal(ad_init_normal(w, &r, NAN, 1.0), AD_EINVAL);
    assert_int_equal(ad_init_normal(NULL, &r, 0.0, 1.0), AD_EINVAL);
    assert_int_equal(ad_init_xavier_uniform(w, &r, NAN), AD_EINVAL);
    assert_int_equal(ad_init_xavier_normal(w, &r, -1.0), AD_EINVAL);
    assert_int_equal(ad_init_orthogonal(w, &r, INFINITY), AD_EINVAL);
    assert_true(ad_param_data(w)[0] == before); /* untouched on failure */
    assert_int_equal(ad_init_xavier_uniform(vec, &r, 1.0), AD_ESHAPE);
    assert_int_equal(ad_init_kaiming_normal(vec, &r, AD_FAN_IN, 1.0), AD_ESHAPE);
    assert_int_equal(ad_init_orthogonal(vec, &r, 1.0), AD_ESHAPE);
    assert_int_equal(ad_init_xavier_normal(empty, &r, 1.0), AD_ESHAPE);
    size_t fi = 0, fo = 0;
    assert_int_equal(ad_init_fans(w, &fi, &fo), AD_OK);
    assert_int_equal(fi, 2);
    assert_int_equal(fo, 3);
    assert_int_equal(ad_init_fans(NULL, &fi, &fo), AD_EINVAL);
    ad_param_free(vec);
    ad_param_free(w);
    ad_param_free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_gains_are_the_standard_values),
        cmocka_unit_test(test_init_constant_and_zeros_fill_everything),
        cmocka_unit_test(test_init_uniform_stays_in_bounds_with_right_moments),
        cmocka_unit_test(test_init_normal_has_right_mean_and_variance),
        cmocka_unit_test(test_init_xavier_uniform_and_normal_follow_glorot),
        cmocka_unit_test(test_init_kaiming_uses_the_chosen_fan),
        cmocka_unit_test(test_init_orthogonal_gives_orthonormal_columns_or_rows),
        cmocka_unit_test(test_init_rejects_bad_inputs_with_exact_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
