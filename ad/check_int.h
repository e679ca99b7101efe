/* check_int.h - what the checker's files share: the evaluation context of a
 * recorded program, its MPFR replay, finite differences, a seeded RNG. */
#ifndef AD_CHECK_INT_H
#define AD_CHECK_INT_H

#include <mpfr.h>
#include "internal.h"
#include "ad/check.h"

/* ---- seeded draws for directions and samples: the library's one generator (rng.c) ---- */
static inline double ad__rng_range(ad_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ad_rng_uniform(r);
}

/* ---- check_eval.c: the program re-evaluated in double at moved inputs ---- */
typedef struct ad__ctx {
    ad_tape *t;
    size_t last;            /* the loss node                                    */
    size_t n_leaf, n_coords;
    size_t *leaf;           /* node of each differentiable leaf                 */
    size_t *off;            /* first coordinate of each leaf; off[n_leaf] = n_coords */
    size_t *leaf_of;        /* per node: its leaf number, or SIZE_MAX           */
    double *x, *g;          /* inputs and engine gradient, flat (n_coords)      */
    double *xs;             /* scratch inputs                                   */
    double **val;           /* shadow values of nodes 0..last                   */
    double *pool;
    size_t pool_n;          /* bytes of the one block all arrays live in        */
    int **piece0;           /* pieces at x of the loss's nodes with a piece
                               function (NULL elsewhere)                        */
    int *piece_pool;
    size_t piece_n;
    size_t *dn;             /* per node: how many of its shadow values differ from
                               the tape's (SIZE_MAX: maybe all), listed in dl   */
    size_t **dl;            /* per node: those elements (room for count)        */
    size_t max_count;       /* the largest node                                 */
    double *tmp;            /* 3 * max_count: a matmul column and its product;
                               a cotangent and two partials (singular.c)         */
    uint8_t *mark;          /* max_count zeros: set and cleared by each use     */
    uint8_t *reach;         /* per node: AD__REACH_* bits                       */
    size_t singular;        /* the first singular node (singular.c), or SIZE_MAX */
    double f0;              /* the loss at x                                    */
    double xmax;            /* max |x|                                          */
} ad__ctx;

#define AD__REACH_CONE 1u     /* the loss depends on the node                 */
#define AD__REACH_SINGULAR 2u /* a singular element depends on the node (or is one) */

/* Builds the context and runs the reverse sweep (the engine gradient).
 * @return AD_OK, or an error recorded on the tape (ENOMEM, ...). */
ad_status ad__ctx_init(ad__ctx *c, ad_tape *t, size_t last);
void ad__ctx_free(ad__ctx *c);
/* The loss at inputs xs (n_coords doubles). */
double ad__ctx_eval(ad__ctx *c, const double *xs);
/* The same when xs differs from x in leaf number `leaf` only: recomputes the
 * nodes downstream of it, and the ones a previous call left moved. */
double ad__ctx_eval_leaf(ad__ctx *c, const double *xs, size_t leaf);
/* The same when x differs in coordinate k only, set to value: recomputes
 * only the elements that coordinate reaches (and puts back what the last
 * call moved). */
double ad__ctx_eval_coord(ad__ctx *c, size_t k, double value);
/* After an eval: the first node element whose piece differs from that at x.
 * @return true when one does (node and element written). */
bool ad__ctx_piece_moved(const ad__ctx *c, size_t *node, size_t *elem);

/* ---- singular.c: elements where an op's local derivative is not finite ---- */
/* Finds them among the loss's nodes (at finite inputs and value) and marks
 * every node they depend on; called by ad__ctx_init. */
void ad__singular_find(ad__ctx *c);
/* Whether coordinate k (u == NULL) or direction u moves a singular element. */
bool ad__singular_reached(const ad__ctx *c, const double *u, size_t k);
struct ad__mp;
/* The first node the loss depends on with an element whose double value is
 * not the exact one's beyond rounding (singular.c: a rounded input crossed a
 * jump), or SIZE_MAX; evaluates m at x. */
size_t ad__jump_find(const ad__ctx *c, struct ad__mp *m);

/* ---- check_fd.c: central differences with an error estimate ---- */
typedef struct ad__fd {
    double d, err;          /* Richardson value and error estimate              */
    double dl, dr;          /* one-sided differences (for kinks without MPFR)   */
    bool kink;              /* a perturbation changed some node's piece          */
    size_t knode, kelem;
} ad__fd;
/* Along coordinate k (u == NULL) or along direction u (n_coords doubles). */
void ad__fd_run(ad__ctx *c, const double *u, size_t k, ad__fd *o);

