/* test_tape.c - tapes, handles, sticky errors, parameters, the backward sweep, memory reuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/counting_alloc.h"
#include "support/grad_assert.h"

static void test_tape_new_gives_empty_tape_without_error(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    assert_non_null(t);
    assert_int_equal(ad_tape_status(t), AD_OK);
    assert_string_equal(ad_tape_error(t), "");
    assert_int_equal(ad_tape_size(t), 0);
    assert_true(ad_tape_relu_at_zero(t) == 0.0);
    ad_tape_free(t);
}

static void test_tape_new_out_of_memory_returns_tape_in_error(void **state)
{
    (void)state;
    counting_alloc c = {.fail_at = 1};
    ad_tape_opts o = ad_tape_opts_default();
    o.alloc = counting_allocator(&c);
    ad_tape *t = ad_tape_new(&o);
    assert_non_null(t);
    assert_int_equal(ad_tape_status(t), AD_ENOMEM);
    assert_non_null(strstr(ad_tape_error(t), "out of memory"));
    /* every call on it is a harmless no-op */
    ad_var x = ad_scalar(t, 1.0);
    assert_true(ad_var_is_nil(x));
    assert_int_equal(ad_backward(t, x), AD_ENOMEM);
    ad_tape_reset(t);
    assert_int_equal(ad_tape_status(t), AD_ENOMEM);
    ad_tape_free(t);
    assert_int_equal(c.live_bytes, 0);
}

static void test_tape_new_rejects_bad_relu_setting(void **state)
{
    (void)state;
    ad_tape_opts o = ad_tape_opts_default();
    o.relu_at_zero = 2.0;
    ad_tape *t = ad_tape_new(&o);
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_non_null(strstr(ad_tape_error(t), "relu_at_zero"));
    ad_tape_free(t);
}

static void test_tape_null_is_rejected_by_every_entry(void **state)
{
    (void)state;
    assert_int_equal(ad_tape_status(NULL), AD_EINVAL);
    assert_non_null(strstr(ad_tape_error(NULL), "NULL"));
    assert_true(ad_var_is_nil(ad_scalar(NULL, 1.0)));
    assert_int_equal(ad_backward(NULL, AD_NIL), AD_EINVAL);
    assert_int_equal(ad_tape_set_relu_at_zero(NULL, 0.5), AD_EINVAL);
    assert_null(ad_value(NULL, AD_NIL));
    ad_tape_reset(NULL);
    ad_tape_free(NULL);
}

static void test_tape_stale_handle_is_rejected(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 2.0);
    ad_tape_reset(t);
    assert_null(ad_value(t, x));
    ad_var y = ad_exp(t, x);
    assert_true(ad_var_is_nil(y));
    assert_int_equal(ad_tape_status(t), AD_EHANDLE);
    assert_non_null(strstr(ad_tape_error(t), "ad_exp: stale variable 0"));
    ad_tape_free(t);
}

static void test_tape_foreign_handle_is_rejected(void **state)
{
    (void)state;
    ad_tape *t1 = ad_tape_new(NULL), *t2 = ad_tape_new(NULL);
    ad_var x = ad_scalar(t1, 2.0);
    ad_var y = ad_scalar(t2, 3.0);
    ad_var z = ad_add(t2, y, x);
    assert_true(ad_var_is_nil(z));
    assert_int_equal(ad_tape_status(t2), AD_EHANDLE);
    assert_non_null(strstr(ad_tape_error(t2), "ad_add: variable 0 belongs to another tape"));
    assert_int_equal(ad_tape_status(t1), AD_OK);
    ad_tape_free(t1);
    ad_tape_free(t2);
}

static void test_tape_nil_input_is_rejected(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var y = ad_relu(t, AD_NIL);
    assert_true(ad_var_is_nil(y));
    assert_int_equal(ad_tape_status(t), AD_EHANDLE);
    assert_non_null(strstr(ad_tape_error(t), "ad_relu: the nil variable"));
    ad_tape_free(t);
}

