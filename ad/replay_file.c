/* replay_file.c - a recorded program saved as text with hex-float inputs, so a
 * failing check can be replayed by the CLI, the fuzzers or a test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_int.h"

#define MAGIC "adcheck-replay 1"

static const char *kind_word(const ad__node *n)
{
    switch (n->kind) {
    case AD__LEAF_INPUT: return "input";
    case AD__LEAF_PARAM: return "param";
    case AD__LEAF_CONST: return "const";
    default: return "op";
    }
}

ad_status ad_check_save(ad_tape *t, ad_var loss, const ad_check_report *r, FILE *f)
{
    if (!t || !f)
        return AD_EINVAL;
    if (t->status != AD_OK)
        return t->status;
    if (!ad__resolve(t, loss, "ad_check_save"))
        return t->status;
    int bad = fprintf(f, MAGIC "\nrelu_at_zero %a\n", t->relu_at_zero) < 0;
    for (size_t i = 0; i <= loss.index; i++) {
        const ad__node *n = &t->nodes[i];
        bad |= fprintf(f, "%s %zu", kind_word(n), i) < 0;
        if (n->kind == AD__NODE_OP) {
            bad |= fprintf(f, " %s %u", n->op->name, (unsigned)n->n_in) < 0;
            for (unsigned k = 0; k < n->n_in; k++)
                bad |= fprintf(f, " %u", (unsigned)n->in[k]) < 0;
            bad |= fprintf(f, " %u", n->op->n_attr) < 0;
            for (unsigned k = 0; k < n->op->n_attr; k++)
                bad |= fprintf(f, " %a", n->attr[k]) < 0;
        } else {
            bad |= fprintf(f, " %u", n->shape->rank) < 0;
            for (unsigned k = 0; k < n->shape->rank; k++)
                bad |= fprintf(f, " %zu", n->shape->dim[k]) < 0;
            for (size_t e = 0; e < n->count; e++)
                bad |= fprintf(f, " %a", n->val[e]) < 0;
        }
        bad |= fputc('\n', f) == EOF;
    }
    bad |= fprintf(f, "loss %u\n", loss.index) < 0;
    for (size_t i = 0; r && i < r->n_coords; i++) {
        const ad_check_coord *c = &r->coords[i];
        if (c->cls != AD_COORD_MISMATCH && c->cls != AD_COORD_KINK_BAD &&
            c->cls != AD_COORD_NAN_MISMATCH)
            continue;
        char line[512];
        ad__coord_line(c, line, sizeof line);
        bad |= fprintf(f, "# failing: %s\n", line) < 0; /* comments: ignored when loading */
    }
    return bad ? ad__fail(t, AD_EIO, "ad_check_save: write failed") : AD_OK;
}

/* Reads one whitespace-separated word, skipping '#' comment lines. */
static bool word(FILE *f, char *w, size_t len)
{
    int ch;
    for (;;) {
        while ((ch = fgetc(f)) == ' ' || ch == '\n' || ch == '\t' || ch == '\r')
            ;
        if (ch != '#')
            break;
        while ((ch = fgetc(f)) != EOF && ch != '\n')
            ;
    }
    size_t n = 0;
    while (ch != EOF && ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') {
        if (n + 1 < len)
            w[n++] = (char)ch;
        ch = fgetc(f);
    }
    w[n] = '\0';
    return n > 0;
}

static bool number(FILE *f, double *v)
{
    char w[64], *end;
    if (!word(f, w, sizeof w))
        return false;
    *v = strtod(w, &end);
    return *end == '\0';
}

static bool count_of(FILE *f, size_t *v, size_t max)
{
    char w[32], *end;
    if (!word(f, w, sizeof w) || w[0] == '-')
        return false;
    unsigned long long u = strtoull(w, &end, 10);
    if (*end != '\0' || u > max)
        return false;
    *v = (size_t)u;
    return true;
}

#define PARSE_FAIL(...) return ad__fail(t, AD_EPARSE, "ad_check_load: " __VA_ARGS__)

