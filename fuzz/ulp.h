/* ulp.h - distance in ulps between a double and an MPFR reference (llvm-libc's habit). */
#ifndef FZ_ULP_H
#define FZ_ULP_H

#include <mpfr.h>

/**
 * |got - ref| in units of the last place of a double at ref's magnitude
 * (subnormal ulp 2^-1074 below DBL_MIN; +-inf counts as +-2^1024, one ulp
 * past DBL_MAX, so an overflow next to the threshold is a small error).
 * @return 0 when both are NaN; INFINITY when only one is, or for
 *         infinities of opposite sign.
 */
double fz_ulps(double got, mpfr_srcptr ref);

/** @return the ulp of a double at ref's magnitude, as a double (0 for NaN). */
double fz_ulp_of(mpfr_srcptr ref);

#endif
