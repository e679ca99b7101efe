/* check.c - ad_check_grad: runs the witnesses over every coordinate (or random
 * directions), judges each, sorts worst first and says when nothing was proved. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_int.h"

/* Above this many coordinates a failed fast check localizes by FD only: an
 * MPFR derivative per coordinate costs four replays of the whole tape. */
#define MPFR_LOCALIZE_MAX 256
/* Normwise floor: cancellation in a sum leaves small gradient entries with an
 * absolute error near eps times the largest entry, not a relative one. */
#define NORMWISE_EPS 64.0
/* Two MPFR runs agree when within 2^-80 relative: far beyond double. */
#define CONFIRM_BITS 80

typedef struct run {
    ad__ctx c;
    ad__mp m1, m2;          /* at prec and at prec * 3 / 2           */
    bool mp;                /* the replay is available               */
    bool mp_missing;        /* an op had no reference (or it failed) */
    ad_check_opts o;
    ad_check_report *r;
    double max_ulps;
    ad__pins pins;          /* kink elements pinned for the replay (pin.c) */
    ad__cond cond;          /* rounding error estimates (cond.c)      */
    bool cond_ok;
    bool jump_known;        /* jump below is computed (once, when needed) */
    size_t jump;            /* a node that jumped (singular.c), or SIZE_MAX */
} run;

ad_check_opts ad_check_opts_default(void)
{
    return AD_CHECK_DEFAULTS;
}

static void note(ad_check_report *r, const char *s)
{
    size_t n = strlen(r->notes);
    if (strstr(r->notes, s))
        return;
    snprintf(r->notes + n, sizeof r->notes - n, "%s%s", n ? "; " : "", s);
}

/* The MPFR derivative along u or coordinate k at both precisions; writes
 * ref and ref_str, the ulps of engine; false when the replay cannot run
 * (an op without reference: the whole replay is off) or this entry is
 * inconclusive (the difference cancels at every precision, or every step
 * leaves the domain: skipped, the notes say why). */
static bool mp_derivative(run *s, const double *u, size_t k, ad_check_coord *co)
{
    mpfr_t d1, d2, diff;
    mpfr_inits2(s->m2.prec, d1, d2, diff, (mpfr_ptr)0);
    double hint = fabs(co->engine);
    int rc = ad__mp_central(&s->m1, u, k, hint, d1);
    if (rc == 0)
        rc = ad__mp_central(&s->m2, u, k, hint, d2);
    bool ok = rc == 0;
    if (rc == AD__MP_NOREF) {
        note(s->r, s->m1.note[0] ? s->m1.note : s->m2.note);
        s->mp = false;
        s->mp_missing = true;
    } else if (rc) {
        note(s->r, s->m1.note[0] ? s->m1.note : s->m2.note);
        co->cls = AD_COORD_SKIPPED;
        snprintf(co->ref_str, sizeof co->ref_str, "%s",
                 rc == AD__MP_UNDEFINED ? "undefined" : "cancels");
    } else {
        mpfr_sub(diff, d1, d2, MPFR_RNDN);
        mpfr_abs(diff, diff, MPFR_RNDN);
        mpfr_mul_2si(diff, diff, CONFIRM_BITS, MPFR_RNDN);
        bool same = mpfr_nan_p(d1) ? mpfr_nan_p(d2)
                                   : (mpfr_equal_p(d1, d2) || mpfr_cmpabs(diff, d2) <= 0);
        if (!same) {
            s->r->ref_confirmed = false;
            note(s->r, "the MPFR reference is unconfirmed: the run at higher precision disagrees");
        }
        co->ref = mpfr_get_d(d2, MPFR_RNDN);
        ad__mp_str(d2, co->ref_str, sizeof co->ref_str);
        co->ulps = ad__ulps(co->engine, d2);
        co->rel = fabs(co->engine - co->ref) / fabs(co->ref);
    }
    mpfr_clears(d1, d2, diff, (mpfr_ptr)0);
    return ok;
}

/* A coordinate whose step met a kink while the replay pins every kink
 * element: the reference is the pinned replay's derivative (judged like a
 * smooth one), the loss's one-sided derivatives (unpinned) are reported. */
