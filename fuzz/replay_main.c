/* replay_main.c - runs harnesses without libFuzzer: every file (or folder of files) on the
 * command line is fed to LLVMFuzzerTestOneInput several times; a crash, an abort or a
 * run whose digest differs from the first (non-determinism) fails the replay. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "digest.h"
#include "harness.h"

/* Optional in a harness: a weak reference is NULL when the harness lacks it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define RUNS 3
#define MAX_INPUT (16u << 20) /* inputs are small; a bigger file is a mistake */

/* ADCHECK_REPLAY_TIMES set: each input's time per run on stderr, to find the
 * inputs that slow a harness down (sort -n on the first column). */
static bool print_times;

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    uint8_t *buf = malloc(MAX_INPUT + 1);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "replay: out of memory for %s\n", path);
        return 1;
    }
    size_t n = fread(buf, 1, MAX_INPUT + 1, f);
    int bad = ferror(f);
    if (fclose(f) != 0)
        bad = 1;
    if (bad || n > MAX_INPUT) {
        fprintf(stderr, "replay: %s: %s\n", path, bad ? "read error" : "larger than 16 MiB");
        free(buf);
        return 1;
    }
    /* A copy of exactly n bytes lets ASan see a harness that reads past the input. */
    uint8_t *data = malloc(n ? n : 1);
    if (!data) {
        free(buf);
        fprintf(stderr, "replay: out of memory for %s\n", path);
        return 1;
    }
    memcpy(data, buf, n);
    free(buf);
    int rc = 0;
    uint64_t first = 0;
    fz_digest_take();
    double t0 = seconds_now();
    for (int run = 0; run < RUNS; run++) {
        LLVMFuzzerTestOneInput(data, n);
        uint64_t d = fz_digest_take();
        if (run == 0) {
            first = d;
        } else if (d != first) {
            fprintf(stderr, "replay: %s: run %d computed something else than run 1 "
                            "(digest %016llx, not %016llx): the harness is not deterministic\n",
                    path, run + 1, (unsigned long long)d, (unsigned long long)first);
            rc = 1;
            break;
        }
    }
    if (print_times)
        fprintf(stderr, "%.1f us %s\n", 1e6 * (seconds_now() - t0) / RUNS, path);
    free(data);
    return rc;
}

/* Replays every regular file in a folder, in name order so logs are stable. */
static int replay_dir(const char *path, size_t *count)
{
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot read folder %s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.' && rc == 0) {
            size_t len = strlen(path) + strlen(name) + 2;
            char *full = malloc(len);
            struct stat st;
            if (!full) {
                fprintf(stderr, "replay: out of memory\n");
                rc = 1;
            } else {
                snprintf(full, len, "%s/%s", path, name);
                if (stat(full, &st) != 0) {
                    fprintf(stderr, "replay: cannot stat %s: %s\n", full, strerror(errno));
                    rc = 1;
                } else if (S_ISREG(st.st_mode)) {
                    rc = replay_file(full);
                    ++*count;
                }
                free(full);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|FOLDER...\n"
                        "Runs each input %d times through the harness; libFuzzer flags (-x) are ignored.\n",
                argv[0], RUNS);
        return 2;
    }
    print_times = getenv("ADCHECK_REPLAY_TIMES") != NULL;
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (argv[i][0] == '-')
            continue; /* a libFuzzer flag: lets one command line serve both builds */
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot stat %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = replay_dir(argv[i], &count);
        } else {
            rc = replay_file(argv[i]);
            count++;
        }
    }
    if (rc == 0 && count == 0) {
        fprintf(stderr, "replay: no inputs found: an empty corpus proves nothing\n");
        rc = 1;
    }
    printf("replay: %zu input%s, %d runs each: %s\n", count, count == 1 ? "" : "s", RUNS,
           rc ? "FAILED" : "ok");
    return rc;
}
