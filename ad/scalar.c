/* scalar.c - the scalar path: the common built-in elementwise ops on rank-0
 * values as one switch, so a scalar program skips the array kernels' argument
 * records and indirect calls.
 *
 * Every case computes exactly what the op's array kernel computes for one
 * element (same expression, same order: ops/arith.c, unary.c, piecewise.c,
 * activation.c), so the two paths give bit-identical values and gradients;
 * tests/test_scalar.c records random programs both ways and compares bits.
 * An op changed there must be changed here too, or dropped from the switch. */
#include "internal.h"
#include "../ops/kernel.h" /* ad__sigmoid, ad__sigmoid_d: shared with activation.c */

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
    case S_ADD: return a + b;
    case S_SUB: return a - b;
    case S_MUL: return a * b;
    case S_DIV: return a / b;
    case S_NEG: return -a;
    case S_EXP: return exp(a);
    case S_LOG: return log(a);
    case S_SQRT: return sqrt(a);
    case S_TANH: return tanh(a);
    case S_SQUARE: return a * a;
    case S_RELU: return a > 0.0 ? a : (a <= 0.0 ? 0.0 : a); /* NaN stays NaN */
    case S_SIGMOID: return ad__sigmoid(a);
    default: return NAN; /* unreachable: codes come from ad__scalar_code */
    }
}

/* The derivative of a unary op at x (its output y), as the op's df computes it. */
static double unary_d(uint8_t code, double x, double y, double kink)
{
    switch (code) {
    case S_NEG: return -1.0;
    case S_EXP: return y;
    case S_LOG: return 1.0 / x;
    case S_SQRT: return 0.5 / y;
    case S_TANH: {
        double e = exp(-2.0 * fabs(x)), d = 1.0 + e; /* sech^2 x: 1 - y^2 cancels near |y| = 1 */
        return 4.0 * e / (d * d);
    }
    case S_SQUARE: return 2.0 * x;
    case S_RELU: return x > 0.0 ? 1.0 : x < 0.0 ? 0.0 : x == 0.0 ? kink : x;
    case S_SIGMOID: return ad__sigmoid_d(x);
    default: return NAN;
    }
}

void ad__scalar_backward(uint8_t code, double a, double b, double y, double gy, double kink,
                         double *ga, double *gb)
{
    /* input 0 first, then input 1, as the binary kernels do: x * x adds twice */
    switch (code) {
    case S_ADD:
        if (ga) *ga += gy * 1.0;
        if (gb) *gb += gy * 1.0;
        return;
    case S_SUB:
        if (ga) *ga += gy * 1.0;
        if (gb) *gb += gy * -1.0;
        return;
    case S_MUL:
        if (ga) *ga += gy * b;
        if (gb) *gb += gy * a;
        return;
    case S_DIV:
        if (ga) *ga += gy * (1.0 / b);
        if (gb) *gb += gy * (-y / b); /* -a / b^2 as -y / b: no b^2 overflow */
        return;
    default:
        if (ga) *ga += gy * unary_d(code, a, y, kink);
        return;
    }
}