static void pinned_kink(run *s, const double *u, size_t k, const ad__fd *fd, ad_check_coord *co)
{
    const ad__node *n = &s->c.t->nodes[fd->knode];
    co->has_kink = co->kink_pinned = true;
    co->kink.op = n->op->name;
    co->kink.node = fd->knode;
    co->kink.element = fd->kelem;
    co->kink.exactly_on = s->c.piece0[fd->knode][fd->kelem] == AD_PIECE_KINK;
    co->kink.left = co->kink.right = NAN;
    if (!mp_derivative(s, u, k, co)) {
        if (co->cls != AD_COORD_SKIPPED) { /* no replay after all: the FD hull */
            co->kink_pinned = false;
            co->cls = ad__kink_judge(&s->c, NULL, u, k, fd, s->max_ulps, co);
        }
        return;
    }
    mpfr_t l, r;
    mpfr_inits2(s->m1.prec, l, r, (mpfr_ptr)0);
    s->m1.unpinned = true;
    if (ad__mp_sided(&s->m1, u, k, fabs(co->engine), 0, l, r) == 0) {
        co->kink.left = mpfr_get_d(l, MPFR_RNDN);
        co->kink.right = mpfr_get_d(r, MPFR_RNDN);
    }
    s->m1.unpinned = false;
    mpfr_clears(l, r, (mpfr_ptr)0);
}

/* Runs the witnesses on one coordinate (u NULL) or direction u; the verdict
 * that needs every coordinate (the normwise floor) comes later in judge(). */
static void measure(run *s, const double *u, size_t k, ad_check_coord *co)
{
    co->fd = co->fd_err = co->ref = co->ulps = co->rel = NAN;
    co->cls = AD_COORD_OK;
    if (!isfinite(u ? s->c.xmax : co->x) || (u && !isfinite(co->engine) && !isnan(co->engine))) {
        co->cls = AD_COORD_SKIPPED;
        return;
    }
    if (s->mp && s->cond_ok) /* a stiff node or a nearby kink: a shorter replay step */
        s->m1.step_cap = s->m2.step_cap = ad__cond_step_cap(&s->cond, u, k);
    ad__fd fd;
    ad__fd_run(&s->c, u, k, &fd); /* always: its evaluations also find kinks */
    if (s->o.fd) {
        co->fd = fd.d;
        co->fd_err = fd.err;
    }
    if (fd.kink && s->mp && s->pins.n && !s->pins.n_unpinned) {
        pinned_kink(s, u, k, &fd, co);
        return;
    }
    if (fd.kink && s->mp && s->pins.n_unpinned > 1) {
        /* the loss's one-sided derivatives do not bound several kinks at once */
        char msg[160];
        snprintf(msg, sizeof msg,
                 "not judged at kinks: %zu elements of ops that cannot be pinned sit on kinks "
                 "(first: op '%s', node %zu)", s->pins.n_unpinned,
                 s->c.t->nodes[s->pins.unpinned_node].op->name, s->pins.unpinned_node);
        note(s->r, msg);
        co->cls = AD_COORD_SKIPPED;
        return;
    }
    if (fd.kink) {
        /* the replay pins every kink element but one: the one-sided values
         * it gives are that element's, so that is the kink judged (the step
         * may have met a pinned one first: relu6 at 0 under an l1_loss at 0) */
        if (s->mp && s->pins.n_unpinned == 1 && ad__pins_has(&s->pins, fd.knode, fd.kelem)) {
            fd.knode = s->pins.unpinned_node;
            fd.kelem = s->pins.unpinned_elem;
        }
        co->cls = ad__kink_judge(&s->c, s->mp ? &s->m1 : NULL, u, k, &fd, s->max_ulps, co);
        if (co->cls == AD_COORD_SKIPPED) { /* the replay cannot tell: why is in its note */
            note(s->r, s->m1.note);
            return;
        }
        snprintf(co->ref_str, sizeof co->ref_str, "%.21g", co->ref);
        co->ulps = fabs(co->engine - co->ref) / ad__ulp_of(co->ref); /* to the nearest hull point */
        co->rel = fabs(co->engine - co->ref) / fabs(co->ref);
        return;
    }
    if (s->mp)
        mp_derivative(s, u, k, co);
}

static bool finite_xor(double a, double b)
{
    return isfinite(a) != isfinite(b);
}

/* The rounding error estimate of entry co (u, k as in measure), computed
 * only when a verdict needs it: it costs a tangent sweep of the tape. */
