/* expr_eval.c - records a parsed expression on a tape, every call through the op registry. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expr.h"

/* A node's value while evaluating: a plain number (a literal, or folded from
 * literals, kept off the tape until an op needs it) or a tape variable. */
typedef struct val {
    bool is_num;
    double num;
    ad_var v;
} val;

typedef struct ev {
    const expr *e;
    ad_tape *t;
    val *r;
    expr_error *err;
    expr_trace *tr;
} ev;

static bool fail(ev *s, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err->msg, sizeof s->err->msg, fmt, ap);
    va_end(ap);
    s->err->pos = pos;
    s->err->has_pos = true;
    return false;
}

/* A failed ad_apply left its reason on the tape: pass it on, with the place. */
static bool check_tape(ev *s, size_t pos, ad_var v)
{
    if (!ad_var_is_nil(v) && ad_tape_status(s->t) == AD_OK)
        return true;
    return fail(s, pos, "%s", ad_tape_error(s->t)[0] ? ad_tape_error(s->t) : "the tape is in error");
}

static bool trace_add(ev *s, size_t pos, const ad_op *op, const ad_var *in, unsigned n,
                      const double *attr, unsigned n_attr, ad_var out)
{
    expr_trace *tr = s->tr;
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? 2 * tr->cap : 32;
        expr_step *m = realloc(tr->steps, cap * sizeof *m);
        if (!m)
            return fail(s, pos, "out of memory");
        tr->steps = m, tr->cap = cap;
    }
    expr_step *st = &tr->steps[tr->n++];
    *st = (expr_step){.op = op, .n_in = n, .out = out};
    for (unsigned k = 0; k < n; k++)
        st->in[k] = in[k];
    for (unsigned k = 0; k < op->n_attr; k++)
        st->attr[k] = k < n_attr ? attr[k] : op->attr_default[k];
    return true;
}

void expr_trace_free(expr_trace *tr)
{
    free(tr->steps);
    *tr = (expr_trace){0};
}

static ad_var as_var(ev *s, val x)
{
    return x.is_num ? ad_const(s->t, AD_SCALAR, &x.num) : x.v;
}

static bool apply_op(ev *s, size_t pos, const ad_op *op, const val *in, unsigned n,
                     const double *attr, unsigned n_attr, val *out)
{
    ad_var v[AD_MAX_ARITY];
    for (unsigned k = 0; k < n; k++)
        v[k] = as_var(s, in[k]);
    out->is_num = false;
    out->v = ad_apply(s->t, op, v, n, attr, n_attr);
    if (!check_tape(s, pos, out->v))
        return false;
    return !s->tr || trace_add(s, pos, op, v, n, attr, n_attr, out->v);
}

static bool apply(ev *s, size_t pos, const char *name, const val *in, unsigned n,
                  const double *attr, unsigned n_attr, val *out)
{
    const ad_op *op = ad_op_find(name);
    if (!op)
        return fail(s, pos, "this needs the op '%s', which is not registered", name);
    return apply_op(s, pos, op, in, n, attr, n_attr, out);
}

/* ---- fallbacks: how a surface form is built when its registry op is missing ---- */

/* x^y without a pow op: x^n by squaring for a small integer constant n,
 * otherwise exp(y log x), which is only right where every x > 0. */
static bool pow_fallback(ev *s, size_t pos, const val *in, val *out)
{
    if (in[1].is_num && fabs(in[1].num) <= 64 && in[1].num == floor(in[1].num)) {
        long n = labs((long)in[1].num);
        val acc = {.is_num = true, .num = 1.0}, base = in[0];
        bool first = true;
        for (; n > 0; n >>= 1) {
            if (n & 1) {
                if (first)
                    acc = base, first = false;
                else if (!apply(s, pos, "mul", (val[]){acc, base}, 2, NULL, 0, &acc))
                    return false;
            }
            if (n > 1 && !apply(s, pos, "mul", (val[]){base, base}, 2, NULL, 0, &base))
                return false;
        }
        if (in[1].num < 0)
            return apply(s, pos, "div", (val[]){{.is_num = true, .num = 1.0}, acc}, 2, NULL, 0, out);
        *out = acc;
        return true;
    }
    ad_var b = as_var(s, in[0]);
    const double *bv = ad_value(s->t, b);
    ad_shape bs = ad_var_shape(s->t, b);
    size_t cnt = 0;
    if (!bv || ad_shape_count(&bs, &cnt) != AD_OK)
        return check_tape(s, pos, AD_NIL);
    for (size_t k = 0; k < cnt; k++)
        if (!(bv[k] > 0))
            return fail(s, pos, "x^y for a base that is not positive (here %g) needs the op 'pow', "
                                "which this build's registry lacks; exp(y*log(x)) is wrong there", bv[k]);
    val lg, prod;
    return apply(s, pos, "log", (val[]){{.v = b}}, 1, NULL, 0, &lg) &&
           apply(s, pos, "mul", (val[]){in[1], lg}, 2, NULL, 0, &prod) &&
           apply(s, pos, "exp", &prod, 1, NULL, 0, out);
}

