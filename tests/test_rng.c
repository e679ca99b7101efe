/* test_rng.c - the generator's streams against published reference outputs and independent derivations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/grad_assert.h"

static void test_rng_splitmix64_matches_published_outputs_for_seed_0(void **state)
{
    (void)state;
    /* the reference SplitMix64 (Steele, Lea, Flood; Vigna's splitmix64.c) from x = 0 */
    const uint64_t want[4] = {0xe220a8397b1dcdafu, 0x6e789e6aa1b965f4u, 0x06c45d188009454fu,
                              0xf88bb8a8724c81ecu};
    uint64_t x = 0;
    for (int i = 0; i < 4; i++)
        assert_true(ad_rng_splitmix64(&x) == want[i]);
    assert_true(ad_rng_splitmix64(NULL) == 0);
}

static void test_rng_xoshiro_matches_published_outputs_from_state_1234(void **state)
{
    (void)state;
    /* the reference vector of xoshiro256** from state {1, 2, 3, 4}, as published
     * with the rand_xoshiro crate's tests (from Vigna's xoshiro256starstar.c) */
    const uint64_t want[10] = {11520u, 0u, 1509978240u, 1215971899390074240u,
                               1216172134540287360u, 607988272756665600u,
                               16172922978634559625u, 8476171486693032832u,
                               10595114339597558777u, 2904607092377533576u};
    ad_rng r = {.s = {1, 2, 3, 4}};
    for (int i = 0; i < 10; i++)
        assert_true(ad_rng_u64(&r) == want[i]);
}

static void test_rng_seed_42_gives_the_derived_state_and_uniforms(void **state)
{
    (void)state;
    /* derived independently in Python: state = four SplitMix64 outputs from 42,
     * then xoshiro256** outputs >> 11 times 2^-53 */
    ad_rng r = ad_rng_make(42);
    assert_true(r.s[0] == 0xbdd732262feb6e95u && r.s[1] == 0x28efe333b266f103u);
    assert_true(r.s[2] == 0x47526757130f9f52u && r.s[3] == 0x581ce1ff0e4ae394u);
    assert_true(ad_rng_uniform(&r) == 0x15780b2e0c2ec716u / 2048 * 0x1.0p-53);
    assert_true(ad_rng_uniform(&r) == 0x6104d9866d113a7eu / 2048 * 0x1.0p-53);
    assert_true(ad_rng_uniform(&r) == 0xae17533239e499a1u / 2048 * 0x1.0p-53);
}

static void test_rng_normal_is_the_polar_method_on_the_uniform_stream(void **state)
{
    (void)state;
    /* seed 42's first uniforms are 0.0838629710598822 and 0.378980250662669:
     * u = 2a - 1, v = 2b - 1, s = u^2 + v^2 < 1 is accepted, and the pair is
     * u f, v f with f = sqrt(-2 ln s / s) */
    double a = 0.08386297105988216, b = 0.3789802506626686;
    double u = 2 * a - 1, v = 2 * b - 1, s = u * u + v * v;
    double f = sqrt(-2 * log(s) / s);
    ad_rng r = ad_rng_make(42);
    assert_close(ad_rng_normal(&r), u * f, 1e-15);
    assert_close(ad_rng_normal(&r), v * f, 1e-15);
    assert_true(isnan(ad_rng_normal(NULL)));
}

static void test_rng_same_seed_same_stream_other_seed_other_stream(void **state)
{
    (void)state;
    ad_rng a = ad_rng_make(1), b = ad_rng_make(1), c = ad_rng_make(2);
    int same = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = ad_rng_u64(&a);
        assert_true(x == ad_rng_u64(&b));
        same += x == ad_rng_u64(&c);
    }
    assert_int_equal(same, 0);
}

static void test_rng_uniform_lies_in_unit_interval_with_right_moments(void **state)
{
    (void)state;
    enum { N = 200000 };
    ad_rng r = ad_rng_make(3);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        double x = ad_rng_uniform(&r);
        assert_true(x >= 0.0 && x < 1.0);
        s += x;
        s2 += x * x;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    /* 5 standard errors: sd(mean) = sqrt(1/12 / N); sd(var) = sqrt((1/80 - 1/144) / N) */
    assert_true(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / N));
    assert_true(fabs(var - 1.0 / 12) < 5 * sqrt((1.0 / 80 - 1.0 / 144) / N));
}

static void test_rng_below_is_in_range_and_covers_it(void **state)
{
    (void)state;
    ad_rng r = ad_rng_make(9);
    int seen[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t k = ad_rng_below(&r, 7);
        assert_true(k < 7);
        seen[k]++;
    }
    for (int k = 0; k < 7; k++) /* expected 1000 each, sd ~ 29 */
        assert_true(seen[k] > 850 && seen[k] < 1150);
    assert_true(ad_rng_below(&r, 0) == 0);
    assert_true(ad_rng_below(NULL, 5) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_splitmix64_matches_published_outputs_for_seed_0),
        cmocka_unit_test(test_rng_xoshiro_matches_published_outputs_from_state_1234),
        cmocka_unit_test(test_rng_seed_42_gives_the_derived_state_and_uniforms),
        cmocka_unit_test(test_rng_normal_is_the_polar_method_on_the_uniform_stream),
        cmocka_unit_test(test_rng_same_seed_same_stream_other_seed_other_stream),
        cmocka_unit_test(test_rng_uniform_lies_in_unit_interval_with_right_moments),
        cmocka_unit_test(test_rng_below_is_in_range_and_covers_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
