/* jvp.c - forward mode: one sweep in tape order, each op's jvp pushing tangents. */
#include <string.h>
#include "check_int.h"

/* The sweep itself: tangents per node in buffers from the tape's allocator;
 * tan[i] NULL means a zero tangent (skipped by every jvp). */
static ad_status sweep(ad_tape *t, size_t last, const double *const *leaf_dir, double *dy,
                       char *why, size_t len)
{
    size_t total = 0, bytes, pbytes;
    for (size_t i = 0; i <= last; i++)
        if (t->nodes[i].kind == AD__NODE_OP)
            total += t->nodes[i].count;
    if (!ad__mul_size(total ? total : 1, sizeof(double), &bytes) ||
        !ad__mul_size(last + 1, sizeof(double *), &pbytes)) {
        snprintf(why, len, "ad_jvp: the tangent buffers overflow size_t");
        return AD_EOVERFLOW;
    }
    double *pool = ad__alloc(&t->alloc, bytes);
    const double **tan = ad__alloc(&t->alloc, pbytes);
    ad_status st = AD_OK;
    if (!pool || !tan) {
        snprintf(why, len, "out of memory (allocator returned NULL)");
        st = AD_ENOMEM;
        goto done;
    }
    size_t at = 0;
    for (size_t i = 0; i <= last && st == AD_OK; i++) {
        const ad__node *n = &t->nodes[i];
        tan[i] = NULL;
        if (n->kind == AD__LEAF_INPUT || n->kind == AD__LEAF_PARAM) {
            tan[i] = leaf_dir[i];
            continue;
        }
        if (n->kind != AD__NODE_OP)
            continue;
        const double *dx[AD_MAX_ARITY] = {NULL};
        bool any = false;
        for (unsigned k = 0; k < n->n_in; k++)
            any |= (dx[k] = tan[n->in[k]]) != NULL;
        if (!any)
            continue;
        if (!n->op->jvp) {
            snprintf(why, len, "ad_jvp: op '%s' (node %zu) has no jvp", n->op->name, i);
            st = AD_EUNSUPPORTED;
            break;
        }
        ad_op_args a;
        ad__node_args(t, n, &a);
        double *out = pool + at;
        at += n->count;
        n->op->jvp(&a, dx, out);
        tan[i] = out;
    }
    if (st == AD_OK) {
        const ad__node *o = &t->nodes[last];
        if (tan[last])
            memcpy(dy, tan[last], o->count * sizeof(double));
        else
            memset(dy, 0, o->count * sizeof(double));
    }
done:
    ad__free(&t->alloc, pool, bytes);
    ad__free(&t->alloc, (void *)tan, pbytes);
    return st;
}

ad_status ad__jvp_flat(const ad__ctx *c, const double *u, double *dy, char *why, size_t len)
{
    size_t pbytes;
    if (!ad__mul_size(c->last + 1, sizeof(double *), &pbytes))
        return AD_EOVERFLOW;
    const double **dir = ad__alloc(&c->t->alloc, pbytes);
    if (!dir) {
        snprintf(why, len, "out of memory (allocator returned NULL)");
        return AD_ENOMEM;
    }
    for (size_t i = 0; i <= c->last; i++)
        dir[i] = c->leaf_of[i] == SIZE_MAX ? NULL : u + c->off[c->leaf_of[i]];
    ad_status st = sweep(c->t, c->last, dir, dy, why, len);
    ad__free(&c->t->alloc, (void *)dir, pbytes);
    return st;
}

ad_status ad_jvp(ad_tape *t, ad_var out, const double *const *dir, size_t n_dir, double *dy)
{
    if (!t)
        return AD_EINVAL;
    if (t->status != AD_OK)
        return t->status;
    ad__node *o = ad__resolve(t, out, "ad_jvp");
    if (!o)
        return t->status;
    if (!dy || (!dir && n_dir))
        return ad__fail(t, AD_EINVAL, "ad_jvp: %s is NULL", dy ? "dir" : "dy");
    if (n_dir != (size_t)out.index + 1)
        return ad__fail(t, AD_EINVAL,
                        "ad_jvp: %zu directions given, node %u needs one per node up to it (%zu)",
                        n_dir, out.index, (size_t)out.index + 1);
    char why[200] = "";
    ad_status st = sweep(t, out.index, dir, dy, why, sizeof why);
    if (st == AD_ENOMEM)
        return ad__fail(t, st, NULL);
    return st == AD_OK ? st : ad__fail(t, st, "%s", why);
}
