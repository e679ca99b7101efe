/* cmd_hunt.c - `adcheck hunt`: searches a box for inputs where the value or gradient is wrong, unstable or exploding. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ad/check.h>
#include "cli.h"
#include "json.h"
#include "ref_eval.h"

static const char help[] =
    "usage: adcheck hunt [--json] [--samples N] [--seed S] [--time SECONDS] [--explode G] EXPR NAME=LO:HI...\n"
    "\n"
    "Searches the box for inputs where the gradient is wrong or unstable: random\n"
    "points (uniform and log-magnitude), the box's corners and zero, every kink of\n"
    "the ops the expression uses and its neighbours, each variable's overflow\n"
    "threshold found by bisection, then a local search that climbs the error.\n"
    "Reports the worst forward and gradient ulp errors, NaN/Inf where the MPFR\n"
    "reference is finite, failed checks and exploding gradients, each with a\n"
    "command line that reproduces it. Deterministic for a seed.\n"
    "\n"
    "  --json           one JSON object (see the README)\n"
    "  --samples N      random points (default 200); the local search adds N/2\n"
    "  --seed S         seed (default 1)\n"
    "  --time SECONDS   stop after this long, even if unfinished (default: no limit)\n"
    "  --explode G      a gradient with |g| > G counts as exploding (default 1e10)\n"
    "\n"
    "Exit status 0 when nothing was found, 1 when a problem was found, 2 for a\n"
    "usage or expression error.\n";

/* A finding: its size and the point where it happened. */
typedef struct finding {
    bool found;
    double size;              /* ulps, or |g|                            */
    double *x;                /* one value per variable                  */
    char what[256];
} finding;

enum { F_FWD, F_GRAD, F_CHECK, F_NONFINITE, F_EXPLODE, F_COUNT };
static const char *const finding_key[F_COUNT] = {"forward", "gradient", "check_failed", "nonfinite",
                                                 "exploding"};
static const char *const finding_title[F_COUNT] = {
    "worst forward error", "worst gradient error", "gradient check failed",
    "NaN/Inf where the reference is finite", "exploding gradient"};

typedef struct hunt {
    const char *src_arg;      /* EXPR as given ("-" for stdin)            */
    expr e;
    expr_value *vals;
    size_t n;                 /* variables, all scalars                   */
    double *lo, *hi;
    ad_tape *t;
    expr_trace tr;
    ad_check_opts o;
    double explode;
    size_t evals;
    bool timed_out;
    double deadline;          /* seconds on the monotonic clock, 0: none  */
    finding f[F_COUNT];
    double *x;                /* scratch point                            */
} hunt;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void note(hunt *h, int kind, double size, const double *x, const char *what)
{
    finding *f = &h->f[kind];
    /* Keep the first of equals: later points do not displace it, so runs are stable. */
    if (f->found && !(size > f->size))
        return;
    f->found = true;
    f->size = size;
    memcpy(f->x, x, h->n * sizeof *x);
    snprintf(f->what, sizeof f->what, "%s", what);
}

/*
 * Evaluates and checks one point.
 * @return its score for the local search: the larger of the forward and
 *         gradient ulp errors, +inf for a failure; -1 when it could not run.
 */
