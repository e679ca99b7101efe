/* digest.c - the run digest: FNV-1a over 64-bit words; a no-op cost under libFuzzer. */
#include <math.h>
#include <string.h>
#include "digest.h"

static uint64_t digest = 0xcbf29ce484222325u;

void fz_digest_mix(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        digest ^= (v >> (8 * i)) & 0xffu;
        digest *= 0x100000001b3u;
    }
}

void fz_digest_double(double d)
{
    uint64_t bits;
    if (isnan(d))
        d = NAN;
    memcpy(&bits, &d, sizeof bits);
    fz_digest_mix(bits);
}

uint64_t fz_digest_take(void)
{
    uint64_t d = digest;
    digest = 0xcbf29ce484222325u;
    return d;
}
