/* test_check_eval.c - the checker's re-evaluation that recomputes only what a
 * moved coordinate reaches (ad/check_eval.c) against whole-node recomputation:
 * the same program recorded with the built-in descriptors (which it follows
 * element by element) and with copies of them (which it recomputes whole)
 * must give the same finite differences at every coordinate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <ad/ad.h>

enum { MATMUL, ADD, RELU, TANH, MUL, N_OPS };
static ad_op copy[N_OPS];

static ad_var op2(ad_tape *t, const ad_op *op, ad_var a, ad_var b)
{
    return ad_apply(t, op, (ad_var[]){a, b}, 2, NULL, 0);
}

static ad_var op1(ad_tape *t, const ad_op *op, ad_var a)
{
    return ad_apply(t, op, &a, 1, NULL, 0);
}

/* loss = sum(out * out), out = tanh(relu(x W + b)) W2 + c: every sparse case
 * (a moved column of B, a moved row of A, a moved broadcast input, elementwise
 * unions) and the whole-node fallback. */
static ad_var record(ad_tape *t, const ad_op *const *op, ad_rng *r)
{
    double x[8 * 3], w[3 * 8], b[8], w2[8 * 2], c[2];
    for (size_t i = 0; i < 24; i++) {
        x[i] = ad_rng_normal(r);
        w[i] = 0.6 * ad_rng_normal(r);
    }
    for (size_t i = 0; i < 8; i++)
        b[i] = 0.3 * ad_rng_normal(r);
    for (size_t i = 0; i < 16; i++)
        w2[i] = 0.5 * ad_rng_normal(r);
    c[0] = 0.1, c[1] = -0.2;
    ad_var X = ad_input(t, AD_MAT(8, 3), x), W = ad_input(t, AD_MAT(3, 8), w);
    ad_var B = ad_input(t, AD_VEC(8), b), W2 = ad_input(t, AD_MAT(8, 2), w2);
    ad_var C = ad_input(t, AD_VEC(2), c);
    ad_var h = op1(t, op[TANH], op1(t, op[RELU], op2(t, op[ADD], op2(t, op[MATMUL], X, W), B)));
    ad_var out = op2(t, op[ADD], op2(t, op[MATMUL], h, W2), C);
    return ad_sum(t, op2(t, op[MUL], out, out));
}

static const ad_check_coord *find(const ad_check_report *r, size_t node, size_t elem)
{
    for (size_t i = 0; i < r->n_coords; i++)
        if (r->coords[i].node == node && r->coords[i].element == elem)
            return &r->coords[i];
    return NULL;
}

static void test_check_eval_sparse_matches_whole_node_recomputation(void **state)
{
    (void)state;
    const ad_op *builtin[N_OPS] = {&ad_op_matmul, &ad_op_add, &ad_op_relu, &ad_op_tanh, &ad_op_mul};
    const ad_op *whole[N_OPS];
    for (int k = 0; k < N_OPS; k++) {
        copy[k] = *builtin[k];
        whole[k] = &copy[k];
    }
    ad_check_opts o = ad_check_opts_default();
    o.mpfr = o.dot = false;
    o.fast = false;
    o.fast_above = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ad_rng r1 = ad_rng_make(seed), r2 = ad_rng_make(seed);
        ad_tape *ts = ad_tape_new(NULL), *tw = ad_tape_new(NULL);
        ad_var ls = record(ts, builtin, &r1), lw = record(tw, whole, &r2);
        ad_check_report rs, rw;
        assert_int_equal(ad_check_grad(ts, ls, &o, &rs), AD_OK);
        assert_int_equal(ad_check_grad(tw, lw, &o, &rw), AD_OK);
        assert_true(rs.pass);
        assert_true(rw.pass);
        assert_int_equal(rs.n_coords, 24 + 24 + 8 + 16 + 2);
        assert_int_equal(rs.n_coords, rw.n_coords);
        for (size_t i = 0; i < rs.n_coords; i++) {
            const ad_check_coord *a = &rs.coords[i], *b = find(&rw, a->node, a->element);
            assert_non_null(b);
            /* a matmul slice may round differently from the whole product: a
             * few ulps of the loss, divided by the step (~6e-6) */
            double tol = 1e-8 * (1.0 + fabs(b->fd));
            if (!(fabs(a->fd - b->fd) <= tol))
                fail_msg("seed %u, node %zu element %zu: fd %.17g (sparse) vs %.17g (whole)",
                         (unsigned)seed, a->node, a->element, a->fd, b->fd);
        }
        ad_check_report_free(&rs);
        ad_check_report_free(&rw);
        ad_tape_free(ts);
        ad_tape_free(tw);
    }
}

/* The tape's values are what they were, and a second check gives the same
 * report: nothing a re-evaluation moved is left behind. */
static void test_check_eval_leaves_no_moved_value_behind(void **state)
{
    (void)state;
    const ad_op *builtin[N_OPS] = {&ad_op_matmul, &ad_op_add, &ad_op_relu, &ad_op_tanh, &ad_op_mul};
    ad_rng r = ad_rng_make(9);
    ad_tape *t = ad_tape_new(NULL);
    ad_var loss = record(t, builtin, &r);
    double before = ad_value_scalar(t, loss);
    ad_check_opts o = ad_check_opts_default();
    o.mpfr = o.dot = false;
    o.fast = false;
    o.fast_above = 0;
    ad_check_report r1, r2;
    assert_int_equal(ad_check_grad(t, loss, &o, &r1), AD_OK);
    assert_true(ad_value_scalar(t, loss) == before);
    assert_int_equal(ad_check_grad(t, loss, &o, &r2), AD_OK);
    for (size_t i = 0; i < r1.n_coords; i++) {
        const ad_check_coord *b = find(&r2, r1.coords[i].node, r1.coords[i].element);
        assert_non_null(b);
        assert_memory_equal(&r1.coords[i].fd, &b->fd, sizeof(double));
    }
    ad_check_report_free(&r1);
    ad_check_report_free(&r2);
    ad_tape_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_eval_sparse_matches_whole_node_recomputation),
        cmocka_unit_test(test_check_eval_leaves_no_moved_value_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
