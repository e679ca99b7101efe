/* test_soak.c - suite `slow`: 10^6 training steps on one reused tape; after the
 * first step the allocator statistics (requests, live bytes) never change. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/counting_alloc.h"

#ifndef SOAK_STEPS
#define SOAK_STEPS 1000000
#endif

/* One small step: y = tanh(x W + b), mse against a target; SGD with momentum. */
static ad_var step_program(ad_tape *t, ad_param *w, ad_param *b, size_t step)
{
    double xv[4] = {1, -0.5, (double)(step % 7) / 7, 0.25};
    ad_var x = ad_input(t, AD_MAT(2, 2), xv);
    ad_var y = ad_tanh(t, ad_add(t, ad_matmul(t, x, ad_use(t, w)), ad_use(t, b)));
    return ad_mse(t, y, ad_const(t, AD_MAT(2, 1), (double[]){0.5, -0.25}));
}

static void test_soak_a_million_steps_hold_memory_constant(void **state)
{
    (void)state;
    counting_alloc c = {0};
    ad_allocator a = counting_allocator(&c);
    ad_tape_opts to = ad_tape_opts_default();
    to.alloc = a;
    ad_tape *t = ad_tape_new(&to);
    ad_param *w, *b;
    assert_int_equal(ad_param_new(AD_MAT(2, 1), (double[]){0.1, -0.2}, &a, &w), AD_OK);
    assert_int_equal(ad_param_new(AD_VEC(1), NULL, &a, &b), AD_OK);
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_SGD);
    oo.lr = 0.05;
    oo.momentum = 0.9;
    oo.alloc = a;
    ad_optim *o = ad_optim_new(&oo, (ad_param *[]){w, b}, 2);
    assert_int_equal(ad_optim_status(o), AD_OK);
    size_t allocs = 0, frees = 0, live = 0;
    double first = 0, last = 0;
    for (size_t step = 0; step < SOAK_STEPS; step++) {
        ad_tape_reset(t);
        ad_optim_zero_grad(o);
        ad_var l = step_program(t, w, b, step);
        if (ad_backward(t, l) != AD_OK)
            fail_msg("step %zu: %s", step, ad_tape_error(t));
        assert_int_equal(ad_optim_step(o), AD_OK);
        last = ad_value_scalar(t, l);
        if (step == 0) {
            first = last;
            allocs = c.allocs, frees = c.frees, live = c.live_bytes;
        } else if (c.allocs != allocs || c.frees != frees || c.live_bytes != live) {
            fail_msg("step %zu: %zu requests, %zu frees, %zu live bytes; after step 1: %zu, %zu, %zu",
                     step, c.allocs, c.frees, c.live_bytes, allocs, frees, live);
        }
    }
    print_message("%d steps: %zu allocation requests and %zu live bytes throughout after step 1; "
                  "loss %.3g -> %.3g\n", SOAK_STEPS, allocs, live, first, last);
    assert_true(last < first);
    ad_optim_free(o);
    ad_param_free(w);
    ad_param_free(b);
    ad_tape_free(t);
    assert_int_equal(c.live_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soak_a_million_steps_hold_memory_constant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
