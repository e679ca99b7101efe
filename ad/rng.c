/* rng.c - splitmix64: the checker's own small seeded generator (never global). */
#include "check_int.h"

uint64_t ad__rng_next(ad__rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double ad__rng_range(ad__rng *r, double lo, double hi)
{
    double u = (double)(ad__rng_next(r) >> 11) * 0x1p-53; /* 53 random bits in [0, 1) */
    return lo + (hi - lo) * u;
}
