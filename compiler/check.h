/* Phase 3, check: semantic rules over the resolved config — unique profile
 * names and endpoint ids, an enabled endpoint in the primary group, base_url
 * shape and transport security, key sources (literal keys warn) and, with
 * --check-secrets, that key references resolve on this machine. */
#ifndef QCC_COMPILER_CHECK_H
#define QCC_COMPILER_CHECK_H

#include "diag.h"
#include "frontend.h"
#include "load.h"

/* 0 when no error was added, -1 otherwise (warnings do not count). */
int qcc_check(const struct qcc_loaded *l, const struct qcc_frontend_opts *opts,
              struct qcc_diags *d);

#endif
