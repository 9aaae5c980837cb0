/* The routing engine: which endpoint a request goes to, and what its outcome
 * does to the endpoint's live state. Pure, clock-driven logic: no I/O, no
 * timers; every call takes a monotonic `now` in milliseconds. The caller (the
 * runtime's select seam and the exchange's retry loop) does the I/O.
 *
 * Model (docs/routing.md):
 *   - the table's enabled profiles, ordered primary -> secondary -> fallback
 *     (fallback only with fallback_enabled), table order inside a group, form
 *     the "ladder"; the active profile is one rung of it. A request goes to
 *     the active profile's endpoints, balanced by that profile's strategy,
 *     and spills down the ladder (then up) when none can take it.
 *   - live state per endpoint (breaker, health, 429 rest, key rejected,
 *     operator disable, in-flight, rate bucket) is keyed by the stable id and
 *     survives qcc_router_attach() while the identity hash is unchanged.
 *
 * Lifetime: the router never keeps a table pointer past the next attach; it
 * copies what it needs. Endpoint indexes in picks, snapshots and events are
 * the current table's; a pick also carries the stable id and the router
 * epoch so that an outcome arriving after a swap still lands right. */
#ifndef QCC_RUNTIME_ROUTER_H
#define QCC_RUNTIME_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "health.h"
#include "schema/error.h"

struct qcc_table;
struct qcc_router;

struct qcc_router_params {
  uint32_t breaker_base_ms;   /* first breaker cooldown (default 30 s) */
  uint32_t breaker_max_ms;    /* doubling cap (default 10 min) */
  uint32_t rest_default_ms;   /* 429 without retry-after (default 30 s) */
  uint32_t rest_max_ms;       /* cap of a 429 rest (default 300 s) */
  uint32_t rest_spend_ms;     /* spend limit exhausted (default 1 h) */
  uint32_t degraded_divisor;  /* health_aware: degraded weight / this (default 4) */
  struct qcc_health_params health;
};

void qcc_router_params_default(struct qcc_router_params *p);

/* PARAMS may be NULL (defaults). 0, or -1 with err (out of memory). */
int qcc_router_new(const struct qcc_router_params *params, struct qcc_router **out,
                   struct qcc_err *err);
void qcc_router_free(struct qcc_router **r);

/* On every table load and swap. Keeps live state of endpoints whose stable id
 * and identity hash are unchanged, resets changed ones (an operator disable
 * is kept), drops removed ones. On failure (out of memory) the router keeps
 * the previous view and returns -1. */
int qcc_router_attach(struct qcc_router *r, const struct qcc_table *t, uint64_t now,
                      struct qcc_err *err);
/* Increments on every successful attach. */
uint32_t qcc_router_epoch(const struct qcc_router *r);

/* ---- selection ---------------------------------------------------------- */

#define QCC_PICK_TRIED_MAX 16

struct qcc_pick_req {
  const char *session_key;  /* sticky key, or NULL */
  size_t session_key_len;   /* 0 = strlen(session_key) */
  uint32_t tried[QCC_PICK_TRIED_MAX]; /* endpoint indexes already attempted */
  size_t tried_count;
  /* NULL = every endpoint has what it needs; else true when endpoint IDX has
   * a resolved key (an endpoint without one is never picked). */
  bool (*has_key)(void *ctx, uint32_t idx);
  void *has_key_ctx;
  /* true: when every endpoint is out (open breakers, unhealthy) return none
   * with the time one becomes ready instead of a last-resort endpoint. */
  bool no_last_resort;
};

#define QCC_PICK_RESULT_LIST(X) \
  X(QCC_PICK_OK, "ok") \
  X(QCC_PICK_NO_ENDPOINT, "no usable endpoint") \
  X(QCC_PICK_ALL_TRIED, "every usable endpoint was tried") \
  X(QCC_PICK_LIMITED, "every endpoint is at its rate or concurrency limit or resting after 429") \
  X(QCC_PICK_ALL_OUT, "every endpoint is out (open breaker or unhealthy)")

#define QCC_PICK_MEMBER_(c, s) c,
enum qcc_pick_result { QCC_PICK_RESULT_LIST(QCC_PICK_MEMBER_) QCC_PICK_RESULT_COUNT };
#undef QCC_PICK_MEMBER_

