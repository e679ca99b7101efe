/* test_hostile.c - hostile API input, each with its exact status and message.
 * Covered elsewhere (not repeated here):
 *   NULL tape ............... test_tape.c test_tape_null_is_rejected_by_every_entry,
 *                             test_check.c test_bad_arguments_give_exact_status_and_message
 *   the nil variable ........ test_tape.c test_tape_nil_input_is_rejected
 *   stale handle ............ test_tape.c test_tape_stale_handle_is_rejected
 *   foreign handle .......... test_tape.c test_tape_foreign_handle_is_rejected
 *   parameter freed while bound  test_tape.c test_param_freed_while_bound_lives_until_the_tape_lets_go
 *   rank above 4, overflow .. test_shape.c test_shape_count_overflow_and_rank_limit_are_errors,
 *                             test_tape.c test_tape_input_shape_overflow_is_rejected
 *   zero-size dimensions .... test_tape.c test_tape_zero_size_tensor_is_allowed
 *   relu setting outside [0,1]  test_tape.c test_tape_relu_setting_outside_unit_interval_is_rejected
 *   backward on non-scalar .. test_tape.c test_tape_backward_on_non_scalar_is_rejected
 *   broadcast, matmul, axis . test_ops.c test_broadcast_mismatch_names_the_dimension,
 *                             test_matmul_shape_errors_are_explained,
 *                             test_axis_out_of_range_or_fractional_is_rejected
 *   custom op: missing slot, bad name, duplicate name
 *                             test_registry.c test_custom_op_with_missing_slot_or_bad_name_is_rejected,
 *                             test_custom_op_registers_and_records_like_a_builtin
 * Here: the shape rules of the other op kinds, non-finite and out-of-range
 * attributes, backward twice, checking a tape in error, custom ops that fail
 * at record time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>

typedef ad_var (*build_fn)(ad_tape *t, ad_var a);

typedef struct hostile_case {
    const char *name;
    build_fn build;
    ad_status status;
    const char *msg;
} hostile_case;

/* Each case starts from a = input [2, 3] (node 0); the builder's node follows. */
static void run_cases(const hostile_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ad_tape *t = ad_tape_new(NULL);
        ad_var a = ad_input(t, AD_MAT(2, 3), (double[]){1, 2, 3, 4, 5, 6});
        size_t before = ad_tape_size(t);
        ad_var r = c[i].build(t, a);
        if (!ad_var_is_nil(r))
            fail_msg("%s: recorded a node", c[i].name);
        if (ad_tape_status(t) != c[i].status || strcmp(ad_tape_error(t), c[i].msg) != 0)
            fail_msg("%s: got %s '%s', want %s '%s'", c[i].name, ad_status_name(ad_tape_status(t)),
                     ad_tape_error(t), ad_status_name(c[i].status), c[i].msg);
        /* sticky: later builders record nothing and keep the first error */
        size_t after = ad_tape_size(t);
        assert_true(ad_var_is_nil(ad_tanh(t, a)));
        assert_int_equal(ad_tape_size(t), after);
        assert_true(after <= before + 3);
        assert_string_equal(ad_tape_error(t), c[i].msg);
        ad_tape_free(t);
    }
}

static ad_var dot_mismatch(ad_tape *t, ad_var a) { return ad_dot(t, a, ad_input(t, AD_VEC(3), NULL)); }
static ad_var mse_mismatch(ad_tape *t, ad_var a) { return ad_mse(t, a, ad_input(t, AD_MAT(3, 2), NULL)); }
static ad_var bce_mismatch(ad_tape *t, ad_var a)
{
    return ad_bce_with_logits(t, a, ad_input(t, AD_VEC(3), NULL));
}
static ad_var ce_class_out_of_range(ad_tape *t, ad_var a)
{
    return ad_cross_entropy(t, a, ad_const(t, AD_VEC(2), (double[]){0, 3}));
}
static ad_var ce_class_fractional(ad_tape *t, ad_var a)
{
    return ad_cross_entropy(t, a, ad_const(t, AD_VEC(2), (double[]){0, 0.5}));
}
static ad_var ce_class_count(ad_tape *t, ad_var a)
{
    return ad_cross_entropy(t, a, ad_const(t, AD_VEC(3), (double[]){0, 1, 2}));
}
static ad_var nll_class_negative(ad_tape *t, ad_var a)
{
    return ad_nll(t, a, ad_const(t, AD_VEC(2), (double[]){-1, 0}));
}
static ad_var prelu_slope_shape(ad_tape *t, ad_var a) { return ad_prelu(t, a, ad_input(t, AD_VEC(2), NULL)); }
static ad_var pow_exponent_shape(ad_tape *t, ad_var a) { return ad_pow(t, a, ad_input(t, AD_VEC(2), NULL)); }
static ad_var matmul_rank4(ad_tape *t, ad_var a)
{
    return ad_matmul(t, a, ad_input(t, ((ad_shape){4, {1, 1, 1, 1}}), NULL));
}

