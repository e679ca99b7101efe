/* tape.c - creating, resetting and freeing tapes; handles; recording nodes. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

static atomic_uint next_tape_id = 1;

const ad_shape ad__scalar_shape = {0, {0, 0, 0, 0}};
const double ad__no_attr[AD_MAX_ATTR] = {0.0, 0.0, 0.0, 0.0};

/* Returned when a tape cannot be created: every call on it is a no-op. */
static ad_tape nomem_tape = {
    .status = AD_ENOMEM,
    .msg = "ad_tape_new: out of memory",
    .is_static = true,
};
static ad_tape badopts_tape = {
    .status = AD_EINVAL,
    .msg = "ad_tape_new: relu_at_zero must be in [0, 1]",
    .is_static = true,
};

ad_tape_opts ad_tape_opts_default(void)
{
    return (ad_tape_opts){.alloc = {NULL, NULL}, .chunk_bytes = 64 * 1024, .relu_at_zero = 0.0};
}

static bool valid_kink_grad(double g)
{
    return g >= 0.0 && g <= 1.0; /* false for NaN */
}

ad_tape *ad_tape_new(const ad_tape_opts *opts)
{
    ad_tape_opts o = opts ? *opts : ad_tape_opts_default();
    if (!valid_kink_grad(o.relu_at_zero))
        return &badopts_tape;
    ad_tape *t = ad__alloc(&o.alloc, sizeof *t);
    if (!t)
        return &nomem_tape;
    memset(t, 0, sizeof *t);
    t->alloc = o.alloc;
    ad__arena_init(&t->arena, o.chunk_bytes);
    t->id = atomic_fetch_add(&next_tape_id, 1);
    if (t->id == 0) /* wrapped: 0 is reserved for the nil variable */
        t->id = atomic_fetch_add(&next_tape_id, 1);
    t->gen = 1;
    t->relu_at_zero = o.relu_at_zero;
    t->verify = ad__verify_env(); /* AD_VERIFY=off|fd|mpfr|all */
    return t;
}

/* Drops the references the recorded parameter bindings hold. */
static void unbind_params(ad_tape *t)
{
    for (size_t i = 0; i < t->n_mat; i++) /* deferred nodes are never bindings */
        if (t->nodes[i].kind == AD__LEAF_PARAM)
            ad__param_release(t->nodes[i].param);
}

void ad_tape_free(ad_tape *t)
{
    if (!t || t->is_static)
        return;
    unbind_params(t);
    ad_allocator a = t->alloc;
    ad__arena_release(&t->arena, &a);
    ad__store_release(t);
    ad__free(&a, t->nodes, t->cap_nodes * sizeof *t->nodes);
    ad__free(&a, t, sizeof *t);
}

void ad_tape_reset(ad_tape *t)
{
    if (!t || t->is_static)
        return;
    unbind_params(t);
    ad__arena_rewind(&t->arena);
    t->n_nodes = t->n_mat = t->sbase = t->s_lim = 0;
    t->swept = t->general_hi = 0;
    t->gen++;
    if (t->gen == 0)
        t->gen = 1;
    t->status = AD_OK;
    t->msg[0] = '\0';
}

ad_status ad_tape_set_relu_at_zero(ad_tape *t, double g)
{
    if (!t)
        return AD_EINVAL;
    if (!valid_kink_grad(g))
        return ad__fail(t, AD_EINVAL,
                        "ad_tape_set_relu_at_zero: gradient at 0 must be in [0, 1], got %g", g);
    if (t->is_static)
        return t->status;
    t->relu_at_zero = g;
    return AD_OK;
}

double ad_tape_relu_at_zero(const ad_tape *t)
{
    return t ? t->relu_at_zero : 0.0;
}

size_t ad_tape_size(const ad_tape *t)
{
    return t ? t->n_nodes : 0;
}

size_t ad_tape_bytes(const ad_tape *t)
{
    return t ? t->arena.held + t->cap_nodes * sizeof *t->nodes + ad__store_bytes(t) : 0;
}

ad_var ad__var_of(const ad_tape *t, size_t i)
{
    return (ad_var){(uint32_t)i, t->id, t->gen};
}

bool ad_var_is_nil(ad_var v)
{
    return v.tape == 0;
}

