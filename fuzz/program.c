/* program.c - decoding, recording and printing the byte-coded DAGs of fuzz_program and fuzz_alloc. */
#include <math.h>
#include <string.h>
#include "opdecode.h"
#include "program.h"

static const ad_shape leaf_shapes[] = {
    {0, {0}}, {0, {0}}, {1, {2}}, {1, {3}}, {2, {2, 3}}, {2, {3, 2}}, {2, {2, 2}}, {1, {1}},
};

static size_t count_of(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned d = 0; d < s->rank; d++)
        n *= s->dim[d];
    return n;
}

/* Whether op accepts these inputs and attributes, as ad_apply will judge it. */
static bool node_ok(const fz_prog *p, fz_node *nd)
{
    const ad_op *op = nd->op;
    /* Ops with integer inputs (class indices: nll, cross_entropy) check the
     * values when recording; a program's computed nodes are not integers. */
    if (op->int_inputs)
        return false;
    double full[AD_MAX_ATTR];
    for (unsigned k = 0; k < AD_MAX_ATTR; k++)
        full[k] = k < nd->n_attr ? nd->attr[k] : k < op->n_attr && op->attr_default ? op->attr_default[k] : 0.0;
    for (unsigned k = 0; k < op->n_attr; k++)
        if (!isfinite(full[k]))
            return false;
    char why[200];
    if (op->check_attr && op->check_attr(full, why, sizeof why) != AD_OK)
        return false;
    ad_op_args a = {.n_in = op->arity, .attr = full};
    for (unsigned i = 0; i < op->arity; i++)
        a.xs[i] = p->node[nd->in[i]].shape;
    ad_shape out = a.xs[0];
    if (op->shape && op->shape(&a, &out, why, sizeof why) != AD_OK)
        return false;
    size_t n = count_of(&out);
    if (n > FZ_MAX_VALS)
        return false;
    nd->shape = out;
    nd->count = n;
    return true;
}

static double leaf_value(fz_in *in, bool moderate)
{
    if (moderate) {
        uint8_t b = fz_u8(in);
        if (b < 240) /* quarter steps in [-2, 2]: exact, and 0 (a kink) is common */
            return (double)((int)(b % 17) - 8) / 4.0;
        return fz_uniform(in, -2.0, 2.0);
    }
    static const fz_hints any = {.lo = -10, .hi = 10};
    return fz_double(in, &any);
}

