/* cmd_selftest.c - placeholder */
#include "cli.h"
int cmd_selftest(int argc, char **argv) { (void)argc; (void)argv; return EXIT_USAGE; }