bool ad__handle_ok(ad_tape *t, ad_var v, const char *fn)
{
    if (v.tape == 0) {
        ad__fail(t, AD_EHANDLE, "%s: the nil variable was passed (a failed builder's result?)", fn);
        return false;
    }
    if (v.tape != t->id) {
        ad__fail(t, AD_EHANDLE, "%s: variable %u belongs to another tape (tape %u, this is tape %u)",
                 fn, v.index, v.tape, t->id);
        return false;
    }
    if (v.gen != t->gen) {
        ad__fail(t, AD_EHANDLE,
                 "%s: stale variable %u from before ad_tape_reset (generation %u, tape is at %u)",
                 fn, v.index, v.gen, t->gen);
        return false;
    }
    if (v.index >= t->n_nodes) {
        ad__fail(t, AD_EHANDLE, "%s: variable %u is past the tape's end (%zu nodes)", fn, v.index,
                 t->n_nodes);
        return false;
    }
    return true;
}

ad__node *ad__resolve(ad_tape *t, ad_var v, const char *fn)
{
    if (!ad__handle_ok(t, v, fn) || !ad__tape_sync(t))
        return NULL;
    return &t->nodes[v.index];
}

/* A read-only check that records nothing (for the const accessors). */
static bool valid(const ad_tape *t, ad_var v)
{
    return t && v.tape != 0 && v.tape == t->id && v.gen == t->gen && v.index < t->n_nodes;
}

/* The node record of a valid handle; NULL for a deferred scalar node. */
static const ad__node *peek(const ad_tape *t, ad_var v)
{
    return valid(t, v) && v.index < t->n_mat ? &t->nodes[v.index] : NULL;
}

const double *ad_value(const ad_tape *t, ad_var v)
{
    return valid(t, v) ? ad__val_of(t, v.index) : NULL;
}

double ad_value_scalar(const ad_tape *t, ad_var v)
{
    const ad__node *n = peek(t, v);
    if (!n)
        return valid(t, v) ? ad__val_of(t, v.index)[0] : NAN;
    return n->count ? n->val[0] : NAN;
}

ad_shape ad_var_shape(const ad_tape *t, ad_var v)
{
    const ad__node *n = peek(t, v);
    return n ? *n->shape : AD_SCALAR; /* deferred nodes are scalars */
}

const double *ad_grad(const ad_tape *t, ad_var v)
{
    /* below swept: some backward covered v (a scalar node's slot exists before) */
    return valid(t, v) && v.index < t->swept ? ad__grad_of(t, v.index) : NULL;
}

bool ad__nodes_reserve(ad_tape *t, size_t want)
{
    while (t->cap_nodes < want) {
        /* grow by half: a long recording holds at most a third unused */
        size_t cap = t->cap_nodes ? t->cap_nodes + t->cap_nodes / 2 : 256, bytes;
        if (!ad__mul_size(cap, sizeof *t->nodes, &bytes))
            return ad__fail(t, AD_ENOMEM, NULL), false;
        ad__node *nodes = ad__realloc(&t->alloc, t->nodes, t->cap_nodes * sizeof *t->nodes, bytes);
        if (!nodes)
            return ad__fail(t, AD_ENOMEM, NULL), false;
        t->nodes = nodes;
        t->cap_nodes = cap;
    }
    return true;
}

/* Counts the node just written at t->n_nodes (after the deferred ones, so
 * every node is materialized now). @return its handle. */
static ad_var commit(ad_tape *t)
{
    t->n_mat = ++t->n_nodes;
    t->s_lim = 0; /* n_mat moved: the fast entries ask ad__defer again */
    return ad__var_of(t, t->n_nodes - 1);
}

/* Makes room for one more node record after the deferred ones are written
 * out; false after recording why. */
static bool room_for_node(ad_tape *t, const char *prefix, const char *fn)
{
    if (t->n_nodes >= UINT32_MAX - 1) {
        ad__fail(t, AD_ELIMIT, "%s%s: the tape is full (%zu nodes)", prefix, fn, t->n_nodes);
        return false;
    }
    return ad__tape_sync(t) && ad__nodes_reserve(t, t->n_nodes + 1);
}

/* Appends a node with room for its values; NULL (tape in error) on failure.
 * fn is "ad_input" and the like; for an op node, prefix "ad_" and fn the op's name.
 * shared: a record equal to *shape that lives as long as the recording (an
 * input's), or NULL; rank 0 points at the static scalar shape, anything else
 * is copied into the arena, so a scalar node costs no shape bytes at all. */
