/* test_support.c - cmocka tests of the harnesses' own parts: the decoder, ulp distances,
 * the failing allocator and the program decoder. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "decode.h"
#include "fz_alloc.h"
#include "program.h"
#include "ulp.h"

static void test_decoder_never_reads_past_the_input(void **state)
{
    (void)state;
    /* A one-byte heap block: ASan builds would report any read past it. */
    uint8_t *one = malloc(1);
    one[0] = 0xab;
    fz_in in;
    fz_init(&in, one, 1);
    assert_int_equal(fz_u32(&in), 0xab);
    assert_int_equal(fz_left(&in), 0);
    assert_int_equal(fz_u64(&in), 0);
    free(one);
}

static void test_exhausted_input_decodes_to_zeros(void **state)
{
    (void)state;
    fz_in in;
    fz_init(&in, NULL, 0);
    fz_hints h = {.lo = 3, .hi = 4};
    double d = fz_double(&in, &h);
    assert_true(d == 0.0 && !signbit(d));
    assert_int_equal(fz_range(&in, -4, 4), -4);
    assert_int_equal(fz_choice(&in, 7), 0);
}

static void test_decoder_is_little_endian_and_ranged(void **state)
{
    (void)state;
    const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 200};
    fz_in in;
    fz_init(&in, b, sizeof b);
    assert_int_equal(fz_u32(&in), 0x04030201u);
    long v = fz_range(&in, -4, 4);
    assert_int_equal(v, -4 + 200 % 9);
}

static void test_decoder_gives_raw_bits_and_specials(void **state)
{
    (void)state;
    uint8_t b[9] = {1};
    uint64_t nan_bits = 0xfff8000000000123u;
    memcpy(b + 1, &nan_bits, 8);
    fz_in in;
    fz_init(&in, b, sizeof b);
    double d = fz_double(&in, NULL);
    uint64_t got;
    memcpy(&got, &d, 8);
    assert_true(got == nan_bits); /* the payload survives */
    const uint8_t s[] = {0, 2}; /* mode special, entry 2: the smallest subnormal */
    fz_init(&in, s, sizeof s);
    assert_true(fz_double(&in, NULL) == 0x1p-1074);
}

static void test_decoder_steps_ulps_from_a_hint(void **state)
{
    (void)state;
    const double near[] = {709.782712893384};
    fz_hints h = {.lo = -1, .hi = 1, .near = near, .n_near = 1};
    const uint8_t b[] = {2, 0, 4 + 2}; /* mode near, hint 0, +2 ulps */
    fz_in in;
    fz_init(&in, b, sizeof b);
    assert_true(fz_double(&in, &h) == nextafter(nextafter(near[0], INFINITY), INFINITY));
}

static double ulps_of(double got, const char *exact)
{
    mpfr_t r;
    mpfr_init2(r, 256);
    mpfr_set_str(r, exact, 10, MPFR_RNDN);
    double u = fz_ulps(got, r);
    mpfr_clear(r);
    return u;
}

static void test_ulps_measure_against_the_exact_value(void **state)
{
    (void)state;
    assert_true(ulps_of(1.0, "1") == 0.0);
    assert_true(fabs(ulps_of(nextafter(1.0, 2.0), "1") - 1.0) < 1e-12);
    /* 1/3 rounded to double is within half an ulp */
    double u = ulps_of(1.0 / 3.0, "0.3333333333333333333333333333333333333333333");
    assert_true(u > 0.0 && u <= 0.5);
    assert_true(ulps_of(0x1p-1074, "0") == 1.0);           /* the subnormal ulp */
    assert_true(ulps_of(INFINITY, "1e400") == 0.0);         /* rounds to inf       */
    assert_true(ulps_of(DBL_MAX, "1e400") > 1e10);
    assert_true(isinf(ulps_of(NAN, "1")));
}

static void test_allocator_fails_on_schedule_and_counts(void **state)
{
    (void)state;
    static fz_alloc a;
    memset(&a, 0, sizeof a);
    a.fail_mask = 1u << 1; /* the second request */
    void *p = fz_alloc_fn(&a, NULL, 0, 16);
    assert_non_null(p);
    assert_null(fz_alloc_fn(&a, NULL, 0, 16));
    assert_int_equal(a.live_bytes, 16);
    p = fz_alloc_fn(&a, p, 16, 32);
    assert_non_null(p);
    fz_alloc_fn(&a, p, 8, 0); /* the wrong old size */
    assert_true(a.bad_size);
    assert_int_equal(a.failures, 1);
}

static void test_program_decoder_keeps_a_scalar_loss(void **state)
{
    (void)state;
    static fz_prog p;
    uint8_t b[200];
    for (unsigned seed = 0; seed < 50; seed++) {
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (uint8_t)(i * 37 + seed * 101);
        fz_in in;
        fz_init(&in, b, sizeof b);
        if (!fz_prog_decode(&in, &p, true))
            continue;
        assert_true(p.n >= 2 && p.n <= FZ_MAX_NODES);
        assert_int_equal(p.node[p.n - 1].shape.rank, 0);
        for (size_t i = 0; i < p.n; i++)
            for (unsigned k = 0; p.node[i].kind == FZ_NODE_OP && k < p.node[i].op->arity; k++)
                assert_true(p.node[i].in[k] < i); /* a DAG in tape order */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoder_never_reads_past_the_input),
        cmocka_unit_test(test_exhausted_input_decodes_to_zeros),
        cmocka_unit_test(test_decoder_is_little_endian_and_ranged),
        cmocka_unit_test(test_decoder_gives_raw_bits_and_specials),
        cmocka_unit_test(test_decoder_steps_ulps_from_a_hint),
        cmocka_unit_test(test_ulps_measure_against_the_exact_value),
        cmocka_unit_test(test_allocator_fails_on_schedule_and_counts),
        cmocka_unit_test(test_program_decoder_keeps_a_scalar_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
