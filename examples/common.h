/* common.h - the few helpers the examples share: a composed MSE loss and a seeded data set. */
#ifndef AD_EXAMPLES_COMMON_H
#define AD_EXAMPLES_COMMON_H

#include <math.h>
#include <ad/ad.h>

/* mean((y - target)^2) from sub, mul and mean; becomes ad_mse once the op
 * library has it (a one-line change here). */
static inline ad_var ex_mse(ad_tape *t, ad_var y, ad_var target)
{
    ad_var d = ad_sub(t, y, target);
    return ad_mean(t, ad_mul(t, d, d));
}

/* n points uniform in [-1, 1]^2 and the smooth target sin(2 x0) + x1^2 - 0.5. */
static inline void ex_regression_data(ad_rng *r, int n, double *x, double *y)
{
    for (int i = 0; i < n; i++) {
        x[2 * i] = 2 * ad_rng_uniform(r) - 1;
        x[2 * i + 1] = 2 * ad_rng_uniform(r) - 1;
        y[i] = sin(2 * x[2 * i]) + x[2 * i + 1] * x[2 * i + 1] - 0.5;
    }
}

#endif
