/* test_ops.c - every first op's forward and gradient against hand-derived formulas. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>
#include "support/grad_assert.h"

/* The ReLU table of the seed: -5, -2, 0, 3, 6 -> 0, 0, 0, 3, 6; gradient at 0 is the setting. */
static void test_relu_table_and_grad_at_zero_uses_tape_setting(void **state)
{
    (void)state;
    const double in[5] = {-5, -2, 0, 3, 6}, out[5] = {0, 0, 0, 3, 6};
    const double settings[3] = {0.0, 0.5, 1.0};
    for (int s = 0; s < 3; s++) {
        ad_tape *t = ad_tape_new(NULL);
        assert_int_equal(ad_tape_set_relu_at_zero(t, settings[s]), AD_OK);
        ad_var x = ad_input(t, AD_VEC(5), in);
        ad_var y = ad_relu(t, x);
        assert_all_close(ad_value(t, y), out, 5, 0);
        assert_int_equal(ad_backward(t, ad_sum(t, y)), AD_OK);
        const double want[5] = {0, 0, settings[s], 1, 1};
        assert_all_close(ad_grad(t, x), want, 5, 0);
        ad_tape_free(t);
    }
}

static void test_relu_of_nan_is_nan_with_nan_gradient(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, NAN);
    ad_var y = ad_relu(t, x);
    assert_true(isnan(ad_value_scalar(t, y)));
    assert_int_equal(ad_backward(t, y), AD_OK);
    assert_true(isnan(ad_grad(t, x)[0]));
    ad_tape_free(t);
}

/* Scalar gradient of f(a, b) by one backward. */
typedef ad_var (*binary_builder)(ad_tape *, ad_var, ad_var);

static void scalar_grads(binary_builder op, double a, double b, double *y, double *ga, double *gb)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_var va = ad_scalar(t, a), vb = ad_scalar(t, b);
    ad_var f = op(t, va, vb);
    assert_int_equal(ad_backward(t, f), AD_OK);
    *y = ad_value_scalar(t, f);
    *ga = ad_grad(t, va)[0];
    *gb = ad_grad(t, vb)[0];
    ad_tape_free(t);
}

static void test_arith_gradients_match_formulas(void **state)
{
    (void)state;
    double y, ga, gb, a = 1.5, b = -2.5;
    scalar_grads(ad_add, a, b, &y, &ga, &gb);
    assert_close(y, a + b, 0); assert_close(ga, 1, 0); assert_close(gb, 1, 0);
    scalar_grads(ad_sub, a, b, &y, &ga, &gb);
    assert_close(y, a - b, 0); assert_close(ga, 1, 0); assert_close(gb, -1, 0);
    scalar_grads(ad_mul, a, b, &y, &ga, &gb);
    assert_close(y, a * b, 0); assert_close(ga, b, 0); assert_close(gb, a, 0);
    scalar_grads(ad_div, a, b, &y, &ga, &gb);
    assert_close(y, a / b, 1e-16); assert_close(ga, 1 / b, 1e-16); assert_close(gb, -a / (b * b), 1e-15);
}

typedef ad_var (*unary_builder)(ad_tape *, ad_var);

static double unary_grad(unary_builder op, double x, double *y)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_var v = ad_scalar(t, x);
    ad_var f = op(t, v);
    assert_int_equal(ad_backward(t, f), AD_OK);
    *y = ad_value_scalar(t, f);
    double g = ad_grad(t, v)[0];
    ad_tape_free(t);
    return g;
}

static void test_unary_gradients_match_formulas(void **state)
{
    (void)state;
    const double xs[] = {0.25, 1.0, 3.5};
    for (size_t i = 0; i < 3; i++) {
        double x = xs[i], y;
        assert_close(unary_grad(ad_neg, x, &y), -1.0, 0);
        assert_close(y, -x, 0);
        assert_close(unary_grad(ad_exp, x, &y), exp(x), 1e-15);
        assert_close(y, exp(x), 0);
        assert_close(unary_grad(ad_log, x, &y), 1.0 / x, 1e-15);
        assert_close(y, log(x), 0);
        assert_close(unary_grad(ad_sqrt, x, &y), 0.5 / sqrt(x), 1e-15);
        assert_close(y, sqrt(x), 0);
        double th = tanh(x);
        assert_close(unary_grad(ad_tanh, x, &y), 1.0 - th * th, 1e-14);
        assert_close(y, th, 0);
    }
}

