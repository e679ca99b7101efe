/* expr_value.c - NAME=VALUE arguments: a number or a vector of numbers, read by the expression parser. */
#include <stdlib.h>
#include <string.h>
#include "expr.h"

static bool fail(expr_error *err, size_t pos, const char *msg)
{
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    err->pos = pos;
    err->has_pos = true;
    return false;
}

/* A literal number, with any number of signs in front. */
static bool literal(const expr *e, size_t i, double *out)
{
    const expr_node *n = &e->nodes[i];
    double sign = 1;
    while (n->kind == EXPR_UNARY) {
        if (n->op == '-')
            sign = -sign;
        n = &e->nodes[expr_arg(e, n, 0)];
    }
    if (n->kind != EXPR_NUM)
        return false;
    *out = sign * n->num;
    return true;
}

bool expr_value_parse(const char *arg, expr_value *v, expr_error *err)
{
    memset(v, 0, sizeof *v);
    memset(err, 0, sizeof *err);
    const char *eq = strchr(arg, '=');
    size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
    if (!eq)
        return fail(err, nl, "a variable is given as NAME=VALUE; this has no '='");
    if (nl == 0)
        return fail(err, 0, "the variable's name is missing before '='");
    if (nl > EXPR_MAX_NAME)
        return fail(err, 0, "the variable's name is too long (the limit is 255 characters)");
    for (size_t i = 0; i < nl; i++) {
        char c = arg[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i && c >= '0' && c <= '9');
        if (!ok)
            return fail(err, i, "a variable's name is letters, digits and '_', not starting with a digit");
    }
    if ((nl == 3 && (memcmp(arg, "inf", 3) == 0 || memcmp(arg, "nan", 3) == 0)))
        return fail(err, 0, "'inf' and 'nan' are numbers, not variable names");
    memcpy(v->name, arg, nl);
    v->name[nl] = '\0';

    size_t off = nl + 1;
    expr e;
    if (!expr_parse(arg + off, strlen(arg + off), &e, err)) {
        err->pos += off;
        return false;
    }
    const expr_node *root = &e.nodes[e.root];
    /* The shape: a number, a vector, or a vector of equally long vectors. */
    size_t rows = 0, cols = 0;
    if (root->kind == EXPR_VEC && e.nodes[expr_arg(&e, root, 0)].kind == EXPR_VEC) {
        rows = root->n_args;
        cols = e.nodes[expr_arg(&e, root, 0)].n_args;
        for (size_t r = 0; r < rows; r++) {
            const expr_node *row = &e.nodes[expr_arg(&e, root, r)];
            if (row->kind != EXPR_VEC || row->n_args != cols) {
                size_t pos = off + row->pos; /* before the nodes are freed */
                expr_free(&e);
                return fail(err, pos, "every row of a matrix must be a vector of the same length");
            }
        }
        v->shape = AD_MAT(rows, cols);
    } else {
        v->shape = root->kind == EXPR_VEC ? AD_VEC(root->n_args) : AD_SCALAR;
    }
    size_t n = rows ? rows * cols : root->kind == EXPR_VEC ? root->n_args : 1;
    v->data = malloc(n * sizeof *v->data);
    if (!v->data) {
        expr_free(&e);
        return fail(err, off, "out of memory");
    }
    v->n = n;
    v->is_vector = root->kind == EXPR_VEC;
    bool ok = true;
    for (size_t k = 0; ok && k < n; k++) {
        size_t i = rows ? expr_arg(&e, &e.nodes[expr_arg(&e, root, k / cols)], k % cols)
                   : v->is_vector ? expr_arg(&e, root, k) : e.root;
        if (!literal(&e, i, &v->data[k]))
            ok = fail(err, off + e.nodes[i].pos,
                      v->is_vector ? "a vector's elements must be numbers"
                                   : "a value must be a number (like 1.5, -2e3, 0x1p-3, inf) or a vector [1, 2]");
    }
    expr_free(&e);
    if (!ok)
        expr_value_free(v);
    return ok;
}

void expr_value_free(expr_value *v)
{
    free(v->data);
    v->data = NULL;
    v->n = 0;
}