/* ---- pin.c: kink elements replayed as the engine's local linear map ---- */
/* An output element of an elementwise op that sits exactly on a kink: the
 * replay replaces it by y0 + sum_q s[q] (x_q[j[q]] - x0_q), its value and
 * inputs at the unmoved point plus the engine's own local partials there,
 * which pin.c has checked against the op's one-sided derivatives. */
typedef struct ad__pin {
    size_t node, elem;
    size_t j[AD_MAX_ARITY];  /* the input element feeding elem               */
    double s[AD_MAX_ARITY];  /* the op's backward at elem (one-hot cotangent) */
    double lo[AD_MAX_ARITY], hi[AD_MAX_ARITY]; /* its one-sided partials (MPFR) */
    bool valid;              /* every s[q] lies in [lo[q], hi[q]] (tolerance: pin.c) */
} ad__pin;

typedef struct ad__pins {
    ad__pin *p;
    size_t n;
    size_t n_unpinned;       /* kink elements of ops that cannot be pinned     */
    size_t unpinned_node;    /* the first of them: node and element            */
    size_t unpinned_elem;
    size_t bad;              /* index of the first invalid pin, or n          */
    size_t bytes;
} ad__pins;

/* Pins every element sitting exactly on a kink of a node the loss depends
 * on, that depends on a leaf, and whose op can be pinned (elementwise, one
 * or two inputs, backward and reference); counts the others in n_unpinned.
 * @return AD_OK, or AD_ENOMEM/AD_EOVERFLOW recorded on the tape. */
ad_status ad__pins_build(const ad__ctx *c, mpfr_prec_t prec, ad__pins *ps);
void ad__pins_free(const ad__ctx *c, ad__pins *ps);
/* Whether element elem of node is pinned. */
bool ad__pins_has(const ad__pins *ps, size_t node, size_t elem);

/* ---- replay.c: the program evaluated again in MPFR with each op's reference ---- */
typedef struct ad__mp {
    const ad__ctx *c;
    mpfr_prec_t prec;
    mpfr_ptr *v;            /* per node: count values                           */
    __mpfr_struct *pool;
    size_t pool_n;
    mpfr_t h, tmp;
    size_t evals;           /* replays run: what a check costs                  */
    char note[160];         /* why a replay could not run                       */
    bool oom;               /* a reference returned AD_ENOMEM: the check fails  */
    mpfr_exp_t emax;        /* largest exponent of any value of the last evals  */
    const ad__pins *pins;   /* NULL: every node by its reference                */
    __mpfr_struct *base;    /* per pin: y0 and x0 of each input (1 + AD_MAX_ARITY) */
    mpfr_prec_t base_prec;  /* the precision base was taken at (0: not taken)  */
    bool capture;           /* the running eval records base                    */
    bool unpinned;          /* evaluate the pinned elements by reference too    */
    unsigned max_prec;      /* raised up to this while a difference cancels     */
    double step_cap;        /* no step above this (cond.c; INFINITY or 0: none) */
    double vmax;            /* the largest finite magnitude on the tape         */
} ad__mp;

/* Return codes of the derivative functions besides 0. */
enum {
    AD__MP_NOREF = 1,       /* no reference, or it failed: the replay cannot run */
    AD__MP_CANCELS = 2,     /* the difference cancels even at max_prec bits     */
    AD__MP_UNDEFINED = 3,   /* every step leaves the function's domain          */
};

ad_status ad__mp_init(ad__mp *m, const ad__ctx *c, mpfr_prec_t prec);
void ad__mp_free(ad__mp *m);
void ad__mp_set_prec(ad__mp *m, mpfr_prec_t prec);
/* Replays with the pins (NULL: none); allocates their base values.
 * @return AD_OK or AD_ENOMEM (recorded). */
ad_status ad__mp_use_pins(ad__mp *m, const ad__pins *pins);
/* The loss at x + s*h*u (u NULL: along coordinate k) into out, where h is
 * the step the last ad__mp_step set. @return 0, or nonzero with m->note set. */
int ad__mp_eval(ad__mp *m, const double *u, size_t k, int s, mpfr_ptr out);
/* Sets the MPFR step for coordinate k (u NULL) or direction u:
 * 2^-(prec/3) |x_k| (for x_k = 0: 2^-(2 prec/3) / max(1, largest value on
 * the tape)), along u the smallest of these over the moved coordinates. */
