/* json.h - a small streaming JSON writer; non-finite numbers become the strings "nan", "inf", "-inf". */
#ifndef ADCHECK_JSON_H
#define ADCHECK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

/* Commas and colons are placed by the writer: callers only say what comes next. */
typedef struct json {
    FILE *f;
    int depth;
    bool first[JSON_MAX_DEPTH]; /* nothing written yet at this level */
    bool after_key;
} json;

void json_init(json *j, FILE *f);
void json_obj_begin(json *j);
void json_obj_end(json *j);
void json_arr_begin(json *j);
void json_arr_end(json *j);
void json_key(json *j, const char *key);
void json_str(json *j, const char *s);
void json_num(json *j, double v);
void json_uint(json *j, unsigned long long v);
void json_bool(json *j, bool v);
void json_null(json *j);

/* Shorthands for "key": value. */
void json_kstr(json *j, const char *key, const char *s);
void json_knum(json *j, const char *key, double v);
void json_kuint(json *j, const char *key, unsigned long long v);
void json_kbool(json *j, const char *key, bool v);

/**
 * The shortest decimal that reads back as v (up to 17 digits), e.g. "0.1"
 * rather than "0.10000000000000001"; "nan", "inf", "-inf" for the rest.
 * @return buf
 */
char *fmt_num(char buf[32], double v);

#endif
