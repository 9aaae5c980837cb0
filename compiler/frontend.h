/* The compiler's front half: YAML file -> validated struct qcc_config.
 * Phases (each its own file and test target):
 *   load    (load*.c)   libyaml pass keeping positions + libcyaml schema, includes,
 *                       defaults, unknown keys / types / ranges / enums / durations
 *   resolve (resolve.c) `from:` references and cycles, profile_groups
 *   check   (check.c)   semantic rules (unique ids, primary group, URLs, keys ...)
 * All diagnostics of one run are collected in D; stops early only when going on
 * would cascade (e.g. YAML syntax error). */
#ifndef QCC_COMPILER_FRONTEND_H
#define QCC_COMPILER_FRONTEND_H

#include <stdbool.h>

#include "config.h"
#include "diag.h"

struct qcc_frontend_opts {
  bool strict;        /* warnings are errors (literal api_key ...) */
  bool check_secrets; /* also verify api_key_env / api_key_file resolve here */
};

/* 0 and *out set when no errors (warnings allowed); -1 otherwise (*out NULL).
 * I/O problems (file missing) are reported as diagnostics too, with *io_error
 * set so main can exit 2 instead of 1. */
int qcc_frontend_run(const char *path, const struct qcc_frontend_opts *opts,
                     struct qcc_config **out, struct qcc_diags *d, bool *io_error);

#endif
