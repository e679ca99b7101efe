/* fuzz_op.c - one registry op at decoded inputs: forward and backward against MPFR,
 * NaN consistency, kink choices inside the one-sided hull. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ad/ad.h>
#include "decode.h"
#include "digest.h"
#include "harness.h"
#include "opdecode.h"
#include "report.h"
#include "ulp.h"

#define PREC 256
#define MAX_PREC 4096
#define MAX_ELEMS 64
/* Outside an op's box the promised bounds do not apply; a backward off by
 * more than this many ulps there is a finding all the same (cancellation,
 * underflow of an intermediate, a wrong formula). */
#define LOOSE_ULPS 1048576.0
/* Relative step of the MPFR central difference: small against any curvature,
 * large against 256-bit rounding (precision grows when cancellation eats it). */
#define STEP_BITS 90

typedef struct fcase {
    const ad_op *op;
    unsigned n;                          /* arity                        */
    ad_shape xs[AD_MAX_ARITY], ys;
    size_t nx[AD_MAX_ARITY], ny;
    double *x[AD_MAX_ARITY];             /* inputs                       */
    const double *y;                     /* engine output                */
    double attr[AD_MAX_ATTR];
    double kg, gy;                       /* tape kink gradient, cotangent */
    bool strict;                         /* inside the promised bounds    */
    bool pointwise;                      /* elementwise, no broadcasting  */
} fcase;

static size_t count_of(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned d = 0; d < s->rank; d++)
        n *= s->dim[d];
    return n;
}

/* "op(x0=0x1p+0, x1=[0x1p+0, ...])" for messages, inputs in hex floats. */
static void describe(const fcase *c, char *buf, size_t len)
{
    size_t w = (size_t)snprintf(buf, len, "%s(", c->op->name);
    for (unsigned i = 0; i < c->n && w < len; i++) {
        char sb[64];
        ad_shape_format(&c->xs[i], sb, sizeof sb);
        w += (size_t)snprintf(buf + w, len - w, "%sx%u%s=[", i ? ", " : "", i, sb);
        for (size_t j = 0; j < c->nx[i] && w < len; j++)
            w += (size_t)snprintf(buf + w, len - w, "%s%a", j ? ", " : "", c->x[i][j]);
        if (w < len)
            w += (size_t)snprintf(buf + w, len - w, "]");
    }
    for (unsigned k = 0; k < c->op->n_attr && w < len; k++)
        w += (size_t)snprintf(buf + w, len - w, ", %s=%a", c->op->attr_name[k], c->attr[k]);
    if (w < len)
        snprintf(buf + w, len - w, ") relu_at_zero=%a gy=%a", c->kg, c->gy);
}

/* MPFR arrays for inputs (with element (vi, vj) moved by dir * h) and outputs. */
typedef struct refbuf {
    mpfr_t *x[AD_MAX_ARITY];
    mpfr_t *y;
} refbuf;

static void refbuf_init(refbuf *r, const fcase *c, mpfr_prec_t p)
{
    for (unsigned i = 0; i < c->n; i++) {
        /* One element even for an empty input: references read its precision. */
        r->x[i] = malloc((c->nx[i] ? c->nx[i] : 1) * sizeof(mpfr_t));
        for (size_t j = 0; j < (c->nx[i] ? c->nx[i] : 1); j++) {
            mpfr_init2(r->x[i][j], p + 64);
            mpfr_set_zero(r->x[i][j], 1);
        }
    }
    r->y = malloc((c->ny ? c->ny : 1) * sizeof(mpfr_t));
    for (size_t k = 0; k < (c->ny ? c->ny : 1); k++)
        mpfr_init2(r->y[k], p);
}

static void refbuf_clear(refbuf *r, const fcase *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        for (size_t j = 0; j < (c->nx[i] ? c->nx[i] : 1); j++)
            mpfr_clear(r->x[i][j]);
        free(r->x[i]);
    }
    for (size_t k = 0; k < (c->ny ? c->ny : 1); k++)
        mpfr_clear(r->y[k]);
    free(r->y);
}

/* Evaluates the reference at the inputs (absolute values when absval), with
 * element vj of input vi moved by h (NULL: not moved). @return 0 on success. */
static int eval_ref(const fcase *c, refbuf *r, bool absval, unsigned vi, size_t vj, mpfr_srcptr h)
{
    ad_ref_args a = {.n_in = c->n, .ys = c->ys, .attr = c->attr};
    for (unsigned i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->nx[i]; j++) {
            mpfr_set_d(r->x[i][j], absval ? fabs(c->x[i][j]) : c->x[i][j], MPFR_RNDN);
            if (h && i == vi && j == vj)
                mpfr_add(r->x[i][j], r->x[i][j], h, MPFR_RNDN); /* exact: precision p + 64 */
        }
        a.x[i] = r->x[i][0];
        a.xs[i] = c->xs[i];
    }
    return c->op->reference(&a, r->y[0], MPFR_RNDN);
}