static void test_hostile_shape_mismatch_of_every_op_kind(void **state)
{
    (void)state;
    static const hostile_case cases[] = {
        {"dot", dot_mismatch, AD_ESHAPE,
         "ad_dot: node 2: both inputs must have the same shape (inputs [2, 3] and [3])"},
        {"mse", mse_mismatch, AD_ESHAPE,
         "ad_mse: node 2: prediction and target must have the same shape (inputs [2, 3] and [3, 2])"},
        {"bce", bce_mismatch, AD_ESHAPE,
         "ad_bce_with_logits: node 2: prediction and target must have the same shape (inputs [2, 3] and [3])"},
        {"cross_entropy class range", ce_class_out_of_range, AD_EINVAL,
         "ad_cross_entropy: node 2: class index 3 at position 1 is out of range [0, 3) (inputs [2, 3] and [2])"},
        {"cross_entropy class fraction", ce_class_fractional, AD_EINVAL,
         "ad_cross_entropy: node 2: class index 0.5 at position 1 is not an integer (inputs [2, 3] and [2])"},
        {"cross_entropy class count", ce_class_count, AD_ESHAPE,
         "ad_cross_entropy: node 2: class indices must have the scores' shape without the last axis "
         "(inputs [2, 3] and [3])"},
        {"nll class negative", nll_class_negative, AD_EINVAL,
         "ad_nll: node 2: class index -1 at position 0 is out of range [0, 3) (inputs [2, 3] and [2])"},
        {"prelu slope", prelu_slope_shape, AD_ESHAPE,
         "ad_prelu: node 2: shapes do not broadcast: dimension 0 from the right is 3 and 2 (inputs [2, 3] and [2])"},
        {"pow exponent", pow_exponent_shape, AD_ESHAPE,
         "ad_pow: node 2: shapes do not broadcast: dimension 0 from the right is 3 and 2 (inputs [2, 3] and [2])"},
        {"matmul rank 4", matmul_rank4, AD_ESHAPE,
         "ad_matmul: node 2: matmul takes two matrices (rank 2) or two batches of them (rank 3), got ranks "
         "2 and 4 (inputs [2, 3] and [1, 1, 1, 1])"},
    };
    run_cases(cases, sizeof cases / sizeof *cases);
}

static ad_var leaky_nan(ad_tape *t, ad_var a) { return ad_leaky_relu(t, a, NAN); }
static ad_var leaky_inf(ad_tape *t, ad_var a) { return ad_leaky_relu(t, a, INFINITY); }
static ad_var elu_nan(ad_tape *t, ad_var a) { return ad_elu(t, a, NAN); }
static ad_var celu_zero(ad_tape *t, ad_var a) { return ad_celu(t, a, 0); }
static ad_var clamp_nan(ad_tape *t, ad_var a) { return ad_clamp(t, a, NAN, 1); }
static ad_var hardtanh_reversed(ad_tape *t, ad_var a) { return ad_hardtanh(t, a, 1, -1); }
static ad_var huber_zero(ad_tape *t, ad_var a) { return ad_huber(t, a, a, 0); }
static ad_var huber_inf(ad_tape *t, ad_var a) { return ad_huber(t, a, a, INFINITY); }
static ad_var layer_norm_nan(ad_tape *t, ad_var a) { return ad_layer_norm(t, a, NAN); }
static ad_var dropout_one_and_half(ad_tape *t, ad_var a) { return ad_dropout(t, a, 1.5, 1); }
static ad_var apply_neg_inf(ad_tape *t, ad_var a)
{
    return ad_apply(t, ad_op_find("leaky_relu"), &a, 1, (double[]){-INFINITY}, 1);
}

