/* cmd_grad.c - `adcheck grad`: value, reverse-mode gradient and its verification, as text or JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <ad/check.h>
#include "cli.h"
#include "json.h"

static const char help[] =
    "usage: adcheck grad [--json] [--prec BITS] [--relu-at-zero G] [--fast] [--seed S] EXPR NAME=VALUE...\n"
    "\n"
    "Evaluates EXPR, differentiates it by reverse mode and verifies the gradient\n"
    "against central finite differences, an MPFR replay of the same program, the\n"
    "one-sided derivatives at kinks, and the forward/reverse dot-product test.\n"
    "\n"
    "  --json             one JSON object (see the README for its fields)\n"
    "  --prec BITS        MPFR precision, 64 to 4096 (default 256)\n"
    "  --relu-at-zero G   the ReLU-family gradient at 0, in [0, 1] (default 0)\n"
    "  --fast             check along random directions instead of every coordinate\n"
    "  --seed S           seed of the directions and dot-product vectors (default 1)\n"
    "\n"
    "VALUE is a number (1.5, -2e3, 0x1.8p1, inf, nan) or a vector [1, 2, 3].\n"
    "EXPR '-' reads standard input. Exit status 0 when every check passes, 1 when\n"
    "one fails, 2 for a usage or expression error.\n";

typedef struct grad_run {
    const char *src;        /* the expression as given (NULL for stdin)    */
    expr e;
    expr_value *vals;
    size_t n_vals;
    ad_tape *t;
    ad_var y;
    ad_check_report r;
    ad_check_opts o;
    double relu0;
} grad_run;

/* The report's entry for element k of variable v, or NULL (fast mode, skipped). */
static const ad_check_coord *coord_of(const grad_run *g, const expr_value *v, size_t k)
{
    for (size_t i = 0; i < g->r.n_coords; i++) {
        const ad_check_coord *c = &g->r.coords[i];
        if (c->node == v->var.index && c->element == k)
            return c;
    }
    return NULL;
}

static double grad_at(const grad_run *g, const expr_value *v, size_t k)
{
    const double *d = ad_grad(g->t, v->var);
    return d ? d[k] : 0.0; /* no gradient recorded: the output does not depend on it */
}

static const char *witness_text(const ad_check_witness *w, const char *unit, char *buf, size_t len)
{
    if (!w->ran)
        snprintf(buf, len, "not run");
    else /* three digits say how close; --json has every digit */
        snprintf(buf, len, "%s (max %.3g %s)", w->pass ? "pass" : "FAIL", w->max_error, unit);
    return buf;
}

/* "x", "v[2]" for element 2 of a vector, "A[1][0]" for a matrix. */
static const char *elem_name(const expr_value *v, size_t k, char *buf, size_t len)
{
    if (v->shape.rank == 2)
        snprintf(buf, len, "%s[%zu][%zu]", v->name, k / v->shape.dim[1], k % v->shape.dim[1]);
    else if (v->is_vector)
        snprintf(buf, len, "%s[%zu]", v->name, k);
    else
        snprintf(buf, len, "%s", v->name);
    return buf;
}

/* One kink in words: which op, where, its one-sided derivatives, and whether
 * the engine's choice lies between them. */
static void kink_words(const ad_check_coord *c, const char *var, FILE *f)
{
    char l[32], r[32], e[32];
    const ad_check_kink *k = &c->kink;
    fprintf(f, "  %s at node %zu %s (along %s): ", k->op, k->node,
            k->exactly_on ? "sits on its kink" : "crosses its kink within the difference step", var);
    if (c->cls == AD_COORD_SKIPPED) { /* the replay's sides did not resolve: see the notes */
        fprintf(f, "not judged, the MPFR one-sided difference %s\n",
                strcmp(c->ref_str, "undefined") ? "cancels" : "is undefined");
        return;
    }
    fprintf(f, "one-sided derivatives %s and %s; ", fmt_num(l, k->left), fmt_num(r, k->right));
    if (c->cls == AD_COORD_KINK_OK)
        fprintf(f, "the tape's choice %s is a valid subgradient\n", fmt_num(e, c->engine));
    else
        fprintf(f, "the tape's choice %s is NOT between them\n", fmt_num(e, c->engine));
}

