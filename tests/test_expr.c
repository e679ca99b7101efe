/* test_expr.c - the expression language: parsing, precedence, errors with columns, limits, evaluation on a tape. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "expr.h"
#include "support/grad_assert.h"

/* Parses and evaluates src with the given NAME=VALUE arguments; returns the
 * value and fills grads (one per scalar variable, in order) by backward. */
static double run(const char *src, const char *const *args, size_t n_args, double *grads)
{
    expr e;
    expr_error err;
    if (!expr_parse(src, strlen(src), &e, &err))
        fail_msg("parse of '%s' failed: %s", src, err.msg);
    expr_value vals[8];
    for (size_t k = 0; k < n_args; k++)
        if (!expr_value_parse(args[k], &vals[k], &err))
            fail_msg("value '%s' failed: %s", args[k], err.msg);
    ad_tape *t = ad_tape_new(NULL);
    ad_var y;
    if (!expr_eval(&e, t, vals, n_args, &y, &err))
        fail_msg("eval of '%s' failed: %s", src, err.msg);
    double v = ad_value_scalar(t, y);
    if (grads) {
        assert_int_equal(ad_backward(t, y), AD_OK);
        for (size_t k = 0; k < n_args; k++) {
            const double *g = ad_grad(t, vals[k].var);
            grads[k] = g ? g[0] : 0.0;
        }
    }
    ad_tape_free(t);
    for (size_t k = 0; k < n_args; k++)
        expr_value_free(&vals[k]);
    expr_free(&e);
    return v;
}

/* Expects a parse error whose message contains want, at byte offset pos. */
static void parse_fails(const char *src, size_t len, const char *want, size_t pos)
{
    expr e;
    expr_error err;
    if (expr_parse(src, len, &e, &err)) {
        expr_free(&e);
        fail_msg("'%.40s' parsed, expected an error with '%s'", src, want);
    }
    if (!strstr(err.msg, want))
        fail_msg("error '%s' lacks '%s'", err.msg, want);
    if (pos != (size_t)-1) {
        assert_true(err.has_pos);
        assert_int_equal(err.pos, pos);
    }
}

/* Expects an evaluation error containing want (and a hint containing hint, if given). */
static void eval_fails(const char *src, const char *const *args, size_t n_args, const char *want,
                       const char *hint)
{
    expr e;
    expr_error err;
    if (!expr_parse(src, strlen(src), &e, &err))
        fail_msg("parse of '%s' failed: %s", src, err.msg);
    expr_value vals[8];
    for (size_t k = 0; k < n_args; k++)
        assert_true(expr_value_parse(args[k], &vals[k], &err));
    ad_tape *t = ad_tape_new(NULL);
    ad_var y;
    bool ok = expr_eval(&e, t, vals, n_args, &y, &err);
    ad_tape_free(t);
    for (size_t k = 0; k < n_args; k++)
        expr_value_free(&vals[k]);
    expr_free(&e);
    if (ok)
        fail_msg("'%s' evaluated, expected an error with '%s'", src, want);
    if (!strstr(err.msg, want))
        fail_msg("error '%s' lacks '%s'", err.msg, want);
    if (hint && !strstr(err.hint, hint))
        fail_msg("hint '%s' lacks '%s'", err.hint, hint);
}

static void test_expr_unary_minus_binds_looser_than_power(void **state)
{
    (void)state;
    const char *x[] = {"x=3"};
    double g;
    /* -x^2 = -(x^2) = -9, d/dx = -2x = -6; (-x)^2 would give +9. */
    assert_close(run("-x^2", x, 1, &g), -9.0, 0);
    assert_close(g, -6.0, 0);
    assert_close(run("-3^2", NULL, 0, NULL), -9.0, 0);
    assert_close(run("(-x)^2", x, 1, NULL), 9.0, 0);
    assert_close(run("2^-1", NULL, 0, NULL), 0.5, 0);
}

static void test_expr_power_is_right_associative(void **state)
{
    (void)state;
    /* 2^(3^2) = 512, (2^3)^2 = 64; ** is the same operator. */
    assert_close(run("2^3^2", NULL, 0, NULL), 512.0, 0);
    assert_close(run("2**3**2", NULL, 0, NULL), 512.0, 0);
    assert_close(run("(2^3)^2", NULL, 0, NULL), 64.0, 0);
    const char *x[] = {"x=2"};
    double g;
    /* x^3^1 = x^3 = 8, d/dx 3x^2 = 12 */
    assert_close(run("x^3^1", x, 1, &g), 8.0, 1e-15);
    assert_close(g, 12.0, 1e-15);
}