static double probe(hunt *h, const double *x)
{
    if (h->deadline > 0 && now() > h->deadline) {
        h->timed_out = true;
        return -1;
    }
    h->evals++;
    for (size_t k = 0; k < h->n; k++)
        h->vals[k].data[0] = x[k];
    ad_tape_reset(h->t);
    ad_var y;
    expr_error err;
    if (!expr_eval_trace(&h->e, h->t, h->vals, h->n, &y, &h->tr, &err))
        return -1;
    double score = 0;
    char what[256];
    double v = ad_value_scalar(h->t, y);
    mpfr_t ref;
    mpfr_init2(ref, h->o.prec);
    char why[160];
    if (ref_eval(h->t, &h->tr, y, h->o.prec, ref, why, sizeof why)) {
        double u = ref_ulps(v, ref), r = mpfr_get_d(ref, MPFR_RNDN);
        if (isfinite(r) && !isfinite(v)) {
            snprintf(what, sizeof what, "the value is %g but the reference is %.17g", v, r);
            note(h, F_NONFINITE, INFINITY, x, what);
            score = INFINITY;
        } else if (!isnan(u)) {
            snprintf(what, sizeof what, "value %.17g, reference %.17g: %.3g ulp", v, r, u);
            note(h, F_FWD, u, x, what);
            score = fmax(score, u);
        }
    }
    mpfr_clear(ref);

    ad_check_report rep = {0};
    if (ad_check_grad(h->t, y, &h->o, &rep) != AD_OK)
        return score;
    for (size_t i = 0; i < rep.n_coords; i++) {
        const ad_check_coord *c = &rep.coords[i];
        const char *name = "?";
        for (size_t k = 0; k < h->n; k++)
            if (h->vals[k].var.index == c->node)
                name = h->vals[k].name;
        if (c->cls == AD_COORD_SKIPPED)
            continue;
        if (c->cls == AD_COORD_NAN_MISMATCH) {
            snprintf(what, sizeof what, "d/d%.64s is %g but the reference is %s", name, c->engine,
                     c->ref_str[0] ? c->ref_str : "finite");
            note(h, F_NONFINITE, INFINITY, x, what);
            score = INFINITY;
        } else if (c->cls == AD_COORD_MISMATCH || c->cls == AD_COORD_KINK_BAD) {
            snprintf(what, sizeof what, "d/d%.64s is %.17g, reference %s, fd %.17g (%s)", name, c->engine,
                     c->ref_str[0] ? c->ref_str : "-", c->fd,
                     c->cls == AD_COORD_KINK_BAD ? "outside the one-sided derivatives at a kink" : "mismatch");
            note(h, F_CHECK, isnan(c->ulps) ? INFINITY : c->ulps, x, what);
            score = INFINITY;
        } else if (!c->has_kink && !isnan(c->ulps)) {
            snprintf(what, sizeof what, "d/d%.64s is %.17g, reference %s: %.3g ulp", name, c->engine,
                     c->ref_str, c->ulps);
            note(h, F_GRAD, c->ulps, x, what);
            score = fmax(score, c->ulps);
        }
        double g = fabs(c->engine);
        if (g > h->explode || (isinf(c->engine) && isfinite(c->ref))) {
            snprintf(what, sizeof what, "|d/d%.64s| = %g exceeds %g", name, g, h->explode);
            note(h, F_EXPLODE, g, x, what);
        }
    }
    ad_check_report_free(&rep);
    return score;
}

/* A random point: each coordinate uniform, or log-uniform in magnitude so that
 * tiny and huge values get their share (the box is searched on every scale). */
static void random_point(hunt *h, cli_rng *r, bool log_mag, double *x)
{
    for (size_t k = 0; k < h->n; k++) {
        double lo = h->lo[k], hi = h->hi[k];
        if (!log_mag) {
            x[k] = lo + (hi - lo) * cli_rng_unit(r);
        } else {
            double big = fmax(fabs(lo), fabs(hi));
            double e_hi = log2(big), e_lo = fmax(-1074.0, e_hi - 200.0);
            if (lo > 0 || hi < 0)
                e_lo = log2(fmin(fabs(lo), fabs(hi)));
            double mag = exp2(e_lo + (e_hi - e_lo) * cli_rng_unit(r));
            double sign = lo >= 0 ? 1 : hi <= 0 ? -1 : (cli_rng_next(r) & 1 ? 1 : -1);
            x[k] = fmin(hi, fmax(lo, sign * mag));
        }
        x[k] = x[k] < lo ? lo : x[k] > hi ? hi : x[k];
    }
}

static bool in_box(const hunt *h, size_t k, double v) { return v >= h->lo[k] && v <= h->hi[k]; }

/* Points each variable alone moves to, the others at the box's middle: the
 * edges, zero, +-1, every kink of a registered op the program uses and its
 * neighbours one ulp away, and the overflow threshold found by bisection. */