static double est(run *s, const double *u, size_t k, ad_check_coord *co)
{
    if (co->err_est == 0.0 && s->cond_ok)
        co->err_est = ad__cond_err(&s->cond, u, k);
    return co->err_est;
}

/* The verdict of one measured entry (u, k as in measure); mag: the normwise scale. */
static void judge_entry(run *s, const double *u, size_t k, ad_check_coord *co, double mag)
{
    ad_check_report *r = s->r;
    if (co->cls == AD_COORD_SKIPPED) {
        r->n_skipped++;
        return;
    }
    r->n_checked++;
    if (co->has_kink && !co->kink_pinned) {
        r->n_kinks++;
        /* The hull's ends are MPFR values; the engine's chain rounds like any
         * other entry's: allow what rounding alone can do (cond.c), e.g. an
         * expm1 chain behind a prelu kink, 447 ulps in a 1e52 gradient. */
        if (co->cls == AD_COORD_KINK_BAD && isfinite(co->ref) && isfinite(co->engine) &&
            fabs(co->engine - co->ref) <= AD__TOL_EST * est(s, u, k, co))
            co->cls = AD_COORD_KINK_OK;
        if (co->cls != AD_COORD_KINK_OK)
            (s->mp ? &r->mpfr : &r->fd)->pass = false;
        return;
    }
    double e = co->engine;
    ad_coord_class fd_cls = AD_COORD_OK;
    double fd_rel = 0.0;
    /* across a kink the double FD mixes pieces: only the pinned replay judges */
    if (!isnan(co->fd) && !co->has_kink) {
        double err = fabs(e - co->fd);
        double tol = s->o.rtol > 0 || s->o.atol > 0
                         ? s->o.atol + s->o.rtol * fabs(co->fd)
                         : 2.0 * co->fd_err + 16.0 * DBL_EPSILON * fabs(e);
        fd_rel = err / fmax(fabs(co->fd), DBL_MIN);
        if (finite_xor(e, co->fd))
            fd_cls = AD_COORD_NAN_MISMATCH;
        else if (isfinite(e) && !(err <= tol) &&
                 (s->o.rtol > 0 || s->o.atol > 0 || !(err <= tol + AD__TOL_EST * est(s, u, k, co))))
            fd_cls = AD_COORD_MISMATCH;
    }
    bool mp_ran = !isnan(co->ulps) || !isnan(co->ref), mp_bad = false;
    if (mp_ran) {
        /* the larger of: max_ulps, the normwise floor, and what rounding
         * alone can do in this program (cond.c) */
        double floor = NORMWISE_EPS * DBL_EPSILON * mag;
        /* one side beyond DBL_MAX, the other not, where rounding alone can move
         * the engine by DBL_MAX (sin of an argument rounded by more than pi,
         * its derivative 1.5e308 against MPFR's 2e308): nothing can be shown */
        bool bad_nan = isnan(e) != isnan(co->ref) ||
                       (finite_xor(e, co->ref) && !(AD__TOL_EST * est(s, u, k, co) >= DBL_MAX));
        if (bad_nan) {
            co->cls = AD_COORD_NAN_MISMATCH;
            mp_bad = true;
        } else if (!(co->ulps <= s->max_ulps || fabs(e - co->ref) <= floor ||
                     fabs(e - co->ref) <= AD__TOL_EST * est(s, u, k, co))) {
            co->cls = AD_COORD_MISMATCH;
            mp_bad = true;
        }
        if (co->kink_pinned) {
            r->n_kinks++;
            if (s->pins.bad < s->pins.n)
                mp_bad = true; /* a kink's local slope is no subgradient: note in check */
            co->cls = mp_bad ? AD_COORD_KINK_BAD : AD_COORD_KINK_OK;
        }
        if (mp_bad)
            r->mpfr.pass = false;
        if (co->ulps > r->mpfr.max_error)
            r->mpfr.max_error = co->ulps;
    }
    /* Finite differences see only the double program: where it is flat or
     * rounded (log(1 + exp(-30)), a subnormal slope) they read 0 while the
     * gradient is not. A confirmed MPFR reference that agrees with the engine
     * outranks them there; the report says so instead of failing. */
    if (fd_cls != AD_COORD_OK && mp_ran && !mp_bad && r->ref_confirmed) {
        co->fd_overruled = true;
        r->n_fd_overruled++;
        note(r, "finite differences disagree where the confirmed MPFR reference agrees with the "
                "engine: the double program is flat or rounded there");
        return;
    }
    if (fd_cls != AD_COORD_OK) {
        if (co->cls == AD_COORD_OK)
            co->cls = fd_cls;
        r->fd.pass = false;
    }
    if (isfinite(e) && isfinite(co->fd) && fd_rel > r->fd.max_error)
        r->fd.max_error = fd_rel;
}