void ad__mp_step(ad__mp *m, const double *u, size_t k);
/* Central derivative at the current precision (raised while the difference
 * cancels; a smaller or one-sided step at a domain edge); hint: the size of
 * derivative worth resolving (the engine's |value|). @return 0 or AD__MP_*. */
int ad__mp_central(ad__mp *m, const double *u, size_t k, double hint, mpfr_ptr d);
/* One-sided derivatives (left, right), the step made 2^shrink times smaller.
 * @return 0 or AD__MP_* (note). */
int ad__mp_sided(ad__mp *m, const double *u, size_t k, double hint, long shrink, mpfr_ptr dl,
                 mpfr_ptr dr);

/* ---- ulps.c: errors measured in units in the last place of a double ---- */
/* The spacing of doubles at |r| (DBL_TRUE_MIN below DBL_MIN). */
double ad__ulp_of(double r);
/* |got - ref| in ulps of ref rounded to double; 0 when both are the same
 * non-finite value, INFINITY when only one is non-finite. */
double ad__ulps(double got, mpfr_srcptr ref);
/* ref as a decimal string with 21 significant digits. */
void ad__mp_str(mpfr_srcptr ref, char *buf, size_t len);

/* ---- kink.c: the verdict on a coordinate whose perturbation met a kink ---- */
/* Along coordinate k (u NULL) or direction u; m NULL: one-sided FD instead of MPFR.
 * Fills out's kink, ref; @return KINK_OK, KINK_BAD or NAN_MISMATCH, or
 * SKIPPED (ref_str "cancels" or "undefined", m->note says why) where m's
 * one-sided differences cannot be resolved. */
ad_coord_class ad__kink_judge(ad__ctx *c, ad__mp *m, const double *u, size_t k, const ad__fd *fd,
                              double tol_ulps, ad_check_coord *out);

/* ---- cond.c: how far rounding alone can move the engine's gradient ---- */
typedef struct ad__cond {
    const ad__ctx *c;
    double *E;              /* per node element: forward error bound            */
    double *T;              /* per node element: the tangent of the last estimate */
    double *scr;            /* 4 * maxc doubles of scratch                      */
    size_t *at;             /* per node: offset into E and T                    */
    size_t maxc, bytes;
} ad__cond;

/* The forward error bounds of every node (the tape's adjoints must be those
 * of the loss: ad__ctx_init ran the sweep). @return AD_OK, or recorded error. */
ad_status ad__cond_init(const ad__ctx *c, ad__cond *cd);
void ad__cond_free(ad__cond *cd);
/* Verdicts allow this many times the estimate (a first-order bound: the
 * factor covers its second-order terms). */
#define AD__TOL_EST 4.0
/* The estimated rounding error of the engine's gradient along u (n_coords
 * doubles) or, u NULL, of coordinate k. Formula: cond.c. */
double ad__cond_err(ad__cond *cd, const double *u, size_t k);
/* The longest replay step along u (or coordinate k) that measures the
 * derivative at x (INFINITY: any), by one forward-mode sweep: no node may
 * change by more than 2^-32 of max(|value|, 1) (x^DBL_MAX at x = 1 has
 * slope 1.8e308 and varies by e^(2^939) over a step of 2^-85: a secant),
 * and no element of a unary op off its kinks may reach one (relu at
 * 1.2e-321 beside abs at 0: a step of 2^-170 crossed both, and the sides
 * measured were not x's). */
double ad__cond_step_cap(ad__cond *cd, const double *u, size_t k);

/* ---- jvp.c ---- */
/* Forward mode up to node last with flat tangents u over the context's leaves.
 * @return AD_OK, or AD_EUNSUPPORTED/AD_ENOMEM with why written (nothing recorded). */
ad_status ad__jvp_flat(const ad__ctx *c, const double *u, double *dy, char *why, size_t len);

/* ---- dot.c ---- */
/* n random directions u: sum g_j u_j against the jvp; fills w; cd: the
 * rounding estimate that widens the tolerance (NULL: none).
 * @return AD_OK, or the jvp's failure with why set. */
ad_status ad__dot_test(const ad__ctx *c, ad__cond *cd, ad_rng *rng, unsigned n,
                       ad_check_witness *w, char *why, size_t len);

/* ---- report.c ---- */
/* One line about a coordinate: what the text printer and the verify hook print. */
void ad__coord_line(const ad_check_coord *c, char *buf, size_t len);

