/* custom_op.c - a user-defined op (hinge: max(0, 1 - x)) with forward,
 * backward, tangent, MPFR reference and its kink, registered and verified
 * across its domain with ad_op_verify; a deliberately wrong backward (a sign
 * error) fails with a report naming where. Exit 0 when the right one passes
 * and the wrong one is caught. */
#include <math.h>
#include <stdio.h>
#include <ad/ad.h>
#include <ad/check.h>

static size_t count(const ad_shape *s)
{
    size_t n = 1;
    for (unsigned i = 0; i < s->rank; i++)
        n *= s->dim[i];
    return n;
}

/* y = max(0, 1 - x) */
static void hinge_forward(const ad_op_args *a, double *y)
{
    for (size_t i = 0; i < count(&a->ys); i++)
        y[i] = a->x[0][i] < 1.0 ? 1.0 - a->x[0][i] : 0.0;
}

/* dy/dx = -1 for x < 1, 0 for x > 1; at the kink x = 1 we choose 0 (any
 * value in [-1, 0] is a subgradient; 0 matches "inactive", as relu's default) */
static double hinge_d(double x)
{
    return x < 1.0 ? -1.0 : 0.0;
}

static void hinge_backward(const ad_op_args *a, const double *gy, double *const gx[AD_MAX_ARITY])
{
    if (gx[0])
        for (size_t i = 0; i < count(&a->ys); i++)
            gx[0][i] += gy[i] * hinge_d(a->x[0][i]);
}

/* the bug a tired author writes: the derivative of 1 - x taken as +1 */
static void hinge_backward_wrong(const ad_op_args *a, const double *gy,
                                 double *const gx[AD_MAX_ARITY])
{
    if (gx[0])
        for (size_t i = 0; i < count(&a->ys); i++)
            gx[0][i] += gy[i] * -hinge_d(a->x[0][i]);
}

static void hinge_jvp(const ad_op_args *a, const double *const dx[AD_MAX_ARITY], double *dy)
{
    for (size_t i = 0; i < count(&a->ys); i++)
        dy[i] = dx[0] ? hinge_d(a->x[0][i]) * dx[0][i] : 0.0;
}

/* the reference in MPFR: 1 - x exactly rounded, clamped at 0 */
static int hinge_reference(const ad_ref_args *a, mpfr_ptr y, mpfr_rnd_t rnd)
{
    for (size_t i = 0; i < count(&a->ys); i++) {
        mpfr_ui_sub(y + i, 1, a->x[0] + i, rnd);
        if (mpfr_sgn(y + i) < 0)
            mpfr_set_zero(y + i, 1);
    }
    return 0;
}

static int hinge_piece(const ad_op_args *a, size_t i)
{
    double x = a->x[0][i];
    return x < 1.0 ? -1 : x > 1.0 ? 1 : AD_PIECE_KINK;
}

static const ad_kink hinge_kinks[] = {
    {.at = 1.0, .left = -1.0, .right = 0.0, .choice = 0.0,
     .why = "0: the unit is inactive at the margin; any value in [-1, 0] is a subgradient"},
};

static const ad_op hinge = {
    .name = "hinge", .math = "max(0, 1 - x)", .arity = 1, .flags = AD_OP_ELEMENTWISE,
    .forward = hinge_forward, .backward = hinge_backward, .jvp = hinge_jvp,
    .reference = hinge_reference, .piece = hinge_piece, .kinks = hinge_kinks, .n_kinks = 1,
    .domain = {{-10}, {10}}, .ulp_fwd = 0.5, .ulp_bwd = 0,
};

static const ad_op hinge_wrong = {
    .name = "hinge_wrong", .math = "max(0, 1 - x) with a sign error", .arity = 1,
    .flags = AD_OP_ELEMENTWISE, .forward = hinge_forward, .backward = hinge_backward_wrong,
    .jvp = hinge_jvp, .reference = hinge_reference, .piece = hinge_piece, .kinks = hinge_kinks,
    .n_kinks = 1, .domain = {{-10}, {10}}, .ulp_fwd = 0.5, .ulp_bwd = 0,
};

static bool verify(const ad_op *op)
{
    char why[200] = "";
    if (ad_op_register(op, why, sizeof why) != AD_OK) {
        fprintf(stderr, "custom_op: register %s: %s\n", op->name, why);
        return false;
    }
    ad_op_report r;
    if (ad_op_verify(op, &AD_VERIFY_DEFAULTS, &r) != AD_OK)
        return false;
    printf("%-12s %s: %zu samples, %zu kinks checked, %zu failures; worst backward %.3g ulps at x = %g\n",
           op->name, r.pass ? "PASS" : "FAIL", r.samples, r.kinks_checked, r.failures, r.bwd.ulps,
           r.bwd.x[0]);
    if (!r.pass)
        printf("  first failure: %s\n", r.first_failure);
    return r.pass;
}

int main(void)
{
    bool good = verify(&hinge);
    bool wrong = verify(&hinge_wrong);
    /* and the registered op is an op like any other */
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_VEC(3), (double[]){-2, 0.5, 3});
    ad_var loss = ad_sum(t, ad_apply(t, &hinge, &x, 1, NULL, 0));
    bool used = ad_backward(t, loss) == AD_OK && ad_value_scalar(t, loss) == 3.5 &&
                ad_grad(t, x)[0] == -1.0 && ad_grad(t, x)[2] == 0.0;
    ad_tape_free(t);
    ad_op_unregister_all();
    bool ok = good && !wrong && used;
    printf("%s: the right hinge verifies, the sign error is caught\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