bool fz_prog_decode(fz_in *in, fz_prog *p, bool moderate)
{
    memset(p, 0, sizeof *p);
    uint8_t kb = fz_u8(in);
    p->relu_at_zero = kb < 128 ? 0.0 : kb < 192 ? 1.0 : 0.5;
    size_t n_leaves = (size_t)fz_range(in, 1, FZ_MAX_LEAVES);
    for (size_t i = 0; i < n_leaves; i++) {
        fz_node *nd = &p->node[p->n++];
        uint8_t k = fz_u8(in);
        nd->kind = k < 200 ? FZ_LEAF_INPUT : k < 230 ? FZ_LEAF_PARAM : FZ_LEAF_CONST;
        nd->shape = FZ_PICK(in, leaf_shapes);
        nd->count = count_of(&nd->shape);
        for (size_t j = 0; j < nd->count; j++)
            nd->val[j] = leaf_value(in, moderate);
    }
    size_t n_ops = (size_t)fz_range(in, 1, FZ_MAX_NODES - 1 - (long)n_leaves);
    for (size_t k = 0; k < n_ops && fz_left(in) > 0; k++) {
        fz_node *nd = &p->node[p->n];
        memset(nd, 0, sizeof *nd);
        nd->kind = FZ_NODE_OP;
        nd->op = fz_pick_op(in);
        if (!nd->op || nd->op->arity > AD_MAX_ARITY)
            continue;
        if (nd->op->n_attr && fz_bool(in)) {
            nd->n_attr = nd->op->n_attr;
            for (unsigned a = 0; a < nd->n_attr; a++)
                nd->attr[a] = (double)fz_range(in, -3, 3);
        }
        /* Inputs lean to recent nodes; reusing one gives fan-out. On a shape
         * clash, slide every input back through the tape before giving up. */
        size_t base[AD_MAX_ARITY];
        for (unsigned i = 0; i < nd->op->arity; i++)
            base[i] = p->n - 1 - fz_choice(in, p->n < 8 ? p->n : 8);
        bool ok = false;
        size_t tries = nd->op->arity > 1 ? (p->n < 8 ? p->n : 8) : 1;
        for (size_t s = 0; s < p->n && !ok; s++)
            for (size_t u = 0; u < tries && !ok; u++) {
                for (unsigned i = 0; i < nd->op->arity; i++)
                    nd->in[i] = (unsigned)((base[i] + 2 * p->n - (i ? u : s)) % p->n);
                ok = node_ok(p, nd);
            }
        if (ok)
            p->n++;
    }
    /* The loss: a scalar; sum a tensor, or add a scalar leaf when nothing else fits. */
    if (p->node[p->n - 1].shape.rank != 0 || p->node[p->n - 1].count != 1) {
        const ad_op *sum = ad_op_find("sum");
        if (!sum || p->n >= FZ_MAX_NODES)
            return false;
        fz_node *nd = &p->node[p->n];
        memset(nd, 0, sizeof *nd);
        nd->kind = FZ_NODE_OP;
        nd->op = sum;
        nd->in[0] = (unsigned)(p->n - 1);
        if (!node_ok(p, nd) || nd->count != 1 || nd->shape.rank != 0)
            return false;
        p->n++;
    }
    return true;
}

ad_status fz_prog_record(const fz_prog *p, ad_tape *t, ad_param *const *params, ad_var *vars)
{
    size_t n_param = 0;
    for (size_t i = 0; i < p->n; i++) {
        const fz_node *nd = &p->node[i];
        switch (nd->kind) {
        case FZ_LEAF_INPUT:
            vars[i] = ad_input(t, nd->shape, nd->val);
            break;
        case FZ_LEAF_CONST:
            vars[i] = ad_const(t, nd->shape, nd->val);
            break;
        case FZ_LEAF_PARAM:
            vars[i] = ad_use(t, params[n_param++]);
            break;
        default: {
            ad_var in[AD_MAX_ARITY];
            for (unsigned k = 0; k < nd->op->arity; k++)
                in[k] = vars[nd->in[k]];
            vars[i] = ad_apply(t, nd->op, in, nd->op->arity, nd->attr, nd->n_attr);
        }
        }
    }
    return ad_tape_status(t);
}

void fz_prog_print(const fz_prog *p, FILE *f)
{
    static const char *const kinds[] = {"input", "const", "param"};
    fprintf(f, "program (%zu nodes, relu_at_zero %g):\n", p->n, p->relu_at_zero);
    for (size_t i = 0; i < p->n; i++) {
        const fz_node *nd = &p->node[i];
        char sb[64];
        ad_shape_format(&nd->shape, sb, sizeof sb);
        if (nd->kind != FZ_NODE_OP) {
            fprintf(f, "  n%zu = %s%s [", i, kinds[nd->kind], sb);
            for (size_t j = 0; j < nd->count; j++)
                fprintf(f, "%s%a", j ? ", " : "", nd->val[j]);
            fputs("]\n", f);
            continue;
        }
        fprintf(f, "  n%zu = %s(", i, nd->op->name);
        for (unsigned k = 0; k < nd->op->arity; k++)
            fprintf(f, "%sn%u", k ? ", " : "", nd->in[k]);
        for (unsigned k = 0; k < nd->n_attr; k++)
            fprintf(f, ", %s=%g", nd->op->attr_name[k], nd->attr[k]);
        fprintf(f, ") %s\n", sb);
    }
}