struct qcc_pick {
  enum qcc_pick_result result;
  uint32_t endpoint;       /* index in the current table (OK only) */
  uint64_t stable_id;
  uint32_t epoch;          /* router epoch of this pick */
  uint32_t profile;        /* profile index */
  unsigned group;          /* enum qcc_group */
  bool probe;              /* this request is a breaker's half-open probe */
  bool rest_probe;         /* nothing else was eligible: it tests a resting endpoint */
  bool last_resort;        /* everything was out; least recently failed */
  bool spilled;            /* not the active profile (it could not take it) */
  uint64_t retry_at;       /* not OK: earliest time worth another pick, 0 = unknown */
};

/* 0 with OUT->result == QCC_PICK_OK, else -1 with OUT->result and retry_at.
 * When no endpoint is eligible, an endpoint resting after 429/503/529 may
 * still be picked as a rest probe (one at a time, once per rest), and one
 * out after breaker or health as the last resort (docs/routing.md, "When
 * nothing is eligible"). */
int qcc_router_pick(struct qcc_router *r, const struct qcc_pick_req *req, uint64_t now,
                    struct qcc_pick *out);

/* ---- waiting for an endpoint ---------------------------------------------
 * A request that found nothing waits until something becomes eligible. Two
 * ways it does: by the clock (a rest or breaker cooldown ends, a rate bucket
 * refills), which qcc_router_next_ready() says in advance, and by an event
 * (an active check passed, an operator enabled an endpoint, a table swap, a
 * probe or concurrency slot freed, a breaker closed), which the callback set
 * with qcc_router_on_ready() hears at once. */

/* The earliest time after NOW at which an endpoint that is not eligible now
 * becomes eligible by the clock alone; UINT64_MAX when none will. */
uint64_t qcc_router_next_ready(const struct qcc_router *r, uint64_t now);
enum qcc_ready_kind {
  /* an endpoint came back (breaker closed, health up, enable, swap, a rest
   * probe or a capped endpoint served ...): every waiting request may go */
  QCC_READY_RECOVERED,
  /* a concurrency or probe slot was freed without a success: news only for
   * requests that found no endpoint at all, not for those backing off from
   * failures (they would re-try a failing endpoint at once) */
  QCC_READY_SLOT,
};
/* Called synchronously whenever an endpoint may have become eligible other
 * than by the clock (CB may be NULL). Never called from qcc_router_pick. */
void qcc_router_on_ready(struct qcc_router *r,
                         void (*cb)(void *ctx, enum qcc_ready_kind kind), void *ctx);

/* ---- outcomes ----------------------------------------------------------- */

#define QCC_OUTCOME_LIST(X) \
  X(QCC_OUT_OK, "ok") \
  X(QCC_OUT_CONNECT_ERROR, "connect error") \
  X(QCC_OUT_TLS_ERROR, "TLS error") \
  X(QCC_OUT_TIMEOUT, "timeout") \
  X(QCC_OUT_HTTP_STATUS, "http status") \
  X(QCC_OUT_BROKEN_STREAM, "broken stream") \
  X(QCC_OUT_CANCELLED, "cancelled")

#define QCC_OUTCOME_MEMBER_(c, s) c,
enum qcc_outcome_kind { QCC_OUTCOME_LIST(QCC_OUTCOME_MEMBER_) QCC_OUTCOME_COUNT };
#undef QCC_OUTCOME_MEMBER_

struct qcc_outcome {
  enum qcc_outcome_kind kind;
  uint32_t latency_ms;     /* whole exchange */
  uint32_t ttfb_ms;        /* to response headers; 0 = unknown (latency used) */
  int http_status;         /* QCC_OUT_HTTP_STATUS (2xx/3xx count as ok) */
  uint32_t retry_after_s;  /* 429/503: Retry-After, 0 = not given */
  uint32_t reset_s;        /* Anthropic rate-limit reset, seconds from now, 0 = none */
  bool spend_exhausted;    /* 429 says the spend/credit limit is used up */
  const char *detail;      /* short text for last_error (no secrets), or NULL */
};