/* dot(a, b) without a dot op: sum(a * b). */
static bool dot_fallback(ev *s, size_t pos, const val *in, val *out)
{
    val prod;
    return apply(s, pos, "mul", in, 2, NULL, 0, &prod) && apply(s, pos, "sum", &prod, 1, NULL, 0, out);
}

/* The surface forms: which registry op each names, and what to do when the
 * registry lacks it. Operators and language built-ins are data here, so a new
 * op in the registry (pow, dot) is picked up with no change to this file. */
typedef struct surface {
    const char *form;    /* operator character or built-in name */
    const char *op;      /* registry name                        */
    unsigned arity;
    bool (*fallback)(ev *s, size_t pos, const val *in, val *out);
} surface;

static const surface surfaces[] = {
    {"+", "add", 2, NULL}, {"-", "sub", 2, NULL}, {"*", "mul", 2, NULL}, {"/", "div", 2, NULL},
    {"^", "pow", 2, pow_fallback}, {"neg", "neg", 1, NULL}, {"dot", "dot", 2, dot_fallback},
};

static const surface *find_surface(const char *form, size_t len)
{
    for (size_t k = 0; k < sizeof surfaces / sizeof surfaces[0]; k++)
        if (strlen(surfaces[k].form) == len && memcmp(surfaces[k].form, form, len) == 0)
            return &surfaces[k];
    return NULL;
}

static bool apply_surface(ev *s, size_t pos, const surface *f, const val *in, val *out)
{
    if (ad_op_find(f->op) || !f->fallback)
        return apply(s, pos, f->op, in, f->arity, NULL, 0, out);
    return f->fallback(s, pos, in, out);
}

/* Folding literals gives the same double the op would compute, and keeps
 * constants off the tape. */
static bool fold(char op, double a, double b, double *out)
{
    switch (op) {
    case '+': *out = a + b; return true;
    case '-': *out = a - b; return true;
    case '*': *out = a * b; return true;
    case '/': *out = a / b; return true;
    default: *out = pow(a, b); return true; /* exact whenever the power is representable */
    }
}

static bool eval_binary(ev *s, const expr_node *n, val *out)
{
    val in[2] = {s->r[expr_arg(s->e, n, 0)], s->r[expr_arg(s->e, n, 1)]};
    if (in[0].is_num && in[1].is_num && fold(n->op, in[0].num, in[1].num, &out->num)) {
        out->is_num = true;
        return true;
    }
    return apply_surface(s, n->pos, find_surface(&n->op, 1), in, out);
}

static bool eval_unary(ev *s, const expr_node *n, val *out)
{
    val x = s->r[expr_arg(s->e, n, 0)];
    if (n->op == '+' || x.is_num) {
        *out = x;
        if (n->op == '-')
            out->num = -out->num;
        return true;
    }
    return apply_surface(s, n->pos, find_surface("neg", 3), &x, out);
}

static const char *const lang_names[] = {"dot"};

