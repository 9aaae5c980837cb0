/* `qccc diff`: the semantic difference between two tables — what a reader of
 * the config would call a change, not a byte difference. Settings field by
 * field; profiles matched by name and endpoints by id (added, removed,
 * changed field by field, moved between profiles, reordered); auth tokens by
 * position. Header fields (generation, build time) are not differences.
 * Keys stay redacted: a changed literal key shows only that it changed. */
#ifndef QCC_COMPILER_DIFF_H
#define QCC_COMPILER_DIFF_H

#include <stddef.h>
#include <stdio.h>

#include "schema/table.h"

/* Print one line per difference to OUT (may be NULL to only count) and
 * return how many there are. Lines start with "+ " (added), "- " (removed)
 * or "~ " (changed). */
size_t qcc_diff_tables(const struct qcc_table *a, const struct qcc_table *b, FILE *out);

#endif
