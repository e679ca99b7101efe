/* xor.c - a 2-4-1 tanh network learns XOR with Adam; asserts loss < 1e-3 within 200 steps (seed 7; it takes 59). */
#include <stdio.h>
#include <ad/ad.h>

#define MAX_STEPS 200
#define TARGET 1e-3

static const double X[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
static const double Y[4] = {0, 1, 1, 0};

/* mean squared error from sub, mul, mean (ad_mse is a one-line swap once it exists) */
static ad_var mse(ad_tape *t, ad_var y, ad_var target)
{
    ad_var d = ad_sub(t, y, target);
    return ad_mean(t, ad_mul(t, d, d));
}

static ad_var step(ad_tape *t, void *ud, size_t s)
{
    (void)s;
    ad_var x = ad_const(t, AD_MAT(4, 2), X);
    ad_var y = ad_const(t, AD_MAT(4, 1), Y);
    return mse(t, ad_mlp_forward(t, ud, x), y);
}

int main(void)
{
    ad_rng rng = ad_rng_make(7);
    ad_mlp_opts mo = ad_mlp_opts_default();
    mo.hidden = AD_ACT_TANH;
    ad_mlp *net;
    if (ad_mlp_new((size_t[]){2, 4, 1}, 3, &mo, &rng, &net) != AD_OK)
        return 1;
    ad_optim_opts oo = ad_optim_opts_default(AD_OPTIM_ADAM);
    oo.lr = 0.05;
    ad_optim *opt = ad_optim_new(&oo, ad_mlp_params(net), ad_mlp_n_params(net));
    ad_tape *t = ad_tape_new(NULL);
    ad_train_opts to = ad_train_opts_default();
    to.steps = MAX_STEPS;
    to.target_loss = TARGET;
    to.summary = stdout;
    ad_train_result r;
    ad_status st = ad_train(t, opt, step, net, &to, &r);
    if (st != AD_OK)
        fprintf(stderr, "xor: %s%s\n", ad_tape_error(t), ad_optim_error(opt));

    /* the trained network's outputs on the four corners */
    ad_tape_reset(t);
    ad_var out = ad_mlp_forward(t, net, ad_const(t, AD_MAT(4, 2), X));
    const double *p = ad_value(t, out);
    int ok = st == AD_OK && r.reached > 0 && p != NULL;
    for (int i = 0; ok && i < 4; i++) {
        printf("xor(%g, %g) = %.4f (want %g)\n", X[2 * i], X[2 * i + 1], p[i], Y[i]);
        ok &= (p[i] > 0.5) == (Y[i] > 0.5);
    }
    printf("%s: loss %.3g < %g after %zu steps (limit %d)\n", ok ? "PASS" : "FAIL", r.final_loss,
           TARGET, r.reached, MAX_STEPS);
    ad_tape_free(t);
    ad_optim_free(opt);
    ad_mlp_free(net);
    return ok ? 0 : 1;
}