static void test_hostile_non_finite_and_out_of_range_attributes(void **state)
{
    (void)state;
    static const hostile_case cases[] = {
        {"leaky nan", leaky_nan, AD_EINVAL,
         "ad_leaky_relu: node 1: attribute slope is nan; attributes must be finite"},
        {"leaky inf", leaky_inf, AD_EINVAL,
         "ad_leaky_relu: node 1: attribute slope is inf; attributes must be finite"},
        {"apply -inf", apply_neg_inf, AD_EINVAL,
         "ad_leaky_relu: node 1: attribute slope is -inf; attributes must be finite"},
        {"elu nan", elu_nan, AD_EINVAL, "ad_elu: node 1: attribute alpha is nan; attributes must be finite"},
        {"celu 0", celu_zero, AD_EINVAL, "ad_celu: node 1: alpha must be > 0, got 0"},
        {"clamp nan", clamp_nan, AD_EINVAL, "ad_clamp: node 1: attribute lo is nan; attributes must be finite"},
        {"hardtanh lo > hi", hardtanh_reversed, AD_EINVAL, "ad_hardtanh: node 1: lo (1) must not exceed hi (-1)"},
        {"huber 0", huber_zero, AD_EINVAL, "ad_huber: node 1: delta must be > 0, got 0"},
        {"huber inf", huber_inf, AD_EINVAL, "ad_huber: node 1: attribute delta is inf; attributes must be finite"},
        {"layer_norm nan", layer_norm_nan, AD_EINVAL,
         "ad_layer_norm: node 1: attribute eps is nan; attributes must be finite"},
        {"dropout 1.5", dropout_one_and_half, AD_EINVAL, "ad_dropout: node 1: p must be in [0, 1), got 1.5"},
    };
    run_cases(cases, sizeof cases / sizeof *cases);
}

/* Backward twice on the same loss recomputes: the gradients are the same, not doubled. */
static void test_hostile_backward_twice_gives_the_same_gradients(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_param *w;
    assert_int_equal(ad_param_new(AD_VEC(2), (double[]){3, -1}, NULL, &w), AD_OK);
    ad_var x = ad_input(t, AD_VEC(2), (double[]){1, 2});
    ad_var f = ad_sum(t, ad_mul(t, ad_mul(t, x, x), ad_use(t, w)));
    assert_int_equal(ad_backward(t, f), AD_OK);
    double g0 = ad_grad(t, x)[0], g1 = ad_grad(t, x)[1];
    double p0 = ad_param_grad(w)[0];
    assert_int_equal(ad_backward(t, f), AD_OK);
    assert_true(ad_grad(t, x)[0] == g0 && ad_grad(t, x)[1] == g1);
    assert_true(g0 == 6.0 && g1 == -4.0);
    /* parameter gradients accumulate across backward calls (documented: zero_grad) */
    assert_true(ad_param_grad(w)[0] == 2 * p0);
    assert_int_equal(ad_tape_status(t), AD_OK);
    ad_tape_free(t);
    ad_param_free(w);
}

/* Checking, differentiating or replaying a tape in error returns its first error
 * and produces nothing. */
static void test_hostile_checking_a_tape_in_error_returns_the_first_error(void **state)
{
    (void)state;
    static const char msg[] = "ad_mul: node 2: shapes do not broadcast: dimension 0 from the right is 2 "
                              "and 3 (inputs [2] and [3])";
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_VEC(2), (double[]){1, 2});
    ad_var bad = ad_mul(t, x, ad_input(t, AD_VEC(3), NULL));
    ad_var f = ad_sum(t, bad);
    ad_check_report r;
    memset(&r, 0xff, sizeof r);
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_ESHAPE);
    assert_null(r.coords);
    assert_string_equal(ad_tape_error(t), msg);
    assert_int_equal(ad_backward(t, f), AD_ESHAPE);
    assert_int_equal(ad_backward(t, x), AD_ESHAPE); /* even a good variable: the tape is in error */
    /* a setting, not a computation: allowed on a tape in error (documented) */
    assert_int_equal(ad_tape_set_verify(t, AD_VERIFY_OFF), AD_OK);
    double d[2] = {1, 0};
    const double *dir[1] = {d};
    double out = 0;
    assert_int_equal(ad_jvp(t, f, dir, 1, &out), AD_ESHAPE);
    assert_string_equal(ad_tape_error(t), msg);
    ad_check_report_free(&r);
    /* a reset clears the error and the tape works again */
    ad_tape_reset(t);
    x = ad_input(t, AD_VEC(2), (double[]){1, 2});
    f = ad_sum(t, ad_mul(t, x, x));
    assert_int_equal(ad_check_grad(t, f, NULL, &r), AD_OK);
    assert_true(r.pass);
    ad_check_report_free(&r);
    ad_tape_free(t);
}

