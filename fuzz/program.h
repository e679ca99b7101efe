/* program.h - a small byte-coded DAG of registry ops (<= 64 nodes, fan-out), decoded
 * into a plain description first and recorded on a tape second. */
#ifndef FZ_PROGRAM_H
#define FZ_PROGRAM_H

#include <stdbool.h>
#include <stdio.h>
#include <ad/ad.h>
#include "decode.h"

#define FZ_MAX_NODES 64
#define FZ_MAX_LEAVES 4
#define FZ_MAX_VALS 64   /* elements of any node           */
#define FZ_LEAF_VALS 6   /* elements of a leaf             */

enum { FZ_LEAF_INPUT, FZ_LEAF_CONST, FZ_LEAF_PARAM, FZ_NODE_OP };

typedef struct fz_node {
    int kind;
    const ad_op *op;                   /* FZ_NODE_OP only                 */
    unsigned in[AD_MAX_ARITY];         /* earlier nodes                   */
    double attr[AD_MAX_ATTR];
    unsigned n_attr;                   /* given; the rest take defaults   */
    ad_shape shape;
    size_t count;
    double val[FZ_LEAF_VALS];          /* leaves only                     */
} fz_node;

typedef struct fz_prog {
    size_t n;                          /* nodes; the last is the scalar loss */
    fz_node node[FZ_MAX_NODES];
    double relu_at_zero;
} fz_prog;

/**
 * Decodes a program. Every node is checked with the op's own shape and
 * attribute rules before it is kept, so recording it must succeed.
 * @param moderate leaves mostly in [-2, 2] (numeric checks want finite
 *        values); false: any double, edges included
 * @return false when no scalar loss could be made (nothing to run).
 */
bool fz_prog_decode(fz_in *in, fz_prog *p, bool moderate);

/**
 * Records p on t. params[i] is bound for the i-th FZ_LEAF_PARAM leaf (in node order).
 * @param vars receives p->n variables
 * @return the tape's status afterwards.
 */
ad_status fz_prog_record(const fz_prog *p, ad_tape *t, ad_param *const *params, ad_var *vars);

/** Prints the program, one node a line, leaf values in hex floats. */
void fz_prog_print(const fz_prog *p, FILE *f);

#endif
