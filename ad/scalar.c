/* scalar.c - the scalar path: the common built-in elementwise ops on rank-0
 * values as one switch, so a scalar program skips the array kernels' argument
 * records and indirect calls.
 *
 * Every case calls the op's own per-element formula (ops/elem.h, shared with
 * the array kernels) in the kernels' order, so the two paths give
 * bit-identical values and gradients; tests/test_scalar.c records random
 * programs both ways and compares bits. */
#include "internal.h"
#include "../ops/elem.h" /* the ops' own per-element formulas */

enum {
    S_NONE, S_ADD, S_SUB, S_MUL, S_DIV, S_NEG, S_EXP, S_LOG, S_SQRT, S_TANH, S_SQUARE,
    S_RELU, S_SIGMOID,
};

uint8_t ad__scalar_code(const ad_op *op)
{
    /* pointer identity: a copy of a descriptor (or a custom op) takes the general path */
    if (op == &ad_op_add) return S_ADD;
    if (op == &ad_op_mul) return S_MUL;
    if (op == &ad_op_relu) return S_RELU;
    if (op == &ad_op_tanh) return S_TANH;
    if (op == &ad_op_exp) return S_EXP;
    if (op == &ad_op_sub) return S_SUB;
    if (op == &ad_op_div) return S_DIV;
    if (op == &ad_op_neg) return S_NEG;
    if (op == &ad_op_log) return S_LOG;
    if (op == &ad_op_sqrt) return S_SQRT;
    if (op == &ad_op_square) return S_SQUARE;
    if (op == &ad_op_sigmoid) return S_SIGMOID;
    return S_NONE;
}

const ad_op *ad__scalar_op(uint8_t code)
{
    static const ad_op *const ops[] = {
        NULL, &ad_op_add, &ad_op_sub, &ad_op_mul, &ad_op_div, &ad_op_neg, &ad_op_exp,
        &ad_op_log, &ad_op_sqrt, &ad_op_tanh, &ad_op_square, &ad_op_relu, &ad_op_sigmoid,
    };
    return code < sizeof ops / sizeof ops[0] ? ops[code] : NULL;
}

double ad__scalar_forward(uint8_t code, double a, double b)
{
    switch (code) {
    case S_ADD: return add_f(a, b);
    case S_SUB: return sub_f(a, b);
    case S_MUL: return mul_f(a, b);
    case S_DIV: return div_f(a, b);
    case S_NEG: return neg_f(a, NULL);
    case S_EXP: return exp_f(a, NULL);
    case S_LOG: return log_f(a, NULL);
    case S_SQRT: return sqrt_f(a, NULL);
    case S_TANH: return tanh_f(a, NULL);
    case S_SQUARE: return square_f(a, NULL);
    case S_RELU: return relu_f(a, NULL);
    case S_SIGMOID: return sigmoid_f(a, NULL);
    default: return NAN; /* unreachable: codes come from ad__scalar_code */
    }
}

/* g times the derivative of a unary op at x (its output y), as its kernel forms it. */
static double unary_vjp(uint8_t code, double g, double x, double y, double kink)
{
    switch (code) {
    case S_NEG: return g * neg_df(x, y, NULL, kink);
    case S_EXP: return exp_vjp(g, x, y, NULL, kink);
    case S_LOG: return log_vjp(g, x, y, NULL, kink);
    case S_SQRT: return g * sqrt_df(x, y, NULL, kink);
    case S_TANH: return g * tanh_df(x, y, NULL, kink);
    case S_SQUARE: return square_vjp(g, x, y, NULL, kink);
    case S_RELU: return g * relu_df(x, y, NULL, kink);
    case S_SIGMOID: return sigmoid_vjp(g, x, y, NULL, kink);
    default: return NAN;
    }
}

void ad__scalar_backward(uint8_t code, double a, double b, double y, double gy, double kink,
                         double *ga, double *gb)
{
    /* input 0 first, then input 1, as the binary kernels do: x * x adds twice */
    switch (code) {
    case S_ADD:
        if (ga) *ga += gy * add_da(a, b, y);
        if (gb) *gb += gy * add_db(a, b, y);
        return;
    case S_SUB:
        if (ga) *ga += gy * sub_da(a, b, y);
        if (gb) *gb += gy * sub_db(a, b, y);
        return;
    case S_MUL:
        if (ga) *ga += gy * mul_da(a, b, y);
        if (gb) *gb += gy * mul_db(a, b, y);
        return;
    case S_DIV:
        if (ga) *ga += div_vda(gy, a, b, y);
        if (gb) *gb += div_vdb(gy, a, b, y);
        return;
    default:
        if (ga) *ga += unary_vjp(code, gy, a, y, kink);
        return;
    }
}