/* judge_entry, except that a disagreement on an entry that moves a singular
 * element (singular.c: an op whose local derivative is not finite there, so
 * the chain rule meets 0 * inf), or on any entry where an element jumped
 * (its double value is not the exact one: ad__jump_find), is not judged:
 * skipped, the notes name it. */
static void judge(run *s, const double *u, size_t k, ad_check_coord *co, double mag)
{
    ad_check_report *r = s->r;
    ad_check_witness fd0 = r->fd, mp0 = r->mpfr;
    size_t kinks0 = r->n_kinks;
    judge_entry(s, u, k, co, mag);
    bool bad = co->cls == AD_COORD_MISMATCH || co->cls == AD_COORD_KINK_BAD ||
               co->cls == AD_COORD_NAN_MISMATCH;
    if (!bad)
        return;
    bool reached = ad__singular_reached(&s->c, u, k);
    if (!reached && s->mp && !s->jump_known) {
        s->jump = ad__jump_find(&s->c, &s->m1);
        s->jump_known = true;
    }
    if (!reached && (!s->jump_known || s->jump == SIZE_MAX))
        return;
    r->fd = fd0;
    r->mpfr = mp0;
    r->n_kinks = kinks0;
    r->n_checked--;
    r->n_skipped++;
    co->cls = AD_COORD_SKIPPED;
    snprintf(co->ref_str, sizeof co->ref_str, "singular");
    size_t at = reached ? s->c.singular : s->jump;
    const ad__node *n = &s->c.t->nodes[at];
    char msg[240];
    if (reached)
        snprintf(msg, sizeof msg,
                 "not judged where the chain rule does not hold: op '%s' (node %zu) has an infinite "
                 "or NaN derivative at finite values (0 * inf)", n->op->name, at);
    else
        snprintf(msg, sizeof msg,
                 "not judged: op '%s' (node %zu) jumped, its input rounded across a point where "
                 "it jumps, so its value in double is not the exact one",
                 n->op->name, at);
    note(r, msg);
}

static double badness(const ad_check_coord *c)
{
    bool fail = c->cls == AD_COORD_MISMATCH || c->cls == AD_COORD_KINK_BAD ||
                c->cls == AD_COORD_NAN_MISMATCH;
    double e = !isnan(c->ulps) ? c->ulps
               : !isnan(c->fd) ? fabs(c->engine - c->fd) / fmax(fabs(c->fd), DBL_MIN) / DBL_EPSILON
                               : 0.0;
    if (isnan(e))
        e = INFINITY;
    if (!fail)
        return fmin(e, 1e299);
    return (c->node == AD_CHECK_DIRECTION ? 1e300 : 2e300) + fmin(e, 1e299);
}

static int worst_first(const void *a, const void *b)
{
    double x = badness(a), y = badness(b);
    return x < y ? 1 : x > y ? -1 : 0;
}

static void coord_init(const run *s, size_t k, ad_check_coord *co)
{
    size_t l = 0;
    while (s->c.off[l + 1] <= k)
        l++;
    memset(co, 0, sizeof *co);
    co->node = s->c.leaf[l];
    co->element = k - s->c.off[l];
    co->x = s->c.x[k];
    co->engine = s->c.g[k];
}

/* Per coordinate: measure all, then judge with the normwise scale max |ref|. */
static void per_coordinate(run *s, ad_check_coord *co)
{
    size_t n = s->c.n_coords;
    double mag = 0.0;
    for (size_t k = 0; k < n; k++) {
        coord_init(s, k, &co[k]);
        measure(s, NULL, k, &co[k]);
        double m = isfinite(co[k].ref) ? fabs(co[k].ref) : 0.0;
        mag = fmax(mag, m);
    }
    for (size_t k = 0; k < n; k++)
        judge(s, NULL, k, &co[k], mag);
}

/* Fast mode: random directions u, <g, u> against the witnesses along u.
 * @return true when every direction passed. */
