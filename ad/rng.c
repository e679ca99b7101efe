/* rng.c - xoshiro256** bits, SplitMix64 seeding, uniform and polar-method normal draws. */
#include <math.h>
#include "internal.h"

uint64_t ad_rng_splitmix64(uint64_t *x)
{
    if (!x)
        return 0;
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void ad_rng_seed(ad_rng *r, uint64_t seed)
{
    if (!r)
        return;
    for (int i = 0; i < 4; i++)
        r->s[i] = ad_rng_splitmix64(&seed);
    /* SplitMix64 is a bijection of distinct counters, so the four words are
     * never all zero (the one state xoshiro cannot leave). */
    r->spare = 0.0;
    r->has_spare = false;
}

ad_rng ad_rng_make(uint64_t seed)
{
    ad_rng r;
    ad_rng_seed(&r, seed);
    return r;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t ad_rng_u64(ad_rng *r)
{
    if (!r)
        return 0;
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double ad_rng_uniform(ad_rng *r)
{
    /* the top bits of xoshiro256** are its best; 53 of them fill a double exactly */
    return r ? (double)(ad_rng_u64(r) >> 11) * 0x1.0p-53 : 0.0;
}

uint64_t ad_rng_below(ad_rng *r, uint64_t n)
{
    if (!r || n == 0)
        return 0;
    /* reject the last (2^64 mod n) values so every residue is equally likely */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
    uint64_t x;
    do
        x = ad_rng_u64(r);
    while (x > limit);
    return x % n;
}

double ad_rng_normal(ad_rng *r)
{
    if (!r)
        return NAN;
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u, v, s;
    do { /* a point uniform in the unit disc, origin excluded (acceptance pi/4) */
        u = 2.0 * ad_rng_uniform(r) - 1.0;
        v = 2.0 * ad_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = true;
    return u * f;
}
