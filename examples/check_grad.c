/* check_grad.c - the README's check example: verify a gradient against
 * finite differences, the MPFR replay and forward mode; exits 0 on a pass. */
#include <stdio.h>
#include <ad/ad.h>

int main(void)
{
    ad_tape *t = ad_tape_new(NULL);
    ad_var x = ad_input(t, AD_VEC(3), (double[]){0.5, -1.25, 0.0});
    ad_var loss = ad_sum(t, ad_mul(t, ad_tanh(t, x), ad_relu(t, x))); /* relu sits on its kink at x[2] = 0 */

    ad_check_opts o = ad_check_opts_default(); /* fd + mpfr (256 bits) + dot, kink-aware */
    ad_check_report r;
    if (ad_check_grad(t, loss, &o, &r) != AD_OK) { /* a bad call, not a bad gradient */
        fprintf(stderr, "%s\n", ad_tape_error(t));
        return 2;
    }
    ad_check_report_print(&r, stdout); /* worst coordinate first; ad_check_report_json for tools */
    int failed = !r.pass;
    if (failed) {
        FILE *f = fopen("failing.adreplay", "w"); /* hex floats + the program: replayable */
        if (f) {
            ad_check_save(t, loss, &r, f);
            fclose(f);
        }
    }
    ad_check_report_free(&r);

    ad_tape_set_verify(t, AD_VERIFY_ALL); /* from now on every ad_backward checks itself */
    if (ad_backward(t, loss) == AD_ECHECK)
        fprintf(stderr, "%s\n", ad_tape_error(t));

    ad_op_report opr; /* one op swept over its whole domain against MPFR */
    ad_op_verify(&ad_op_tanh, NULL, &opr);
    printf("tanh: %s, worst backward %.2f ulps\n", opr.pass ? "pass" : "FAIL", opr.bwd.ulps);
    ad_tape_free(t);
    return failed || !opr.pass;
}
