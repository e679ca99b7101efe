/* test_registry.c - lookup by name, descriptors complete, custom ops validated. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>

static void test_registry_finds_every_first_op_by_name(void **state)
{
    (void)state;
    const char *names[] = {"add", "sub", "mul", "div", "neg", "matmul", "sum", "mean",
                           "sum_axis", "mean_axis", "exp", "log", "sqrt", "tanh", "relu",
                           /* issue 4's op library, by its registry names */
                           "expm1", "log1p", "square", "pow", "sin", "cos", "sigmoid", "logsigmoid",
                           "softplus", "softsign", "erf", "gelu", "gelu_tanh", "silu", "mish", "elu",
                           "selu", "celu", "leaky_relu", "prelu", "relu6", "hardtanh", "hardsigmoid",
                           "hardswish", "abs", "max", "min", "clamp", "softmax", "log_softmax",
                           "logsumexp", "layer_norm", "dot", "mse", "l1_loss", "huber",
                           "cross_entropy", "nll", "bce_with_logits", "l1_penalty", "l2_penalty",
                           "dropout"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const ad_op *op = ad_op_find(names[i]);
        if (!op)
            fail_msg("op %s is not registered", names[i]);
        assert_string_equal(op->name, names[i]);
    }
    assert_null(ad_op_find("no_such_op"));
    assert_null(ad_op_find(NULL));
    assert_null(ad_op_at(ad_op_count()));
}

static void test_registry_every_builtin_fills_every_slot(void **state)
{
    (void)state;
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        if (!op->math || !op->forward || !op->backward || !op->jvp || !op->reference)
            fail_msg("op %s lacks a slot", op->name);
        if (!(op->ulp_fwd >= 0 && op->ulp_bwd >= 0))
            fail_msg("op %s has no ulp bounds", op->name);
        for (unsigned k = 0; k < op->arity; k++)
            if (!(op->domain.lo[k] < op->domain.hi[k]))
                fail_msg("op %s: input %u has an empty domain", op->name, k);
        if (op->flags & AD_OP_KINK_GRAD)
            if (!op->piece || op->n_kinks == 0)
                fail_msg("op %s reads the kink setting but declares no kink", op->name);
        for (unsigned k = 0; k < op->n_kinks; k++)
            if (!op->kinks[k].why || !op->kinks[k].why[0])
                fail_msg("op %s: kink %u has no reason", op->name, k);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(op->name, ad_op_at(j)->name);
    }
}

/* A custom op: y = 3x. */
static void triple_forward(const ad_op_args *a, double *y) { y[0] = 3 * a->x[0][0]; }
static void triple_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    (void)a;
    if (gx[0])
        gx[0][0] += 3 * gy[0];
}

static void test_custom_op_registers_and_records_like_a_builtin(void **state)
{
    (void)state;
    static const ad_op triple = {.name = "triple", .math = "3x", .arity = 1,
                                 .forward = triple_forward, .backward = triple_backward};
    char why[200];
    assert_int_equal(ad_op_register(&triple, why, sizeof why), AD_OK);
    assert_ptr_equal(ad_op_find("triple"), &triple);
    assert_int_equal(ad_op_register(&triple, why, sizeof why), AD_EEXIST);
    assert_string_equal(why, "ad_op_register: an op named 'triple' is already registered");
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 2.0);
    ad_var y = ad_apply(t, ad_op_find("triple"), &x, 1, NULL, 0);
    assert_true(ad_value_scalar(t, y) == 6.0);
    assert_int_equal(ad_backward(t, y), AD_OK);
    assert_true(ad_grad(t, x)[0] == 3.0);
    ad_tape_free(t);
    ad_op_unregister_all();
    assert_null(ad_op_find("triple"));
}

static void test_custom_op_with_missing_slot_or_bad_name_is_rejected(void **state)
{
    (void)state;
    size_t before = ad_op_count();
    char why[200];
    const ad_op no_backward = {.name = "nb", .arity = 1, .forward = triple_forward};
    assert_int_equal(ad_op_register(&no_backward, why, sizeof why), AD_EINVAL);
    assert_string_equal(why, "ad_op_register: op 'nb' has no backward");
    const ad_op no_forward = {.name = "nf", .arity = 1, .backward = triple_backward};
    assert_int_equal(ad_op_register(&no_forward, why, sizeof why), AD_EINVAL);
    assert_string_equal(why, "ad_op_register: op 'nf' has no forward");
    const ad_op bad_name = {.name = "1x", .arity = 1, .forward = triple_forward, .backward = triple_backward};
    assert_int_equal(ad_op_register(&bad_name, why, sizeof why), AD_EINVAL);
    assert_non_null(strstr(why, "must be an identifier"));
    const ad_op bad_arity = {.name = "ar", .arity = 4, .forward = triple_forward, .backward = triple_backward};
    assert_int_equal(ad_op_register(&bad_arity, why, sizeof why), AD_EINVAL);
    const ad_op clash = {.name = "relu", .arity = 1, .forward = triple_forward, .backward = triple_backward};
    assert_int_equal(ad_op_register(&clash, why, sizeof why), AD_EEXIST);
    assert_int_equal(ad_op_register(NULL, why, sizeof why), AD_EINVAL);
    assert_int_equal(ad_op_register(NULL, NULL, 0), AD_EINVAL);
    assert_int_equal(ad_op_count(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_finds_every_first_op_by_name),
        cmocka_unit_test(test_registry_every_builtin_fills_every_slot),
        cmocka_unit_test(test_custom_op_registers_and_records_like_a_builtin),
        cmocka_unit_test(test_custom_op_with_missing_slot_or_bad_name_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
