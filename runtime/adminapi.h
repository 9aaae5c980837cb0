/* The admin API: the handlers behind the admin socket (runtime/admin.h),
 * one per route of docs/admin-api.md. They read live state through a
 * struct qcc_admin_ctx that qcc-run's main fills; every pointer in it may be
 * NULL while a part is not wired, and the routes that need it answer 503
 * with {"error": "... not available"}.
 *
 * Keys never reach this module (it sees the table's key references only
 * through the router's copies, which hold none), so no response can hold
 * one; base URLs are shown without any user:password part.
 *
 * Wiring (runtime/main.c):
 *   struct qcc_admin_ctx ctx = {.router = r, .current = cur_gen, ...};
 *   size_t n; const struct qcc_admin_route *rt = qcc_adminapi_routes(&n);
 *   qcc_admin_open(loop, state_dir, rt, n, &ctx, &admin, &err);
 * and feed the metrics: qcc_metrics_request() when a request ends (the
 * access-log point), qcc_metrics_retry() when an attempt moves on,
 * qcc_metrics_route_event() from the router's event callback,
 * qcc_metrics_reload() after every table load attempt.
 * test_endpoint adapts qcc_prober_test_endpoint (runtime/prober.h): its
 * callback copies ok, http_status, latency_ms and error-or-answer into a
 * struct qcc_admin_probe. POST /health/check calls it for every enabled
 * endpoint and feeds each result to qcc_router_health_result itself. */
#ifndef QCC_RUNTIME_ADMINAPI_H
#define QCC_RUNTIME_ADMINAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.h"

struct qcc_router;
struct qcc_generation;
struct qcc_metrics;
struct qcc_queue;
struct qcc_deadletters;
struct qcc_jrec;
struct qcc_statuspage;

/* Live numbers the runtime keeps outside the router and the metrics. */
struct qcc_admin_counters {
  uint64_t active_connections; /* client connections open now */
  uint64_t active_requests;    /* requests being forwarded now */
  uint64_t waiting_requests;   /* on the in-flight wait list now */
  uint64_t rejected_requests;  /* answered 429/529 by the limits, total */
  uint64_t warm_requests;      /* keep-warm requests sent upstream (warmer.h), total */
  uint64_t warm_connections;   /* of which had to open a new connection, total */
};

/* The answer of one endpoint probe (`qccc endpoint test`, /health/check). */
struct qcc_admin_probe {
  bool ok;               /* connected, and the key was accepted */
  int http_status;       /* the upstream's status, 0 = none */
  uint32_t latency_ms;
  char detail[256];      /* the upstream's answer or the error, short; no secrets */
};
typedef void (*qcc_admin_probe_done)(void *arg, const struct qcc_admin_probe *res);

/* The result of replaying one dead letter (`qccc queue retry`). */
typedef void (*qcc_admin_replay_done)(void *arg, int status, const char *detail);

struct qcc_budgetgate;

struct qcc_admin_ctx {
  struct qcc_router *router;              /* required */
  /* The current generation (borrowed, valid during the call). */
  struct qcc_generation *(*current)(void *arg);
  void *current_arg;
  /* Monotonic milliseconds, the router's clock (NULL = CLOCK_MONOTONIC). */
  uint64_t (*now_ms)(void);
  const char *table_path;
  const char *state_dir;
  const char *version;                    /* "0.1.0" */
  int64_t started_wall_ms;                /* unix ms at start */
  uint64_t started_mono_ms;               /* now_ms() at start */
  struct qcc_metrics *metrics;            /* NULL: no /metrics families of its own */
  void (*counters)(void *arg, struct qcc_admin_counters *out); /* NULL: zeros */
  void *counters_arg;
  struct qcc_queue *queue;                /* NULL: queue routes answer 503 */
  struct qcc_deadletters *deadletters;    /* NULL: dead-letter routes answer 503 */
  /* Probe endpoint IDX of the current table; call DONE exactly once (maybe
   * before returning). -1 when it cannot start (then DONE is not called).
   * NULL: /endpoints/ID/test and /health/check answer 503. */
  int (*test_endpoint)(struct qcc_admin_ctx *ctx, uint32_t idx, qcc_admin_probe_done done,
                       void *arg);
  /* Replay dead letter ID through the current routing and store the answer
   * beside it (qcc_deadletters_set_replay); DONE exactly once with the
   * status (0 = it could not be sent). -1 when it cannot start. NULL: the
   * retry routes answer 503. */
  int (*replay)(struct qcc_admin_ctx *ctx, const char *id, qcc_admin_replay_done done, void *arg);
  void *user;                             /* for the callbacks above */
  /* Append a journal record (operator actions that change stored state,
   * e.g. queue_cleared). NULL: nothing is journaled. */
  void (*journal)(void *arg, struct qcc_jrec *r);
  void *journal_arg;
  /* Why endpoint IDX of the current table has no key (USER is the arg), or
   * NULL when it has one. NULL: GET /endpoints reports no key_problem. */
  const char *(*key_problem)(void *arg, uint32_t idx);
  /* The status page (runtime/statuspage.h) behind the /qcc/ routes of the
   * socket, or NULL (they answer 503). */
  struct qcc_statuspage *page;
  /* Budgets and today's spending (runtime/budgetgate.h), or NULL: GET
   * /endpoints' today/budget fields are null, no qcc_budget_remaining. */
  struct qcc_budgetgate *budget;
};

/* The route table (static storage). */
const struct qcc_admin_route *qcc_adminapi_routes(size_t *count);
/* Only GET /metrics and GET /healthz: for the loopback TCP port of
 * `qcc-run --metrics-listen` (qcc_admin_open_tcp). */
const struct qcc_admin_route *qcc_adminapi_metrics_routes(size_t *count);

#endif
