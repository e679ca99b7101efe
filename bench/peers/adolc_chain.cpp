// adolc_chain.cpp - bench/tape_chain's two chains in ADOL-C (operator
// overloading, taped with trace_on/trace_off, gradient by gradient(), which
// replays the tape forward and then reverse): the peer figure for adcheck's
// tape. Prints `bench: adolc_tape_chain_ns_per_op VALUE ns` (and _arith),
// process CPU time, median of several repetitions.
#include <adolc/adolc.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

static const int N_OPS = 1000000, REPS = 5;

static double now()
{
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// mul, add, tanh, relu, exp (+ one add), as in bench/tape_chain.c
static double transcendental(double x0, double *g)
{
    trace_on(1);
    adouble x, v;
    x <<= x0;
    v = x;
    for (int i = 0; i < N_OPS; i += 5) {
        v = v * 0.999;
        v = v + 0.001;
        v = tanh(v);
        v = fmax(v, 0.0);
        v = exp(v) - 0.9;
    }
    double y;
    v >>= y;
    trace_off();
    gradient(1, 1, &x0, g);
    return y;
}

// mul, add, relu
static double arith(double x0, double *g)
{
    trace_on(2);
    adouble x, v;
    x <<= x0;
    v = x;
    for (int i = 0; i < N_OPS; i += 3)
        v = fmax(v * 0.999 + 0.0005, 0.0);
    double y;
    v >>= y;
    trace_off();
    gradient(2, 1, &x0, g);
    return y;
}

static void run(const char *name, double (*f)(double, double *))
{
    double sec[REPS], g = 0, sink = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        sink += f(0.3 + 1e-3 * r, &g);
        sec[r] = now() - t0;
    }
    std::sort(sec, sec + REPS);
    std::printf("# %s: checksum %g grad %g\n", name, sink, g);
    std::printf("bench: adolc_%s_ns_per_op %.2f ns\n", name, 1e9 * sec[REPS / 2] / N_OPS);
}

int main()
{
    run("tape_chain", transcendental);
    run("tape_chain_arith", arith);
    return 0;
}
