/* A strict checker for the Prometheus text exposition format 0.0.4, written
 * from the format's description (prometheus.io, "Exposition formats"):
 *   - lines end in "\n"; "# HELP name text" and "# TYPE name type" at most
 *     once per family, TYPE before the family's first sample;
 *   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
 *     label values quoted with only \\ \" \n escapes, no duplicate label;
 *   - values are Go floats (NaN, +Inf, -Inf allowed), optional int timestamp;
 *   - a family's samples are contiguous, no series appears twice;
 *   - every sample belongs to a family with a TYPE (stricter than the spec);
 *   - counters are >= 0; histograms: per label set, le buckets ascending,
 *     cumulative counts non-decreasing, an le="+Inf" bucket equal to _count,
 *     and _sum and _count present. */
#ifndef QCC_TESTS_ADMIN_PROMCHECK_H
#define QCC_TESTS_ADMIN_PROMCHECK_H

#include <stddef.h>

/* 0 when TEXT is valid; -1 with a reason ("line N: ...") in WHY. Counts
 * samples into *samples when non-NULL. */
int promcheck(const char *text, size_t len, size_t *samples, char *why, size_t cap);

#endif
