/* penalty.c - L1/L2 regularization terms recorded on the tape like any other program. */
#include <math.h>
#include "internal.h"

ad_var ad_penalty(ad_tape *t, const ad_var *ws, size_t n, double l1, double l2)
{
    if (!t || t->status != AD_OK)
        return AD_NIL;
    if ((n && !ws) || !(l1 >= 0.0) || !(l2 >= 0.0) || !isfinite(l1) || !isfinite(l2)) {
        ad__fail(t, AD_EINVAL, "ad_penalty: need ws for %zu variables and finite l1, l2 >= 0 (got %g, %g)",
                 n, l1, l2);
        return AD_NIL;
    }
    ad_var total = ad_const(t, AD_SCALAR, (double[]){0.0});
    ad_var c1 = ad_const(t, AD_SCALAR, &l1), c2 = ad_const(t, AD_SCALAR, &l2);
    for (size_t i = 0; i < n; i++) {
        ad_var w = ws[i];
        if (l1 > 0.0) {
            ad_var abs = ad_add(t, ad_relu(t, w), ad_relu(t, ad_neg(t, w)));
            total = ad_add(t, total, ad_mul(t, c1, ad_sum(t, abs)));
        }
        if (l2 > 0.0)
            total = ad_add(t, total, ad_mul(t, c2, ad_sum(t, ad_mul(t, w, w))));
    }
    return total;
}
