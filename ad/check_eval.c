/* check_eval.c - the recorded program re-evaluated in double at moved inputs,
 * in shadow buffers, so the tape's own values are never touched. */
#include <math.h>
#include <string.h>
#include "check_int.h"

/* A running byte count that remembers overflow. */
typedef struct sizer {
    size_t bytes;
    bool overflow;
} sizer;

static size_t reserve(sizer *z, size_t n, size_t elem)
{
    size_t b, at = z->bytes;
    if (!ad__mul_size(n, elem, &b) || b > SIZE_MAX - z->bytes - 8)
        z->overflow = true;
    else
        z->bytes += (b + 7) & ~(size_t)7; /* keep every array 8-byte aligned */
    return at;
}

static bool is_leaf(const ad__node *n)
{
    return n->kind == AD__LEAF_INPUT || n->kind == AD__LEAF_PARAM;
}

ad_status ad__ctx_init(ad__ctx *c, ad_tape *t, size_t last)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    c->last = last;
    size_t n_nodes = last + 1;
    for (size_t i = 0; i < n_nodes; i++) {
        const ad__node *n = &t->nodes[i];
        if (is_leaf(n)) {
            c->n_leaf++;
            c->n_coords += n->count; /* bounded: the arena already holds them */
        }
        c->pool_n += n->count;
        if (n->count > c->max_count)
            c->max_count = n->count;
        if (n->kind == AD__NODE_OP && n->op->piece)
            c->piece_n += n->count;
    }
    sizer z = {0, false};
    size_t o_x = reserve(&z, c->n_coords, 3 * sizeof(double));
    size_t o_pool = reserve(&z, c->pool_n, sizeof(double));
    size_t o_val = reserve(&z, n_nodes, sizeof(double *));
    size_t o_piece = reserve(&z, n_nodes, sizeof(int *));
    size_t o_leaf = reserve(&z, c->n_leaf, sizeof(size_t));
    size_t o_off = reserve(&z, c->n_leaf + 1, sizeof(size_t));
    size_t o_leaf_of = reserve(&z, n_nodes, sizeof(size_t));
    size_t o_pp = reserve(&z, c->piece_n, sizeof(int));
    size_t o_dn = reserve(&z, n_nodes, sizeof(size_t));
    size_t o_dl = reserve(&z, n_nodes, sizeof(size_t *));
    size_t o_dpool = reserve(&z, c->pool_n, sizeof(size_t));
    size_t o_tmp = reserve(&z, c->max_count, 3 * sizeof(double));
    size_t o_mark = reserve(&z, c->max_count, 1);
    size_t o_reach = reserve(&z, n_nodes, 1);
    if (z.overflow)
        return ad__fail(t, AD_EOVERFLOW, "ad_check_grad: the checker's buffers overflow size_t");
    char *block = ad__alloc(&t->alloc, z.bytes);
    if (!block)
        return ad__fail(t, AD_ENOMEM, NULL);
    c->pool_n = z.bytes; /* remembered for the free; restored below */
    c->x = (double *)(block + o_x);
    c->g = c->x + c->n_coords;
    c->xs = c->g + c->n_coords;
    c->pool = (double *)(block + o_pool);
    c->val = (double **)(block + o_val);
    c->piece0 = (int **)(block + o_piece);
    c->leaf = (size_t *)(block + o_leaf);
    c->off = (size_t *)(block + o_off);
    c->leaf_of = (size_t *)(block + o_leaf_of);
    c->piece_pool = (int *)(block + o_pp);
    c->dn = (size_t *)(block + o_dn);
    c->dl = (size_t **)(block + o_dl);
    size_t *dpool = (size_t *)(block + o_dpool);
    c->tmp = (double *)(block + o_tmp);
    c->mark = (uint8_t *)(block + o_mark);
    c->reach = (uint8_t *)(block + o_reach);
    memset(c->dn, 0, n_nodes * sizeof(size_t));
    memset(c->mark, 0, c->max_count);
    /* the loss's cone: only its nodes can move the loss, so only their kinks count */
    memset(c->reach, 0, n_nodes);
    c->reach[last] = AD__REACH_CONE;
    for (size_t i = n_nodes; i-- > 0;)
        if (c->reach[i])
            for (unsigned q = 0; q < t->nodes[i].n_in; q++)
                c->reach[t->nodes[i].in[q]] = AD__REACH_CONE;

    size_t at = 0, pat = 0, li = 0, k = 0;
    for (size_t i = 0; i < n_nodes; i++) {
        const ad__node *n = &t->nodes[i];
        c->val[i] = c->pool + at;
        c->dl[i] = dpool + at;
        memcpy(c->val[i], n->val, n->count * sizeof(double));
        at += n->count;
        c->leaf_of[i] = SIZE_MAX;
        c->piece0[i] = NULL;
        if (is_leaf(n)) {
            c->leaf_of[i] = li;
            c->leaf[li] = i;
            c->off[li++] = k;
            memcpy(c->x + k, n->val, n->count * sizeof(double));
            k += n->count;
        } else if (n->kind == AD__NODE_OP && n->op->piece && c->reach[i]) {
            c->piece0[i] = c->piece_pool + pat;
            ad_op_args a;
            ad__node_args(t, n, &a);
            for (size_t e = 0; e < n->count; e++)
                c->piece0[i][e] = n->op->piece(&a, e);
            pat += n->count;
        }
    }
    c->off[c->n_leaf] = c->n_coords;
    c->f0 = t->nodes[last].val[0];
    for (size_t j = 0; j < c->n_coords; j++)
        if (fabs(c->x[j]) > c->xmax)
            c->xmax = fabs(c->x[j]);
    ad__singular_find(c);

    ad_status st = ad__backward_sweep(t, ad__var_of(t, last));
    if (st != AD_OK) {
        ad__ctx_free(c);
        return st;
    }
    for (size_t l = 0; l < c->n_leaf; l++) {
        const ad__node *n = &t->nodes[c->leaf[l]];
        for (size_t e = 0; e < n->count; e++)
            c->g[c->off[l] + e] = t->nodes[last].needs_grad ? n->grad[e] : 0.0;
    }
    return AD_OK;
}