static void special_points(hunt *h)
{
    double *mid = malloc(h->n * sizeof *mid);
    if (!mid)
        return;
    for (size_t k = 0; k < h->n; k++)
        mid[k] = in_box(h, k, 0.0) ? 0.0 : 0.5 * h->lo[k] + 0.5 * h->hi[k];
    probe(h, mid);
    for (size_t k = 0; k < h->n && !h->timed_out; k++) {
        double cand[3 * 16 + 8];
        size_t m = 0;
        cand[m++] = h->lo[k], cand[m++] = h->hi[k], cand[m++] = 0, cand[m++] = 1, cand[m++] = -1;
        cand[m++] = DBL_MIN, cand[m++] = -DBL_MIN;
        for (size_t s = 0; s < h->tr.n && m + 3 <= sizeof cand / sizeof cand[0]; s++) {
            const ad_op *op = h->tr.steps[s].op;
            for (unsigned q = 0; q < op->n_kinks && m + 3 <= sizeof cand / sizeof cand[0]; q++) {
                double at = op->kinks[q].at;
                cand[m++] = at, cand[m++] = nextafter(at, -INFINITY), cand[m++] = nextafter(at, INFINITY);
            }
        }
        for (size_t c = 0; c < m; c++) {
            if (!in_box(h, k, cand[c]))
                continue;
            memcpy(h->x, mid, h->n * sizeof *mid);
            h->x[k] = cand[c];
            probe(h, h->x);
        }
        /* Overflow threshold: bisect between a finite value and a non-finite edge. */
        for (int side = 0; side < 2 && !h->timed_out; side++) {
            double a = mid[k], b = side ? h->hi[k] : h->lo[k];
            memcpy(h->x, mid, h->n * sizeof *mid);
            ad_tape_reset(h->t);
            h->x[k] = b;
            for (size_t q = 0; q < h->n; q++)
                h->vals[q].data[0] = h->x[q];
            ad_var y;
            expr_error err;
            if (!expr_eval(&h->e, h->t, h->vals, h->n, &y, &err) || isfinite(ad_value_scalar(h->t, y)))
                continue;
            for (int it = 0; it < 80 && a != b; it++) {
                double c = 0.5 * a + 0.5 * b;
                if (c == a || c == b)
                    break;
                h->vals[k].data[0] = c;
                ad_tape_reset(h->t);
                if (!expr_eval(&h->e, h->t, h->vals, h->n, &y, &err))
                    break;
                if (isfinite(ad_value_scalar(h->t, y)))
                    a = c;
                else
                    b = c;
            }
            h->x[k] = a;
            probe(h, h->x);
            h->x[k] = b;
            probe(h, h->x);
        }
    }
    free(mid);
}

/* Hill climbing from the worst point so far: move one coordinate by a
 * relative step, keep the move when the error grows, shrink the step when no
 * move helps (the way floating-point error hunters climb toward bad inputs). */
static void local_search(hunt *h, cli_rng *r, size_t budget)
{
    const finding *start = h->f[F_GRAD].found && h->f[F_GRAD].size >= h->f[F_FWD].size ? &h->f[F_GRAD]
                           : h->f[F_FWD].found                                        ? &h->f[F_FWD]
                                                                                      : NULL;
    if (!start || h->n == 0)
        return;
    double *cur = malloc(h->n * sizeof *cur);
    if (!cur)
        return;
    memcpy(cur, start->x, h->n * sizeof *cur);
    double best = start->size, step = 1e-2;
    for (size_t it = 0; it < budget && !h->timed_out && step > 1e-17; it++) {
        size_t k = cli_rng_next(r) % h->n;
        memcpy(h->x, cur, h->n * sizeof *cur);
        double dx = step * fmax(fabs(cur[k]), DBL_MIN) * (2 * cli_rng_unit(r) - 1);
        h->x[k] = fmin(h->hi[k], fmax(h->lo[k], cur[k] + dx));
        double s = probe(h, h->x);
        if (s > best) {
            best = s;
            memcpy(cur, h->x, h->n * sizeof *cur);
        } else if (it % (4 * h->n) == 4 * h->n - 1) {
            step *= 0.1;
        }
    }
    free(cur);
}

/* "adcheck grad 'EXPR' x=0x1.8p+1 ..." with exact hex floats. */
static void reproducer(const hunt *h, const double *x, char *buf, size_t len)
{
    char q[512];
    size_t at = 0;
    /* An expression from stdin, or too long to quote, is read from stdin again. */
    const char *src = strcmp(h->src_arg, "-") == 0 ? NULL : cli_shell_quote(h->e.src, q, sizeof q);
    if (!src)
        src = "-";
    int m = snprintf(buf, len, "adcheck grad %s", src);
    at = m > 0 ? (size_t)m : 0;
    for (size_t k = 0; k < h->n && at < len; k++) {
        m = snprintf(buf + at, len - at, " %s=%a", h->vals[k].name, x[k]);
        at += m > 0 ? (size_t)m : 0;
    }
}

