/* fuzz_program.c - a random program (a byte-coded DAG of registry ops, <= 64 nodes,
 * fan-out) differentiated by reverse mode and checked against forward mode by the
 * dot-product test <u, J^T v> == <J u, v>, using each op's jvp; no finite differences.
 * Then the full property: ad_check_grad with the MPFR replay and the dot-product
 * witnesses (kink-aware, fast mode: a few random directions at 128 bits). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <ad/ad.h>
#include "check_run.h"
#include "decode.h"
#include "digest.h"
#include "harness.h"
#include "opdecode.h"
#include "program.h"
#include "report.h"

/* Per-op rounding allowance in the first-order error bound below: covers
 * every op's ulp bounds and a k-term sum for k <= FZ_MAX_VALS. */
#define ROUNDING_UNITS 80.0

static fz_prog prog;
static ad_var var[FZ_MAX_NODES];
static double dot[FZ_MAX_NODES][FZ_MAX_VALS];  /* forward tangents                */
static double absdot[FZ_MAX_VALS];

/* Kernel arguments of node i from the tape's values (absolute values when absval). */
static void args_of(ad_tape *t, size_t i, bool absval, double buf[AD_MAX_ARITY + 1][FZ_MAX_VALS],
                    ad_op_args *a)
{
    const fz_node *nd = &prog.node[i];
    memset(a, 0, sizeof *a);
    a->n_in = nd->op->arity;
    for (unsigned k = 0; k < nd->op->arity; k++) {
        const fz_node *in = &prog.node[nd->in[k]];
        const double *x = ad_value(t, var[nd->in[k]]);
        if (absval) {
            for (size_t e = 0; e < in->count; e++)
                buf[k][e] = fabs(x[e]);
            x = buf[k];
        }
        a->x[k] = x;
        a->xs[k] = in->shape;
    }
    const double *y = ad_value(t, var[i]);
    if (absval) {
        for (size_t e = 0; e < nd->count; e++)
            buf[AD_MAX_ARITY][e] = fabs(y[e]);
        y = buf[AD_MAX_ARITY];
    }
    a->y = y;
    a->ys = nd->shape;
    a->kink_grad = prog.relu_at_zero;
}

