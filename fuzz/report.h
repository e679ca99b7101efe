/* report.h - how a harness reports a property violation: an explanation, then abort(). */
#ifndef FZ_REPORT_H
#define FZ_REPORT_H

#include <stdbool.h>
#include <mpfr.h>

/* Prints "fuzz finding: " and the message to stderr, then aborts: inside a
 * harness that is how a finding reaches libFuzzer (and the replay main). */
_Noreturn void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Formats an MPFR value with 25 significant digits into buf (for messages). */
const char *fz_mpfr_str(char *buf, size_t len, mpfr_srcptr x);

/* Whether a failed ad_check_grad report is a finding: the check proved
 * something (not vacuous), an MPFR verdict rests on a confirmed reference, and
 * some coordinate (or direction) fails for a reason this function re-derives:
 * a plain mismatch larger than 2^-44 times adj (the largest adjoint on the
 * tape, at least 1: below it, rounding noise on a zero gradient), more than
 * 2^-30 relative (below: rounding in an ill-conditioned program), and more
 * than big 2^(96 - prec) when big, the largest magnitude on the tape, exceeds
 * 2^64 (below: the replay's difference cancelled at prec bits; this applies
 * to kink verdicts too); an engine NaN or inf
 * beside a finite reference (not a NaN reference beside a finite engine value:
 * the replay left the domain, a checker defect; nor one where adj is inf: an
 * adjoint overflowed and 0 * inf made the NaN). Kink verdicts ("kink-bad")
 * are not used: with several kinks on one coordinate the checker's interval
 * of two one-sided values is narrower than the valid choices, a defect of the
 * checker (fuzz/findings/README.md), not of the gradient. */
struct ad_check_report;
bool fz_check_conclusive(const struct ad_check_report *r, double big, double adj, unsigned prec);

#endif
