/* anomaly.c - anomaly mode: find the first non-finite value and say exactly where it came from. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define LABEL_MAX 63

ad_status ad_tape_set_anomaly(ad_tape *t, bool on)
{
    if (!t)
        return AD_EINVAL;
    if (t->is_static)
        return t->status;
    t->anomaly = on;
    return AD_OK;
}

bool ad_tape_anomaly(const ad_tape *t)
{
    return t && t->anomaly;
}

ad_var ad_var_label(ad_tape *t, ad_var v, const char *name)
{
    if (!t || t->status != AD_OK)
        return AD_NIL;
    if (!name) {
        ad__fail(t, AD_EINVAL, "ad_var_label: the name is NULL");
        return AD_NIL;
    }
    ad__node *n = ad__resolve(t, v, "ad_var_label");
    if (!n)
        return AD_NIL;
    size_t len = strnlen(name, LABEL_MAX);
    /* the arena hands out doubles; a label is short, so round up to them */
    char *copy = (char *)ad__arena_doubles(&t->arena, &t->alloc, len / sizeof(double) + 1);
    if (!copy) {
        ad__fail(t, AD_ENOMEM, NULL);
        return AD_NIL;
    }
    memcpy(copy, name, len);
    copy[len] = '\0';
    n->label = copy;
    return v;
}

const char *ad_var_get_label(const ad_tape *t, ad_var v)
{
    const double *val = ad_value(t, v); /* validates the handle without recording */
    if (!val)
        return "";
    const char *l = v.index < t->n_mat ? t->nodes[v.index].label : NULL; /* deferred: no label */
    return l ? l : "";
}

/* glibc prints a NaN with its sign bit as "-nan"; messages say "nan" either way */
static double shown(double x)
{
    return isnan(x) ? NAN : x;
}

/* The flat index into input shape `in` of output element i of shape `out`
 * under NumPy broadcasting (same shapes: i itself). */
static size_t bcast_index(const ad_shape *out, const ad_shape *in, size_t i)
{
    size_t idx = 0, stride = 1;
    for (unsigned d = 0; d < out->rank; d++) {
        unsigned od = out->rank - 1 - d;
        size_t coord = i % out->dim[od];
        i /= out->dim[od];
        if (d < in->rank) {
            size_t n = in->dim[in->rank - 1 - d];
            idx += (n == 1 ? 0 : coord) * stride;
            stride *= n;
        }
    }
    return idx;
}

static size_t count_of(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned d = 0; d < s->rank; d++)
        n *= s->dim[d];
    return n;
}

static const char *label_of(const ad__node *n, char *buf, size_t len)
{
    if (n->label)
        snprintf(buf, len, " ('%s')", n->label);
    else
        buf[0] = '\0';
    return buf;
}

/* Appends "x0[3] = 1e+308, x1[0] = 10" (elementwise ops: the elements that
 * made output element i) or, for other ops, each input's shape, its largest
 * |value| and where, and its first non-finite element if it has one. */
static void describe_inputs(const ad_tape *t, const ad__node *n, size_t i, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned k = 0; k < n->n_in && used < len; k++) {
        const ad__node *x = &t->nodes[n->in[k]];
        const char *sep = k ? ", " : "";
        char xl[LABEL_MAX + 8];
        label_of(x, xl, sizeof xl);
        int w;
        if (n->op->flags & AD_OP_ELEMENTWISE) {
            size_t j = bcast_index(n->shape, x->shape, i);
            w = snprintf(buf + used, len - used, "%sx%u[%zu]%s = %.17g", sep, k, j, xl,
                         shown(x->val[j]));
        } else {
            char s[96];
            size_t c = count_of(x->shape), at = 0, bad = c;
            double big = 0.0;
            for (size_t j = 0; j < c; j++) {
                if (bad == c && !isfinite(x->val[j]))
                    bad = j;
                if (fabs(x->val[j]) > big)
                    big = fabs(x->val[j]), at = j;
            }
            ad_shape_format(x->shape, s, sizeof s);
            if (bad < c)
                w = snprintf(buf + used, len - used, "%sx%u%s %s has x%u[%zu] = %g", sep, k, xl, s,
                             k, bad, shown(x->val[bad]));
            else
                w = snprintf(buf + used, len - used, "%sx%u%s %s max |x| = %.17g at %zu", sep, k, xl,
                             s, big, at);
        }
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

static size_t first_nonfinite(const double *x, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(x[j]))
            return j;
    return n;
}

bool ad__anomaly_forward(ad_tape *t, const ad__node *n)
{
    size_t i = first_nonfinite(n->val, n->count);
    if (i == n->count)
        return true;
    char lab[LABEL_MAX + 8], shape[96], ins[256];
    describe_inputs(t, n, i, ins, sizeof ins);
    ad__fail(t, AD_EDOMAIN, "ad_%s: anomaly: node %zu%s forward gave %g at element %zu of %s; inputs there: %s",
             n->op->name, t->n_nodes, label_of(n, lab, sizeof lab), shown(n->val[i]), i,
             ad_shape_format(n->shape, shape, sizeof shape), ins);
    return false;
}

ad_status ad__anomaly_backward(ad_tape *t, size_t idx)
{
    const ad__node *n = &t->nodes[idx];
    for (unsigned k = 0; k < n->n_in; k++) {
        const ad__node *x = &t->nodes[n->in[k]];
        if (!x->needs_grad)
            continue;
        size_t j = first_nonfinite(x->grad, x->count);
        if (j == x->count)
            continue;
        char lab[LABEL_MAX + 8], xlab[LABEL_MAX + 8], ins[256];
        /* for elementwise ops the output element that fed x's element j */
        size_t i = (n->op->flags & AD_OP_ELEMENTWISE) && n->count == x->count ? j : 0;
        describe_inputs(t, n, i, ins, sizeof ins);
        return ad__fail(t, AD_EDOMAIN,
                        "ad_%s: anomaly: node %zu%s backward gave gradient %g for input %u (node %u%s) "
                        "at element %zu; output gradient there %.17g; inputs there: %s",
                        n->op->name, idx, label_of(n, lab, sizeof lab), shown(x->grad[j]), k, n->in[k],
                        label_of(x, xlab, sizeof xlab), j, n->grad[i], ins);
    }
    return AD_OK;
}