void ad__ctx_free(ad__ctx *c)
{
    if (c->x)
        ad__free(&c->t->alloc, c->x, c->pool_n);
    c->x = NULL;
}

/* ---- re-evaluation that follows the moved elements ----
 * Each node keeps the list of its elements that may differ from the tape's own
 * value (dn[i] of them in dl[i], or DIRTY_ALL). An evaluation first puts the
 * last call's moved elements back (copied from the tape, which holds the values
 * at x), then recomputes only what the moved inputs reach: an elementwise
 * built-in op the elements its moved inputs touch, one element at a time; a
 * matmul the columns (or rows) a moved B (or A) reaches, through the op's own
 * forward on the slice; anything else the whole node. Moving one weight of a
 * 64 x 64 layer so recomputes 64 of its 4096 outputs, not all of them. */

#define DIRTY_ALL SIZE_MAX

/* Puts node i's moved elements back to the tape's values at x. */
static void restore(ad__ctx *c, size_t i)
{
    const ad__node *n = &c->t->nodes[i];
    double *v = c->val[i];
    if (c->dn[i] == DIRTY_ALL)
        memcpy(v, n->val, n->count * sizeof(double));
    else
        for (size_t j = 0; j < c->dn[i]; j++)
            v[c->dl[i][j]] = n->val[c->dl[i][j]];
    c->dn[i] = 0;
}

static void full_forward(ad__ctx *c, size_t i)
{
    const ad__node *n = &c->t->nodes[i];
    ad_op_args a;
    ad__node_args(c->t, n, &a);
    for (unsigned k = 0; k < n->n_in; k++)
        a.x[k] = c->val[n->in[k]];
    a.y = NULL;
    n->op->forward(&a, c->val[i]);
    c->dn[i] = DIRTY_ALL;
}

/* Offset in an input of shape in of output element e (output shape out),
 * NumPy broadcasting: both padded to rank 4 on the left, size-1 dims repeat. */
static size_t bcast_off(const ad_shape *out, const ad_shape *in, size_t e)
{
    size_t off = 0, stride = 1;
    for (unsigned d = out->rank; d-- > 0;) {
        size_t od = out->dim[d], idx = e % od;
        e /= od;
        unsigned back = out->rank - 1 - d;
        if (back >= in->rank)
            continue;
        size_t id = in->dim[in->rank - 1 - back];
        off += (id == 1 ? 0 : idx) * stride;
        stride *= id;
    }
    return off;
}

