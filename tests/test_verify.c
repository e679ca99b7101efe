/* test_verify.c - the registry-driven test: every registered op is swept over
 * its domain against MPFR by ad_op_verify, so adding an op adds its
 * verification. SAMPLES is set per suite (ops: modest, slow: many). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>
#include <ad/ad.h>

#ifndef SAMPLES
#define SAMPLES 200
#endif
#ifndef SEED
#define SEED 1
#endif

static void test_every_registered_op_verifies_within_its_bounds(void **state)
{
    (void)state;
    ad_verify_opts o = ad_verify_opts_default();
    o.samples = SAMPLES;
    o.seed = SEED;
    size_t failed = 0;
    assert_true(ad_op_count() > 0);
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        ad_op_report r;
        assert_int_equal(ad_op_verify(op, &o, &r), AD_OK);
        printf("%-12s %s%s  points %5zu  kinks %2zu  worst fwd %6.3g  bwd %6.3g  jvp %6.3g ulps"
               "  (bounds %g, %g)\n",
               op->name, r.pass ? "pass" : "FAIL", r.fd_only ? " (FD only)" : "", r.samples,
               r.kinks_checked, r.fwd.ulps, r.bwd.ulps, r.jvp.ulps, op->ulp_fwd, op->ulp_bwd);
        if (r.outside_mismatches)
            printf("             outside the domain (not a failure), %zu: %s\n",
                   r.outside_mismatches, r.first_outside);
        if (!r.pass) {
            printf("             %zu failures, first: %s\n", r.failures, r.first_failure);
            failed++;
        }
        /* the sweep must have looked: samples plus special points */
        assert_true(r.samples >= SAMPLES);
    }
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_registered_op_verifies_within_its_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
