/* test_shape.c - element counts, overflow, rank limit, formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>

static void test_shape_count_multiplies_dimensions(void **state)
{
    (void)state;
    size_t n = 0;
    ad_shape s = {4, {2, 3, 4, 5}};
    assert_int_equal(ad_shape_count(&s, &n), AD_OK);
    assert_int_equal(n, 120);
    ad_shape sc = AD_SCALAR;
    assert_int_equal(ad_shape_count(&sc, &n), AD_OK);
    assert_int_equal(n, 1);
    ad_shape z = AD_MAT(0, 7);
    assert_int_equal(ad_shape_count(&z, &n), AD_OK);
    assert_int_equal(n, 0);
}

static void test_shape_count_overflow_and_rank_limit_are_errors(void **state)
{
    (void)state;
    size_t n = 42;
    ad_shape big = {2, {SIZE_MAX / 2 + 1, 2}};
    assert_int_equal(ad_shape_count(&big, &n), AD_EOVERFLOW);
    /* the element count fits, its bytes (value and gradient) do not */
    ad_shape bytes = AD_VEC(SIZE_MAX / 8);
    assert_int_equal(ad_shape_count(&bytes, &n), AD_EOVERFLOW);
    ad_shape r5 = {5, {1, 1, 1, 1}};
    assert_int_equal(ad_shape_count(&r5, &n), AD_ELIMIT);
    assert_int_equal(n, 42); /* untouched on failure */
    assert_int_equal(ad_shape_count(NULL, &n), AD_EINVAL);
}

static void test_shape_format_and_equal(void **state)
{
    (void)state;
    char b[64];
    ad_shape s = AD_MAT(2, 3), sc = AD_SCALAR;
    assert_string_equal(ad_shape_format(&s, b, sizeof b), "[2, 3]");
    assert_string_equal(ad_shape_format(&sc, b, sizeof b), "[]");
    char tiny[4];
    assert_string_equal(ad_shape_format(&s, tiny, sizeof tiny), "[2,");
    ad_shape s2 = AD_MAT(2, 3), s3 = AD_MAT(3, 2), v = AD_VEC(2);
    assert_true(ad_shape_equal(&s, &s2));
    assert_false(ad_shape_equal(&s, &s3));
    assert_false(ad_shape_equal(&s, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_count_multiplies_dimensions),
        cmocka_unit_test(test_shape_count_overflow_and_rank_limit_are_errors),
        cmocka_unit_test(test_shape_format_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
