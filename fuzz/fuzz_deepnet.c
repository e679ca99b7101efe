/* fuzz_deepnet.c - a decoded MLP (depth 1-64, widths 1-4, hidden and output
 * activations, init scheme, init scale, bias, inputs that may be any double)
 * and three properties of its gradients, loss = sum(y^2):
 *  1. the gradient-health report (ad_health_check, default thresholds) flags
 *     every parameter whose gradient explodes (a non-finite element, or a norm
 *     above explode_norm) or vanishes (a norm below vanish_norm, zero included),
 *     and flags nothing that does not: a norm computed here decides, with a
 *     margin of 1e-6 relative around each threshold;
 *  2. a non-finite gradient or loss is never silent: the same network on a tape
 *     in anomaly mode stops with AD_EDOMAIN and a message;
 *  3. finite gradients of a small net (at most 48 coordinates) pass
 *     ad_check_grad (MPFR and dot-product witnesses, fast mode) whenever the
 *     check is conclusive.
 * A finding prints the network and its inputs in hex floats. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <ad/ad.h>
#include "check_run.h"
#include "decode.h"
#include "digest.h"
#include "harness.h"
#include "opdecode.h"
#include "report.h"

#define MAX_DEPTH 64
#define MAX_WIDTH 4
#define MAX_BATCH 2
#define CHECK_MAX_COORDS 48
#define CHECK_MAX_DEPTH 6
#define MARGIN 1e-6

typedef struct net {
    size_t depth, sizes[MAX_DEPTH + 1], batch;
    ad_mlp_opts o;
    uint64_t seed;
    double x[MAX_BATCH * MAX_WIDTH];
} net;

static void print_net(const net *n, FILE *f)
{
    fprintf(f, "MLP depth %zu, sizes", n->depth);
    for (size_t i = 0; i <= n->depth; i++)
        fprintf(f, " %zu", n->sizes[i]);
    fprintf(f, "; hidden %s, output %s, act_param %a, init %d, weight_scale %a, bias_init %a, rng seed %llu\n",
            ad_act_name(n->o.hidden), ad_act_name(n->o.output), n->o.act_param, (int)n->o.init,
            n->o.weight_scale, n->o.bias_init, (unsigned long long)n->seed);
    fprintf(f, "inputs [%zu, %zu]:", n->batch, n->sizes[0]);
    for (size_t i = 0; i < n->batch * n->sizes[0]; i++)
        fprintf(f, " %a", n->x[i]);
    fprintf(f, "\nloss = sum(y^2)\n");
}

static void decode(fz_in *in, net *n)
{
    n->depth = (size_t)fz_range(in, 1, MAX_DEPTH);
    /* Deep nets mostly narrow: depth x width^2 weights per input. */
    long wmax = n->depth > 16 ? 2 : MAX_WIDTH;
    for (size_t i = 0; i <= n->depth; i++)
        n->sizes[i] = (size_t)fz_range(in, 1, wmax);
    n->batch = (size_t)fz_range(in, 1, MAX_BATCH);
    n->o = ad_mlp_opts_default();
    n->o.hidden = (ad_act)fz_choice(in, AD_ACT_COUNT);
    n->o.output = (ad_act)fz_choice(in, AD_ACT_COUNT);
    uint8_t pb = fz_u8(in);
    n->o.act_param = pb < 128 ? NAN : (pb - 128) / 64.0; /* default, or 0 .. 2 */
    n->o.init = (ad_mlp_init)fz_choice(in, AD_MLP_INIT_COUNT);
    /* Init scale 2^k (1 + f): from vanishing to exploding, 0 included. */
    uint8_t sb = fz_u8(in);
    n->o.weight_scale = sb == 0 ? 0.0 : ldexp(1.0 + fz_u8(in) / 256.0, (int)(sb % 41) - 20);
    uint8_t bb = fz_u8(in);
    n->o.bias_init = bb < 200 ? 0.0 : ldexp((bb & 1) ? -1.0 : 1.0, (int)(bb % 16) - 8);
    n->seed = fz_u8(in);
    static const double near[] = {0.0, 1.0, -1.0, 709.0, -745.0, 20.0};
    fz_hints h = {.lo = -4.0, .hi = 4.0, .near = near, .n_near = sizeof near / sizeof near[0]};
    for (size_t i = 0; i < n->batch * n->sizes[0]; i++)
        n->x[i] = fz_double(in, &h);
}

