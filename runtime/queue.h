/* The failure queue: requests that no endpoint could take wait here and are
 * retried on a schedule (docs/queue.md). Pure, clock-driven logic: no I/O,
 * no timers of its own. Time comes in as `now` (monotonic milliseconds); the
 * caller arms ONE timer at qcc_queue_next_due() and, when it fires, calls
 * qcc_queue_pop_due() and acts on what it returns.
 *
 * Life of an entry (entries are the caller's opaque request handles):
 *
 *   push -> WAITING --due or woken--> pop_due -> RETRYING --retry_failed--> WAITING ...
 *                                                     |  \--retry_no_endpoint--> WAITING
 *                                                     \--succeeded--> gone (succeeded)
 *   WAITING/RETRYING --remove (client gone)--> gone (removed)
 *   WAITING --max_wait over / max_retries used--> gone (expired: dead letter)
 *
 * A RETRYING entry keeps its place (and its slot against max_size), so a
 * failed retry never finds the queue full. Priority: higher first, FIFO
 * (by enqueue order) within a priority. */
#ifndef QCC_RUNTIME_QUEUE_H
#define QCC_RUNTIME_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/enums.h"
#include "schema/error.h"

/* Retry schedule constants (unscaled). */
#define QCC_QUEUE_BACKOFF_BASE_MS 5000u   /* exponential: 5 s, 10 s, 20 s, ... */
#define QCC_QUEUE_BACKOFF_CAP_MS 300000u  /* ... capped at 300 s */
#define QCC_QUEUE_FIXED_DEFAULT_MS 5000u  /* fixed_interval when none configured */
#define QCC_QUEUE_PRIORITY_MAX_HEADER 9u  /* x-qcc-priority accepts 0..9 */
#define QCC_QUEUE_PRIORITY_DEFAULT 5u     /* no header, no token priority */
#define QCC_QUEUE_PRIORITY_HEADER "x-qcc-priority"
#define QCC_QUEUE_TIME_SCALE_ENV "QCC_QUEUE_TIME_SCALE"
#define QCC_QUEUE_HARD_MAX 1000000u       /* max_size is clamped to this */
#define QCC_QUEUE_FULL_STATUS 529         /* Anthropic's "overloaded" status */

struct qcc_queue_params {
  uint32_t max_size;                 /* entries waiting or retrying; 0 = queue off */
  enum qcc_retry_strategy strategy;
  uint32_t max_retries;              /* retries before expiry; 0 = queue off */
  uint32_t max_wait_ms;              /* enqueue -> expiry; 0 = no time limit */
  uint32_t fixed_interval_ms;        /* fixed_interval; 0 = 5 s */
  double time_scale;                 /* multiplies every delay; <= 0 means 1.0 */
  uint64_t first_id;                 /* ids count up from here (0 = 1); seed it with
                                        the wall clock so ids stay unique across
                                        restarts (dead letters keep them) */
};

/* max_size 1000, exponential_backoff, 5 retries, 120 s, scale 1.0. */
void qcc_queue_params_default(struct qcc_queue_params *p);
struct qcc_tbl_settings;
/* From the table's queue settings (queue.enabled false -> max_size 0, the
 * queue is off), with the caller's time scale and id seed. */
void qcc_queue_params_from_settings(struct qcc_queue_params *p, const struct qcc_tbl_settings *s,
                                    double time_scale, uint64_t first_id);
/* The scale from $QCC_QUEUE_TIME_SCALE text (e.g. "0.01"): 1.0 when NULL,
 * empty, not a number, <= 0, or > 1000. The caller reads the env. */
double qcc_queue_parse_time_scale(const char *text);
/* Priority from an x-qcc-priority header value: 0 and *out set for "0".."9"
 * (surrounding blanks allowed), -1 otherwise (the caller falls back to the
 * client token's priority, then QCC_QUEUE_PRIORITY_DEFAULT). */
int qcc_queue_parse_priority(const char *value, size_t len, uint32_t *out);

/* Delay before retry number `retry` (1 = first retry) under p, scaled. Never
 * below 0; immediate gives 0 (the next loop turn). */