static bool in_box(const fcase *c)
{
    for (unsigned i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->nx[i]; j++)
            if (!(c->x[i][j] >= c->op->domain.lo[i] && c->x[i][j] <= c->op->domain.hi[i]))
                return false;
    return true;
}

static bool all_finite(const fcase *c)
{
    for (unsigned i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->nx[i]; j++)
            if (!isfinite(c->x[i][j]))
                return false;
    return true;
}

/* Forward: within ulp_fwd of MPFR, NaN exactly where MPFR has NaN. */
static void check_forward(const fcase *c)
{
    refbuf r, ra;
    refbuf_init(&r, c, PREC);
    if (eval_ref(c, &r, false, 0, 0, NULL) != 0) {
        refbuf_clear(&r, c);
        return; /* the reference declines this point (documented as a skip) */
    }
    /* Off the pointwise path the error scales with the magnitudes summed, not the result:
     * the reference at |x| gives that scale for sums and products. */
    bool have_abs = false;
    if (!c->pointwise) {
        refbuf_init(&ra, c, PREC);
        have_abs = eval_ref(c, &ra, true, 0, 0, NULL) == 0;
    }
    size_t n_terms = 1;
    for (unsigned i = 0; i < c->n; i++)
        n_terms = c->nx[i] > n_terms ? c->nx[i] : n_terms;
    for (size_t k = 0; k < c->ny; k++) {
        double got = c->y[k];
        double absref = have_abs ? fabs(mpfr_get_d(ra.y[k], MPFR_RNDU)) : 0.0;
        bool gated = !c->pointwise && !(have_abs && isfinite(absref));
        double ulps = fz_ulps(got, r.y[k]);
        fz_digest_double(got);
        char what[2048], e[64];
        if (isnan(got) != (mpfr_nan_p(r.y[k]) != 0) && !gated) {
            describe(c, what, sizeof what);
            fz_fail("%s: forward NaN mismatch at output %zu: expected %s, got %a", what, k,
                    fz_mpfr_str(e, sizeof e, r.y[k]), got);
        }
        double bound = c->op->ulp_fwd + 1e-9;
        bool bad = ulps > bound;
        if (!c->strict && !c->pointwise) {
            if (gated || isnan(got))
                bad = false;
            else
                bad = ulps * fz_ulp_of(r.y[k]) > bound * fz_ulp_of(r.y[k]) +
                                                     2.0 * (double)n_terms * DBL_EPSILON * absref;
        }
        if (bad) {
            describe(c, what, sizeof what);
            fz_fail("%s: forward output %zu: expected %s, got %a, %.3g ulps (bound %g)", what, k,
                    fz_mpfr_str(e, sizeof e, r.y[k]), got, ulps, c->op->ulp_fwd);
        }
    }
    if (!c->pointwise)
        refbuf_clear(&ra, c);
    refbuf_clear(&r, c);
}

/* Whether any output element sits exactly on a kink. */
static bool on_kink(const fcase *c)
{
    if (!c->op->piece)
        return false;
    ad_op_args a = {.n_in = c->n, .y = c->y, .ys = c->ys, .attr = c->attr, .kink_grad = c->kg};
    for (unsigned i = 0; i < c->n; i++) {
        a.x[i] = c->x[i];
        a.xs[i] = c->xs[i];
    }
    for (size_t k = 0; k < c->ny; k++)
        if (c->op->piece(&a, k) == AD_PIECE_KINK)
            return true;
    return false;
}

static mpfr_exp_t max_exp(mpfr_exp_t a, mpfr_exp_t b)
{
    return a > b ? a : b;
}

/* Bits of f's precision the difference diff = f(x +- h) - f(x) cancelled. A
 * difference of exactly 0 next to a nonzero f may be a change of size h
 * rounded away (other inputs dwarf the moved one): then assume the change
 * has h's size, so precision grows until h's effect could be seen. */
static mpfr_exp_t lost_bits(mpfr_srcptr f, mpfr_srcptr diff, mpfr_srcptr h)
{
    if (mpfr_zero_p(f))
        return 0;
    if (mpfr_zero_p(diff))
        return mpfr_get_exp(f) - mpfr_get_exp(h);
    return mpfr_get_exp(f) - mpfr_get_exp(diff);
}

