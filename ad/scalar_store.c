/* scalar_store.c - the deferred scalar path's storage: a scalar-path node is
 * first a 12-byte record (inputs, op code, needs-gradient) with its value and
 * gradient slot as a pair in blocks that never move, 28 bytes in all; its
 * 72-byte ad__node is written only when something other than the scalar path
 * needs t->nodes (ad__tape_sync). A training loop that records a scalar
 * program, runs backward and reads gradients never writes one. */
#include <string.h>
#include "internal.h"

/* Room for record j and pair k; false after recording AD_ENOMEM. */
static bool room(ad_tape *t, size_t j, size_t k)
{
    if (j == t->cap_srec) {
        size_t cap = t->cap_srec ? t->cap_srec + t->cap_srec / 2 : 1024, bytes;
        ad__srec *r = NULL;
        if (ad__mul_size(cap, sizeof *r, &bytes))
            r = ad__realloc(&t->alloc, t->srec, t->cap_srec * sizeof *r, bytes);
        if (!r)
            return ad__fail(t, AD_ENOMEM, NULL), false;
        t->srec = r;
        t->cap_srec = cap;
    }
    if (k / AD__SBLK < t->n_sblk)
        return true;
    if (t->n_sblk == t->cap_sblk) {
        size_t cap = t->cap_sblk ? 2 * t->cap_sblk : 16, bytes;
        double **b = NULL;
        if (ad__mul_size(cap, sizeof *b, &bytes))
            b = ad__realloc(&t->alloc, t->sblk, t->cap_sblk * sizeof *b, bytes);
        if (!b)
            return ad__fail(t, AD_ENOMEM, NULL), false;
        t->sblk = b;
        t->cap_sblk = cap;
    }
    double *blk = ad__alloc(&t->alloc, 2 * AD__SBLK * sizeof(double));
    if (!blk)
        return ad__fail(t, AD_ENOMEM, NULL), false;
    t->sblk[t->n_sblk++] = blk;
    return true;
}

bool ad__defer(ad_tape *t, const char *name, uint8_t code, const uint32_t *idx, unsigned n_in,
               bool needs_grad)
{
    if (t->n_nodes >= UINT32_MAX - 1) {
        ad__fail(t, AD_ELIMIT, "ad_%s: the tape is full (%zu nodes)", name, t->n_nodes);
        return false;
    }
    size_t j = t->n_nodes - t->n_mat, k = t->sbase + j;
    if (!room(t, j, k))
        return false;
    double *v = ad__pair(t, t->n_nodes);
    double a = ad__val_of(t, idx[0])[0], b = n_in > 1 ? ad__val_of(t, idx[1])[0] : 0.0;
    v[0] = ad__scalar_forward(code, a, b);
    v[1] = 0.0; /* the gradient slot: zero until a backward covers it */
    t->srec[j] = (ad__srec){{idx[0], n_in > 1 ? idx[1] : 0}, code, (uint8_t)n_in, needs_grad};
    t->n_nodes++;
    /* the fast entries' room: below every limit room() and the check above
     * enforce (the blocks hold pairs sbase.. for nodes n_mat..) */
    size_t lim = t->n_mat + t->cap_srec, blk = t->n_sblk * AD__SBLK - t->sbase + t->n_mat;
    if (blk < lim)
        lim = blk;
    t->s_lim = lim < UINT32_MAX - 1 ? lim : UINT32_MAX - 1;
    t->s_off = t->sbase - t->n_mat; /* wraps when sbase < n_mat: only sums of it are used */
    return true;
}

bool ad__tape_sync(const ad_tape *ct)
{
    if (!ct || ct->n_mat == ct->n_nodes)
        return true;
    ad_tape *t = (ad_tape *)ct; /* never a static tape: those record nothing */
    if (!ad__nodes_reserve(t, t->n_nodes))
        return false;
    size_t np = t->n_nodes - t->n_mat;
    for (size_t j = 0; j < np; j++) {
        const ad__srec *r = &t->srec[j];
        double *v = ad__pair(t, t->n_mat + j);
        ad__node *n = &t->nodes[t->n_mat + j];
        n->op = ad__scalar_op(r->code);
        n->attr = ad__no_attr;
        n->val = v;
        n->grad = r->needs_grad ? v + 1 : NULL;
        n->count = 1;
        n->shape = &ad__scalar_shape;
        n->label = NULL;
        n->in[0] = r->in[0];
        n->in[1] = r->in[1];
        n->in[2] = 0;
        n->n_in = r->n_in;
        n->kind = AD__NODE_OP;
        n->needs_grad = r->needs_grad;
        n->scode = r->code;
    }
    t->sbase += np;
    t->n_mat = t->n_nodes;
    t->s_lim = 0;
    return true;
}

void ad__store_release(ad_tape *t)
{
    for (size_t b = 0; b < t->n_sblk; b++)
        ad__free(&t->alloc, t->sblk[b], 2 * AD__SBLK * sizeof(double));
    ad__free(&t->alloc, t->sblk, t->cap_sblk * sizeof *t->sblk);
    ad__free(&t->alloc, t->srec, t->cap_srec * sizeof *t->srec);
}

size_t ad__store_bytes(const ad_tape *t)
{
    return t->n_sblk * 2 * AD__SBLK * sizeof(double) + t->cap_sblk * sizeof *t->sblk +
           t->cap_srec * sizeof *t->srec;
}
