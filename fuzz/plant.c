/* plant.c - planted defects for the teeth tests: compiled only into the *_planted
 * harnesses, it registers custom ops whose backward is wrong in a narrow region,
 * so a test (and a timed libFuzzer run) can prove the oracles find it. */
#include <math.h>
#include <ad/ad.h>
#include "harness.h"

/* cube: y = x^3; jvp 3x^2 (right); backward 3x^2, but 3x^2 (1 + 2^-20) for x in
 * (1.25, 1.5): a wrong derivative far above rounding, invisible at most inputs. */
static size_t count_of(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned d = 0; d < s->rank; d++)
        n *= s->dim[d];
    return n;
}

static void cube_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0, n = count_of(&a->ys); i < n; i++)
        y[i] = a->x[0][i] * a->x[0][i] * a->x[0][i];
}

static void cube_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    for (size_t i = 0, n = count_of(&a->ys); gx[0] && i < n; i++) {
        /* (gy x)(3 x): no intermediate overflow when the product is finite */
        double x = a->x[0][i], d = (gy[i] * x) * (3.0 * x);
        if (x > 1.25 && x < 1.5)
            d *= 1.0 + ldexp(1.0, -20); /* the planted defect */
        gx[0][i] += d;
    }
}

static void cube_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0, n = count_of(&a->ys); i < n; i++)
        dy[i] = dx[0] ? (dx[0][i] * a->x[0][i]) * (3.0 * a->x[0][i]) : 0.0; /* as the backward */
}

static int cube_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t r)
{
    for (size_t i = 0, n = count_of(&a->ys); i < n; i++)
        mpfr_pow_ui(y + i, a->x[0] + i, 3, r);
    return 0;
}

static const ad_op plant_cube = {
    .name = "plant_cube", .math = "x^3 (planted wrong backward)", .arity = 1,
    .flags = AD_OP_ELEMENTWISE, .forward = cube_forward, .backward = cube_backward,
    .jvp = cube_jvp, .reference = cube_reference, .domain = {{-2}, {2}},
    .ulp_fwd = 2, .ulp_bwd = 3,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!ad_op_find("plant_cube"))
        ad_op_register(&plant_cube, NULL, 0);
    return 0;
}
