/* harness.h - the libFuzzer entry points every harness defines (and the replay main calls). */
#ifndef FZ_HARNESS_H
#define FZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; returns 0 (libFuzzer reserves other values). A finding aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: runs once before any input (the planted-defect builds register ops here). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