/* An elementwise built-in op: the union of its inputs' moved elements (inputs
 * of the output's shape; a moved broadcast input makes it all), each
 * recomputed alone through the op's forward on rank-0 slices.
 * @return false when the whole node should be recomputed instead. */
static bool elementwise_sparse(ad__ctx *c, size_t i)
{
    const ad__node *n = &c->t->nodes[i];
    size_t cnt = 0, *list = c->dl[i];
    for (unsigned k = 0; k < n->n_in; k++) {
        size_t in = n->in[k], m = c->dn[in];
        if (!m)
            continue;
        if (m == DIRTY_ALL || !ad_shape_equal(c->t->nodes[in].shape, n->shape))
            goto all;
        for (size_t j = 0; j < m; j++) {
            size_t e = c->dl[in][j];
            if (c->mark[e])
                continue;
            if (cnt >= n->count / 4) /* dense enough: the array kernel is faster */
                goto all;
            c->mark[e] = 1;
            list[cnt++] = e;
        }
    }
    ad_op_args a = {.n_in = n->n_in, .attr = n->attr, .kink_grad = c->t->relu_at_zero};
    a.ys = (ad_shape){0, {0}};
    for (unsigned k = 0; k < n->n_in; k++)
        a.xs[k] = a.ys;
    for (size_t j = 0; j < cnt; j++) {
        size_t e = list[j];
        c->mark[e] = 0;
        for (unsigned k = 0; k < n->n_in; k++) {
            const ad__node *x = &c->t->nodes[n->in[k]];
            size_t off = x->count == n->count ? e : bcast_off(n->shape, x->shape, e);
            a.x[k] = c->val[n->in[k]] + off;
        }
        n->op->forward(&a, c->val[i] + e);
    }
    c->dn[i] = cnt;
    return true;
all:
    for (size_t j = 0; j < cnt; j++)
        c->mark[list[j]] = 0;
    return false;
}

/* y = A B (rank 2) with only B moved: the moved columns, each as A times one
 * column; only A moved: the moved rows, each as one row of A times B.
 * @return false when the whole product should be recomputed instead. */
static bool matmul_sparse(ad__ctx *c, size_t i)
{
    const ad__node *n = &c->t->nodes[i];
    size_t ia = n->in[0], ib = n->in[1];
    const ad_shape *A = c->t->nodes[ia].shape, *B = c->t->nodes[ib].shape;
    if (A->rank != 2 || ia == ib || (c->dn[ia] && c->dn[ib]))
        return false;
    size_t m = A->dim[0], k = A->dim[1], nn = B->dim[1];
    bool cols = c->dn[ib] != 0;
    size_t moved = cols ? c->dn[ib] : c->dn[ia], lines = cols ? nn : m;
    if (moved == DIRTY_ALL || moved > lines / 4)
        return false;
    const size_t *src = cols ? c->dl[ib] : c->dl[ia];
    size_t nl = 0, *line = c->dl[i]; /* distinct columns (rows) first, expanded below */
    for (size_t j = 0; j < moved; j++) {
        size_t l = cols ? src[j] % nn : src[j] / k;
        if (!c->mark[l]) {
            c->mark[l] = 1;
            line[nl++] = l;
        }
    }
    for (size_t j = 0; j < nl; j++)
        c->mark[line[j]] = 0;
    if (nl > lines / 4)
        return false;
    ad_op_args a = {.n_in = 2, .attr = n->attr, .kink_grad = c->t->relu_at_zero};
    double *y = c->val[i], *col = c->tmp, *out = c->tmp + k;
    /* expand from the back so the line numbers are read before being overwritten */
    size_t per = cols ? m : nn, cnt = nl * per;
    for (size_t j = nl; j-- > 0;) {
        size_t l = line[j];
        if (cols) {
            for (size_t p = 0; p < k; p++)
                col[p] = c->val[ib][p * nn + l];
            a.x[0] = c->val[ia], a.xs[0] = *A;
            a.x[1] = col, a.xs[1] = (ad_shape){2, {k, 1}};
            a.ys = (ad_shape){2, {m, 1}};
            n->op->forward(&a, out);
            for (size_t r = 0; r < m; r++) {
                y[r * nn + l] = out[r];
                line[j * per + r] = r * nn + l;
            }
        } else {
            a.x[0] = c->val[ia] + l * k, a.xs[0] = (ad_shape){2, {1, k}};
            a.x[1] = c->val[ib], a.xs[1] = *B;
            a.ys = (ad_shape){2, {1, nn}};
            n->op->forward(&a, y + l * nn);
            for (size_t q = 0; q < nn; q++)
                line[j * per + q] = l * nn + q;
        }
    }
    c->dn[i] = cnt;
    return true;
}

