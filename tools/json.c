/* json.c - the streaming JSON writer: commas by state, strings escaped, numbers shortest round-trip. */
#include <math.h>
#include <stdlib.h>
#include "json.h"

char *fmt_num(char buf[32], double v)
{
    if (isnan(v))
        return snprintf(buf, 32, "nan"), buf;
    if (isinf(v))
        return snprintf(buf, 32, v > 0 ? "inf" : "-inf"), buf;
    if (v == floor(v) && fabs(v) < 1e15) /* "10", not "1e+01" */
        return snprintf(buf, 32, "%.0f", v), buf;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

void json_init(json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
}

/* Before any value or key: the comma that separates it from the previous one. */
static void sep(json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
}

static void open(json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->first[++j->depth] = true;
}

static void close_(json *j, char c)
{
    fputc(c, j->f);
    if (j->depth > 0)
        j->depth--;
    if (j->depth == 0)
        fputc('\n', j->f);
}

void json_obj_begin(json *j) { open(j, '{'); }
void json_obj_end(json *j) { close_(j, '}'); }
void json_arr_begin(json *j) { open(j, '['); }
void json_arr_end(json *j) { close_(j, ']'); }

static void raw_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(f, "\\u%04x", *p); /* bytes above ASCII as code points: always valid JSON */
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void json_key(json *j, const char *key)
{
    sep(j);
    raw_str(j->f, key);
    fputc(':', j->f);
    j->after_key = true;
}

void json_str(json *j, const char *s)
{
    sep(j);
    raw_str(j->f, s);
}

void json_num(json *j, double v)
{
    char buf[32];
    sep(j);
    if (isfinite(v))
        fputs(fmt_num(buf, v), j->f);
    else
        raw_str(j->f, fmt_num(buf, v));
}

void json_uint(json *j, unsigned long long v)
{
    sep(j);
    fprintf(j->f, "%llu", v);
}

void json_bool(json *j, bool v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(json *j)
{
    sep(j);
    fputs("null", j->f);
}

void json_kstr(json *j, const char *key, const char *s) { json_key(j, key), json_str(j, s); }
void json_knum(json *j, const char *key, double v) { json_key(j, key), json_num(j, v); }
void json_kuint(json *j, const char *key, unsigned long long v) { json_key(j, key), json_uint(j, v); }
void json_kbool(json *j, const char *key, bool v) { json_key(j, key), json_bool(j, v); }
