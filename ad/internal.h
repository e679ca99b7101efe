/* internal.h - ad__* names shared inside the library; never installed. */
#ifndef AD_INTERNAL_H
#define AD_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ad/ad.h"

/* ---- allocation (alloc.c) ---- */
void *ad__alloc(const ad_allocator *a, size_t nsize);
void *ad__realloc(const ad_allocator *a, void *p, size_t osize, size_t nsize);
void ad__free(const ad_allocator *a, void *p, size_t osize);
/* a * b into *out; false on overflow. */
bool ad__mul_size(size_t a, size_t b, size_t *out);

/* ---- arena (arena.c): chunks handed out in order, rewound on reset ---- */
typedef struct ad__chunk ad__chunk;
typedef struct ad__arena {
    ad__chunk *head, *cur; /* cur: the chunk allocations come from now */
    size_t chunk_bytes;    /* default chunk size                       */
    size_t held;           /* bytes of all chunks                      */
} ad__arena;

void ad__arena_init(ad__arena *ar, size_t chunk_bytes);
/* n doubles, 8-byte aligned, uninitialized; NULL on out of memory. */
double *ad__arena_doubles(ad__arena *ar, const ad_allocator *a, size_t n);
void ad__arena_rewind(ad__arena *ar);
void ad__arena_release(ad__arena *ar, const ad_allocator *a);

/* ---- tape (tape.c) ---- */
enum { AD__LEAF_INPUT, AD__LEAF_CONST, AD__LEAF_PARAM, AD__NODE_OP };

/* One recorded value. Kept small because a scalar program is memory-bound on
 * this record (72 bytes, from 144): the shape and the attributes live out of
 * line, a scalar's shape and an attribute-less op's attributes point at shared
 * static records, so rank-0 nodes store nothing but pointers. */
typedef struct ad__node {
    const ad_op *op;            /* NULL for leaves                         */
    union {                     /* a leaf has no attributes, an op node no parameter */
        ad_param *param;        /* the bound parameter of a param leaf     */
        const double *attr;     /* op nodes: AD_MAX_ATTR values, ad__no_attr or an arena copy */
    };
    double *val;                /* count values                            */
    double *grad;               /* count values, allocated by backward     */
    size_t count;
    const ad_shape *shape;      /* ad__scalar_shape, an input's, or an arena copy */
    const char *label;          /* ad_var_label's copy (in the arena), or NULL */
    uint32_t in[AD_MAX_ARITY];  /* input node indices, all < own index     */
    uint8_t n_in, kind, needs_grad;
    uint8_t scode;              /* scalar.c's code of a rank-0 built-in op, or 0; when
                                   set and needs_grad, grad is val + 1, zeroed at record */
} ad__node;

/* The shared rank-0 shape and the all-zero attributes nodes point at. */
extern const ad_shape ad__scalar_shape;
extern const double ad__no_attr[AD_MAX_ATTR];

/* A scalar-path node before its ad__node is written (tape.c): inputs, the
 * switch's code, and whether it needs a gradient. Its value and gradient slot
 * are a pair in the tape's value store. */
typedef struct ad__srec {
    uint32_t in[2];
    uint8_t code, n_in, needs_grad;
} ad__srec;

struct ad_tape {
    ad_allocator alloc;
    ad__arena arena;
    ad__node *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t id, gen;           /* a handle names both                     */
    double relu_at_zero;
    bool anomaly;               /* stop at the first non-finite value (anomaly.c) */
    ad_status status;           /* first error, sticky                     */
    char msg[512];
    bool is_static;             /* the in-error tape ad_tape_new returns on failure */
    uint8_t verify;             /* ad_verify_mode run after each ad_backward */
    /* What a backward must zero: nodes below `swept` hold an earlier sweep's
     * gradients; above it, scalar-path nodes come with a zeroed slot and only
     * nodes below `general_hi` (1 + the last other node that needs a gradient)
     * need a buffer. So the first backward of a scalar recording skips the walk. */
    size_t swept, general_hi;
    int seed_shift;             /* a reverse sweep seeds 2^-seed_shift (backward_rescue.c) */
    /* The deferred scalar path: nodes n_mat..n_nodes-1 exist only as srec[i -
     * n_mat], their value and gradient slot as pair sbase + (i - n_mat) of the
     * value store (blocks that never move, kept across resets). Anything that
     * reads t->nodes past n_mat calls ad__tape_sync first (ad__resolve does). */
    ad__srec *srec;
    size_t cap_srec, n_mat, sbase;
    double **sblk;              /* AD__SBLK pairs each                     */
    size_t n_sblk, cap_sblk;
    /* The builders' fast entries (scalar.c) record node n in place while
     * n < s_lim, its pair at n + s_off: room in srec and in the blocks, below
     * the node limit. Set by ad__defer, 0 (ask ad__defer) after anything else
     * moves n_mat or sbase. */
    size_t s_lim, s_off;
};
enum { AD__SBLK = 4096 };

struct ad_param {
    ad_allocator alloc;
    size_t refs;                /* 1 for the owner + 1 per tape binding: freed at 0 */
    ad_shape shape;
    size_t count;
    double *data, *grad;        /* one block of 2*count doubles            */
};

/* Records the first error on t with a formatted message; later errors are
 * ignored. Out of memory copies a static message and allocates nothing.
 * Every failure passes here: a good breakpoint. @return status. */
