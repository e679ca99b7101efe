/* expr_parse.c - lexer and depth-counted recursive-descent parser of the expression language. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expr.h"

/*
 * Grammar (lowest binding first):
 *   expr    := mul (('+' | '-') mul)*
 *   mul     := unary (('*' | '/') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := postfix (('^' | '**') unary)?     right-associative, above unary minus
 *   postfix := primary ('[' INTEGER ']')*
 *   primary := NUMBER | NAME | NAME '(' args ')' | '(' expr ')' | '[' args ']'
 * Binary chains are built in loops; only nesting recurses, and every recursive
 * entry counts depth, so no input can exhaust the C stack.
 */

typedef enum tok_kind { T_END, T_NUM, T_NAME, T_PUNCT } tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t pos, len;
    char c;       /* T_PUNCT: the character; '^' also for "**" */
    double num;
} tok;

typedef struct parser {
    const char *s;
    size_t len, at;
    tok cur;
    unsigned depth;
    expr *e;
    expr_error *err;
    bool failed;
} parser;

static bool fail(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    p->err->pos = pos;
    p->err->has_pos = true;
    p->failed = true;
    return false;
}

static bool is_name_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Extent of a numeric literal starting at i: decimal or hex float, strtod's syntax. */
static size_t number_end(parser *p, size_t i)
{
    const char *s = p->s;
    size_t n = p->len;
    bool hex = i + 1 < n && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
    if (hex)
        i += 2;
    size_t digits = 0;
    while (i < n && (hex ? is_hex(s[i]) : is_digit(s[i])))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && (hex ? is_hex(s[i]) : is_digit(s[i])))
            i++, digits++;
    }
    if (digits == 0)
        return fail(p, i, hex ? "a hex float needs digits after '0x'" : "a number needs digits"), 0;
    if (i < n && (hex ? (s[i] == 'p' || s[i] == 'P') : (s[i] == 'e' || s[i] == 'E'))) {
        size_t e = i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return fail(p, e, "the exponent of this number has no digits"), 0;
        while (i < n && is_digit(s[i]))
            i++;
    } else if (hex) {
        return fail(p, i, "a hex float needs a binary exponent ('p', as in 0x1.8p3)"), 0;
    }
    if (i < n && is_name_char(s[i]))
        return fail(p, i, "unexpected '%c' right after a number", s[i]), 0;
    return i;
}

static bool lex_number(parser *p, size_t start)
{
    size_t end = number_end(p, start);
    if (p->failed)
        return false;
    if (end - start > EXPR_MAX_NUMBER)
        return fail(p, start, "this number has %zu characters; the limit is %d", end - start,
                    EXPR_MAX_NUMBER);
    char buf[EXPR_MAX_NUMBER + 1];
    memcpy(buf, p->s + start, end - start);
    buf[end - start] = '\0';
    errno = 0;
    double v = strtod(buf, NULL);
    if (errno == ERANGE && isinf(v))
        return fail(p, start, "the number '%.40s%s' overflows a double (the largest is 1.7976931348623157e308)",
                    buf, strlen(buf) > 40 ? "..." : "");
    /* Underflow to a subnormal or zero is the nearest double: accepted. */
    p->cur = (tok){.kind = T_NUM, .pos = start, .len = end - start, .num = v};
    p->at = end;
    return true;
}

