/* check_run.c - ad_check_grad as every harness runs it, cheap precision first. */
#include <stdlib.h>
#include "check_run.h"
#include "opdecode.h"
#include "report.h"

#define FAST_PREC 127

static ad_status run(ad_tape *t, ad_var loss, unsigned prec, ad_check_report *r)
{
    ad_check_opts o = ad_check_opts_default();
    o.fd = false; /* double FD is the noisy witness; MPFR and the dot test decide */
    o.mpfr = true;
    o.dot = true;
    o.fast = true;
    o.n_directions = 2;
    o.prec = prec;
    o.seed = 1;
    return ad_check_grad(t, loss, &o, r);
}

ad_status fz_check_run(ad_tape *t, ad_var loss, double big, fz_adj_fn adj, void *ctx, bool cheap_first,
                       ad_check_report *r, bool *finding)
{
    unsigned full = fz_check_prec();
    unsigned first = getenv("ADCHECK_FUZZ_PREC") || !cheap_first ? full : FAST_PREC;
    *finding = false;
    ad_status st = run(t, loss, first, r);
    if (st != AD_OK)
        return st;
    bool bad = fz_check_conclusive(r, big, adj(ctx), first);
    if (first == full || (!bad && (r->pass || r->ref_confirmed)))
        return AD_OK;
    ad_check_report_free(r);
    st = run(t, loss, full, r);
    if (st == AD_OK)
        *finding = fz_check_conclusive(r, big, adj(ctx), full);
    return st;
}
