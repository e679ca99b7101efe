/* cmd_ops.c - `adcheck ops`: every registered op with arity, attributes, math, kinks and bounds. */
#include <math.h>
#include <string.h>
#include "cli.h"
#include "json.h"

static const char help[] =
    "usage: adcheck ops [--json | --markdown]\n"
    "\n"
    "Lists every registered op: name, math, inputs, attributes with defaults,\n"
    "kinks with the one-sided derivatives and the choice made there, the\n"
    "sampling domain, and the promised ulp bounds against MPFR.\n";

/* The choice at a kink, in words: a number, or the tape setting. */
static const char *choice_text(const ad_kink *k, char *buf, size_t len)
{
    char b[32];
    if (isnan(k->choice))
        snprintf(buf, len, "the tape's relu_at_zero (default 0)");
    else
        snprintf(buf, len, "%s", fmt_num(b, k->choice));
    return buf;
}

static void print_text(FILE *f)
{
    char a[32], b[32], c[32], d[64];
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        fprintf(f, "%s%s(", i ? "\n" : "", op->name);
        for (unsigned k = 0; k < op->arity; k++)
            fprintf(f, "%s%s", k ? ", " : "", op->arity == 1 ? "x" : (const char *[]){"a", "b", "c"}[k]);
        for (unsigned k = 0; k < op->n_attr; k++)
            fprintf(f, ", %s=%s", op->attr_name[k], fmt_num(a, op->attr_default[k]));
        fprintf(f, ") = %s\n", op->math ? op->math : "?");
        fprintf(f, "  inputs %u, attributes %u%s%s\n", op->arity, op->n_attr,
                op->flags & AD_OP_ELEMENTWISE ? ", elementwise" : "",
                op->flags & AD_OP_BROADCAST ? ", broadcasting" : "");
        fprintf(f, "  domain");
        for (unsigned k = 0; k < op->arity; k++)
            fprintf(f, " [%s, %s]%s", fmt_num(a, op->domain.lo[k]), fmt_num(b, op->domain.hi[k]),
                    op->int_inputs & (1u << k) ? " (integers)" : "");
        fprintf(f, "\n  bounds: forward %s ulp, backward %s ulp%s\n", fmt_num(a, op->ulp_fwd),
                fmt_num(b, op->ulp_bwd), op->reference ? "" : " (no MPFR reference: finite differences only)");
        if (!op->n_kinks)
            fprintf(f, "  kinks: none (smooth)\n");
        for (unsigned k = 0; k < op->n_kinks; k++) {
            const ad_kink *kk = &op->kinks[k];
            fprintf(f, "  kink at %s: one-sided derivatives %s and %s; backward returns %s\n",
                    fmt_num(a, kk->at), fmt_num(b, kk->left), fmt_num(c, kk->right),
                    choice_text(kk, d, sizeof d));
            if (kk->why)
                fprintf(f, "    why: %s\n", kk->why);
        }
    }
}

/* Markdown table cells: '|' would end the cell. */
static void md_cell(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputs(*s == '|' ? "\\|" : (char[]){*s, 0}, f);
}

static void print_markdown(FILE *f)
{
    char a[32], b[32], c[32], d[64];
    fprintf(f, "| op | math | inputs | attributes | kinks (left, right: choice) | fwd ulp | bwd ulp |\n");
    fprintf(f, "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        fprintf(f, "| `%s` | ", op->name);
        md_cell(f, op->math);
        fprintf(f, " | %u | ", op->arity);
        for (unsigned k = 0; k < op->n_attr; k++)
            fprintf(f, "%s%s=%s", k ? ", " : "", op->attr_name[k], fmt_num(a, op->attr_default[k]));
        fprintf(f, " | ");
        for (unsigned k = 0; k < op->n_kinks; k++) {
            const ad_kink *kk = &op->kinks[k];
            fprintf(f, "%sat %s (%s, %s: %s)", k ? "; " : "", fmt_num(a, kk->at), fmt_num(b, kk->left),
                    fmt_num(c, kk->right), choice_text(kk, d, sizeof d));
        }
        fprintf(f, " | %s | %s |\n", fmt_num(a, op->ulp_fwd), fmt_num(b, op->ulp_bwd));
    }
}

static void print_json(FILE *f)
{
    json j;
    json_init(&j, f);
    json_obj_begin(&j);
    json_key(&j, "ops");
    json_arr_begin(&j);
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        json_obj_begin(&j);
        json_kstr(&j, "name", op->name);
        json_kstr(&j, "math", op->math ? op->math : "");
        json_kuint(&j, "arity", op->arity);
        json_kbool(&j, "elementwise", op->flags & AD_OP_ELEMENTWISE);
        json_key(&j, "attributes");
        json_arr_begin(&j);
        for (unsigned k = 0; k < op->n_attr; k++) {
            json_obj_begin(&j);
            json_kstr(&j, "name", op->attr_name[k]);
            json_knum(&j, "default", op->attr_default[k]);
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_key(&j, "domain");
        json_arr_begin(&j);
        for (unsigned k = 0; k < op->arity; k++) {
            json_arr_begin(&j);
            json_num(&j, op->domain.lo[k]);
            json_num(&j, op->domain.hi[k]);
            json_arr_end(&j);
        }
        json_arr_end(&j);
        json_key(&j, "kinks");
        json_arr_begin(&j);
        for (unsigned k = 0; k < op->n_kinks; k++) {
            const ad_kink *kk = &op->kinks[k];
            json_obj_begin(&j);
            json_knum(&j, "at", kk->at);
            json_knum(&j, "left", kk->left);
            json_knum(&j, "right", kk->right);
            /* NaN in the descriptor means "the tape's setting": null plus a flag, not "nan" */
            json_key(&j, "choice");
            if (isnan(kk->choice))
                json_null(&j);
            else
                json_num(&j, kk->choice);
            json_kbool(&j, "tape_setting", isnan(kk->choice));
            json_kstr(&j, "why", kk->why ? kk->why : "");
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_knum(&j, "ulp_fwd", op->ulp_fwd);
        json_knum(&j, "ulp_bwd", op->ulp_bwd);
        json_kbool(&j, "reference", op->reference != NULL);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
}

int cmd_ops(int argc, char **argv)
{
    cli_args a = {.cmd = "ops", .argc = argc, .argv = argv, .at = 1};
    enum { TEXT, JSON, MARKDOWN } fmt = TEXT;
    while (cli_next_opt(&a)) {
        if (cli_is(&a, "--help") || cli_is(&a, "-h"))
            return fputs(help, stdout), EXIT_PASS;
        else if (cli_is(&a, "--json"))
            fmt = JSON;
        else if (cli_is(&a, "--markdown"))
            fmt = MARKDOWN;
        else
            return cli_usage(a.cmd, "unknown option '%.40s'", a.opt);
    }
    if (a.n_pos > 0)
        return cli_usage(a.cmd, "takes no arguments, got '%.40s'", argv[1]);
    if (fmt == JSON)
        print_json(stdout);
    else if (fmt == MARKDOWN)
        print_markdown(stdout);
    else
        print_text(stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_PASS : EXIT_CHECK_FAILED;
}
