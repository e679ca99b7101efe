/* fuzz_op.c - one registry op at decoded inputs: forward and backward against MPFR,
 * NaN consistency, kink choices inside the one-sided hull. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ad/ad.h>
#include "../ad/check_int.h"
#include "decode.h"
#include "digest.h"
#include "harness.h"
#include "opdecode.h"
#include "report.h"
#include "ulp.h"

/* MPFR bits: 192 first (ad__ref_diff steps 2^-64 relative: below half an
 * ulp, so a kink at the neighbouring double is never stepped over, with 128
 * bits left after the difference; it raises them where a difference
 * cancels), a violation confirmed at CONFIRM_PREC. ADCHECK_FUZZ_OP_PREC
 * sets the first precision (64..4096). */
#define FAST_PREC 192
#define CONFIRM_PREC 2048
#define MAX_ELEMS 64
/* Outside an op's box the promised bounds do not apply; a backward off by
 * more than this many ulps there is a finding all the same (cancellation,
 * underflow of an intermediate, a wrong formula). */
#define LOOSE_ULPS 1048576.0

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
    size_t elem;                         /* a pointwise case's element, as a view */
    const ad_shape *whole;               /* ...of inputs of this shape (NULL: the whole case) */
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
        w += (size_t)snprintf(buf + w, len - w, ") relu_at_zero=%a gy=%a", c->kg, c->gy);
    if (c->whole && w < len) {
        char sb[64];
        ad_shape_format(c->whole, sb, sizeof sb);
        snprintf(buf + w, len - w, " (element %zu of inputs of shape %s)", c->elem, sb);
    }
}

