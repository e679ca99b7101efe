/* test_anomaly.c - anomaly mode names the op, node, label, element and inputs of the first NaN or inf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/grad_assert.h"

static ad_tape *anomaly_tape(void)
{
    ad_tape *t = ad_tape_new(NULL);
    assert_int_equal(ad_tape_set_anomaly(t, true), AD_OK);
    assert_true(ad_tape_anomaly(t));
    return t;
}

static void test_anomaly_forward_log_of_zero_names_op_node_label_element_input(void **state)
{
    (void)state;
    ad_tape *t = anomaly_tape();
    ad_var x = ad_input(t, AD_VEC(3), (double[]){1.0, 2.0, 0.0});
    ad_var y = ad_log(t, x);
    assert_true(ad_var_is_nil(y));
    assert_int_equal(ad_tape_status(t), AD_EDOMAIN);
    assert_string_equal(ad_tape_error(t),
                        "ad_log: anomaly: node 1 forward gave -inf at element 2 of [3]; "
                        "inputs there: x0[2] = 0");
    assert_int_equal(ad_tape_size(t), 1); /* the bad node is not kept */
    ad_tape_free(t);
}

static void test_anomaly_catches_nan_and_positive_inf_too(void **state)
{
    (void)state;
    ad_tape *t = anomaly_tape();
    ad_sqrt(t, ad_scalar(t, -1.0));
    assert_int_equal(ad_tape_status(t), AD_EDOMAIN);
    assert_non_null(strstr(ad_tape_error(t), "ad_sqrt: anomaly: node 1 forward gave "));
    assert_non_null(strstr(ad_tape_error(t), "nan at element 0"));
    assert_non_null(strstr(ad_tape_error(t), "x0[0] = -1"));
    ad_tape_reset(t); /* the setting survives reset; the error does not */
    assert_int_equal(ad_tape_status(t), AD_OK);
    ad_exp(t, ad_scalar(t, 1000.0));
    assert_int_equal(ad_tape_status(t), AD_EDOMAIN);
    assert_non_null(strstr(ad_tape_error(t), "ad_exp: anomaly: node 1 forward gave inf"));
    ad_tape_free(t);
}

static void test_anomaly_uses_the_label_and_broadcast_input_index(void **state)
{
    (void)state;
    ad_tape *t = anomaly_tape();
    ad_var a = ad_input(t, AD_MAT(2, 2), (double[]){1, 2, 3, 1e300});
    ad_var s = ad_var_label(t, ad_input(t, AD_VEC(2), (double[]){1, 1e10}), "scale");
    assert_string_equal(ad_var_get_label(t, s), "scale");
    ad_var y = ad_var_label(t, ad_mul(t, a, s), "never"); /* fails before labeling */
    assert_true(ad_var_is_nil(y));
    /* element 3 is row 1, column 1: a[3] times s[1] */
    assert_string_equal(ad_tape_error(t),
                        "ad_mul: anomaly: node 2 forward gave inf at element 3 of [2, 2]; "
                        "inputs there: x0[3] = 1.0000000000000001e+300, x1[1] ('scale') = 10000000000");
    ad_tape_free(t);

    /* a column [2, 1] broadcast over [2, 2]: element 3 (row 1, column 1) reads c[1] */
    t = anomaly_tape();
    a = ad_input(t, AD_MAT(2, 2), (double[]){1, 2, 3, 1e300});
    ad_mul(t, a, ad_input(t, AD_MAT(2, 1), (double[]){1, 1e10}));
    assert_non_null(strstr(ad_tape_error(t), "at element 3 of [2, 2]; inputs there: "
                                             "x0[3] = 1.0000000000000001e+300, x1[1] = 10000000000"));
    ad_tape_free(t);

    t = anomaly_tape();
    ad_var z = ad_var_label(t, ad_input(t, AD_VEC(1), (double[]){-2.0}), "z");
    ad_var l = ad_var_label(t, ad_neg(t, z), "negz");
    ad_log(t, ad_sub(t, ad_log(t, ad_exp(t, l)), ad_scalar(t, 2.0))); /* log(0) */
    assert_non_null(strstr(ad_tape_error(t), "ad_log: anomaly: node 6 forward gave -inf"));
    ad_tape_reset(t);
    ad_log(t, ad_var_label(t, ad_scalar(t, 0.0), "p"));
    assert_non_null(strstr(ad_tape_error(t), "inputs there: x0[0] ('p') = 0"));
    ad_tape_free(t);
}

