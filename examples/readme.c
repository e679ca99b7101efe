/* readme.c - the C example of README.md, kept identical to it by the readme_sync test. */
#include <stdio.h>
#include <ad/ad.h>

int main(void)
{
    ad_param *w;
    if (ad_param_new(AD_MAT(3, 2), (double[]){0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, NULL, &w) != AD_OK)
        return 1;
    ad_tape *t = ad_tape_new(NULL);                       /* never NULL */
    ad_var x = ad_const(t, AD_MAT(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ad_var h = ad_relu(t, ad_matmul(t, x, ad_use(t, w)));  /* [2, 2] */
    ad_var loss = ad_mean(t, ad_mul(t, h, h));
    if (ad_backward(t, loss) != AD_OK) {                  /* one check for the whole program */
        fprintf(stderr, "%s\n", ad_tape_error(t));
        return 1;
    }
    const double *g = ad_param_grad(w);                   /* accumulates until ad_param_zero_grad */
    printf("loss %g, dloss/dw = [%g, %g, ...]\n", ad_value_scalar(t, loss), g[0], g[1]); /* 7.2, [0, 10.8] */
    ad_tape_free(t);
    ad_param_free(w);
    return 0;
}
