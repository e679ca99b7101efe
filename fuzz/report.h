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
 * something (not vacuous), an MPFR verdict rests on a confirmed reference,
 * and a coordinate, a direction or the dot test fails, except an engine NaN
 * or inf where adj (the largest adjoint on the tape) is inf: an adjoint
 * overflowed and 0 * inf made the NaN, a limit of double that fuzz_op judges
 * op by op. big (the largest magnitude on the tape) and prec are no longer
 * needed: the checker raises its precision under cancellation itself. */
struct ad_check_report;
bool fz_check_conclusive(const struct ad_check_report *r, double big, double adj, unsigned prec);

#endif