/* Reads the next token into p->cur. */
static bool next(parser *p)
{
    const char *s = p->s;
    while (p->at < p->len && (s[p->at] == ' ' || s[p->at] == '\t' || s[p->at] == '\n' ||
                              s[p->at] == '\r'))
        p->at++;
    size_t i = p->at;
    if (i >= p->len) {
        p->cur = (tok){.kind = T_END, .pos = i};
        return true;
    }
    char c = s[i];
    if (is_digit(c) || (c == '.' && i + 1 < p->len && is_digit(s[i + 1])))
        return lex_number(p, i);
    if (is_name_start(c)) {
        size_t j = i;
        while (j < p->len && is_name_char(s[j]))
            j++;
        if (j - i > EXPR_MAX_NAME)
            return fail(p, i, "this name has %zu characters; the limit is %d", j - i, EXPR_MAX_NAME);
        p->cur = (tok){.kind = T_NAME, .pos = i, .len = j - i};
        p->at = j;
        return true;
    }
    if (c == '*' && i + 1 < p->len && s[i + 1] == '*') {
        p->cur = (tok){.kind = T_PUNCT, .pos = i, .len = 2, .c = '^'};
        p->at = i + 2;
        return true;
    }
    if (strchr("+-*/^()[],", c) && c != '\0') {
        p->cur = (tok){.kind = T_PUNCT, .pos = i, .len = 1, .c = c};
        p->at = i + 1;
        return true;
    }
    if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
        return fail(p, i, "unexpected character '%c'", c);
    return fail(p, i, "unexpected byte 0x%02x (expressions are ASCII text)", (unsigned char)c);
}

static bool is_punct(const parser *p, char c) { return p->cur.kind == T_PUNCT && p->cur.c == c; }

static const char *describe(const parser *p, char *buf, size_t len)
{
    switch (p->cur.kind) {
    case T_END: return "the end of the expression";
    case T_NUM: snprintf(buf, len, "the number '%.*s'", (int)(p->cur.len > 20 ? 20 : p->cur.len), p->s + p->cur.pos); return buf;
    case T_NAME: snprintf(buf, len, "the name '%.*s'", (int)(p->cur.len > 20 ? 20 : p->cur.len), p->s + p->cur.pos); return buf;
    default: snprintf(buf, len, "'%.*s'", (int)p->cur.len, p->s + p->cur.pos); return buf;
    }
}

static bool expect(parser *p, char c, const char *what)
{
    if (is_punct(p, c))
        return next(p);
    char buf[64];
    return fail(p, p->cur.pos, "expected %s, found %s", what, describe(p, buf, sizeof buf));
}

/* Appends a node; returns its index, or SIZE_MAX on out of memory (reported). */
static size_t add_node(parser *p, expr_node n)
{
    expr *e = p->e;
    if (e->n_nodes == e->cap_nodes) {
        size_t cap = e->cap_nodes ? 2 * e->cap_nodes : 64;
        expr_node *m = realloc(e->nodes, cap * sizeof *m);
        if (!m)
            return fail(p, n.pos, "out of memory"), SIZE_MAX;
        e->nodes = m, e->cap_nodes = cap;
    }
    e->nodes[e->n_nodes] = n;
    return e->n_nodes++;
}

/* Appends child indices and returns the offset of the first. */
static size_t add_args(parser *p, const size_t *a, size_t n, size_t pos)
{
    expr *e = p->e;
    if (e->n_args + n > e->cap_args) {
        size_t cap = e->cap_args ? 2 * e->cap_args : 64;
        while (cap < e->n_args + n)
            cap *= 2;
        size_t *m = realloc(e->args, cap * sizeof *m);
        if (!m)
            return fail(p, pos, "out of memory"), SIZE_MAX;
        e->args = m, e->cap_args = cap;
    }
    if (n) /* a call with no arguments has nothing to copy (and maybe no array yet) */
        memcpy(e->args + e->n_args, a, n * sizeof *a);
    e->n_args += n;
    return e->n_args - n;
}

static size_t node_with_args(parser *p, expr_node n, const size_t *a, size_t k)
{
    size_t off = add_args(p, a, k, n.pos);
    if (off == SIZE_MAX)
        return SIZE_MAX;
    n.first_arg = off, n.n_args = k;
    return add_node(p, n);
}

static size_t parse_expr(parser *p);
static size_t parse_unary(parser *p);

static bool enter(parser *p)
{
    if (++p->depth > EXPR_MAX_DEPTH)
        return fail(p, p->cur.pos, "nesting deeper than %d levels (parentheses, brackets, calls, signs)",
                    EXPR_MAX_DEPTH);
    return true;
}