uint64_t qcc_queue_retry_delay_ms(const struct qcc_queue_params *p, uint32_t retry);

struct qcc_queue;

int qcc_queue_new(const struct qcc_queue_params *p, struct qcc_queue **out, struct qcc_err *err);
void qcc_queue_free(struct qcc_queue **q);
/* New settings (table reload). Entries keep their times; the new limits
 * apply from their next retry. A smaller max_size drops nobody: it only
 * refuses pushes until the queue has shrunk. */
void qcc_queue_configure(struct qcc_queue *q, const struct qcc_queue_params *p);

enum qcc_queue_push_status {
  QCC_QUEUE_PUSHED = 0,
  QCC_QUEUE_FULL,       /* at max_size: answer at once with retry_after */
  QCC_QUEUE_OFF,        /* max_size or max_retries is 0: fail it now */
  QCC_QUEUE_DUPLICATE,  /* handle already queued (caller bug) */
  QCC_QUEUE_NOMEM,      /* allocation failed: fail this request only */
};

/* Enqueue HANDLE (non-NULL) at NOW after its first failure. On success *id
 * (when non-NULL) is the queue id used in journal records and by dead
 * letters. On FULL, *retry_after_s (when non-NULL) is what to send in
 * retry-after: seconds until the queue is next due to move, 1..300. */
enum qcc_queue_push_status qcc_queue_push(struct qcc_queue *q, void *handle, uint32_t priority,
                                          uint64_t now, uint64_t *id, uint32_t *retry_after_s);

/* Like qcc_queue_push, for a request that found no endpoint at all (no
 * attempt was made, so there is nothing to back off from): it waits for
 * qcc_queue_wake_all (an endpoint became eligible) or its deadline, never
 * for the retry schedule. */
enum qcc_queue_push_status qcc_queue_push_waiting(struct qcc_queue *q, void *handle,
                                                  uint32_t priority, uint64_t now, uint64_t *id,
                                                  uint32_t *retry_after_s);

/* The earliest time anything is due (a retry or an expiry); UINT64_MAX when
 * nothing is due by the clock (entries may still wait for a wake: see
 * qcc_queue_waiting). Arm one timer for it. */
uint64_t qcc_queue_next_due(const struct qcc_queue *q);

struct qcc_queue_item {
  void *handle;
  uint64_t id;
  uint32_t priority;
  uint32_t attempt;      /* retry number now starting (1-based); for expired: retries done */
  uint64_t enqueued_at;
  bool expired;          /* true: removed from the queue, dead-letter it */
  bool retries_used;     /* expired because max_retries were used (else max_wait) */
};

/* Everything due at NOW, up to max items: expired entries (removed, counted)
 * and entries whose retry is due (now RETRYING, attempt counted), the
 * retries in priority order (higher first, FIFO within). Call again while it
 * returns max. */
size_t qcc_queue_pop_due(struct qcc_queue *q, uint64_t now, struct qcc_queue_item *out,
                         size_t max);

enum qcc_queue_retry_status {
  QCC_QUEUE_RESCHEDULED = 0, /* waiting again; see qcc_queue_next_due */
  QCC_QUEUE_EXPIRED,         /* removed: max_retries used or max_wait over */
  QCC_QUEUE_UNKNOWN,         /* not queued, or not retrying */
};
/* The retry of HANDLE failed at NOW. */
enum qcc_queue_retry_status qcc_queue_retry_failed(struct qcc_queue *q, void *handle,
                                                   uint64_t now);
/* The retry of HANDLE found no endpoint, so made no attempt: back to
 * WAITING for a wake (as after qcc_queue_push_waiting), and the retry is
 * not counted (neither against max_retries nor in the counters). EXPIRED
 * only when the deadline is over. */
enum qcc_queue_retry_status qcc_queue_retry_no_endpoint(struct qcc_queue *q, void *handle,
                                                        uint64_t now);
/* Entries WAITING now (by the clock or for a wake). */
uint64_t qcc_queue_waiting(const struct qcc_queue *q);
/* The retry of HANDLE succeeded: removed. 0, or -1 when not queued. */
int qcc_queue_succeeded(struct qcc_queue *q, void *handle);
/* The client went away: removed at once, whatever its state. 0, or -1 when
 * not queued. The caller cancels a retry in flight itself. */
