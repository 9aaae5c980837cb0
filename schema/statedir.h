/* The state directory: where qcc-run keeps its journal (and dead-letter
 * bodies), and where qccc's offline commands look for it. Both programs find
 * it the same way:
 *   1. --state-dir DIR (the caller passes the flag's value, or NULL)
 *   2. $QCC_STATE_DIR, when set and non-empty
 *   3. $HOME/.qcc
 * It is created with mode 0700 on demand; files in it are created 0600. */
#ifndef QCC_SCHEMA_STATEDIR_H
#define QCC_SCHEMA_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "schema/error.h"

#define QCC_STATE_DIR_ENV "QCC_STATE_DIR"
#define QCC_STATE_DIR_DEFAULT ".qcc" /* under $HOME */

/* Resolve the directory name into out (no filesystem access). -1 when no
 * rule applies (no flag, no env, no HOME) or the path does not fit. */
int qcc_statedir_resolve(const char *flag, char *out, size_t cap, struct qcc_err *err);
/* Create dir (and missing parents) with mode 0700; fine if it exists as a
 * directory. */
int qcc_statedir_ensure(const char *dir, struct qcc_err *err);
/* dir + "/" + name into out; -1 if it does not fit. */
int qcc_statedir_path(const char *dir, const char *name, char *out, size_t cap,
                      struct qcc_err *err);
/* Take "--state-dir DIR" or "--state-dir=DIR" out of argv (shifting the rest
 * down, updating *argc) and return DIR, or NULL when absent. Sets *missing
 * when the flag has no value. */
const char *qcc_statedir_take_flag(int *argc, char **argv, bool *missing);

#endif
