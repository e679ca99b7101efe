/* test_status.c - status names and messages come from the one list and cover every code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>

static void test_status_every_code_has_a_distinct_name_and_message(void **state)
{
    (void)state;
    for (int i = 0; i < AD_STATUS_COUNT; i++) {
        const char *name = ad_status_name((ad_status)i), *msg = ad_status_str((ad_status)i);
        assert_true(strncmp(name, "AD_", 3) == 0);
        assert_string_not_equal(name, "AD_UNKNOWN");
        assert_true(strlen(msg) > 3);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(name, ad_status_name((ad_status)j));
            assert_string_not_equal(msg, ad_status_str((ad_status)j));
        }
    }
}

static void test_status_values_are_pinned(void **state)
{
    (void)state;
    assert_int_equal(AD_OK, 0);
    assert_int_equal(AD_EINVAL, 1);
    assert_int_equal(AD_ESHAPE, 2);
    assert_int_equal(AD_ENOMEM, 3);
    assert_string_equal(ad_status_name(AD_ESHAPE), "AD_ESHAPE");
    assert_string_equal(ad_status_str(AD_ENOMEM), "out of memory");
}

static void test_status_unknown_value_is_named_unknown(void **state)
{
    (void)state;
    assert_string_equal(ad_status_name((ad_status)999), "AD_UNKNOWN");
    assert_string_equal(ad_status_str((ad_status)-1), "unknown status");
    assert_string_equal(ad_status_name(AD_STATUS_COUNT), "AD_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_every_code_has_a_distinct_name_and_message),
        cmocka_unit_test(test_status_values_are_pinned),
        cmocka_unit_test(test_status_unknown_value_is_named_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
