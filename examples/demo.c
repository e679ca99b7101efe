/* demo.c - differentiate a small program and verify the gradient against
 * central finite differences. Exit status 0 when every coordinate agrees. */
#include <math.h>
#include <stdio.h>
#include <ad/ad.h>

/* f(x, y, v) = tanh(x * y) + relu(x - y) + log(1 + sum(exp(v) * x)) / y */
static ad_var program(ad_tape *t, ad_var x, ad_var y, ad_var v)
{
    ad_var one = ad_const(t, AD_SCALAR, (double[]){1.0});
    ad_var a = ad_tanh(t, ad_mul(t, x, y));
    ad_var b = ad_relu(t, ad_sub(t, x, y));
    ad_var c = ad_div(t, ad_log(t, ad_add(t, one, ad_sum(t, ad_mul(t, ad_exp(t, v), x)))), y);
    return ad_add(t, ad_add(t, a, b), c);
}

static double eval(const double in[5])
{
    ad_tape *t = ad_tape_new(NULL);
    ad_var f = program(t, ad_scalar(t, in[0]), ad_scalar(t, in[1]), ad_input(t, AD_VEC(3), in + 2));
    double value = ad_value_scalar(t, f);
    ad_tape_free(t);
    return value;
}

int main(void)
{
    double in[5] = {0.75, 0.5, -1.0, 0.25, 2.0};
    const char *names[5] = {"x", "y", "v[0]", "v[1]", "v[2]"};
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_scalar(t, in[0]), y = ad_scalar(t, in[1]), v = ad_input(t, AD_VEC(3), in + 2);
    ad_var f = program(t, x, y, v);
    if (ad_backward(t, f) != AD_OK) {
        fprintf(stderr, "demo: %s\n", ad_tape_error(t));
        ad_tape_free(t);
        return 1;
    }
    const double *g[5] = {ad_grad(t, x), ad_grad(t, y), ad_grad(t, v), ad_grad(t, v) + 1, ad_grad(t, v) + 2};
    printf("f(x, y, v) = tanh(x*y) + relu(x - y) + log(1 + sum(exp(v)*x)) / y\n");
    printf("at x = %g, y = %g, v = [%g, %g, %g]: f = %.17g\n\n", in[0], in[1], in[2], in[3], in[4],
           ad_value_scalar(t, f));
    printf("%-6s %24s %24s %10s\n", "input", "reverse mode", "finite difference", "rel. err");
    int failures = 0;
    for (int i = 0; i < 5; i++) {
        /* central difference with step cbrt(eps) * max(1, |x|): truncation and rounding balance */
        double h = cbrt(2.220446049250313e-16) * fmax(1.0, fabs(in[i]));
        double save = in[i];
        in[i] = save + h;
        double fp = eval(in);
        in[i] = save - h;
        double fm = eval(in);
        in[i] = save;
        double fd = (fp - fm) / (2 * h);
        double err = fabs(*g[i] - fd) / fmax(1.0, fabs(fd));
        int ok = err < 1e-8;
        failures += !ok;
        printf("%-6s %24.17g %24.17g %10.2e %s\n", names[i], *g[i], fd, err, ok ? "ok" : "MISMATCH");
    }
    printf("\n%s\n", failures ? "gradient check FAILED" : "gradient verified against finite differences");
    ad_tape_free(t);
    return failures ? 1 : 0;
}
