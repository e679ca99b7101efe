/* test_health.c - the gradient-health report on constructed gradients and activations; text and JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/counting_alloc.h"
#include "support/grad_assert.h"

static ad_param *with_grad(size_t n, const double *g)
{
    ad_param *p = NULL;
    assert_int_equal(ad_param_new(AD_VEC(n), NULL, NULL, &p), AD_OK);
    memcpy(ad_param_grad(p), g, n * sizeof *g);
    return p;
}

static void test_health_norms_ratios_and_flags_on_constructed_gradients(void **state)
{
    (void)state;
    ad_param *ps[4] = {with_grad(2, (double[]){3, -4}),      /* norm 5          */
                       with_grad(1, (double[]){2000}),       /* norm 2000: explodes */
                       with_grad(2, (double[]){0, 0}),       /* 0: vanishes      */
                       with_grad(1, (double[]){0.5})};
    const char *names[4] = {"W1", "W2", "W3", "W4"};
    ad_health_report r;
    assert_int_equal(ad_health_check(NULL, ps, names, 4, NULL, &r), AD_OK);
    assert_int_equal(r.n_params, 4);
    assert_string_equal(r.params[0].name, "W1");
    assert_close(r.params[0].norm, 5.0, 1e-15);
    assert_close(r.params[0].max_abs, 4.0, 1e-15);
    assert_true(isnan(r.params[0].ratio));
    assert_close(r.params[1].ratio, 400.0, 1e-15); /* 2000 / 5 */
    assert_true(r.params[1].flags == AD_HEALTH_EXPLODING);
    assert_true(r.params[2].flags == AD_HEALTH_VANISHING);
    assert_true(isnan(r.params[3].ratio)); /* after a zero norm */
    assert_true(r.params[0].flags == 0 && r.params[3].flags == 0);
    assert_close(r.growth, 10.0, 1e-15); /* 5 / 0.5 */
    assert_true(r.exploding && r.vanishing && !r.nonfinite && !r.dead);
    assert_int_equal(r.n_units, 0);
    ad_health_report_free(&r);
    for (int i = 0; i < 4; i++)
        ad_param_free(ps[i]);
}

static void test_health_growth_across_layers_flags_without_any_big_norm(void **state)
{
    (void)state;
    /* first layer 10, last 1e-3: every norm is moderate, the span is 1e4 */
    ad_param *ps[3] = {with_grad(1, (double[]){10}), with_grad(1, (double[]){0.1}),
                       with_grad(1, (double[]){1e-3})};
    ad_health_report r;
    const char *names[3] = {"first", NULL, "a-name-longer-than-thirty-one-bytes"};
    assert_int_equal(ad_health_check(NULL, ps, names, 3, NULL, &r), AD_OK);
    assert_string_equal(r.params[0].name, "first");
    assert_string_equal(r.params[1].name, "param1");
    assert_string_equal(r.params[2].name, "a-name-longer-than-thirty-one-b");
    ad_health_report_free(&r);
    assert_int_equal(ad_health_check(NULL, ps, NULL, 3, NULL, &r), AD_OK);
    assert_string_equal(r.params[2].name, "param2");
    assert_close(r.growth, 1e4, 1e-12);
    assert_true(r.exploding && !r.vanishing);
    for (int i = 0; i < 3; i++)
        assert_true(r.params[i].flags == 0);
    ad_health_report_free(&r);
    ad_health_opts o = ad_health_opts_default();
    o.growth_limit = 1e5;
    assert_int_equal(ad_health_check(NULL, ps, NULL, 3, &o, &r), AD_OK);
    assert_false(r.exploding);
    ad_health_report_free(&r);
    for (int i = 0; i < 3; i++)
        ad_param_free(ps[i]);
}

static void test_health_nonfinite_gradient_is_flagged(void **state)
{
    (void)state;
    ad_param *p = with_grad(3, (double[]){1, NAN, 2});
    ad_health_report r;
    assert_int_equal(ad_health_check(NULL, &p, NULL, 1, NULL, &r), AD_OK);
    assert_true(r.params[0].flags == (AD_HEALTH_NONFINITE | AD_HEALTH_EXPLODING));
    assert_true(r.nonfinite && r.exploding);
    ad_health_report_free(&r);
    ad_param_free(p);
}

static void test_health_counts_dead_relu_units_over_the_batch(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    /* batch of 3 rows, 4 units: unit 0 always <= 0 (dead), unit 1 alive in row 2,
     * unit 2 exactly 0 everywhere (dead), unit 3 alive */
    ad_var z = ad_input(t, AD_MAT(3, 4), (double[]){-1, -1, 0, 2, -5, -2, 0, 1, -0.5, 3, 0, -1});
    ad_var h = ad_var_label(t, ad_relu(t, z), "h1");
    ad_relu(t, ad_input(t, AD_VEC(2), (double[]){1, -1})); /* rank 1: each element a unit */
    ad_health_report r;
    assert_int_equal(ad_health_check(t, NULL, NULL, 0, NULL, &r), AD_OK);
    assert_int_equal(r.n_units, 2);
    assert_int_equal(r.units[0].node, 1);
    assert_string_equal(r.units[0].label, "h1");
    assert_int_equal(r.units[0].units, 4);
    assert_int_equal(r.units[0].dead, 2);
    assert_close(r.units[0].dead_fraction, 0.5, 1e-15);
    assert_false(r.units[0].flagged); /* 0.5 is not above the default limit 0.5 */
    assert_int_equal(r.units[1].units, 2);
    assert_int_equal(r.units[1].dead, 1);
    ad_health_report_free(&r);

    /* an explicit list of activations; a lower limit flags */
    ad_health_opts o = ad_health_opts_default();
    o.units = &h;
    o.n_units = 1;
    o.dead_limit = 0.25;
    assert_int_equal(ad_health_check(t, NULL, NULL, 0, &o, &r), AD_OK);
    assert_int_equal(r.n_units, 1);
    assert_true(r.units[0].flagged && r.dead);
    ad_health_report_free(&r);
    ad_tape_reset(t);
    assert_int_equal(ad_health_check(t, NULL, NULL, 0, &o, &r), AD_EHANDLE); /* stale */
    ad_tape_free(t);
}