static ad__node *push_node(ad_tape *t, const char *prefix, const char *fn, const ad_shape *shape,
                           const ad_shape *shared)
{
    size_t count = 1;
    if (shape->rank != 0) {
        ad_status st = ad_shape_count(shape, &count);
        if (st != AD_OK) {
            char b[96];
            ad__fail(t, st, "%s%s: node %zu: shape %s: %s", prefix, fn, t->n_nodes,
                     ad_shape_format(shape, b, sizeof b), ad_status_str(st));
            return NULL;
        }
    }
    if (!room_for_node(t, prefix, fn))
        return NULL;
    const ad_shape *shp = &ad__scalar_shape;
    if (shape->rank != 0) {
        shp = shared;
        if (!shp) {
            /* 40 bytes as 5 doubles: the arena hands out 8-byte aligned blocks */
            ad_shape *copy = (ad_shape *)(void *)ad__arena_doubles(
                &t->arena, &t->alloc, (sizeof(ad_shape) + sizeof(double) - 1) / sizeof(double));
            if (!copy) {
                ad__fail(t, AD_ENOMEM, NULL);
                return NULL;
            }
            *copy = *shape;
            shp = copy;
        }
    }
    double *val = ad__arena_doubles(&t->arena, &t->alloc, count);
    if (!val) {
        ad__fail(t, AD_ENOMEM, NULL);
        return NULL;
    }
    ad__node *n = &t->nodes[t->n_nodes];
    /* one store of the whole record, no memset of padding first */
    *n = (ad__node){.val = val, .count = count, .shape = shp}; /* param NULL */
    return n;
}

static ad_var record_leaf(ad_tape *t, const char *fn, int kind, ad_shape shape, const double *data)
{
    if (!t || t->status != AD_OK)
        return AD_NIL;
    ad__node *n = push_node(t, "", fn, &shape, NULL);
    if (!n)
        return AD_NIL;
    if (data)
        memcpy(n->val, data, n->count * sizeof(double));
    else
        memset(n->val, 0, n->count * sizeof(double));
    n->kind = (uint8_t)kind;
    n->needs_grad = kind != AD__LEAF_CONST;
    if (n->needs_grad)
        t->general_hi = t->n_nodes + 1;
    return commit(t);
}

ad_var ad_input(ad_tape *t, ad_shape shape, const double *data)
{
    return record_leaf(t, "ad_input", AD__LEAF_INPUT, shape, data);
}

ad_var ad_scalar(ad_tape *t, double value)
{
    return record_leaf(t, "ad_scalar", AD__LEAF_INPUT, AD_SCALAR, &value);
}

ad_var ad_const(ad_tape *t, ad_shape shape, const double *data)
{
    return record_leaf(t, "ad_const", AD__LEAF_CONST, shape, data);
}

ad_var ad_use(ad_tape *t, ad_param *p)
{
    if (!t || t->status != AD_OK)
        return AD_NIL;
    if (!p) {
        ad__fail(t, AD_EINVAL, "ad_use: the parameter is NULL");
        return AD_NIL;
    }
    ad_var v = record_leaf(t, "ad_use", AD__LEAF_PARAM, p->shape, p->data);
    if (ad_var_is_nil(v))
        return v;
    t->nodes[v.index].param = p;
    ad__param_retain(p);
    return v;
}

void ad__node_args(const ad_tape *t, const ad__node *n, ad_op_args *a)
{
    a->n_in = n->n_in;
    for (unsigned i = 0; i < n->n_in; i++) {
        const ad__node *in = &t->nodes[n->in[i]];
        a->x[i] = in->val;
        a->xs[i] = *in->shape;
    }
    a->y = n->val;
    a->ys = *n->shape;
    a->attr = n->attr;
    a->kink_grad = t->relu_at_zero;
}