static void test_anomaly_non_elementwise_op_summarizes_inputs(void **state)
{
    (void)state;
    ad_tape *t = anomaly_tape();
    ad_var a = ad_input(t, AD_MAT(1, 2), (double[]){1e200, 1e200});
    ad_var b = ad_input(t, AD_MAT(2, 1), (double[]){1e200, 3});
    ad_var_label(t, b, "b");
    ad_var_label(t, ad_matmul(t, a, b), "big");
    assert_string_equal(ad_tape_error(t),
                        "ad_matmul: anomaly: node 2 forward gave inf at element 0 of [1, 1]; "
                        "inputs there: x0 [1, 2] max |x| = 9.9999999999999997e+199 at 0, "
                        "x1 ('b') [2, 1] max |x| = 9.9999999999999997e+199 at 0");
    ad_tape_free(t);
}

static void test_anomaly_backward_names_the_node_whose_gradient_is_infinite(void **state)
{
    (void)state;
    /* sqrt(0) = 0 is finite; its derivative 1/(2 sqrt 0) is +inf */
    ad_param *w;
    assert_int_equal(ad_param_new(AD_VEC(2), (double[]){4.0, 0.0}, NULL, &w), AD_OK);
    ad_tape *t = ad_tape_new(NULL);
    ad_var root = ad_var_label(t, ad_sqrt(t, ad_use(t, w)), "root");
    ad_var loss = ad_sum(t, root);
    assert_int_equal(ad_backward(t, loss), AD_OK); /* anomaly off: inf passes silently */
    assert_true(isinf(ad_param_grad(w)[1]));
    ad_param_zero_grad(w);

    ad_tape_reset(t);
    ad_tape_set_anomaly(t, true);
    root = ad_var_label(t, ad_sqrt(t, ad_use(t, w)), "root");
    loss = ad_sum(t, root);
    assert_int_equal(ad_backward(t, loss), AD_EDOMAIN);
    assert_string_equal(ad_tape_error(t),
                        "ad_sqrt: anomaly: node 1 ('root') backward gave gradient inf for input 0 "
                        "(node 0) at element 1; output gradient there 1; inputs there: x0[1] = 0");
    assert_true(ad_param_grad(w)[0] == 0.0 && ad_param_grad(w)[1] == 0.0); /* nothing applied */
    ad_tape_free(t);
    ad_param_free(w);
}

static void test_anomaly_finite_program_is_unaffected(void **state)
{
    (void)state;
    ad_tape *t = anomaly_tape();
    ad_var x = ad_input(t, AD_VEC(2), (double[]){0.5, 2.0});
    ad_var f = ad_sum(t, ad_mul(t, ad_log(t, x), x));
    assert_int_equal(ad_backward(t, f), AD_OK);
    const double *g = ad_grad(t, x);
    assert_close(g[0], log(0.5) + 1, 1e-15); /* d/dx x ln x = ln x + 1 */
    assert_close(g[1], log(2.0) + 1, 1e-15);
    ad_tape_free(t);
}

static void test_label_bad_inputs_and_truncation(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 1.0);
    char longname[100];
    memset(longname, 'a', 99);
    longname[99] = '\0';
    ad_var_label(t, x, longname);
    assert_int_equal(strlen(ad_var_get_label(t, x)), 63);
    assert_string_equal(ad_var_get_label(t, AD_NIL), "");
    assert_true(ad_var_is_nil(ad_var_label(t, x, NULL)));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_var_label: the name is NULL");
    ad_tape_reset(t);
    ad_var_label(t, x, "stale");
    assert_int_equal(ad_tape_status(t), AD_EHANDLE);
    assert_non_null(strstr(ad_tape_error(t), "ad_var_label: stale variable"));
    assert_int_equal(ad_tape_set_anomaly(NULL, true), AD_EINVAL);
    assert_false(ad_tape_anomaly(NULL));
    ad_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anomaly_forward_log_of_zero_names_op_node_label_element_input),
        cmocka_unit_test(test_anomaly_catches_nan_and_positive_inf_too),
        cmocka_unit_test(test_anomaly_uses_the_label_and_broadcast_input_index),
        cmocka_unit_test(test_anomaly_non_elementwise_op_summarizes_inputs),
        cmocka_unit_test(test_anomaly_backward_names_the_node_whose_gradient_is_infinite),
        cmocka_unit_test(test_anomaly_finite_program_is_unaffected),
        cmocka_unit_test(test_label_bad_inputs_and_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
