/* check_run.h - ad_check_grad as every harness runs it, cheap precision first. */
#ifndef FZ_CHECK_RUN_H
#define FZ_CHECK_RUN_H

#include <stdbool.h>
#include <ad/ad.h>

/* The largest adjoint on the tape after the check's own sweep (at least 1). */
typedef double (*fz_adj_fn)(void *ctx);

/**
 * ad_check_grad on loss: fast mode with 2 directions, the MPFR replay and the
 * dot test, no double FD; first at 127 bits (MPFR's two-limb fast paths, the
 * check confirms at 190), and again at fz_check_prec() (256) only when that
 * run is a finding by fz_check_conclusive or its reference is unconfirmed, so
 * a finding always rests on the full precision. cheap_first false, or
 * ADCHECK_FUZZ_PREC set: one run at the full precision (fuzz_deepnet: its
 * deep or huge nets often leave the 127-bit reference unconfirmed, and two
 * runs cost more than one). big: the largest magnitude on the tape; adj(ctx)
 * is read after the last run.
 * @return the check's status (AD_OK: *r holds the last report, the caller
 *         frees it; *finding says whether it is a finding).
 */
ad_status fz_check_run(ad_tape *t, ad_var loss, double big, fz_adj_fn adj, void *ctx, bool cheap_first,
                       ad_check_report *r, bool *finding);

#endif
