/* The option words of qccc's hand-parsed commands: "--name" or
 * "--name=VALUE" (the command table in commands.c checks the words a
 * command accepts; these read them). */
#ifndef QCC_COMPILER_ARGSCAN_H
#define QCC_COMPILER_ARGSCAN_H

#include <stdbool.h>

/* A is option NAME, bare or with "=VALUE". */
bool qcc_arg_is(const char *a, const char *name);
/* The value of option NAME at argv[*I]: after "=", else the next word
 * (advancing *I); NULL when there is none. */
const char *qcc_arg_value(int argc, char **argv, int *i, const char *name);

#endif
