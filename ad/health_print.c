/* health_print.c - the gradient-health report as a text table and as JSON. */
#include <math.h>
#include <stdio.h>
#include "internal.h"

/* JSON has no NaN or infinity: they become strings, as everywhere in adcheck. */
static void json_num(FILE *f, double x)
{
    if (isnan(x))
        fputs("\"nan\"", f);
    else if (isinf(x))
        fputs(x > 0 ? "\"inf\"" : "\"-inf\"", f);
    else
        fprintf(f, "%.17g", x);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *tf(bool b)
{
    return b ? "true" : "false";
}

ad_status ad_health_print_json(const ad_health_report *r, FILE *f)
{
    if (!r || !f)
        return AD_EINVAL;
    fputs("{\"params\": [", f);
    for (size_t k = 0; k < r->n_params; k++) {
        const ad_health_param *p = &r->params[k];
        fputs(k ? ", {\"name\": " : "{\"name\": ", f);
        json_str(f, p->name);
        fprintf(f, ", \"count\": %zu, \"norm\": ", p->count);
        json_num(f, p->norm);
        fputs(", \"max_abs\": ", f);
        json_num(f, p->max_abs);
        fputs(", \"ratio\": ", f);
        json_num(f, p->ratio);
        fprintf(f, ", \"exploding\": %s, \"vanishing\": %s, \"nonfinite\": %s}",
                tf(p->flags & AD_HEALTH_EXPLODING), tf(p->flags & AD_HEALTH_VANISHING),
                tf(p->flags & AD_HEALTH_NONFINITE));
    }
    fputs("], \"units\": [", f);
    for (size_t k = 0; k < r->n_units; k++) {
        const ad_health_units *u = &r->units[k];
        fprintf(f, "%s{\"node\": %zu, \"label\": ", k ? ", " : "", u->node);
        json_str(f, u->label);
        fprintf(f, ", \"units\": %zu, \"dead\": %zu, \"dead_fraction\": ", u->units, u->dead);
        json_num(f, u->dead_fraction);
        fprintf(f, ", \"flagged\": %s}", tf(u->flagged));
    }
    fputs("], \"growth\": ", f);
    json_num(f, r->growth);
    fprintf(f, ", \"exploding\": %s, \"vanishing\": %s, \"nonfinite\": %s, \"dead\": %s}\n",
            tf(r->exploding), tf(r->vanishing), tf(r->nonfinite), tf(r->dead));
    return ferror(f) ? AD_EIO : AD_OK;
}

ad_status ad_health_print_text(const ad_health_report *r, FILE *f)
{
    if (!r || !f)
        return AD_EINVAL;
    if (r->n_params)
        fprintf(f, "%-10s %8s %12s %12s %10s  %s\n", "param", "count", "grad norm", "max |g|",
                "ratio", "flags");
    for (size_t k = 0; k < r->n_params; k++) {
        const ad_health_param *p = &r->params[k];
        fprintf(f, "%-10s %8zu %12.4g %12.4g %10.4g  %s%s%s\n", p->name, p->count, p->norm,
                p->max_abs, p->ratio, p->flags & AD_HEALTH_EXPLODING ? "EXPLODING " : "",
                p->flags & AD_HEALTH_VANISHING ? "VANISHING " : "",
                p->flags & AD_HEALTH_NONFINITE ? "NONFINITE" : "");
    }
    if (r->n_units) {
        fprintf(f, "%s%-10s %6s %8s %8s %8s\n", r->n_params ? "\n" : "",
                "activation", "node", "units", "dead", "dead %");
        for (size_t k = 0; k < r->n_units; k++) {
            const ad_health_units *u = &r->units[k];
            fprintf(f, "%-10s %6zu %8zu %8zu %7.1f%%%s\n", u->label[0] ? u->label : "relu", u->node,
                    u->units, u->dead, 100.0 * u->dead_fraction, u->flagged ? "  DEAD" : "");
        }
    }
    fprintf(f, "\nfirst/last gradient norm %.4g; verdict: %s%s%s%s%s\n", r->growth,
            r->exploding ? "exploding " : "", r->vanishing ? "vanishing " : "",
            r->nonfinite ? "non-finite " : "", r->dead ? "dead units " : "",
            r->exploding || r->vanishing || r->nonfinite || r->dead ? "" : "healthy");
    return ferror(f) ? AD_EIO : AD_OK;
}
