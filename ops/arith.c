/* arith.c - add, sub, mul, div (NumPy broadcasting) and neg. */
#include "kernel.h"

/* A macro, not a const object: C does not allow one in a static initializer. */
#define ANY_PAIR {{-10, -10}, {10, 10}}

/* ---- add: y = a + b; da = 1, db = 1 ---- */
static double add_f(double a, double b) { return a + b; }
static double add_da(double a, double b, double y) { (void)a, (void)b, (void)y; return 1.0; }
static double add_db(double a, double b, double y) { (void)a, (void)b, (void)y; return 1.0; }
static int add_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_add(y, a, b, r); return 0; }
AD__BINARY_KERNELS(add)
const ad_op ad_op_add = {
    .name = "add", .math = "a + b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(add),
    .domain = ANY_PAIR, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};
ad_var ad_add(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_add, (ad_var[]){a, b}, 2, NULL, 0); }

/* ---- sub: y = a - b; da = 1, db = -1 ---- */
static double sub_f(double a, double b) { return a - b; }
static double sub_da(double a, double b, double y) { (void)a, (void)b, (void)y; return 1.0; }
static double sub_db(double a, double b, double y) { (void)a, (void)b, (void)y; return -1.0; }
static int sub_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_sub(y, a, b, r); return 0; }
AD__BINARY_KERNELS(sub)
const ad_op ad_op_sub = {
    .name = "sub", .math = "a - b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(sub),
    .domain = ANY_PAIR, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};
ad_var ad_sub(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_sub, (ad_var[]){a, b}, 2, NULL, 0); }

/* ---- mul: y = a * b; da = b, db = a ---- */
static double mul_f(double a, double b) { return a * b; }
static double mul_da(double a, double b, double y) { (void)a, (void)y; return b; }
static double mul_db(double a, double b, double y) { (void)b, (void)y; return a; }
static int mul_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_mul(y, a, b, r); return 0; }
AD__BINARY_KERNELS(mul)
const ad_op ad_op_mul = {
    .name = "mul", .math = "a * b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(mul),
    .domain = ANY_PAIR, .ulp_fwd = 0.5, .ulp_bwd = 0.5,
};
ad_var ad_mul(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_mul, (ad_var[]){a, b}, 2, NULL, 0); }

/* ---- div: y = a / b; da = 1 / b, db = -a / b^2 computed as -y / b (no b^2 overflow) ---- */
static double div_f(double a, double b) { return a / b; }
static double div_da(double a, double b, double y) { (void)a, (void)y; return 1.0 / b; }
static double div_db(double a, double b, double y) { (void)a; return -y / b; }
static int div_ref(mpfr_ptr y, mpfr_srcptr a, mpfr_srcptr b, mpfr_rnd_t r) { mpfr_div(y, a, b, r); return 0; }
AD__BINARY_KERNELS(div)
const ad_op ad_op_div = {
    .name = "div", .math = "a / b", .arity = 2, .flags = AD_OP_ELEMENTWISE | AD_OP_BROADCAST,
    .shape = ad__bcast_shape, AD__KERNEL_SLOTS(div),
    /* b kept away from the pole at 0, where the derivative is unbounded */
    .domain = {{-10, 0.25}, {10, 10}}, .ulp_fwd = 0.5, .ulp_bwd = 1.5,
};
ad_var ad_div(ad_tape *t, ad_var a, ad_var b) { return ad_apply(t, &ad_op_div, (ad_var[]){a, b}, 2, NULL, 0); }

/* ---- neg: y = -x; dx = -1 ---- */
static double neg_f(double x, const double *attr) { (void)attr; return -x; }
static double neg_df(double x, double y, const double *attr, double kg) { (void)x, (void)y, (void)attr, (void)kg; return -1.0; }
static int neg_ref(mpfr_ptr y, mpfr_srcptr x, const double *attr, mpfr_rnd_t r) { (void)attr; mpfr_neg(y, x, r); return 0; }
AD__UNARY_KERNELS(neg)
const ad_op ad_op_neg = {
    .name = "neg", .math = "-x", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    AD__KERNEL_SLOTS(neg), .domain = {{-10}, {10}}, .ulp_fwd = 0, .ulp_bwd = 0,
};
ad_var ad_neg(ad_tape *t, ad_var x) { return ad_apply(t, &ad_op_neg, &x, 1, NULL, 0); }
