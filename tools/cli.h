/* cli.h - what the commands of `adcheck` share: option reading, usage errors, the expression and its variables. */
#ifndef ADCHECK_CLI_H
#define ADCHECK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "expr.h"

/* Exit statuses (DESIGN.md). */
enum { EXIT_PASS = 0, EXIT_CHECK_FAILED = 1, EXIT_USAGE = 2 };

/* The commands; argv[0] is the command's name. Each returns an exit status. */
int cmd_grad(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_hunt(int argc, char **argv);

/** Prints "adcheck CMD: MESSAGE" and a pointer to --help on stderr. @return EXIT_USAGE */
int cli_usage(const char *cmd, const char *fmt, ...);

/* Reading options: arguments starting with "--" (and -h) are options, before
 * or after the others, until a bare "--"; everything else (including "-" and
 * "-x^2") is positional. Positionals are gathered in order at argv[1..n_pos]. */
typedef struct cli_args {
    const char *cmd;
    int argc, at;         /* start with at = 1                   */
    char **argv;
    const char *opt;      /* the option being read, for messages */
    int n_pos;
    bool no_more_opts;
} cli_args;

/** @return true when another option was found (sets a->opt); false at the end. */
bool cli_next_opt(cli_args *a);
/** The option's value (the next argument, or after '=' in --opt=value); NULL after a usage message. */
const char *cli_value(cli_args *a);
bool cli_is(const cli_args *a, const char *name);
/** Parses an unsigned integer in [lo, hi]; prints a usage message and returns false otherwise. */
bool cli_uint(cli_args *a, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/** Parses a finite double in [lo, hi]; same contract. */
bool cli_double(cli_args *a, const char *s, double lo, double hi, double *out);

/**
 * Reads EXPR ("-" reads standard input) and parses it; prints the error with
 * its caret on failure.
 * @return true with e filled
 */
bool cli_parse_expr(const char *cmd, const char *arg, expr *e);

/**
 * Parses NAME=VALUE arguments, rejecting duplicates; prints the error on failure.
 * @return true with vals[0..n) filled (free each with expr_value_free)
 */
bool cli_parse_values(char **args, size_t n, expr_value *vals);

/** @return true when progress should be shown (stderr is a terminal). */
bool cli_progress(void);

/* A deterministic generator (splitmix64): the same seed, the same run. */
typedef struct cli_rng { uint64_t s; } cli_rng;
uint64_t cli_rng_next(cli_rng *r);
/** @return a double uniform in [0, 1). */
double cli_rng_unit(cli_rng *r);

/** Quotes an argument for a shell command line (single quotes) into buf. @return buf, or NULL when it does not fit. */
char *cli_shell_quote(const char *s, char *buf, size_t len);

#endif
