/* fuzz_alloc.c - the allocator fails on a decoded schedule while a decoded program is
 * built, differentiated, reset and built again: every failure must be a clean
 * AD_ENOMEM, results that do come back must be right, and nothing may leak. */
#include <stdio.h>
#include <string.h>
#include <ad/ad.h>
#include "decode.h"
#include "digest.h"
#include "fz_alloc.h"
#include "harness.h"
#include "program.h"
#include "report.h"

/* Everything one run of the program yields. */
typedef struct outcome {
    ad_status param, build[2], back[2];
    double grad[2][FZ_MAX_NODES][FZ_LEAF_VALS];
    double pgrad[FZ_MAX_LEAVES][FZ_LEAF_VALS];
} outcome;

static const fz_prog *cur; /* for messages */

static _Noreturn void finding(const char *what, const fz_alloc *a)
{
    fz_prog_print(cur, stderr);
    if (a)
        fz_fail("%s (allocation schedule: mask %#llx, from %zu; %zu requests, %zu refused)", what,
                (unsigned long long)a->fail_mask, a->fail_from, a->calls, a->failures);
    fz_fail("%s (default allocator)", what);
}

/* A status from a run under a failing allocator: AD_OK or a clean AD_ENOMEM. */
static void expect_clean(ad_status st, ad_tape *t, const fz_alloc *a, const char *step)
{
    char msg[700];
    if (st == AD_OK)
        return;
    if (st != AD_ENOMEM || (t && !ad_tape_error(t)[0])) {
        snprintf(msg, sizeof msg, "%s returned %s with message '%s', expected AD_OK or AD_ENOMEM",
                 step, ad_status_name(st), t ? ad_tape_error(t) : "");
        finding(msg, a);
    }
}

static void run(const fz_prog *p, fz_alloc *fa, outcome *o)
{
    ad_allocator al = fa ? fz_allocator(fa) : (ad_allocator){NULL, NULL};
    ad_param *par[FZ_MAX_LEAVES] = {NULL};
    size_t n_par = 0;
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < p->n; i++) {
        if (p->node[i].kind != FZ_LEAF_PARAM)
            continue;
        o->param = ad_param_new(p->node[i].shape, p->node[i].val, &al, &par[n_par]);
        if (o->param != AD_OK) {
            expect_clean(o->param, NULL, fa, "ad_param_new");
            if (par[n_par])
                finding("ad_param_new failed but handed out a parameter", fa);
            o->build[0] = o->build[1] = o->back[0] = o->back[1] = o->param; /* nothing ran */
            goto out;
        }
        n_par++;
    }
    ad_tape_opts opts = ad_tape_opts_default();
    opts.alloc = al;
    opts.chunk_bytes = 1024; /* small chunks: more allocations to fail */
    opts.relu_at_zero = p->relu_at_zero;
    ad_tape *t = ad_tape_new(&opts);
    ad_var v[FZ_MAX_NODES];
    for (int round = 0; round < 2; round++) {
        /* Round 2 reuses the tape's memory after a reset, as a training loop does. */
        if (round)
            ad_tape_reset(t);
        o->build[round] = fz_prog_record(p, t, par, v);
        expect_clean(o->build[round], t, fa, round ? "recording after ad_tape_reset" : "recording");
        o->back[round] = ad_backward(t, v[p->n - 1]);
        expect_clean(o->back[round], t, fa, round ? "ad_backward after ad_tape_reset" : "ad_backward");
        if (o->build[round] != AD_OK && o->back[round] != o->build[round])
            finding("ad_backward on a tape in error did not return its sticky error", fa);
        for (size_t i = 0; o->back[round] == AD_OK && i < p->n; i++) {
            const double *g = p->node[i].kind == FZ_NODE_OP ? NULL : ad_grad(t, v[i]);
            if (g)
                memcpy(o->grad[round][i], g, p->node[i].count * sizeof *g);
        }
    }
    ad_tape_free(t);
    for (size_t i = 0; i < n_par; i++)
        memcpy(o->pgrad[i], ad_param_grad(par[i]), ad_param_count(par[i]) * sizeof(double));
out:
    for (size_t i = 0; i < n_par; i++) {
#ifdef FZ_PLANT_LEAK
        if (o->param != AD_OK)
            continue; /* planted defect (teeth build only): a leak on an error path */
#endif
        ad_param_free(par[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_prog prog;
    static fz_alloc fa;
    static outcome ref, got;
    fz_in in;
    fz_init(&in, data, size);
    memset(&fa, 0, sizeof fa);
    uint8_t mode = fz_u8(&in);
    switch (mode % 4) {
    case 0:
        fa.fail_mask = 1ull << fz_range(&in, 0, 63);
        break;
    case 1:
        fa.fail_from = (size_t)fz_range(&in, 1, 64);
        break;
    case 2:
        fa.fail_mask = fz_u64(&in);
        break;
    default:
        fa.fail_mask = 1ull << fz_range(&in, 0, 63) | 1ull << fz_range(&in, 0, 63);
    }
    if (!fz_prog_decode(&in, &prog, true))
        return 0;
    cur = &prog;
    run(&prog, NULL, &ref);
    if (ref.param != AD_OK || ref.build[0] != AD_OK || ref.back[0] != AD_OK)
        finding("the program fails without any allocation failure", NULL);
    run(&prog, &fa, &got);
    fz_digest_mix(fa.calls);
    fz_digest_mix(fa.failures);
    if (fa.live_bytes != 0) {
        char msg[120];
        snprintf(msg, sizeof msg, "%zu bytes leaked", fa.live_bytes);
        finding(msg, &fa);
    }
    if (fa.bad_size)
        finding("a free or resize told the allocator the wrong old size", &fa);
    bool all_ok = got.param == AD_OK;
    for (int r = 0; r < 2; r++) {
        fz_digest_mix((uint64_t)got.build[r] << 8 | got.back[r]);
        all_ok &= got.build[r] == AD_OK && got.back[r] == AD_OK;
        if (got.back[r] == AD_OK && memcmp(got.grad[r], ref.grad[r], sizeof got.grad[r]) != 0)
            finding("a backward that succeeded after allocation failures gave other gradients", &fa);
    }
    if (all_ok && memcmp(got.pgrad, ref.pgrad, sizeof got.pgrad) != 0)
        finding("parameter gradients differ after allocation failures", &fa);
    if (fa.failures == 0 && !all_ok)
        finding("an error although no allocation failed", &fa);
    return 0;
}
