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

/* inline into the builders' entries below, where the code is a constant */
static inline double forward(uint8_t code, double a, double b)
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

double ad__scalar_forward(uint8_t code, double a, double b)
{
    return forward(code, a, b);
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

/* The term g (nonzero: both callers skip a zero cotangent) contributes,
 * under the kernels' rule for infinite cotangents (ops/kernel.h, ad__term);
 * a finite g takes the plain product, the hot path. */
static inline double unary_term(uint8_t code, double g, double x, double y, double kink)
{
    double c = unary_vjp(code, g, x, y, kink);
    if (!ad__term_needs_d(g, c))
        return c;
    return ad__term(g, c, unary_vjp(code, AD__DERIV_PROBE, x, y, kink));
}

/* The terms gy (nonzero) contributes to input 0 (c0, when want0) and input 1
 * (c1, when want1) of a binary op, as its kernel forms them (the same rule). */
static inline void binary_terms(uint8_t code, double gy, double a, double b, double y, bool want0,
                                bool want1, double *c0, double *c1)
{
    double d0 = 1.0, d1 = 1.0;
    *c0 = *c1 = 0.0;
    switch (code) {
    case S_MUL: d0 = mul_da(a, b, y), d1 = mul_db(a, b, y); break;
    case S_ADD: d0 = add_da(a, b, y), d1 = add_db(a, b, y); break;
    case S_SUB: d0 = sub_da(a, b, y), d1 = sub_db(a, b, y); break;
    default: /* S_DIV: its terms cost a division or more, so only the wanted ones */
        if (want0)
            *c0 = div_vda(gy, a, b, y);
        if (want1)
            *c1 = div_vdb(gy, a, b, y);
        if (want0 && ad__term_needs_d(gy, *c0))
            *c0 = ad__term(gy, *c0, div_vda(AD__DERIV_PROBE, a, b, y));
        if (want1 && ad__term_needs_d(gy, *c1))
            *c1 = ad__term(gy, *c1, div_vdb(AD__DERIV_PROBE, a, b, y));
        return;
    }
    *c0 = gy * d0;
    *c1 = gy * d1;
    if (want0 && ad__term_needs_d(gy, *c0))
        *c0 = ad__term(gy, *c0, d0);
    if (want1 && ad__term_needs_d(gy, *c1))
        *c1 = ad__term(gy, *c1, d1);
}

void ad__scalar_backward(uint8_t code, double a, double b, double y, double gy, double kink,
                         double *ga, double *gb)
{
    if (gy == 0.0)
        return; /* a zero cotangent adds nothing (ops/kernel.h, ad__term) */
    if (code != S_ADD && code != S_SUB && code != S_MUL && code != S_DIV) {
        if (ga)
            *ga += unary_term(code, gy, a, y, kink);
        return;
    }
    /* input 0 first, then input 1, as the binary kernels do: x * x adds twice */
    double c0, c1;
    binary_terms(code, gy, a, b, y, ga != NULL, gb != NULL, &c0, &c1);
    if (ga)
        *ga += c0;
    if (gb)
        *gb += c1;
}

/* ---- the builders' entries: ad_apply for a rank-0 built-in op, fast ---- */

/* The general path of the entries below, out of line so that the fast path
 * keeps its handles in registers (all six arguments fit in registers). */
__attribute__((noinline, cold)) static ad_var general(ad_tape *t, ad_var a, ad_var b, uint8_t code)
{
    const ad_op *op = ad__scalar_op(code);
    return ad_apply(t, op, (ad_var[]){a, b}, op->arity, NULL, 0);
}

/* Pair k of the value store. */
static inline double *pair_at(const ad_tape *t, size_t k)
{
    return t->sblk[k / AD__SBLK] + 2 * (k % AD__SBLK);
}

/* A full node record's value and needs-gradient; false when it is not a scalar. */
static inline bool leaf(const ad_tape *t, uint32_t q, double *x, bool *needs_grad)
{
    const ad__node *nd = &t->nodes[q];
    if (nd->shape->rank != 0)
        return false;
    *x = nd->val[0];
    *needs_grad = nd->needs_grad;
    return true;
}

/* What ad_apply(t, op, {a, b}, n_in, NULL, 0) does in the common case, with
 * the op's code known at compile time: a tape without error or anomaly mode,
 * valid handles (tape, generation, range), room for a compact record, rank-0
 * inputs (deferred nodes or scalar records). Anything else (an error to
 * report, a tensor, a full block) goes through ad_apply, which says what is
 * wrong in the same words as always. */
static inline ad_var apply(ad_tape *t, const ad_op *op, uint8_t code, unsigned n_in, ad_var a,
                           ad_var b)
{
    if (__builtin_expect(!t, 0))
        return AD_NIL;
    size_t n = t->n_nodes, m = t->n_mat, off = t->s_off;
    uint32_t id = t->id, gen = t->gen;
    if (__builtin_expect((t->status != AD_OK) | t->anomaly, 0) || a.tape != id || a.gen != gen ||
        b.tape != id || b.gen != gen || a.index >= n || b.index >= n || n >= t->s_lim)
        return general(t, a, b, code);
    /* the inputs' values and whether one needs a gradient */
    double xa, xb = 0.0;
    bool needs_grad;
    if (__builtin_expect(a.index >= m, 1)) {
        xa = pair_at(t, a.index + off)[0];
        needs_grad = t->srec[a.index - m].needs_grad;
    } else if (!leaf(t, a.index, &xa, &needs_grad)) {
        return general(t, a, b, code);
    }
    if (n_in > 1) {
        bool nb;
        if (__builtin_expect(b.index >= m, 1)) {
            xb = pair_at(t, b.index + off)[0];
            nb = t->srec[b.index - m].needs_grad;
        } else if (!leaf(t, b.index, &xb, &nb)) {
            return general(t, a, b, code);
        }
        needs_grad |= nb;
    }
    double *v = pair_at(t, n + off);
    v[0] = forward(code, xa, xb);
    v[1] = 0.0; /* the gradient slot: zero until a backward covers it */
    /* field by field: a compound literal becomes vector shuffles here */
    ad__srec *r = &t->srec[n - m];
    r->in[0] = a.index;
    r->in[1] = n_in > 1 ? b.index : 0;
    r->code = code;
    r->n_in = (uint8_t)n_in;
    r->needs_grad = needs_grad;
    t->n_nodes = n + 1;
    return (ad_var){(uint32_t)n, id, gen};
}

#define BINARY(name, code) \
    ad_var ad__s_##name(ad_tape *t, ad_var a, ad_var b) { return apply(t, &ad_op_##name, code, 2, a, b); }
#define UNARY(name, code) \
    ad_var ad__s_##name(ad_tape *t, ad_var x) { return apply(t, &ad_op_##name, code, 1, x, x); }
BINARY(add, S_ADD)
BINARY(sub, S_SUB)
BINARY(mul, S_MUL)
BINARY(div, S_DIV)
UNARY(neg, S_NEG)
UNARY(exp, S_EXP)
UNARY(log, S_LOG)
UNARY(sqrt, S_SQRT)
UNARY(tanh, S_TANH)
UNARY(square, S_SQUARE)
UNARY(relu, S_RELU)

/* ---- the reverse sweep over deferred nodes ---- */

/* Node q's value and gradient slot (*grad NULL: it needs none), deferred
 * (its pair is q + off) or not. */
static inline double *slot(const ad_tape *t, size_t q, size_t m, size_t off, double **grad)
{
    if (__builtin_expect(q >= m, 1)) {
        double *p = pair_at(t, q + off);
        *grad = t->srec[q - m].needs_grad ? p + 1 : NULL;
        return p;
    }
    const ad__node *nd = &t->nodes[q];
    *grad = nd->needs_grad ? nd->grad : NULL;
    return nd->val;
}

void ad__scalar_sweep(ad_tape *t, size_t loss)
{
    size_t m = t->n_mat, off = t->sbase - m; /* wraps when sbase < m: only sums are used */
    for (size_t i = m; i < t->swept && i <= loss; i++) {
        double *g = ad__grad_of(t, i);
        if (g)
            *g = 0.0;
    }
    *ad__grad_of(t, loss) = ldexp(1.0, -t->seed_shift);
    const double kink = t->relu_at_zero;
    /* A chain's link: node i's last term, from node i + 1, waits in acc for
     * the next step instead of going through memory, so that step does not
     * wait for a store to reach a load. The sum is the same, M + c. -0.0 is
     * the empty term: M + -0.0 is M for every M, -0.0 included. */
    double acc = -0.0;
    for (size_t i = loss + 1; i-- > m;) {
        const ad__srec *r = &t->srec[i - m];
        if (!r->needs_grad)
            continue; /* then nothing waits in acc: only nodes with a slot get terms */
        double *yv = pair_at(t, i + off);
        double gy = yv[1] + acc, y = yv[0];
        yv[1] = gy;
        acc = -0.0;
        if (gy == 0.0)
            continue; /* a zero cotangent adds nothing (ops/kernel.h, ad__term) */
        uint32_t i0 = r->in[0], i1 = r->in[1];
        double *g0, a = slot(t, i0, m, off, &g0)[0];
        if (r->n_in == 1) {
            if (!g0)
                continue;
            double c = unary_term(r->code, gy, a, y, kink);
            if (i0 + 1 == i && i0 >= m)
                acc = c;
            else
                *g0 += c;
            continue;
        }
        double *g1, b = slot(t, i1, m, off, &g1)[0];
        /* x op x adds twice to one slot, input 0 first, through memory */
        bool link0 = i0 + 1 == i && i0 >= m && i1 != i0, link1 = i1 + 1 == i && i1 >= m && i1 != i0;
        double c0, c1;
        binary_terms(r->code, gy, a, b, y, g0 != NULL, g1 != NULL, &c0, &c1);
        if (g0) {
            if (link0)
                acc = c0;
            else
                *g0 += c0;
        }
        if (g1) {
            if (link1)
                acc = c1;
            else
                *g1 += c1;
        }
    }
}
