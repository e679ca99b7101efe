/* verify.c - ad_op_verify: one op swept over its domain, at special points
 * and at seeded samples log-uniform in magnitude. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "check_int.h"

/* Exp's overflow threshold: a "large value" every op meets at special points. */
#define EXP_OVERFLOW 709.782712893384

ad_verify_opts ad_verify_opts_default(void)
{
    return AD_VERIFY_DEFAULTS;
}

/* Input shapes: the op's sample shapes, else [2, 3] with [3] for a
 * broadcasting op (so a backward that does not reduce is seen), else scalars. */
static ad_shape shape_of(const ad_op *op, unsigned k)
{
    if (op->sample_shapes)
        return op->sample_shapes[k];
    if (op->flags & AD_OP_BROADCAST)
        return k == 0 ? AD_MAT(2, 3) : AD_VEC(3);
    return AD_SCALAR;
}

ad_status ad__sweep_setup(ad__sweep *sw, const ad_shape *xs, const double *attr, char *why, size_t len)
{
    const ad_op *op = sw->op;
    for (unsigned i = 0; i < AD_MAX_ATTR; i++)
        sw->attr[i] = attr ? attr[i]
                           : i < op->n_attr && op->attr_default ? op->attr_default[i] : 0.0;
    ad_op_args a = {.n_in = op->arity, .attr = sw->attr};
    size_t total = 0;
    for (unsigned k = 0; k < op->arity; k++) {
        sw->xs[k] = a.xs[k] = xs ? xs[k] : shape_of(op, k);
        if (ad_shape_count(&sw->xs[k], &sw->nx[k]) != AD_OK || sw->nx[k] > 4096) {
            snprintf(why, len, "ad_op_verify: op %s: sample shape of input %u is too large", op->name, k);
            return AD_ELIMIT;
        }
        total += sw->nx[k];
        sw->lo[k] = op->domain.lo[k];
        sw->hi[k] = op->domain.hi[k];
        if (!(sw->lo[k] < sw->hi[k])) { /* an op without a domain: a modest box */
            sw->lo[k] = -1.0;
            sw->hi[k] = 1.0;
        }
    }
    sw->ys = op->arity ? sw->xs[0] : AD_SCALAR;
    if (op->shape && op->shape(&a, &sw->ys, why, len) != AD_OK)
        return AD_ESHAPE;
    if (ad_shape_count(&sw->ys, &sw->ny) != AD_OK || sw->ny > 4096) {
        snprintf(why, len, "ad_op_verify: op %s: output of the sample shapes is too large", op->name);
        return AD_ELIMIT;
    }
    size_t ny = sw->ny ? sw->ny : 1;
    size_t nd = 3 * total + 7 * ny, nm = total + 5 * ny;
    sw->block_bytes = nd * sizeof(double) + nm * sizeof(__mpfr_struct);
    sw->block = ad__alloc(NULL, sw->block_bytes);
    if (!sw->block) {
        snprintf(why, len, "out of memory (allocator returned NULL)");
        return AD_ENOMEM;
    }
    double *d = sw->block;
    __mpfr_struct *m = (__mpfr_struct *)(d + nd);
    for (size_t i = 0; i < nm; i++)
        mpfr_init2(&m[i], sw->o.prec);
    sw->mpool = m;
    sw->n_mpool = nm;
    sw->cur_prec = sw->o.prec;
    for (unsigned k = 0; k < op->arity; k++) {
        sw->x[k] = d, d += sw->nx[k];
        sw->gx[k] = d, d += sw->nx[k];
        sw->dx[k] = d, d += sw->nx[k];
        sw->mx[k] = m, m += sw->nx[k];
    }
    sw->y = d, d += ny;
    sw->w = d, d += ny;
    sw->dy = d, d += ny;
    sw->tmp = d;
    sw->my = m, m += ny;
    sw->mf = m, m += 2 * ny;
    sw->jtot = m, m += ny;
    sw->jscale = m;
    mpfr_inits2(sw->o.prec + 64, sw->acc, sw->sc, sw->t1, (mpfr_ptr)0);
    mpfr_init2(sw->h, sw->o.prec);
    return AD_OK;
}

