/* test_train.c - the training loop: no allocation in steady state, stopping, progress, CSV, sparkline, errors. */
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

/* loss = mean((x w - 3)^2) over a fixed batch: minimum at w = 3 */
static ad_var quad(ad_tape *t, void *ud, size_t step)
{
    (void)step;
    ad_var x = ad_const(t, AD_MAT(4, 1), (double[]){1, 2, -1, 0.5});
    ad_var y = ad_const(t, AD_MAT(4, 1), (double[]){3, 6, -3, 1.5});
    ad_var d = ad_sub(t, ad_matmul(t, x, ad_use(t, ud)), y);
    return ad_mean(t, ad_mul(t, d, d));
}

static void test_train_allocates_only_the_curve_in_steady_state(void **state)
{
    (void)state;
    counting_alloc c = {0};
    ad_tape_opts to = ad_tape_opts_default();
    to.alloc = counting_allocator(&c);
    ad_tape *t = ad_tape_new(&to);
    ad_param *w;
    assert_int_equal(ad_param_new(AD_MAT(1, 1), NULL, NULL, &w), AD_OK);
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_SGD);
    oo.lr = 0.1;
    ad_optim *o = ad_optim_new(&oo, &w, 1);
    ad_train_opts opts = ad_train_opts_default();
    opts.steps = 1; /* warm-up: the tape grows its node array and arena */
    assert_int_equal(ad_train(t, o, quad, w, &opts, NULL), AD_OK);
    size_t warm = c.allocs;
    opts.steps = 200;
    ad_train_result r;
    assert_int_equal(ad_train(t, o, quad, w, &opts, &r), AD_OK);
    assert_int_equal(c.allocs - warm, 1); /* the loss curve, once; 200 steps allocate nothing */
    assert_int_equal(r.steps, 200);
    assert_close(ad_param_data(w)[0], 3.0, 1e-9);
    assert_true(r.final_loss < 1e-18 && r.first_loss > r.final_loss);
    assert_true(r.best_loss == r.final_loss);
    ad_optim_free(o);
    ad_param_free(w);
    ad_tape_free(t);
    assert_int_equal(c.live_bytes, 0);
}

static void test_train_stops_at_target_and_writes_progress_csv_summary(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_param *w;
    assert_int_equal(ad_param_new(AD_MAT(1, 1), NULL, NULL, &w), AD_OK);
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_SGD);
    oo.lr = 0.1;
    ad_optim *o = ad_optim_new(&oo, &w, 1);
    char *pbuf = NULL, *sbuf = NULL;
    size_t plen = 0, slen = 0;
    FILE *pf = open_memstream(&pbuf, &plen), *sf = open_memstream(&sbuf, &slen);
    char path[] = "/tmp/adcheck_curve_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    ad_train_opts opts = ad_train_opts_default();
    opts.steps = 1000;
    opts.target_loss = 1e-6;
    opts.progress_every = 5;
    opts.progress = pf;
    opts.csv_path = path;
    opts.summary = sf;
    ad_train_result r;
    assert_int_equal(ad_train(t, o, quad, w, &opts, &r), AD_OK);
    fclose(pf);
    fclose(sf);
    /* loss after k steps: 9 c (1 - 0.2 c)^(2k) ... it falls below 1e-6 well before 1000 */
    assert_true(r.reached > 0 && r.reached == r.steps && r.steps < 100);
    assert_true(r.final_loss < 1e-6);
    size_t lines = 0;
    for (char *p = pbuf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, r.steps / 5);
    assert_non_null(strstr(pbuf, "step 5/1000  loss "));
    assert_non_null(strstr(sbuf, "loss "));
    assert_non_null(strstr(sbuf, "\u2588")); /* the sparkline's top block */
    FILE *csv = fdopen(fd, "r");
    char line[128];
    assert_non_null(fgets(line, sizeof line, csv));
    assert_string_equal(line, "step,loss\n");
    size_t rows = 0;
    double first = NAN;
    while (fgets(line, sizeof line, csv)) {
        size_t step;
        double loss;
        assert_int_equal(sscanf(line, "%zu,%lf", &step, &loss), 2);
        assert_int_equal(step, ++rows);
        if (rows == 1)
            first = loss;
    }
    fclose(csv);
    remove(path);
    assert_int_equal(rows, r.steps);
    assert_true(first == r.first_loss);
    /* the first loss by hand: w = 0, mean of y^2 = (9 + 36 + 9 + 2.25) / 4 */
    assert_close(first, 56.25 / 4, 1e-15);
    free(pbuf);
    free(sbuf);
    ad_optim_free(o);
    ad_param_free(w);
    ad_tape_free(t);
}

