/* error.c - the sticky first error of a tape: one function every failure passes through. */
#include <stdio.h>
#include <string.h>
#include "internal.h"

static const char nomem_msg[] = "out of memory (allocator returned NULL)";

ad_status ad__fail(ad_tape *t, ad_status status, const char *fmt, ...)
{
    if (!t || t->is_static || t->status != AD_OK)
        return status;
    t->status = status;
    if (status == AD_ENOMEM && !fmt) {
        memcpy(t->msg, nomem_msg, sizeof nomem_msg);
        return status;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    return status;
}

ad_status ad_tape_status(const ad_tape *t)
{
    return t ? t->status : AD_EINVAL;
}

const char *ad_tape_error(const ad_tape *t)
{
    if (!t)
        return "ad_tape_error: the tape is NULL";
    return t->msg;
}
