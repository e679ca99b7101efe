/* decode.h - a deterministic byte decoder for the harnesses: never reads past the input. */
#ifndef FZ_DECODE_H
#define FZ_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The input being decoded. Once the bytes run out every read gives zeros, so
 * a short input still decodes to a complete (if dull) case. */
typedef struct fz_in {
    const uint8_t *p;
    size_t n, pos;
} fz_in;

/* Where a double is likely to be interesting for one input of one op. */
typedef struct fz_hints {
    double lo, hi;        /* the op's sampling box for this input          */
    const double *near;   /* kinks, thresholds: values worth probing +-ulps */
    size_t n_near;
} fz_hints;

void fz_init(fz_in *in, const uint8_t *data, size_t size);
/** @return bytes not yet read. */
size_t fz_left(const fz_in *in);
uint8_t fz_u8(fz_in *in);
uint16_t fz_u16(fz_in *in);
uint32_t fz_u32(fz_in *in);
uint64_t fz_u64(fz_in *in);
bool fz_bool(fz_in *in);
/** @return a value in 0..n-1 (0 when n == 0): one byte for n <= 256, else four. */
size_t fz_choice(fz_in *in, size_t n);
/** @return an integer in [lo, hi] (lo when hi < lo). */
long fz_range(fz_in *in, long lo, long hi);
/** @return a double made of 8 raw bytes: any bit pattern, NaN payloads included. */
double fz_raw_double(fz_in *in);
/** @return one of the special doubles (+-0, subnormals, DBL_MIN/MAX, +-inf, NaNs, +-1...). */
double fz_special(fz_in *in);
/** @return a double in [lo, hi] (finite bounds), uniform on a 2^32 grid. */
double fz_uniform(fz_in *in, double lo, double hi);
/**
 * A double for an op's input: a mode byte chooses special values, raw bits,
 * a hint +- a few ulps, uniform or log-uniform in the box, or a small integer.
 */
double fz_double(fz_in *in, const fz_hints *h);

/* Picks one element of a static array. */
#define FZ_PICK(in, arr) ((arr)[fz_choice((in), sizeof(arr) / sizeof((arr)[0]))])

/* Overflow and underflow thresholds shared by every op (exp, log, sqrt, tanh...). */
extern const double fz_thresholds[];
extern const size_t fz_n_thresholds;

#endif
