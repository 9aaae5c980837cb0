/* The status page's timeline (docs/status-page.md, "GET /qcc/api/timeline"):
 * switches, breaker and health changes, operator overrides, reloads, starts
 * and stops, rests, rejected keys and dead letters, as one JSON shape for
 * what the journal kept and what the routing engine reports live:
 *   {"time": ISO, "kind": K, "endpoint", "profile", "from", "to", "reason"}
 * (each string or null). */
#ifndef QCC_RUNTIME_TIMELINE_H
#define QCC_RUNTIME_TIMELINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct qcc_jrec;
struct qcc_journal;

#define QCC_TIMELINE_MAX 1000 /* the most entries qcc_timeline_history returns */

/* An ISO 8601 UTC string with milliseconds for unix ms TIME. */
json_t *qcc_timeline_iso(int64_t ms);
/* One entry; "" and NULL strings become null. NULL when out of memory. */
json_t *qcc_timeline_entry(int64_t time_ms, const char *kind, const char *endpoint,
                           const char *profile, const char *from, const char *to,
                           const char *reason);
/* The entry for a journal record, or NULL for records that are not timeline
 * material (checks, queue traffic, snapshots). */
json_t *qcc_timeline_of_record(const struct qcc_jrec *r);
/* {"entries": [...]}: the last MAX (<= QCC_TIMELINE_MAX) entries of the
 * journal, oldest first (snapshot items are restated state, not events). */
json_t *qcc_timeline_history(struct qcc_journal *journal, size_t max);

#endif