int qcc_queue_remove(struct qcc_queue *q, void *handle);
/* An endpoint recovered: every WAITING entry is due at NOW. Returns how
 * many were woken. */
size_t qcc_queue_wake_all(struct qcc_queue *q, uint64_t now);

/* A slot was freed: only the WAITING entries that wait for an endpoint
 * (qcc_queue_push_waiting, qcc_queue_retry_no_endpoint) are due at NOW;
 * those backing off from failed retries keep their schedule. Returns how
 * many were woken. */
size_t qcc_queue_wake_waiting(struct qcc_queue *q, uint64_t now);

bool qcc_queue_contains(const struct qcc_queue *q, void *handle);

/* For `qccc queue status|list`. */
enum qcc_queue_state { QCC_QUEUE_WAITING = 0, QCC_QUEUE_RETRYING };
const char *qcc_queue_state_name(enum qcc_queue_state s);

struct qcc_queue_info {
  void *handle;
  uint64_t id;
  uint32_t priority;
  uint32_t retries;        /* retries started so far */
  enum qcc_queue_state state;
  uint64_t enqueued_at;
  uint64_t next_retry_at;  /* WAITING: when its retry is due (UINT64_MAX: at a wake) */
  uint64_t deadline;       /* enqueued_at + max_wait (scaled); UINT64_MAX = none */
};
/* Up to max entries in priority order (the order they would be retried). */
size_t qcc_queue_list(const struct qcc_queue *q, struct qcc_queue_info *out, size_t max);

struct qcc_queue_counters {
  uint64_t queued;      /* now: waiting + retrying */
  uint64_t retrying;    /* now */
  uint64_t enqueued;    /* total pushed */
  uint64_t rejected;    /* pushes refused (full or off) */
  uint64_t expired;     /* became dead letters */
  uint64_t succeeded;   /* a retry answered */
  uint64_t removed;     /* client went away */
  uint64_t retries;     /* retries started */
  uint64_t woken;       /* entries made due by wake_all */
};
void qcc_queue_counters(const struct qcc_queue *q, struct qcc_queue_counters *out);

/* ---- Anthropic-shaped error bodies for the queue's outcomes ----
 * {"type":"error","error":{"type":TYPE,"message":MESSAGE}} with MESSAGE
 * escaped (quotes, backslashes, control bytes; invalid UTF-8 becomes '?').
 * A message that does not fit is cut on a character boundary: the output is
 * always one valid JSON document. Return the length written (NUL not
 * counted), or -1 when cap cannot hold even an empty message. */
int qcc_error_json(const char *type, const char *message, char *buf, size_t cap);

/* One upstream attempt, as the exchange saw it (no secrets: endpoint id and
 * a short reason such as "timeout" or "HTTP 503"). */
struct qcc_queue_attempt {
  const char *endpoint;  /* endpoint id */
  uint16_t status;       /* 0 = no HTTP response */
  const char *reason;
};

/* The full-queue answer: overloaded_error saying to retry after N s. */
int qcc_queue_full_json(uint32_t retry_after_s, char *buf, size_t cap);
/* The final answer of an expired request: overloaded_error naming what was
 * tried ("prod-1 (HTTP 503), prod-2 (timeout)"), how many attempts and how
 * long it waited. dead_letter_id may be NULL. */
/* The messages of those two answers alone (into MSG, cut to CAP): the
 * exchange answers with them in its own error. Return the length. */
int qcc_queue_full_message(uint32_t retry_after_s, char *msg, size_t cap);
int qcc_queue_expired_message(const struct qcc_queue_attempt *tried, size_t n, uint32_t attempts,
                              uint64_t waited_ms, const char *dead_letter_id, char *msg,
                              size_t cap);
int qcc_queue_expired_json(const struct qcc_queue_attempt *tried, size_t n, uint32_t attempts,
                           uint64_t waited_ms, const char *dead_letter_id, char *buf, size_t cap);

#endif
