/* backward_rescue.c - reverse mode's range where an adjoint overflows.
 *
 * A gradient can be finite while an adjoint on its way to it is not: d/dx of
 * (x 1e300 1e10) / 1e10 passes 1e310, and reverse mode returns inf, or NaN
 * (inf - inf, inf * 0), where forward mode and the math give a number (the
 * fuzz_expr findings: inf where MPFR gives 7.5e307, NaN where forward mode
 * gives 6.6e307). So when a sweep leaves an element of a leaf's gradient
 * (an input's or a parameter's) inf or NaN, the sweep is redone with the seed
 * scaled by 2^-128, then 2^-512 (powers of two: exact), and the element takes
 * the scaled result times the scale wherever that is finite; a last sweep at
 * seed 1 puts every other value back, intermediate adjoints included. A true
 * inf or NaN (sqrt at 0, log of a negative) stays one at any scale. What the
 * scaled sweep loses are terms below 2^-946, far under an ulp of the rescued
 * gradients, and a cotangent that small meeting an infinite local derivative
 * (whose inf is then taken for 0: an accepted blind spot). It costs up to three
 * sweeps, only after an overflow; the first RESCUE_MAX such elements are
 * rescued, the others keep their inf or NaN (nothing silent). An adjoint that
 * underflows is not rescued: the gradient is then too small, silently
 * (fuzz/findings/). */
#include <math.h>
#include "internal.h"

enum { RESCUE_MAX = 256 };

typedef struct rescue_slot {
    size_t node, elem;
    double value;
    bool done;
} rescue_slot;

/* The non-finite leaf gradient elements up to loss, at most RESCUE_MAX. */
static size_t collect(const ad_tape *t, size_t loss, rescue_slot *s)
{
    size_t n = 0;
    for (size_t i = 0; i <= loss && i < t->n_mat; i++) {
        const ad__node *nd = &t->nodes[i];
        if (nd->kind == AD__NODE_OP || !nd->needs_grad || !nd->grad)
            continue;
        for (size_t j = 0; j < nd->count && n < RESCUE_MAX; j++)
            if (!isfinite(nd->grad[j]))
                s[n++] = (rescue_slot){i, j, 0.0, false};
    }
    return n;
}

ad_status ad__backward_sweep(ad_tape *t, ad_var loss)
{
    ad_status st = ad__backward_sweep_once(t, loss);
    if (st != AD_OK)
        return st;
    rescue_slot s[RESCUE_MAX];
    size_t n = collect(t, loss.index, s);
    if (n == 0)
        return AD_OK;
    static const int shifts[] = {128, 512};
    size_t left = n;
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0] && left; k++) {
        t->seed_shift = shifts[k];
        st = ad__backward_sweep_once(t, loss);
        t->seed_shift = 0;
        if (st != AD_OK)
            return st;
        for (size_t i = 0; i < n; i++) {
            double g = t->nodes[s[i].node].grad[s[i].elem];
            if (!s[i].done && isfinite(g)) {
                s[i].value = ldexp(g, shifts[k]);
                s[i].done = true;
                left--;
            }
        }
    }
    if (left == n) /* nothing to rescue: the last sweep's values are put back */
        return ad__backward_sweep_once(t, loss);
    st = ad__backward_sweep_once(t, loss);
    for (size_t i = 0; st == AD_OK && i < n; i++)
        if (s[i].done)
            t->nodes[s[i].node].grad[s[i].elem] = s[i].value;
    return st;
}
