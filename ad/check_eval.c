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
    size_t o_flag = reserve(&z, n_nodes, 1);
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
    c->flag = (uint8_t *)(block + o_flag);
    memset(c->flag, 0, n_nodes);

    size_t at = 0, pat = 0, li = 0, k = 0;
    for (size_t i = 0; i < n_nodes; i++) {
        const ad__node *n = &t->nodes[i];
        c->val[i] = c->pool + at;
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
        } else if (n->kind == AD__NODE_OP && n->op->piece) {
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

enum { DEP = 1, STALE = 2, REDO = 4 };

double ad__ctx_eval_leaf(ad__ctx *c, const double *xs, size_t leaf)
{
    const ad_tape *t = c->t;
    for (size_t i = 0; i <= c->last; i++) {
        const ad__node *n = &t->nodes[i];
        uint8_t f = c->flag[i], dep = 0;
        if (n->kind != AD__NODE_OP) {
            size_t l = c->leaf_of[i];
            if (l != SIZE_MAX && (leaf == SIZE_MAX || l == leaf))
                dep = DEP;
            if ((dep || (f & STALE)) && l != SIZE_MAX)
                memcpy(c->val[i], xs + c->off[l], n->count * sizeof(double));
            c->flag[i] = (uint8_t)(dep | (dep ? STALE : 0) | ((dep || (f & STALE)) ? REDO : 0));
            continue;
        }
        bool redo = f & STALE;
        for (unsigned k = 0; k < n->n_in; k++) {
            dep |= c->flag[n->in[k]] & DEP;
            redo |= (c->flag[n->in[k]] & REDO) != 0;
        }
        if (redo) {
            ad_op_args a;
            ad__node_args(t, n, &a);
            for (unsigned k = 0; k < n->n_in; k++)
                a.x[k] = c->val[n->in[k]];
            a.y = NULL;
            n->op->forward(&a, c->val[i]);
        }
        /* what depends on the moved leaf now holds a moved value: stale */
        c->flag[i] = (uint8_t)(dep | (dep ? STALE : 0) | (redo ? REDO : 0));
    }
    return c->val[c->last][0];
}

double ad__ctx_eval(ad__ctx *c, const double *xs)
{
    return ad__ctx_eval_leaf(c, xs, SIZE_MAX);
}

bool ad__ctx_piece_moved(const ad__ctx *c, size_t *node, size_t *elem)
{
    const ad_tape *t = c->t;
    for (size_t i = 0; i <= c->last; i++) {
        if (!c->piece0[i] || !(c->flag[i] & 4)) /* not recomputed: still at x's pieces */
            continue;
        const ad__node *n = &t->nodes[i];
        ad_op_args a;
        ad__node_args(t, n, &a);
        for (unsigned k = 0; k < n->n_in; k++)
            a.x[k] = c->val[n->in[k]];
        a.y = c->val[i];
        for (size_t e = 0; e < n->count; e++)
            if (n->op->piece(&a, e) != c->piece0[i][e]) {
                *node = i;
                *elem = e;
                return true;
            }
    }
    return false;
}