/* tanh' = 1 - tanh^2 is 4e^-2|x| / (1 + e^-2|x|)^2: at x = 20 it is about 1.7e-17,
 * which the naive formula rounds to exactly 0. */
static void test_tanh_gradient_is_accurate_where_naive_formula_cancels(void **state)
{
    (void)state;
    double y, g = unary_grad(ad_tanh, 20.0, &y);
    double e = exp(-40.0), want = 4 * e / ((1 + e) * (1 + e)); /* sech^2(20), derived by hand */
    assert_true(1.0 - y * y == 0.0);                           /* the naive formula's answer */
    assert_close(g / want, 1.0, 1e-14);
    g = unary_grad(ad_tanh, -20.0, &y);
    assert_close(g / want, 1.0, 1e-14);
}

static void test_sqrt_gradient_at_zero_is_plus_infinity(void **state)
{
    (void)state;
    double y, g = unary_grad(ad_sqrt, 0.0, &y);
    assert_true(y == 0.0);
    assert_true(isinf(g) && g > 0);
}

/* Broadcasting: a bias row over a batch, a scalar with a tensor; backward sums
 * the gradient back to each input's shape. */
static void test_broadcast_bias_row_and_scalar_reduce_gradients(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    const double X[6] = {1, 2, 3, 4, 5, 6};
    ad_var x = ad_input(t, AD_MAT(2, 3), X);
    ad_var b = ad_input(t, AD_VEC(3), (double[]){10, 20, 30});
    ad_var s = ad_scalar(t, 2.0);
    ad_var y = ad_mul(t, ad_add(t, x, b), s); /* y_ij = 2 (x_ij + b_j) */
    ad_shape ys = ad_var_shape(t, y);
    assert_int_equal(ys.rank, 2);
    assert_int_equal(ys.dim[0], 2);
    assert_int_equal(ys.dim[1], 3);
    const double want_y[6] = {22, 44, 66, 28, 50, 72};
    assert_all_close(ad_value(t, y), want_y, 6, 0);
    /* loss = sum_ij w_ij y_ij with weights 1..6 */
    ad_var w = ad_const(t, AD_MAT(2, 3), X);
    assert_int_equal(ad_backward(t, ad_sum(t, ad_mul(t, w, y))), AD_OK);
    const double want_gx[6] = {2, 4, 6, 8, 10, 12};             /* 2 w_ij              */
    const double want_gb[3] = {2 * (1 + 4), 2 * (2 + 5), 2 * (3 + 6)}; /* 2 sum_i w_ij */
    assert_all_close(ad_grad(t, x), want_gx, 6, 0);
    assert_all_close(ad_grad(t, b), want_gb, 3, 0);
    /* ds = sum_ij w_ij (x_ij + b_j) = sum w*x + sum_j b_j * colsum(w)_j */
    double want_gs = (1 + 4 + 9 + 16 + 25 + 36) + 10 * 5 + 20 * 7 + 30 * 9;
    assert_close(ad_grad(t, s)[0], want_gs, 0);
    ad_tape_free(t);
}

static void test_broadcast_column_against_row_makes_outer_sum(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var c = ad_input(t, AD_MAT(3, 1), (double[]){1, 2, 3});
    ad_var r = ad_input(t, AD_MAT(1, 2), (double[]){10, 20});
    ad_var y = ad_sub(t, c, r);
    const double want[6] = {-9, -19, -8, -18, -7, -17};
    assert_all_close(ad_value(t, y), want, 6, 0);
    assert_int_equal(ad_backward(t, ad_sum(t, y)), AD_OK);
    const double gc[3] = {2, 2, 2}, gr[2] = {-3, -3};
    assert_all_close(ad_grad(t, c), gc, 3, 0);
    assert_all_close(ad_grad(t, r), gr, 2, 0);
    ad_tape_free(t);
}

