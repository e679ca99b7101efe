/* digest.h - a running hash of what a harness computed, so the replay main can catch non-determinism. */
#ifndef FZ_DIGEST_H
#define FZ_DIGEST_H

#include <stdint.h>

/* Mixes v into the digest of the current run (harnesses call it on results). */
void fz_digest_mix(uint64_t v);
/* Mixes the bits of a double (all NaNs alike: their payloads may vary legitimately). */
void fz_digest_double(double d);
/* Returns the digest of the run so far and starts a new one. */
uint64_t fz_digest_take(void);

#endif
