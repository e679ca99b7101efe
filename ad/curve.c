/* curve.c - a loss curve as a one-line sparkline and as CSV. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

ad_status ad_sparkline(const double *y, size_t n, size_t width, char *buf, size_t len)
{
    static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                        "\u2585", "\u2586", "\u2587", "\u2588"};
    if ((!y && n) || !buf || len == 0 || width == 0)
        return AD_EINVAL;
    buf[0] = '\0';
    size_t cells = n < width ? n : width;
    bool logscale = true;
    for (size_t i = 0; i < n; i++)
        logscale &= !(y[i] <= 0.0) ; /* NaN stays true: it draws as '!' anyway */
    double lo = INFINITY, hi = -INFINITY, cell[512];
    if (cells > sizeof cell / sizeof cell[0])
        cells = sizeof cell / sizeof cell[0];
    for (size_t c = 0; c < cells; c++) {
        size_t a = c * n / cells, b = (c + 1) * n / cells;
        double s = 0.0;
        for (size_t i = a; i < b; i++)
            s += logscale ? log(y[i]) : y[i];
        cell[c] = s / (double)(b - a);
        if (isfinite(cell[c])) {
            lo = fmin(lo, cell[c]);
            hi = fmax(hi, cell[c]);
        }
    }
    size_t used = 0;
    for (size_t c = 0; c < cells; c++) {
        const char *g = "!";
        if (isfinite(cell[c])) {
            int k = hi > lo ? (int)floor((cell[c] - lo) / (hi - lo) * 7.0 + 0.5) : 0;
            g = bars[k < 0 ? 0 : k > 7 ? 7 : k];
        }
        size_t gl = strlen(g);
        if (used + gl + 1 > len)
            return AD_ELIMIT;
        memcpy(buf + used, g, gl + 1);
        used += gl;
    }
    return AD_OK;
}

ad_status ad_curve_write_csv(const char *path, const double *y, size_t n)
{
    if (!path || (!y && n))
        return AD_EINVAL;
    FILE *f = fopen(path, "w");
    if (!f)
        return AD_EIO;
    fputs("step,loss\n", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%.17g\n", i + 1, y[i]);
    bool bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    return bad ? AD_EIO : AD_OK;
}
