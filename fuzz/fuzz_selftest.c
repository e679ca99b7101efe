/* fuzz_selftest.c - a harness that misbehaves on purpose, so tests can prove the
 * replay main reports failures: "ABORT" aborts, "NONDET" computes something new each run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "digest.h"
#include "harness.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t calls;
    calls++;
    if (size >= 5 && memcmp(data, "ABORT", 5) == 0)
        fz_fail("selftest: the ABORT marker (a planted finding)");
    if (size >= 6 && memcmp(data, "NONDET", 6) == 0)
        fz_digest_mix(calls); /* differs on every run: the replay must notice */
    else
        fz_digest_mix(size);
    return 0;
}
