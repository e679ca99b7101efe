/* report.h - how a harness reports a property violation: an explanation, then abort(). */
#ifndef FZ_REPORT_H
#define FZ_REPORT_H

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

#endif