/* Reference buffers of one backward check at one precision: r0 holds f(x)
 * (evaluated once), rp and rm are reused for every moved element. */
typedef struct deriv_ctx {
    refbuf r0, rp, rm;
    mpfr_prec_t p;
    bool live, r0_ok;
} deriv_ctx;

static void ctx_set_prec(deriv_ctx *x, const fcase *c, mpfr_prec_t p)
{
    if (x->live && x->p == p)
        return;
    if (x->live) {
        refbuf_clear(&x->r0, c);
        refbuf_clear(&x->rp, c);
        refbuf_clear(&x->rm, c);
    }
    refbuf_init(&x->r0, c, p);
    refbuf_init(&x->rp, c, p);
    refbuf_init(&x->rm, c, p);
    x->p = p;
    x->live = true;
    x->r0_ok = eval_ref(c, &x->r0, false, 0, 0, NULL) == 0;
}

static void ctx_clear(deriv_ctx *x, const fcase *c)
{
    if (!x->live)
        return;
    refbuf_clear(&x->r0, c);
    refbuf_clear(&x->rp, c);
    refbuf_clear(&x->rm, c);
    x->live = false;
}

/* The reference derivative sum_k gy d y_k / d x[vi][vj] by MPFR central
 * differences, and the one-sided quotients (for kinks).
 * @return false when it cannot be trusted (a domain edge inside the step,
 *         MPFR overflow, cancellation beyond MAX_PREC). */
static bool ref_derivative(const fcase *c, deriv_ctx *x, unsigned vi, size_t vj, mpfr_t d,
                           mpfr_t left, mpfr_t right)
{
    double xv = c->x[vi][vj];
    mpfr_prec_t p = PREC;
    for (;;) {
        ctx_set_prec(x, c, p);
        refbuf *r0 = &x->r0, *rp = &x->rp, *rm = &x->rm;
        mpfr_t h, t, s_l, s_r;
        mpfr_inits2(p + 64, h, t, s_l, s_r, (mpfr_ptr)0);
        if (xv == 0.0) {
            mpfr_set_ui_2exp(h, 1, -1100, MPFR_RNDN);
        } else {
            mpfr_set_d(t, xv, MPFR_RNDN);
            mpfr_set_ui_2exp(h, 1, mpfr_get_exp(t) - STEP_BITS, MPFR_RNDN);
        }
        mpfr_neg(t, h, MPFR_RNDN);
        bool ok = x->r0_ok && eval_ref(c, rp, false, vi, vj, h) == 0 &&
                  eval_ref(c, rm, false, vi, vj, t) == 0;
        mpfr_exp_t lost = 0;
        mpfr_set_zero(s_l, 1);
        mpfr_set_zero(s_r, 1);
        for (size_t k = 0; ok && k < c->ny; k++) {
            if (mpfr_nan_p(r0->y[k]) || mpfr_inf_p(r0->y[k]) || !mpfr_number_p(rp->y[k]) ||
                !mpfr_number_p(rm->y[k])) {
                ok = false; /* a NaN forward, a domain edge within the step, or MPFR overflow */
                break;
            }
            mpfr_sub(t, r0->y[k], rm->y[k], MPFR_RNDN);
            lost = max_exp(lost, lost_bits(r0->y[k], t, h));
            mpfr_mul_d(t, t, c->gy, MPFR_RNDN);
            mpfr_add(s_l, s_l, t, MPFR_RNDN);
            mpfr_sub(t, rp->y[k], r0->y[k], MPFR_RNDN);
            lost = max_exp(lost, lost_bits(r0->y[k], t, h));
            mpfr_mul_d(t, t, c->gy, MPFR_RNDN);
            mpfr_add(s_r, s_r, t, MPFR_RNDN);
        }
        if (ok) {
            /* h is a power of two: scaling by its exponent is exact and cheap */
            mpfr_exp_t he = mpfr_get_exp(h) - 1;
            mpfr_mul_2si(left, s_l, -(long)he, MPFR_RNDN);
            mpfr_mul_2si(right, s_r, -(long)he, MPFR_RNDN);
            mpfr_add(d, left, right, MPFR_RNDN);
            mpfr_div_2ui(d, d, 1, MPFR_RNDN);
        }
        mpfr_clears(h, t, s_l, s_r, (mpfr_ptr)0);
        if (!ok)
            return false;
        if (p - lost >= 120)
            return true; /* at least ~120 good bits survive the subtraction */
        if (p >= MAX_PREC)
            return false;
        p = lost + 240 > MAX_PREC ? MAX_PREC : lost + 240;
    }
}

