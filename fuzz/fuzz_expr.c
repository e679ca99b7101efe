/* fuzz_expr.c - arbitrary bytes into the expression language of `adcheck`
 * (tools/expr.h): the parser, the value parser and the evaluator.
 *
 * Input: leading lines that contain '=' are variable values ("x=0x1.8p-3",
 * "v=[1, 2]", "m=[[1, 2], [3, 4]]", parsed by expr_value_parse); the rest is
 * the expression. Variables without a given value take a default by name
 * (names starting with 'v' a vector of 3, with 'm' a 2x2 matrix, else a scalar).
 *
 * Properties: no crash, no leak (LeakSanitizer), no unbounded time (libFuzzer's
 * -timeout; the parser's documented limits: EXPR_MAX_*); every rejection comes
 * with a message (and a position inside the source when it has one); a valid
 * expression records a scalar, and its gradient passes ad_check_grad (MPFR and
 * dot-product witnesses, fast mode) whenever the check is conclusive: not
 * vacuous, and an MPFR verdict rests on a reference confirmed at higher precision.
 * A finding prints the expression and every value in hex floats. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ad/ad.h>
#include "check_run.h"
#include "expr.h"
#include "digest.h"
#include "harness.h"
#include "opdecode.h"
#include "report.h"

#define MAX_VALUE_LINES 8
#define MAX_VARS 16
#define MAX_VALUE_LINE 512
#define CHECK_MAX_STEPS 48  /* ad_check_grad only for programs this small */
#define CHECK_MAX_COORDS 32

static FILE *sink; /* error messages are printed (exercised) but not shown */

static void print_value(const expr_value *v, FILE *f)
{
    fprintf(f, "  %s =", v->name);
    for (size_t i = 0; i < v->n; i++)
        fprintf(f, " %a", v->data[i]);
    fprintf(f, " (rank %u)\n", (unsigned)v->shape.rank);
}

/* Default value of a variable the input did not give. */
static bool default_value(const char *name, size_t len, expr_value *v)
{
    static const double scalars[] = {0.5, -1.25, 2.0, 0.375, -3.0, 1.75, 0.8125};
    memset(v, 0, sizeof *v);
    memcpy(v->name, name, len);
    v->name[len] = '\0';
    size_t h = 0;
    for (size_t i = 0; i < len; i++)
        h = h * 31 + (unsigned char)name[i];
    if (name[0] == 'v') {
        v->n = 3;
        v->is_vector = true;
        v->shape = AD_VEC(3);
    } else if (name[0] == 'm') {
        v->n = 4;
        v->is_vector = true;
        v->shape = AD_MAT(2, 2);
    } else {
        v->n = 1;
        v->shape = AD_SCALAR;
    }
    v->data = malloc(v->n * sizeof *v->data);
    if (!v->data)
        return false;
    for (size_t i = 0; i < v->n; i++)
        v->data[i] = scalars[(h + i) % (sizeof scalars / sizeof scalars[0])];
    return true;
}

static void check_error(const expr_error *err, size_t len, const char *what)
{
    if (!err->msg[0])
        fz_fail("%s failed without a message", what);
    if (err->has_pos && err->pos > len)
        fz_fail("%s: error position %zu past the end of %zu bytes: %s", what, err->pos, len, err->msg);
}

static void fail_check(const expr *e, const expr_value *vals, size_t n_vals, ad_check_report *r,
                       ad_tape *t, ad_var y)
{
    fprintf(stderr, "expression (%zu bytes): %.*s\nvalues:\n", e->len, (int)(e->len > 2000 ? 2000 : e->len),
            e->src);
    for (size_t k = 0; k < n_vals; k++)
        print_value(&vals[k], stderr);
    ad_check_report_print(r, stderr);
    fprintf(stderr, "the program as ad_check_save writes it (hex floats):\n");
    ad_check_save(t, y, r, stderr);
    fz_fail("ad_check_grad on a valid expression: mpfr %s (%.3g ulps), dot %s (rel %a); %s",
            r->mpfr.pass ? "pass" : "FAIL", r->mpfr.max_error,
            !r->dot.ran ? "not run" : r->dot.pass ? "pass" : "FAIL", r->dot.max_error, r->notes);
}

/* The largest adjoint of the trace's steps and their inputs, the leaves
 * included (at least 1), after the check's sweep: a leaf's gradient can
 * overflow where every node's adjoint is finite. */
struct trace_tape {
    const expr_trace *tr;
    ad_tape *t;
};