static bool eval_call(ev *s, const expr_node *n, val *out)
{
    const char *name = s->e->src + n->name;
    char buf[EXPR_MAX_NAME + 1];
    memcpy(buf, name, n->name_len);
    buf[n->name_len] = '\0';
    const ad_op *op = ad_op_find(buf);
    const surface *f = find_surface(buf, n->name_len);
    if (f && strcmp(f->form, "dot") != 0)
        f = NULL; /* operator forms are not callable by their symbol */
    if (!op && !f) {
        const char *near = expr_suggest(name, n->name_len, lang_names, 1);
        if (near)
            snprintf(s->err->hint, sizeof s->err->hint, "did you mean '%s'?", near);
        else
            snprintf(s->err->hint, sizeof s->err->hint, "`adcheck ops` lists every op");
        return fail(s, n->pos, "unknown function '%.40s%s'", buf, n->name_len > 40 ? "..." : "");
    }
    unsigned arity = op ? op->arity : f->arity, n_attr = op ? op->n_attr : 0;
    if (n->n_args < arity || n->n_args > arity + n_attr) {
        if (n_attr)
            return fail(s, n->pos, "%s takes %u input%s and up to %u attribute%s, got %zu argument%s", buf,
                        arity, arity == 1 ? "" : "s", n_attr, n_attr == 1 ? "" : "s", n->n_args,
                        n->n_args == 1 ? "" : "s");
        return fail(s, n->pos, "%s takes %u argument%s, got %zu", buf, arity, arity == 1 ? "" : "s",
                    n->n_args);
    }
    val in[AD_MAX_ARITY];
    double attr[AD_MAX_ATTR];
    for (size_t k = 0; k < n->n_args; k++) {
        size_t c = expr_arg(s->e, n, k);
        if (k < arity) {
            in[k] = s->r[c];
            continue;
        }
        if (!s->r[c].is_num)
            return fail(s, s->e->nodes[c].pos, "the attribute '%s' of %s must be a constant number",
                        op->attr_name[k - arity], buf);
        attr[k - arity] = s->r[c].num;
    }
    if (!op)
        return apply_surface(s, n->pos, f, in, out);
    return apply(s, n->pos, buf, in, arity, attr, (unsigned)(n->n_args - arity), out);
}

/* [a, b, c]: one constant for the literal elements plus place(x, n, i) for
 * each computed one, summed; a sum with zeros is exact. */
static bool eval_vec(ev *s, const expr_node *n, val *out)
{
    double lit[EXPR_MAX_ARGS] = {0};
    bool any_lit = false, any_var = false;
    for (size_t k = 0; k < n->n_args; k++) {
        val x = s->r[expr_arg(s->e, n, k)];
        if (x.is_num) {
            lit[k] = x.num;
            any_lit = true;
            continue;
        }
        ad_shape sh = ad_var_shape(s->t, x.v);
        if (sh.rank != 0) {
            char b[64];
            return fail(s, s->e->nodes[expr_arg(s->e, n, k)].pos,
                        "a vector's elements must be scalars; this one has shape %s",
                        ad_shape_format(&sh, b, sizeof b));
        }
        any_var = true;
    }
    out->is_num = false;
    if (!any_var || any_lit) {
        out->v = ad_const(s->t, AD_VEC(n->n_args), lit);
        if (!check_tape(s, n->pos, out->v))
            return false;
    }
    bool have = !any_var || any_lit;
    for (size_t k = 0; k < n->n_args; k++) {
        val x = s->r[expr_arg(s->e, n, k)];
        if (x.is_num)
            continue;
        val placed;
        double attr[2] = {(double)n->n_args, (double)k};
        if (!apply_op(s, n->pos, expr_op_place(), &x, 1, attr, 2, &placed))
            return false;
        if (!have) {
            *out = placed;
            have = true;
        } else if (!apply(s, n->pos, "add", (val[]){*out, placed}, 2, NULL, 0, out)) {
            return false;
        }
    }
    return true;
}

static bool eval_index(ev *s, const expr_node *n, val *out)
{
    val x = s->r[expr_arg(s->e, n, 0)];
    if (x.is_num)
        return fail(s, n->pos, "a number cannot be indexed");
    ad_shape sh = ad_var_shape(s->t, x.v);
    char b[64];
    if (sh.rank != 1)
        return fail(s, n->pos, "only a vector can be indexed; this has shape %s",
                    ad_shape_format(&sh, b, sizeof b));
    if (n->index >= sh.dim[0])
        return fail(s, n->pos, "index %zu is out of range for a vector of %zu elements", n->index, sh.dim[0]);
    double i = (double)n->index;
    return apply_op(s, n->pos, expr_op_index(), &x, 1, &i, 1, out);
}

static expr_value *find_value(expr_value *vals, size_t n, const char *name, size_t len)
{
    for (size_t k = 0; k < n; k++)
        if (strlen(vals[k].name) == len && memcmp(vals[k].name, name, len) == 0)
            return &vals[k];
    return NULL;
}