/* Fills attributes with defaults and checks them; false after recording why. */
static bool take_attrs(ad_tape *t, const ad_op *op, const double *attr, unsigned n_attr,
                       double out[AD_MAX_ATTR])
{
    if (n_attr > op->n_attr) {
        ad__fail(t, AD_EINVAL, "ad_%s: node %zu: %u attributes given, the op takes at most %u",
                 op->name, t->n_nodes, n_attr, op->n_attr);
        return false;
    }
    if (n_attr && !attr) {
        ad__fail(t, AD_EINVAL, "ad_%s: node %zu: attribute array is NULL", op->name, t->n_nodes);
        return false;
    }
    for (unsigned i = 0; i < AD_MAX_ATTR; i++)
        out[i] = i < n_attr ? attr[i] : (i < op->n_attr && op->attr_default ? op->attr_default[i] : 0.0);
    for (unsigned i = 0; i < op->n_attr; i++) {
        if (!isfinite(out[i])) {
            ad__fail(t, AD_EINVAL, "ad_%s: node %zu: attribute %s is %g; attributes must be finite",
                     op->name, t->n_nodes, op->attr_name ? op->attr_name[i] : "?", out[i]);
            return false;
        }
    }
    char why[200];
    why[0] = '\0';
    if (op->check_attr && op->check_attr(out, why, sizeof why) != AD_OK) {
        ad__fail(t, AD_EINVAL, "ad_%s: node %zu: %s", op->name, t->n_nodes, why);
        return false;
    }
    return true;
}

/* The deferred scalar path of ad_apply: a built-in op on valid rank-0 inputs
 * becomes a compact record (scalar_store.c). @return false when the inputs
 * do not qualify (the general path then reports what is wrong), true when
 * the op was taken, recorded or failed (t->status says which). */
static bool defer(ad_tape *t, const ad_op *op, uint8_t code, const ad_var *in, unsigned n_in)
{
    uint32_t idx[2];
    bool needs_grad = false;
    for (unsigned i = 0; i < n_in; i++) {
        if (!valid(t, in[i]))
            return false;
        size_t k = idx[i] = in[i].index;
        if (k < t->n_mat) {
            const ad__node *x = &t->nodes[k];
            if (x->shape->rank != 0)
                return false;
            needs_grad |= x->needs_grad;
        } else {
            needs_grad |= t->srec[k - t->n_mat].needs_grad;
        }
    }
    ad__defer(t, op->name, code, idx, n_in, needs_grad);
    return true;
}

/* The scalar path of ad_apply: a built-in op on rank-0 inputs, its value from
 * scalar.c's switch. One arena block holds the value and, when the node needs
 * one, its gradient's slot (backward zeroes it), next to each other. */
static ad_var record_scalar(ad_tape *t, const ad_op *op, uint8_t code, const uint32_t *idx,
                            unsigned n_in, bool needs_grad)
{
    if (!room_for_node(t, "ad_", op->name))
        return AD_NIL;
    double *val = ad__arena_doubles(&t->arena, &t->alloc, needs_grad ? 2 : 1);
    if (!val) {
        ad__fail(t, AD_ENOMEM, NULL);
        return AD_NIL;
    }
    double a = t->nodes[idx[0]].val[0], b = n_in > 1 ? t->nodes[idx[1]].val[0] : 0.0;
    val[0] = ad__scalar_forward(code, a, b);
    ad__node *n = &t->nodes[t->n_nodes];
    /* field by field: a compound literal becomes a `rep stos` clear first, the
     * slowest part of recording a scalar op */
    n->op = op;
    n->attr = ad__no_attr;
    n->val = val;
    n->grad = NULL;
    if (needs_grad) {
        val[1] = 0.0;
        n->grad = val + 1;
    }
    n->count = 1;
    n->shape = &ad__scalar_shape;
    n->label = NULL;
    n->in[0] = idx[0];
    n->in[1] = n_in > 1 ? idx[1] : 0;
    n->in[2] = 0;
    n->n_in = (uint8_t)n_in;
    n->kind = AD__NODE_OP;
    n->needs_grad = needs_grad;
    n->scode = code;
    if (t->anomaly && !ad__anomaly_forward(t, n))
        return AD_NIL;
    return commit(t);
}