static void test_expr_power_with_a_variable_exponent(void **state)
{
    (void)state;
    const char *xy[] = {"x=2", "y=3"};
    double g[2];
    /* x^y = 8; d/dx = y x^(y-1) = 12; d/dy = x^y ln x = 8 ln 2 (the registry's
     * pow, or exp(y log x) where x > 0 when there is none) */
    assert_close(run("x^y", xy, 2, g), 8.0, 4e-16);
    assert_close(g[0], 12.0, 4e-15);
    assert_close(g[1], 8.0 * log(2.0), 4e-15);
    /* x^-2 at x = 2 by multiplication: 1/4; d/dx = -2 x^-3 = -1/4 */
    const char *x[] = {"x=2"};
    assert_close(run("x^-2", x, 1, g), 0.25, 0);
    assert_close(g[0], -0.25, 0);
    if (!ad_op_find("pow")) /* exp(y log x) is wrong for a base <= 0: refused */
        eval_fails("x^y", (const char *[]){"x=-2", "y=3"}, 2, "needs the op 'pow'", NULL);
    else
        assert_close(run("x^y", (const char *[]){"x=-2", "y=3"}, 2, NULL), -8.0, 0);
}

static void test_expr_arithmetic_precedence_and_gradients(void **state)
{
    (void)state;
    const char *xy[] = {"x=2", "y=5"};
    double g[2];
    /* 1 + x*y - x/y = 1 + 10 - 0.4; d/dx = y - 1/y = 4.8; d/dy = x + x/y^2 = 2.08 */
    assert_close(run("1 + x*y - x/y", xy, 2, g), 10.6, 1e-15);
    assert_close(g[0], 4.8, 1e-15);
    assert_close(g[1], 2.08, 1e-15);
    /* left associativity: 10 - 4 - 3 = 3, 64 / 4 / 2 = 8 */
    assert_close(run("10 - 4 - 3", NULL, 0, NULL), 3.0, 0);
    assert_close(run("64 / 4 / 2", NULL, 0, NULL), 8.0, 0);
    /* calls through the registry: exp(log(x)) = x, tanh'(0) = 1 */
    assert_close(run("exp(log(x)) + tanh(y - 5)", xy, 2, g), 2.0, 1e-15);
    assert_close(g[0], 1.0, 1e-15);
    assert_close(g[1], 1.0, 1e-15);
}

static void test_expr_numbers_hex_inf_nan(void **state)
{
    (void)state;
    assert_close(run("0x1.8p3", NULL, 0, NULL), 12.0, 0);
    assert_close(run("0X10p-4", NULL, 0, NULL), 1.0, 0);
    assert_close(run("1.5e2 + .5 + 2.", NULL, 0, NULL), 152.5, 0);
    assert_true(isinf(run("inf", NULL, 0, NULL)) && run("inf", NULL, 0, NULL) > 0);
    assert_true(isinf(run("-inf", NULL, 0, NULL)) && run("-inf", NULL, 0, NULL) < 0);
    assert_true(isnan(run("nan", NULL, 0, NULL)));
    /* 4.9e-324 is the smallest subnormal: underflow is the nearest double, not an error */
    assert_true(run("4.9e-324", NULL, 0, NULL) > 0);
    const char *v[] = {"x=-0x1p-2"};
    assert_close(run("x", v, 1, NULL), -0.25, 0);
}

static void test_expr_vectors_indexing_and_reductions(void **state)
{
    (void)state;
    const char *v[] = {"v=[1, 2, 3]"};
    /* sum = 6, mean = 2, dot(v, v) = 14, v[2] = 3 */
    assert_close(run("sum(v)", v, 1, NULL), 6.0, 0);
    assert_close(run("mean(v)", v, 1, NULL), 2.0, 0);
    assert_close(run("dot(v, v)", v, 1, NULL), 14.0, 0);
    assert_close(run("v[2]", v, 1, NULL), 3.0, 0);
    assert_close(run("dot(v, [1, 0, -1])", v, 1, NULL), -2.0, 0);
    /* a literal with computed elements: [x, 2x, 3][1] = 2x */
    const char *x[] = {"x=4"};
    double g;
    assert_close(run("[x, 2*x, 3][1]", x, 1, &g), 8.0, 0);
    assert_close(g, 2.0, 0);
    /* sum([x, x^2, 1]) = x + x^2 + 1 = 21; d/dx = 1 + 2x = 9 */
    assert_close(run("sum([x, x^2, 1])", x, 1, &g), 21.0, 1e-15);
    assert_close(g, 9.0, 1e-15);
    /* the attribute of a registry op comes after its inputs: sum_axis(v, 0) */
    assert_close(run("sum_axis(v, 0)", v, 1, NULL), 6.0, 0);
}

