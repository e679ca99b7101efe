/* print_program.c - prints the program a fuzz_program input decodes to (for reading
 * findings and corpora): print_program FILE... */
#include <stdio.h>
#include <stdlib.h>
#include "program.h"

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        static uint8_t buf[1 << 16];
        if (!f) {
            perror(argv[i]);
            rc = 1;
            continue;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        int bad = ferror(f);
        fclose(f);
        if (bad) {
            fprintf(stderr, "%s: read error\n", argv[i]);
            rc = 1;
            continue;
        }
        static fz_prog p;
        fz_in in;
        fz_init(&in, buf, n);
        printf("%s: ", argv[i]);
        if (fz_prog_decode(&in, &p, true))
            fz_prog_print(&p, stdout);
        else
            puts("no program");
    }
    return rc;
}