static void print_text(const grad_run *g, FILE *f)
{
    char a[64], b[64], c[64], name[EXPR_MAX_NAME + 32];
    fprintf(f, "value %s\n", fmt_num(a, ad_value_scalar(g->t, g->y)));
    if (g->n_vals)
        fprintf(f, "%-12s %-24s %-24s %s\n", "variable", "gradient", "reference (MPFR)", "error");
    for (size_t i = 0; i < g->n_vals; i++) {
        const expr_value *v = &g->vals[i];
        for (size_t k = 0; k < v->n; k++) {
            const ad_check_coord *co = coord_of(g, v, k);
            double ref = co ? co->ref : NAN;
            const char *err = !co                         ? "(not checked per coordinate)"
                              : co->cls == AD_COORD_SKIPPED ? "skipped"
                              : co->has_kink              ? "at a kink (see below)"
                              : isnan(co->ulps)           ? "-"
                                                          : (snprintf(c, sizeof c, "%.3g ulp", co->ulps), c);
            fprintf(f, "%-12s %-24s %-24s %s%s\n", elem_name(v, k, name, sizeof name),
                    fmt_num(a, grad_at(g, v, k)), co && !isnan(ref) ? fmt_num(b, ref) : "-", err,
                    co && (co->cls == AD_COORD_MISMATCH || co->cls == AD_COORD_NAN_MISMATCH) ? "  MISMATCH" : "");
        }
    }
    bool any_kink = false;
    for (size_t i = 0; i < g->r.n_coords; i++) {
        const ad_check_coord *co = &g->r.coords[i];
        if (!co->has_kink)
            continue;
        if (!any_kink)
            fprintf(f, "kinks:\n");
        any_kink = true;
        const char *var = "a random direction";
        for (size_t v = 0; v < g->n_vals && co->node != AD_CHECK_DIRECTION; v++)
            if (g->vals[v].var.index == co->node)
                var = elem_name(&g->vals[v], co->element, name, sizeof name);
        kink_words(co, var, f);
    }
    fprintf(f, "checks: fd %s, mpfr %s, dot %s\n", witness_text(&g->r.fd, "rel", a, sizeof a),
            witness_text(&g->r.mpfr, "ulp", b, sizeof b), witness_text(&g->r.dot, "rel", c, sizeof c));
    if (g->r.fast)
        fprintf(f, "note: checked along %u random directions (fast mode)\n", g->o.n_directions);
    if (g->r.notes[0])
        fprintf(f, "note: %s\n", g->r.notes);
    if (g->r.vacuous)
        fprintf(f, "note: the check proves little: %s\n", g->r.vacuity);
    fprintf(f, "verdict: %s\n", g->r.pass ? "PASS" : "FAIL");
}

/* A variable's entry: a number, or an array for a vector. */
static void json_per_var(json *j, const grad_run *g, int what)
{
    json_obj_begin(j);
    for (size_t i = 0; i < g->n_vals; i++) {
        const expr_value *v = &g->vals[i];
        json_key(j, v->name);
        size_t cols = v->shape.rank == 2 ? v->shape.dim[1] : 0;
        if (v->is_vector)
            json_arr_begin(j);
        for (size_t k = 0; k < v->n; k++) {
            const ad_check_coord *co = coord_of(g, v, k);
            if (cols && k % cols == 0) /* a matrix is an array of rows */
                json_arr_begin(j);
            json_num(j, what == 0 ? grad_at(g, v, k) : !co ? NAN : what == 1 ? co->ref : co->ulps);
            if (cols && k % cols == cols - 1)
                json_arr_end(j);
        }
        if (v->is_vector)
            json_arr_end(j);
    }
    json_obj_end(j);
}

static void json_witness(json *j, const char *name, const ad_check_witness *w)
{
    json_key(j, name);
    json_obj_begin(j);
    json_kbool(j, "ran", w->ran);
    json_kbool(j, "pass", w->pass);
    json_knum(j, "max_error", w->max_error);
    json_obj_end(j);
}

