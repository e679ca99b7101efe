/* common.h - the helper the examples share: a seeded data set. */
#ifndef AD_EXAMPLES_COMMON_H
#define AD_EXAMPLES_COMMON_H

#include <math.h>
#include <ad/ad.h>

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
