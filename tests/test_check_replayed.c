/* test_check_replayed.c - ad_check_grad on programs the fuzzers found, replayed
 * from the text ad_check_save wrote (hex floats): each was a false alarm of
 * the checker (a period's worth of rounding in sin, a cancelling projection,
 * a replay that cancels at a kink, a value that jumped, a stiff node, a kink
 * beside the step, an infinity of the other sign) and must now pass, with the
 * coordinate that failed judged or skipped as its comment derives by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>

static ad_check_opts opts(bool fast, unsigned prec)
{
    ad_check_opts o = ad_check_opts_default();
    o.fast = fast;
    o.prec = prec;
    return o;
}

/* A new tape holding the program text (as ad_check_save writes it). */
static ad_tape *load_program(const char *text, ad_var *loss)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    ad_tape *t = ad_tape_new(NULL);
    assert_int_equal(ad_check_load(t, f, loss), AD_OK);
    fclose(f);
    return t;
}

/* What a case asserts of the coordinate of its input node (per-coordinate
 * mode only: fast mode checks directions). */
typedef void coord_check(const ad_check_coord *x);

/* Checks a replayed program at 256 bits per coordinate, then fast (along
 * directions): each must pass, with `note` among the notes (NULL: any), and
 * per coordinate `check` sees the coordinate of input node `node`. */
static void passes_both_ways(const char *text, const char *note, size_t node, coord_check *check)
{
    for (int fast = 0; fast < 2; fast++) {
        ad_var loss;
        ad_tape *t = load_program(text, &loss);
        ad_check_opts o = opts(fast, 256);
        ad_check_report r;
        assert_int_equal(ad_check_grad(t, loss, &o, &r), AD_OK);
        if (!r.pass)
            fail_msg("fast %d: %s", fast, r.notes);
        if (note && !strstr(r.notes, note))
            fail_msg("fast %d: no note \"%s\" in: %s", fast, note, r.notes);
        const ad_check_coord *x = NULL;
        for (size_t i = 0; !fast && i < r.n_coords; i++)
            if (r.coords[i].node == node)
                x = &r.coords[i];
        if (!fast && !x)
            fail_msg("no coordinate for node %zu", node);
        if (x)
            check(x);
        ad_check_report_free(&r);
        ad_tape_free(t);
    }
}

/* The first run-counted budget's fuzz_expr program, as ad_check_save wrote
 * it: ... + sin(... + x9 x3 1e308 + ...) with an argument of about 1.4e308,
 * rounded by 1e292. Its two displaced samples of cos happened to land near
 * the engine's: 6.1e307 allowed, d/dx9 7.3e307 off MPFR's 0. sin's input
 * error exceeds pi, so the estimate counts 2 |adj| |T| for it and the check
 * passes. */
