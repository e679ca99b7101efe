/* decode.c - the harnesses' byte decoder: ranged integers, table choices, raw and edge doubles. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "decode.h"

void fz_init(fz_in *in, const uint8_t *data, size_t size)
{
    in->p = data;
    in->n = data ? size : 0;
    in->pos = 0;
}

size_t fz_left(const fz_in *in)
{
    return in->n - in->pos;
}

uint8_t fz_u8(fz_in *in)
{
    return in->pos < in->n ? in->p[in->pos++] : 0;
}

/* Little-endian on every host, so a corpus means the same everywhere. */
uint16_t fz_u16(fz_in *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

uint32_t fz_u32(fz_in *in)
{
    uint32_t lo = fz_u16(in);
    return lo | (uint32_t)fz_u16(in) << 16;
}

uint64_t fz_u64(fz_in *in)
{
    uint64_t lo = fz_u32(in);
    return lo | (uint64_t)fz_u32(in) << 32;
}

bool fz_bool(fz_in *in)
{
    return fz_u8(in) & 1;
}

size_t fz_choice(fz_in *in, size_t n)
{
    if (n <= 1)
        return 0;
    return n <= 256 ? fz_u8(in) % n : fz_u32(in) % n;
}

long fz_range(fz_in *in, long lo, long hi)
{
    if (hi <= lo)
        return lo;
    unsigned long span = (unsigned long)hi - (unsigned long)lo + 1; /* 0: the full range */
    unsigned long v = span <= 256 ? fz_u8(in) : span <= 65536 ? fz_u16(in) : fz_u32(in);
    return span ? (long)((unsigned long)lo + v % span) : (long)((unsigned long)lo + v);
}

double fz_raw_double(fz_in *in)
{
    uint64_t bits = fz_u64(in);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static double from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

double fz_special(fz_in *in)
{
    /* +0 first: an exhausted input decodes to +0. */
    static const uint64_t table[] = {
        0x0000000000000000u, /* +0                      */
        0x8000000000000000u, /* -0                      */
        0x0000000000000001u, /* smallest subnormal      */
        0x8000000000000001u, /* its negative            */
        0x000fffffffffffffu, /* largest subnormal       */
        0x0010000000000000u, /* DBL_MIN                 */
        0x7fefffffffffffffu, /* DBL_MAX                 */
        0xffefffffffffffffu, /* -DBL_MAX                */
        0x7ff0000000000000u, /* +inf                    */
        0xfff0000000000000u, /* -inf                    */
        0x7ff8000000000000u, /* the default quiet NaN   */
        0xfff8000000000001u, /* a negative NaN, payload */
        0x7ff0000000000001u, /* a signalling NaN        */
        0x3ff0000000000000u, /* 1                       */
        0xbff0000000000000u, /* -1                      */
        0x3fe0000000000000u, /* 0.5                     */
        0x3cb0000000000000u, /* 2^-52: DBL_EPSILON      */
        0x3ca0000000000000u, /* 2^-53                   */
        0x3fefffffffffffffu, /* 1 - 2^-53               */
        0x3ff0000000000001u, /* 1 + 2^-52               */
    };
    return from_bits(FZ_PICK(in, table));
}

double fz_uniform(fz_in *in, double lo, double hi)
{
    double u = (double)fz_u32(in) / 4294967295.0;
    double v = lo + u * (hi - lo);
    return v < lo ? lo : v > hi ? hi : v; /* rounding may step outside */
}

/* Moves d by k ulps (k may be negative); stops at infinities. */
static double step_ulps(double d, int k)
{
    for (; k > 0; k--)
        d = nextafter(d, INFINITY);
    for (; k < 0; k++)
        d = nextafter(d, -INFINITY);
    return d;
}

/* A magnitude log-uniform over [lo, hi] (both > 0). */
static double log_uniform(fz_in *in, double lo, double hi)
{
    double v = exp(fz_uniform(in, log(lo), log(hi)));
    return v < lo ? lo : v > hi ? hi : v;
}

double fz_double(fz_in *in, const fz_hints *h)
{
    double lo = h && isfinite(h->lo) ? h->lo : -10.0;
    double hi = h && isfinite(h->hi) && h->hi >= lo ? h->hi : lo + 20.0;
    uint8_t mode = fz_u8(in);
    switch (mode % 8) {
    case 0:
        return fz_special(in);
    case 1:
        return fz_raw_double(in);
    case 2:
    case 3: { /* next to a kink or a threshold of this op, or a shared one */
        size_t n_own = h ? h->n_near : 0;
        size_t k = fz_choice(in, n_own + fz_n_thresholds);
        double at = k < n_own ? h->near[k] : fz_thresholds[k - n_own];
        int ulps = (int)fz_range(in, -4, 4);
        return (mode & 0x10 ? -1.0 : 1.0) * step_ulps(at, ulps);
    }
    case 4:
    case 5:
        return fz_uniform(in, lo, hi);
    case 6: { /* log-uniform magnitude inside the box, sign as the box allows */
        double m_hi = fmax(fabs(lo), fabs(hi));
        double m_lo = lo > 0 ? lo : hi < 0 ? -hi : m_hi * 1e-12;
        if (!(m_hi > 0))
            return 0.0;
        if (m_lo <= 0 || m_lo > m_hi)
            m_lo = m_hi * 1e-12;
        double v = log_uniform(in, m_lo, m_hi);
        bool neg = lo >= 0 ? false : hi <= 0 ? true : (mode & 0x10) != 0;
        return neg ? -v : v;
    }
    default:
        return (double)fz_range(in, -4, 4);
    }
}

const double fz_thresholds[] = {
    0.0,
    1.0,
    709.782712893384,        /* log(DBL_MAX): exp overflows above      */
    -708.3964185322641,      /* log(DBL_MIN): exp turns subnormal      */
    -745.1332191019411,      /* exp underflows to 0 below              */
    1.3407807929942596e154,  /* sqrt(DBL_MAX): squares overflow above  */
    1.4916681462400413e-154, /* sqrt(DBL_MIN): squares turn subnormal  */
    5.562684646268003e-309,  /* 1/DBL_MAX: reciprocals overflow below  */
    18.714973875118524,      /* tanh rounds to 1 above                 */
    DBL_MAX,
    DBL_MIN,
};
const size_t fz_n_thresholds = sizeof fz_thresholds / sizeof fz_thresholds[0];
