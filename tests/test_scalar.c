/* test_scalar.c - the scalar path (ad/scalar.c) against the general one: the
 * same random scalar programs recorded through the built-in descriptors (which
 * take the scalar switch) and through copies of them (which the switch does
 * not know, so they run the ops' array kernels) give bit-identical values and
 * gradients. A formula changed in ops/ but not in the switch fails here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/counting_alloc.h"

static const ad_op *const builtin[] = {
    &ad_op_add, &ad_op_sub, &ad_op_mul, &ad_op_div, &ad_op_neg, &ad_op_exp, &ad_op_log,
    &ad_op_sqrt, &ad_op_tanh, &ad_op_square, &ad_op_relu, &ad_op_sigmoid,
};
#define N_OPS (sizeof builtin / sizeof builtin[0])
static ad_op copy[N_OPS]; /* same kernels, other addresses: the general path */

/* Equal bits, or both NaN (a NaN's payload is not part of any promise). */
static bool same(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Inputs that reach every branch: zeros of both signs (relu's kink, log's pole),
 * negatives (log, sqrt of them), huge and tiny values (exp overflow, division). */
static double draw_input(ad_rng *r)
{
    static const double special[] = {0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, 1e300, -700.0, 710.0};
    if (ad_rng_below(r, 3) == 0)
        return special[ad_rng_below(r, sizeof special / sizeof special[0])];
    return 4.0 * ad_rng_normal(r);
}

#define STEPS 48
#define N_IN 3

typedef struct program {
    double in[N_IN];
    unsigned op[STEPS], a[STEPS], b[STEPS]; /* operands: indices of earlier variables */
} program;

static void make_program(ad_rng *r, program *p)
{
    for (unsigned i = 0; i < N_IN; i++)
        p->in[i] = draw_input(r);
    for (unsigned s = 0; s < STEPS; s++) {
        unsigned n = N_IN + 1 + s; /* inputs, one constant, earlier steps */
        p->op[s] = (unsigned)ad_rng_below(r, N_OPS);
        /* mostly recent operands, so chains form; sometimes the same one twice */
        p->a[s] = n - 1 - (unsigned)ad_rng_below(r, n < 4 ? n : 4);
        p->b[s] = ad_rng_below(r, 4) == 0 ? p->a[s] : (unsigned)ad_rng_below(r, n);
    }
}

/* The builders of builtin[] (sigmoid's has no entry of its own: ad_apply). */
static ad_var build(ad_tape *t, unsigned op, ad_var a, ad_var b)
{
    switch (op) {
    case 0: return ad_add(t, a, b);
    case 1: return ad_sub(t, a, b);
    case 2: return ad_mul(t, a, b);
    case 3: return ad_div(t, a, b);
    case 4: return ad_neg(t, a);
    case 5: return ad_exp(t, a);
    case 6: return ad_log(t, a);
    case 7: return ad_sqrt(t, a);
    case 8: return ad_tanh(t, a);
    case 9: return ad_square(t, a);
    case 10: return ad_relu(t, a);
    default: return ad_sigmoid(t, a);
    }
}

/* Records p on t through ops[], or through the builders when ops is NULL; v
 * receives every variable. split: the compact records are written out halfway
 * (a label does that), so the nodes after it chain from full node records. */
static void record(ad_tape *t, const program *p, const ad_op *const *ops, ad_var *v, bool split)
{
    for (unsigned i = 0; i < N_IN; i++)
        v[i] = ad_scalar(t, p->in[i]);
    v[N_IN] = ad_const(t, AD_SCALAR, (double[]){0.75});
    for (unsigned s = 0; s < STEPS; s++) {
        if (split && s == STEPS / 2)
            ad_var_label(t, v[N_IN + s], "half");
        ad_var in[2] = {v[p->a[s]], v[p->b[s]]};
        if (!ops) {
            v[N_IN + 1 + s] = build(t, p->op[s], in[0], in[1]);
            continue;
        }
        const ad_op *op = ops[p->op[s]];
        v[N_IN + 1 + s] = ad_apply(t, op, in, op->arity, NULL, 0);
    }
}

static void assert_same_tapes(const ad_tape *fast, const ad_tape *gen, const ad_var *vf,
                              const ad_var *vg, unsigned n, unsigned prog)
{
    for (unsigned i = 0; i < n; i++) {
        double a = ad_value_scalar(fast, vf[i]), b = ad_value_scalar(gen, vg[i]);
        if (!same(a, b))
            fail_msg("program %u, variable %u: value %a (scalar path) != %a (general)", prog, i, a, b);
        const double *ga = ad_grad(fast, vf[i]), *gb = ad_grad(gen, vg[i]);
        if ((ga == NULL) != (gb == NULL))
            fail_msg("program %u, variable %u: gradient present on one path only", prog, i);
        if (ga && !same(ga[0], gb[0]))
            fail_msg("program %u, variable %u: gradient %a (scalar path) != %a (general)", prog, i,
                     ga[0], gb[0]);
    }
}

static void test_scalar_path_matches_general_path_bit_for_bit(void **state)
{
    (void)state;
    const ad_op *general[N_OPS];
    for (unsigned k = 0; k < N_OPS; k++) {
        copy[k] = *builtin[k];
        general[k] = &copy[k];
    }
    ad_rng r = ad_rng_make(2026);
    /* through ad_apply with the built-in descriptors, through the builders'
     * own entries, and through the copies (the general path) */
    ad_tape *fast = ad_tape_new(NULL), *built = ad_tape_new(NULL), *gen = ad_tape_new(NULL);
    ad_var vf[N_IN + 1 + STEPS], vb[N_IN + 1 + STEPS], vg[N_IN + 1 + STEPS];
    unsigned n = N_IN + 1 + STEPS;
    for (unsigned prog = 0; prog < 400; prog++) {
        program p;
        make_program(&r, &p);
        ad_tape_reset(fast);
        ad_tape_reset(built);
        ad_tape_reset(gen);
        double kink = prog % 2 ? 0.5 : 0.0; /* relu'(0) is the tape's setting on all paths */
        assert_int_equal(ad_tape_set_relu_at_zero(fast, kink), AD_OK);
        assert_int_equal(ad_tape_set_relu_at_zero(built, kink), AD_OK);
        assert_int_equal(ad_tape_set_relu_at_zero(gen, kink), AD_OK);
        bool split = prog % 3 == 0;
        record(fast, &p, builtin, vf, split);
        record(built, &p, NULL, vb, split);
        record(gen, &p, general, vg, split);
        assert_int_equal(ad_tape_status(fast), AD_OK);
        assert_int_equal(ad_tape_status(built), AD_OK);
        assert_int_equal(ad_tape_status(gen), AD_OK);
        /* a backward from the end, then from a middle variable on the same
         * recording: the second re-zeroes what the first left */
        assert_int_equal(ad_backward(fast, vf[n - 1]), AD_OK);
        assert_int_equal(ad_backward(built, vb[n - 1]), AD_OK);
        assert_int_equal(ad_backward(gen, vg[n - 1]), AD_OK);
        assert_same_tapes(fast, gen, vf, vg, n, prog);
        assert_same_tapes(built, gen, vb, vg, n, prog);
        assert_int_equal(ad_backward(fast, vf[n / 2]), AD_OK);
        assert_int_equal(ad_backward(built, vb[n / 2]), AD_OK);
        assert_int_equal(ad_backward(gen, vg[n / 2]), AD_OK);
        assert_same_tapes(fast, gen, vf, vg, n, prog);
        assert_same_tapes(built, gen, vb, vg, n, prog);
    }
    ad_tape_free(fast);
    ad_tape_free(built);
    ad_tape_free(gen);
}

/* The builders' own entries check what ad_apply checks, in its words: a
 * handle past the end, a handle from before a reset, one from another tape,
 * the nil variable, a tensor (general path), a tape in error (no record). */
static void test_scalar_builders_reject_what_ad_apply_rejects(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL), *u = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 2.0), y = ad_mul(t, x, x);
    ad_var past = y;
    past.index++;
    assert_true(ad_var_is_nil(ad_add(t, y, past)));
    assert_non_null(strstr(ad_tape_error(t), "ad_add: variable 2 is past the tape's end (2 nodes)"));
    size_t before = ad_tape_size(t);
    assert_true(ad_var_is_nil(ad_relu(t, x))); /* sticky: nothing recorded */
    assert_int_equal(ad_tape_size(t), before);
    ad_tape_reset(t);
    ad_var z = ad_scalar(t, 1.0);
    assert_true(ad_var_is_nil(ad_sub(t, z, y)));
    assert_non_null(strstr(ad_tape_error(t), "ad_sub: stale variable 1"));
    ad_tape_reset(t);
    z = ad_scalar(t, 1.0);
    ad_var w = ad_scalar(u, 1.0);
    assert_true(ad_var_is_nil(ad_div(t, z, w)));
    assert_non_null(strstr(ad_tape_error(t), "ad_div: variable 0 belongs to another tape"));
    ad_tape_reset(t);
    assert_true(ad_var_is_nil(ad_tanh(t, AD_NIL)));
    assert_non_null(strstr(ad_tape_error(t), "ad_tanh: the nil variable"));
    ad_tape_reset(t);
    ad_var v = ad_input(t, AD_VEC(2), (double[]){1.0, -1.0});
    ad_var s = ad_sum(t, ad_relu(t, ad_mul(t, ad_scalar(t, 3.0), v))); /* tensor ops: general path */
    assert_int_equal(ad_backward(t, s), AD_OK);
    assert_true(ad_grad(t, v)[0] == 3.0 && ad_grad(t, v)[1] == 0.0);
    ad_tape_free(t);
    ad_tape_free(u);
}