static void test_tape_first_error_is_sticky_and_later_calls_record_nothing(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_input(t, AD_VEC(3), NULL);
    ad_var b = ad_input(t, AD_VEC(4), NULL);
    ad_var c = ad_add(t, a, b); /* first error: shapes */
    assert_true(ad_var_is_nil(c));
    size_t n = ad_tape_size(t);
    ad_var d = ad_exp(t, a); /* valid, but the tape is in error */
    assert_true(ad_var_is_nil(d));
    assert_int_equal(ad_tape_size(t), n);
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    assert_string_equal(ad_tape_error(t),
                        "ad_add: node 2: shapes do not broadcast: dimension 0 from the right is 3 and 4 "
                        "(inputs [3] and [4])");
    ad_tape_set_relu_at_zero(t, 7.0); /* a second error does not overwrite the first */
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    assert_int_equal(ad_backward(t, a), AD_ESHAPE);
    ad_tape_reset(t); /* reset clears the error */
    assert_int_equal(ad_tape_status(t), AD_OK);
    assert_false(ad_var_is_nil(ad_scalar(t, 1.0)));
    ad_tape_free(t);
}

static void test_tape_backward_on_non_scalar_is_rejected(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 3), NULL);
    assert_int_equal(ad_backward(t, x), AD_ENOTSCALAR);
    assert_string_equal(ad_tape_error(t), "ad_backward: the loss (node 0) must be a scalar, its shape is [2, 3]");
    ad_tape_free(t);
}

static void test_tape_relu_setting_outside_unit_interval_is_rejected(void **state)
{
    (void)state;
    const double bad[] = {2.0, -0.1, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ad_tape *t = ad_tape_new(NULL);
        assert_int_equal(ad_tape_set_relu_at_zero(t, bad[i]), AD_EINVAL);
        assert_non_null(strstr(ad_tape_error(t), "must be in [0, 1]"));
        assert_true(ad_tape_relu_at_zero(t) == 0.0);
        ad_tape_free(t);
    }
    ad_tape *t = ad_tape_new(NULL);
    assert_int_equal(ad_tape_set_relu_at_zero(t, 1.0), AD_OK);
    assert_true(ad_tape_relu_at_zero(t) == 1.0);
    ad_tape_free(t);
}

static void test_tape_fan_out_accumulates(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 3.0);
    /* f = x*x + (x + x) + exp(x) ; f' = 2x + 2 + e^x */
    ad_var f = ad_add(t, ad_add(t, ad_mul(t, x, x), ad_add(t, x, x)), ad_exp(t, x));
    assert_int_equal(ad_backward(t, f), AD_OK);
    assert_close(ad_grad(t, x)[0], 6.0 + 2.0 + exp(3.0), 1e-15);
    ad_tape_free(t);
}

static void test_tape_value_used_by_many_nodes(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 0.5);
    ad_var s = ad_scalar(t, 0.0);
    /* s = sum_{k=1..10} k*x -> ds/dx = 55 */
    for (int k = 1; k <= 10; k++)
        s = ad_add(t, s, ad_mul(t, ad_const(t, AD_SCALAR, (double[]){k}), x));
    assert_int_equal(ad_backward(t, s), AD_OK);
    assert_close(ad_grad(t, x)[0], 55.0, 0);
    assert_close(ad_value_scalar(t, s), 27.5, 0);
    ad_tape_free(t);
}

static void test_tape_constant_gets_no_gradient(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var c = ad_const(t, AD_SCALAR, (double[]){2.0});
    ad_var x = ad_scalar(t, 5.0);
    ad_var y = ad_mul(t, c, x);
    assert_int_equal(ad_backward(t, y), AD_OK);
    assert_null(ad_grad(t, c));
    assert_close(ad_grad(t, x)[0], 2.0, 0);
    /* a loss made of constants only: backward succeeds and does nothing */
    ad_var k = ad_exp(t, c);
    assert_int_equal(ad_backward(t, k), AD_OK);
    ad_tape_free(t);
}