static bool directions(run *s, ad_check_coord *co, double *u, ad_rng *rng)
{
    for (unsigned d = 0; d < s->o.n_directions; d++) {
        long double eng = 0.0L, mag = 0.0L;
        for (size_t j = 0; j < s->c.n_coords; j++) {
            u[j] = ad__rng_range(rng, -1.0, 1.0);
            eng += (long double)s->c.g[j] * u[j];
            mag += fabsl((long double)s->c.g[j] * u[j]);
        }
        memset(&co[d], 0, sizeof co[d]);
        co[d].node = AD_CHECK_DIRECTION;
        co[d].element = d;
        co[d].x = NAN;
        co[d].engine = (double)eng;
        measure(s, u, 0, &co[d]);
        judge(s, u, 0, &co[d], (double)mag);
    }
    return s->r->fd.pass && s->r->mpfr.pass;
}

static void vacuity(ad_check_report *r)
{
    if (r->n_checked == 0) {
        r->vacuous = true;
        snprintf(r->vacuity, sizeof r->vacuity, "no coordinate was checked (%zu skipped)",
                 r->n_skipped);
        return;
    }
    for (size_t i = 0; i < r->n_coords; i++) {
        const ad_check_coord *c = &r->coords[i];
        if (c->cls == AD_COORD_SKIPPED)
            continue;
        if (c->engine != 0.0 || (!isnan(c->fd) && c->fd != 0.0) || (!isnan(c->ref) && c->ref != 0.0))
            return;
    }
    r->vacuous = true;
    snprintf(r->vacuity, sizeof r->vacuity,
             "the gradient and every witness are exactly 0 at all %zu checked coordinates",
             r->n_checked);
}

/* Nodes above this many input elements are not re-checked one by one. */
#define BLAME_MAX_ELEMENTS 1024

/* A gradient failed: re-check each op node alone at its recorded inputs
 * against its declared bounds, and name the first one whose forward,
 * backward or tangent is wrong (the program's gradient only says where). */
static void blame(run *s)
{
    const ad_tape *t = s->c.t;
    for (size_t i = 0; i <= s->c.last; i++) {
        const ad__node *n = &t->nodes[i];
        if (n->kind != AD__NODE_OP || !n->needs_grad)
            continue;
        size_t total = 0;
        ad_shape xs[AD_MAX_ARITY];
        const double *x[AD_MAX_ARITY];
        for (unsigned k = 0; k < n->n_in; k++) {
            xs[k] = *t->nodes[n->in[k]].shape;
            x[k] = t->nodes[n->in[k]].val;
            total += t->nodes[n->in[k]].count;
        }
        if (total > BLAME_MAX_ELEMENTS)
            continue;
        ad_op_report o;
        if (ad__op_check_at(n->op, n->attr, xs, x, s->o.prec, &o) == AD_OK && !o.pass) {
            char msg[sizeof s->r->notes];
            if (snprintf(msg, sizeof msg, "suspect node %zu: %s", i, o.first_failure) < 0)
                return;
            note(s->r, msg);
            return;
        }
    }
}

/* Names the first kink element whose local slope is no subgradient. */
static void pin_note(run *s)
{
    if (s->pins.bad >= s->pins.n)
        return;
    const ad__pin *p = &s->pins.p[s->pins.bad];
    const ad__node *n = &s->c.t->nodes[p->node];
    for (unsigned q = 0; q < n->n_in; q++) {
        if (p->s[q] >= p->lo[q] && p->s[q] <= p->hi[q])
            continue;
        char msg[200];
        snprintf(msg, sizeof msg,
                 "op '%s' (node %zu element %zu) on its kink: local derivative %.17g along input "
                 "%u, one-sided derivatives %.17g and %.17g",
                 n->op->name, p->node, p->elem, p->s[q], q, p->lo[q], p->hi[q]);
        note(s->r, msg);
        return;
    }
    note(s->r, "an op on its kink has a local derivative the MPFR reference cannot confirm");
}