/* d/da (a / b) = 1/b, d/db = -a/b^2; sigmoid'(x) = s(x)(1 - s(x)); relu'(0) = the setting. */
static void test_scalar_path_gradients_follow_the_formulas(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    assert_int_equal(ad_tape_set_relu_at_zero(t, 0.25), AD_OK);
    ad_var a = ad_scalar(t, 3.0), b = ad_scalar(t, -4.0), z = ad_scalar(t, 0.0);
    ad_var q = ad_div(t, a, b);
    ad_var s = ad_sigmoid(t, a);
    ad_var loss = ad_add(t, ad_add(t, q, s), ad_relu(t, z));
    assert_null(ad_grad(t, q)); /* before any backward, as documented */
    assert_int_equal(ad_backward(t, loss), AD_OK);
    double sg = 1.0 / (1.0 + exp(-3.0));
    assert_true(fabs(ad_grad(t, a)[0] - (1.0 / -4.0 + sg * (1.0 - sg))) <= 1e-15);
    assert_true(fabs(ad_grad(t, b)[0] - (-3.0 / 16.0)) <= 1e-15);
    assert_true(ad_grad(t, z)[0] == 0.25);
    assert_true(ad_grad(t, loss)[0] == 1.0);
    ad_tape_free(t);
}

/* Scalar-path nodes mixed with tensors: a scalar scales a vector (general
 * path), the vector's sum feeds the scalar path again. */