/* Recomputes op node i from its inputs' moved elements. */
static void eval_op(ad__ctx *c, size_t i)
{
    const ad__node *n = &c->t->nodes[i];
    bool moved = false, any_all = false;
    for (unsigned k = 0; k < n->n_in; k++) {
        moved |= c->dn[n->in[k]] != 0;
        any_all |= c->dn[n->in[k]] == DIRTY_ALL;
    }
    if (!moved) {
        if (c->dn[i])
            restore(c, i);
        return;
    }
    bool elementwise = (n->op->flags & AD_OP_ELEMENTWISE) && ad__op_is_builtin(n->op);
    bool mm = n->op == &ad_op_matmul;
    if (any_all || (!elementwise && !mm)) {
        full_forward(c, i); /* overwrites every element: nothing to restore */
        return;
    }
    if (c->dn[i])
        restore(c, i);
    if (!(elementwise ? elementwise_sparse(c, i) : matmul_sparse(c, i)))
        full_forward(c, i);
}

/* Evaluates up to the loss with leaf `leaf` (SIZE_MAX: every leaf) taken from
 * xs, or, when elem != SIZE_MAX, only element elem of it set to value. */
static double eval(ad__ctx *c, const double *xs, size_t leaf, size_t elem, double value)
{
    const ad_tape *t = c->t;
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &t->nodes[i];
        if (n->kind == AD__NODE_OP) {
            eval_op(c, i);
            continue;
        }
        size_t l = c->leaf_of[i];
        bool moved = l != SIZE_MAX && (leaf == SIZE_MAX || l == leaf);
        if (!moved) {
            if (c->dn[i])
                restore(c, i);
        } else if (elem != SIZE_MAX) {
            if (c->dn[i])
                restore(c, i);
            c->val[i][elem] = value;
            c->dl[i][0] = elem;
            c->dn[i] = 1;
        } else {
            memcpy(c->val[i], xs + c->off[l], n->count * sizeof(double));
            c->dn[i] = DIRTY_ALL;
        }
    }
    return c->val[c->last][0];
}

double ad__ctx_eval_leaf(ad__ctx *c, const double *xs, size_t leaf)
{
    return eval(c, xs, leaf, SIZE_MAX, 0.0);
}

double ad__ctx_eval(ad__ctx *c, const double *xs)
{
    return eval(c, xs, SIZE_MAX, SIZE_MAX, 0.0);
}

double ad__ctx_eval_coord(ad__ctx *c, size_t k, double value)
{
    size_t lo = 0, hi = c->n_leaf; /* the leaf holding coordinate k: off[] is sorted */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->off[mid] <= k)
            lo = mid;
        else
            hi = mid;
    }
    return eval(c, NULL, lo, k - c->off[lo], value);
}

bool ad__ctx_piece_moved(const ad__ctx *c, size_t *node, size_t *elem)
{
    const ad_tape *t = c->t;
    for (size_t i = 0; i <= c->last; i++) {
        if (!c->piece0[i] || !c->dn[i]) /* nothing moved: still at x's pieces */
            continue;
        const ad__node *n = &t->nodes[i];
        ad_op_args a;
        ad__node_args(t, n, &a);
        for (unsigned k = 0; k < n->n_in; k++)
            a.x[k] = c->val[n->in[k]];
        a.y = c->val[i];
        size_t m = c->dn[i] == DIRTY_ALL ? n->count : c->dn[i];
        for (size_t j = 0; j < m; j++) {
            size_t e = c->dn[i] == DIRTY_ALL ? j : c->dl[i][j];
            /* a NaN is no kink: the op is undefined there (pow off an integer
             * exponent at a negative base), which the reference reports */
            if (!isnan(c->val[i][e]) && n->op->piece(&a, e) != c->piece0[i][e]) {
                *node = i;
                *elem = e;
                return true;
            }
        }
    }
    return false;
}
