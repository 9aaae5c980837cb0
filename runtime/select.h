/* select_endpoint: the one seam that decides which endpoint a request goes
 * to. It is the routing engine's pick (runtime/router.h, docs/routing.md):
 * groups, balancing, breakers, health, sticky sessions, pins.
 *
 * Generations: the router keeps ONE view, the current table's (main attaches
 * it on every swap). A request stays pinned to the generation it started on;
 * the router's pick is mapped into that generation by the endpoint's stable
 * id, and the endpoint record (URL, auth, model map) and key come from the
 * pinned generation. An endpoint the pinned generation does not have (added
 * by a later swap) or has no key for is not offered to that request. */
#ifndef QCC_RUNTIME_SELECT_H
#define QCC_RUNTIME_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exchange.h"
#include "jsonscan.h"
#include "router.h"

#define QCC_SESSION_KEY_MAX 256

struct qcc_select_in {
  struct qcc_router *router;          /* attached to the current table */
  const struct qcc_generation *gen;   /* table + keys the request is pinned to */
  const char *session_key;            /* sticky key or NULL (qcc_select_session_key) */
  const uint32_t *tried;              /* ROUTER indexes already attempted */
  size_t tried_count;
  uint64_t now;                       /* monotonic ms */
};

struct qcc_select_out {
  struct qcc_pick pick;              /* hand to qcc_router_begin/end */
  uint32_t endpoint;                 /* index into the PINNED table's ENDPOINTS */
  const struct qcc_tbl_endpoint *ep;
  const char *key;                   /* resolved key ("" = the endpoint takes none) */
  /* When nothing is available: why, naming an endpoint and never a key.
   * Points into OUT->why_buf; pick.result and pick.retry_at say more. */
  const char *reason;
  char why_buf[256];
};

/* 0 with OUT filled, or -1 when no endpoint is available (OUT->reason set). */
int qcc_select_endpoint(const struct qcc_select_in *in, struct qcc_select_out *out);

/* The sticky-session key of REQ: the X-Claude-Code-Session-Id header, else
 * metadata.user_id as FACTS (the scan of REQ's body, runtime/jsonscan.h)
 * found it; FACTS NULL: the body is not looked at. Copied into BUF (cut at
 * CAP - 1); returns its length, 0 when there is none. */
size_t qcc_select_session_key(const struct qcc_request *req, const struct qcc_jsonscan_facts *facts,
                              char *buf, size_t cap);

/* ---- the proxy's side of the seam (implemented in proxy.c) ---- */
struct qcc_proxy;

/* Route through R (not owned; must outlive the proxy's exchanges). Without
 * it the proxy keeps a private router attached to each request's table. */
void qcc_proxy_set_router(struct qcc_proxy *p, struct qcc_router *r);

struct qcc_proxy_stats {
  uint64_t attempts;   /* upstream attempts started */
  uint64_t retries;    /* attempts after the first of a request (failovers) */
  uint64_t exhausted;  /* requests that ended with no endpoint left to try */
  uint64_t broken;     /* streams broken after the first byte */
};
void qcc_proxy_get_stats(const struct qcc_proxy *p, struct qcc_proxy_stats *out);

#endif
