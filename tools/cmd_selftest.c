/* cmd_selftest.c - `adcheck selftest`: ad_op_verify over every registered op (or one, or a shard), as a table or JSON. */
#include <string.h>
#include <ad/check.h>
#include "cli.h"
#include "json.h"

static const char help[] =
    "usage: adcheck selftest [--json] [--samples N] [--seed S] [--op NAME] [--shard I/N]\n"
    "\n"
    "Verifies every registered op across its domain against MPFR: forward,\n"
    "backward, tangent and the choices at kinks, at seeded samples plus the\n"
    "special points. Prints one row per op: samples, the worst forward and\n"
    "backward ulp errors and where they happened, kinks verified, verdict.\n"
    "\n"
    "  --json          one JSON object (see the README)\n"
    "  --samples N     samples per op (default 200)\n"
    "  --seed S        seed (default 1)\n"
    "  --op NAME       only this op\n"
    "  --shard I/N     only the ops whose position in the registry is I modulo N\n"
    "                  (1 <= I <= N), so a CI matrix of N jobs covers every op once\n"
    "\n"
    "Exit status 0 when every op passes, 1 when one fails, 2 for a usage error.\n";

/* "x=1.5" or "a=1, b=2": where a worst case happened. */
static const char *where(const ad_op *op, const ad_verify_worst *w, char *buf, size_t len)
{
    static const char *const names[AD_MAX_ARITY] = {"a", "b", "c"};
    size_t at = 0;
    buf[0] = '\0';
    for (unsigned k = 0; k < op->arity && at < len; k++) {
        /* six digits keep the table readable; --json has the exact values */
        int m = snprintf(buf + at, len - at, "%s%s=%.6g", k ? "," : "", op->arity == 1 ? "x" : names[k],
                         w->x[k]);
        at += m > 0 ? (size_t)m : 0;
    }
    return buf;
}

static void json_worst(json *j, const char *key, const ad_op *op, const ad_verify_worst *w)
{
    json_key(j, key);
    json_obj_begin(j);
    json_knum(j, "ulps", w->ulps);
    json_key(j, "at");
    json_arr_begin(j);
    for (unsigned k = 0; k < op->arity; k++)
        json_num(j, w->x[k]);
    json_arr_end(j);
    json_obj_end(j);
}

/* --shard I/N */
static bool parse_shard(cli_args *a, const char *s, uint64_t *i, uint64_t *n)
{
    const char *slash = strchr(s, '/');
    char left[32];
    if (!slash || (size_t)(slash - s) >= sizeof left) {
        cli_usage(a->cmd, "--shard wants I/N (for example 2/4), not '%.40s'", s);
        return false;
    }
    memcpy(left, s, (size_t)(slash - s));
    left[slash - s] = '\0';
    if (!cli_uint(a, slash + 1, 1, 1000000, n) || !cli_uint(a, left, 1, *n, i))
        return false;
    return true;
}

