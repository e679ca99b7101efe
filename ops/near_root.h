/* near_root.h - a derivative next to its own zero, without cancellation.
 *
 * silu, gelu, gelu_tanh and mish have a derivative that vanishes at one point r
 * (-1.278, -0.752, -0.752, -1.192). Their closed forms add two terms of about
 * 0.25 and opposite sign there, so within 0.002 of r a few ulps of the terms are
 * hundreds of ulps of f' (2,000 to 10,000 within 0.001). Next to r the kernels
 * take f'(x) = the integral of f'' from r to x instead: f'' keeps its sign on
 * the whole window, so the sum below adds terms of one sign and cancels nothing.
 * The rule is 8-point Gauss-Legendre (exact for polynomials of degree 15; on a
 * window of half-width 1/2 its error is below 1e-20 of these smooth f''). r is
 * carried as hi + lo (60-digit values, mpmath; the tests check f'(r) = 0 in
 * MPFR) so that t = x - r keeps its digits: x - hi is exact by Sterbenz. */
#ifndef AD_OPS_NEAR_ROOT_H
#define AD_OPS_NEAR_ROOT_H

#include <math.h>

/* half-width of the window around r: there the integral is used (measured: the
 * closed forms are within 4 ulps outside, tests/test_ops_activation.c) */
#define AD__NEAR_ROOT 0.5

typedef struct ad__deriv_root {
    double hi, lo;          /* the zero of f', r = hi + lo */
    double (*d2)(double x); /* f'', of one sign on the window */
} ad__deriv_root;

static inline int ad__near_root(double x, const ad__deriv_root *r)
{
    return fabs(x - r->hi) <= AD__NEAR_ROOT;
}

/* f'(x) = int_r^x f''(s) ds for x within AD__NEAR_ROOT of r. */
static inline double ad__deriv_near_root(double x, const ad__deriv_root *r)
{
    /* Gauss-Legendre nodes (of the pairs +-node) and weights on [-1, 1] */
    static const double node[4] = {0.1834346424956498, 0.525532409916329, 0.7966664774136267,
                                   0.9602898564975363};
    static const double weight[4] = {0.362683783378362, 0.31370664587788727, 0.22238103445337448,
                                     0.10122853629037626};
    double t = (x - r->hi) - r->lo, h = 0.5 * t, mid = r->hi + h, s = 0.0;
    for (int i = 3; i >= 0; i--) /* the smaller weights first */
        s += weight[i] * (r->d2(mid - h * node[i]) + r->d2(mid + h * node[i]));
    return h * s;
}

#endif