ad_status ad__fail(ad_tape *t, ad_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The node a handle names, or NULL after recording why on the tape. Writes
 * out deferred scalar nodes first, so t->nodes is complete afterwards. */
ad__node *ad__resolve(ad_tape *t, ad_var v, const char *fn);
/* The same checks without the node: false after recording why. */
bool ad__handle_ok(ad_tape *t, ad_var v, const char *fn);
/* Writes the ad__node records of deferred scalar nodes (t is const for the
 * readers of const tapes: the records are a cache of the compact ones).
 * @return false after recording AD_ENOMEM. */
bool ad__tape_sync(const ad_tape *t);
/* Appends a deferred scalar node (scalar_store.c): its value from the switch.
 * @return false after recording why (a full tape, out of memory). */
bool ad__defer(ad_tape *t, const char *name, uint8_t code, const uint32_t *idx, unsigned n_in,
               bool needs_grad);
/* Room in t->nodes for want records; false after recording why. */
bool ad__nodes_reserve(ad_tape *t, size_t want);
void ad__store_release(ad_tape *t);
size_t ad__store_bytes(const ad_tape *t);
/* Value, gradient slot (NULL: needs none) of node i, deferred or not
 * (inline: the deferred sweep calls them four times per node). */
static inline double *ad__pair(const ad_tape *t, size_t i)
{
    size_t k = t->sbase + (i - t->n_mat);
    return t->sblk[k / AD__SBLK] + 2 * (k % AD__SBLK);
}
static inline double *ad__val_of(const ad_tape *t, size_t i)
{
    return i < t->n_mat ? t->nodes[i].val : ad__pair(t, i);
}
static inline double *ad__grad_of(const ad_tape *t, size_t i)
{
    if (i < t->n_mat)
        return t->nodes[i].needs_grad ? t->nodes[i].grad : NULL;
    return t->srec[i - t->n_mat].needs_grad ? ad__pair(t, i) + 1 : NULL;
}
/* Fills the kernel arguments of an op node. */
void ad__node_args(const ad_tape *t, const ad__node *n, ad_op_args *a);
/* Handle for node i of the current generation. */
ad_var ad__var_of(const ad_tape *t, size_t i);

/* ---- the scalar path (scalar.c): rank-0 built-in ops in one switch ---- */
/* The op's code, or 0 when it takes the general path (tensors, custom ops,
 * copies of a descriptor, ops outside the switch). */
uint8_t ad__scalar_code(const ad_op *op);
/* The descriptor of a code (the inverse of ad__scalar_code). */
const ad_op *ad__scalar_op(uint8_t code);
/* The op's value at (a, b) (b unused for unary ops), as its forward computes it. */
double ad__scalar_forward(uint8_t code, double a, double b);
/* Accumulates gy times the derivatives into *ga and *gb (NULL: skipped), input
 * 0 first, exactly as the op's backward does; kink: the tape's relu'(0). */
void ad__scalar_backward(uint8_t code, double a, double b, double y, double gy, double kink,
                         double *ga, double *gb);

/* The reverse sweep over deferred nodes loss..n_mat (whose zeroed slots the
 * caller provides), exactly as ad__scalar_backward node by node. */
void ad__scalar_sweep(ad_tape *t, size_t loss);
/* The builders of the ops above (ad_add, ...) call these: ad_apply with the
 * op's code known at compile time, the same results and errors. */
ad_var ad__s_add(ad_tape *t, ad_var a, ad_var b);
ad_var ad__s_sub(ad_tape *t, ad_var a, ad_var b);
ad_var ad__s_mul(ad_tape *t, ad_var a, ad_var b);
ad_var ad__s_div(ad_tape *t, ad_var a, ad_var b);
ad_var ad__s_neg(ad_tape *t, ad_var x);
ad_var ad__s_exp(ad_tape *t, ad_var x);
ad_var ad__s_log(ad_tape *t, ad_var x);
ad_var ad__s_sqrt(ad_tape *t, ad_var x);
ad_var ad__s_tanh(ad_tape *t, ad_var x);
ad_var ad__s_square(ad_tape *t, ad_var x);
ad_var ad__s_relu(ad_tape *t, ad_var x);

/* ---- backward (backward.c) and its verify hook (verify_hook.c) ---- */
/* The reverse sweep alone: node gradients of everything up to loss, nothing
 * added into parameters, no verify hook; leaf gradients that an overflowed
 * adjoint made inf or NaN are redone at a scaled seed (backward_rescue.c).
 * @return AD_OK or the tape's error. */
ad_status ad__backward_sweep(ad_tape *t, ad_var loss);
/* One sweep seeded with 2^-t->seed_shift, no rescue (backward.c). */
ad_status ad__backward_sweep_once(ad_tape *t, ad_var loss);
/* The AD_VERIFY environment variable as an ad_verify_mode (off when unset). */
uint8_t ad__verify_env(void);
/* Runs the checker after a backward; AD_ECHECK with the worst line on failure. */
ad_status ad__verify_backward(ad_tape *t, ad_var loss);

/* ---- parameters (param.c) ---- */
/* A tape binding keeps its parameter alive: ad_param_free while bound only
 * drops the owner's reference, and the last unbinding frees it. */
void ad__param_retain(ad_param *p);
void ad__param_release(ad_param *p);

/* ---- anomaly mode (anomaly.c): the hooks in ad_apply and ad_backward ---- */
/* After node n's forward (n not yet counted, at index t->n_nodes): false after
 * recording AD_EDOMAIN when a value is NaN or +-inf. */
bool ad__anomaly_forward(ad_tape *t, const ad__node *n);
/* After node i's backward: AD_EDOMAIN (recorded) when it made an input's
 * gradient NaN or +-inf, else AD_OK. */
ad_status ad__anomaly_backward(ad_tape *t, size_t i);

/* ---- broadcasting (ops/broadcast.c): the binary elementwise shape rule ---- */
ad_status ad__bcast_shape(const ad_op_args *a, ad_shape *out, char *why, size_t why_len);

/* ---- registry (ops/registry.c) ---- */
bool ad__op_is_builtin(const ad_op *op);

#endif