static double trace_adj(void *ctx)
{
    const struct trace_tape *tt = ctx;
    double adj = 1.0;
    for (size_t i = 0; i < tt->tr->n; i++) {
        const expr_step *st = &tt->tr->steps[i];
        for (unsigned k = 0; k <= st->n_in; k++) {
            ad_var v = k < st->n_in ? st->in[k] : st->out;
            ad_shape os = ad_var_shape(tt->t, v);
            size_t cnt = 0;
            const double *og = ad_grad(tt->t, v);
            if (og && ad_shape_count(&os, &cnt) == AD_OK)
                for (size_t e = 0; e < cnt; e++)
                    adj = isnan(og[e]) ? INFINITY : fmax(adj, fabs(og[e]));
        }
    }
    return adj;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sink) {
        sink = fopen("/dev/null", "w");
        if (!sink)
            fz_fail("cannot open /dev/null");
    }
    const char *src = (const char *)data;
    size_t len = size;

    /* Leading "NAME=VALUE" lines. */
    expr_value given[MAX_VALUE_LINES];
    size_t n_given = 0;
    while (n_given < MAX_VALUE_LINES) {
        const char *nl = memchr(src, '\n', len);
        if (!nl)
            break;
        size_t ll = (size_t)(nl - src);
        if (!memchr(src, '=', ll) || ll >= MAX_VALUE_LINE)
            break;
        char line[MAX_VALUE_LINE];
        memcpy(line, src, ll);
        line[ll] = '\0';
        expr_error err;
        memset(&err, 0, sizeof err);
        expr_value v;
        memset(&v, 0, sizeof v);
        if (expr_value_parse(line, &v, &err)) {
            if (!v.data && v.n)
                fz_fail("expr_value_parse accepted '%s' with no data", line);
            given[n_given++] = v;
        } else {
            check_error(&err, ll, "expr_value_parse");
        }
        src = nl + 1;
        len -= ll + 1;
    }

    expr e;
    expr_error err;
    memset(&err, 0, sizeof err);
    ad_tape *t = NULL;
    expr_value vals[MAX_VARS];
    size_t n_vals = 0;
    expr_trace tr = {0};
    if (!expr_parse(src, len, &e, &err)) {
        check_error(&err, len, "expr_parse");
        expr_error_print(src, len, &err, sink);
        fz_digest_mix(err.pos);
        goto out_given;
    }
    if (e.root >= e.n_nodes)
        fz_fail("expr_parse: root %zu of %zu nodes", e.root, e.n_nodes);

    /* Values for the variables the expression uses: given, else a default. */
    for (size_t i = 0; i < e.n_nodes; i++) {
        const expr_node *nd = &e.nodes[i];
        if (nd->kind != EXPR_VAR)
            continue;
        const char *name = e.src + nd->name;
        if (nd->name_len == 0 || nd->name_len > EXPR_MAX_NAME)
            fz_fail("expr_parse: a variable name of %zu characters", nd->name_len);
        bool seen = false;
        for (size_t k = 0; k < n_vals && !seen; k++)
            seen = strlen(vals[k].name) == nd->name_len && memcmp(vals[k].name, name, nd->name_len) == 0;
        if (seen)
            continue;
        if (n_vals == MAX_VARS)
            goto out; /* more variables than this harness binds */
        size_t g = 0;
        while (g < n_given && !(strlen(given[g].name) == nd->name_len &&
                                memcmp(given[g].name, name, nd->name_len) == 0))
            g++;
        if (g < n_given) {
            vals[n_vals++] = given[g];
            given[g].data = NULL; /* moved */
            given[g].name[0] = '\0';
        } else if (!default_value(name, nd->name_len, &vals[n_vals++])) {
            n_vals--;
            goto out;
        }
    }

    static ad_tape *tape;
    if (!tape)
        tape = ad_tape_new(NULL);
    t = tape;
    ad_tape_reset(t);
    ad_var y;
    memset(&err, 0, sizeof err);
    if (!expr_eval_trace(&e, t, vals, n_vals, &y, &tr, &err)) {
        check_error(&err, e.len, "expr_eval");
        expr_error_print(e.src, e.len, &err, sink);
        goto out;
    }
    if (ad_tape_status(t) != AD_OK)
        fz_fail("expr_eval succeeded on a tape in error: %s", ad_tape_error(t));
    ad_shape sh = ad_var_shape(t, y);
    if (sh.rank != 0)
        fz_fail("expr_eval returned a result of rank %u", (unsigned)sh.rank);
    double yv = ad_value_scalar(t, y);
    fz_digest_double(yv);

    /* The gradient check, for small programs with finite values and no op with
     * an open finding (ADCHECK_FUZZ_SKIP). */
    if (tr.n > CHECK_MAX_STEPS || !isfinite(yv))
        goto out;
    size_t coords = 0;
    for (size_t k = 0; k < n_vals; k++) {
        coords += vals[k].n;
        for (size_t i = 0; i < vals[k].n; i++)
            if (!isfinite(vals[k].data[i]))
                goto out;
    }
    if (coords == 0 || coords > CHECK_MAX_COORDS)
        goto out;
    for (size_t i = 0; i < tr.n; i++)
        if (fz_op_skipped(tr.steps[i].op))
            goto out;
    double big = fabs(yv);
    for (size_t i = 0; i < tr.n; i++) {
        ad_shape os = ad_var_shape(t, tr.steps[i].out);
        size_t cnt = 0;
        const double *ov = ad_value(t, tr.steps[i].out);
        if (ov && ad_shape_count(&os, &cnt) == AD_OK)
            for (size_t k = 0; k < cnt; k++)
                big = fmax(big, fabs(ov[k]));
    }
    for (size_t k = 0; k < n_vals; k++)
        for (size_t i = 0; i < vals[k].n; i++)
            big = fmax(big, fabs(vals[k].data[i]));
    ad_check_report r;
    bool finding;
    struct trace_tape tt = {&tr, t};
    ad_status st = fz_check_run(t, y, big, trace_adj, &tt, true, &r, &finding);
    if (st != AD_OK) {
        /* A call the check refuses (its own limits, a missing reference) is not a verdict. */
        if (st != AD_EUNSUPPORTED && st != AD_EOVERFLOW && st != AD_ENOMEM)
            fz_fail("ad_check_grad could not run on a valid expression: %s: %s", ad_status_name(st),
                    ad_tape_error(t));
        goto out;
    }
    fz_digest_mix(r.pass);
    if (finding)
        fail_check(&e, vals, n_vals, &r, t, y);
    ad_check_report_free(&r);

out:
    expr_trace_free(&tr);
    for (size_t k = 0; k < n_vals; k++)
        expr_value_free(&vals[k]);
    expr_free(&e);
out_given:
    for (size_t g = 0; g < n_given; g++)
        expr_value_free(&given[g]);
    return 0;
}