static void test_broadcast_mismatch_names_the_dimension(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_input(t, AD_MAT(2, 3), NULL);
    ad_var b = ad_input(t, AD_MAT(3, 2), NULL);
    assert_true(ad_var_is_nil(ad_mul(t, a, b)));
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    assert_string_equal(ad_tape_error(t), "ad_mul: node 2: shapes do not broadcast: dimension 0 "
                                          "from the right is 3 and 2 (inputs [2, 3] and [3, 2])");
    ad_tape_free(t);
}

/* matmul: dA = G B^T, dB = A^T G, checked element by element. */
static void test_matmul_gradients_are_g_bt_and_at_g(void **state)
{
    (void)state;
    const double A[6] = {1, 2, 3, 4, 5, 6};       /* 2x3 */
    const double B[6] = {7, 8, 9, 10, 11, 12};    /* 3x2 */
    const double G[4] = {1, -1, 2, 0.5};          /* 2x2 weights of the loss */
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_input(t, AD_MAT(2, 3), A), b = ad_input(t, AD_MAT(3, 2), B);
    ad_var y = ad_matmul(t, a, b);
    const double want_y[4] = {58, 64, 139, 154};
    assert_all_close(ad_value(t, y), want_y, 4, 0);
    assert_int_equal(ad_backward(t, ad_sum(t, ad_mul(t, ad_const(t, AD_MAT(2, 2), G), y))), AD_OK);
    double dA[6] = {0}, dB[6] = {0};
    for (int i = 0; i < 2; i++)
        for (int p = 0; p < 3; p++)
            for (int j = 0; j < 2; j++) {
                dA[i * 3 + p] += G[i * 2 + j] * B[p * 2 + j];
                dB[p * 2 + j] += A[i * 3 + p] * G[i * 2 + j];
            }
    assert_all_close(ad_grad(t, a), dA, 6, 0);
    assert_all_close(ad_grad(t, b), dB, 6, 0);
    ad_tape_free(t);
}

static void test_matmul_batched_matches_per_batch_products(void **state)
{
    (void)state;
    double A[2 * 2 * 3], B[2 * 3 * 2];
    for (int i = 0; i < 12; i++) {
        A[i] = i + 1;
        B[i] = 0.5 * i - 2;
    }
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_input(t, (ad_shape){3, {2, 2, 3}}, A);
    ad_var b = ad_input(t, (ad_shape){3, {2, 3, 2}}, B);
    ad_var y = ad_matmul(t, a, b);
    const double *yv = ad_value(t, y);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double s = 0;
                for (int p = 0; p < 3; p++)
                    s += A[n * 6 + i * 3 + p] * B[n * 6 + p * 2 + j];
                assert_close(yv[n * 4 + i * 2 + j], s, 0);
            }
    assert_int_equal(ad_backward(t, ad_sum(t, y)), AD_OK);
    /* with G = ones: dA_nip = sum_j B_npj */
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 2; i++)
            for (int p = 0; p < 3; p++)
                assert_close(ad_grad(t, a)[n * 6 + i * 3 + p], B[n * 6 + p * 2] + B[n * 6 + p * 2 + 1], 0);
    ad_tape_free(t);
}

static void test_matmul_shape_errors_are_explained(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var a = ad_input(t, AD_MAT(2, 3), NULL), b = ad_input(t, AD_MAT(4, 2), NULL);
    assert_true(ad_var_is_nil(ad_matmul(t, a, b)));
    assert_string_equal(ad_tape_error(t),
                        "ad_matmul: node 2: inner dimensions differ: 3 and 4 (inputs [2, 3] and [4, 2])");
    ad_tape_reset(t);
    a = ad_input(t, AD_VEC(3), NULL);
    b = ad_input(t, AD_MAT(3, 2), NULL);
    assert_true(ad_var_is_nil(ad_matmul(t, a, b)));
    assert_int_equal(ad_tape_status(t), AD_ESHAPE);
    assert_non_null(strstr(ad_tape_error(t), "got ranks 1 and 2"));
    ad_tape_free(t);
}

