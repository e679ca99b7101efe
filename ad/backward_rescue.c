/* backward_rescue.c - reverse mode's range: adjoints that overflow or underflow
 * on their way to a gradient that does neither.
 *
 * Overflow: d/dx of 1e300 log(1e-20 x) passes 1e320, and reverse mode returns
 * inf, or NaN (inf - inf), where forward mode and the math give a number (the
 * fuzz_expr findings: inf where MPFR gives 7.5e307, NaN where forward mode
 * gives 6.6e307). An element of a leaf's gradient (an input's or a
 * parameter's) left inf or NaN is redone with the seed scaled by 2^-128, then
 * 2^-512, and takes the scaled result times the scale where that is finite. A
 * true inf or NaN (sqrt at 0) stays one at any scale. Up to RESCUE_MAX such
 * elements; the others keep their inf or NaN (nothing silent).
 *
 * Underflow: in sum(v / expm1(expm1(v . v))) at v = [1.75, 1.75] an adjoint of
 * 1e-396 rounds to 0 though its product with the next local derivative (e^462)
 * is not small: the gradient kept only its direct term, 5,600 times too small
 * (fuzz_program). The elementwise kernels and the scalar path flag a term
 * below DBL_MIN from a cotangent of at least 2^-969 and a nonzero derivative
 * (ad__term, ops/kernel.h); the leaves'
 * gradients are then redone at seeds 2^1000, 2^512 and 2^128, each element
 * taking the largest scale at which it stays finite: the largest keeps the
 * adjoint of v / expm1(3 v) at v = 182.25, 2^-1570, normal, where 2^512 left
 * it subnormal with 16 bits (fuzz_program). Row ops, reductions and matmul do
 * not flag their terms.
 *
 * Scaling by a power of two is exact wherever nothing over- or underflows, so
 * a rescued element differs from the first sweep's only where that one lost
 * range. The scaled sweeps lose what the scale pushes out of range: terms that
 * are negligible beside the rescued value, or a cotangent that meets an
 * infinite local derivative after underflowing (an accepted blind spot). A last
 * sweep at seed 1 puts every other value back, intermediate adjoints included.
 * It all costs up to six sweeps, only when a range was lost. */
#include <math.h>
#include <string.h>
#include "internal.h"
#include "../ops/kernel.h"

_Thread_local bool ad__underflow_seen;

enum { RESCUE_MAX = 256 };

typedef struct rescue_slot {
    double *elem; /* in a leaf's gradient buffer, which every sweep reuses */
    double value;
    bool done;
} rescue_slot;

/* The leaves that hold a gradient (inputs and parameters), in tape order
 * up to the loss: for (leaf_walk w = leaves(t, loss); next_leaf(&w);) visits
 * w.grad[0 .. w.count - 1], whose first element is element w.at of them all. */
typedef struct leaf_walk {
    const ad_tape *t;
    size_t next, end; /* the next node to look at; one past the last */
    double *grad;
    size_t count, at;
} leaf_walk;

static leaf_walk leaves(const ad_tape *t, size_t loss)
{
    size_t end = loss + 1 < t->n_mat ? loss + 1 : t->n_mat;
    return (leaf_walk){.t = t, .next = 0, .end = end};
}

static bool next_leaf(leaf_walk *w)
{
    w->at += w->count;
    w->count = 0;
    while (w->next < w->end) {
        const ad__node *n = &w->t->nodes[w->next++];
        if (n->kind != AD__NODE_OP && n->needs_grad && n->grad) {
            w->grad = n->grad;
            w->count = n->count;
            return true;
        }
    }
    return false;
}

/* The leaves' non-finite gradient elements up to loss, at most RESCUE_MAX;
 * *total receives the count of every leaf gradient element. This pass runs
 * after every backward: it reads each leaf gradient once, where the sweep
 * wrote it at least once (a matmul's, once per row of its batch). */
static size_t collect(const ad_tape *t, size_t loss, rescue_slot *s, size_t *total)
{
    size_t n = 0;
    leaf_walk w = leaves(t, loss);
    while (next_leaf(&w))
        for (size_t j = 0; j < w.count && n < RESCUE_MAX; j++)
            if (!isfinite(w.grad[j]))
                s[n++] = (rescue_slot){w.grad + j, 0.0, false};
    *total = w.at;
    return n;
}

static ad_status sweep_at(ad_tape *t, ad_var loss, int shift)
{
    t->seed_shift = shift;
    ad_status st = ad__backward_sweep_once(t, loss);
    t->seed_shift = 0;
    return st;
}

/* Overflow: the slots at seeds 2^-128 and 2^-512, the first finite kept. */
static ad_status rescue_overflow(ad_tape *t, ad_var loss, rescue_slot *s, size_t n)
{
    static const int shifts[] = {128, 512};
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
        ad_status st = sweep_at(t, loss, shifts[k]);
        if (st != AD_OK)
            return st;
        for (size_t i = 0; i < n; i++) {
            double g = *s[i].elem;
            if (!s[i].done && isfinite(g)) {
                s[i].value = ldexp(g, shifts[k]);
                s[i].done = true;
            }
        }
    }
    return AD_OK;
}

/* Underflow: every leaf element at seeds 2^1000, 2^512 and 2^128, the largest scale
 * kept where it is finite (best: NaN where none is). */
static ad_status rescue_underflow(ad_tape *t, ad_var loss, double *best, size_t total)
{
    static const int shifts[] = {-1000, -512, -128};
    for (size_t j = 0; j < total; j++)
        best[j] = NAN;
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
        ad_status st = sweep_at(t, loss, shifts[k]);
        if (st != AD_OK)
            return st;
        leaf_walk w = leaves(t, loss.index);
        while (next_leaf(&w))
            for (size_t j = 0; j < w.count; j++)
                if (isnan(best[w.at + j]) && isfinite(w.grad[j]))
                    best[w.at + j] = ldexp(w.grad[j], shifts[k]);
    }
    return AD_OK;
}

ad_status ad__backward_sweep(ad_tape *t, ad_var loss)
{
    ad__underflow_seen = false;
    ad_status st = ad__backward_sweep_once(t, loss);
    if (st != AD_OK)
        return st;
    bool under = ad__underflow_seen;
    rescue_slot s[RESCUE_MAX];
    size_t total, n = collect(t, loss.index, s, &total);
    if (n == 0 && !under)
        return AD_OK;
    double *best = NULL;
    size_t bytes = 0;
    if (under && total) {
        if (!ad__mul_size(total, sizeof(double), &bytes))
            return ad__fail(t, AD_EOVERFLOW, "ad_backward: the range rescue's size overflows");
        best = ad__alloc(&t->alloc, bytes);
        if (!best)
            return ad__fail(t, AD_ENOMEM, NULL);
        st = rescue_underflow(t, loss, best, total);
    }
    if (st == AD_OK && n)
        st = rescue_overflow(t, loss, s, n);
    if (st == AD_OK)
        st = ad__backward_sweep_once(t, loss); /* every other value back */
    if (st == AD_OK && best) {
        leaf_walk w = leaves(t, loss.index);
        while (next_leaf(&w))
            for (size_t j = 0; j < w.count; j++)
                if (!isnan(best[w.at + j]) && isfinite(w.grad[j]))
                    w.grad[j] = best[w.at + j];
    }
    for (size_t i = 0; st == AD_OK && i < n; i++)
        if (s[i].done)
            *s[i].elem = s[i].value;
    if (best)
        ad__free(&t->alloc, best, bytes);
    return st;
}
