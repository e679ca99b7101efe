/* opdecode.c - op choice by name or index, per-op hints, small shapes. */
#include <stdlib.h>
#include <string.h>
#include "opdecode.h"

/* ADCHECK_FUZZ_OP=name pins every pick to one op (a custom op's author fuzzes
 * just that op); read once, so a run stays deterministic. */
static const ad_op *pinned_op(void)
{
    static int done;
    static const ad_op *op;
    if (!done) {
        const char *name = getenv("ADCHECK_FUZZ_OP");
        op = name && name[0] ? ad_op_find(name) : NULL;
        done = 1;
    }
    return op;
}

/* ADCHECK_FUZZ_SKIP="div,log" names ops with open findings (fuzz/known_failing):
 * inputs that reach them are dropped, so a CI budget fails only on new findings. */
bool fz_op_skipped(const ad_op *op)
{
    return op && fz_name_skipped(op->name);
}

bool fz_name_skipped(const char *name)
{
    static int done;
    static const char *list;
    if (!done) {
        list = getenv("ADCHECK_FUZZ_SKIP");
        done = 1;
    }
    if (!name || !list || !list[0])
        return false;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ", ");
        if (n == len && strncmp(p, name, n) == 0)
            return true;
        p += n;
        p += strspn(p, ", ");
    }
    return false;
}

unsigned fz_check_prec(void)
{
    static unsigned prec;
    if (!prec) {
        const char *s = getenv("ADCHECK_FUZZ_PREC");
        long v = s ? strtol(s, NULL, 10) : 0;
        prec = v >= 64 && v <= 4096 ? (unsigned)v : 256;
    }
    return prec;
}

const ad_op *fz_pick_op(fz_in *in)
{
    const ad_op *pin = pinned_op();
    size_t n = ad_op_count();
    if (n == 0)
        return NULL;
    uint8_t b = fz_u8(in);
    if (!(b & 0x80))
        return pin ? pin : ad_op_at(b % n);
    char name[64];
    size_t len = b & 0x3f;
    for (size_t i = 0; i < len; i++)
        name[i] = (char)fz_u8(in);
    name[len] = '\0';
    const ad_op *op = ad_op_find(name);
    return pin ? pin : op ? op : ad_op_at(len % n);
}

void fz_op_hints_init(fz_op_hints *oh, const ad_op *op, const double *attr, unsigned i)
{
    ad_kink kinks[14];
    unsigned n = ad_op_kinks(op, attr, kinks, 14);
    size_t k = 0;
    for (unsigned j = 0; j < n && j < 14; j++)
        oh->near[k++] = kinks[j].at;
    oh->near[k++] = op->domain.lo[i];
    oh->near[k++] = op->domain.hi[i];
    oh->h = (fz_hints){.lo = op->domain.lo[i], .hi = op->domain.hi[i], .near = oh->near, .n_near = k};
}

ad_shape fz_shape(fz_in *in)
{
    ad_shape s = AD_SCALAR;
    s.rank = (unsigned)fz_range(in, 0, 3);
    for (unsigned d = 0; d < s.rank; d++)
        s.dim[d] = (size_t)fz_range(in, 0, 4);
    return s;
}

ad_shape fz_sample_shape(const ad_op *op, unsigned i)
{
    return op->sample_shapes ? op->sample_shapes[i] : AD_SCALAR;
}