static void test_param_gradients_accumulate_until_zero_grad(void **state)
{
    (void)state;
    ad_param *w;
    assert_int_equal(ad_param_new(AD_VEC(2), (double[]){1.0, -2.0}, NULL, &w), AD_OK);
    ad_tape *t = ad_tape_new(NULL);
    for (int step = 0; step < 2; step++) {
        ad_tape_reset(t);
        ad_var x = ad_const(t, AD_VEC(2), (double[]){3.0, 4.0});
        ad_var loss = ad_sum(t, ad_mul(t, ad_use(t, w), x)); /* d/dw = x */
        assert_int_equal(ad_backward(t, loss), AD_OK);
    }
    assert_close(ad_param_grad(w)[0], 6.0, 0);
    assert_close(ad_param_grad(w)[1], 8.0, 0);
    ad_param_zero_grad(w);
    assert_true(ad_param_grad(w)[0] == 0.0 && ad_param_grad(w)[1] == 0.0);
    /* two backward calls on one recording also accumulate into the parameter */
    ad_var x = ad_const(t, AD_VEC(2), (double[]){3.0, 4.0});
    ad_var wv = ad_use(t, w);
    ad_var loss = ad_sum(t, ad_mul(t, wv, x));
    assert_int_equal(ad_backward(t, loss), AD_OK);
    assert_int_equal(ad_backward(t, loss), AD_OK);
    assert_close(ad_param_grad(w)[1], 8.0, 0); /* 4 + 4 */
    assert_close(ad_grad(t, wv)[1], 4.0, 0); /* the node's own gradient is per backward */
    ad_tape_free(t);
    ad_param_free(w);
}

static void test_param_new_rejects_bad_arguments(void **state)
{
    (void)state;
    ad_param *p = (ad_param *)1;
    assert_int_equal(ad_param_new(AD_SCALAR, NULL, NULL, NULL), AD_EINVAL);
    ad_shape big = {5, {1, 1, 1, 1}};
    assert_int_equal(ad_param_new(big, NULL, NULL, &p), AD_ELIMIT);
    assert_null(p);
    ad_shape huge = {2, {SIZE_MAX / 2, 3}};
    assert_int_equal(ad_param_new(huge, NULL, NULL, &p), AD_EOVERFLOW);
    counting_alloc c = {.fail_at = 2};
    ad_allocator a = counting_allocator(&c);
    assert_int_equal(ad_param_new(AD_VEC(3), NULL, &a, &p), AD_ENOMEM);
    assert_int_equal(c.live_bytes, 0);
    ad_tape *t = ad_tape_new(NULL);
    assert_true(ad_var_is_nil(ad_use(t, NULL)));
    assert_non_null(strstr(ad_tape_error(t), "ad_use: the parameter is NULL"));
    ad_tape_free(t);
}

static void test_param_freed_while_bound_lives_until_the_tape_lets_go(void **state)
{
    (void)state;
    counting_alloc c = {0};
    ad_allocator a = counting_allocator(&c);
    ad_param *w;
    assert_int_equal(ad_param_new(AD_VEC(2), (double[]){1.0, 2.0}, &a, &w), AD_OK);
    size_t held = c.live_bytes;
    ad_tape *t = ad_tape_new(NULL);
    ad_var wv = ad_use(t, w);
    ad_var loss = ad_sum(t, ad_mul(t, wv, wv)); /* d/dw = 2w */
    ad_param_free(w);                          /* still bound: kept alive */
    assert_int_equal(c.live_bytes, held);
    assert_int_equal(ad_backward(t, loss), AD_OK);
    assert_close(ad_grad(t, wv)[1], 4.0, 0);
    ad_tape_reset(t);                          /* the last reference goes */
    assert_int_equal(c.live_bytes, 0);
    ad_tape_free(t);

    /* freeing the tape releases its bindings too */
    assert_int_equal(ad_param_new(AD_VEC(2), NULL, &a, &w), AD_OK);
    t = ad_tape_new(NULL);
    ad_use(t, w);
    ad_use(t, w);
    ad_param_free(w);
    assert_true(c.live_bytes > 0);
    ad_tape_free(t);
    assert_int_equal(c.live_bytes, 0);
}

static void test_tape_input_shape_overflow_is_rejected(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_shape huge = {3, {SIZE_MAX / 4, 4, 2}};
    assert_true(ad_var_is_nil(ad_input(t, huge, NULL)));
    assert_int_equal(ad_tape_status(t), AD_EOVERFLOW);
    assert_non_null(strstr(ad_tape_error(t), "ad_input: node 0: shape"));
    ad_tape_reset(t);
    ad_shape rank5 = {5, {1, 1, 1, 1}};
    assert_true(ad_var_is_nil(ad_input(t, rank5, NULL)));
    assert_int_equal(ad_tape_status(t), AD_ELIMIT);
    ad_tape_free(t);
}