static void test_scalar_path_mixes_with_tensors(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 2.0);
    ad_var v = ad_input(t, AD_VEC(3), (double[]){1.0, 2.0, 3.0});
    ad_var k = ad_mul(t, x, x);                   /* scalar path: 4 */
    ad_var s = ad_sum(t, ad_mul(t, k, v));        /* 4 * 6 = 24 */
    ad_var loss = ad_tanh(t, ad_mul(t, s, ad_const(t, AD_SCALAR, (double[]){0.01})));
    assert_int_equal(ad_backward(t, loss), AD_OK);
    double y = tanh(0.24), d = (1.0 - y * y) * 0.01;
    assert_true(fabs(ad_value_scalar(t, loss) - y) <= 1e-16);
    assert_true(fabs(ad_grad(t, x)[0] - d * 6.0 * 4.0) <= 1e-15); /* d(x^2 * 6)/dx = 12x */
    for (int i = 0; i < 3; i++)
        assert_true(fabs(ad_grad(t, v)[i] - d * 4.0) <= 1e-15);
    ad_tape_free(t);
}

/* Anomaly mode stops at a scalar-path node's NaN as it does on the general path. */
static void test_scalar_path_keeps_anomaly_mode(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    assert_int_equal(ad_tape_set_anomaly(t, true), AD_OK);
    ad_var x = ad_scalar(t, -1.0);
    ad_var y = ad_log(t, x);
    assert_true(ad_var_is_nil(y));
    assert_int_equal(ad_tape_status(t), AD_EDOMAIN);
    assert_non_null(strstr(ad_tape_error(t), "log"));
    ad_tape_free(t);
}

