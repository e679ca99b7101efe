/* report.c - the check report as text (worst first, one line per failing
 * coordinate) and as one JSON object. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "check_int.h"

static const char *const class_name[] = {
    [AD_COORD_OK] = "ok",
    [AD_COORD_MISMATCH] = "mismatch",
    [AD_COORD_KINK_OK] = "kink-ok",
    [AD_COORD_KINK_BAD] = "kink-bad",
    [AD_COORD_NAN_MISMATCH] = "nan-mismatch",
    [AD_COORD_SKIPPED] = "skipped",
};

static const char *cls_str(ad_coord_class c)
{
    return (unsigned)c < sizeof class_name / sizeof class_name[0] ? class_name[c] : "?";
}

static bool failing(const ad_check_coord *c)
{
    return c->cls == AD_COORD_MISMATCH || c->cls == AD_COORD_KINK_BAD ||
           c->cls == AD_COORD_NAN_MISMATCH;
}

void ad__coord_line(const ad_check_coord *c, char *buf, size_t len)
{
    int n;
    if (c->node == AD_CHECK_DIRECTION)
        n = snprintf(buf, len, "direction %zu: engine <g,u> %.17g", c->element, c->engine);
    else
        n = snprintf(buf, len, "node %zu element %zu: x %a engine %.17g", c->node, c->element, c->x,
                     c->engine);
    if (n < 0 || (size_t)n >= len)
        return;
    size_t at = (size_t)n;
#define ADD(...)                                                                          \
    do {                                                                                  \
        int m_ = snprintf(buf + at, len - at, __VA_ARGS__);                               \
        if (m_ < 0 || (size_t)m_ >= len - at)                                             \
            return;                                                                       \
        at += (size_t)m_;                                                                 \
    } while (0)
    if (!isnan(c->fd))
        ADD(" fd %.17g +- %.3g", c->fd, c->fd_err);
    if (c->ref_str[0])
        ADD(" mpfr %s", c->ref_str);
    if (!isnan(c->ulps))
        ADD(" ulps %.3g rel %.3g", c->ulps, c->rel);
    if (c->err_est > 0)
        ADD(" (rounding allows %.3g)", AD__TOL_EST * c->err_est);
    ADD(" %s", cls_str(c->cls));
    if (c->has_kink)
        ADD(" (%s kink of op %s, node %zu element %zu: one-sided %.17g, %.17g)",
            c->kink.exactly_on ? "on a" : "crossed a", c->kink.op, c->kink.node, c->kink.element,
            c->kink.left, c->kink.right);
#undef ADD
}

static const char *verdict(const ad_check_witness *w)
{
    return !w->ran ? "not run" : w->pass ? "pass" : "FAIL";
}

ad_status ad_check_report_print(const ad_check_report *r, FILE *f)
{
    if (!r || !f)
        return AD_EINVAL;
    int bad = 0;
    bad |= fprintf(f, "gradient check %s%s: fd %s (max rel %.3g), mpfr %s (max %.3g ulps), dot %s (max rel %.3g)\n",
                   r->pass ? "passed" : "FAILED", r->fast ? " (fast mode)" : "", verdict(&r->fd),
                   r->fd.max_error, verdict(&r->mpfr), r->mpfr.max_error, verdict(&r->dot),
                   r->dot.max_error) < 0;
    bad |= fprintf(f, "  %zu checked, %zu at kinks, %zu skipped; %zu MPFR replays, reference %s%s\n",
                   r->n_checked, r->n_kinks, r->n_skipped, r->n_replays,
                   r->ref_confirmed ? "confirmed" : "unconfirmed",
                   r->localized ? "; localized by coordinates" : "") < 0;
    if (r->vacuous)
        bad |= fprintf(f, "  VACUOUS: %s\n", r->vacuity) < 0;
    if (r->notes[0])
        bad |= fprintf(f, "  note: %s\n", r->notes) < 0;
    char line[512];
    for (size_t i = 0; i < r->n_coords; i++) {
        if (i > 0 && !failing(&r->coords[i]))
            break; /* worst first: the first line always, then the failures */
        ad__coord_line(&r->coords[i], line, sizeof line);
        bad |= fprintf(f, "  %s\n", line) < 0;
    }
    return bad ? AD_EIO : AD_OK;
}

