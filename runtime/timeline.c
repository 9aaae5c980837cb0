#include "timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "journal_writer.h"
#include "log.h"
#include "schema/enums.h"
#include "schema/journal.h"

#define MAX_KEPT QCC_TIMELINE_MAX

json_t *qcc_timeline_iso(int64_t ms) {
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char b[64];
  snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
  return json_string(b);
}

static json_t *str_or_null(const char *s) {
  return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}


json_t *qcc_timeline_entry(int64_t time_ms, const char *kind, const char *endpoint,
                     const char *profile, const char *from, const char *to, const char *reason) {
  return json_pack("{s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "time", qcc_timeline_iso(time_ms), "kind", kind,
                   "endpoint", str_or_null(endpoint), "profile", str_or_null(profile), "from",
                   str_or_null(from), "to", str_or_null(to), "reason", str_or_null(reason));
}

json_t *qcc_timeline_of_record(const struct qcc_jrec *r) {
  const char *(*en)(const struct qcc_enum_desc *, unsigned) = qcc_enum_name;
  char a[32], b[32];
  switch (r->type) {
  case QCC_JT_STARTUP:
    snprintf(a, sizeof a, "%llu", (unsigned long long)r->u.startup.table_generation);
    return qcc_timeline_entry(r->time_ms, "start", NULL, NULL, NULL, a, r->u.startup.version);
  case QCC_JT_SHUTDOWN:
    return qcc_timeline_entry(r->time_ms, "stop", NULL, NULL, NULL, NULL, r->u.shutdown.reason);
  case QCC_JT_HEALTH_STATUS:
    return qcc_timeline_entry(r->time_ms, "health", r->u.health_status.endpoint.id, NULL,
                 en(&qcc_jhealth_desc, r->u.health_status.from),
                 en(&qcc_jhealth_desc, r->u.health_status.to), r->u.health_status.reason);
  case QCC_JT_BREAKER:
    return qcc_timeline_entry(r->time_ms, "breaker", r->u.breaker.endpoint.id, NULL,
                 en(&qcc_jbreaker_desc, r->u.breaker.from), en(&qcc_jbreaker_desc, r->u.breaker.to),
                 NULL);
  case QCC_JT_GROUP_SWITCH:
    return qcc_timeline_entry(r->time_ms, "switch", NULL, r->u.group_switch.to, r->u.group_switch.from,
                 r->u.group_switch.to, r->u.group_switch.reason);
  case QCC_JT_OVERRIDE: {
    const char *k = en(&qcc_joverride_desc, r->u.override.kind);
    bool prof = r->u.override.target.sid == 0;
    return qcc_timeline_entry(r->time_ms, k != NULL ? k : "override", prof ? NULL : r->u.override.target.id,
                 prof ? r->u.override.target.id : NULL, NULL, NULL, r->u.override.reason);
  }
  case QCC_JT_TABLE_SWAP:
    snprintf(a, sizeof a, "%llu", (unsigned long long)r->u.table_swap.from_generation);
    snprintf(b, sizeof b, "%llu", (unsigned long long)r->u.table_swap.to_generation);
    return qcc_timeline_entry(r->time_ms, r->u.table_swap.ok ? "reload" : "reload_rejected", NULL, NULL, a, b,
                 r->u.table_swap.reason);
  case QCC_JT_KEY_REJECTED:
    return qcc_timeline_entry(r->time_ms, "key_rejected", r->u.key_rejected.endpoint.id, NULL, NULL, NULL,
                 r->u.key_rejected.reason);
  case QCC_JT_ENDPOINT_REST:
    return qcc_timeline_entry(r->time_ms, "rest", r->u.endpoint_rest.endpoint.id, NULL, NULL, NULL,
                 r->u.endpoint_rest.reason);
  case QCC_JT_ENDPOINT_RESET:
    return qcc_timeline_entry(r->time_ms, "reset", r->u.endpoint_reset.endpoint.id, NULL, NULL, NULL,
                 r->u.endpoint_reset.reason);
  case QCC_JT_QUEUE_DEAD_LETTER:
    snprintf(a, sizeof a, "%llx", (unsigned long long)r->u.queue_dead_letter.request_id);
    return qcc_timeline_entry(r->time_ms, "dead_letter", NULL, NULL, NULL, a, r->u.queue_dead_letter.reason);
  case QCC_JT_QUEUE_CLEARED:
    snprintf(a, sizeof a, "%llx", (unsigned long long)r->u.queue_cleared.request_id);
    return qcc_timeline_entry(r->time_ms, "dead_letter_removed", NULL, NULL, NULL, a, r->u.queue_cleared.reason);
  default: return NULL; /* checks, queue traffic, snapshots: not timeline material */
  }
}

struct history {
  json_t *ring[MAX_KEPT];
  size_t n, head;
};

static int history_cb(const struct qcc_jrec *r, uint64_t offset, void *ud) {
  (void)offset;
  struct history *h = ud;
  if (r->flags & QCC_JOURNAL_FLAG_SNAPSHOT) return 0; /* restated state, not an event */
  json_t *e = qcc_timeline_of_record(r);
  if (e == NULL) return 0;
  size_t slot = (h->head + h->n) % MAX_KEPT;
  if (h->n == MAX_KEPT) {
    json_decref(h->ring[h->head]);
    slot = h->head;
    h->head = (h->head + 1) % MAX_KEPT;
  } else {
    h->n++;
  }
  h->ring[slot] = e;
  return 0;
}

json_t *qcc_timeline_history(struct qcc_journal *journal, size_t max) {
  json_t *arr = json_array();
  if (journal == NULL || arr == NULL) return json_pack("{s:o}", "entries", arr);
  struct history *h = calloc(1, sizeof *h);
  if (h == NULL) return json_pack("{s:o}", "entries", arr);
  struct qcc_err err = {0};
  if (qcc_journal_replay(journal, history_cb, h, &err) != 0)
    qcc_log_warn("status page: timeline: %s", err.msg);
  size_t skip = h->n > max ? h->n - max : 0;
  for (size_t i = 0; i < skip; i++) json_decref(h->ring[(h->head + i) % MAX_KEPT]);
  for (size_t i = skip; i < h->n; i++)
    json_array_append_new(arr, h->ring[(h->head + i) % MAX_KEPT]);
  free(h);
  return json_pack("{s:o}", "entries", arr);
}

