/* cli.c - option reading, usage errors, reading EXPR and NAME=VALUE, the seeded generator. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "adcheck%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  (see 'adcheck %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

bool cli_next_opt(cli_args *a)
{
    while (a->at < a->argc) {
        char *s = a->argv[a->at++];
        if (!a->no_more_opts && strcmp(s, "--") == 0) {
            a->no_more_opts = true;
            continue;
        }
        if (!a->no_more_opts && (strncmp(s, "--", 2) == 0 || strcmp(s, "-h") == 0)) {
            a->opt = s;
            return true;
        }
        /* Compacting in place is safe: the write index never passes the read index. */
        a->argv[1 + a->n_pos++] = s;
    }
    return false;
}

bool cli_is(const cli_args *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a->opt, name, n) == 0 && (a->opt[n] == '\0' || a->opt[n] == '=');
}

const char *cli_value(cli_args *a)
{
    const char *eq = strchr(a->opt, '=');
    if (eq)
        return eq + 1;
    if (a->at >= a->argc) {
        cli_usage(a->cmd, "the option %s needs a value", a->opt);
        return NULL;
    }
    return a->argv[a->at++];
}

bool cli_uint(cli_args *a, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end || errno || s[0] == '-' || v < lo || v > hi) {
        cli_usage(a->cmd, "%.*s wants an integer from %llu to %llu, not '%.40s'",
                  (int)strcspn(a->opt, "="), a->opt, (unsigned long long)lo, (unsigned long long)hi, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_double(cli_args *a, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) {
        cli_usage(a->cmd, "%.*s wants a number from %g to %g, not '%.40s'", (int)strcspn(a->opt, "="),
                  a->opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

/* All of standard input, up to one byte past the limit (so the parser can say "too long"). */
static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (n > EXPR_MAX_INPUT || (got == 0 && (feof(stdin) || ferror(stdin))))
            break;
        if (n == cap) {
            char *m = realloc(buf, cap *= 2);
            if (!m)
                free(buf);
            buf = m;
        }
    }
    *len = n;
    return buf;
}

bool cli_parse_expr(const char *cmd, const char *arg, expr *e)
{
    expr_error err;
    const char *src = arg;
    size_t len = strlen(arg);
    char *owned = NULL;
    if (strcmp(arg, "-") == 0) {
        owned = read_stdin(&len);
        if (!owned || ferror(stdin)) {
            free(owned);
            fprintf(stderr, "adcheck %s: error: cannot read the expression from standard input\n", cmd);
            return false;
        }
        src = owned;
    }
    bool ok = expr_parse(src, len, e, &err);
    if (!ok)
        expr_error_print(src, len, &err, stderr);
    free(owned);
    return ok;
}

bool cli_parse_values(char **args, size_t n, expr_value *vals)
{
    for (size_t k = 0; k < n; k++) {
        expr_error err;
        bool ok = expr_value_parse(args[k], &vals[k], &err);
        for (size_t i = 0; ok && i < k; i++)
            if (strcmp(vals[i].name, vals[k].name) == 0) {
                snprintf(err.msg, sizeof err.msg, "the variable '%s' is given twice", vals[k].name);
                err.has_pos = false;
                expr_value_free(&vals[k]);
                ok = false;
            }
        if (!ok) {
            expr_error_print(args[k], strlen(args[k]), &err, stderr);
            for (size_t i = 0; i < k; i++)
                expr_value_free(&vals[i]);
            return false;
        }
    }
    return true;
}

bool cli_progress(void)
{
    return isatty(STDERR_FILENO);
}

uint64_t cli_rng_next(cli_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double cli_rng_unit(cli_rng *r)
{
    return (double)(cli_rng_next(r) >> 11) * 0x1p-53;
}

char *cli_shell_quote(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    if (len < 3)
        return NULL;
    buf[n++] = '\'';
    for (; *s; s++) {
        if (n + 6 > len)
            return NULL; /* a cut-off command line would reproduce something else */
        if (*s == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *s;
        }
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return buf;
}