static ad_status load_leaf(ad_tape *t, FILE *f, const char *kind, size_t node)
{
    ad_shape s = AD_SCALAR;
    size_t rank, n;
    if (!count_of(f, &rank, AD_MAX_RANK))
        PARSE_FAIL("node %zu: bad rank", node);
    s.rank = (unsigned)rank;
    for (unsigned k = 0; k < s.rank; k++)
        if (!count_of(f, &s.dim[k], (size_t)1 << 24))
            PARSE_FAIL("node %zu: bad dimension %u", node, k);
    if (ad_shape_count(&s, &n) != AD_OK || n > ((size_t)1 << 24))
        PARSE_FAIL("node %zu: shape too large", node);
    double *v = ad__alloc(&t->alloc, (n ? n : 1) * sizeof(double));
    if (!v)
        return ad__fail(t, AD_ENOMEM, NULL);
    for (size_t e = 0; e < n; e++)
        if (!number(f, &v[e])) {
            ad__free(&t->alloc, v, (n ? n : 1) * sizeof(double));
            PARSE_FAIL("node %zu: value %zu is not a number", node, e);
        }
    if (strcmp(kind, "const") == 0)
        ad_const(t, s, v);
    else
        ad_input(t, s, v); /* a parameter comes back as an input: same gradient */
    ad__free(&t->alloc, v, (n ? n : 1) * sizeof(double));
    return t->status;
}

static ad_status load_op(ad_tape *t, FILE *f, size_t node)
{
    char name[64];
    size_t n_in, n_attr;
    ad_var in[AD_MAX_ARITY];
    double attr[AD_MAX_ATTR];
    if (!word(f, name, sizeof name))
        PARSE_FAIL("node %zu: missing op name", node);
    const ad_op *op = ad_op_find(name);
    if (!op)
        return ad__fail(t, AD_ENOTFOUND, "ad_check_load: node %zu: no op named '%s' is registered",
                        node, name);
    if (!count_of(f, &n_in, AD_MAX_ARITY))
        PARSE_FAIL("node %zu: bad input count", node);
    for (size_t k = 0; k < n_in; k++) {
        size_t j;
        if (!count_of(f, &j, node ? node - 1 : 0) || node == 0)
            PARSE_FAIL("node %zu: input %zu must name an earlier node", node, k);
        in[k] = ad__var_of(t, j);
    }
    if (!count_of(f, &n_attr, AD_MAX_ATTR))
        PARSE_FAIL("node %zu: bad attribute count", node);
    for (size_t k = 0; k < n_attr; k++)
        if (!number(f, &attr[k]))
            PARSE_FAIL("node %zu: attribute %zu is not a number", node, k);
    ad_apply(t, op, in, (unsigned)n_in, attr, (unsigned)n_attr);
    return t->status;
}

ad_status ad_check_load(ad_tape *t, FILE *f, ad_var *loss)
{
    if (!t)
        return AD_EINVAL;
    if (t->status != AD_OK)
        return t->status;
    if (!f || !loss)
        return ad__fail(t, AD_EINVAL, "ad_check_load: %s is NULL", f ? "loss" : "the file");
    if (t->n_nodes != 0)
        return ad__fail(t, AD_EINVAL, "ad_check_load: the tape must be empty (reset it first)");
    char w[64];
    double g;
    if (!word(f, w, sizeof w) || strcmp(w, "adcheck-replay") != 0 || !word(f, w, sizeof w) ||
        strcmp(w, "1") != 0)
        PARSE_FAIL("not an adcheck replay file (version 1)");
    if (!word(f, w, sizeof w) || strcmp(w, "relu_at_zero") != 0 || !number(f, &g))
        PARSE_FAIL("missing relu_at_zero");
    if (ad_tape_set_relu_at_zero(t, g) != AD_OK)
        return t->status;
    for (;;) {
        size_t node;
        if (!word(f, w, sizeof w))
            PARSE_FAIL("missing the loss line");
        if (strcmp(w, "loss") == 0) {
            if (!count_of(f, &node, SIZE_MAX) || node >= t->n_nodes)
                PARSE_FAIL("the loss must name a loaded node");
            *loss = ad__var_of(t, node);
            return AD_OK;
        }
        bool leaf = strcmp(w, "input") == 0 || strcmp(w, "param") == 0 || strcmp(w, "const") == 0;
        if (!leaf && strcmp(w, "op") != 0)
            PARSE_FAIL("node %zu: unknown kind '%s'", t->n_nodes, w);
        if (!count_of(f, &node, SIZE_MAX) || node != t->n_nodes)
            PARSE_FAIL("node %zu: nodes must come in order", t->n_nodes);
        ad_status st = leaf ? load_leaf(t, f, w, node) : load_op(t, f, node);
        if (st != AD_OK)
            return st;
    }
}