/* Comma-separated expressions up to the closing character (already past the opener). */
static size_t parse_list(parser *p, char close, size_t *out, size_t open_pos, const char *what)
{
    size_t n = 0;
    if (is_punct(p, close))
        return next(p) ? 0 : SIZE_MAX;
    for (;;) {
        if (n == EXPR_MAX_ARGS)
            return fail(p, p->cur.pos, "more than %d %s", EXPR_MAX_ARGS, what), SIZE_MAX;
        size_t a = parse_expr(p);
        if (a == SIZE_MAX)
            return SIZE_MAX;
        out[n++] = a;
        if (is_punct(p, ',')) {
            if (!next(p))
                return SIZE_MAX;
            continue;
        }
        if (is_punct(p, close))
            return next(p) ? n : SIZE_MAX;
        char buf[64];
        if (p->cur.kind == T_END)
            return fail(p, open_pos, "this '%c' is never closed (expected '%c')", p->s[open_pos], close),
                   SIZE_MAX;
        return fail(p, p->cur.pos, "expected ',' or '%c', found %s", close, describe(p, buf, sizeof buf)),
               SIZE_MAX;
    }
}

static size_t parse_primary(parser *p)
{
    tok t = p->cur;
    size_t a[EXPR_MAX_ARGS];
    if (t.kind == T_NUM) {
        if (!next(p))
            return SIZE_MAX;
        return add_node(p, (expr_node){.kind = EXPR_NUM, .pos = t.pos, .num = t.num});
    }
    if (t.kind == T_NAME) {
        if (!next(p))
            return SIZE_MAX;
        if (is_punct(p, '(')) {
            size_t open = p->cur.pos;
            if (!enter(p) || !next(p))
                return SIZE_MAX;
            size_t n = parse_list(p, ')', a, open, "arguments in one call");
            if (n == SIZE_MAX)
                return SIZE_MAX;
            p->depth--;
            return node_with_args(p, (expr_node){.kind = EXPR_CALL, .pos = t.pos, .name = t.pos,
                                                 .name_len = t.len}, a, n);
        }
        /* inf and nan are numbers, not variables. */
        if (t.len == 3 && (memcmp(p->s + t.pos, "inf", 3) == 0 || memcmp(p->s + t.pos, "nan", 3) == 0))
            return add_node(p, (expr_node){.kind = EXPR_NUM, .pos = t.pos,
                                           .num = p->s[t.pos] == 'i' ? INFINITY : NAN});
        return add_node(p, (expr_node){.kind = EXPR_VAR, .pos = t.pos, .name = t.pos, .name_len = t.len});
    }
    if (is_punct(p, '(') || is_punct(p, '[')) {
        bool paren = is_punct(p, '(');
        if (!enter(p) || !next(p))
            return SIZE_MAX;
        size_t r;
        if (paren) {
            r = parse_expr(p);
            if (r == SIZE_MAX)
                return SIZE_MAX;
            if (p->cur.kind == T_END)
                return fail(p, t.pos, "this '(' is never closed"), SIZE_MAX;
            if (!expect(p, ')', "')'"))
                return SIZE_MAX;
        } else {
            size_t n = parse_list(p, ']', a, t.pos, "elements in one vector");
            if (n == SIZE_MAX)
                return SIZE_MAX;
            if (n == 0)
                return fail(p, t.pos, "an empty vector '[]' has no value"), SIZE_MAX;
            r = node_with_args(p, (expr_node){.kind = EXPR_VEC, .pos = t.pos}, a, n);
        }
        p->depth--;
        return r;
    }
    char buf[64];
    if (t.kind == T_END)
        return fail(p, t.pos, p->e->n_nodes == 0 && p->depth == 0 ? "the expression is empty"
                                                        : "the expression ends where a value is expected"),
               SIZE_MAX;
    return fail(p, t.pos, "expected a number, a name, '(' or '[', found %s", describe(p, buf, sizeof buf)),
           SIZE_MAX;
}

