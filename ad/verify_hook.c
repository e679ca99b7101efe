/* verify_hook.c - verifying every backward pass: the tape setting, the
 * AD_VERIFY environment variable and the check ad_backward runs. */
#include <stdlib.h>
#include <string.h>
#include "check_int.h"

/* Above this many coordinates the hook checks random directions (fast mode). */
#define HOOK_FAST_ABOVE 64

uint8_t ad__verify_env(void)
{
    const char *v = getenv("AD_VERIFY");
    if (!v)
        return AD_VERIFY_OFF;
    if (strcmp(v, "fd") == 0)
        return AD_VERIFY_FD;
    if (strcmp(v, "mpfr") == 0)
        return AD_VERIFY_MPFR;
    if (strcmp(v, "all") == 0)
        return AD_VERIFY_ALL;
    return AD_VERIFY_OFF; /* "off" and anything unknown: never surprise a caller */
}

ad_status ad_tape_set_verify(ad_tape *t, ad_verify_mode mode)
{
    if (!t)
        return AD_EINVAL;
    if ((unsigned)mode > AD_VERIFY_ALL)
        return ad__fail(t, AD_EINVAL, "ad_tape_set_verify: mode %d is not an ad_verify_mode",
                        (int)mode);
    if (t->is_static)
        return t->status;
    t->verify = (uint8_t)mode;
    return AD_OK;
}

ad_status ad__verify_backward(ad_tape *t, ad_var loss)
{
    ad_check_opts o = ad_check_opts_default();
    o.fd = t->verify == AD_VERIFY_FD || t->verify == AD_VERIFY_ALL;
    o.mpfr = t->verify == AD_VERIFY_MPFR || t->verify == AD_VERIFY_ALL;
    o.dot = t->verify == AD_VERIFY_ALL;
    o.fast_above = HOOK_FAST_ABOVE;
    ad_check_report r;
    ad_status st = ad_check_grad(t, loss, &o, &r);
    if (st != AD_OK)
        return st;
    if (!r.pass) {
        char line[400] = "the dot-product test failed";
        if (r.n_coords)
            ad__coord_line(&r.coords[0], line, sizeof line);
        st = ad__fail(t, AD_ECHECK, "ad_backward: gradient check failed: %s", line);
    }
    ad_check_report_free(&r);
    return st;
}