static ad_var broken(ad_tape *t, void *ud, size_t step)
{
    (void)ud;
    return step < 3 ? ad_mean(t, ad_mul(t, ad_use(t, ud), ad_use(t, ud)))
                    : ad_add(t, ad_scalar(t, 1), ad_input(t, AD_VEC(2), NULL));
}

static void test_train_reports_the_failing_step_and_bad_arguments(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_param *w;
    assert_int_equal(ad_param_new(AD_MAT(1, 1), (double[]){1}, NULL, &w), AD_OK);
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_SGD);
    ad_optim *o = ad_optim_new(&oo, &w, 1);
    ad_train_opts opts = ad_train_opts_default();
    opts.steps = 10;
    ad_train_result r;
    /* step 4 records a non-scalar loss */
    assert_int_equal(ad_train(t, o, broken, w, &opts, &r), AD_ENOTSCALAR);
    assert_int_equal(r.steps, 3);
    assert_non_null(strstr(ad_tape_error(t), "ad_backward"));
    assert_int_equal(ad_train(NULL, o, broken, w, &opts, &r), AD_EINVAL);
    assert_int_equal(ad_train(t, NULL, broken, w, &opts, &r), AD_EINVAL);
    assert_int_equal(ad_train(t, o, NULL, w, &opts, &r), AD_EINVAL);
    opts.steps = 0;
    assert_int_equal(ad_train(t, o, broken, w, &opts, &r), AD_EINVAL);
    opts.steps = 1;
    opts.clip_norm = -1;
    assert_int_equal(ad_train(t, o, broken, w, &opts, &r), AD_EINVAL);
    ad_optim_free(o);
    ad_param_free(w);
    ad_tape_free(t);
}

static void test_sparkline_uses_log_scale_for_positive_curves(void **state)
{
    (void)state;
    char buf[64];
    /* log10 values 0, 1, 2, 3 -> levels 0, 7/3, 14/3, 7 -> rounded 0, 2, 5, 7 */
    assert_int_equal(ad_sparkline((double[]){1, 10, 100, 1000}, 4, 10, buf, sizeof buf), AD_OK);
    assert_string_equal(buf, "\u2581\u2583\u2586\u2588");
    /* a zero forces a linear scale: 0, 9/999*7, 99/999*7, 7 -> 0, 0, 1, 7 */
    assert_int_equal(ad_sparkline((double[]){0, 9, 99, 999}, 4, 10, buf, sizeof buf), AD_OK);
    assert_string_equal(buf, "\u2581\u2581\u2582\u2588");
    /* width 2 averages pairs; a NaN cell draws as '!' */
    assert_int_equal(ad_sparkline((double[]){1, 3, NAN, 5}, 4, 2, buf, sizeof buf), AD_OK);
    assert_string_equal(buf, "\u2581!");
    assert_int_equal(ad_sparkline((double[]){1, 2, 3}, 3, 3, buf, 4), AD_ELIMIT);
    assert_int_equal(ad_sparkline(NULL, 3, 3, buf, sizeof buf), AD_EINVAL);
    assert_int_equal(ad_sparkline((double[]){1}, 1, 0, buf, sizeof buf), AD_EINVAL);
    assert_int_equal(ad_curve_write_csv("/nonexistent-dir/x.csv", (double[]){1}, 1), AD_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_allocates_only_the_curve_in_steady_state),
        cmocka_unit_test(test_train_stops_at_target_and_writes_progress_csv_summary),
        cmocka_unit_test(test_train_reports_the_failing_step_and_bad_arguments),
        cmocka_unit_test(test_sparkline_uses_log_scale_for_positive_curves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
