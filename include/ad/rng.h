/* rng.h - the one seeded random generator: xoshiro256** seeded by SplitMix64, uniform and normal draws. */
#ifndef AD_RNG_H
#define AD_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "export.h"

/*
 * A generator is plain state, owned by the caller (no globals, no locks):
 *  - bits: xoshiro256** (Blackman and Vigna, 2018), 256 bits of state;
 *  - seeding: the 64-bit seed is expanded into the state by four SplitMix64
 *    outputs (Steele, Lea and Flood), as the xoshiro authors recommend;
 *  - uniform: the top 53 bits of one output times 2^-53, in [0, 1);
 *  - normal: Marsaglia's polar method on two uniforms in (-1, 1); each
 *    accepted pair gives two normals, the second kept in `spare`.
 * Only integer arithmetic, multiplications by powers of two, sqrt (correctly
 * rounded everywhere) and log make the streams, so every platform gives the
 * same integers and uniforms; normals agree to the last bit wherever libm's
 * log does (glibc, musl and macOS all round it correctly in practice).
 * Setting s[] by hand is allowed (any state but all zero).
 */
typedef struct ad_rng {
    uint64_t s[4];
    double spare;     /* the second normal of the last polar pair */
    bool has_spare;
} ad_rng;

/** Seeds r from a 64-bit seed (any value, 0 included). r NULL: nothing. */
AD_API void ad_rng_seed(ad_rng *r, uint64_t seed);

/** @return a seeded generator, for one-line initialization. */
AD_API ad_rng ad_rng_make(uint64_t seed);

/** @return the next 64 random bits (0 for r NULL). */
AD_API uint64_t ad_rng_u64(ad_rng *r);

/** @return a uniform double in [0, 1), a multiple of 2^-53 (0 for r NULL). */
AD_API double ad_rng_uniform(ad_rng *r);

/**
 * A uniform integer in [0, n) without modulo bias (rejection of the
 * incomplete top range).
 * @return the draw; 0 for r NULL or n == 0.
 */
AD_API uint64_t ad_rng_below(ad_rng *r, uint64_t n);

/** @return a standard normal draw (mean 0, variance 1); NAN for r NULL. */
AD_API double ad_rng_normal(ad_rng *r);

/**
 * The SplitMix64 step used for seeding: advances *x by the golden-ratio
 * increment and returns the mixed value. Exposed so tests and users can
 * reproduce the seeding. @return 0 for x NULL.
 */
AD_API uint64_t ad_rng_splitmix64(uint64_t *x);

#endif
