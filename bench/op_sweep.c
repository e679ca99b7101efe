/* op_sweep.c - measures registered ops against MPFR with ad_op_verify and prints
 * the worst forward, backward and tangent errors in ulps: how the ops' bounds
 * were set. Not built by meson (it needs ad_op_verify, from the verification
 * issue); once that is in the library:
 *   cc -O2 -Iinclude bench/op_sweep.c -Lbuild -ladcheck -lmpfr -lgmp -lm -Wl,-rpath,build -o sweep
 *   ./sweep [SAMPLES [NAME [SEED]]]     (NAME: only ops whose name is NAME) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ad/ad.h>
#include <ad/check.h>

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        if (argc > 2 && strcmp(argv[2], op->name) != 0)
            continue;
        ad_verify_opts o = ad_verify_opts_default();
        o.samples = n;
        o.seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
        ad_op_report r;
        if (ad_op_verify(op, &o, &r) != AD_OK) {
            printf("%-16s cannot run: %s\n", op->name, r.first_failure);
            continue;
        }
        printf("%-16s %s fwd %8.3g (bound %g) bwd %8.3g (bound %g) jvp %8.3g kinks %zu failures %zu\n",
               op->name, r.pass ? "PASS" : "FAIL", r.fwd.ulps, op->ulp_fwd, r.bwd.ulps, op->ulp_bwd,
               r.jvp.ulps, r.kinks_checked, r.failures);
        if (!r.pass)
            printf("    %s\n", r.first_failure);
    }
    return 0;
}