int cmd_selftest(int argc, char **argv)
{
    cli_args a = {.cmd = "selftest", .argc = argc, .argv = argv, .at = 1};
    ad_verify_opts vo = ad_verify_opts_default();
    bool as_json = false;
    const char *only = NULL;
    uint64_t shard_i = 1, shard_n = 1, u;
    while (cli_next_opt(&a)) {
        const char *val;
        if (cli_is(&a, "--help") || cli_is(&a, "-h"))
            return fputs(help, stdout), EXIT_PASS;
        else if (cli_is(&a, "--json"))
            as_json = true;
        else if (cli_is(&a, "--samples")) {
            if (!(val = cli_value(&a)) || !cli_uint(&a, val, 1, 100000000, &u))
                return EXIT_USAGE;
            vo.samples = (size_t)u;
        } else if (cli_is(&a, "--seed")) {
            if (!(val = cli_value(&a)) || !cli_uint(&a, val, 0, UINT64_MAX, &vo.seed))
                return EXIT_USAGE;
        } else if (cli_is(&a, "--op")) {
            if (!(only = cli_value(&a)))
                return EXIT_USAGE;
        } else if (cli_is(&a, "--shard")) {
            if (!(val = cli_value(&a)) || !parse_shard(&a, val, &shard_i, &shard_n))
                return EXIT_USAGE;
        } else {
            return cli_usage(a.cmd, "unknown option '%.40s'", a.opt);
        }
    }
    if (a.n_pos > 0)
        return cli_usage(a.cmd, "takes no arguments, got '%.40s' (use --op NAME for one op)", argv[1]);
    if (only && !ad_op_find(only)) {
        const char *near = expr_suggest(only, strlen(only), NULL, 0);
        if (near)
            return cli_usage(a.cmd, "no op named '%.40s'; did you mean '%s'?", only, near);
        return cli_usage(a.cmd, "no op named '%.40s' ('adcheck ops' lists them)", only);
    }

    json j;
    if (as_json) {
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "ops");
        json_arr_begin(&j);
    } else {
        printf("%-12s %7s %8s %-26s %8s %-26s %5s  %s\n", "op", "samples", "fwd ulp", "at", "bwd ulp", "at",
               "kinks", "verdict");
    }
    size_t n_run = 0, n_failed = 0, total = ad_op_count();
    bool progress = cli_progress() && !only;
    for (size_t i = 0; i < total; i++) {
        const ad_op *op = ad_op_at(i);
        if (only ? strcmp(op->name, only) != 0 : i % shard_n != shard_i - 1)
            continue;
        if (progress)
            fprintf(stderr, "\rselftest: %zu/%zu %-20s", i + 1, total, op->name);
        ad_op_report r;
        memset(&r, 0, sizeof r);
        if (ad_op_verify(op, &vo, &r) != AD_OK) {
            r.pass = false;
            snprintf(r.first_failure, sizeof r.first_failure, "ad_op_verify could not run");
        }
        n_run++;
        n_failed += !r.pass;
        char w1[96], w2[96], u1[32], u2[32];
        if (as_json) {
            json_obj_begin(&j);
            json_kstr(&j, "op", op->name);
            json_kbool(&j, "pass", r.pass);
            json_kbool(&j, "fd_only", r.fd_only);
            json_kuint(&j, "samples", r.samples);
            json_kuint(&j, "kinks_checked", r.kinks_checked);
            json_kuint(&j, "failures", r.failures);
            json_worst(&j, "forward", op, &r.fwd);
            json_worst(&j, "backward", op, &r.bwd);
            json_worst(&j, "jvp", op, &r.jvp);
            json_kstr(&j, "first_failure", r.first_failure);
            json_kuint(&j, "outside_mismatches", r.outside_mismatches);
            json_obj_end(&j);
        } else {
            if (progress)
                fprintf(stderr, "\r%50s\r", "");
            snprintf(u1, sizeof u1, "%.3g", r.fwd.ulps);
            snprintf(u2, sizeof u2, "%.3g", r.bwd.ulps);
            printf("%-12s %7zu %8s %-26s %8s %-26s %5zu  %s\n", op->name, r.samples, u1,
                   where(op, &r.fwd, w1, sizeof w1), u2, where(op, &r.bwd, w2, sizeof w2),
                   r.kinks_checked, r.pass ? (r.fd_only ? "pass (fd only)" : "pass") : "FAIL");
            if (!r.pass && r.first_failure[0])
                printf("    %s\n", r.first_failure);
        }
    }
    if (progress)
        fprintf(stderr, "\r%50s\r", "");
    if (as_json) {
        json_arr_end(&j);
        json_kuint(&j, "run", n_run);
        json_kuint(&j, "failed", n_failed);
        json_kbool(&j, "pass", n_failed == 0);
        char s[48];
        snprintf(s, sizeof s, "%llu/%llu", (unsigned long long)shard_i, (unsigned long long)shard_n);
        json_kstr(&j, "shard", s);
        json_obj_end(&j);
    } else {
        printf("%zu op%s verified, %zu failed\n", n_run, n_run == 1 ? "" : "s", n_failed);
    }
    if (fflush(stdout) != 0)
        return EXIT_CHECK_FAILED;
    return n_failed ? EXIT_CHECK_FAILED : EXIT_PASS;
}
