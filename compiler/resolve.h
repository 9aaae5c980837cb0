/* Phase 2, resolve: names that point at other things. profile_groups are
 * matched to profiles (missing names, disagreement with a profile's own
 * priority), and `from:` chains are followed (missing targets, cycles) so
 * each endpoint gets the base_url, key source and auth it reuses. */
#ifndef QCC_COMPILER_RESOLVE_H
#define QCC_COMPILER_RESOLVE_H

#include "diag.h"
#include "load.h"

/* 0 when no error was added, -1 otherwise. */
int qcc_resolve(struct qcc_loaded *l, struct qcc_diags *d);

#endif