/* The first violation the oracle saw at the current precision (empty: none). */
static char finding[4096];

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void violation(const fcase *c, const char *fmt, ...)
{
    if (finding[0])
        return;
    describe(c, finding, sizeof finding);
    size_t w = strlen(finding);
    w += (size_t)snprintf(finding + w, sizeof finding - w, ": ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(finding + w, sizeof finding - w, fmt, ap);
    va_end(ap);
}

static bool in_box(const fcase *c)
{
    for (unsigned i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->nx[i]; j++)
            if (!(c->x[i][j] >= c->op->domain.lo[i] && c->x[i][j] <= c->op->domain.hi[i]))
                return false;
    return true;
}

/* The largest input's element count: how many terms a reduction may sum. */
static size_t max_input_count(const fcase *c)
{
    size_t n = 1;
    for (unsigned i = 0; i < c->n; i++)
        n = c->nx[i] > n ? c->nx[i] : n;
    return n;
}

static bool all_finite(const fcase *c)
{
    for (unsigned i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->nx[i]; j++)
            if (!isfinite(c->x[i][j]))
                return false;
    return true;
}

/* The MPFR inputs: x (AS_IS), |x| (ABS), or |x| for the first input and
 * -|x| for the other real ones (ABS_NEG_REST). */
enum { AS_IS, ABS, ABS_NEG_REST };
static void load_inputs(const fcase *c, ad__sweep *sw, int mode)
{
    for (unsigned i = 0; i < c->n; i++) {
        bool neg = mode == ABS_NEG_REST && i > 0 && !(c->op->int_inputs & (1u << i));
        for (size_t j = 0; j < c->nx[i]; j++) {
            double v = mode == AS_IS ? c->x[i][j] : fabs(c->x[i][j]);
            mpfr_set_d(sw->mx[i] + j, neg ? -v : v, MPFR_RNDN);
        }
    }
}

/* Forward: within ulp_fwd of MPFR, NaN exactly where MPFR has NaN. Leaves
 * f(x) in sw->my. @return whether the reference evaluated (0 declines the
 * point, a documented skip). */
static bool check_forward(const fcase *c, ad__sweep *sw)
{
    load_inputs(c, sw, AS_IS);
    if (ad__sweep_ref(sw, sw->my) != 0)
        return false;
    /* Off the pointwise path the error scales with the magnitudes summed, not the result:
     * the reference at |x| gives that scale for sums and products (into sw->mf).
     * A two-input reduction to one value (the mean losses, dot) is also taken at
     * (|x|, -|t|), and the larger magnitude kept: bce_with_logits's terms x (1 - t)
     * with t = -1 are 2|x| there but cancel at (|x|, |t|) (91 "ulps" of a mean of
     * 0.038 whose terms are 16 to 30); for mse, l1, huber and dot that magnitude is
     * the terms' own or larger by at most the sum of the inputs'. */
    bool have_abs = false;
    if (!c->pointwise) {
        load_inputs(c, sw, ABS);
        have_abs = ad__sweep_ref(sw, sw->mf) == 0;
        if (have_abs && c->n == 2 && c->ny == 1 && !(c->op->flags & AD_OP_BROADCAST)) {
            load_inputs(c, sw, ABS_NEG_REST);
            mpfr_t other;
            mpfr_init2(other, mpfr_get_prec(sw->mf));
            if (ad__sweep_ref(sw, other) == 0 && mpfr_cmpabs(other, sw->mf) > 0)
                mpfr_set(sw->mf, other, MPFR_RNDN);
            mpfr_clear(other);
        }
        load_inputs(c, sw, AS_IS);
    }
    size_t n_terms = max_input_count(c);
    for (size_t k = 0; k < c->ny; k++) {
        double got = c->y[k];
        mpfr_srcptr ref = sw->my + k;
        /* away from zero: a huge negative scale is -inf, not -DBL_MAX (RNDU) */
        double absref = have_abs ? fabs(mpfr_get_d(sw->mf + k, MPFR_RNDA)) : 0.0;
        bool gated = !c->pointwise && !(have_abs && isfinite(absref));
        double ulps = fz_ulps(got, ref);
        char e[64];
        if (isnan(got) != (mpfr_nan_p(ref) != 0) && !gated)
            violation(c, "forward NaN mismatch at output %zu: expected %s, got %a", k,
                      fz_mpfr_str(e, sizeof e, ref), got);
        double bound = c->op->ulp_fwd + 1e-9;
        bool bad = ulps > bound;
        if (!c->strict && !c->pointwise) {
            if (gated || isnan(got))
                bad = false;
            else
                bad = ulps * fz_ulp_of(ref) > bound * fz_ulp_of(ref) +
                                                  2.0 * (double)n_terms * DBL_EPSILON * absref;
        }
        if (bad)
            violation(c, "forward output %zu: expected %s, got %a, %.3g ulps (bound %g)", k,
                      fz_mpfr_str(e, sizeof e, ref), got, ulps, c->op->ulp_fwd);
    }
    return true;
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

/* The declared choice of a unary elementwise op exactly on one of its kinks,
 * at the case's attribute values (kinks move with them: leaky_relu's slope). */
static bool declared_choice(const fcase *c, double x, double *choice)
{
    if (c->n != 1 || !c->pointwise)
        return false;
    ad_kink kinks[16];
    unsigned n = ad_op_kinks(c->op, c->attr, kinks, 16);
    for (unsigned k = 0; k < n && k < 16; k++)
        if (kinks[k].at == x) {
            double ch = kinks[k].choice;
            *choice = isnan(ch) ? c->kg : ch;
            return true;
        }
    return false;
}

/* got's distance from ref in ulps; for an op that sums terms (not pointwise),
 * the smaller of that and its distance in ulps of the terms' magnitude sc, as
 * ad_op_verify judges: a slope's gradient sums x over a whole tensor. */
static double ulps_off(const fcase *c, double got, mpfr_srcptr ref, mpfr_srcptr sc)
{
    double ulps = fz_ulps(got, ref);
    if (!c->pointwise && sc) {
        mpfr_t t;
        mpfr_init2(t, 128);
        ulps = fmin(ulps, ad__ulps_scaled(got, ref, sc, t));
        mpfr_clear(t);
    }
    return ulps;
}

/* The verdict on one derivative the engine gave (way: "backward" or "jvp")
 * against the MPFR derivative d, or on a kink the one-sided quotients l, r. */
static void judge(const fcase *c, const char *way, unsigned i, size_t j, double got, bool kink,
                  mpfr_srcptr d, mpfr_srcptr sc, mpfr_srcptr l, mpfr_srcptr r)
{
    char e[64], el[64], er[64];
    double choice;
    if (kink) {
        /* Inside the hull of the one-sided derivatives (Clarke), with the
         * op's own rounding allowed at either end. */
        double ul = ulps_off(c, got, l, sc), ur = ulps_off(c, got, r, sc);
        double gl = mpfr_get_d(l, MPFR_RNDN), gr = mpfr_get_d(r, MPFR_RNDN);
        double lo = fmin(gl, gr), hi = fmax(gl, gr);
        bool inside = (got >= lo && got <= hi) || fmin(ul, ur) <= c->op->ulp_bwd + 1.0;
        if (!inside && !c->strict && !c->pointwise) {
            /* off the sample shapes a derivative sums up to n terms, each
             * rounded (prelu's d/da over 27 elements: 3.6 ulps), as the
             * forward's rule allows: 2 n eps times their magnitude */
            double slack = 2.0 * (double)max_input_count(c) * DBL_EPSILON * mpfr_get_d(sc, MPFR_RNDU);
            inside = got >= lo - slack && got <= hi + slack;
        }
        if (!inside)
            violation(c, "%s d/dx%u[%zu] on a kink: got %a, outside the one-sided hull [%s, %s]", way,
                      i, j, got, fz_mpfr_str(el, sizeof el, l), fz_mpfr_str(er, sizeof er, r));
        if (declared_choice(c, c->x[i][j], &choice) && got != c->gy * choice)
            violation(c, "%s on the kink at %a: got %a, the declared choice gives %a", way, c->x[i][j],
                      got, c->gy * choice);
        return;
    }
    double ulps = ulps_off(c, got, d, sc);
    /* A derivative that sums terms whose magnitudes exceed DBL_MAX may be inf
     * or inf - inf = NaN in double, whatever the exact sum: the documented
     * contract of matmul and of broadcast sums (ops/kernel.h), as in any BLAS. */
    bool beyond = !c->pointwise && sc && mpfr_number_p(sc) && mpfr_cmp_d(sc, DBL_MAX) > 0;
    if (beyond && !isfinite(got))
        return;
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
    if (nan_bad || bad)
        violation(c, "%s d/dx%u[%zu]: expected %s, got %a, %.3g ulps (bound %g%s)", way, i, j,
                  fz_mpfr_str(e, sizeof e, d), got, ulps, c->strict ? c->op->ulp_bwd : LOOSE_ULPS,
                  c->strict ? "" : ", outside the box");
}

/* Every f value of the last difference (and f(x)) is a finite number: a NaN
 * forward, a domain edge within the step or an MPFR overflow leave the
 * derivative undefined there. */
static bool diff_finite(const ad__sweep *sw, bool with_fx)
{
    for (size_t k = 0; k < 2 * sw->ny; k++)
        if (!mpfr_number_p(sw->mf + k))
            return false;
    for (size_t k = 0; with_fx && k < sw->ny; k++)
        if (!mpfr_number_p(sw->my + k))
            return false;
    return true;
}

/* The engine's VJP of gy (gx) and, for a unary elementwise op, its jvp along
 * gy (jv, NULL otherwise), each element against the library's MPFR
 * difference (ad__ref_diff, the oracle ad_op_verify uses). */
static void check_backward(const fcase *c, ad__sweep *sw, double *const *gx, const double *jv)
{
    bool kink = on_kink(c);
    for (size_t k = 0; k < c->ny; k++)
        if (!mpfr_number_p(sw->my + k))
            return; /* f(x) itself is NaN or infinite: no derivative to compare */
    for (size_t k = 0; k < c->ny; k++)
        sw->w[k] = c->gy;
    mpfr_t d, sc, l, r;
    mpfr_inits2(64, d, sc, l, r, (mpfr_ptr)0); /* ~60 good bits are all a verdict needs */
    mpfr_prec_t base = sw->cur_prec;
    for (unsigned i = 0; i < c->n; i++)
        for (size_t j = 0; gx[i] && j < c->nx[i]; j++) {
            bool resolved = true;
            if (ad__ref_diff(sw, i, j, gx[i][j], kink, &resolved) == 0 && resolved &&
                diff_finite(sw, kink)) {
                ad__ref_quotient(sw, 0, d, sc);
                if (kink) {
                    ad__ref_quotient(sw, -1, l, NULL);
                    ad__ref_quotient(sw, 1, r, NULL);
                }
                judge(c, "backward", i, j, gx[i][j], kink, d, sc, l, r);
                if (jv)
                    judge(c, "jvp", i, j, jv[j], kink, d, sc, l, r);
            }
            if (ad__sweep_back_to(sw, base, false, kink))
                break; /* the reference declines x itself at base: nothing more to compare */
        }
    mpfr_clears(d, sc, l, r, (mpfr_ptr)0);
}

/* FAST_PREC, or ADCHECK_FUZZ_OP_PREC when set to 64..4096 (read once). */
static unsigned fast_prec(void)
{
    static unsigned p;
    if (!p) {
        const char *e = getenv("ADCHECK_FUZZ_OP_PREC");
        long v = e ? strtol(e, NULL, 10) : 0;
        p = v >= 64 && v <= 4096 ? (unsigned)v : FAST_PREC;
    }
    return p;
}

/* The oracle at MPFR precision prec: forward, backward and jvp verdicts.
 * @return whether it found a violation (in `finding`). */
static bool oracle(const fcase *c, unsigned prec, double *const *gx, const double *jv)
{
    ad__sweep sw;
    memset(&sw, 0, sizeof sw);
    ad_op_report rep;
    memset(&rep, 0, sizeof rep);
    sw.op = c->op;
    sw.r = &rep;
    sw.o = ad_verify_opts_default();
    sw.o.prec = prec;
    finding[0] = '\0';
    char why[256];
    if (ad__sweep_setup(&sw, c->xs, c->attr, why, sizeof why) != AD_OK) {
        ad__sweep_teardown(&sw);
        return false; /* shapes the sweep cannot hold: the tape accepted them, so skip */
    }
    for (unsigned i = 0; i < c->n; i++)
        memcpy(sw.x[i], c->x[i], c->nx[i] * sizeof(double));
    ad__sweep_fit_prec(&sw);
    if (check_forward(c, &sw) && c->op->backward && all_finite(c))
        check_backward(c, &sw, gx, jv); /* derivatives at infinities are not defined */
    ad__sweep_teardown(&sw);
    return finding[0] != '\0';
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Whether element j of a pointwise case repeats an earlier element i: the
 * same inputs, output and engine derivatives bit for bit, so the same
 * verdict (the oracle is deterministic). The decoder repeats values, and a
 * tensor of 64 copies of a subnormal costs 64 oracles at 1,200 bits. */
static bool repeats_earlier(const fcase *c, double *const *gx, const double *jv, size_t j)
{
    for (size_t i = 0; i < j; i++) {
        bool same = same_bits(c->y[i], c->y[j]) && (!jv || same_bits(jv[i], jv[j]));
        for (unsigned k = 0; same && k < c->n; k++)
            same = same_bits(c->x[k][i], c->x[k][j]) && (!gx[k] || same_bits(gx[k][i], gx[k][j]));
        if (same)
            return true;
    }
    return false;
}

/* The engine's derivatives, then the oracle: first at FAST_PREC, and a
 * violation there confirmed at CONFIRM_PREC, so a reference that lost bits
 * inside (a composite reference's cancellation) does not make a finding. */
static void check(const fcase *c)
{
    double gxs[AD_MAX_ARITY][MAX_ELEMS], gy[MAX_ELEMS], jvs[MAX_ELEMS];
    double *gx[AD_MAX_ARITY] = {NULL};
    const double *jv = NULL;
    if (c->op->backward && all_finite(c)) {
        for (size_t k = 0; k < c->ny; k++)
            gy[k] = c->gy;
        memset(gxs, 0, sizeof gxs);
        for (unsigned i = 0; i < c->n; i++)
            if (!(c->op->int_inputs & (1u << i)))
                gx[i] = gxs[i];
        ad_op_args a = {.n_in = c->n, .y = c->y, .ys = c->ys, .attr = c->attr, .kink_grad = c->kg};
        for (unsigned i = 0; i < c->n; i++) {
            a.x[i] = c->x[i];
            a.xs[i] = c->xs[i];
        }
        c->op->backward(&a, gy, gx);
        /* For a unary elementwise op the tangent along gy is the same vector as
         * the VJP of gy, so the op's jvp meets the same MPFR verdict. */
        if (c->n == 1 && c->pointwise && c->op->jvp && gx[0]) {
            const double *dx[AD_MAX_ARITY] = {gy};
            c->op->jvp(&a, dx, jvs);
            jv = jvs;
        }
        for (unsigned i = 0; i < c->n; i++)
            for (size_t j = 0; gx[i] && j < c->nx[i]; j++)
                fz_digest_double(gx[i][j]);
        for (size_t j = 0; jv && j < c->ny; j++)
            fz_digest_double(jv[j]);
    }
    for (size_t k = 0; k < c->ny; k++)
        fz_digest_double(c->y[k]);
    if (!c->pointwise || c->ny == 1) {
        if (oracle(c, fast_prec(), gx, jv) && oracle(c, CONFIRM_PREC, gx, jv))
            fz_fail("%s", finding);
        return;
    }
    /* Pointwise: element j of the output depends on element j of each input
     * alone, so each element is its own scalar case. The oracle then moves one
     * element and evaluates one reference, not the whole tensor per element
     * (O(n) MPFR evaluations instead of O(n^2)); a kink is judged at its own
     * element only, and an element that repeats an earlier one is not judged
     * again. */
    for (size_t j = 0; j < c->ny; j++) {
        if (repeats_earlier(c, gx, jv, j))
            continue;
        fcase e = *c;
        double *ex[AD_MAX_ARITY] = {NULL};
        e.ys = AD_SCALAR;
        e.ny = 1;
        e.y = c->y + j;
        e.elem = j;
        e.whole = &c->ys;
        for (unsigned i = 0; i < c->n; i++) {
            e.xs[i] = AD_SCALAR;
            e.nx[i] = 1;
            e.x[i] = c->x[i] + j;
            ex[i] = gx[i] ? gx[i] + j : NULL;
        }
        const double *ejv = jv ? jv + j : NULL;
        if (oracle(&e, fast_prec(), ex, ejv) && oracle(&e, CONFIRM_PREC, ex, ejv))
            fz_fail("%s", finding);
    }
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
        fz_op_hints_init(&oh, c.op, c.attr, i);
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
    static int describe_cases = -1; /* ADCHECK_FUZZ_DESCRIBE: what inputs decode to (fuzz/README.md) */
    if (describe_cases < 0)
        describe_cases = getenv("ADCHECK_FUZZ_DESCRIBE") != NULL;
    if (describe_cases) {
        char what[2048];
        describe(&c, what, sizeof what);
        fprintf(stderr, "case: %s\n", what);
    }
    if (c.ny <= MAX_ELEMS && c.op->reference)
        check(&c);
    return 0;
}