/* The declared choice of a unary elementwise op exactly on one of its kinks. */
static bool declared_choice(const fcase *c, double x, double *choice)
{
    if (c->n != 1 || !c->pointwise)
        return false;
    for (unsigned k = 0; k < c->op->n_kinks; k++)
        if (c->op->kinks[k].at == x) {
            double ch = c->op->kinks[k].choice;
            *choice = isnan(ch) ? c->kg : ch;
            return true;
        }
    return false;
}

/* The verdict on one derivative the engine gave (way: "backward" or "jvp")
 * against the MPFR derivative d, or on a kink the one-sided quotients l, r. */
static void judge(const fcase *c, const char *way, unsigned i, size_t j, double got, bool kink,
                  mpfr_srcptr d, mpfr_srcptr l, mpfr_srcptr r)
{
    char what[2048], e[64], el[64], er[64];
    double choice;
    if (kink) {
        /* Inside the hull of the one-sided derivatives (Clarke), with the
         * op's own rounding allowed at either end. */
        double ul = fz_ulps(got, l), ur = fz_ulps(got, r);
        double gl = mpfr_get_d(l, MPFR_RNDN), gr = mpfr_get_d(r, MPFR_RNDN);
        double lo = fmin(gl, gr), hi = fmax(gl, gr);
        bool inside = (got >= lo && got <= hi) || fmin(ul, ur) <= c->op->ulp_bwd + 1.0;
        if (!inside) {
            describe(c, what, sizeof what);
            fz_fail("%s: %s d/dx%u[%zu] on a kink: got %a, outside the one-sided hull [%s, %s]", what,
                    way, i, j, got, fz_mpfr_str(el, sizeof el, l), fz_mpfr_str(er, sizeof er, r));
        }
        if (declared_choice(c, c->x[i][j], &choice) && got != c->gy * choice) {
            describe(c, what, sizeof what);
            fz_fail("%s: %s on the kink at %a: got %a, the declared choice gives %a", what, way,
                    c->x[i][j], got, c->gy * choice);
        }
        return;
    }
    double ulps = fz_ulps(got, d);
    bool nan_bad = isnan(got) != (mpfr_nan_p(d) != 0);
    double bound = c->op->ulp_bwd + 1e-9;
    if (mpfr_cmpabs_ui(d, 0) != 0 && mpfr_get_exp(d) < -1021)
        bound += 1.0; /* a subnormal result: the cotangent's scaling rounds once more */
    bool bad;
    if (c->strict)
        bad = ulps > bound;
    else if (c->pointwise)
        bad = ulps > LOOSE_ULPS;
    else
        bad = false; /* no sound magnitude scale for a general VJP off its box */
    if (nan_bad || bad) {
        describe(c, what, sizeof what);
        fz_fail("%s: %s d/dx%u[%zu]: expected %s, got %a, %.3g ulps (bound %g%s)", what, way, i, j,
                fz_mpfr_str(e, sizeof e, d), got, ulps, c->strict ? c->op->ulp_bwd : LOOSE_ULPS,
                c->strict ? "" : ", outside the box");
    }
}