/* Records the net on t; @return the loss, or AD_NIL (the tape says why). */
static ad_var record(ad_tape *t, ad_mlp *m, const net *n)
{
    ad_var x = ad_input(t, AD_MAT(n->batch, n->sizes[0]), n->x);
    ad_var y = ad_mlp_forward(t, m, x);
    return ad_sum(t, ad_mul(t, y, y));
}

/* Norm of a gradient, scaled so it neither underflows nor overflows early;
 * inf when an element is not finite or the norm exceeds DBL_MAX. */
static double norm_of(const double *g, size_t count)
{
    double big = 0.0;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(g[i]))
            return INFINITY;
        if (fabs(g[i]) > big)
            big = fabs(g[i]);
    }
    if (big == 0.0)
        return 0.0;
    double s = 0.0;
    for (size_t i = 0; i < count; i++)
        s += (g[i] / big) * (g[i] / big);
    return big * sqrt(s);
}

/* The adjoints of the hidden activations and the parameters: the largest
 * (at least 1), after the check's sweep on the harness's tape. */
static ad_tape *t, *ta;

static double mlp_adj(void *ctx)
{
    ad_mlp *m = ctx;
    double adj = 1.0;
    for (size_t i = 0; i + 1 < ad_mlp_layers(m); i++) {
        ad_var h = ad_mlp_activation(m, i);
        const double *g = ad_grad(t, h);
        ad_shape hs = ad_var_shape(t, h);
        size_t cnt = 0;
        if (g && ad_shape_count(&hs, &cnt) == AD_OK)
            for (size_t k = 0; k < cnt; k++)
                adj = isnan(g[k]) ? INFINITY : fmax(adj, fabs(g[k]));
    }
    size_t np = ad_mlp_n_params(m);
    ad_param *const *ps = ad_mlp_params(m);
    for (size_t k = 0; k < np; k++)
        for (size_t i = 0; i < ad_param_count(ps[k]); i++)
            adj = isnan(ad_param_grad(ps[k])[i]) ? INFINITY : fmax(adj, fabs(ad_param_grad(ps[k])[i]));
    return adj;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in;
    fz_init(&in, data, size);
    static net n;
    memset(&n, 0, sizeof n);
    decode(&in, &n);
    ad_rng rng = ad_rng_make(n.seed);
    ad_mlp *m = NULL;
    ad_status st = ad_mlp_new(n.sizes, n.depth + 1, &n.o, &rng, &m);
    if (st != AD_OK) {
        print_net(&n, stderr);
        fz_fail("ad_mlp_new refused valid settings: %s", ad_status_name(st));
    }
    if (!t) {
        t = ad_tape_new(NULL);
        ta = ad_tape_new(NULL);
        if (!t || !ta || ad_tape_set_anomaly(ta, true) != AD_OK)
            fz_fail("cannot make the tapes");
    }
    ad_tape_reset(t);
    ad_var loss = record(t, m, &n);
    st = ad_tape_status(t);
    if (st == AD_OK)
        st = ad_backward(t, loss);
    if (st != AD_OK) {
        print_net(&n, stderr);
        fz_fail("recording or differentiating the MLP failed: %s: %s", ad_status_name(st), ad_tape_error(t));
    }
    double lv = ad_value_scalar(t, loss);
    fz_digest_double(lv);

    /* 1. The health report against norms computed here. */
    size_t np = ad_mlp_n_params(m);
    ad_param *const *ps = ad_mlp_params(m);
    ad_health_opts ho = ad_health_opts_default();
    ad_health_report hr;
    st = ad_health_check(t, ps, ad_mlp_param_names(m), np, &ho, &hr);
    if (st != AD_OK || hr.n_params != np) {
        print_net(&n, stderr);
        fz_fail("ad_health_check: %s, %zu params of %zu", ad_status_name(st), hr.n_params, np);
    }
    bool any_nonfinite = !isfinite(lv);
    for (size_t k = 0; k < np; k++) {
        const double *g = ad_param_grad(ps[k]);
        size_t c = ad_param_count(ps[k]);
        double nm = norm_of(g, c);
        fz_digest_double(nm);
        unsigned fl = hr.params[k].flags;
        /* an element, not the norm: finite elements can have a norm above DBL_MAX (exploding only) */
        bool nonfinite = false;
        for (size_t i = 0; i < c; i++)
            nonfinite |= !isfinite(g[i]);
        any_nonfinite |= nonfinite;
        const char *bad = NULL;
        if (nonfinite && !((fl & AD_HEALTH_NONFINITE) && (fl & AD_HEALTH_EXPLODING) && hr.nonfinite && hr.exploding))
            bad = "a non-finite gradient is not flagged non-finite and exploding";
        else if (!nonfinite && (fl & AD_HEALTH_NONFINITE))
            bad = "a finite gradient is flagged non-finite";
        else if (nm > ho.explode_norm * (1 + MARGIN) && !((fl & AD_HEALTH_EXPLODING) && hr.exploding))
            bad = "an exploding gradient is not flagged";
        else if (nm < ho.explode_norm * (1 - MARGIN) && (fl & AD_HEALTH_EXPLODING))
            bad = "a gradient below the explode threshold is flagged exploding";
        else if (nm < ho.vanish_norm * (1 - MARGIN) && !((fl & AD_HEALTH_VANISHING) && hr.vanishing))
            bad = "a vanishing gradient is not flagged";
        else if (nm > ho.vanish_norm * (1 + MARGIN) && (fl & AD_HEALTH_VANISHING))
            bad = "a gradient above the vanish threshold is flagged vanishing";
        if (bad) {
            print_net(&n, stderr);
            ad_health_print_text(&hr, stderr);
            fz_fail("health report: %s: %s (param %zu), norm here %a, reported %a, flags 0x%x", bad,
                    hr.params[k].name, k, nm, hr.params[k].norm, fl);
        }
    }
    ad_health_report_free(&hr);

    /* 2. Never silent: anomaly mode stops a run whose loss or gradient is not finite. */
    if (any_nonfinite) {
        ad_tape_reset(ta);
        ad_var la = record(ta, m, &n);
        st = ad_tape_status(ta);
        if (st == AD_OK)
            st = ad_backward(ta, la);
        if (st != AD_EDOMAIN || !ad_tape_error(ta)[0]) {
            print_net(&n, stderr);
            fz_fail("loss %a or a gradient is not finite, but anomaly mode gave %s (%s)", lv,
                    ad_status_name(st), ad_tape_error(ta));
        }
        goto done;
    }

    /* 3. Finite gradients of a small net against MPFR. */
    size_t coords = n.batch * n.sizes[0];
    for (size_t k = 0; k < np; k++)
        coords += ad_param_count(ps[k]);
    if (n.depth > CHECK_MAX_DEPTH || coords > CHECK_MAX_COORDS)
        goto done;
    char an[2][40];
    snprintf(an[0], sizeof an[0], "act:%s", ad_act_name(n.o.hidden));
    snprintf(an[1], sizeof an[1], "act:%s", ad_act_name(n.o.output));
    if (fz_name_skipped(an[0]) || fz_name_skipped(an[1]))
        goto done; /* an activation with an open finding (ADCHECK_FUZZ_SKIP) */
    for (size_t i = 0; i < n.batch * n.sizes[0]; i++)
        if (!isfinite(n.x[i]))
            goto done;
    double big = fabs(lv);
    for (size_t i = 0; i < n.batch * n.sizes[0]; i++)
        big = fmax(big, fabs(n.x[i]));
    ad_check_report r;
    bool finding;
    st = fz_check_run(t, loss, big, mlp_adj, m, false, &r, &finding);
    if (st != AD_OK) {
        print_net(&n, stderr);
        fz_fail("ad_check_grad could not run: %s: %s", ad_status_name(st), ad_tape_error(t));
    }
    fz_digest_mix(r.pass);
    if (finding) {
        print_net(&n, stderr);
        ad_check_report_print(&r, stderr);
        fz_fail("ad_check_grad on the MLP: mpfr %s (%.3g ulps), dot %s (rel %a); %s",
                r.mpfr.pass ? "pass" : "FAIL", r.mpfr.max_error,
                !r.dot.ran ? "not run" : r.dot.pass ? "pass" : "FAIL", r.dot.max_error, r.notes);
    }
    ad_check_report_free(&r);
done:
    ad_mlp_free(m);
    return 0;
}