/* Every name must be given and every given name used, before anything is recorded. */
static bool bind_names(ev *s, expr_value *vals, size_t n_vals)
{
    const expr *e = s->e;
    for (size_t k = 0; k < n_vals; k++)
        vals[k].used = false;
    for (size_t i = 0; i < e->n_nodes; i++) {
        const expr_node *n = &e->nodes[i];
        if (n->kind != EXPR_VAR)
            continue;
        expr_value *v = find_value(vals, n_vals, e->src + n->name, n->name_len);
        if (v) {
            v->used = true;
            continue;
        }
        const char *names[64];
        size_t m = 0;
        for (size_t k = 0; k < n_vals && m < 64; k++)
            names[m++] = vals[k].name;
        const char *near = expr_suggest(e->src + n->name, n->name_len, names, m);
        if (near)
            snprintf(s->err->hint, sizeof s->err->hint, "did you mean '%s'?", near);
        int shown = n->name_len > 40 ? 40 : (int)n->name_len;
        return fail(s, n->pos, "the variable '%.*s%s' has no value (give it as %.*s%s=VALUE)", shown,
                    e->src + n->name, n->name_len > 40 ? "..." : "", shown, e->src + n->name,
                    n->name_len > 40 ? "..." : "");
    }
    for (size_t k = 0; k < n_vals; k++)
        if (!vals[k].used) {
            snprintf(s->err->msg, sizeof s->err->msg,
                     "the variable '%s' is given a value but the expression does not use it", vals[k].name);
            s->err->has_pos = false;
            return false;
        }
    return true;
}

bool expr_eval(const expr *e, ad_tape *t, expr_value *vals, size_t n_vals, ad_var *out, expr_error *err)
{
    return expr_eval_trace(e, t, vals, n_vals, out, NULL, err);
}

bool expr_eval_trace(const expr *e, ad_tape *t, expr_value *vals, size_t n_vals, ad_var *out,
                     expr_trace *tr, expr_error *err)
{
    memset(err, 0, sizeof *err);
    ev s = {.e = e, .t = t, .err = err, .tr = tr};
    if (tr)
        tr->n = 0;
    char why[256];
    if (!expr_ops_register(why, sizeof why)) {
        snprintf(err->msg, sizeof err->msg, "%s", why);
        return false;
    }
    if (!bind_names(&s, vals, n_vals))
        return false;
    for (size_t k = 0; k < n_vals; k++) {
        vals[k].var = ad_input(t, vals[k].shape, vals[k].data);
        if (ad_var_is_nil(vals[k].var)) {
            snprintf(err->msg, sizeof err->msg, "%s", ad_tape_error(t));
            return false;
        }
    }
    s.r = calloc(e->n_nodes ? e->n_nodes : 1, sizeof *s.r);
    if (!s.r) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    bool ok = true;
    /* Children precede parents in the node array: one pass in order, no recursion. */
    for (size_t i = 0; ok && i < e->n_nodes; i++) {
        const expr_node *n = &e->nodes[i];
        val *r = &s.r[i];
        switch (n->kind) {
        case EXPR_NUM: *r = (val){.is_num = true, .num = n->num}; break;
        case EXPR_VAR: *r = (val){.v = find_value(vals, n_vals, e->src + n->name, n->name_len)->var}; break;
        case EXPR_UNARY: ok = eval_unary(&s, n, r); break;
        case EXPR_BINARY: ok = eval_binary(&s, n, r); break;
        case EXPR_CALL: ok = eval_call(&s, n, r); break;
        case EXPR_VEC: ok = eval_vec(&s, n, r); break;
        case EXPR_INDEX: ok = eval_index(&s, n, r); break;
        }
    }
    if (ok) {
        val root = s.r[e->root];
        *out = as_var(&s, root);
        ok = check_tape(&s, e->nodes[e->root].pos, *out);
        ad_shape sh = ad_var_shape(t, *out);
        char b[64];
        if (ok && sh.rank != 0)
            ok = fail(&s, e->nodes[e->root].pos,
                      "the result has shape %s; it must be a scalar (wrap it in sum(...) or mean(...))",
                      ad_shape_format(&sh, b, sizeof b));
    }
    free(s.r);
    return ok;
}
