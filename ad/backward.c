/* backward.c - the reverse sweep: one loop over the tape in reverse, accumulating. */
#include <math.h>
#include <string.h>
#include "internal.h"

/* Gives every node up to last that needs a gradient a zeroed buffer. Nodes an
 * earlier sweep covered are zeroed again; past them, scalar-path nodes were
 * zeroed when recorded, so only the other nodes are visited. */
static ad_status zero_grads(ad_tape *t, size_t last)
{
    size_t end = last + 1, dirty = t->swept < end ? t->swept : end;
    size_t hi = t->general_hi > end ? end : t->general_hi;
    for (size_t i = 0; i < (hi > dirty ? hi : dirty); i++) {
        ad__node *n = &t->nodes[i];
        if (!n->needs_grad || (i >= dirty && n->scode))
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
    if (t->swept < end)
        t->swept = end;
    return AD_OK;
}

/* One op node's backward through its descriptor. */
static void general_step(ad_tape *t, const ad__node *n)
{
    ad_op_args a;
    ad__node_args(t, n, &a);
    double *gx[AD_MAX_ARITY] = {NULL};
    for (unsigned k = 0; k < n->n_in; k++) {
        ad__node *in = &t->nodes[n->in[k]];
        gx[k] = in->needs_grad ? in->grad : NULL;
    }
    n->op->backward(&a, n->grad, gx);
}

/* A rank-0 built-in op's backward through scalar.c's switch: the same result. */
static void scalar_step(ad_tape *t, const ad__node *n)
{
    const ad__node *x0 = &t->nodes[n->in[0]], *x1 = &t->nodes[n->in[n->n_in > 1]];
    ad__scalar_backward(n->scode, x0->val[0], x1->val[0], n->val[0], n->grad[0], t->relu_at_zero,
                        x0->needs_grad ? x0->grad : NULL,
                        n->n_in > 1 && x1->needs_grad ? x1->grad : NULL);
}

static bool needs_grad(const ad_tape *t, size_t i)
{
    return i < t->n_mat ? t->nodes[i].needs_grad : t->srec[i - t->n_mat].needs_grad;
}

ad_status ad__backward_sweep_once(ad_tape *t, ad_var loss)
{
    if (!t)
        return AD_EINVAL;
    if (t->status != AD_OK)
        return t->status;
    if (!ad__handle_ok(t, loss, "ad_backward"))
        return t->status;
    /* anomaly mode names nodes by their records: write them out first */
    if (t->anomaly && !ad__tape_sync(t))
        return t->status;
    size_t last = loss.index;
    if (last < t->n_mat) {
        const ad__node *ln = &t->nodes[last];
        if (ln->count != 1 || ln->shape->rank != 0) {
            char b[96];
            return ad__fail(t, AD_ENOTSCALAR,
                            "ad_backward: the loss (node %u) must be a scalar, its shape is %s",
                            loss.index, ad_shape_format(ln->shape, b, sizeof b));
        }
    }
    if (!needs_grad(t, last))
        return AD_OK; /* a constant loss: nothing to differentiate */
    size_t mat_last = last < t->n_mat ? last : t->n_mat - 1; /* a deferred node has a leaf below it */
    ad_status st = zero_grads(t, mat_last);
    if (st != AD_OK)
        return st;
    if (last >= t->n_mat)
        ad__scalar_sweep(t, last);
    else
        t->nodes[last].grad[0] = ldexp(1.0, -t->seed_shift);
    if (t->swept < last + 1)
        t->swept = last + 1;

    for (size_t i = mat_last + 1; i-- > 0;) {
        const ad__node *n = &t->nodes[i];
        if (!n->needs_grad || n->kind != AD__NODE_OP)
            continue;
        if (n->scode)
            scalar_step(t, n);
        else
            general_step(t, n);
        if (t->anomaly && ad__anomaly_backward(t, i) != AD_OK)
            return t->status;
    }
    return AD_OK;
}

ad_status ad_backward(ad_tape *t, ad_var loss)
{
    ad_status st = ad__backward_sweep(t, loss);
    if (st != AD_OK || !needs_grad(t, loss.index))
        return st;
    for (size_t i = 0; i <= loss.index && i < t->n_mat; i++) {
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