/* ---- verify.c / verify_point.c: ad_op_verify's sweep over one op ---- */
typedef struct ad__sweep {
    const ad_op *op;
    ad_verify_opts o;
    ad_op_report *r;
    ad_rng rng;
    double attr[AD_MAX_ATTR];
    double lo[AD_MAX_ARITY], hi[AD_MAX_ARITY]; /* domain box per input           */
    ad_shape xs[AD_MAX_ARITY], ys;
    size_t nx[AD_MAX_ARITY], ny;
    double *x[AD_MAX_ARITY], *gx[AD_MAX_ARITY], *dx[AD_MAX_ARITY];
    double *y, *w, *dy, *tmp;                   /* tmp: 4 * ny doubles (FD only)  */
    mpfr_ptr mx[AD_MAX_ARITY], my, mf;          /* inputs, f at x, f moved        */
    mpfr_ptr jtot, jscale;                      /* the tangent's reference, scale */
    mpfr_t acc, sc, h, t1;
    __mpfr_struct *mpool;                       /* every mpfr above, for set_prec */
    size_t n_mpool;
    mpfr_prec_t cur_prec;
    void *block;
    size_t block_bytes;
    bool oom;                                   /* a reference returned AD_ENOMEM */
} ad__sweep;

/* Sets sw up for sw->op (and sw->o.prec): shapes and attributes given (a
 * node's, a fuzz input's) or, when NULL, the sampling defaults; one block for
 * the doubles and the MPFR values. @return AD_OK, AD_ESHAPE, AD_ELIMIT or
 * AD_ENOMEM with why written. ad__sweep_teardown returns it all. */
ad_status ad__sweep_setup(ad__sweep *sw, const ad_shape *xs, const double *attr, char *why, size_t len);
void ad__sweep_teardown(ad__sweep *sw);
/* The working precision for the inputs in sw->x (room for a tiny input's step). */
void ad__sweep_fit_prec(ad__sweep *sw);
/* Sets the MPFR values' precision to p and reloads sw->mx from sw->x (every
 * other value is cleared; keep_tangent spares the tangent accumulators). */
void ad__sweep_set_prec(ad__sweep *sw, mpfr_prec_t p, bool keep_tangent);
/* The reference at the MPFR inputs sw->mx into out (sw->ny values).
 * @return the reference's status (0: evaluated). */
int ad__sweep_ref(ad__sweep *sw, mpfr_ptr out);
/* The MPFR central difference for input k element e, the one oracle of
 * ad_op_verify and fuzz_op: f(x + h) into sw->mf, f(x - h) into sw->mf + ny,
 * the step (a power of two) in sw->h. While the difference is unresolved next
 * to the engine's value g, the precision is raised (at least doubled, to at
 * most 16 times its start, 4 times at most). At a kink sw->my must hold f(x)
 * at the current precision; it is evaluated again at the final one.
 * resolved (may be NULL): false when the last raise did not resolve it.
 * @return 0, or nonzero when the reference declines a moved point. */
int ad__ref_diff(ad__sweep *sw, unsigned k, size_t e, double g, bool kink, bool *resolved);
/* After an element's ad__ref_diff: back to precision base, with f(x) in sw->my
 * evaluated again there when with_fx (a kink's next element needs it). Every
 * element starts from base, so the raises of one never compound into the next
 * (a tensor of kinks once reached 1.6e8 bits).
 * @return 0, or the reference's status at base. */
int ad__sweep_back_to(ad__sweep *sw, mpfr_prec_t base, bool keep_tangent, bool with_fx);
/* After ad__ref_diff: sum_j w_j times the quotient of f_j into out: side 0
 * central, -1 left (f(x) - f(x - h)) / h, +1 right (f(x + h) - f(x)) / h;
 * scale (side 0, may be NULL): the sum of the terms' magnitudes. */
void ad__ref_quotient(ad__sweep *sw, int side, mpfr_ptr out, mpfr_ptr scale);
/* |got - ref| in ulps of scale (a reduction's cancellation is not blamed on
 * the op); NaN-consistent. t: a scratch value. */
double ad__ulps_scaled(double got, mpfr_srcptr ref, mpfr_srcptr scale, mpfr_ptr t);
/* Checks forward, backward, tangent and kinks at the inputs now in sw->x.
 * inside: every input lies in the domain box (derivatives are checked
 * there only; outside, disagreements are counted, not failures). */
void ad__sweep_point(ad__sweep *sw, bool inside);
/* The same checks at one given point (a node's recorded inputs), against
 * the op's declared bounds. @return AD_OK (read r->pass) or a setup failure. */
ad_status ad__op_check_at(const ad_op *op, const double *attr, const ad_shape *xs,
                          const double *const *x, unsigned prec, ad_op_report *r);

#endif
