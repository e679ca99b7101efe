/* test_verify.c - the registry-driven test: every registered op is swept over
 * its domain against MPFR by ad_op_verify, so adding an op adds its
 * verification. Arguments: SAMPLES SEED [I/N] - the sample count per op, the
 * seed, and which shard of the registry to sweep (meson runs shards in parallel). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <ad/ad.h>

static size_t samples = 200, shard = 1, n_shards = 1;
static uint64_t seed = 1;

static void test_every_registered_op_verifies_within_its_bounds(void **state)
{
    (void)state;
    ad_verify_opts o = ad_verify_opts_default();
    o.samples = samples;
    o.seed = seed;
    size_t failed = 0, swept = 0;
    assert_true(ad_op_count() > 0);
    for (size_t i = shard - 1; i < ad_op_count(); i += n_shards) {
        const ad_op *op = ad_op_at(i);
        ad_op_report r;
        assert_int_equal(ad_op_verify(op, &o, &r), AD_OK);
        printf("%-12s %s%s  points %6zu  kinks %2zu  worst fwd %6.3g  bwd %6.3g  jvp %6.3g ulps"
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
        assert_true(r.samples >= samples);
        swept++;
    }
    assert_true(swept > 0);
    assert_int_equal(failed, 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        samples = strtoul(argv[1], NULL, 10);
    if (argc > 2)
        seed = strtoull(argv[2], NULL, 10);
    if (argc > 3 && (sscanf(argv[3], "%zu/%zu", &shard, &n_shards) != 2 || shard < 1 ||
                     shard > n_shards)) {
        fprintf(stderr, "test_verify: shard must be I/N with 1 <= I <= N, got %s\n", argv[3]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_registered_op_verifies_within_its_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
