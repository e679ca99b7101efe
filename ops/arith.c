/* arith.c - add, sub, mul, div (NumPy broadcasting) and neg; their per-element
 * formulas are in elem.h, shared with the engine's scalar path. */
#include "elem.h"
#include "../ad/internal.h" /* ad__s_*: the scalar builders' entries */

/* a macro, not a const object: clang rejects a const object as a static initializer */
#define ANY_PAIR {{-10, -10}, {10, 10}}

/* ---- add: y = a + b; da = 1, db = 1 ---- */
static int add_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_add(y, a, b, r); return 0; }
AD__BINARY_KERNELS(add)
const ad_op ad_op_add = {
    .name = "add", .math = "a + b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(add),
    .domain = ANY_PAIR, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};
ad_var ad_add(ad_tape *t, ad_var a, ad_var b) { return ad__s_add(t, a, b); }

/* ---- sub: y = a - b; da = 1, db = -1 ---- */
static int sub_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_sub(y, a, b, r); return 0; }
AD__BINARY_KERNELS(sub)
const ad_op ad_op_sub = {
    .name = "sub", .math = "a - b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(sub),
    .domain = ANY_PAIR, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};
ad_var ad_sub(ad_tape *t, ad_var a, ad_var b) { return ad__s_sub(t, a, b); }

/* ---- mul: y = a * b; da = b, db = a ---- */
static int mul_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_mul(y, a, b, r); return 0; }
AD__BINARY_KERNELS(mul)
const ad_op ad_op_mul = {
    .name = "mul", .math = "a * b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(mul),
    /* backward: a broadcast input sums products, each rounded (1.11 measured) */
    .domain = ANY_PAIR, .ulp_fwd = 0.5, .ulp_bwd = 1.5,
};
ad_var ad_mul(ad_tape *t, ad_var a, ad_var b) { return ad__s_mul(t, a, b); }

/* ---- div: y = a / b; da = 1 / b, db = -a / b^2, formed with the cotangent
 * g: g / b (one rounding; 1 / b alone overflows for |b| < 2^-1024) and
 * -(g a) / b / b, three roundings where g a and the result are normal (an
 * intermediate can then neither overflow nor underflow unless the result
 * does), else from the inputs' mantissas, scaled back by ldexp with one
 * rounding: -y / b would use a y that overflowed or rounded to a few bits in
 * the subnormal range. ---- */
static int div_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_div(y, a, b, r); return 0; }
AD__BINARY_KERNELS_VJP(div)
const ad_op ad_op_div = {
    .name = "div", .math = "a / b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(div),
    /* b kept away from the pole at 0, where the derivative is unbounded */
    .domain = {{-10, 0.25}, {10, 10}}, .ulp_fwd = 0.5,
    .ulp_bwd = 3, /* -(g a) / b / b, summed over a broadcast: 2.19 measured */
};
ad_var ad_div(ad_tape *t, ad_var a, ad_var b) { return ad__s_div(t, a, b); }

/* ---- neg: y = -x; dx = -1 ---- */
static int neg_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_neg(y, x, r); return 0; }
AD__UNARY_KERNELS(neg)
const ad_op ad_op_neg = {
    .name = "neg", .math = "-x", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(neg), .domain = {{-10}, {10}}, .ulp_fwd = 0, .ulp_bwd = 0,
};
ad_var ad_neg(ad_tape *t, ad_var x) { return ad__s_neg(t, x); }