/* Would this outcome (before the first byte reached the client) be retried
 * on another endpoint? connect, TLS, timeout, 401, 403, 429, 500, 502, 503,
 * 504, 529. */
bool qcc_router_retryable(const struct qcc_outcome *o);

/* A request to PICK's endpoint starts / ends. Every begin needs one end
 * (QCC_OUT_CANCELLED when the client left). */
void qcc_router_begin(struct qcc_router *r, const struct qcc_pick *pick, uint64_t now);
void qcc_router_end(struct qcc_router *r, const struct qcc_pick *pick,
                    const struct qcc_outcome *o, uint64_t now);

/* ---- active health checks ----------------------------------------------- */

/* Calls CB for each endpoint whose active check is due (every
 * check_interval; endpoints with an open breaker first) and marks it
 * scheduled. Returns how many. Nothing when health checks are disabled.
 * Also applies switching that is due by the clock (recovery after
 * cooldown_period), so an idle router switches back without a request. */
size_t qcc_router_health_due(struct qcc_router *r, uint64_t now,
                             void (*cb)(void *ctx, uint32_t idx), void *ctx);
/* A passing check closes an open breaker (and starts its profile's
 * recovery clock); a failing one feeds health only. */
void qcc_router_health_result(struct qcc_router *r, uint32_t idx, bool ok, uint32_t latency_ms,
                              const char *error, uint64_t now);

/* ---- operator ----------------------------------------------------------- */

/* -1 with err when IDX or PROFILE does not exist. */
int qcc_router_disable(struct qcc_router *r, uint32_t idx, const char *reason, uint64_t now,
                       struct qcc_err *err);
/* Eligible at once: clears the disable, a rejected key, a rest, an open
 * breaker and an unhealthy status, and starts the recovery clock of its
 * profile now. */
int qcc_router_enable(struct qcc_router *r, uint32_t idx, const char *reason, uint64_t now,
                      struct qcc_err *err);
int qcc_router_pin(struct qcc_router *r, const char *profile, const char *reason, uint64_t now,
                   struct qcc_err *err);
/* REASON goes with the event into the journal's override record, as
 * qcc_router_disable's and _pin's do (NULL or "": "operator" for enable,
 * "switch --auto" for unpin). */
void qcc_router_unpin(struct qcc_router *r, const char *reason, uint64_t now);

/* ---- restore (qcc-run start, from the journal) ---------------------------
 * Put back state recorded before a restart. No events are emitted: the
 * journal already holds them. IDX is the current table's; -1 with err when
 * it (or PROFILE) does not exist. */
/* An open breaker: probe allowed from OPEN_UNTIL (monotonic ms). */
int qcc_router_restore_breaker(struct qcc_router *r, uint32_t idx, uint32_t failures,
                               uint64_t open_until, uint64_t now, struct qcc_err *err);
/* Operator disable (never lifted automatically). */
int qcc_router_restore_disabled(struct qcc_router *r, uint32_t idx, const char *reason,
                                struct qcc_err *err);
/* Health status, as last recorded. */
int qcc_router_restore_health(struct qcc_router *r, uint32_t idx, enum qcc_health_status st,
                              uint64_t now, struct qcc_err *err);
/* A key the upstream refused (401/403): out until an operator enables the
 * endpoint or the table changes its key. */
int qcc_router_restore_key_rejected(struct qcc_router *r, uint32_t idx, struct qcc_err *err);
/* A 429 rest that had not run out: resting until UNTIL (monotonic ms). */
int qcc_router_restore_rest(struct qcc_router *r, uint32_t idx, uint64_t until,
                            bool spend_exhausted, struct qcc_err *err);
/* A spent budget (runtime/budgetgate.h): endpoint IDX rests until UNTIL
 * (monotonic ms) with no rest probe, and a rest event says WHY (journaled as
 * endpoint_rest). UNTIL <= NOW lifts a budget rest (a raised budget after a
 * reload); other rests are left alone. Not a failure: the breaker and
 * health do not move. */
int qcc_router_budget_rest(struct qcc_router *r, uint32_t idx, uint64_t until, uint64_t now,
                           const char *why, struct qcc_err *err);
