/* init.c - parameter initializers: the formulas of Glorot & Bengio (2010), He et al. (2015), Saxe et al. (2014). */
#include <math.h>
#include "internal.h"

double ad_init_gain(ad_gain_kind kind, double slope)
{
    switch (kind) {
    case AD_GAIN_LINEAR:
    case AD_GAIN_SIGMOID:
        return 1.0;
    case AD_GAIN_TANH:
        return 5.0 / 3.0;
    case AD_GAIN_RELU:
        return sqrt(2.0);
    case AD_GAIN_LEAKY_RELU:
        /* half the inputs pass with slope 1, half with slope s: E[f(x)^2] = (1 + s^2)/2 Var x */
        return isfinite(slope) ? sqrt(2.0 / (1.0 + slope * slope)) : NAN;
    default:
        return NAN;
    }
}

ad_status ad_init_fans(const ad_param *p, size_t *fan_in, size_t *fan_out)
{
    if (!p)
        return AD_EINVAL;
    if (p->shape.rank != 2 || p->shape.dim[0] == 0 || p->shape.dim[1] == 0)
        return AD_ESHAPE;
    if (fan_in)
        *fan_in = p->shape.dim[0];
    if (fan_out)
        *fan_out = p->shape.dim[1];
    return AD_OK;
}

ad_status ad_init_zeros(ad_param *p)
{
    return ad_init_constant(p, 0.0);
}

ad_status ad_init_constant(ad_param *p, double c)
{
    if (!p || !isfinite(c))
        return AD_EINVAL;
    for (size_t i = 0; i < p->count; i++)
        p->data[i] = c;
    return AD_OK;
}

ad_status ad_init_uniform(ad_param *p, ad_rng *r, double a, double b)
{
    if (!p || !r || !isfinite(a) || !isfinite(b) || a > b || !isfinite(b - a))
        return AD_EINVAL;
    for (size_t i = 0; i < p->count; i++)
        p->data[i] = a + (b - a) * ad_rng_uniform(r);
    return AD_OK;
}

ad_status ad_init_normal(ad_param *p, ad_rng *r, double mean, double std)
{
    if (!p || !r || !isfinite(mean) || !isfinite(std) || std < 0.0)
        return AD_EINVAL;
    for (size_t i = 0; i < p->count; i++)
        p->data[i] = mean + std * ad_rng_normal(r);
    return AD_OK;
}

/* The checks every fan-based initializer shares; writes the chosen fan sum. */
static ad_status fan_args(const ad_param *p, const ad_rng *r, double gain, double *fi, double *fo)
{
    if (!p || !r || !isfinite(gain) || gain < 0.0)
        return AD_EINVAL;
    size_t in = 0, out = 0; /* stay 0 when the fans are refused */
    ad_status st = ad_init_fans(p, &in, &out);
    *fi = (double)in;
    *fo = (double)out;
    return st;
}

ad_status ad_init_xavier_uniform(ad_param *p, ad_rng *r, double gain)
{
    double fi, fo;
    ad_status st = fan_args(p, r, gain, &fi, &fo);
    if (st != AD_OK)
        return st;
    double a = gain * sqrt(6.0 / (fi + fo)); /* U(-a, a) has variance a^2 / 3 */
    return ad_init_uniform(p, r, -a, a);
}

ad_status ad_init_xavier_normal(ad_param *p, ad_rng *r, double gain)
{
    double fi, fo;
    ad_status st = fan_args(p, r, gain, &fi, &fo);
    if (st != AD_OK)
        return st;
    return ad_init_normal(p, r, 0.0, gain * sqrt(2.0 / (fi + fo)));
}

ad_status ad_init_kaiming_uniform(ad_param *p, ad_rng *r, ad_fan_mode mode, double gain)
{
    double fi, fo;
    if (mode != AD_FAN_IN && mode != AD_FAN_OUT)
        return AD_EINVAL;
    ad_status st = fan_args(p, r, gain, &fi, &fo);
    if (st != AD_OK)
        return st;
    double a = gain * sqrt(3.0 / (mode == AD_FAN_IN ? fi : fo));
    return ad_init_uniform(p, r, -a, a);
}

ad_status ad_init_kaiming_normal(ad_param *p, ad_rng *r, ad_fan_mode mode, double gain)
{
    double fi, fo;
    if (mode != AD_FAN_IN && mode != AD_FAN_OUT)
        return AD_EINVAL;
    ad_status st = fan_args(p, r, gain, &fi, &fo);
    if (st != AD_OK)
        return st;
    return ad_init_normal(p, r, 0.0, gain / sqrt(mode == AD_FAN_IN ? fi : fo));
}

/* Vector k of a strided family: element i is at x[k * kstep + i * istep]. */
typedef struct vecs {
    double *x;
    size_t n, len, kstep, istep;
} vecs;

static double dot(const vecs *v, size_t a, size_t b)
{
    double s = 0.0;
    for (size_t i = 0; i < v->len; i++)
        s += v->x[a * v->kstep + i * v->istep] * v->x[b * v->kstep + i * v->istep];
    return s;
}

/* Modified Gram-Schmidt over the family; false when a vector collapses. */
static bool mgs(const vecs *v)
{
    for (size_t k = 0; k < v->n; k++) {
        for (size_t j = 0; j < k; j++) {
            double c = dot(v, j, k);
            for (size_t i = 0; i < v->len; i++)
                v->x[k * v->kstep + i * v->istep] -= c * v->x[j * v->kstep + i * v->istep];
        }
        double norm = sqrt(dot(v, k, k));
        /* a Gaussian vector almost never lies this close to the span of the others */
        if (!(norm > 1e-10 * sqrt((double)v->len)))
            return false;
        for (size_t i = 0; i < v->len; i++)
            v->x[k * v->kstep + i * v->istep] /= norm;
    }
    return true;
}

ad_status ad_init_orthogonal(ad_param *p, ad_rng *r, double gain)
{
    if (!p || !r || !isfinite(gain))
        return AD_EINVAL;
    ad_status st = ad_init_fans(p, NULL, NULL);
    if (st != AD_OK)
        return st;
    size_t m = p->shape.dim[0], n = p->shape.dim[1];
    for (size_t i = 0; i < p->count; i++)
        p->data[i] = ad_rng_normal(r);
    /* tall: orthonormal columns (stride n); wide: orthonormal rows (stride 1) */
    vecs v = m >= n ? (vecs){p->data, n, m, 1, n} : (vecs){p->data, m, n, n, 1};
    /* the second pass removes what rounding left of the first's projections;
     * it keeps positive norms, so R's diagonal stays positive (Q's sign fix) */
    if (!mgs(&v) || !mgs(&v))
        return AD_EDOMAIN;
    for (size_t i = 0; i < p->count; i++)
        p->data[i] *= gain;
    return AD_OK;
}