static void print_json(const grad_run *g, FILE *f)
{
    json j;
    char name[EXPR_MAX_NAME + 32];
    json_init(&j, f);
    json_obj_begin(&j);
    json_kstr(&j, "expr", g->e.src);
    json_knum(&j, "value", ad_value_scalar(g->t, g->y));
    json_key(&j, "gradient");
    json_per_var(&j, g, 0);
    json_key(&j, "reference");
    json_per_var(&j, g, 1);
    json_key(&j, "ulps");
    json_per_var(&j, g, 2);
    json_kbool(&j, "pass", g->r.pass);
    json_key(&j, "checks");
    json_obj_begin(&j);
    json_witness(&j, "fd", &g->r.fd);
    json_witness(&j, "mpfr", &g->r.mpfr);
    json_witness(&j, "dot", &g->r.dot);
    json_obj_end(&j);
    json_key(&j, "kinks");
    json_arr_begin(&j);
    for (size_t i = 0; i < g->r.n_coords; i++) {
        const ad_check_coord *co = &g->r.coords[i];
        if (!co->has_kink)
            continue;
        json_obj_begin(&j);
        json_kstr(&j, "op", co->kink.op);
        json_kuint(&j, "node", co->kink.node);
        json_kuint(&j, "element", co->kink.element);
        const char *var = NULL;
        for (size_t v = 0; v < g->n_vals && co->node != AD_CHECK_DIRECTION; v++)
            if (g->vals[v].var.index == co->node)
                var = elem_name(&g->vals[v], co->element, name, sizeof name);
        json_key(&j, "variable");
        if (var)
            json_str(&j, var);
        else
            json_null(&j);
        json_knum(&j, "left", co->kink.left);
        json_knum(&j, "right", co->kink.right);
        json_knum(&j, "chosen", co->engine);
        json_kbool(&j, "exactly_on", co->kink.exactly_on);
        json_kbool(&j, "judged", co->cls != AD_COORD_SKIPPED);
        json_kbool(&j, "valid", co->cls == AD_COORD_KINK_OK);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_kbool(&j, "fast", g->r.fast);
    json_kbool(&j, "ref_confirmed", g->r.ref_confirmed);
    json_kbool(&j, "vacuous", g->r.vacuous);
    json_kstr(&j, "notes", g->r.notes);
    json_kuint(&j, "prec", g->o.prec);
    json_knum(&j, "relu_at_zero", g->relu0);
    json_obj_end(&j);
}

static void grad_free(grad_run *g)
{
    if (g->r.coords)
        ad_check_report_free(&g->r);
    ad_tape_free(g->t);
    for (size_t i = 0; i < g->n_vals; i++)
        expr_value_free(&g->vals[i]);
    free(g->vals);
    expr_free(&g->e);
}

int cmd_grad(int argc, char **argv)
{
    cli_args a = {.cmd = "grad", .argc = argc, .argv = argv, .at = 1};
    grad_run g = {.o = ad_check_opts_default(), .relu0 = 0.0};
    bool as_json = false;
    uint64_t u;
    while (cli_next_opt(&a)) {
        const char *val;
        if (cli_is(&a, "--help") || cli_is(&a, "-h"))
            return fputs(help, stdout), EXIT_PASS;
        else if (cli_is(&a, "--json"))
            as_json = true;
        else if (cli_is(&a, "--fast"))
            g.o.fast = true;
        else if (cli_is(&a, "--prec")) {
            if (!(val = cli_value(&a)) || !cli_uint(&a, val, 64, 4096, &u))
                return EXIT_USAGE;
            g.o.prec = (unsigned)u;
        } else if (cli_is(&a, "--seed")) {
            if (!(val = cli_value(&a)) || !cli_uint(&a, val, 0, UINT64_MAX, &g.o.seed))
                return EXIT_USAGE;
        } else if (cli_is(&a, "--relu-at-zero")) {
            if (!(val = cli_value(&a)) || !cli_double(&a, val, 0.0, 1.0, &g.relu0))
                return EXIT_USAGE;
        } else {
            return cli_usage(a.cmd, "unknown option '%.40s'", a.opt);
        }
    }
    if (a.n_pos < 1)
        return cli_usage(a.cmd, "needs an expression (EXPR, or '-' to read it from standard input)");
    const char *src = argv[1];
    g.n_vals = (size_t)(a.n_pos - 1);
    g.vals = calloc(g.n_vals ? g.n_vals : 1, sizeof *g.vals);
    if (!g.vals)
        return fputs("adcheck grad: out of memory\n", stderr), EXIT_CHECK_FAILED;
    if (!cli_parse_values(argv + 2, g.n_vals, g.vals)) {
        free(g.vals);
        return EXIT_USAGE;
    }
    if (!cli_parse_expr(a.cmd, src, &g.e)) {
        g.e = (expr){0};
        grad_free(&g);
        return EXIT_USAGE;
    }
    ad_tape_opts to = ad_tape_opts_default();
    to.relu_at_zero = g.relu0;
    g.t = ad_tape_new(&to);
    expr_error err;
    if (!expr_eval(&g.e, g.t, g.vals, g.n_vals, &g.y, &err)) {
        expr_error_print(g.e.src, g.e.len, &err, stderr);
        grad_free(&g);
        return EXIT_USAGE;
    }
    ad_status st = ad_check_grad(g.t, g.y, &g.o, &g.r);
    if (st != AD_OK) {
        fprintf(stderr, "adcheck grad: the check could not run: %s\n", ad_tape_error(g.t));
        grad_free(&g);
        return EXIT_CHECK_FAILED;
    }
    if (as_json)
        print_json(&g, stdout);
    else
        print_text(&g, stdout);
    int rc = g.r.pass ? EXIT_PASS : EXIT_CHECK_FAILED;
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = EXIT_CHECK_FAILED;
    grad_free(&g);
    return rc;
}