void ad__sweep_teardown(ad__sweep *sw)
{
    if (!sw->block)
        return;
    size_t total = 0, ny = sw->ny ? sw->ny : 1;
    for (unsigned k = 0; k < sw->op->arity; k++)
        total += sw->nx[k];
    size_t nd = 3 * total + 7 * ny, nm = total + 5 * ny;
    __mpfr_struct *m = (__mpfr_struct *)((double *)sw->block + nd);
    for (size_t i = 0; i < nm; i++)
        mpfr_clear(&m[i]);
    mpfr_clears(sw->acc, sw->sc, sw->t1, sw->h, (mpfr_ptr)0);
    ad__free(NULL, sw->block, sw->block_bytes);
}

static bool is_int(const ad__sweep *sw, unsigned k)
{
    return (sw->op->int_inputs >> k) & 1u;
}

static bool inside(const ad__sweep *sw)
{
    for (unsigned k = 0; k < sw->op->arity; k++)
        for (size_t e = 0; e < sw->nx[k]; e++)
            if (!(sw->x[k][e] >= sw->lo[k] && sw->x[k][e] <= sw->hi[k]))
                return false;
    return true;
}

/* A typical value of input k: 1 when the box holds it, else its middle. */
static double typical(const ad__sweep *sw, unsigned k)
{
    double v = sw->lo[k] <= 1.0 && 1.0 <= sw->hi[k] ? 1.0 : 0.5 * (sw->lo[k] + sw->hi[k]);
    return is_int(sw, k) ? floor(v) : v;
}

/* Log-uniform in magnitude over [lo, hi]; a box straddling 0 picks a side by
 * its width and draws magnitudes from [M 2^-30, M]. Integers for int inputs. */
static double sample(ad__sweep *sw, unsigned k)
{
    double lo = sw->lo[k], hi = sw->hi[k];
    if (is_int(sw, k)) {
        double v = floor(ad__rng_range(&sw->rng, ceil(lo), floor(hi) + 1.0));
        return fmin(v, floor(hi));
    }
    if (lo > 0.0)
        return exp(ad__rng_range(&sw->rng, log(lo), log(hi)));
    if (hi < 0.0)
        return -exp(ad__rng_range(&sw->rng, log(-hi), log(-lo)));
    bool up = ad__rng_range(&sw->rng, lo, hi) >= 0.0;
    double m = up ? hi : -lo;
    if (m <= 0.0)
        return 0.0;
    double v = exp(ad__rng_range(&sw->rng, log(m) - 20.79441541679836 /* 30 ln 2 */, log(m)));
    return up ? v : -v;
}

static void fill(ad__sweep *sw, unsigned k, double v)
{
    for (size_t e = 0; e < sw->nx[k]; e++)
        sw->x[k][e] = v;
}

static void special_points(ad__sweep *sw)
{
    const ad_op *op = sw->op;
    for (unsigned k = 0; k < op->arity; k++) {
        if (is_int(sw, k))
            continue;
        double pts[64];
        unsigned n = 0;
        static const double fixed[] = {0.0, DBL_TRUE_MIN, DBL_MIN, 1.0, DBL_MAX, EXP_OVERFLOW, INFINITY};
        for (unsigned i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
            pts[n++] = fixed[i];
            pts[n++] = -fixed[i];
        }
        pts[n++] = NAN;
        pts[n++] = sw->lo[k];
        pts[n++] = sw->hi[k];
        ad_kink kk[16];
        unsigned nk = ad_op_kinks(op, sw->attr, kk, 16);
        for (unsigned q = 0; q < nk && q < 16 && n + 3 <= 64; q++) {
            double at = kk[q].at;
            pts[n++] = at;
            pts[n++] = nextafter(at, -INFINITY);
            pts[n++] = nextafter(at, INFINITY);
        }
        for (unsigned i = 0; i < n; i++) {
            for (unsigned j = 0; j < op->arity; j++)
                fill(sw, j, typical(sw, j));
            fill(sw, k, pts[i]);
            ad__sweep_point(sw, inside(sw));
        }
    }
}