/* Scalar ops are kept as compact records until something needs the full node
 * records: the checker, a label, anomaly mode switched on later, a tensor op,
 * and an allocation failure on the way. Each sees the same program. */
static void test_scalar_path_records_are_written_out_when_needed(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 0.5), y = ad_scalar(t, -1.5);
    ad_var f = ad_mul(t, ad_tanh(t, x), ad_exp(t, ad_mul(t, x, y))); /* tanh(x) e^(xy) */
    assert_string_equal(ad_var_get_label(t, f), "");
    assert_false(ad_var_is_nil(ad_var_label(t, f, "f")));
    assert_string_equal(ad_var_get_label(t, f), "f");
    ad_var g = ad_sigmoid(t, f); /* recorded after the write-out: compact again */
    assert_true(ad_var_shape(t, g).rank == 0);
    ad_check_report r;
    assert_int_equal(ad_check_grad(t, g, NULL, &r), AD_OK);
    assert_true(r.pass);
    ad_check_report_free(&r);
    assert_int_equal(ad_backward(t, g), AD_OK);
    double th = tanh(0.5), e = exp(-0.75), fv = th * e, s = 1.0 / (1.0 + exp(-fv));
    double dfdx = (1.0 - th * th) * e + th * e * -1.5, ds = s * (1.0 - s);
    assert_true(fabs(ad_grad(t, x)[0] - ds * dfdx) <= 1e-15);
    assert_true(fabs(ad_grad(t, y)[0] - ds * th * e * 0.5) <= 1e-15);

    /* anomaly mode switched on after recording: backward names the node */
    ad_tape_reset(t);
    ad_var z = ad_scalar(t, 0.0);
    ad_var q = ad_sqrt(t, ad_mul(t, z, z)); /* sqrt'(0) = inf: the gradient is NaN (inf * 0) */
    assert_int_equal(ad_tape_set_anomaly(t, true), AD_OK);
    assert_int_equal(ad_backward(t, q), AD_EDOMAIN);
    assert_non_null(strstr(ad_tape_error(t), "sqrt"));
    ad_tape_free(t);
}

/* Every allocation of a long scalar recording (record array growth, value
 * blocks, the write-out) failing in turn: AD_ENOMEM and no leak; once nothing
 * fails, the gradient of v <- 1.0001 v + 1e-4 (N times) is 1.0001^N. */
static void test_scalar_path_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    enum { N = 6000 }; /* crosses a value block (4096 pairs) and two record growths */
    for (size_t k = 1;; k++) {
        counting_alloc c = {.fail_at = k};
        ad_tape_opts o = ad_tape_opts_default();
        o.alloc = counting_allocator(&c);
        ad_tape *t = ad_tape_new(&o);
        ad_var x = ad_scalar(t, 1.0), m = ad_const(t, AD_SCALAR, (double[]){1.0001});
        ad_var a = ad_const(t, AD_SCALAR, (double[]){1e-4}), v = x;
        for (int i = 0; i < N; i++)
            v = ad_add(t, ad_mul(t, v, m), a);
        ad_var_label(t, v, "end"); /* writes every record out */
        ad_status st = ad_backward(t, v);
        if (st == AD_OK) {
            assert_true(fabs(ad_grad(t, x)[0] - pow(1.0001, N)) <= 1e-12 * pow(1.0001, N));
            ad_tape_free(t);
            assert_int_equal(c.live_bytes, 0);
            return;
        }
        assert_int_equal(st, AD_ENOMEM);
        ad_tape_free(t);
        assert_int_equal(c.live_bytes, 0);
        if (k > 200)
            fail_msg("the scenario never completed");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_path_matches_general_path_bit_for_bit),
        cmocka_unit_test(test_scalar_builders_reject_what_ad_apply_rejects),
        cmocka_unit_test(test_scalar_path_gradients_follow_the_formulas),
        cmocka_unit_test(test_scalar_path_mixes_with_tensors),
        cmocka_unit_test(test_scalar_path_keeps_anomaly_mode),
        cmocka_unit_test(test_scalar_path_records_are_written_out_when_needed),
        cmocka_unit_test(test_scalar_path_every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