static void test_tape_zero_size_tensor_is_allowed(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(0, 3), NULL);
    ad_var s = ad_sum(t, ad_exp(t, x));
    assert_int_equal(ad_backward(t, s), AD_OK);
    assert_true(ad_value_scalar(t, s) == 0.0);
    ad_var m = ad_mean(t, x); /* the mean of nothing is an error, not a NaN */
    assert_true(ad_var_is_nil(m));
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    assert_non_null(strstr(ad_tape_error(t), "empty"));
    ad_tape_free(t);
}

/* The same program each step: after the first step, no allocation at all. */
static void record_step(ad_tape *t, ad_param *w)
{
    ad_var x = ad_const(t, AD_MAT(4, 3), NULL);
    ad_var h = ad_tanh(t, ad_matmul(t, x, ad_use(t, w)));
    ad_var loss = ad_mean(t, ad_mul(t, h, h));
    assert_int_equal(ad_backward(t, loss), AD_OK);
}

static void test_tape_reset_reuses_memory_without_allocation(void **state)
{
    (void)state;
    counting_alloc c = {0};
    ad_tape_opts o = ad_tape_opts_default();
    o.alloc = counting_allocator(&c);
    o.chunk_bytes = 4096;
    ad_tape *t = ad_tape_new(&o);
    ad_param *w;
    assert_int_equal(ad_param_new(AD_MAT(3, 5), NULL, NULL, &w), AD_OK);
    record_step(t, w);
    size_t allocs = c.allocs, bytes = c.live_bytes;
    assert_true(allocs > 0);
    for (int step = 0; step < 100; step++) {
        ad_tape_reset(t);
        record_step(t, w);
    }
    assert_int_equal(c.allocs, allocs);
    assert_int_equal(c.live_bytes, bytes);
    ad_tape_free(t);
    ad_param_free(w);
    assert_int_equal(c.live_bytes, 0);
}

static void test_tape_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    /* fail the 1st, 2nd, ... growth request until the program completes */
    for (size_t k = 1; k < 200; k++) {
        counting_alloc c = {.fail_at = k};
        ad_tape_opts o = ad_tape_opts_default();
        o.alloc = counting_allocator(&c);
        o.chunk_bytes = 1024;
        ad_tape *t = ad_tape_new(&o);
        ad_var x = ad_input(t, AD_VEC(300), NULL);
        ad_var y = ad_sum(t, ad_tanh(t, ad_mul(t, x, x)));
        ad_status st = ad_backward(t, y);
        int reached = c.allocs >= k;
        ad_tape_free(t);
        assert_int_equal(c.live_bytes, 0);
        if (!reached) {
            assert_int_equal(st, AD_OK);
            assert_true(k > 3); /* the scenario really did allocate several times */
            return;
        }
        assert_int_equal(st, AD_ENOMEM);
    }
    fail_msg("the scenario never completed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tape_new_gives_empty_tape_without_error),
        cmocka_unit_test(test_tape_new_out_of_memory_returns_tape_in_error),
        cmocka_unit_test(test_tape_new_rejects_bad_relu_setting),
        cmocka_unit_test(test_tape_null_is_rejected_by_every_entry),
        cmocka_unit_test(test_tape_stale_handle_is_rejected),
        cmocka_unit_test(test_tape_foreign_handle_is_rejected),
        cmocka_unit_test(test_tape_nil_input_is_rejected),
        cmocka_unit_test(test_tape_first_error_is_sticky_and_later_calls_record_nothing),
        cmocka_unit_test(test_tape_backward_on_non_scalar_is_rejected),
        cmocka_unit_test(test_tape_relu_setting_outside_unit_interval_is_rejected),
        cmocka_unit_test(test_tape_fan_out_accumulates),
        cmocka_unit_test(test_tape_value_used_by_many_nodes),
        cmocka_unit_test(test_tape_constant_gets_no_gradient),
        cmocka_unit_test(test_param_gradients_accumulate_until_zero_grad),
        cmocka_unit_test(test_param_new_rejects_bad_arguments),
        cmocka_unit_test(test_param_freed_while_bound_lives_until_the_tape_lets_go),
        cmocka_unit_test(test_tape_input_shape_overflow_is_rejected),
        cmocka_unit_test(test_tape_zero_size_tensor_is_allowed),
        cmocka_unit_test(test_tape_reset_reuses_memory_without_allocation),
        cmocka_unit_test(test_tape_every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
