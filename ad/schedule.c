/* schedule.c - learning-rate schedules as pure functions of the step. */
#include <math.h>
#include "internal.h"

double ad_lr_step_decay(double base, size_t step, size_t every, double gamma)
{
    if (every == 0 || !(base > 0.0) || !isfinite(base) || !(gamma > 0.0 && gamma <= 1.0))
        return NAN;
    return base * pow(gamma, (double)(step / every));
}

double ad_lr_cosine(double base, double min, size_t step, size_t total)
{
    if (total == 0 || !(base > 0.0) || !isfinite(base) || !(min >= 0.0 && min <= base))
        return NAN;
    double s = (double)(step < total ? step : total);
    return min + (base - min) * 0.5 * (1.0 + cos(3.14159265358979323846 * s / (double)total));
}