/* A JSON number, or the strings "nan", "inf", "-inf". */
static int jnum(FILE *f, double v)
{
    if (isnan(v))
        return fputs("\"nan\"", f) < 0;
    if (isinf(v))
        return fputs(v > 0 ? "\"inf\"" : "\"-inf\"", f) < 0;
    return fprintf(f, "%.17g", v) < 0;
}

static int jstr(FILE *f, const char *s)
{
    int bad = fputc('"', f) == EOF;
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            bad |= fprintf(f, "\\%c", *s) < 0;
        else if ((unsigned char)*s < 0x20)
            bad |= fprintf(f, "\\u%04x", (unsigned char)*s) < 0;
        else
            bad |= fputc(*s, f) == EOF;
    }
    return bad | (fputc('"', f) == EOF);
}

static int jwitness(FILE *f, const char *name, const ad_check_witness *w)
{
    int bad = fprintf(f, "\"%s\":{\"ran\":%s,\"pass\":%s,\"max_error\":", name,
                      w->ran ? "true" : "false", w->pass ? "true" : "false") < 0;
    return bad | jnum(f, w->max_error) | (fputc('}', f) == EOF);
}

ad_status ad_check_report_json(const ad_check_report *r, FILE *f)
{
    if (!r || !f)
        return AD_EINVAL;
    int bad = fprintf(f, "{\"pass\":%s,\"fast\":%s,\"localized\":%s,\"checks\":{",
                      r->pass ? "true" : "false", r->fast ? "true" : "false",
                      r->localized ? "true" : "false") < 0;
    bad |= jwitness(f, "fd", &r->fd) | (fputc(',', f) == EOF);
    bad |= jwitness(f, "mpfr", &r->mpfr) | (fputc(',', f) == EOF);
    bad |= jwitness(f, "dot", &r->dot);
    bad |= fprintf(f, "},\"ref_confirmed\":%s,\"checked\":%zu,\"at_kinks\":%zu,\"skipped\":%zu,"
                      "\"replays\":%zu,\"vacuous\":%s,\"vacuity\":",
                   r->ref_confirmed ? "true" : "false", r->n_checked, r->n_kinks, r->n_skipped,
                   r->n_replays, r->vacuous ? "true" : "false") < 0;
    bad |= jstr(f, r->vacuity) | (fputs(",\"notes\":", f) < 0) | jstr(f, r->notes);
    bad |= fputs(",\"coords\":[", f) < 0;
    for (size_t i = 0; i < r->n_coords; i++) {
        const ad_check_coord *c = &r->coords[i];
        if (c->node == AD_CHECK_DIRECTION)
            bad |= fprintf(f, "%s{\"direction\":%zu", i ? "," : "", c->element) < 0;
        else
            bad |= fprintf(f, "%s{\"node\":%zu,\"element\":%zu,\"x\":", i ? "," : "", c->node,
                           c->element) < 0 || jnum(f, c->x);
        const char *keys[] = {"engine", "fd", "fd_err", "ref", "ulps", "rel", "err_est"};
        const double vals[] = {c->engine, c->fd, c->fd_err, c->ref, c->ulps, c->rel, c->err_est};
        for (int q = 0; q < 7; q++)
            bad |= fprintf(f, ",\"%s\":", keys[q]) < 0 || jnum(f, vals[q]);
        bad |= fputs(",\"ref_str\":", f) < 0 || jstr(f, c->ref_str);
        bad |= fprintf(f, ",\"class\":\"%s\"", cls_str(c->cls)) < 0;
        if (c->has_kink) {
            bad |= fputs(",\"kink\":{\"op\":", f) < 0 || jstr(f, c->kink.op);
            bad |= fprintf(f, ",\"node\":%zu,\"element\":%zu,\"exactly_on\":%s,\"pinned\":%s,"
                              "\"left\":", c->kink.node, c->kink.element,
                           c->kink.exactly_on ? "true" : "false",
                           c->kink_pinned ? "true" : "false") < 0;
            bad |= jnum(f, c->kink.left) | (fputs(",\"right\":", f) < 0) | jnum(f, c->kink.right);
            bad |= fputc('}', f) == EOF;
        }
        bad |= fputc('}', f) == EOF;
    }
    bad |= fputs("]}\n", f) < 0;
    return bad ? AD_EIO : AD_OK;
}