ad_var ad_apply(ad_tape *t, const ad_op *op, const ad_var *in, unsigned n_in,
                const double *attr, unsigned n_attr)
{
    if (!t || t->status != AD_OK)
        return AD_NIL;
    if (!op || !op->forward || !op->name) {
        ad__fail(t, AD_EINVAL, "ad_apply: node %zu: the op is NULL or has no forward", t->n_nodes);
        return AD_NIL;
    }
    if (n_in != op->arity || (n_in && !in)) {
        ad__fail(t, AD_EINVAL, "ad_%s: node %zu: %u inputs given, the op takes %u", op->name,
                 t->n_nodes, n_in, op->arity);
        return AD_NIL;
    }
    uint8_t dcode = n_attr || t->anomaly ? 0 : ad__scalar_code(op);
    if (dcode && defer(t, op, dcode, in, n_in))
        return t->status == AD_OK ? ad__var_of(t, t->n_nodes - 1) : AD_NIL;
    /* the general path reads t->nodes: write out the deferred scalar nodes */
    if (!ad__tape_sync(t))
        return AD_NIL;
    uint32_t idx[AD_MAX_ARITY];
    const ad_shape *xshape[AD_MAX_ARITY] = {&ad__scalar_shape};
    bool needs_grad = false, all_scalar = true;
    for (unsigned i = 0; i < n_in; i++) {
        const ad__node *x = peek(t, in[i]);
        if (!x) {
            /* the builder's name is formatted only when there is an error to report */
            char fn[64];
            snprintf(fn, sizeof fn, "ad_%s", op->name);
            ad__resolve(t, in[i], fn);
            return AD_NIL;
        }
        idx[i] = in[i].index;
        xshape[i] = x->shape;
        all_scalar &= x->shape->rank == 0;
        needs_grad |= x->needs_grad;
    }
    uint8_t code = all_scalar && !n_attr ? ad__scalar_code(op) : 0;
    if (code)
        return record_scalar(t, op, code, idx, n_in, needs_grad);
    /* most ops take no attributes: skip the defaults-and-checks walk */
    double attrs[AD_MAX_ATTR];
    bool has_attr = n_attr || op->n_attr;
    if (has_attr && !take_attrs(t, op, attr, n_attr, attrs))
        return AD_NIL;

    ad_op_args a = {.n_in = n_in, .attr = has_attr ? attrs : ad__no_attr,
                    .kink_grad = t->relu_at_zero};
    for (unsigned i = 0; i < n_in; i++) {
        a.x[i] = t->nodes[idx[i]].val;
        a.xs[i] = *xshape[i];
    }
    ad_shape out = n_in ? a.xs[0] : AD_SCALAR;
    /* the scalar fast path: broadcasting scalars gives a scalar, nothing to ask */
    bool trivial = all_scalar && op->shape == ad__bcast_shape;
    if (op->shape && !trivial) {
        char why[200];
        why[0] = '\0'; /* not `= ""`: that clears all 200 bytes on every op */
        ad_status st = op->shape(&a, &out, why, sizeof why);
        if (st != AD_OK) {
            char s0[96], s1[96] = "";
            ad_shape_format(&a.xs[0], s0, sizeof s0);
            if (n_in > 1)
                ad_shape_format(&a.xs[1], s1, sizeof s1);
            ad__fail(t, st, "ad_%s: node %zu: %s (inputs %s%s%s)", op->name, t->n_nodes, why, s0,
                     n_in > 1 ? " and " : "", s1);
            return AD_NIL;
        }
    }
    /* an output shaped like an input shares that input's shape record */
    const ad_shape *shared = NULL;
    for (unsigned i = 0; i < n_in && !shared; i++)
        if (xshape[i]->rank != 0 && ad_shape_equal(xshape[i], &out))
            shared = xshape[i];
    ad__node *n = push_node(t, "ad_", op->name, &out, shared);
    if (!n)
        return AD_NIL;
    n->attr = ad__no_attr;
    if (has_attr) {
        /* attributes out of line: only ops that take them pay for them */
        double *copy = ad__arena_doubles(&t->arena, &t->alloc, AD_MAX_ATTR);
        if (!copy) {
            ad__fail(t, AD_ENOMEM, NULL);
            return AD_NIL;
        }
        memcpy(copy, attrs, sizeof attrs);
        n->attr = copy;
    }
    n->op = op;
    n->kind = AD__NODE_OP;
    n->n_in = (uint8_t)n_in;
    n->needs_grad = needs_grad;
    memcpy(n->in, idx, n_in * sizeof idx[0]);
    a.ys = out;
    op->forward(&a, n->val);
    if (t->anomaly && !ad__anomaly_forward(t, n))
        return AD_NIL;
    if (needs_grad)
        t->general_hi = t->n_nodes + 1;
    return commit(t);
}
