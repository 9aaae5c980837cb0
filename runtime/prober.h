/* Active health checks (SPEC "Health checks"): every check_interval the
 * router hands out the endpoints that are due (qcc_router_health_due, open
 * breakers first); each is probed concurrently on the loop (its own libcurl
 * multi handle, driven by the same libev loop as the proxy), with
 * health.timeout per try and health.retry_count retries, and the result goes
 * to qcc_router_health_result (re-resolved by stable id, so a table swap in
 * the middle lands on the right endpoint) and to the journal.
 *
 * Kinds (health.check):
 *   tcp           connect only; for https also the TLS handshake
 *   models        GET  BASE/v1/models with the endpoint's key
 *   count_tokens  POST BASE/v1/messages/count_tokens, a tiny body
 *   messages      POST BASE/v1/messages, max_tokens 1 (costs tokens: opt-in)
 * Verdict: a connection (tcp) or an HTTP answer below 500 other than 401/403
 * is up (429 = up but busy; 404 = the path is not offered, the server is
 * there). 401/403, 5xx, timeouts and connection errors are down.
 * Models for count_tokens/messages: the endpoint's first model-map target,
 * else QCC_PROBE_MODEL. */
#ifndef QCC_RUNTIME_PROBER_H
#define QCC_RUNTIME_PROBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/error.h"

#define QCC_PROBE_MODEL "claude-3-5-haiku-latest"

struct ev_loop;
struct qcc_router;
struct qcc_tableset;
struct qcc_events;
struct qcc_prober;

struct qcc_probe_result {
  uint64_t stable_id;
  char endpoint[64];     /* id string */
  char kind[16];         /* tcp, models, ... */
  bool ok;
  int http_status;       /* 0 = no HTTP answer */
  uint32_t latency_ms;   /* of the last try */
  uint32_t tries;
  char error[96];        /* no secrets */
  char answer[256];      /* start of the response body (endpoint test) */
};

typedef void (*qcc_probe_cb)(void *ctx, const struct qcc_probe_result *res);

/* EVENTS may be NULL. Nothing runs until qcc_prober_start. */
int qcc_prober_new(struct ev_loop *loop, struct qcc_router *router, struct qcc_tableset *tables,
                   struct qcc_events *events, struct qcc_prober **out, struct qcc_err *err);
/* Aborts probes in flight (no results). */
void qcc_prober_free(struct qcc_prober **p);

/* The schedule: a timer asks the router what is due (health.enabled false:
 * nothing is ever due). Stop on shutdown. */
void qcc_prober_start(struct qcc_prober *p);
void qcc_prober_stop(struct qcc_prober *p);

/* `health check`: probe every enabled endpoint now, whatever the schedule;
 * results feed the router as usual. Returns how many probes started. */
int qcc_prober_check_now(struct qcc_prober *p, size_t *started, struct qcc_err *err);
/* `endpoint test ID`: one probe of endpoint IDX (current table) with the
 * configured kind; CB gets latency and the upstream's status/answer. The
 * result does not change the router's state. */
int qcc_prober_test_endpoint(struct qcc_prober *p, uint32_t idx, qcc_probe_cb cb, void *ctx,
                             struct qcc_err *err);

size_t qcc_prober_inflight(const struct qcc_prober *p);
uint64_t qcc_prober_completed(const struct qcc_prober *p);

#endif
