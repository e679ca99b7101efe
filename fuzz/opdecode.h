/* opdecode.h - decoding which op, shapes, attributes and hints a harness uses. */
#ifndef FZ_OPDECODE_H
#define FZ_OPDECODE_H

#include <stdbool.h>
#include <ad/ad.h>
#include "decode.h"

/* Picks a registry op. A first byte with the top bit set is followed by a
 * name of (byte & 0x3f) characters, so committed seeds keep naming the same
 * op when ops are added; otherwise the byte indexes the registry. Unknown
 * names fall back to an index, so every input names some op. The environment
 * variable ADCHECK_FUZZ_OP=name makes every pick that op (bytes are read alike). */
const ad_op *fz_pick_op(fz_in *in);

/* Whether op is named in the environment variable ADCHECK_FUZZ_SKIP (a comma or
 * space separated list, read once): ops with open findings, which the CI budget
 * leaves out (fuzz/known_failing). Harnesses drop inputs that reach such an op. */
bool fz_op_skipped(const ad_op *op);
/* The same for any name (fuzz_deepnet: "act:leaky_relu" for an activation). */
bool fz_name_skipped(const char *name);

/* MPFR bits of the harnesses' ad_check_grad verdicts: ADCHECK_FUZZ_PREC (64..4096,
 * read once), default 256 (fz_check_run tries 127 first and confirms at this). */
unsigned fz_check_prec(void);

/* Near-values for input i of op: its kinks at the attribute values attr
 * (where they move with them: clamp's bounds) and the edges of its box. */
typedef struct fz_op_hints {
    double near[16];
    fz_hints h;
} fz_op_hints;
void fz_op_hints_init(fz_op_hints *oh, const ad_op *op, const double *attr, unsigned i);

/* A small shape: rank 0..3, dims 0..4. */
ad_shape fz_shape(fz_in *in);

/* The op's sample shape for input i (a scalar when it has none). */
ad_shape fz_sample_shape(const ad_op *op, unsigned i);

#endif