static char *print(ad_status (*fn)(const ad_health_report *, FILE *), const ad_health_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(fn(r, f), AD_OK);
    fclose(f);
    return buf;
}

static void test_health_prints_text_and_json(void **state)
{
    (void)state;
    ad_param *ps[2] = {with_grad(2, (double[]){3, 4}), with_grad(1, (double[]){INFINITY})};
    const char *names[2] = {"W\"1", "W2"};
    ad_tape *t = ad_tape_new(NULL);
    ad_var_label(t, ad_relu(t, ad_input(t, AD_MAT(1, 2), (double[]){-1, 1})), "h1");
    ad_health_report r;
    assert_int_equal(ad_health_check(t, ps, names, 2, NULL, &r), AD_OK);
    char *json = print(ad_health_print_json, &r);
    assert_non_null(strstr(json, "{\"params\": [{\"name\": \"W\\\"1\", \"count\": 2, \"norm\": 5, "
                                 "\"max_abs\": 4, \"ratio\": \"nan\", \"exploding\": false, "
                                 "\"vanishing\": false, \"nonfinite\": false}, "));
    assert_non_null(strstr(json, "\"norm\": \"inf\""));
    assert_non_null(strstr(json, "\"units\": [{\"node\": 1, \"label\": \"h1\", \"units\": 2, "
                                 "\"dead\": 1, \"dead_fraction\": 0.5, \"flagged\": false}]"));
    assert_non_null(strstr(json, "\"growth\": \"nan\", \"exploding\": true, \"vanishing\": false, "
                                 "\"nonfinite\": true, \"dead\": false}"));
    free(json);
    char *text = print(ad_health_print_text, &r);
    assert_non_null(strstr(text, "EXPLODING NONFINITE"));
    assert_non_null(strstr(text, "h1"));
    assert_non_null(strstr(text, "50.0%"));
    assert_non_null(strstr(text, "exploding non-finite"));
    free(text);
    ad_health_report_free(&r);
    assert_int_equal(ad_health_print_json(NULL, stdout), AD_EINVAL);
    assert_int_equal(ad_health_print_text(&r, NULL), AD_EINVAL);
    ad_tape_free(t);
    ad_param_free(ps[0]);
    ad_param_free(ps[1]);
}

static void test_health_rejects_bad_inputs_and_survives_oom(void **state)
{
    (void)state;
    ad_param *p = with_grad(1, (double[]){1});
    ad_param *null_list[1] = {NULL};
    ad_health_report r;
    assert_int_equal(ad_health_check(NULL, &p, NULL, 1, NULL, NULL), AD_EINVAL);
    assert_int_equal(ad_health_check(NULL, NULL, NULL, 1, NULL, &r), AD_EINVAL);
    assert_int_equal(ad_health_check(NULL, null_list, NULL, 1, NULL, &r), AD_EINVAL);
    ad_health_opts o = ad_health_opts_default();
    o.explode_norm = NAN;
    assert_int_equal(ad_health_check(NULL, &p, NULL, 1, &o, &r), AD_EINVAL);
    o = ad_health_opts_default();
    o.dead_limit = 1.5;
    assert_int_equal(ad_health_check(NULL, &p, NULL, 1, &o, &r), AD_EINVAL);
    o = ad_health_opts_default();
    o.n_units = 2;
    assert_int_equal(ad_health_check(NULL, &p, NULL, 1, &o, &r), AD_EINVAL);
    ad_health_report_free(&r); /* an empty report is safe to free */
    counting_alloc c = {.fail_at = 1};
    o = ad_health_opts_default();
    o.alloc = counting_allocator(&c);
    assert_int_equal(ad_health_check(NULL, &p, NULL, 1, &o, &r), AD_ENOMEM);
    ad_health_report_free(&r);
    assert_int_equal(c.live_bytes, 0);
    ad_param_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_norms_ratios_and_flags_on_constructed_gradients),
        cmocka_unit_test(test_health_growth_across_layers_flags_without_any_big_norm),
        cmocka_unit_test(test_health_nonfinite_gradient_is_flagged),
        cmocka_unit_test(test_health_counts_dead_relu_units_over_the_batch),
        cmocka_unit_test(test_health_prints_text_and_json),
        cmocka_unit_test(test_health_rejects_bad_inputs_and_survives_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
