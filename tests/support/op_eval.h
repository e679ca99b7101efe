/* op_eval.h - one op at one point: its value and gradients through a real tape. */
#ifndef AD_TEST_OP_EVAL_H
#define AD_TEST_OP_EVAL_H

#include <ad/ad.h>

/* y = op(x) with attributes attr[0..na) on a tape whose relu_at_zero is kg;
 * *g receives dy/dx by one backward. A tape error fails the test. */
static inline double eval1(const ad_op *op, double x, const double *attr, unsigned na, double kg, double *g)
{
    ad_tape_opts o = ad_tape_opts_default();
    o.relu_at_zero = kg;
    ad_tape *t = ad_tape_new(&o);
    ad_var v = ad_scalar(t, x);
    ad_var y = ad_apply(t, op, &v, 1, attr, na);
    if (ad_backward(t, y) != AD_OK)
        fail_msg("%s at %a: %s", op->name, x, ad_tape_error(t));
    double out = ad_value_scalar(t, y);
    *g = ad_grad(t, v)[0];
    ad_tape_free(t);
    return out;
}

/* y = op(a, b) for scalars; *ga, *gb receive the two partial derivatives. */
static inline double eval2(const ad_op *op, double a, double b, const double *attr, unsigned na,
                           double *ga, double *gb)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_var in[2] = {ad_scalar(t, a), ad_scalar(t, b)};
    ad_var y = ad_apply(t, op, in, 2, attr, na);
    if (ad_backward(t, y) != AD_OK)
        fail_msg("%s at (%a, %a): %s", op->name, a, b, ad_tape_error(t));
    double out = ad_value_scalar(t, y);
    *ga = ad_grad(t, in[0])[0];
    *gb = ad_grad(t, in[1])[0];
    ad_tape_free(t);
    return out;
}

/* The error ad_apply records for the given attributes on scalar inputs 1.0
 * (the op's node is node op->arity). */
static inline ad_status attr_error(const ad_op *op, const double *attr, unsigned na, char *msg, size_t len)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_var in[AD_MAX_ARITY];
    for (unsigned i = 0; i < op->arity; i++)
        in[i] = ad_scalar(t, 1.0);
    ad_apply(t, op, in, op->arity, attr, na);
    ad_status st = ad_tape_status(t);
    snprintf(msg, len, "%s", ad_tape_error(t));
    ad_tape_free(t);
    return st;
}

#endif