static void test_sum_and_mean_over_all_and_along_axes(void **state)
{
    (void)state;
    const double X[6] = {1, 2, 3, 4, 5, 6}; /* 2x3 */
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 3), X);
    ad_var s0 = ad_sum_axis(t, x, 0), s1 = ad_sum_axis(t, x, -1), m0 = ad_mean_axis(t, x, 0);
    const double want_s0[3] = {5, 7, 9}, want_s1[2] = {6, 15}, want_m0[3] = {2.5, 3.5, 4.5};
    assert_all_close(ad_value(t, s0), want_s0, 3, 0);
    assert_all_close(ad_value(t, s1), want_s1, 2, 0);
    assert_all_close(ad_value(t, m0), want_m0, 3, 0);
    assert_close(ad_value_scalar(t, ad_sum(t, x)), 21, 0);
    assert_close(ad_value_scalar(t, ad_mean(t, x)), 3.5, 0);
    /* loss = sum_j c_j s0_j + sum_i d_i s1_i + sum_j m0_j  ->  dx_ij = c_j + d_i + 1/2 */
    ad_var c = ad_const(t, AD_VEC(3), (double[]){1, 2, 3});
    ad_var d = ad_const(t, AD_VEC(2), (double[]){10, 20});
    ad_var loss = ad_add(t, ad_add(t, ad_sum(t, ad_mul(t, c, s0)), ad_sum(t, ad_mul(t, d, s1))),
                         ad_sum(t, m0));
    assert_int_equal(ad_backward(t, loss), AD_OK);
    const double want[6] = {11.5, 12.5, 13.5, 21.5, 22.5, 23.5};
    assert_all_close(ad_grad(t, x), want, 6, 0);
    ad_tape_free(t);
}

static void test_axis_out_of_range_or_fractional_is_rejected(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_MAT(2, 3), NULL);
    assert_true(ad_var_is_nil(ad_sum_axis(t, x, 2)));
    assert_non_null(strstr(ad_tape_error(t), "axis 2 is out of range for rank 2"));
    ad_tape_reset(t);
    x = ad_input(t, AD_MAT(2, 3), NULL);
    assert_true(ad_var_is_nil(ad_apply(t, &ad_op_sum_axis, &x, 1, (double[]){0.5}, 1)));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    assert_non_null(strstr(ad_tape_error(t), "axis must be an integer, got 0.5"));
    ad_tape_reset(t);
    x = ad_input(t, AD_MAT(2, 3), NULL);
    assert_true(ad_var_is_nil(ad_apply(t, &ad_op_sum_axis, &x, 1, (double[]){NAN}, 1)));
    assert_non_null(strstr(ad_tape_error(t), "attribute axis is nan; attributes must be finite"));
    ad_tape_free(t);
}

static void test_apply_rejects_wrong_arity_and_extra_attributes(void **state)
{
    (void)state;
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, 1.0);
    assert_true(ad_var_is_nil(ad_apply(t, &ad_op_add, &x, 1, NULL, 0)));
    assert_string_equal(ad_tape_error(t), "ad_add: node 1: 1 inputs given, the op takes 2");
    ad_tape_reset(t);
    x = ad_scalar(t, 1.0);
    assert_true(ad_var_is_nil(ad_apply(t, &ad_op_exp, &x, 1, (double[]){1}, 1)));
    assert_non_null(strstr(ad_tape_error(t), "1 attributes given, the op takes at most 0"));
    ad_tape_reset(t);
    assert_true(ad_var_is_nil(ad_apply(t, NULL, &x, 1, NULL, 0)));
    assert_int_equal(ad_tape_status(t), AD_EINVAL);
    ad_tape_free(t);
}

/* Every op's jvp agrees with its backward: <u, J^T v> == <J u, v> (a first
 * dot-product test on each op at its sample shapes). */
