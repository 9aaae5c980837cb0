/* The question a destructive command asks (issue 16): -y/--yes goes on
 * without asking; on a terminal "WHAT? [y/N]"; elsewhere a command whose
 * effect cannot be undone refuses (it needs -y), one that keeps what it
 * replaced (a .bak, a snapshot, a backup) goes on. One rule for every
 * command; docs/cli.md lists which are which. */
#ifndef QCC_COMPILER_CONFIRM_H
#define QCC_COMPILER_CONFIRM_H

#include <stdbool.h>
#include <stdio.h>

enum qccc_confirm {
  QCCC_CONFIRM_GO,        /* do it */
  QCCC_CONFIRM_CANCELLED, /* the user said no (told on OUT) */
  QCCC_CONFIRM_REFUSED,   /* not a terminal and irreversible, no -y (told on ERR) */
};

/* WHAT is a lower-case phrase ("remove endpoint prod-2 from qcc.yaml").
 * IN is the terminal asked (its answer read from it). */
enum qccc_confirm qccc_confirm(bool yes, bool irreversible, const char *what, FILE *in, FILE *out,
                               FILE *err);

#endif
