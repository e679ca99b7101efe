/* report.c - findings: one explained message on stderr, then abort(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "report.h"

_Noreturn void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("fuzz finding: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort(); /* the one right place for abort: it is how a harness reports */
}

const char *fz_mpfr_str(char *buf, size_t len, mpfr_srcptr x)
{
    mpfr_snprintf(buf, len, "%.25Rg", x);
    return buf;
}