static void test_expr_errors_name_the_column(void **state)
{
    (void)state;
    parse_fails("", 0, "empty", 0);
    parse_fails("   ", 3, "empty", 3);
    parse_fails("x +", 3, "ends where a value is expected", 3);
    parse_fails("x + * y", 7, "expected a number", 4);
    parse_fails("(x + 1", 6, "never closed", 0);
    parse_fails("x + 1)", 6, "unmatched ')'", 5);
    parse_fails("f(x,", 4, "ends where a value", 4);
    parse_fails("x $ y", 5, "unexpected character '$'", 2);
    parse_fails("1e", 2, "exponent", 1);
    parse_fails("0x1.8", 5, "binary exponent", 5);
    parse_fails("2x", 2, "right after a number", 1);
    parse_fails("1e999", 5, "overflows a double", 0);
    parse_fails("-1e400", 6, "overflows a double", 1);
    parse_fails("v[1.5]", 6, "non-negative integer", 2);
    parse_fails("v[-1]", 5, "non-negative integer", 2);
    parse_fails("x\xff", 2, "unexpected byte 0xff", 1);
    parse_fails("x\0y", 3, "unexpected byte 0x00", 1);
    parse_fails("[]", 2, "empty vector", 0);
}

static void test_expr_limits_have_their_own_errors(void **state)
{
    (void)state;
    /* 10^6 opening parentheses: the depth limit, not the C stack */
    size_t n = 1000000;
    char *s = malloc(n + 2);
    assert_non_null(s);
    memset(s, '(', n);
    s[n] = 'x';
    parse_fails(s, n + 1, "nesting deeper than 256", EXPR_MAX_DEPTH);
    memset(s, '-', n);
    parse_fails(s, n + 1, "nesting deeper than 256", EXPR_MAX_DEPTH);
    /* 10^6-character identifier */
    memset(s, 'a', n + 1);
    parse_fails(s, n + 1, "this name has 1000001 characters; the limit is 255", 0);
    free(s);
    /* input length */
    size_t big = EXPR_MAX_INPUT + 1;
    s = malloc(big);
    assert_non_null(s);
    memset(s, ' ', big);
    s[0] = 'x';
    parse_fails(s, big, "the limit is 1048576 bytes", (size_t)-1);
    free(s);
    /* 256 levels are fine, 257 are not */
    char buf[600];
    memset(buf, '(', 256);
    buf[256] = '1';
    memset(buf + 257, ')', 256);
    assert_close(run((buf[513] = '\0', buf), NULL, 0, NULL), 1.0, 0);
    /* a long flat chain is not nesting: 20000 additions evaluate with no recursion */
    size_t terms = 20000;
    s = malloc(2 * terms + 1);
    assert_non_null(s);
    for (size_t k = 0; k < terms; k++)
        s[2 * k] = '1', s[2 * k + 1] = '+';
    s[2 * terms - 1] = '\0';
    assert_close(run(s, NULL, 0, NULL), 20000.0, 0);
    free(s);
}

static void test_expr_unknown_names_get_suggestions(void **state)
{
    (void)state;
    const char *x[] = {"x=1"};
    eval_fails("tahn(x)", x, 1, "unknown function 'tahn'", "did you mean 'tanh'?");
    eval_fails("rleu(x)", x, 1, "unknown function 'rleu'", "'relu'");
    eval_fails("dto(x, x)", x, 1, "unknown function 'dto'", "'dot'");
    eval_fails("zzzzzzzz(x)", x, 1, "unknown function", NULL);
    const char *ab[] = {"alpha=1"};
    eval_fails("alpah + 1", ab, 1, "the variable 'alpah' has no value", "did you mean 'alpha'?");
    /* one letter is one edit from every other letter: no suggestion */
    expr e;
    expr_error err;
    expr_value v;
    assert_true(expr_parse("n", 1, &e, &err));
    assert_true(expr_value_parse("m=1", &v, &err));
    ad_tape *t = ad_tape_new(NULL);
    ad_var y;
    assert_false(expr_eval(&e, t, &v, 1, &y, &err));
    assert_string_equal(err.hint, "");
    ad_tape_free(t);
    expr_value_free(&v);
    expr_free(&e);
}