static bool finite_all(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* Full attribute vector of node i (defaults filled), as the tape stored it. */
static void attrs_of(size_t i, double out[AD_MAX_ATTR])
{
    const fz_node *nd = &prog.node[i];
    for (unsigned k = 0; k < AD_MAX_ATTR; k++)
        out[k] = k < nd->n_attr ? nd->attr[k]
                 : k < nd->op->n_attr && nd->op->attr_default ? nd->op->attr_default[k] : 0.0;
}

/* The full property: ad_check_grad with the MPFR replay and its own dot-product
 * test, kink-aware, in fast mode (random directions) to keep exec/s useful. A
 * failure counts only when it is conclusive: the check proved something (not
 * vacuous) and an MPFR verdict rests on a reference confirmed at higher precision. */
/* The largest adjoint on the tape (at least 1), after the check's sweep. */
static double program_adj(void *ctx)
{
    ad_tape *t = ctx;
    double adj = 1.0;
    for (size_t i = 0; i < prog.n; i++) {
        const double *g = ad_grad(t, var[i]);
        for (size_t e = 0; g && e < prog.node[i].count; e++)
            adj = isnan(g[e]) ? INFINITY : fmax(adj, fabs(g[e]));
    }
    return adj;
}

static void check_full(ad_tape *t)
{
    double big = 0.0;
    for (size_t i = 0; i < prog.n; i++) {
        const double *v = ad_value(t, var[i]);
        for (size_t e = 0; v && e < prog.node[i].count; e++)
            big = fmax(big, fabs(v[e]));
    }
    ad_check_report r;
    bool finding;
    ad_status st = fz_check_run(t, var[prog.n - 1], big, program_adj, t, true, &r, &finding);
    if (st != AD_OK) {
        fz_prog_print(&prog, stderr);
        fz_fail("ad_check_grad could not run on a recorded program: %s: %s", ad_status_name(st),
                ad_tape_error(t));
    }
    fz_digest_mix(r.pass);
    if (finding) {
        fz_prog_print(&prog, stderr);
        ad_check_report_print(&r, stderr);
        fprintf(stderr, "the program as ad_check_save writes it (hex floats):\n");
        ad_check_save(t, var[prog.n - 1], &r, stderr);
        fz_fail("ad_check_grad: mpfr %s (%.3g ulps), dot %s (rel %a); %s", r.mpfr.pass ? "pass" : "FAIL",
                r.mpfr.max_error, !r.dot.ran ? "not run" : r.dot.pass ? "pass" : "FAIL", r.dot.max_error,
                r.notes);
    }
    ad_check_report_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in;
    fz_init(&in, data, size);
    if (!fz_prog_decode(&in, &prog, true))
        return 0;
    size_t n = prog.n;
    for (size_t i = 0; i < n; i++)
        if (prog.node[i].kind == FZ_NODE_OP && fz_op_skipped(prog.node[i].op))
            return 0; /* an op with an open finding (ADCHECK_FUZZ_SKIP) */

    ad_param *par[FZ_MAX_LEAVES] = {NULL};
    size_t n_par = 0;
    for (size_t i = 0; i < n; i++)
        if (prog.node[i].kind == FZ_LEAF_PARAM &&
            ad_param_new(prog.node[i].shape, prog.node[i].val, NULL, &par[n_par++]) != AD_OK)
            fz_fail("ad_param_new failed with the default allocator");
    /* One tape for the run, reset per input (see fuzz_op.c). */
    static ad_tape *t;
    if (!t)
        t = ad_tape_new(NULL);
    ad_tape_reset(t);
    ad_tape_set_relu_at_zero(t, prog.relu_at_zero);
    ad_status st = fz_prog_record(&prog, t, par, var);
    if (st == AD_OK)
        st = ad_backward(t, var[n - 1]);
    if (st != AD_OK) {
        /* The decoder checked every node with the op's own rules: a refusal is a finding. */
        fz_prog_print(&prog, stderr);
        fz_fail("program rejected: %s: %s", ad_status_name(st), ad_tape_error(t));
    }

    /* Tangents u at the leaves that take gradients (decoded quarter steps). */
    double lhs = 0.0, cond = 0.0;
    bool finite = true, any_jvp_missing = false;
    for (size_t i = 0; i < n; i++) {
        const fz_node *nd = &prog.node[i];
        const double *v = ad_value(t, var[i]);
        finite &= finite_all(v, nd->count);
        if (nd->kind == FZ_NODE_OP) {
            any_jvp_missing |= nd->op->jvp == NULL;
            continue;
        }
        const double *g = ad_grad(t, var[i]);
        for (size_t e = 0; e < nd->count; e++) {
            dot[i][e] = nd->kind == FZ_LEAF_CONST ? 0.0 : (double)((int)(fz_u8(&in) % 9) - 4) / 4.0;
            if (g) {
                lhs += dot[i][e] * g[e];
                cond += fabs(dot[i][e] * g[e]);
                finite &= isfinite(g[e]);
            }
        }
    }
    fz_digest_double(lhs);
    if (!finite || any_jvp_missing)
        goto done; /* non-finite values or a missing jvp: the test would prove nothing */

    /* Forward sweep with each op's jvp, and the condition of both sweeps: at
     * node k the two computations can differ by about eps |adjoint| |J| |tangent|. */
    for (size_t i = 0; i < n; i++) {
        const fz_node *nd = &prog.node[i];
        if (nd->kind != FZ_NODE_OP)
            continue;
        double buf[AD_MAX_ARITY + 1][FZ_MAX_VALS], attr[AD_MAX_ATTR];
        ad_op_args a;
        attrs_of(i, attr);
        args_of(t, i, false, buf, &a);
        a.attr = attr;
        const double *dx[AD_MAX_ARITY] = {NULL};
        for (unsigned k = 0; k < nd->op->arity; k++)
            dx[k] = dot[nd->in[k]];
        nd->op->jvp(&a, dx, dot[i]);
        const double *adj = ad_grad(t, var[i]);
        if (!adj)
            continue;
        for (unsigned k = 0; k < nd->op->arity; k++) {
            double tmp[FZ_MAX_VALS], tmp_abs[FZ_MAX_VALS];
            const double *one[AD_MAX_ARITY] = {NULL};
            size_t cin = prog.node[nd->in[k]].count;
            for (size_t e = 0; e < cin; e++)
                absdot[e] = fabs(dot[nd->in[k]][e]);
            one[k] = absdot;
            nd->op->jvp(&a, one, tmp);
            /* |J| |u| is J |u| for elementwise ops and sums; for products of inputs
             * (matmul) it is J evaluated at |x|. Take the larger of the two. */
            ad_op_args aa;
            args_of(t, i, true, buf, &aa);
            aa.attr = attr;
            nd->op->jvp(&aa, one, tmp_abs);
            double m[FZ_MAX_VALS];
            for (size_t e = 0; e < nd->count; e++) {
                m[e] = fabs(tmp[e]);
                if (isfinite(tmp_abs[e]) && fabs(tmp_abs[e]) > m[e])
                    m[e] = fabs(tmp_abs[e]);
            }
            /* Ops that mix elements (softmax, layer_norm, losses) cancel inside
             * J|u|: sum |J_ej| |u_j| one input element at a time instead. */
            if (!(nd->op->flags & AD_OP_ELEMENTWISE)) {
                double col[FZ_MAX_VALS], onehot[FZ_MAX_VALS] = {0};
                one[k] = onehot;
                double acc[FZ_MAX_VALS] = {0};
                for (size_t j = 0; j < cin; j++) {
                    if (absdot[j] == 0.0)
                        continue;
                    onehot[j] = absdot[j];
                    nd->op->jvp(&a, one, col);
                    onehot[j] = 0.0;
                    for (size_t e = 0; e < nd->count; e++)
                        acc[e] += fabs(col[e]);
                }
                for (size_t e = 0; e < nd->count; e++)
                    if (isfinite(acc[e]) && acc[e] > m[e])
                        m[e] = acc[e];
            }
            for (size_t e = 0; e < nd->count; e++)
                cond += fabs(adj[e]) * m[e];
        }
    }
    double rhs = dot[n - 1][0];
    fz_digest_double(rhs);
    double tol = ROUNDING_UNITS * DBL_EPSILON * cond + 4 * DBL_MIN;
    if (isfinite(rhs) && isfinite(tol) && !(fabs(lhs - rhs) <= tol)) {
        fz_prog_print(&prog, stderr);
        /* Name the nodes on kinks: there, forward and reverse must still make the same choice. */
        for (size_t i = 0; i < n; i++) {
            const fz_node *nd = &prog.node[i];
            if (nd->kind != FZ_NODE_OP || !nd->op->piece)
                continue;
            double buf[AD_MAX_ARITY + 1][FZ_MAX_VALS], attr[AD_MAX_ATTR];
            ad_op_args a;
            attrs_of(i, attr);
            args_of(t, i, false, buf, &a);
            a.attr = attr;
            for (size_t e = 0; e < nd->count; e++)
                if (nd->op->piece(&a, e) == AD_PIECE_KINK)
                    fprintf(stderr, "  node n%zu (%s) element %zu sits on a kink\n", i, nd->op->name, e);
        }
        fz_fail("dot-product test: reverse <u, grad> = %a, forward jvp = %a, differ by %a > tolerance %a "
                "(condition %a)", lhs, rhs, fabs(lhs - rhs), tol, cond);
    }
done:
    /* Last: ad_check_grad runs its own reverse sweep on the tape. */
    if (finite)
        check_full(t);
    for (size_t i = 0; i < n_par; i++)
        ad_param_free(par[i]);
    return 0;
}