static size_t parse_postfix(parser *p)
{
    size_t r = parse_primary(p);
    while (r != SIZE_MAX && is_punct(p, '[')) {
        size_t open = p->cur.pos;
        if (!next(p))
            return SIZE_MAX;
        tok t = p->cur;
        if (t.kind != T_NUM || !(t.num >= 0 && t.num == floor(t.num) && t.num < 1e15)) {
            char buf[64];
            return fail(p, t.pos, "an index must be a non-negative integer constant, found %s",
                        describe(p, buf, sizeof buf)), SIZE_MAX;
        }
        if (!next(p))
            return SIZE_MAX;
        if (p->cur.kind == T_END)
            return fail(p, open, "this '[' is never closed"), SIZE_MAX;
        if (!expect(p, ']', "']'"))
            return SIZE_MAX;
        r = node_with_args(p, (expr_node){.kind = EXPR_INDEX, .pos = t.pos, .index = (size_t)t.num}, &r, 1);
    }
    return r;
}

static size_t parse_power(parser *p)
{
    size_t base = parse_postfix(p);
    if (base == SIZE_MAX || !is_punct(p, '^'))
        return base;
    size_t pos = p->cur.pos;
    /* The exponent is a unary: 2^-x is 2^(-x), and a^b^c recurses to the right. */
    if (!enter(p) || !next(p))
        return SIZE_MAX;
    size_t ex = parse_unary(p);
    if (ex == SIZE_MAX)
        return SIZE_MAX;
    p->depth--;
    size_t a[2] = {base, ex};
    return node_with_args(p, (expr_node){.kind = EXPR_BINARY, .pos = pos, .op = '^'}, a, 2);
}

static size_t parse_unary(parser *p)
{
    if (!is_punct(p, '-') && !is_punct(p, '+'))
        return parse_power(p);
    tok t = p->cur;
    if (!enter(p) || !next(p))
        return SIZE_MAX;
    size_t x = parse_unary(p);
    if (x == SIZE_MAX)
        return SIZE_MAX;
    p->depth--;
    return node_with_args(p, (expr_node){.kind = EXPR_UNARY, .pos = t.pos, .op = t.c}, &x, 1);
}

static size_t parse_chain(parser *p, const char *ops, size_t (*operand)(parser *))
{
    size_t l = operand(p);
    while (l != SIZE_MAX && p->cur.kind == T_PUNCT && strchr(ops, p->cur.c) && p->cur.len == 1) {
        tok t = p->cur;
        if (!next(p))
            return SIZE_MAX;
        size_t r = operand(p);
        if (r == SIZE_MAX)
            return SIZE_MAX;
        size_t a[2] = {l, r};
        l = node_with_args(p, (expr_node){.kind = EXPR_BINARY, .pos = t.pos, .op = t.c}, a, 2);
    }
    return l;
}

static size_t parse_mul(parser *p) { return parse_chain(p, "*/", parse_unary); }
static size_t parse_expr(parser *p) { return parse_chain(p, "+-", parse_mul); }

bool expr_parse(const char *src, size_t len, expr *e, expr_error *err)
{
    memset(e, 0, sizeof *e);
    memset(err, 0, sizeof *err);
    if (len > EXPR_MAX_INPUT) {
        snprintf(err->msg, sizeof err->msg, "the expression is %zu bytes long; the limit is %u bytes",
                 len, EXPR_MAX_INPUT);
        return false;
    }
    e->src = malloc(len + 1);
    if (!e->src) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    memcpy(e->src, src, len);
    e->src[len] = '\0';
    e->len = len;
    parser p = {.s = e->src, .len = len, .e = e, .err = err};
    size_t root = SIZE_MAX;
    if (next(&p)) {
        root = parse_expr(&p);
        if (root != SIZE_MAX && p.cur.kind != T_END) {
            char buf[64];
            if (is_punct(&p, ')') || is_punct(&p, ']'))
                fail(&p, p.cur.pos, "unmatched '%c'", p.cur.c);
            else
                fail(&p, p.cur.pos, "expected an operator or the end, found %s", describe(&p, buf, sizeof buf));
        }
    }
    if (p.failed) {
        expr_free(e);
        return false;
    }
    e->root = root;
    return true;
}

void expr_free(expr *e)
{
    free(e->src);
    free(e->nodes);
    free(e->args);
    memset(e, 0, sizeof *e);
}

size_t expr_arg(const expr *e, const expr_node *n, size_t k)
{
    return e->args[n->first_arg + k];
}