static void test_expr_evaluation_errors(void **state)
{
    (void)state;
    const char *v[] = {"v=[1, 2]"};
    const char *x[] = {"x=1"};
    const char *xy[] = {"x=1", "y=2"};
    eval_fails("v", v, 1, "must be a scalar", NULL);
    eval_fails("v[2]", v, 1, "out of range", NULL);
    eval_fails("x[0]", x, 1, "only a vector can be indexed", NULL);
    eval_fails("x", xy, 2, "'y' is given a value but the expression does not use it", NULL);
    eval_fails("exp(x, x)", x, 1, "exp takes 1 argument, got 2", NULL);
    eval_fails("exp() + x", x, 1, "exp takes 1 argument, got 0", NULL);
    eval_fails("sum_axis(v, x)", (const char *[]){"v=[1,2]", "x=0"}, 2, "must be a constant number",
               NULL);
    eval_fails("[v, 1][0]", v, 1, "elements must be scalars", NULL);
    eval_fails("v + [1, 2, 3]", v, 1, "shape", NULL);
}

static void test_expr_values_parse_numbers_and_vectors(void **state)
{
    (void)state;
    expr_value v;
    expr_error err;
    assert_true(expr_value_parse("w=[1, -2, 0x1p-1]", &v, &err));
    assert_string_equal(v.name, "w");
    assert_int_equal(v.n, 3);
    assert_true(v.is_vector);
    assert_close(v.data[1], -2.0, 0);
    assert_close(v.data[2], 0.5, 0);
    expr_value_free(&v);
    assert_true(expr_value_parse("x=-inf", &v, &err));
    assert_true(isinf(v.data[0]) && v.data[0] < 0 && !v.is_vector);
    expr_value_free(&v);
    assert_false(expr_value_parse("x", &v, &err));
    assert_non_null(strstr(err.msg, "NAME=VALUE"));
    assert_false(expr_value_parse("=3", &v, &err));
    assert_false(expr_value_parse("1x=3", &v, &err));
    assert_false(expr_value_parse("x=y", &v, &err));
    assert_non_null(strstr(err.msg, "must be a number"));
    assert_false(expr_value_parse("x=1e999", &v, &err));
    assert_non_null(strstr(err.msg, "overflows"));
    assert_int_equal(err.pos, 2);
    assert_false(expr_value_parse("x=[1, y]", &v, &err));
    assert_int_equal(err.pos, 6);
    /* a matrix is a vector of equal rows, row-major */
    assert_true(expr_value_parse("A=[[1, 2, 3], [4, 5, 6]]", &v, &err));
    assert_int_equal(v.shape.rank, 2);
    assert_int_equal(v.shape.dim[0], 2);
    assert_int_equal(v.shape.dim[1], 3);
    assert_close(v.data[4], 5.0, 0);
    expr_value_free(&v);
    assert_false(expr_value_parse("A=[[1, 2], [3]]", &v, &err));
    assert_non_null(strstr(err.msg, "same length"));
    assert_int_equal(err.pos, 11);
}

static void test_expr_error_print_points_a_caret_at_the_column(void **state)
{
    (void)state;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    expr_error err = {.pos = 4, .has_pos = true};
    strcpy(err.msg, "unknown function 'tahn'");
    strcpy(err.hint, "did you mean 'tanh'?");
    expr_error_print("1 + tahn(x)", 11, &err, f);
    fclose(f);
    assert_string_equal(out, "adcheck: error: unknown function 'tahn' at column 5\n"
                             "  1 + tahn(x)\n"
                             "      ^\n"
                             "  did you mean 'tanh'?\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expr_unary_minus_binds_looser_than_power),
        cmocka_unit_test(test_expr_power_is_right_associative),
        cmocka_unit_test(test_expr_power_with_a_variable_exponent),
        cmocka_unit_test(test_expr_arithmetic_precedence_and_gradients),
        cmocka_unit_test(test_expr_numbers_hex_inf_nan),
        cmocka_unit_test(test_expr_vectors_indexing_and_reductions),
        cmocka_unit_test(test_expr_errors_name_the_column),
        cmocka_unit_test(test_expr_limits_have_their_own_errors),
        cmocka_unit_test(test_expr_unknown_names_get_suggestions),
        cmocka_unit_test(test_expr_evaluation_errors),
        cmocka_unit_test(test_expr_values_parse_numbers_and_vectors),
        cmocka_unit_test(test_expr_error_print_points_a_caret_at_the_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
