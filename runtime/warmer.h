/* The warmer keeps one ready, verified upstream connection to every origin
 * (scheme://host:port of a base_url, and its trust: endpoints with different
 * CAs never share a connection) that qcc-run may route to, so the first
 * request after a pause goes out on it instead of paying TCP + TLS round
 * trips first (servers close idle connections, often after 60 s or less).
 *
 * How often, and for how long after the last request: upstream.keep_warm,
 * upstream.keep_warm_for and each endpoint's keep_warm, read from the
 * current table at every tick (a reload applies at once).
 *
 * It uses the proxy's own multi handles (curl's connection cache is per
 * multi), so a request that follows reuses the connection it kept. An
 * origin is warmed once at start (which also tells whether it speaks h2). An origin
 * idle for INTERVAL (no request in flight or started on any of its endpoints)
 * gets one `GET base_url/v1/models` without any key: no token cost, no
 * secret on the wire, any status will do (a 401 is the usual answer); it is
 * the request that keeps the server's idle timer from expiring. At most one
 * such request per origin is in flight, and warming stops KEEP_FOR after
 * qcc-run last forwarded a request (nobody is coming back soon). Each one is
 * logged at debug. docs/upstream-network.md, "Warm connections". */
#ifndef QCC_RUNTIME_WARMER_H
#define QCC_RUNTIME_WARMER_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/error.h"

struct ev_loop;
struct qcc_proxy;
struct qcc_router;
struct qcc_tableset;
struct qcc_warmer;

/* INTERVAL and KEEP_FOR come from the current table: upstream.keep_warm_for
 * and, per origin, the shortest keep_warm of its endpoints (0 = off for
 * all of them: not warmed). An override replaces both for every origin. */
struct qcc_warmer_params {
  bool override;        /* use the two below instead of the table's */
  uint32_t interval_ms; /* idle time before an origin is warmed; 0 = off */
  uint32_t keep_for_ms; /* stop warming this long after the last request */
};

/* No override, unless $QCC_KEEP_WARM is set and valid ("SECONDS" or
 * "SECONDS:KEEP_FOR_SECONDS", 0 = off; for tests and benchmarks, whatever
 * the config says). */
void qcc_warmer_params_default(struct qcc_warmer_params *p);

/* Warm-ups go on PROXY's curl loops (qcc_proxy_curlloop_for); all borrowed,
 * they must outlive the warmer. Nothing is sent with an override of
 * interval 0. */
int qcc_warmer_new(struct ev_loop *loop, struct qcc_proxy *proxy, struct qcc_router *router,
                   struct qcc_tableset *tables, const struct qcc_warmer_params *params,
                   struct qcc_warmer **out, struct qcc_err *err);
/* Stops its transfers (before the proxy's curl loop is freed). */
void qcc_warmer_free(struct qcc_warmer **w);

/* Warm-up requests sent, and how many of them had to open a connection. */
void qcc_warmer_counts(const struct qcc_warmer *w, uint64_t *sent, uint64_t *opened);

#endif