static void print_text(const hunt *h, FILE *f)
{
    char rep[1024];
    fprintf(f, "hunted %zu points%s\n", h->evals, h->timed_out ? " (stopped by --time)" : "");
    for (int k = 0; k < F_COUNT; k++) {
        const finding *fd = &h->f[k];
        if (!fd->found) {
            if (k >= F_CHECK)
                fprintf(f, "%s: none found\n", finding_title[k]);
            continue;
        }
        fprintf(f, "%s: %s\n  at", finding_title[k], fd->what);
        for (size_t q = 0; q < h->n; q++)
            fprintf(f, " %s=%.17g", h->vals[q].name, fd->x[q]);
        reproducer(h, fd->x, rep, sizeof rep);
        fprintf(f, "\n  reproduce: %s\n", rep);
    }
}

static void print_json(const hunt *h, FILE *f)
{
    json j;
    char rep[1024];
    json_init(&j, f);
    json_obj_begin(&j);
    json_kstr(&j, "expr", h->e.src);
    json_kuint(&j, "points", h->evals);
    json_kbool(&j, "timed_out", h->timed_out);
    json_kuint(&j, "seed", h->o.seed);
    bool problem = false;
    for (int k = F_CHECK; k < F_COUNT; k++)
        problem |= h->f[k].found;
    json_kbool(&j, "problem", problem);
    for (int k = 0; k < F_COUNT; k++) {
        const finding *fd = &h->f[k];
        json_key(&j, finding_key[k]);
        if (!fd->found) {
            json_null(&j);
            continue;
        }
        json_obj_begin(&j);
        json_knum(&j, k == F_EXPLODE ? "abs_gradient" : "ulps", fd->size);
        json_kstr(&j, "what", fd->what);
        json_key(&j, "at");
        json_obj_begin(&j);
        for (size_t q = 0; q < h->n; q++)
            json_knum(&j, h->vals[q].name, fd->x[q]);
        json_obj_end(&j);
        reproducer(h, fd->x, rep, sizeof rep);
        json_kstr(&j, "reproduce", rep);
        json_obj_end(&j);
    }
    json_obj_end(&j);
}

/* NAME=LO:HI */
static bool parse_box(const char *arg, expr_value *v, double *lo, double *hi)
{
    const char *eq = strchr(arg, '='), *colon = eq ? strchr(eq, ':') : NULL;
    if (!colon) {
        fprintf(stderr, "adcheck hunt: error: '%.60s' is not NAME=LO:HI\n", arg);
        return false;
    }
    size_t n = (size_t)(colon - arg);
    char *a = malloc(strlen(arg) + 1);
    if (!a)
        return false;
    memcpy(a, arg, n);
    a[n] = '\0';
    expr_error err;
    bool ok = expr_value_parse(a, v, &err);
    if (ok && v->is_vector) {
        snprintf(err.msg, sizeof err.msg, "hunt takes scalar variables only");
        err.has_pos = false;
        expr_value_free(v);
        ok = false;
    }
    if (ok) {
        *lo = v->data[0];
        snprintf(a, strlen(arg) + 1, "%.*s=%s", (int)(eq - arg), arg, colon + 1);
        expr_value hv;
        ok = expr_value_parse(a, &hv, &err);
        if (ok) {
            *hi = hv.data[0];
            if (hv.is_vector || !(isfinite(*lo) && isfinite(*hi) && *lo <= *hi)) {
                snprintf(err.msg, sizeof err.msg, "the box of '%s' must be finite numbers LO <= HI", v->name);
                err.has_pos = false;
                ok = false;
            }
            expr_value_free(&hv);
        }
        if (!ok)
            expr_value_free(v);
    }
    if (!ok)
        expr_error_print(a, strlen(a), &err, stderr);
    free(a);
    return ok;
}

static void hunt_free(hunt *h)
{
    for (size_t k = 0; k < h->n; k++)
        expr_value_free(&h->vals[k]);
    for (int k = 0; k < F_COUNT; k++)
        free(h->f[k].x);
    free(h->vals), free(h->lo), free(h->hi), free(h->x);
    expr_trace_free(&h->tr);
    ad_tape_free(h->t);
    expr_free(&h->e);
}

