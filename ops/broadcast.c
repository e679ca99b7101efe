/* broadcast.c - NumPy broadcasting: the shape rule and the stride tables. */
#include <stdio.h>
#include "kernel.h"

ad_status ad__bcast_shape(const ad_op_args *a, ad_shape *out, char *why, size_t why_len)
{
    const ad_shape *x = &a->xs[0], *y = &a->xs[1];
    unsigned rank = x->rank > y->rank ? x->rank : y->rank;
    out->rank = rank;
    for (unsigned k = 0; k < rank; k++) {
        /* align from the right */
        size_t dx = k < x->rank ? x->dim[x->rank - 1 - k] : 1;
        size_t dy = k < y->rank ? y->dim[y->rank - 1 - k] : 1;
        if (dx != dy && dx != 1 && dy != 1) {
            snprintf(why, why_len,
                     "shapes do not broadcast: dimension %u from the right is %zu and %zu", k, dx, dy);
            return AD_ESHAPE;
        }
        out->dim[rank - 1 - k] = dx == 1 ? dy : dx;
    }
    for (unsigned k = rank; k < AD_MAX_RANK; k++)
        out->dim[k] = 0;
    return AD_OK;
}

void ad__bcast_init(ad__bcast *b, const ad_shape *out, const ad_shape *x0, const ad_shape *x1)
{
    unsigned pad = AD_MAX_RANK - out->rank;
    for (unsigned k = 0; k < AD_MAX_RANK; k++)
        b->dim[k] = k < pad ? 1 : out->dim[k - pad];
    const ad_shape *in[2] = {x0, x1};
    for (int j = 0; j < 2; j++) {
        size_t stride = 1;
        for (unsigned k = AD_MAX_RANK; k-- > 0;) {
            unsigned from_right = AD_MAX_RANK - 1 - k;
            if (from_right < in[j]->rank) {
                size_t d = in[j]->dim[in[j]->rank - 1 - from_right];
                b->stride[j][k] = d == 1 ? 0 : stride;
                stride *= d;
            } else {
                b->stride[j][k] = 0;
            }
        }
    }
}