static ad_status check_opts(ad_tape *t, const ad_check_opts *o)
{
    if (o->prec < 64 || o->prec > 4096)
        return ad__fail(t, AD_EINVAL, "ad_check_grad: prec must be 64 to 4096 bits, got %u", o->prec);
    if (!(o->rtol >= 0) || !(o->atol >= 0) || !(o->max_ulps >= 0) || isinf(o->rtol) ||
        isinf(o->atol) || isinf(o->max_ulps))
        return ad__fail(t, AD_EINVAL,
                        "ad_check_grad: rtol, atol and max_ulps must be finite and >= 0 "
                        "(got %g, %g, %g)", o->rtol, o->atol, o->max_ulps);
    if ((o->fast || o->fast_above) && o->n_directions == 0)
        return ad__fail(t, AD_EINVAL, "ad_check_grad: fast mode needs n_directions >= 1");
    if (!o->fd && !o->mpfr && !o->dot)
        return ad__fail(t, AD_EINVAL, "ad_check_grad: every witness is off (fd, mpfr, dot)");
    return AD_OK;
}

/* Allocates n entries for the report from the tape's allocator. */
static ad_status take_coords(run *s, size_t n)
{
    size_t bytes;
    if (!ad__mul_size(n ? n : 1, sizeof(ad_check_coord), &bytes))
        return ad__fail(s->c.t, AD_EOVERFLOW, "ad_check_grad: the report's size overflows");
    s->r->coords = ad__alloc(&s->c.t->alloc, bytes);
    if (!s->r->coords)
        return ad__fail(s->c.t, AD_ENOMEM, NULL);
    s->r->n_coords = n;
    s->r->cap_bytes = bytes;
    return AD_OK;
}

/* Per coordinate with MPFR while there are at most MPFR_LOCALIZE_MAX
 * coordinates, by finite differences alone beyond (the note says so). */
static void per_coordinate_bounded(run *s, ad_check_coord *co)
{
    if (s->mp && s->c.n_coords > MPFR_LOCALIZE_MAX) {
        note(s->r, "checked by finite differences only (too many coordinates for MPFR)");
        s->mp = false;
    }
    per_coordinate(s, co);
}

static bool gradient_finite(const run *s)
{
    for (size_t j = 0; j < s->c.n_coords; j++)
        if (!isfinite(s->c.g[j]))
            return false;
    return true;
}

static ad_status fast_check(run *s, ad_rng *rng)
{
    ad_check_report *r = s->r;
    size_t n_dir = s->o.n_directions, n = s->c.n_coords, bytes;
    if (!gradient_finite(s)) {
        /* an overflowed coordinate (inf where the truth is 2.5e308) is right,
         * but <g, u> is then inf or NaN where <true g, u> may be finite */
        note(r, "the gradient has infinite or NaN coordinates, which no direction can weigh: "
                "checked coordinate by coordinate");
        ad_status st = take_coords(s, n);
        if (st == AD_OK)
            per_coordinate_bounded(s, r->coords);
        return st;
    }
    if (!ad__mul_size(n, sizeof(double), &bytes))
        return ad__fail(s->c.t, AD_EOVERFLOW, "ad_check_grad: the direction's size overflows");
    double *u = ad__alloc(&s->c.t->alloc, bytes);
    ad_status st = u ? take_coords(s, n_dir + n) : ad__fail(s->c.t, AD_ENOMEM, NULL);
    if (st != AD_OK) {
        ad__free(&s->c.t->alloc, u, bytes);
        return st;
    }
    r->fast = true;
    bool ok = directions(s, r->coords, u, rng);
    ad__free(&s->c.t->alloc, u, bytes);
    if (ok) {
        r->n_coords = n_dir; /* the tail stays allocated, freed with the report */
        return AD_OK;
    }
    /* localize: the witness that failed, coordinate by coordinate */
    r->localized = true;
    if (s->mp && r->mpfr.pass)
        s->mp = false;
    per_coordinate_bounded(s, r->coords + n_dir);
    return AD_OK;
}

