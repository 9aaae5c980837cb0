/* The status page (docs/status-page.md): qcc-run serves one HTML page, its
 * CSS/JS (embedded at build time, runtime/page/) and a small JSON + SSE API
 * under /qcc/ on its listener and on the admin socket. Nothing under /qcc/
 * is ever forwarded: client.c hands such requests here from the place where
 * it already classifies request paths.
 *
 * On the listener every request needs the session cookie a login link set
 * (pagesession.h), a Host header naming the listener (DNS rebinding), and
 * for POST a matching Origin and the session's CSRF token; a client token
 * (proxy.auth_tokens) works as a bearer for the read-only API. On the admin
 * socket (owner-only by SO_PEERCRED) the same API answers without a cookie,
 * and POST /qcc/login-link makes the links `qccc dashboard` prints.
 *
 * Reads and actions go through the admin API's own handlers in-process
 * (qcc_admin_invoke): the page shows what `qccc status` shows and does what
 * the CLI does. Everything runs on the loop thread. */
#ifndef QCC_RUNTIME_STATUSPAGE_H
#define QCC_RUNTIME_STATUSPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.h"
#include "exchange.h"
#include "schema/error.h"

struct ev_loop;
struct qcc_admin_ctx;
struct qcc_journal;
struct qcc_route_event;
struct qcc_statuspage;
struct qcc_page_call;
struct json_t;

#define QCC_PAGE_MAX_SSE 8            /* event streams open at once (503 beyond) */
#define QCC_PAGE_HEARTBEAT_S 15.0     /* an SSE comment this often keeps proxies from timing out */
#define QCC_PAGE_TIMELINE_MAX 200     /* journal entries in the first timeline event */

struct qcc_statuspage_params {
  struct ev_loop *loop;
  struct qcc_admin_ctx *admin;          /* the admin API's context (router, queue, metrics) */
  const struct qcc_admin_route *routes; /* the admin API's routes (qcc_adminapi_routes) */
  size_t route_count;
  struct qcc_journal *journal;          /* the timeline's history; NULL = live events only */
  const char *address;                  /* the listener, "HOST:PORT" as qcc_server_address */
  const char *host;                     /* the configured listen host (a name is allowed) */
  bool tls;                             /* the listener speaks https */
  uint64_t link_ttl_ms;                 /* 0 = QCC_PAGE_LINK_TTL_MS (tests shorten it) */
  /* The usage panel's data (issue 14's usage store). Called with the empty
   * document of GET /qcc/api/usage (docs/status-page.md: "available" false,
   * empty lists, "hourly"/"daily" "start" already set): sets "available"
   * to true, drops "note", and appends to today.endpoints, hourly.series
   * and daily.series. NULL: the page says "no usage data yet". */
  void (*usage)(void *arg, struct json_t *doc);
  void *usage_arg;
};

int qcc_statuspage_new(const struct qcc_statuspage_params *p, struct qcc_statuspage **out,
                       struct qcc_err *err);
void qcc_statuspage_free(struct qcc_statuspage **sp);

/* ---- the listener side (client.c), shaped like an exchange (exchange.h) ---- */
/* Answer REQ (a target under /qcc/) through OPS/SINK. done() may run before
 * this returns (then the result must not be used). NULL: out of memory. */
struct qcc_page_call *qcc_statuspage_start(void *sp, const struct qcc_request *req,
                                           const struct qcc_sink_ops *ops, void *sink);
/* The client went away: done() is not called. */
void qcc_statuspage_cancel(struct qcc_page_call *call);
/* Is TARGET (path, maybe a query) under /qcc/ (or /qcc itself)? */
bool qcc_statuspage_owns(const char *target, size_t len);

/* ---- the admin socket side ---- */
/* Routes to append to the admin socket's (their handlers find the page in
 * struct qcc_admin_ctx.page). */
const struct qcc_admin_route *qcc_statuspage_admin_routes(size_t *count);

/* ---- the timeline ---- */
/* A routing event (from qcc_events_tap): a timeline entry and a state push. */
void qcc_statuspage_route_event(struct qcc_statuspage *sp, const struct qcc_route_event *e);
/* A table load (ok or rejected) or an alert: a timeline entry. */
void qcc_statuspage_note(struct qcc_statuspage *sp, const char *kind, const char *text);

/* Live SSE clients (tests, status). */
size_t qcc_statuspage_sse_clients(const struct qcc_statuspage *sp);

#endif