static void test_every_builtin_jvp_is_the_transpose_of_its_backward(void **state)
{
    (void)state;
    for (size_t k = 0; k < ad_op_count(); k++) {
        const ad_op *op = ad_op_at(k);
        ad_tape *t = ad_tape_new(NULL);
        ad_var in[AD_MAX_ARITY];
        double seed = 0.37;
        for (unsigned i = 0; i < op->arity; i++) {
            ad_shape s = op->sample_shapes ? op->sample_shapes[i] : AD_SCALAR;
            size_t n;
            assert_int_equal(ad_shape_count(&s, &n), AD_OK);
            double v[64];
            for (size_t j = 0; j < n; j++) {
                seed = fmod(seed * 7.31 + 0.123, 1.0);
                v[j] = op->domain.lo[i] + (op->domain.hi[i] - op->domain.lo[i]) * (0.1 + 0.8 * seed);
                if (op->int_inputs & (1u << i))
                    v[j] = floor(op->domain.lo[i] + (op->domain.hi[i] - op->domain.lo[i] + 1) * seed);
                else if (v[j] == 0.0)
                    v[j] = 0.5; /* stay off relu's kink */
            }
            in[i] = ad_input(t, s, v);
        }
        ad_var y = ad_apply(t, op, in, op->arity, NULL, 0);
        assert_int_equal(ad_tape_status(t), AD_OK);
        ad_shape ys = ad_var_shape(t, y);
        size_t m;
        ad_shape_count(&ys, &m);
        /* reverse: loss = <v, y> */
        double v[64];
        for (size_t j = 0; j < m; j++)
            v[j] = 1.0 + 0.25 * (double)j;
        ad_var loss = ad_sum(t, ad_mul(t, ad_const(t, ys, v), y));
        assert_int_equal(ad_backward(t, loss), AD_OK);
        /* forward: J u, via the op's jvp on the recorded values */
        ad_op_args a = {.n_in = op->arity, .y = ad_value(t, y), .ys = ys, .attr = op->attr_default,
                        .kink_grad = 0.0};
        double u[AD_MAX_ARITY][64], ju[64];
        const double *dx[AD_MAX_ARITY] = {NULL};
        double lhs = 0.0;
        for (unsigned i = 0; i < op->arity; i++) {
            a.x[i] = ad_value(t, in[i]);
            a.xs[i] = ad_var_shape(t, in[i]);
            size_t n;
            ad_shape_count(&a.xs[i], &n);
            for (size_t j = 0; j < n; j++) {
                u[i][j] = 0.5 - 0.125 * (double)((j + i) % 7);
                lhs += u[i][j] * ad_grad(t, in[i])[j];
            }
            dx[i] = u[i];
        }
        op->jvp(&a, dx, ju);
        double rhs = 0.0;
        for (size_t j = 0; j < m; j++)
            rhs += ju[j] * v[j];
        if (!(fabs(lhs - rhs) <= 1e-12 * fmax(1.0, fabs(rhs))))
            fail_msg("op %s: <u, J^T v> = %.17g but <J u, v> = %.17g", op->name, lhs, rhs);
        ad_tape_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_table_and_grad_at_zero_uses_tape_setting),
        cmocka_unit_test(test_relu_of_nan_is_nan_with_nan_gradient),
        cmocka_unit_test(test_arith_gradients_match_formulas),
        cmocka_unit_test(test_unary_gradients_match_formulas),
        cmocka_unit_test(test_tanh_gradient_is_accurate_where_naive_formula_cancels),
        cmocka_unit_test(test_sqrt_gradient_at_zero_is_plus_infinity),
        cmocka_unit_test(test_broadcast_bias_row_and_scalar_reduce_gradients),
        cmocka_unit_test(test_broadcast_column_against_row_makes_outer_sum),
        cmocka_unit_test(test_broadcast_mismatch_names_the_dimension),
        cmocka_unit_test(test_matmul_gradients_are_g_bt_and_at_g),
        cmocka_unit_test(test_matmul_batched_matches_per_batch_products),
        cmocka_unit_test(test_matmul_shape_errors_are_explained),
        cmocka_unit_test(test_sum_and_mean_over_all_and_along_axes),
        cmocka_unit_test(test_axis_out_of_range_or_fractional_is_rejected),
        cmocka_unit_test(test_apply_rejects_wrong_arity_and_extra_attributes),
        cmocka_unit_test(test_every_builtin_jvp_is_the_transpose_of_its_backward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