static const char sin_of_1e308_program[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x0p+0\n"
    "input 0 0 -0x1.8p+1\n"
    "input 1 0 -0x1.4p+0\n"
    "input 2 0 0x1p+1\n"
    "input 3 0 0x1.ap-1\n"
    "input 4 0 0x1.ap-1\n"
    "input 5 0 0x1.8p-2\n"
    "input 6 0 0x1.cp+0\n"
    "input 7 0 0x1.8p-2\n"
    "input 8 0 0x1.cp+0\n"
    "input 9 0 0x1.ap-1\n"
    "input 10 0 0x1.8p-2\n"
    "input 11 0 -0x1.4p+0\n"
    "input 12 0 0x1.8p-2\n"
    "input 13 0 -0x1.8p+1\n"
    "const 14 0 0x1.93e5939a08ceap+99\n"
    "op 15 sub 2 0 14 0\n"
    "const 16 0 0x1p+1\n"
    "op 17 mul 2 16 1 0\n"
    "op 18 sub 2 15 17 0\n"
    "op 19 mul 2 2 3 0\n"
    "const 20 0 0x1.1ccf385ebc8ap+1023\n"
    "op 21 mul 2 19 20 0\n"
    "op 22 add 2 18 21 0\n"
    "op 23 add 2 22 4 0\n"
    "op 24 sub 2 23 5 0\n"
    "const 25 0 0x1p+1\n"
    "op 26 mul 2 25 1 0\n"
    "op 27 sub 2 24 26 0\n"
    "op 28 add 2 27 6 0\n"
    "const 29 0 0x0p+0\n"
    "op 30 add 2 28 29 0\n"
    "op 31 abs 1 1 0\n"
    "op 32 add 2 30 31 0\n"
    "op 33 neg 1 5 0\n"
    "op 34 mul 2 8 33 0\n"
    "op 35 add 2 7 34 0\n"
    "const 36 0 0x1p+1\n"
    "op 37 mul 2 36 1 0\n"
    "op 38 sub 2 35 37 0\n"
    "op 39 mul 2 9 3 0\n"
    "const 40 0 0x1.1ccf385ebc8ap+1023\n"
    "op 41 mul 2 39 40 0\n"
    "op 42 add 2 38 41 0\n"
    "op 43 add 2 42 4 0\n"
    "op 44 sub 2 43 5 0\n"
    "const 45 0 0x1p+1\n"
    "op 46 mul 2 45 1 0\n"
    "op 47 sub 2 44 46 0\n"
    "op 48 add 2 47 10 0\n"
    "const 49 0 0x1p+0\n"
    "op 50 pow 2 49 11 0\n"
    "op 51 add 2 48 50 0\n"
    "op 52 sub 2 51 5 0\n"
    "const 53 0 0x1p+1\n"
    "op 54 mul 2 53 1 0\n"
    "op 55 sub 2 52 54 0\n"
    "op 56 add 2 55 12 0\n"
    "op 57 add 2 56 13 0\n"
    "op 58 sin 1 57 0\n"
    "op 59 add 2 32 58 0\n"
    "loss 59\n";
/* Its sibling from the next budget: d/dx3 is exactly 2e308 + (sin's part,
 * which the rounding of its 1e308 argument makes anything), beyond DBL_MAX in
 * MPFR, 1.5e308 in the engine. One side overflowing while the estimate
 * itself reaches DBL_MAX is no NaN mismatch: nothing can be shown. */
static const char sin_of_1e308_overflowing_reference[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x0p+0\n"
    "input 0 0 -0x1.8p+1\n"
    "input 1 0 -0x1.4p+0\n"
    "input 2 0 0x1p+1\n"
    "input 3 0 0x1.ap-1\n"
    "input 4 0 0x1.ap-1\n"
    "input 5 0 0x1.8p-2\n"
    "input 6 0 0x1.cp+0\n"
    "input 7 0 0x1.ap-1\n"
    "input 8 0 0x1.8p-2\n"
    "input 9 0 0x1.cp+0\n"
    "input 10 0 0x1p-1\n"
    "input 11 0 0x1.ap-1\n"
    "input 12 0 -0x1.4p+0\n"
    "input 13 0 0x1.8p-2\n"
    "input 14 0 -0x1.8p+1\n"
    "const 15 0 0x1.93e5939a08ceap+99\n"
    "op 16 sub 2 0 15 0\n"
    "const 17 0 0x1p+1\n"
    "op 18 mul 2 17 1 0\n"
    "op 19 sub 2 16 18 0\n"
    "op 20 mul 2 2 3 0\n"
    "const 21 0 0x1.1ccf385ebc8ap+1023\n"
    "op 22 mul 2 20 21 0\n"
    "op 23 add 2 19 22 0\n"
    "op 24 add 2 23 4 0\n"
    "op 25 sub 2 24 5 0\n"
    "const 26 0 0x1p+1\n"
    "op 27 mul 2 26 1 0\n"
    "op 28 sub 2 25 27 0\n"
    "op 29 add 2 28 6 0\n"
    "const 30 0 0x0p+0\n"
    "op 31 add 2 29 30 0\n"
    "op 32 abs 1 1 0\n"
    "op 33 add 2 31 32 0\n"
    "op 34 add 2 33 7 0\n"
    "op 35 add 2 34 4 0\n"
    "op 36 sub 2 35 5 0\n"
    "const 37 0 0x1p+1\n"
    "op 38 mul 2 37 1 0\n"
    "op 39 sub 2 36 38 0\n"
    "op 40 add 2 39 6 0\n"
    "const 41 0 0x0p+0\n"
    "op 42 add 2 40 41 0\n"
    "op 43 abs 1 1 0\n"
    "op 44 add 2 42 43 0\n"
    "op 45 neg 1 5 0\n"
    "op 46 mul 2 9 45 0\n"
    "op 47 add 2 8 46 0\n"
    "const 48 0 0x1p+1\n"
    "op 49 mul 2 48 1 0\n"
    "op 50 sub 2 47 49 0\n"
    "op 51 mul 2 10 3 0\n"
    "const 52 0 0x1.1ccf385ebc8ap+1023\n"
    "op 53 mul 2 51 52 0\n"
    "op 54 add 2 50 53 0\n"
    "op 55 add 2 54 4 0\n"
    "op 56 sub 2 55 5 0\n"
    "const 57 0 0x1p+1\n"
    "op 58 mul 2 57 1 0\n"
    "op 59 sub 2 56 58 0\n"
    "op 60 add 2 59 11 0\n"
    "const 61 0 0x1p+0\n"
    "op 62 pow 2 61 12 0\n"
    "op 63 add 2 60 62 0\n"
    "op 64 sub 2 63 5 0\n"
    "const 65 0 0x1p+1\n"
    "op 66 mul 2 65 1 0\n"
    "op 67 sub 2 64 66 0\n"
    "op 68 add 2 67 13 0\n"
    "op 69 add 2 68 14 0\n"
    "op 70 sin 1 69 0\n"
    "op 71 add 2 44 70 0\n"
    "loss 71\n";
static void test_a_periodic_op_rounded_by_a_period_allows_its_range(void **state)
{
    (void)state;
    const char *const programs[] = {sin_of_1e308_program, sin_of_1e308_overflowing_reference};
    for (int i = 0; i < 2; i++) {
        ad_var loss;
        ad_tape *t = load_program(programs[i], &loss);
        ad_check_opts o = opts(i == 1, 256);
        o.fd = i == 0; /* the second as fuzz_expr checks it: 2 directions, no FD */
        o.n_directions = 2;
        ad_check_report r;
        assert_int_equal(ad_check_grad(t, loss, &o, &r), AD_OK);
        if (!r.pass)
            fail_msg("program %d: %s", i, r.notes);
        ad_check_report_free(&r);
        ad_tape_free(t);
    }
}

/* relu(layer_norm(relu(x)^2)) on rows [4, 0.0625, 0] and [0, 0, 0] (the
 * second row constant: eps alone), as fuzz_program found it: under relu's
 * cotangent [1, 0, 0] layer_norm's backward, (g - mean g - y mean(g y)) /
 * sigma, cancels terms of about 1/sigma to columns of 2.3e-5, and rounds
 * them at their own size: 1.1e4 ulps of a directional derivative. Its
 * jvp_terms gives the estimate that size (1.3e-17 was allowed; the error is
 * 3.9e-17; now 2.4e-14), and 4 times it stays below a defect of 1e-9 of
 * the derivative. */
static const char layer_norm_program[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x1p-1\n"
    "input 0 2 2 3 0x1p+1 0x1p-2 -0x1.cp+0 -0x1p-2 -0x1p-2 -0x1p-2\n"
    "op 1 relu 1 0 0\n"
    "op 2 mul 2 1 1 0\n"
    "op 3 layer_norm 1 2 1 0x1.4f8b588e368f1p-17\n"
    "op 4 relu 1 3 0\n"
    "op 5 relu 1 0 0\n"
    "op 6 relu 1 4 0\n"
    "op 7 relu 1 6 0\n"
    "op 8 sum 1 7 0\n"
    "loss 8\n";
static void test_a_projection_that_cancels_is_judged_by_its_terms(void **state)
{
    (void)state;
    for (int fast = 0; fast < 2; fast++) {
        ad_var loss;
        ad_tape *t = load_program(layer_norm_program, &loss);
        ad_check_opts o = opts(fast, 256);
        ad_check_report r;
        assert_int_equal(ad_check_grad(t, loss, &o, &r), AD_OK);
        if (!r.pass)
            fail_msg("fast %d: %s", fast, r.notes);
        /* 4 estimates stay below a defect of 1e-9 of d/dx0 = 2.7e-4 */
        for (size_t i = 0; !fast && i < r.n_coords; i++)
            if (!(4.0 * r.coords[i].err_est < 2.7e-13))
                fail_msg("coordinate %zu: estimate %g", i, r.coords[i].err_est);
        ad_check_report_free(&r);
        ad_tape_free(t);
    }
}

/* abs(x) * abs(x)^xx + x + x * 1^(xx^100110) at x = 2^-81, xx = -3 (the
 * teeth run of fuzz_expr under the budget's flags): x^-2 + 2x, d/dx =
 * -2^244 + 2, which rounds to -2^244 (by hand). The double FD's step, 6e-6,
 * crosses abs's kink at 2^-81, so x is judged as at a kink; the replay holds
 * 3^100110 (about 2^158671, an input of 1^y alone), so its differences count
 * as cancelling at every precision. The FD's one-sided slopes, +-9.7e53
 * across the kink, stood in and failed the engine. Now such a coordinate is
 * skipped, with the note, as off a kink. */
static const char cancelling_kink_program[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x0p+0\n"
    "input 0 0 0x1p-81\n"
    "input 1 0 -0x1.8p+1\n"
    "op 2 abs 1 0 0\n"
    "op 3 abs 1 0 0\n"
    "op 4 neg 1 1 0\n"
    "op 5 neg 1 4 0\n"
    "op 6 pow 2 3 5 0\n"
    "op 7 mul 2 2 6 0\n"
    "op 8 add 2 7 0 0\n"
    "const 9 0 0x1.870ep+16\n"
    "op 10 pow 2 1 9 0\n"
    "const 11 0 0x1p+0\n"
    "op 12 pow 2 11 10 0\n"
    "op 13 mul 2 0 12 0\n"
    "op 14 add 2 8 13 0\n"
    "loss 14\n";
static void skipped_as_cancelling(const ad_check_coord *x)
{
    assert_true(x->engine == -0x1p244);
    assert_true(x->has_kink);
    assert_int_equal(x->cls, AD_COORD_SKIPPED);
    assert_string_equal(x->ref_str, "cancels");
}
static void test_a_kink_whose_replay_cancels_is_skipped_not_failed(void **state)
{
    (void)state;
    passes_both_ways(cancelling_kink_program, "cancels", 0, skipped_as_cancelling);
}

/* x + x 0^(y^1110) at x = -1.25, y = 0.5 (the teeth run of fuzz_expr, stop
 * 15): y^1110 = 2^-1110 underflows to 0, and 0^0 = 1 where 0^(2^-1110) = 0,
 * so the double program is 2x (d/dx = 2, what the engine gives) and the exact
 * one is x (d/dx = 1, by hand). x does not reach the singular pow, but its
 * derivative uses pow's value, which jumped: not judged, with the note. */
static const char jumped_pow_program[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x0p+0\n"
    "input 0 0 -0x1.4p+0\n"
    "input 1 0 0x1p-1\n"
    "const 2 0 0x1.158p+10\n"
    "op 3 pow 2 1 2 0\n"
    "const 4 0 0x0p+0\n"
    "op 5 pow 2 4 3 0\n"
    "op 6 mul 2 0 5 0\n"
    "op 7 add 2 0 6 0\n"
    "loss 7\n";
static void skipped_where_pow_jumped(const ad_check_coord *x)
{
    assert_true(x->engine == 2.0);
    assert_int_equal(x->cls, AD_COORD_SKIPPED);
    assert_string_equal(x->ref_str, "singular");
}
static void test_a_value_that_jumped_at_a_singular_op_is_not_judged(void **state)
{
    (void)state;
    passes_both_ways(jumped_pow_program, "op 'pow' (node 5) jumped", 0, skipped_where_pow_jumped);
}

/* x^(x^(x^M)) nf^(s^(x^(x^M))) nf^x y at x = 1, M = DBL_MAX, nf = s = 1.75,
 * y = 2 (the budget's fuzz_expr, stop 15). x^M has slope M = 1.8e308 at
 * x = 1 and varies by e^(2^939) over the replay's step of 2^-85, so the
 * MPFR difference measured a secant: 14.53 against the engine's 19.642.
 * By hand, with L = ln 1.75 and p = 1.75^1.75, every x^(...) is 1 with
 * slope 1, and d/dx = 2 (1.75 p + 1.75 p L (1.75 L) + 1.75 p L). The step
 * now keeps each node's change within 2^-32 of max(|value|, 1). */
static const char stiff_power_program[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x0p+0\n"
    "input 0 0 0x1p+0\n"
    "input 1 0 0x1.cp+0\n"
    "input 2 0 0x1.cp+0\n"
    "input 3 0 0x1p+1\n"
    "const 4 0 0x1.fffffffffffffp+1023\n"
    "op 5 pow 2 0 4 0\n"
    "op 6 pow 2 0 5 0\n"
    "op 7 pow 2 0 6 0\n"
    "const 8 0 0x1.fffffffffffffp+1023\n"
    "op 9 pow 2 0 8 0\n"
    "op 10 pow 2 0 9 0\n"
    "op 11 pow 2 2 10 0\n"
    "op 12 pow 2 1 11 0\n"
    "op 13 mul 2 7 12 0\n"
    "op 14 pow 2 1 0 0\n"
    "op 15 mul 2 13 14 0\n"
    "op 16 mul 2 15 3 0\n"
    "loss 16\n";
static void matches_the_stiff_derivative(const ad_check_coord *x)
{
    double L = log(1.75), p = pow(1.75, 1.75);
    double want = 2.0 * (1.75 * p + 1.75 * p * L * (1.75 * L) + 1.75 * p * L);
    assert_int_equal(x->cls, AD_COORD_OK);
    if (!(fabs(x->ref - want) <= 1e-14 * want && fabs(x->engine - want) <= 1e-14 * want))
        fail_msg("d/dx: engine %.17g, MPFR %.17g, by hand %.17g", x->engine, x->ref, want);
}
static void test_a_stiff_node_makes_the_replay_step_smaller(void **state)
{
    (void)state;
    passes_both_ways(stiff_power_program, NULL, 0, matches_the_stiff_derivative);
}

/* relu(-3 x + 1^((-3)^0.8125) 1.25e-321) (-3) / 2 + abs(x) at x = 0 (the
 * teeth run of fuzz_expr, stop 15): (-3)^0.8125 is NaN and 1^NaN = 1, so
 * relu's input is 1.25e-321, its kink 4.2e-322 away along x, while abs sits
 * on its own at 0. By hand the loss is 4.5 x + |x| for |x| < 4.2e-322: the
 * engine's 4.5 (abs's choice 0) lies in [3.5, 5.5]. The replay's steps of
 * 2^-170 and less crossed relu's kink too and measured the sides 3.5 and 1,
 * which are not x's. The step now stays short of every kink of a unary op
 * that x's step would reach. */
static const char near_kink_program[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x0p+0\n"
    "input 0 0 -0x1.8p+1\n"
    "input 1 0 0x0p+0\n"
    "input 2 0 -0x1.8p+1\n"
    "input 3 0 0x1.ap-1\n"
    "input 4 0 -0x1.8p+1\n"
    "input 5 0 0x1p+1\n"
    "op 6 mul 2 0 1 0\n"
    "op 7 pow 2 2 3 0\n"
    "const 8 0 0x1p+0\n"
    "op 9 pow 2 8 7 0\n"
    "const 10 0 0x0.0000000000fdp-1022\n"
    "op 11 mul 2 9 10 0\n"
    "op 12 add 2 6 11 0\n"
    "op 13 relu 1 12 0\n"
    "op 14 mul 2 13 4 0\n"
    "op 15 div 2 14 5 0\n"
    "op 16 abs 1 1 0\n"
    "op 17 add 2 15 16 0\n"
    "loss 17\n";
static void judged_in_abs_hull(const ad_check_coord *x)
{
    assert_true(x->engine == 4.5);
    assert_true(x->has_kink && x->kink.exactly_on);
    if (!(fmin(x->kink.left, x->kink.right) == 3.5 && fmax(x->kink.left, x->kink.right) == 5.5))
        fail_msg("one-sided %.17g, %.17g: want 3.5 and 5.5", x->kink.left, x->kink.right);
}
static void test_the_replay_step_stops_short_of_a_nearby_kink(void **state)
{
    (void)state;
    passes_both_ways(near_kink_program, NULL, 1, judged_in_abs_hull);
}

/* A tower of powers (the teeth run of fuzz_expr, stop 15): (-3)^(2^((-3)^2))
 * = 3^512, which is odd, but every double above 2^53 is even, so the double
 * program's (-3)^(3^512) is +inf where the exact one is -inf; above it
 * 0.375^(+-inf) is 0 or inf, and the loss is 2 a^(0.375^9) in double (d/da
 * = 2 b a^(b - 1) with b = 0.375^9, 7.82e-4 at a = 0.375, by hand) but 2
 * exactly (d/da = 0). The replay shows the odd exponent only at raised
 * precision (812 bits): not judged, with the note. */
static const char parity_jump_program[] =
    "adcheck-replay 1\n"
    "relu_at_zero 0x0p+0\n"
    "input 0 0 0x1.8p-2\n"
    "input 1 0 0x1.8p-2\n"
    "input 2 0 -0x1.8p+1\n"
    "input 3 0 0x1p+1\n"
    "input 4 0 0x1.8p-2\n"
    "input 5 0 -0x1.8p+1\n"
    "input 6 0 0x1p+1\n"
    "input 7 0 0x1p+1\n"
    "op 8 pow 2 2 6 0\n"
    "op 9 pow 2 3 8 0\n"
    "op 10 pow 2 2 9 0\n"
    "op 11 pow 2 5 10 0\n"
    "op 12 pow 2 4 11 0\n"
    "op 13 pow 2 2 12 0\n"
    "op 14 pow 2 3 13 0\n"
    "op 15 pow 2 2 14 0\n"
    "op 16 pow 2 1 15 0\n"
    "op 17 pow 2 0 16 0\n"
    "op 18 mul 2 17 7 0\n"
    "loss 18\n";
static void skipped_where_the_infinity_parts(const ad_check_coord *a)
{
    double b = pow(0.375, 9.0), want = 2.0 * b * pow(0.375, b - 1.0);
    if (!(fabs(a->engine - want) <= 1e-15 * want))
        fail_msg("d/da: engine %.17g, by hand %.17g", a->engine, want);
    assert_int_equal(a->cls, AD_COORD_SKIPPED);
}
static void test_an_infinity_whose_sign_parts_from_the_exact_is_not_judged(void **state)
{
    (void)state;
    passes_both_ways(parity_jump_program, "op 'pow' (node 11) jumped", 0, skipped_where_the_infinity_parts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_periodic_op_rounded_by_a_period_allows_its_range),
        cmocka_unit_test(test_a_projection_that_cancels_is_judged_by_its_terms),
        cmocka_unit_test(test_a_kink_whose_replay_cancels_is_skipped_not_failed),
        cmocka_unit_test(test_a_value_that_jumped_at_a_singular_op_is_not_judged),
        cmocka_unit_test(test_a_stiff_node_makes_the_replay_step_smaller),
        cmocka_unit_test(test_the_replay_step_stops_short_of_a_nearby_kink),
        cmocka_unit_test(test_an_infinity_whose_sign_parts_from_the_exact_is_not_judged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