ad_status ad_check_grad(ad_tape *t, ad_var loss, const ad_check_opts *opts, ad_check_report *r)
{
    if (!t)
        return AD_EINVAL;
    if (!r)
        return ad__fail(t, AD_EINVAL, "ad_check_grad: the report is NULL");
    memset(r, 0, sizeof *r);
    r->alloc = t->alloc;
    if (t->status != AD_OK)
        return t->status;
    ad__node *ln = ad__resolve(t, loss, "ad_check_grad");
    if (!ln)
        return t->status;
    if (ln->count != 1 || ln->shape->rank != 0)
        return ad__fail(t, AD_ENOTSCALAR, "ad_check_grad: the loss (node %u) must be a scalar",
                        loss.index);
    run s;
    memset(&s, 0, sizeof s);
    s.o = opts ? *opts : ad_check_opts_default();
    s.r = r;
    ad_status st = check_opts(t, &s.o);
    if (st != AD_OK)
        return st;
    s.max_ulps = s.o.max_ulps > 0 ? s.o.max_ulps : 64.0;
    st = ad__ctx_init(&s.c, t, loss.index);
    if (st != AD_OK)
        return st;
    r->pass = r->ref_confirmed = true;
    r->fd = (ad_check_witness){s.o.fd, true, 0.0};
    r->mpfr = (ad_check_witness){s.o.mpfr, true, 0.0};
    if (s.o.mpfr) {
        unsigned p2 = s.o.prec + s.o.prec / 2;
        st = ad__mp_init(&s.m1, &s.c, s.o.prec);
        if (st == AD_OK)
            st = ad__mp_init(&s.m2, &s.c, p2);
        if (st != AD_OK)
            goto done;
        s.mp = true;
        st = ad__pins_build(&s.c, s.o.prec, &s.pins);
        if (st == AD_OK && s.pins.n)
            st = ad__mp_use_pins(&s.m1, &s.pins);
        if (st == AD_OK && s.pins.n)
            st = ad__mp_use_pins(&s.m2, &s.pins);
        if (st != AD_OK)
            goto done;
        pin_note(&s);
    }
    st = ad__cond_init(&s.c, &s.cond);
    if (st != AD_OK)
        goto done;
    s.cond_ok = true;
    ad_rng rng = ad_rng_make(s.o.seed);
    if (s.c.n_coords == 0) {
        st = take_coords(&s, 0);
        r->n_coords = 0;
    } else if (s.o.fast || (s.o.fast_above && s.c.n_coords > s.o.fast_above)) {
        st = fast_check(&s, &rng);
    } else {
        st = take_coords(&s, s.c.n_coords);
        if (st == AD_OK)
            per_coordinate(&s, r->coords);
    }
    if (st == AD_OK && (s.m1.oom || s.m2.oom))
        st = ad__fail(t, AD_ENOMEM, NULL);
    if (st != AD_OK)
        goto done;
    if (s.mp_missing) { /* the replay could not run: said in the notes */
        r->mpfr.ran = false;
        r->ref_confirmed = false;
    }
    if (s.o.dot && s.c.n_coords) {
        char why[200] = "";
        st = ad__dot_test(&s.c, s.cond_ok ? &s.cond : NULL, &rng,
                          s.o.n_directions ? s.o.n_directions : 2, &r->dot, why,
                          sizeof why);
        if (st == AD_ENOMEM || st == AD_EOVERFLOW) { /* the call failed, not the gradient */
            st = ad__fail(t, st, st == AD_ENOMEM ? NULL : "ad_check_grad: %s", why);
            goto done;
        }
        st = AD_OK; /* an op without jvp: the dot test did not run, the notes say why */
        if (why[0])
            note(r, why);
    }
    qsort(r->coords, r->n_coords, sizeof *r->coords, worst_first);
    for (size_t i = 0; i < r->n_coords; i++)
        if (r->coords[i].cls == AD_COORD_KINK_BAD || r->coords[i].cls == AD_COORD_NAN_MISMATCH ||
            r->coords[i].cls == AD_COORD_MISMATCH)
            r->pass = false;
    r->pass = r->pass && (!r->fd.ran || r->fd.pass) && (!r->mpfr.ran || r->mpfr.pass) &&
              (!r->dot.ran || r->dot.pass);
    if (!r->pass)
        blame(&s);
    vacuity(r);
done:
    r->n_replays = s.m1.evals + s.m2.evals;
    if (s.o.mpfr) {
        ad__mp_free(&s.m1);
        ad__mp_free(&s.m2);
    }
    ad__pins_free(&s.c, &s.pins);
    if (s.cond_ok)
        ad__cond_free(&s.cond);
    ad__ctx_free(&s.c);
    if (st != AD_OK)
        ad_check_report_free(r);
    return st;
}

void ad_check_report_free(ad_check_report *r)
{
    if (!r || !r->coords)
        return;
    ad__free(&r->alloc, r->coords, r->cap_bytes);
    r->coords = NULL;
    r->n_coords = 0;
}
