/* cmd_hunt.c - placeholder */
#include "cli.h"
int cmd_hunt(int argc, char **argv) { (void)argc; (void)argv; return EXIT_USAGE; }
