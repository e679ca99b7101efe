/* ref_eval.h - the forward value of a traced program in MPFR, from each op's reference. */
#ifndef ADCHECK_REF_EVAL_H
#define ADCHECK_REF_EVAL_H

#include <mpfr.h>
#include "expr.h"

/**
 * Replays tr (recorded on t by expr_eval_trace) in MPFR at prec bits; leaves
 * take their double values from the tape.
 * @param y     receives the value of out (a scalar), initialised by the caller
 * @param why   receives a reason on failure
 * @return true, or false (an op without a reference, out of memory) with why
 */
bool ref_eval(const ad_tape *t, const expr_trace *tr, ad_var out, mpfr_prec_t prec, mpfr_ptr y,
              char *why, size_t why_len);

/** The error of an engine value against a reference, in ulps of the reference rounded to double. */
double ref_ulps(double engine, mpfr_srcptr ref);

#endif
