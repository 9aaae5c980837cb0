/* Admission control: the global in-flight limit (docs/queue.md).
 *
 * proxy.max_connections is the server's (it stops accepting); per-endpoint
 * max_concurrency is the router's. This is the limit between them: at most
 * max_in_flight requests are being forwarded at once. A request over the
 * limit waits on a small, capped wait list (highest priority first, FIFO
 * within); a request beyond the wait list, or one that waited too long, is
 * the caller's to send to the failure queue or answer 429 with retry-after.
 * No I/O, no timers: time comes in as `now` (monotonic ms). */
#ifndef QCC_RUNTIME_LIMITS_H
#define QCC_RUNTIME_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "schema/error.h"

#define QCC_LIMITS_WAIT_HARD_MAX 4096u     /* max_waiting is clamped to this */
#define QCC_LIMITS_WAIT_DEFAULT_MS 10000u  /* max_wait_ms 0 means this */
#define QCC_LIMITS_REJECT_STATUS 429

struct qcc_limits_params {
  uint32_t max_in_flight; /* 0 = no global limit (everything goes) */
  uint32_t max_waiting;   /* wait list cap; 0 = no wait list, reject at once */
  uint32_t max_wait_ms;   /* longest stay on the wait list; 0 = 10 s */
};

/* 0 (unlimited), 64 waiting, 10 s. */
void qcc_limits_params_default(struct qcc_limits_params *p);

struct qcc_limits;

int qcc_limits_new(const struct qcc_limits_params *p, struct qcc_limits **out,
                   struct qcc_err *err);
void qcc_limits_free(struct qcc_limits **l);
/* New settings. A lower limit stops nobody in flight; a higher one lets
 * waiters go: call qcc_limits_promote after it. A smaller wait list keeps
 * its current waiters. */
void qcc_limits_configure(struct qcc_limits *l, const struct qcc_limits_params *p);

enum qcc_admit {
  QCC_ADMIT_GO = 0, /* forward it now; call release when it ends */
  QCC_ADMIT_WAIT,   /* on the wait list: it comes back from release/promote/expire */
  QCC_ADMIT_REJECT, /* no room anywhere: queue it or answer 429 + retry_after */
};

/* A request (HANDLE, non-NULL) arrives at NOW. *retry_after_s (when
 * non-NULL) is set on REJECT. */
enum qcc_admit qcc_limits_admit(struct qcc_limits *l, void *handle, uint32_t priority,
                                uint64_t now, uint32_t *retry_after_s);
/* An admitted request ended. Returns the waiter that takes its place (it
 * is active now: start it, and release it later), or NULL. */
void *qcc_limits_release(struct qcc_limits *l);
/* Waiters that may go now (after a raised limit), up to max; each is active. */
size_t qcc_limits_promote(struct qcc_limits *l, void **out, size_t max);
/* A waiter's client went away: 0, or -1 when it is not waiting. */
int qcc_limits_cancel(struct qcc_limits *l, void *handle);
/* When the oldest waiter's wait runs out; UINT64_MAX when none wait. */
uint64_t qcc_limits_next_due(const struct qcc_limits *l);
/* Waiters whose wait ran out at NOW, removed, up to max: the caller queues
 * them or answers 429. */
size_t qcc_limits_expire(struct qcc_limits *l, uint64_t now, void **out, size_t max);

struct qcc_limits_counters {
  uint64_t active;      /* now */
  uint64_t waiting;     /* now */
  uint64_t peak_active; /* highest active seen */
  uint64_t total;       /* admit calls */
  uint64_t admitted;    /* went at once */
  uint64_t waited;      /* put on the wait list */
  uint64_t rejected;    /* refused at admit */
  uint64_t timed_out;   /* left the wait list by expire */
};
void qcc_limits_counters(const struct qcc_limits *l, struct qcc_limits_counters *out);

#endif