/* A custom op whose shape rule, attribute check or arity is wrong at record time. */
static ad_status two_only(const ad_op_args *a, ad_shape *out, char *why, size_t len)
{
    size_t n = 0;
    if (ad_shape_count(&a->xs[0], &n) != AD_OK || n != 2) {
        snprintf(why, len, "wants exactly two elements");
        return AD_ESHAPE;
    }
    *out = a->xs[0];
    return AD_OK;
}
static ad_status positive_k(const double *attr, char *why, size_t len)
{
    if (!(attr[0] > 0)) {
        snprintf(why, len, "k must be > 0, got %g", attr[0]);
        return AD_EINVAL;
    }
    return AD_OK;
}
static void scale_fwd(const ad_op_args *a, double *y)
{
    for (size_t i = 0; i < 2; i++)
        y[i] = a->attr[0] * a->x[0][i];
}
static void scale_bwd(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    if (gx[0])
        for (size_t i = 0; i < 2; i++)
            gx[0][i] += a->attr[0] * gy[i];
}
static const char *const k_name[] = {"k"};
static const double k_default[] = {1};
static const ad_op hostile_scale = {.name = "hostile_scale", .math = "k x", .arity = 1, .n_attr = 1,
                                    .attr_name = k_name, .attr_default = k_default,
                                    .shape = two_only, .check_attr = positive_k,
                                    .forward = scale_fwd, .backward = scale_bwd};

static void test_hostile_custom_op_rejections_at_record_time(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_VEC(3), NULL);
    assert_true(ad_var_is_nil(ad_apply(t, &hostile_scale, &x, 1, (double[]){2}, 1)));
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    assert_string_equal(ad_tape_error(t), "ad_hostile_scale: node 1: wants exactly two elements (inputs [3])");
    ad_tape_free(t);

    t = ad_tape_new(NULL);
    x = ad_input(t, AD_VEC(2), NULL);
    assert_true(ad_var_is_nil(ad_apply(t, &hostile_scale, &x, 1, (double[]){-1}, 1)));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_hostile_scale: node 1: k must be > 0, got -1");
    ad_tape_free(t);

    t = ad_tape_new(NULL);
    x = ad_input(t, AD_VEC(2), NULL);
    assert_true(ad_var_is_nil(ad_apply(t, NULL, &x, 1, NULL, 0)));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_apply: node 1: the op is NULL or has no forward");
    ad_tape_free(t);

    /* a custom op works with good input, and the default attribute applies */
    t = ad_tape_new(NULL);
    x = ad_input(t, AD_VEC(2), (double[]){1, 2});
    ad_var y = ad_apply(t, &hostile_scale, &x, 1, NULL, 0);
    assert_int_equal(ad_backward(t, ad_sum(t, y)), AD_OK);
    assert_true(ad_grad(t, x)[0] == 1.0);
    ad_tape_free(t);
}

/* Registration: the cases test_registry.c does not cover, and the table limit. */
static void test_hostile_custom_op_registration_limits(void **state)
{
    (void)state;
    char why[200];
    size_t before = ad_op_count();
    ad_op op = hostile_scale;
    op.name = "";
    assert_int_equal(ad_op_register(&op, why, sizeof why), AD_EINVAL);
    assert_string_equal(why, "ad_op_register: the op has no name");
    op.name = "many_attrs";
    op.n_attr = 5;
    assert_int_equal(ad_op_register(&op, why, sizeof why), AD_EINVAL);
    assert_string_equal(why, "ad_op_register: op 'many_attrs' has more than 4 attributes");
    op.n_attr = 1;
    op.attr_name = NULL;
    assert_int_equal(ad_op_register(&op, why, sizeof why), AD_EINVAL);
    assert_string_equal(why, "ad_op_register: op 'many_attrs' has attributes but no names or defaults");
    op.attr_name = k_name;
    op.n_kinks = 1;
    assert_int_equal(ad_op_register(&op, why, sizeof why), AD_EINVAL);
    assert_string_equal(why, "ad_op_register: op 'many_attrs' declares kinks but gives none");
    assert_int_equal(ad_op_count(), before);
    /* 256 custom ops fit; the 257th is refused; unregistering empties the table */
    static ad_op table[257];
    static char names[257][16];
    size_t ok = 0;
    for (size_t i = 0; i < 257; i++) {
        snprintf(names[i], sizeof names[i], "hostile_%zu", i);
        table[i] = hostile_scale;
        table[i].name = names[i];
        ok += ad_op_register(&table[i], why, sizeof why) == AD_OK;
    }
    assert_int_equal(ok, 256); /* none were registered before */
    assert_int_equal(ad_op_register(&table[256], why, sizeof why), AD_ELIMIT);
    assert_string_equal(why, "ad_op_register: no room for 'hostile_256' (256 custom ops at most)");
    ad_op_unregister_all();
    assert_int_equal(ad_op_count(), before);
    assert_null(ad_op_find("hostile_0"));
}

/* A saved program (ad_check_load) is input too: every malformed file gives
 * AD_EPARSE (or AD_ENOTFOUND) and a message naming the node. */
