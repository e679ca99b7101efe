/* train.c - the training loop: reset, record, backward, clip, step; progress, CSV and sparkline around it. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include "internal.h"

ad_train_opts ad_train_opts_default(void)
{
    return (ad_train_opts){.steps = 1000, .target_loss = NAN, .progress_every = 100};
}

/* Where progress goes: the caller's FILE, or stderr only when a person watches it. */
static FILE *progress_stream(const ad_train_opts *o)
{
    if (o->progress_every == 0)
        return NULL;
    if (o->progress)
        return o->progress;
    return isatty(fileno(stderr)) ? stderr : NULL;
}

/* One step; AD_OK or the failing part's status. */
static ad_status step_once(ad_tape *t, ad_optim *o, ad_train_fn fn, void *ud, size_t step,
                           const ad_train_opts *opts, double *loss, double *norm)
{
    ad_tape_reset(t);
    ad_optim_zero_grad(o);
    ad_var l = fn(t, ud, step);
    ad_status st = ad_backward(t, l);
    if (st != AD_OK)
        return st;
    *loss = ad_value_scalar(t, l);
    if (!isfinite(*loss))
        return ad__fail(t, AD_EDOMAIN, "ad_train: step %zu: the loss is %g", step + 1, *loss);
    size_t n;
    ad_param *const *ps = ad_optim_params(o, &n);
    /* DBL_MAX: no real norm exceeds it, so this only measures */
    st = ad_clip_grad_norm(ps, n, opts->clip_norm > 0.0 ? opts->clip_norm : DBL_MAX, norm);
    if (st != AD_OK)
        return ad__fail(t, st, "ad_train: step %zu: the gradient norm is %g", step + 1, *norm);
    return ad_optim_step(o);
}

static void summary(FILE *f, const double *curve, const ad_train_result *r)
{
    char line[3 * 60 + 1];
    ad_sparkline(curve, r->steps, 60, line, sizeof line);
    fprintf(f, "loss %.4g -> %.4g in %zu steps  %s\n", r->first_loss, r->final_loss, r->steps, line);
}

ad_status ad_train(ad_tape *t, ad_optim *o, ad_train_fn fn, void *ud, const ad_train_opts *opts,
                   ad_train_result *res)
{
    ad_train_result r = {.first_loss = NAN, .final_loss = NAN, .best_loss = NAN,
                         .last_grad_norm = NAN};
    if (res)
        *res = r;
    ad_train_opts op = opts ? *opts : ad_train_opts_default();
    if (!t || !o || !fn || op.steps == 0 || !(op.clip_norm >= 0.0) || !isfinite(op.clip_norm))
        return AD_EINVAL;
    if (ad_tape_status(t) != AD_OK && t->is_static)
        return t->status;
    if (ad_optim_status(o) != AD_OK)
        return ad_optim_status(o);
    size_t bytes;
    double *curve = NULL;
    if (!ad__mul_size(op.steps, sizeof *curve, &bytes) || !(curve = ad__alloc(&t->alloc, bytes)))
        return AD_ENOMEM;
    FILE *pf = progress_stream(&op);
    ad_status st = AD_OK;
    for (size_t s = 0; s < op.steps; s++) {
        double loss = NAN, norm = NAN;
        st = step_once(t, o, fn, ud, s, &op, &loss, &norm);
        if (st != AD_OK)
            break;
        curve[r.steps++] = loss;
        r.final_loss = loss;
        r.last_grad_norm = norm;
        if (s == 0)
            r.first_loss = r.best_loss = loss;
        r.best_loss = fmin(r.best_loss, loss);
        if (pf && (s + 1) % op.progress_every == 0)
            fprintf(pf, "%sstep %zu/%zu  loss %.6g  grad norm %.3g%s", pf == stderr ? "\r" : "",
                    s + 1, op.steps, loss, norm, pf == stderr ? "\033[K" : "\n");
        if (loss < op.target_loss) {
            r.reached = s + 1;
            break;
        }
    }
    if (pf == stderr)
        fputc('\n', stderr);
    if (st == AD_OK && op.csv_path)
        st = ad_curve_write_csv(op.csv_path, curve, r.steps);
    if (op.summary && r.steps)
        summary(op.summary, curve, &r);
    ad__free(&t->alloc, curve, bytes);
    if (res)
        *res = r;
    return st;
}
