/* expr.h - the expression language of `adcheck`: a flat AST, its parser, and its evaluator onto a tape. */
#ifndef ADCHECK_EXPR_H
#define ADCHECK_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <ad/ad.h>

/* Documented limits; each has its own error message. */
#define EXPR_MAX_INPUT (1u << 20) /* bytes of one expression (1 MiB)          */
#define EXPR_MAX_DEPTH 256        /* nesting of (), [], calls and unary signs */
#define EXPR_MAX_NAME 255         /* characters of one identifier             */
#define EXPR_MAX_NUMBER 400       /* characters of one numeric literal        */
#define EXPR_MAX_ARGS 64          /* arguments of one call, elements of one literal */

typedef enum expr_kind {
    EXPR_NUM,    /* a numeric literal (also inf, nan)          */
    EXPR_VAR,    /* a variable                                 */
    EXPR_UNARY,  /* op: '-' or '+'                             */
    EXPR_BINARY, /* op: '+', '-', '*', '/', '^'                */
    EXPR_CALL,   /* name(args...)                              */
    EXPR_VEC,    /* [args...]                                  */
    EXPR_INDEX,  /* args[0][index]                             */
} expr_kind;

/* A node. Children always come before their parent in the node array, so the
 * evaluator walks the array in order with no recursion. */
typedef struct expr_node {
    expr_kind kind;
    size_t pos;          /* byte offset in the source, for messages     */
    char op;             /* EXPR_UNARY, EXPR_BINARY                     */
    double num;          /* EXPR_NUM                                    */
    size_t name;         /* EXPR_VAR, EXPR_CALL: offset of the name     */
    size_t name_len;
    size_t index;        /* EXPR_INDEX                                  */
    size_t first_arg;    /* offset into expr.args                       */
    size_t n_args;
} expr_node;

/* A parsed expression; owns copies of its source and names. */
typedef struct expr {
    char *src;           /* NUL-terminated copy of the source           */
    size_t len;
    expr_node *nodes;
    size_t n_nodes, cap_nodes;
    size_t *args;        /* child node indices of calls, vectors, binary and unary nodes */
    size_t n_args, cap_args;
    size_t root;
} expr;

/* An error: what, and where (a byte offset into the source). */
typedef struct expr_error {
    char msg[512];
    size_t pos;
    bool has_pos;
    char hint[128];      /* "did you mean 'sin'?" or ""                  */
} expr_error;

/**
 * Parses src[0..len) (any bytes; NUL is an error like other garbage).
 * @return true and fills e (free with expr_free), or false with err filled.
 */
bool expr_parse(const char *src, size_t len, expr *e, expr_error *err);

/** Frees what an expr holds. */
void expr_free(expr *e);

/** @return the child node index k of node n. */
size_t expr_arg(const expr *e, const expr_node *n, size_t k);

/**
 * Prints err to f as "adcheck: error: MSG at column C" with the source line
 * and a caret under the column, then the hint.
 */
void expr_error_print(const char *src, size_t len, const expr_error *err, FILE *f);

/* A variable's value: a scalar, a vector, or a matrix [[1, 2], [3, 4]]. */
typedef struct expr_value {
    char name[EXPR_MAX_NAME + 1];
    double *data;        /* n doubles, owned, row-major                 */
    size_t n;
    bool is_vector;      /* [..] even when n == 1 (also for a matrix)   */
    ad_shape shape;      /* rank 0, 1 or 2                              */
    bool used;
    ad_var var;          /* its input on the tape (set by expr_eval)    */
} expr_value;

/**
 * Parses "NAME=VALUE" (VALUE a number, hex float, inf, nan, [a, b, ...], or
 * a matrix of equal rows [[a, b], [c, d]]).
 * @return true, or false with err filled (positions relative to arg).
 */
bool expr_value_parse(const char *arg, expr_value *v, expr_error *err);
void expr_value_free(expr_value *v);

/**
 * Records e on t: each variable becomes an input (in the order of vals), each
 * call applies the registry op of that name. The result must be a scalar.
 * @return true with *out set, or false with err filled (the tape may be in error).
 */
bool expr_eval(const expr *e, ad_tape *t, expr_value *vals, size_t n_vals, ad_var *out,
               expr_error *err);

/* One op application the evaluator recorded, so a second evaluator (the
 * MPFR forward reference of `hunt`) can replay exactly the same program. */
typedef struct expr_step {
    const ad_op *op;
    ad_var in[AD_MAX_ARITY];
    unsigned n_in;
    double attr[AD_MAX_ATTR]; /* op->n_attr values, defaults filled */
    ad_var out;
} expr_step;

typedef struct expr_trace {
    expr_step *steps;
    size_t n, cap;
} expr_trace;

/** expr_eval that also appends each op application to tr (cleared first). */
bool expr_eval_trace(const expr *e, ad_tape *t, expr_value *vals, size_t n_vals, ad_var *out,
                     expr_trace *tr, expr_error *err);
void expr_trace_free(expr_trace *tr);

/* ---- helpers shared by the parser and the evaluator ---- */

/** The registered name closest to s (edit distance), or NULL when none is close. */
const char *expr_suggest(const char *s, size_t len, const char *const *extra, size_t n_extra);

/** Registers the tools' own ops (index, place) once; @return false with why on failure. */
bool expr_ops_register(char *why, size_t why_len);

/* The descriptors themselves: the evaluator uses these, not a lookup by name,
 * so a registry op that happens to share a name cannot change what v[i] means. */
const ad_op *expr_op_index(void);
const ad_op *expr_op_place(void);

#endif