static void check_backward(const fcase *c)
{
    if (!c->op->backward || !c->op->reference || !all_finite(c))
        return; /* derivatives at infinities are not defined: forward checks cover them */
    double *gx[AD_MAX_ARITY] = {NULL};
    double gy[MAX_ELEMS];
    for (size_t k = 0; k < c->ny; k++)
        gy[k] = c->gy;
    for (unsigned i = 0; i < c->n; i++)
        if (!(c->op->int_inputs & (1u << i)))
            gx[i] = calloc(c->nx[i] ? c->nx[i] : 1, sizeof(double));
    ad_op_args a = {.n_in = c->n, .y = c->y, .ys = c->ys, .attr = c->attr, .kink_grad = c->kg};
    for (unsigned i = 0; i < c->n; i++) {
        a.x[i] = c->x[i];
        a.xs[i] = c->xs[i];
    }
    c->op->backward(&a, gy, gx);
    /* For a unary elementwise op the tangent along gy is the same vector as
     * the VJP of gy, so the op's jvp meets the same MPFR verdict below. */
    double *jv = NULL;
    if (c->n == 1 && c->pointwise && c->op->jvp && gx[0]) {
        jv = calloc(c->ny ? c->ny : 1, sizeof(double));
        const double *dx[AD_MAX_ARITY] = {gy};
        c->op->jvp(&a, dx, jv);
    }
    bool kink = on_kink(c);
    deriv_ctx ctx = {.live = false};
    mpfr_t d, l, r;
    mpfr_inits2(PREC, d, l, r, (mpfr_ptr)0); /* ~60 good bits are all a verdict needs */
    for (unsigned i = 0; i < c->n; i++)
        for (size_t j = 0; gx[i] && j < c->nx[i]; j++) {
            fz_digest_double(gx[i][j]);
            if (jv)
                fz_digest_double(jv[j]);
            if (!ref_derivative(c, &ctx, i, j, d, l, r))
                continue;
            judge(c, "backward", i, j, gx[i][j], kink, d, l, r);
            if (jv)
                judge(c, "jvp", i, j, jv[j], kink, d, l, r);
        }
    mpfr_clears(d, l, r, (mpfr_ptr)0);
    ctx_clear(&ctx, c);
    free(jv);
    for (unsigned i = 0; i < c->n; i++)
        free(gx[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in;
    fz_init(&in, data, size);
    fcase c = {.op = fz_pick_op(&in)};
    if (!c.op || !c.op->forward || fz_op_skipped(c.op))
        return 0;
    c.n = c.op->arity;
    uint8_t flags = fz_u8(&in);
    uint8_t kb = fz_u8(&in);
    c.kg = kb == 0 ? 0.0 : kb == 1 ? 1.0 : kb == 2 ? 0.5 : kb / 255.0;
    c.gy = ldexp(flags & 0x80 ? -1.0 : 1.0, (int)fz_range(&in, -8, 8));
    for (unsigned k = 0; k < AD_MAX_ATTR; k++)
        c.attr[k] = k < c.op->n_attr ? c.op->attr_default[k] : 0.0;
    bool own_attr = (flags & 0x04) && c.op->n_attr;
    for (unsigned k = 0; own_attr && k < c.op->n_attr; k++)
        c.attr[k] = fz_bool(&in) ? fz_double(&in, NULL) : (double)fz_range(&in, -4, 4);
    bool own_shapes = (flags & 0x03) == 3;
    bool sample = true;
    for (unsigned i = 0; i < c.n; i++) {
        c.xs[i] = own_shapes ? fz_shape(&in) : fz_sample_shape(c.op, i);
        ad_shape s = fz_sample_shape(c.op, i);
        sample &= ad_shape_equal(&c.xs[i], &s);
        c.nx[i] = count_of(&c.xs[i]);
    }
    double store[AD_MAX_ARITY][MAX_ELEMS];
    for (unsigned i = 0; i < c.n; i++) {
        fz_op_hints oh;
        fz_op_hints_init(&oh, c.op, i);
        if (c.nx[i] > MAX_ELEMS)
            return 0;
        c.x[i] = store[i];
        for (size_t j = 0; j < c.nx[i]; j++)
            store[i][j] = (c.op->int_inputs & (1u << i))
                              ? (double)fz_range(&in, (long)c.op->domain.lo[i], (long)c.op->domain.hi[i])
                              : fz_double(&in, &oh.h);
    }

    /* One tape for the whole run, reset per input as a training loop does: no
     * per-input allocation, and the replay's digest check would catch state
     * leaking from one input into the next. */
    static ad_tape *t;
    if (!t)
        t = ad_tape_new(NULL);
    ad_tape_reset(t);
    ad_tape_set_relu_at_zero(t, c.kg);
    ad_var v[AD_MAX_ARITY];
    for (unsigned i = 0; i < c.n; i++)
        v[i] = (c.op->int_inputs & (1u << i)) ? ad_const(t, c.xs[i], c.x[i]) : ad_input(t, c.xs[i], c.x[i]);
    ad_var y = ad_apply(t, c.op, v, c.n, c.attr, own_attr ? c.op->n_attr : 0);
    ad_status st = ad_tape_status(t);
    fz_digest_mix((uint64_t)st);
    if (st != AD_OK) {
        /* A rejected case must be a clean, explained error, never a crash. */
        if ((st != AD_ESHAPE && st != AD_EINVAL && st != AD_ELIMIT && st != AD_EOVERFLOW) ||
            !ad_tape_error(t)[0]) {
            char what[2048];
            describe(&c, what, sizeof what);
            fz_fail("%s: rejected with %s and message '%s'", what, ad_status_name(st), ad_tape_error(t));
        }
        return 0;
    }
    c.ys = ad_var_shape(t, y);
    c.ny = count_of(&c.ys);
    c.y = ad_value(t, y);
    c.pointwise = (c.op->flags & AD_OP_ELEMENTWISE) != 0;
    for (unsigned i = 0; i < c.n; i++)
        c.pointwise &= c.nx[i] == c.ny;
    c.strict = in_box(&c) && (c.pointwise || sample) && !own_attr;
    if (c.ny <= MAX_ELEMS && c.op->reference) {
        check_forward(&c);
        check_backward(&c);
    }
    return 0;
}
