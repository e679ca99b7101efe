/* test_threads.c - separate tapes in separate threads: each thread records,
 * differentiates and checks (FD + MPFR) its own program many times and must
 * get exactly the results of a single-threaded run. Run under ThreadSanitizer
 * by .ci/test when clang builds it.
 *
 * What is not thread-safe: ad_op_register / ad_op_unregister_all (the custom-op
 * registry is a plain array: register before starting threads), so also the
 * command's expr_ops_register; one tape, parameter or optimizer used from two
 * threads at once (ad_use on a shared parameter writes its binding count).
 * A thread that ran MPFR checks should call mpfr_free_cache() before it ends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include <mpfr.h>
#include <ad/ad.h>

#define THREADS 4
#define ROUNDS 40

typedef struct job {
    unsigned seed;
    double value, grad[3];
    bool pass;
    ad_status st;
    char err[256];
} job;

/* A program with a kink, a reduction and a matmul, at inputs from seed. */
static void run_job(job *j)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_rng rng = ad_rng_make(j->seed);
    for (int round = 0; round < ROUNDS; round++) {
        ad_tape_reset(t);
        double xv[3];
        for (int i = 0; i < 3; i++)
            xv[i] = (double)(ad_rng_u64(&rng) % 2001) / 1000.0 - 1.0;
        ad_var x = ad_input(t, AD_MAT(1, 3), xv);
        ad_var m = ad_const(t, AD_MAT(3, 2), (double[]){1, 2, -1, 0.5, 0.25, 3});
        ad_var f = ad_add(t, ad_sum(t, ad_relu(t, ad_tanh(t, ad_matmul(t, x, m)))),
                          ad_logsumexp(t, ad_sum_axis(t, x, 0)));
        j->st = ad_backward(t, f);
        if (j->st != AD_OK)
            break;
        j->value = ad_value_scalar(t, f);
        memcpy(j->grad, ad_grad(t, x), sizeof j->grad);
        ad_check_report r;
        ad_check_opts o = ad_check_opts_default();
        o.prec = 128;
        j->st = ad_check_grad(t, f, &o, &r);
        if (j->st != AD_OK)
            break;
        j->pass = r.pass;
        ad_check_report_free(&r);
        if (!j->pass)
            break;
    }
    snprintf(j->err, sizeof j->err, "%s", ad_tape_error(t));
    ad_tape_free(t);
}

/* MPFR keeps per-thread caches (constants such as log 2): a thread that ran
 * checks frees them before it ends, or LeakSanitizer reports them. */
static void *thread_main(void *arg)
{
    run_job(arg);
    mpfr_free_cache();
    return NULL;
}

static void test_threads_separate_tapes_agree_with_a_serial_run(void **state)
{
    (void)state;
    job serial[THREADS], par[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        serial[i] = (job){.seed = 100 + i};
        run_job(&serial[i]);
        if (serial[i].st != AD_OK || !serial[i].pass)
            fail_msg("serial job %u: %s", i, serial[i].err);
    }
    pthread_t th[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        par[i] = (job){.seed = 100 + i};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &par[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (unsigned i = 0; i < THREADS; i++) {
        if (par[i].st != AD_OK || !par[i].pass)
            fail_msg("thread %u: %s", i, par[i].err);
        assert_memory_equal(&par[i].value, &serial[i].value, sizeof(double));
        assert_memory_equal(par[i].grad, serial[i].grad, sizeof par[i].grad);
    }
}

int main(void)
{
    if (!mpfr_buildopt_tls_p()) {
        fprintf(stderr, "skip: this MPFR keeps its caches in shared globals (not built with TLS)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_separate_tapes_agree_with_a_serial_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