int cmd_hunt(int argc, char **argv)
{
    cli_args a = {.cmd = "hunt", .argc = argc, .argv = argv, .at = 1};
    hunt h = {.o = ad_check_opts_default(), .explode = 1e10};
    bool as_json = false;
    uint64_t samples = 200;
    double seconds = 0;
    while (cli_next_opt(&a)) {
        const char *val;
        if (cli_is(&a, "--help") || cli_is(&a, "-h"))
            return fputs(help, stdout), EXIT_PASS;
        else if (cli_is(&a, "--json"))
            as_json = true;
        else if (cli_is(&a, "--samples")) {
            if (!(val = cli_value(&a)) || !cli_uint(&a, val, 0, 100000000, &samples))
                return EXIT_USAGE;
        } else if (cli_is(&a, "--seed")) {
            if (!(val = cli_value(&a)) || !cli_uint(&a, val, 0, UINT64_MAX, &h.o.seed))
                return EXIT_USAGE;
        } else if (cli_is(&a, "--time")) {
            if (!(val = cli_value(&a)) || !cli_double(&a, val, 0.001, 1e7, &seconds))
                return EXIT_USAGE;
        } else if (cli_is(&a, "--explode")) {
            if (!(val = cli_value(&a)) || !cli_double(&a, val, 1.0, DBL_MAX, &h.explode))
                return EXIT_USAGE;
        } else {
            return cli_usage(a.cmd, "unknown option '%.40s'", a.opt);
        }
    }
    if (a.n_pos < 1)
        return cli_usage(a.cmd, "needs an expression (EXPR, or '-' to read it from standard input)");
    h.src_arg = argv[1];
    h.n = (size_t)(a.n_pos - 1);
    h.vals = calloc(h.n + 1, sizeof *h.vals);
    h.lo = calloc(h.n + 1, sizeof *h.lo);
    h.hi = calloc(h.n + 1, sizeof *h.hi);
    h.x = calloc(h.n + 1, sizeof *h.x);
    for (int k = 0; k < F_COUNT; k++)
        h.f[k].x = calloc(h.n + 1, sizeof *h.x);
    if (!h.vals || !h.lo || !h.hi || !h.x || !h.f[F_COUNT - 1].x) {
        fputs("adcheck hunt: out of memory\n", stderr);
        h.n = 0;
        hunt_free(&h);
        return EXIT_CHECK_FAILED;
    }
    size_t given = 0;
    int rc = EXIT_USAGE;
    for (; given < h.n; given++) {
        if (!parse_box(argv[2 + given], &h.vals[given], &h.lo[given], &h.hi[given]))
            break;
        for (size_t q = 0; q < given; q++)
            if (strcmp(h.vals[q].name, h.vals[given].name) == 0) {
                fprintf(stderr, "adcheck: error: the variable '%s' is given twice\n", h.vals[given].name);
                expr_value_free(&h.vals[given]);
                goto out;
            }
    }
    if (given < h.n)
        goto out;
    if (!cli_parse_expr(a.cmd, h.src_arg, &h.e))
        goto out;
    h.t = ad_tape_new(NULL);
    /* First evaluation at the box's middle: expression errors are usage errors. */
    for (size_t k = 0; k < h.n; k++)
        h.vals[k].data[0] = 0.5 * h.lo[k] + 0.5 * h.hi[k];
    ad_var y;
    expr_error err;
    if (!expr_eval_trace(&h.e, h.t, h.vals, h.n, &y, &h.tr, &err)) {
        expr_error_print(h.e.src, h.e.len, &err, stderr);
        goto out;
    }
    h.o.fast_above = 0;
    h.deadline = seconds > 0 ? now() + seconds : 0;
    cli_rng rng = {h.o.seed};
    bool progress = cli_progress();
    special_points(&h);
    for (uint64_t s = 0; s < samples && !h.timed_out; s++) {
        random_point(&h, &rng, s % 2 == 1, h.x);
        probe(&h, h.x);
        if (progress && s % 16 == 0)
            fprintf(stderr, "\rhunt: %llu/%llu random points", (unsigned long long)s, (unsigned long long)samples);
    }
    local_search(&h, &rng, (size_t)(samples / 2));
    if (progress)
        fprintf(stderr, "\r%60s\r", "");
    if (as_json)
        print_json(&h, stdout);
    else
        print_text(&h, stdout);
    rc = EXIT_PASS;
    for (int k = F_CHECK; k < F_COUNT; k++)
        if (h.f[k].found)
            rc = EXIT_CHECK_FAILED;
out:
    h.n = given < h.n ? given : h.n;
    hunt_free(&h);
    return rc;
}
