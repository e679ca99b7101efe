/* test_json.c - the command's JSON writer: commas, escapes, shortest numbers, non-finite numbers as strings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "json.h"

static void test_json_numbers_are_shortest_and_round_trip(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(fmt_num(b, 0.1), "0.1");
    assert_string_equal(fmt_num(b, 10.0), "10");
    assert_string_equal(fmt_num(b, -2.5), "-2.5");
    assert_string_equal(fmt_num(b, 1e300), "1e+300");
    assert_string_equal(fmt_num(b, NAN), "nan");
    assert_string_equal(fmt_num(b, INFINITY), "inf");
    assert_string_equal(fmt_num(b, -INFINITY), "-inf");
    /* 1/3 needs all 17 digits to come back */
    assert_true(strtod(fmt_num(b, 1.0 / 3.0), NULL) == 1.0 / 3.0);
    assert_true(strtod(fmt_num(b, 0x1p-1074), NULL) == 0x1p-1074);
}

static void test_json_writer_places_commas_and_escapes(void **state)
{
    (void)state;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    json j;
    json_init(&j, f);
    json_obj_begin(&j);
    json_knum(&j, "a", 1.5);
    json_key(&j, "b");
    json_arr_begin(&j);
    json_num(&j, NAN);
    json_num(&j, -INFINITY);
    json_arr_begin(&j);
    json_arr_end(&j);
    json_null(&j);
    json_arr_end(&j);
    json_kstr(&j, "s", "q\"b\\n\nt\t\x01");
    json_kbool(&j, "ok", true);
    json_kuint(&j, "n", 18446744073709551615ull);
    json_obj_end(&j);
    fclose(f);
    assert_string_equal(out, "{\"a\":1.5,\"b\":[\"nan\",\"-inf\",[],null],"
                             "\"s\":\"q\\\"b\\\\n\\nt\\u0009\\u0001\",\"ok\":true,"
                             "\"n\":18446744073709551615}\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_numbers_are_shortest_and_round_trip),
        cmocka_unit_test(test_json_writer_places_commas_and_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