/* The pinned profile. */
int qcc_router_restore_pin(struct qcc_router *r, const char *profile, const char *reason,
                           struct qcc_err *err);
/* The active profile (must be on the ladder). */
int qcc_router_restore_active(struct qcc_router *r, const char *profile, uint64_t now,
                              struct qcc_err *err);
/* Stable id of endpoint IDX of the current view (0 when out of range). */
uint64_t qcc_router_stable_id(const struct qcc_router *r, uint32_t idx);

/* ---- events ------------------------------------------------------------- */

#define QCC_ROUTE_EVENT_LIST(X) \
  X(QCC_EV_SWITCH, "switch") \
  X(QCC_EV_BREAKER, "breaker") \
  X(QCC_EV_HEALTH, "health") \
  X(QCC_EV_KEY_REJECTED, "key_rejected") \
  X(QCC_EV_REST, "rest") \
  X(QCC_EV_DISABLE, "disable") \
  X(QCC_EV_ENABLE, "enable") \
  X(QCC_EV_PIN, "pin") \
  X(QCC_EV_UNPIN, "unpin") \
  X(QCC_EV_RESET, "reset")

#define QCC_EV_MEMBER_(c, s) c,
enum qcc_route_event_kind { QCC_ROUTE_EVENT_LIST(QCC_EV_MEMBER_) QCC_ROUTE_EVENT_COUNT };
#undef QCC_EV_MEMBER_

#define QCC_ROUTE_EVENT_RING 256

struct qcc_route_event {
  uint64_t time_ms;
  enum qcc_route_event_kind kind;
  char from[48];        /* state / profile before */
  char to[48];          /* after */
  char reason[128];
  uint64_t stable_id;   /* endpoint events; 0 for switch/pin */
  char endpoint[64];    /* endpoint id string, "" for switch/pin */
  char profile[64];     /* the endpoint's profile, or the profile switched to */
};

/* Called synchronously for every event (may be NULL). */
void qcc_router_on_event(struct qcc_router *r,
                         void (*cb)(void *ctx, const struct qcc_route_event *ev), void *ctx);
/* Copies up to MAX of the most recent events, oldest first; returns how many. */
size_t qcc_router_events(const struct qcc_router *r, struct qcc_route_event *out, size_t max);

/* ---- introspection ------------------------------------------------------ */

struct qcc_route_snapshot {
  uint64_t stable_id;
  char id[64];
  char profile[64];
  unsigned group;
  bool enabled;          /* table + profile */
  bool operator_disabled;
  char disabled_reason[64];
  bool key_rejected;
  uint64_t rest_until;   /* resting after 429 until (0 = not) */
  bool spend_exhausted;  /* that rest is for an exhausted spend limit */
  bool budget_spent;     /* that rest is for a spent budget (qcc_router_budget_rest) */
  bool available;        /* could take a request now (ignoring caps) */
  enum qcc_breaker_state breaker;
  uint32_t breaker_failures;
  uint64_t breaker_open_until;
  uint32_t inflight;
  enum qcc_health_status health;
  unsigned score;
  uint64_t last_check, last_success, last_failure;
  uint32_t consecutive_failures;
  uint64_t total_requests, failed_requests;
  double success_rate;   /* percent */
  double avg_ms;         /* average response time */
  double ewma_ms;
  char last_error[QCC_HEALTH_ERROR_LEN];
};

struct qcc_route_status {
  uint32_t endpoint_count;
  int64_t active_profile;       /* -1 when there is none */
  char active_profile_name[64];
  unsigned active_group;
  uint64_t active_since;
  bool pinned;
  char pin_profile[64];
  char pin_reason[128];
  uint32_t fail_streak;         /* consecutive failed requests in the active profile */
};

uint32_t qcc_router_endpoint_count(const struct qcc_router *r);
int qcc_router_snapshot(const struct qcc_router *r, uint32_t idx, uint64_t now,
                        struct qcc_route_snapshot *out);
void qcc_router_status(const struct qcc_router *r, struct qcc_route_status *out);

const char *qcc_pick_result_name(enum qcc_pick_result v);
const char *qcc_outcome_name(enum qcc_outcome_kind v);
const char *qcc_route_event_name(enum qcc_route_event_kind v);

#endif
