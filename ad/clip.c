/* clip.c - gradient clipping by global norm and by value; both report the norm before. */
#include <math.h>
#include "internal.h"

/* The global L2 norm of all gradients, scaled by the largest |g| first (as
 * BLAS dnrm2) so that gradients near DBL_MAX do not overflow the sum of
 * squares. Returns NaN or inf when a gradient is; AD_EINVAL for bad lists. */
static ad_status global_norm(ad_param *const *params, size_t n, double *out)
{
    if (n && !params)
        return AD_EINVAL;
    double big = 0.0;
    bool nan = false;
    for (size_t k = 0; k < n; k++) {
        if (!params[k])
            return AD_EINVAL;
        for (size_t i = 0; i < params[k]->count; i++) {
            double a = fabs(params[k]->grad[i]);
            nan |= isnan(a);
            if (a > big)
                big = a;
        }
    }
    if (nan || isinf(big)) {
        *out = nan ? NAN : INFINITY;
        return AD_EDOMAIN;
    }
    if (big == 0.0) {
        *out = 0.0;
        return AD_OK;
    }
    double s = 0.0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < params[k]->count; i++) {
            double q = params[k]->grad[i] / big;
            s += q * q;
        }
    *out = big * sqrt(s);
    return AD_OK;
}

ad_status ad_clip_grad_norm(ad_param *const *params, size_t n, double max_norm, double *norm_before)
{
    if (!isfinite(max_norm) || max_norm < 0.0)
        return AD_EINVAL;
    double norm = 0.0;
    ad_status st = global_norm(params, n, &norm);
    if (norm_before && st != AD_EINVAL)
        *norm_before = norm;
    if (st != AD_OK || norm <= max_norm)
        return st;
    double scale = max_norm / norm;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < params[k]->count; i++)
            params[k]->grad[i] *= scale;
    return AD_OK;
}

ad_status ad_clip_grad_value(ad_param *const *params, size_t n, double clip, double *norm_before)
{
    if (!isfinite(clip) || clip < 0.0)
        return AD_EINVAL;
    double norm = 0.0;
    ad_status st = global_norm(params, n, &norm);
    if (norm_before && st != AD_EINVAL)
        *norm_before = norm;
    if (st != AD_OK)
        return st;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < params[k]->count; i++)
            params[k]->grad[i] = fmin(clip, fmax(-clip, params[k]->grad[i]));
    return AD_OK;
}