static void test_hostile_replay_files_are_rejected_with_the_node_named(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        ad_status status;
        const char *msg;
    } cases[] = {
        {"\n", AD_EPARSE, "ad_check_load: not an adcheck replay file (version 1)"},
        {"adcheck-replay 2\n", AD_EPARSE, "ad_check_load: not an adcheck replay file (version 1)"},
        {"adcheck-replay 1\nrelu_at_zero x\n", AD_EPARSE, "ad_check_load: missing relu_at_zero"},
        {"adcheck-replay 1\nrelu_at_zero 2\n", AD_EINVAL,
         "ad_tape_set_relu_at_zero: gradient at 0 must be in [0, 1], got 2"},
        {"adcheck-replay 1\nrelu_at_zero 0\n# only a comment\n", AD_EPARSE, "ad_check_load: missing the loss line"},
        {"adcheck-replay 1\nrelu_at_zero 0\nleaf 0\n", AD_EPARSE, "ad_check_load: node 0: unknown kind 'leaf'"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 1 0\n", AD_EPARSE, "ad_check_load: node 0: nodes must come in order"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 5\n", AD_EPARSE, "ad_check_load: node 0: bad rank"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 1 -1\n", AD_EPARSE, "ad_check_load: node 0: bad dimension 0"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 4 16777216 16777216 1 1\n", AD_EPARSE,
         "ad_check_load: node 0: shape too large"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 1 2 1.5 zz\n", AD_EPARSE,
         "ad_check_load: node 0: value 1 is not a number"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nop 1\n", AD_EPARSE, "ad_check_load: node 1: missing op name"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nop 1 frob 1 0 0\n", AD_ENOTFOUND,
         "ad_check_load: node 1: no op named 'frob' is registered"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nop 1 tanh 9\n", AD_EPARSE,
         "ad_check_load: node 1: bad input count"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nop 1 tanh 1 1 0\n", AD_EPARSE,
         "ad_check_load: node 1: input 0 must name an earlier node"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nop 1 tanh 1 0 x\n", AD_EPARSE,
         "ad_check_load: node 1: bad attribute count"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nop 1 leaky_relu 1 0 1 q\n", AD_EPARSE,
         "ad_check_load: node 1: attribute 0 is not a number"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nop 1 leaky_relu 1 0 1 nan\n", AD_EINVAL,
         "ad_leaky_relu: node 1: attribute slope is nan; attributes must be finite"},
        {"adcheck-replay 1\nrelu_at_zero 0\ninput 0 0 1\nloss 1\n", AD_EPARSE,
         "ad_check_load: the loss must name a loaded node"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ad_tape *t = ad_tape_new(NULL);
        FILE *f = fmemopen((void *)cases[i].text, strlen(cases[i].text), "r");
        assert_non_null(f);
        ad_var loss = AD_NIL;
        ad_status st = ad_check_load(t, f, &loss);
        fclose(f);
        if (st != cases[i].status || strcmp(ad_tape_error(t), cases[i].msg) != 0)
            fail_msg("file %zu: got %s '%s', want %s '%s'", i, ad_status_name(st), ad_tape_error(t),
                     ad_status_name(cases[i].status), cases[i].msg);
        ad_tape_free(t);
    }
    /* NULL arguments and a tape that is not empty */
    ad_tape *t = ad_tape_new(NULL);
    ad_var loss;
    assert_int_equal(ad_check_load(NULL, stdin, &loss), AD_EINVAL);
    assert_int_equal(ad_check_load(t, NULL, &loss), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_check_load: the file is NULL");
    ad_tape_free(t);
    t = ad_tape_new(NULL);
    assert_int_equal(ad_check_load(t, stdin, NULL), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_check_load: loss is NULL");
    ad_tape_free(t);
    t = ad_tape_new(NULL);
    ad_scalar(t, 1);
    assert_int_equal(ad_check_load(t, stdin, &loss), AD_EINVAL);
    assert_string_equal(ad_tape_error(t), "ad_check_load: the tape must be empty (reset it first)");
    ad_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_shape_mismatch_of_every_op_kind),
        cmocka_unit_test(test_hostile_non_finite_and_out_of_range_attributes),
        cmocka_unit_test(test_hostile_backward_twice_gives_the_same_gradients),
        cmocka_unit_test(test_hostile_checking_a_tape_in_error_returns_the_first_error),
        cmocka_unit_test(test_hostile_custom_op_rejections_at_record_time),
        cmocka_unit_test(test_hostile_replay_files_are_rejected_with_the_node_named),
        cmocka_unit_test(test_hostile_custom_op_registration_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
