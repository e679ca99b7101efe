/* demo.c - the README's first command: differentiate a small program by
 * reverse mode and verify the gradient against finite differences, the MPFR
 * replay and forward mode, with one input sitting on relu's kink.
 * Exit status 0 when every witness agrees. */
#include <stdio.h>
#include <ad/ad.h>

static const char *class_name(ad_coord_class c)
{
    switch (c) {
    case AD_COORD_OK: return "ok";
    case AD_COORD_KINK_OK: return "ok (kink: inside the one-sided hull)";
    case AD_COORD_MISMATCH: return "MISMATCH";
    case AD_COORD_KINK_BAD: return "KINK VIOLATION";
    case AD_COORD_NAN_MISMATCH: return "NaN MISMATCH";
    case AD_COORD_SKIPPED: return "skipped";
    }
    return "?";
}

int main(void)
{
    ad_tape *t = ad_tape_new(NULL);
    /* f(x, y, v) = tanh(x * y) + relu(x - y) + log(1 + sum(exp(v) * x)) / y, at x = y: relu's kink */
    ad_var x = ad_scalar(t, 0.75), y = ad_scalar(t, 0.75);
    ad_var v = ad_input(t, AD_VEC(3), (double[]){-1.0, 0.25, 2.0});
    ad_var one = ad_const(t, AD_SCALAR, (double[]){1.0});
    ad_var a = ad_tanh(t, ad_mul(t, x, y));
    ad_var b = ad_relu(t, ad_sub(t, x, y));
    ad_var c = ad_div(t, ad_log(t, ad_add(t, one, ad_sum(t, ad_mul(t, ad_exp(t, v), x)))), y);
    ad_var f = ad_add(t, ad_add(t, a, b), c);

    ad_check_report r;
    if (ad_check_grad(t, f, NULL, &r) != AD_OK) { /* a bad call, not a wrong gradient */
        fprintf(stderr, "demo: %s\n", ad_tape_error(t));
        ad_tape_free(t);
        return 2;
    }
    printf("f(x, y, v) = tanh(x*y) + relu(x - y) + log(1 + sum(exp(v)*x)) / y\n");
    printf("at x = y = 0.75, v = [-1, 0.25, 2]: f = %.17g\n\n", ad_value_scalar(t, f));
    printf("%-5s %-4s %22s %22s %24s %6s  %s\n", "node", "elt", "reverse mode", "finite difference",
           "MPFR reference (256 b)", "ulps", "verdict");
    for (size_t i = 0; i < r.n_coords; i++) {
        const ad_check_coord *co = &r.coords[i];
        printf("%-5zu %-4zu %22.17g %22.17g %24s %6.2f  %s\n", co->node, co->element, co->engine,
               co->fd, co->ref_str, co->ulps, class_name(co->cls));
        if (co->has_kink)
            printf("      %s at node %zu sits on its kink: one-sided derivatives %g and %g; "
                   "the tape's choice is a valid subgradient\n",
                   co->kink.op, co->kink.node, co->kink.left, co->kink.right);
    }
    printf("\n");
    ad_check_report_print(&r, stdout);
    int failed = !r.pass;
    ad_check_report_free(&r);
    ad_tape_free(t);
    return failed;
}
