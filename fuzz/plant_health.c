/* plant_health.c - the planted defect of fuzz_deepnet_planted: the gradient-health
 * check with its explode threshold doubled, so a norm in (explode_norm,
 * 2 explode_norm] passes as healthy. Linked only into that binary, which wraps
 * the library's function (-Wl,--wrap=ad_health_check): the library stays as it is. */
#include <ad/ad.h>

ad_status __real_ad_health_check(const ad_tape *t, ad_param *const *params, const char *const *names,
                                 size_t n, const ad_health_opts *opts, ad_health_report *out);
ad_status __wrap_ad_health_check(const ad_tape *t, ad_param *const *params, const char *const *names,
                                 size_t n, const ad_health_opts *opts, ad_health_report *out);

ad_status __wrap_ad_health_check(const ad_tape *t, ad_param *const *params, const char *const *names,
                                 size_t n, const ad_health_opts *opts, ad_health_report *out)
{
    ad_health_opts o = opts ? *opts : ad_health_opts_default();
    o.explode_norm *= 2.0; /* the planted defect */
    return __real_ad_health_check(t, params, names, n, &o, out);
}