/* A reference that ran out of memory skipped points: the sweep did not
 * happen as asked, so it fails with AD_ENOMEM rather than pass. */
static ad_status sweep_oom(ad__sweep *sw, ad_status st)
{
    if (!sw->oom)
        return st;
    sw->r->pass = false;
    snprintf(sw->r->first_failure, sizeof sw->r->first_failure,
             "%s: the MPFR reference ran out of memory", sw->op->name);
    return AD_ENOMEM;
}

ad_status ad_op_verify(const ad_op *op, const ad_verify_opts *opts, ad_op_report *r)
{
    if (!r)
        return AD_EINVAL;
    memset(r, 0, sizeof *r);
    if (!op || !op->name || !op->forward || op->arity < 1 || op->arity > AD_MAX_ARITY) {
        snprintf(r->first_failure, sizeof r->first_failure,
                 "ad_op_verify: the op is NULL, unnamed, without forward, or of arity outside 1..3");
        return AD_EINVAL;
    }
    r->op = op->name;
    ad__sweep sw;
    memset(&sw, 0, sizeof sw);
    sw.op = op;
    sw.r = r;
    sw.o = opts ? *opts : ad_verify_opts_default();
    if (sw.o.prec < 64 || sw.o.prec > 4096) {
        snprintf(r->first_failure, sizeof r->first_failure,
                 "ad_op_verify: prec must be 64 to 4096 bits, got %u", sw.o.prec);
        return AD_EINVAL;
    }
    ad_rng_seed(&sw.rng, sw.o.seed);
    r->fd_only = !op->reference;
    ad_status st = ad__sweep_setup(&sw, NULL, NULL, r->first_failure, sizeof r->first_failure);
    if (st == AD_OK) {
        if (sw.o.special_points)
            special_points(&sw);
        for (size_t i = 0; i < sw.o.samples; i++) {
            for (unsigned k = 0; k < op->arity; k++)
                for (size_t e = 0; e < sw.nx[k]; e++)
                    sw.x[k][e] = sample(&sw, k);
            ad__sweep_point(&sw, true);
        }
        r->pass = r->failures == 0;
        st = sweep_oom(&sw, st);
    }
    ad__sweep_teardown(&sw);
    return st;
}

ad_status ad__op_check_at(const ad_op *op, const double *attr, const ad_shape *xs,
                          const double *const *x, unsigned prec, ad_op_report *r)
{
    memset(r, 0, sizeof *r);
    r->op = op->name;
    ad__sweep sw;
    memset(&sw, 0, sizeof sw);
    sw.op = op;
    sw.r = r;
    sw.o = ad_verify_opts_default();
    sw.o.prec = prec;
    ad_rng_seed(&sw.rng, 1);
    r->fd_only = !op->reference;
    ad_status st = ad__sweep_setup(&sw, xs, attr, r->first_failure, sizeof r->first_failure);
    if (st == AD_OK) {
        for (unsigned k = 0; k < op->arity; k++) {
            memcpy(sw.x[k], x[k], sw.nx[k] * sizeof(double));
            /* the recorded inputs are the domain here: derivatives are checked */
            for (size_t e = 0; e < sw.nx[k]; e++) {
                sw.lo[k] = fmin(sw.lo[k], x[k][e]);
                sw.hi[k] = fmax(sw.hi[k], x[k][e]);
            }
        }
        ad__sweep_point(&sw, true);
        r->pass = r->failures == 0;
        st = sweep_oom(&sw, st);
    }
    ad__sweep_teardown(&sw);
    return st;
}
