/* backward.c - the reverse sweep: one loop over the tape in reverse, accumulating. */
#include <string.h>
#include "internal.h"

/* Gives every node that needs a gradient a zeroed buffer (reused by a second
 * backward on the same recording). */
static ad_status zero_grads(ad_tape *t, size_t last)
{
    for (size_t i = 0; i <= last; i++) {
        ad__node *n = &t->nodes[i];
        if (!n->needs_grad)
            continue;
        if (!n->grad) {
            n->grad = ad__arena_doubles(&t->arena, &t->alloc, n->count);
            if (!n->grad)
                return ad__fail(t, AD_ENOMEM, NULL);
        }
        if (n->count == 1)
            n->grad[0] = 0.0; /* the scalar path: no memset call per node */
        else
            memset(n->grad, 0, n->count * sizeof(double));
    }
    return AD_OK;
}

ad_status ad__backward_sweep(ad_tape *t, ad_var loss)
{
    if (!t)
        return AD_EINVAL;
    if (t->status != AD_OK)
        return t->status;
    ad__node *ln = ad__resolve(t, loss, "ad_backward");
    if (!ln)
        return t->status;
    if (ln->count != 1 || ln->shape->rank != 0) {
        char b[96];
        return ad__fail(t, AD_ENOTSCALAR,
                        "ad_backward: the loss (node %u) must be a scalar, its shape is %s",
                        loss.index, ad_shape_format(ln->shape, b, sizeof b));
    }
    if (!ln->needs_grad)
        return AD_OK; /* a constant loss: nothing to differentiate */
    ad_status st = zero_grads(t, loss.index);
    if (st != AD_OK)
        return st;
    ln->grad[0] = 1.0;

    for (size_t i = loss.index + 1; i-- > 0;) {
        const ad__node *n = &t->nodes[i];
        if (!n->needs_grad || n->kind != AD__NODE_OP)
            continue;
        ad_op_args a;
        ad__node_args(t, n, &a);
        double *gx[AD_MAX_ARITY] = {NULL};
        for (unsigned k = 0; k < n->n_in; k++) {
            ad__node *in = &t->nodes[n->in[k]];
            gx[k] = in->needs_grad ? in->grad : NULL;
        }
        n->op->backward(&a, n->grad, gx);
        if (t->anomaly && ad__anomaly_backward(t, i) != AD_OK)
            return t->status;
    }
    return AD_OK;
}

ad_status ad_backward(ad_tape *t, ad_var loss)
{
    ad_status st = ad__backward_sweep(t, loss);
    if (st != AD_OK || !t->nodes[loss.index].needs_grad)
        return st;
    for (size_t i = 0; i <= loss.index; i++) {
        const ad__node *n = &t->nodes[i];
        if (n->kind != AD__LEAF_PARAM)
            continue;
        for (size_t j = 0; j < n->count; j++)
            n->param->grad[j] += n->grad[j];
    }
    /* the hook runs after the parameters got their gradient: a failed check
     * leaves the step's gradients in place for the caller to inspect */
    return t->verify ? ad__verify_backward(t, loss) : AD_OK;
}
