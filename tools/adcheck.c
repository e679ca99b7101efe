/* adcheck.c - the `adcheck` command: dispatches to grad, ops, selftest and hunt. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

#ifndef ADCHECK_VERSION
#define ADCHECK_VERSION "unknown"
#endif

static const char usage[] =
    "usage: adcheck COMMAND [OPTIONS] ...\n"
    "\n"
    "  grad      EXPR NAME=VALUE...   value, reverse-mode gradient and its verification\n"
    "  ops                            every op: arity, attributes, kinks, bounds\n"
    "  selftest                       verify every op across its domain against MPFR\n"
    "  hunt      EXPR NAME=LO:HI...   search a box for wrong, unstable or exploding gradients\n"
    "\n"
    "'adcheck COMMAND --help' describes each. EXPR '-' reads standard input.\n"
    "Exit status: 0 all checks pass, 1 a check failed, 2 usage or expression error.\n";

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"grad", cmd_grad}, {"ops", cmd_ops}, {"selftest", cmd_selftest}, {"hunt", cmd_hunt},
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return fputs(usage, stderr), EXIT_USAGE;
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
        return fputs(usage, stdout), EXIT_PASS;
    if (strcmp(argv[1], "--version") == 0)
        return printf("adcheck %s\n", ADCHECK_VERSION), EXIT_PASS;
    char why[256];
    if (!expr_ops_register(why, sizeof why)) {
        fprintf(stderr, "adcheck: %s\n", why);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(argv[1], commands[k].name) == 0)
            return commands[k].run(argc - 1, argv + 1);
    if (argv[1][0] == '-')
        return cli_usage(NULL, "unknown option '%.40s'", argv[1]);
    const char *names[] = {"grad", "ops", "selftest", "hunt"};
    for (size_t k = 0; k < 4; k++)
        if (strlen(argv[1]) < 12 && strncmp(argv[1], names[k], 2) == 0)
            return cli_usage(NULL, "unknown command '%s'; did you mean '%s'?", argv[1], names[k]);
    return cli_usage(NULL, "unknown command '%.40s' (commands: grad, ops, selftest, hunt)", argv[1]);
}
