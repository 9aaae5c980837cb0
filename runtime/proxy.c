/* The upstream side of an exchange: one CURLM per process, driven by the
 * libev loop through libcurl's multi-socket API (curl_multi_socket_action):
 * curl tells us which sockets to watch (socket callback -> one ev_io each,
 * state attached with curl_multi_assign) and when to wake it (timer callback
 * -> ONE ev_timer); we hand readiness back with curl_multi_socket_action and
 * then drain curl_multi_info_read for finished transfers.
 *
 * Sink calls (head/body) happen inside curl callbacks, so a sink that cancels
 * or resumes from there must not re-enter curl: such requests are queued and
 * applied right after the curl call returns (see run_pending). done() is
 * only ever called from the loop, never from inside curl or from
 * qcc_exchange_start. */
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apierror.h"
#include "curlloop.h"
#include "egress.h"
#include "headers.h"
#include "log.h"
#include "metrics.h"
#include "proxy_internal.h"
#include "queue.h"

static void x_free(struct qcc_exchange *x) {
  free(x->usage);
  free(x->tries);
  free(x->hist);
  free(x);
}

/* Length of TARGET's path: logs leave out the query string, which is the
 * client's business and could carry anything. */
int px_path_len(const char *target) {
  const char *q = strchr(target, '?');
  return (int)(q != NULL ? (size_t)(q - target) : strlen(target));
}

uint64_t px_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- the multi handle on the loop ------------------------------------- */

static void run_pending(struct qcc_proxy *p);

/* Inside curl now (the loop's socket action, or one of our pause calls):
 * the sink may be called, and handles must not be removed. */
static bool in_curl(const struct qcc_proxy *p) {
  return p->in_curl > 0 || (p->cl != NULL && qcc_curlloop_busy(p->cl)) ||
         (p->cl2 != NULL && qcc_curlloop_busy(p->cl2));
}

static void after_curl(void *ctx) { run_pending(ctx); }

static void transfer_done(struct qcc_curl_job *job, CURL *easy, CURLcode rc);

int qcc_proxy_new(struct ev_loop *loop, struct qcc_proxy **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_proxy *p = calloc(1, sizeof *p);
  if (p == NULL) return qcc_err_set(err, ENOMEM, "out of memory creating the upstream client");
  p->loop = loop;
  if (qcc_curlloop_new(loop, after_curl, p, &p->cl, err) != 0) {
    free(p);
    return -1;
  }
  p->multi = qcc_curlloop_multi(p->cl);
  p->ready_due = UINT64_MAX;
  ev_init(&p->qtimer, px_qtimer_cb);
  p->qtimer.data = p;
  /* Keep idle upstream connections for reuse across exchanges. The cache must
   * hold as many as can be in flight at once (proxy.max_connections, 1000 by
   * default): a smaller cache closes a connection at the end of each transfer
   * past it and the next request pays a new connect (measured: 1000 streams at
   * 5.8k req/s with 512, see tools/bench). */
  curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, 4096L);
  curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  if (qcc_curlloop_new(loop, after_curl, p, &p->cl2, err) != 0 || (p->h2 = qcc_h2origins_new()) == NULL) {
    qcc_proxy_free(&p);
    return err->code != 0 ? -1 : qcc_err_set(err, ENOMEM, "out of memory creating the upstream client");
  }
  CURLM *m2 = qcc_curlloop_multi(p->cl2);
  curl_multi_setopt(m2, CURLMOPT_MAXCONNECTS, 4096L);
  curl_multi_setopt(m2, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  curl_multi_setopt(m2, CURLMOPT_MAX_HOST_CONNECTIONS, H2_HOST_CONNECTIONS);
  *out = p;
  return 0;
}

size_t qcc_proxy_active(const struct qcc_proxy *p) { return p == NULL ? 0 : p->active; }

struct qcc_curlloop *qcc_proxy_curlloop_for(struct qcc_proxy *p, const char *url) {
  return qcc_h2origins_has(p->h2, url) ? p->cl2 : p->cl;
}

void qcc_proxy_learn_protocol(struct qcc_proxy *p, const char *url, CURL *easy) {
  qcc_h2origins_learn(p->h2, url, easy);
}

/* ---- attempts ----------------------------------------------------------- */

static void easy_release(struct qcc_proxy *p, CURL *easy) {
  if (easy == NULL) return;
  if (p->pool_len < EASY_POOL_MAX) {
    curl_easy_reset(easy);
    p->pool[p->pool_len++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

static CURL *easy_get(struct qcc_proxy *p) {
  if (p->pool_len > 0) return p->pool[--p->pool_len];
  return curl_easy_init();
}

/* Remove the attempt's transfer from the multi (if added) and free it. */
static void attempt_free(struct qcc_proxy *p, struct attempt **pa) {
  struct attempt *a = *pa;
  if (a == NULL) return;
  if (a->easy != NULL) {
    if (a->cl != NULL) curl_multi_remove_handle(qcc_curlloop_multi(a->cl), a->easy);
    easy_release(p, a->easy);
  }
  qcc_upreq_clear(&a->req);
  qcc_uphead_clear(&a->head);
  free(a->sbuf);
  free(a->held);
  free(a);
  *pa = NULL;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud);
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud);
static void x_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);


void px_set_error(struct qcc_exchange *x, int status, const char *type, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
void px_set_error(struct qcc_exchange *x, int status, const char *type, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->msg, sizeof x->msg, fmt, ap);
  va_end(ap);
  x->res.status = status;
  x->res.failed = 1;
  x->res.error_type = type;
  x->res.error_message = x->msg;
}

/* ---- routing ------------------------------------------------------------- */

uint64_t px_now_ms(void) { return px_now_us() / 1000u; }

/* The router says an endpoint may have become eligible: requests waiting
 * for one are retried now, not at their next scheduled retry. */
static void router_ready(void *ctx, enum qcc_ready_kind kind) {
  struct qcc_proxy *p = ctx;
  if (kind == QCC_READY_RECOVERED) {
    qcc_proxy_queue_wake(p);
  } else if (p->hooks.queue != NULL && qcc_queue_wake_waiting(p->hooks.queue, px_now_ms()) > 0) {
    px_qtimer_arm(p);
  }
}

void qcc_proxy_set_router(struct qcc_proxy *p, struct qcc_router *r) {
  if (p->router != NULL) qcc_router_on_ready(p->router, NULL, NULL);
  p->router = r;
  if (r != NULL) qcc_router_on_ready(r, router_ready, p);
}

void qcc_proxy_get_stats(const struct qcc_proxy *p, struct qcc_proxy_stats *out) {
  *out = p->stats;
}

/* The router for a request pinned to G: main's, or the private one kept
 * attached to the newest table seen. NULL only when out of memory. */
static struct qcc_router *router_for(struct qcc_proxy *p, const struct qcc_generation *g) {
  if (p->router != NULL) return p->router;
  struct qcc_err err = {0};
  if (p->own_router == NULL) {
    if (qcc_router_new(NULL, &p->own_router, &err) != 0) return NULL;
    qcc_router_on_ready(p->own_router, router_ready, p);
  }
  if (p->own_table != g->table || p->own_gen != g->number) {
    if (qcc_router_attach(p->own_router, g->table, px_now_ms(), &err) != 0) return NULL;
    p->own_table = g->table;
    p->own_gen = g->number;
  }
  return p->own_router;
}

/* Tell the router how the attempt ended (once). */
static void attempt_end(struct qcc_exchange *x, struct attempt *a, enum qcc_outcome_kind kind,
                        int http_status, const char *detail) {
  if (a == NULL || !a->began) return;
  a->began = false;
  /* already attached when the attempt began; x->req may be gone (free) */
  struct qcc_router *r = x->p->router != NULL ? x->p->router : x->p->own_router;
  if (r == NULL) return;
  bool failure = kind != QCC_OUT_OK && kind != QCC_OUT_CANCELLED &&
                 (kind != QCC_OUT_HTTP_STATUS || http_status >= 500 || http_status == 429);
  if (failure && x->hist == NULL) x->hist = calloc(QCC_DL_MAX_TRIED, sizeof *x->hist);
  if (failure && x->hist != NULL && x->hist_n < QCC_DL_MAX_TRIED) {
    struct tried_rec *h = &x->hist[x->hist_n++];
    h->idx = a->endpoint;
    snprintf(h->ep, sizeof h->ep, "%s", a->endpoint_id != NULL ? a->endpoint_id : "?");
    h->status = (uint16_t)(http_status > 0 && http_status < 1000 ? http_status : 0);
    if (detail != NULL) snprintf(h->reason, sizeof h->reason, "%s", detail);
    else if (http_status > 0) h->reason[0] = '\0'; /* the status says it all */
    else snprintf(h->reason, sizeof h->reason, "failed");
  }
  uint64_t t = px_now_us();
  struct qcc_outcome o = {.kind = kind, .http_status = http_status, .detail = detail,
                          .retry_after_s = a->retry_after_s, .reset_s = a->reset_s,
                          .spend_exhausted = a->spend_exhausted,
                          .latency_ms = (uint32_t)((t - a->t0_us) / 1000u),
                          .ttfb_ms = (uint32_t)(a->ttfb_us / 1000u)};
  qcc_router_end(r, &a->pick, &o, t / 1000u);
}

/* Pick the next endpoint into OUT. 0 = got one; -1 = none (OUT->pick says
 * why: result, retry_at). */
static int pick_next(struct qcc_exchange *x, struct qcc_select_out *out) {
  const struct qcc_request *r = x->req;
  out->pick = (struct qcc_pick){.result = QCC_PICK_NO_ENDPOINT};
  if (x->attempts >= MAX_TRIED) {
    out->pick.result = QCC_PICK_ALL_TRIED;
    snprintf(out->why_buf, sizeof out->why_buf,
             "no upstream endpoint is available (%d attempts made)", MAX_TRIED);
    out->reason = out->why_buf;
    return -1;
  }
  struct qcc_router *router = router_for(x->p, r->gen);
  if (router == NULL) {
    snprintf(out->why_buf, sizeof out->why_buf, "out of memory routing the request");
    out->reason = out->why_buf;
    return -1;
  }
  struct qcc_select_in in = {.router = router, .gen = r->gen,
                             .session_key = x->has_session ? x->session : NULL,
                             .tried = x->tried, .tried_count = x->tried_count, .now = px_now_ms()};
  return qcc_select_endpoint(&in, out);
}

/* The exchange's timer now counts MODE, MS from now. Stopped first: after a
 * failed attempt it may still be running with the last endpoint's time. */
static void timer_arm(struct qcc_exchange *x, enum timer_mode mode, uint32_t ms) {
  ev_timer_stop(x->p->loop, &x->timer);
  x->tmode = mode;
  ev_timer_set(&x->timer, (double)ms / 1000.0, 0.);
  ev_timer_start(x->p->loop, &x->timer);
}


/* EP's timeouts, resolved by qccc (the endpoint's, else upstream.*). */
static void ep_timeouts(const struct qcc_tbl_endpoint *ep, struct attempt *a) {
  a->timeout_ms = ep->timeout_ms;
  a->connect_ms = ep->connect_timeout_ms;
  a->request_ms = ep->request_timeout_ms;
  a->idle_ms = ep->stream_idle_timeout_ms;
}

/* The body's model, stream and session key (runtime/jsonscan.h), read at
 * first need from the body's front and back: a big body's history is not
 * walked unless it may hide a later duplicate. */
const struct qcc_jsonscan_facts *px_facts(struct qcc_exchange *x) {
  if (!x->scanned) {
    /* with a model map in the table the rewrite may need every span: one
     * walk now rather than a bounded read and then the walk */
    if (x->req->gen->model_maps)
      qcc_jsonscan_body(x->req->body, x->req->body_len, &x->facts);
    else
      qcc_jsonscan_quick(x->req->body, x->req->body_len, &x->facts);
    x->scanned = true;
  }
  return &x->facts;
}

/* The same with every top-level "model" span, for a model map's rewrite:
 * one walk over the whole body. */
static const struct qcc_jsonscan_facts *x_facts_all(struct qcc_exchange *x) {
  if (!x->scanned || x->facts.quick) {
    qcc_jsonscan_body(x->req->body, x->req->body_len, &x->facts);
    x->scanned = true;
  }
  return &x->facts;
}

/* Start a transfer to SEL (a pick already made), or pick one first when SEL
 * is NULL. Returns 0 when started, 1 when no endpoint is available (x->res
 * holds the error), -1 on allocation failure. */
int px_attempt_start(struct qcc_exchange *x, const struct qcc_select_out *pre) {
  struct qcc_proxy *p = x->p;
  const struct qcc_request *r = x->req;
  if (r->target == NULL || r->target[0] != '/') {
    px_set_error(x, 400, "invalid_request_error", "request target must start with /");
    return 1;
  }
  struct qcc_select_out sel_local;
  const struct qcc_select_out *sel = pre;
  if (sel == NULL) {
    if (pick_next(x, &sel_local) != 0) return px_no_endpoint(x, &sel_local);
    sel = &sel_local;
  }
  const struct qcc_table *t = r->gen->table;
  struct attempt *a = calloc(1, sizeof *a);
  if (a == NULL) return -1;
  a->x = x;
  a->endpoint = sel->endpoint;
  a->pick = sel->pick;
  a->endpoint_id = qcc_table_str(t, sel->ep->id);
  ep_timeouts(sel->ep, a);
  if (x->tried_count < MAX_TRIED) x->tried[x->tried_count++] = sel->pick.endpoint;
  x->res.endpoint_id = a->endpoint_id;
  /* the body's facts only for an endpoint that maps models */
  const struct qcc_jsonscan_facts *facts = sel->ep->model_map_count > 0 ? x_facts_all(x) : NULL;
  if (qcc_upreq_build(&a->req, r, t, sel->ep, sel->key, facts) != 0) goto oom;
  a->easy = easy_get(p);
  if (a->easy == NULL) goto oom;
  struct qcc_upreq_io io = {.on_header = on_header, .on_body = on_body, .ud = a,
                            .errbuf = a->errbuf, .connect_ms = a->connect_ms};
  if (qcc_upreq_configure(&a->req, a->easy, r->method, &io) != 0) goto oom;
  /* CA store, verification, proxy: resolved once per generation */
  if (qcc_egress_apply(r->gen->egress, sel->ep, a->easy) != 0) goto oom;
  x->res.bytes_up = a->req.has_body ? a->req.body_len : 0;
  a->job = (struct qcc_curl_job){.done = transfer_done, .arg = a};
  a->cl = qcc_proxy_curlloop_for(p, a->req.url);
  if (qcc_curlloop_add(a->cl, a->easy, &a->job) != 0) {
    a->cl = NULL;
    goto oom;
  }
  x->att = a;
  a->t0_us = px_now_us();
  struct qcc_router *router = router_for(p, r->gen);
  if (router != NULL) {
    qcc_router_begin(router, &a->pick, a->t0_us / 1000u);
    a->began = true;
  }
  if (x->attempts > 0) {
    p->stats.retries++;
    if (p->hooks.metrics != NULL && x->last_ep != NULL)
      qcc_metrics_retry(p->hooks.metrics, x->last_ep);
  }
  x->last_ep = a->endpoint_id;
  x->attempts++;
  x->total_attempts++;
  p->stats.attempts++;
  /* nothing within the endpoint's timeout -> next endpoint or 504 */
  if (x->stream) timer_arm(x, TM_FIRST, a->timeout_ms);
  else timer_arm(x, TM_REQUEST, a->request_ms);
  return 0;
oom:
  if (a->easy != NULL) {
    easy_release(p, a->easy);
    a->easy = NULL;
  }
  attempt_free(p, &a);
  return -1;
}

/* ---- exchange lifecycle ------------------------------------------------- */

static void pending_remove(struct qcc_exchange *x) {
  if (x->pend == PEND_NONE) return;
  struct qcc_exchange **pp = &x->p->pending;
  while (*pp != NULL && *pp != x) pp = &(*pp)->pend_next;
  if (*pp == x) *pp = x->pend_next;
  x->pend_next = NULL;
  x->pend = PEND_NONE;
}

static void x_unlink(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  pending_remove(x);
  if (x->prev != NULL) x->prev->next = x->next;
  else p->all = x->next;
  if (x->next != NULL) x->next->prev = x->prev;
  x->prev = x->next = NULL;
  p->active--;
}

static void x_destroy(struct qcc_exchange *x) {
  px_usage_end(x, true); /* the client went away: what arrived was used */
  px_leave(x, false);
  ev_timer_stop(x->p->loop, &x->timer);
  attempt_end(x, x->att, QCC_OUT_CANCELLED, 0, "client went away");
  attempt_free(x->p, &x->att);
  x_free(x);
}

/* The end: one done(), then the exchange is gone. Called from the loop
 * only (never inside a curl callback), so done() may start new exchanges. */
void px_complete(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  ev_timer_stop(p->loop, &x->timer);
  px_usage_end(x, x->res.failed != 0);
  px_result_tried(x);
  px_leave(x, true);
  attempt_free(p, &x->att);
  x_unlink(x);
  x->ops->done(x->ctx, &x->res);
  x_free(x);
}

/* Pass the stored head on: head() with the headers the client gets. */
static int send_head(struct qcc_exchange *x) {
  struct attempt *a = x->att;
  const char *m = x->req->method;
  bool no_body = strcmp(m, "HEAD") == 0 || a->head.status == 204 || a->head.status == 304;
  struct qcc_header *keep = NULL;
  size_t k = 0;
  int64_t clen = -1;
  if (qcc_uphead_forward(&a->head, no_body, &keep, &k, &clen) != 0) return -1;
  x->head_sent = true;
  px_usage_head(x, a, a->head.is_sse, a->head.is_json);
  x->res.upstream_status = a->head.status;
  x->res.status = a->head.status;
  x->ops->head(x->ctx, a->head.status, keep, k, clen);
  free(keep);
  /* The head is out and nothing reads it again (retries happen before it
   * is sent; trailers are ignored): its 1 KiB goes back now, not at the end
   * of a stream that may last minutes. */
  qcc_uphead_clear(&a->head);
  return 0;
}

static bool status_retryable(int status) {
  struct qcc_outcome o = {.kind = QCC_OUT_HTTP_STATUS, .http_status = status};
  return qcc_router_retryable(&o);
}

/* Does a 429 body say the account's spend/credit limit is used up (rest
 * long) rather than a per-minute rate limit (rest briefly)? Anthropic puts
 * it in error.message; the phrases are matched anywhere in the first
 * SNIFF_MAX bytes, case-insensitively. */
bool qcc_proxy_body_says_spend_exhausted(const char *body) {
  static const char *const phrases[] = {"credit balance", "spend limit",   "spending limit",
                                        "usage limit",    "billing limit", "spend cap"};
  for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
    if (strcasestr(body, phrases[i]) != NULL) return true;
  return false;
}

/* The attempt failed (and was charged) before anything reached the client:
 * when another endpoint (or the failure queue) can take the request, mark
 * it to be dropped unread (true); else (false) the answer goes on as it is. */
static bool retry_elsewhere(struct qcc_exchange *x, struct attempt *a, int status) {
  if (pick_next(x, &x->next_sel) == 0) {
    a->retry = true;
    snprintf(a->why, sizeof a->why, "HTTP %d: trying the next endpoint", status);
    return true;
  }
  if (px_queue_on(x)) {
    /* the failure queue waits for a better answer than this one */
    a->retry = true;
    a->to_queue = true;
    snprintf(a->why, sizeof a->why, "HTTP %d: to the failure queue", status);
    return true;
  }
  return false;
}

/* The Anthropic error type qcc-run answers with for upstream STATUS. */
static const char *error_type_for(int status) {
  switch (status) {
  case 529: return "overloaded_error";
  case 429: return "rate_limit_error";
  case 504: return "timeout_error";
  default: return "api_error";
  }
}

/* A retryable status arrived before anything reached the client: charge
 * this endpoint and, when another one (or the failure queue) can take the
 * request, mark the attempt to be dropped unread (true). Otherwise (false)
 * this answer goes to the client as it is. */
static bool give_up_attempt(struct qcc_exchange *x, struct attempt *a) {
  qcc_log_warn("upstream %s: HTTP %d before the first byte%s (%s %.*s)", a->endpoint_id,
               a->head.status, a->spend_exhausted ? ", spend limit exhausted" : "", x->req->method,
               px_path_len(x->req->target), x->req->target);
  attempt_end(x, a, QCC_OUT_HTTP_STATUS, a->head.status,
              a->spend_exhausted ? "spend limit exhausted" : NULL);
  return retry_elsewhere(x, a, a->head.status);
}

/* Enough of the 429 body was read (or the transfer ended): decide. */
static bool sniff_decide(struct qcc_exchange *x, struct attempt *a) {
  a->sniff = false;
  if (a->sbuf != NULL) {
    a->sbuf[a->slen] = '\0';
    a->spend_exhausted = qcc_proxy_body_says_spend_exhausted(a->sbuf);
  }
  return give_up_attempt(x, a);
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  struct attempt *a = ud;
  struct qcc_exchange *x = a->x;
  size_t len = size * nmemb;
  if (x->cancelled) return 0;
  if (a->ttfb_us == 0) a->ttfb_us = px_now_us() - a->t0_us;
  if (x->res.ttfb_us == 0) x->res.ttfb_us = px_now_us() - x->t0_us;
  enum qcc_uphead_step step = qcc_uphead_feed(&a->head, ptr, len);
  if (step == QCC_UPHEAD_TOO_BIG) {
    snprintf(a->why, sizeof a->why, "response head larger than %d bytes", QCC_UPHEAD_MAX);
    return 0;
  }
  if (step == QCC_UPHEAD_NOMEM) {
    snprintf(a->why, sizeof a->why, "out of memory");
    return 0;
  }
  if (step != QCC_UPHEAD_END) return len;
  int status = a->head.status;
  if (status_retryable(status)) {
    qcc_uphead_rest_hints(&a->head, &a->retry_after_s, &a->reset_s);
    if (status == 429) {
      int64_t cl = qcc_uphead_content_length(&a->head);
      a->sniff_want = cl >= 0 && cl < SNIFF_MAX ? (size_t)cl : SNIFF_MAX;
      /* the timer stays on: a body that stalls times out too */
      a->sniff = a->sniff_want > 0;
      if (a->sniff) return len;
    }
    if (give_up_attempt(x, a)) return 0;
    return len;
  }
  /* a success is held until it shows it is not an error in disguise (the
   * timer goes on counting: a head is not an answer) */
  if (status < 300 && strcmp(x->req->method, "HEAD") != 0)
    a->hold = a->head.is_sse ? HOLD_SSE : a->head.is_json ? HOLD_JSON : HOLD_NONE;
  return len;
}

enum hold_verdict { HV_KEEP, HV_RELEASE, HV_FAIL };

/* The held bytes plus PTR[0..LEN): keep holding, release them all, or the
 * attempt failed (a->fail_status, a->fail_msg say how). */
static enum hold_verdict hold_look(struct attempt *a, const char *ptr, size_t len) {
  struct held *h = a->held;
  for (size_t at = 0; a->hold == HOLD_SSE && at < len;) {
    size_t used = 0;
    enum qcc_sse_status st = qcc_sse_feed(&h->sse, ptr + at, len - at, &used);
    at += used;
    if (st != QCC_SSE_EVENT) continue;
    /* content, or a whole stream without any: nothing left to retry for */
    if (qcc_sse_is(&h->sse, "content_block_delta") || qcc_sse_is(&h->sse, "message_stop"))
      return HV_RELEASE;
    if (qcc_sse_is(&h->sse, "error")) {
      struct qcc_apierror e;
      if (qcc_apierror_parse(h->sse.data, h->sse.data_len, &e)) {
        a->fail_status = qcc_apierror_status(e.type);
        snprintf(a->fail_msg, sizeof a->fail_msg, "error event before any content: %.40s: %.100s",
                 e.type, e.message);
      } else {
        a->fail_status = 502;
        snprintf(a->fail_msg, sizeof a->fail_msg, "error event before any content");
      }
      return HV_FAIL;
    }
  }
  return h->len + len > HOLD_MAX ? HV_RELEASE : HV_KEEP;
}

/* The held bytes and PTR[0..LEN) go to the client: the head first. Returns
 * 1 when the sink's buffer is full, -1 when the attempt is over. */
static int hold_release(struct qcc_exchange *x, struct attempt *a, const char *ptr, size_t len) {
  a->hold = HOLD_NONE;
  if (x->tmode == TM_HOLD) timer_arm(x, TM_IDLE, a->idle_ms);
  if (!x->head_sent) {
    if (send_head(x) != 0) {
      snprintf(a->why, sizeof a->why, "out of memory");
      return -1;
    }
    if (x->cancelled) return -1;
  }
  int full = 0;
  if (a->held != NULL && a->held->len > 0) {
    x->res.bytes_down += a->held->len;
    full = px_body(x, a->held->buf, a->held->len);
    if (x->cancelled) return -1;
  }
  free(a->held);
  a->held = NULL;
  if (len > 0) {
    x->res.bytes_down += len;
    full |= px_body(x, ptr, len);
    if (x->cancelled) return -1;
  }
  return full;
}

/* PTR[0..LEN) while holding: LEN when held or passed on, 0 when the
 * attempt failed and goes elsewhere (CURL_WRITEFUNC_ERROR follows). */
static size_t hold_take(struct qcc_exchange *x, struct attempt *a, const char *ptr, size_t len,
                        int *full) {
  if (a->held == NULL) {
    a->held = malloc(sizeof *a->held);
    if (a->held == NULL) {
      /* no memory to hold: pass on unchecked */
      *full = hold_release(x, a, ptr, len);
      return *full < 0 ? 0 : len;
    }
    qcc_sse_init(&a->held->sse);
    a->held->len = 0;
  }
  enum hold_verdict v = hold_look(a, ptr, len);
  if (v == HV_KEEP) {
    memcpy(a->held->buf + a->held->len, ptr, len);
    a->held->len += len;
    return len;
  }
  if (v == HV_FAIL) {
    qcc_log_warn("upstream %s: %s (%s %.*s)", a->endpoint_id, a->fail_msg, x->req->method,
                 px_path_len(x->req->target), x->req->target);
    attempt_end(x, a, QCC_OUT_HTTP_STATUS, a->fail_status, "error event before any content");
    if (retry_elsewhere(x, a, a->fail_status)) return 0;
    /* nowhere else to go: the stream goes on as the upstream sent it */
  }
  *full = hold_release(x, a, ptr, len);
  return *full < 0 ? 0 : len;
}

/* Body bytes (de-chunked) to the sink: LEN when taken, CURL_WRITEFUNC_ERROR
 * when the attempt is over. */
static size_t deliver(struct attempt *a, char *ptr, size_t len) {
  struct qcc_exchange *x = a->x;
  if (x->cancelled) return CURL_WRITEFUNC_ERROR;
  size_t held = 0; /* 429 body bytes read before this call, not yet forwarded */
  if (a->sniff) {
    if (a->sbuf == NULL && (a->sbuf = malloc(SNIFF_MAX + 1)) == NULL) {
      a->sniff = false; /* no memory to look: decide without the body */
    } else {
      held = a->slen;
      size_t take = len < a->sniff_want - a->slen ? len : a->sniff_want - a->slen;
      memcpy(a->sbuf + a->slen, ptr, take);
      a->slen += take;
      if (a->slen < a->sniff_want) return len; /* all of it is held */
    }
    if (sniff_decide(x, a)) return CURL_WRITEFUNC_ERROR; /* dropped: next endpoint */
  }
  int full = 0;
  if (a->hold != HOLD_NONE && held == 0) {
    if (len == 0) return 0;
    if (hold_take(x, a, ptr, len, &full) == 0) return CURL_WRITEFUNC_ERROR;
    if (full && !x->paused) {
      x->paused = true;
      curl_easy_pause(a->easy, CURLPAUSE_RECV);
    }
    return len;
  }
  if (!x->head_sent) {
    if (send_head(x) != 0) {
      snprintf(a->why, sizeof a->why, "out of memory");
      return CURL_WRITEFUNC_ERROR;
    }
    if (x->cancelled) return CURL_WRITEFUNC_ERROR;
  }
  if (held > 0) {
    x->res.bytes_down += held;
    full = px_body(x, a->sbuf, held);
    if (x->cancelled) return CURL_WRITEFUNC_ERROR;
  }
  if (len == 0) return 0;
  x->res.bytes_down += len;
  full |= px_body(x, ptr, len);
  if (x->cancelled) return CURL_WRITEFUNC_ERROR;
  /* The sink took these bytes; stop reading until it drains. Pausing here
   * (rather than returning CURL_WRITEFUNC_PAUSE, which would hand the same
   * bytes over again) keeps delivery exactly-once. */
  if (full && !x->paused) {
    x->paused = true;
    curl_easy_pause(a->easy, CURLPAUSE_RECV);
  }
  return len;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  struct attempt *a = ud;
  size_t len = size * nmemb;
  struct qcc_exchange *x = a->x;
  a->last_io = ev_now(x->p->loop);
  if (!a->body_seen) {
    a->body_seen = true;
    /* the first body byte ends `timeout`; held events keep its deadline */
    if (x->tmode == TM_FIRST) {
      if (a->hold == HOLD_SSE) x->tmode = TM_HOLD;
      else timer_arm(x, TM_IDLE, a->idle_ms);
    }
  }
  if (!a->head.chunked) return deliver(a, ptr, len);
  struct qcc_proxy *p = a->x->p;
  if (len > p->dcap) {
    char *nb = realloc(p->dbuf, len);
    if (nb == NULL) {
      snprintf(a->why, sizeof a->why, "out of memory");
      return CURL_WRITEFUNC_ERROR;
    }
    p->dbuf = nb;
    p->dcap = len;
  }
  size_t n = 0;
  if (qcc_dechunk_feed(&a->dc, ptr, len, p->dbuf, &n) == QCC_DECHUNK_ERROR) {
    snprintf(a->why, sizeof a->why, "malformed chunked body from the upstream");
    return CURL_WRITEFUNC_ERROR;
  }
  if (deliver(a, p->dbuf, n) == CURL_WRITEFUNC_ERROR) return CURL_WRITEFUNC_ERROR;
  return len;
}

static const char *curl_status_type(CURLcode rc, int *status) {
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    *status = 504;
    return "timeout_error";
  case CURLE_URL_MALFORMAT:
    *status = 400;
    return "invalid_request_error";
  case CURLE_OUT_OF_MEMORY:
    *status = 500;
    return "api_error";
  default:
    *status = 502;
    return "api_error";
  }
}

/* The router's name for a transfer that failed before the response head. */
static enum qcc_outcome_kind classify(CURLcode rc) {
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT: return QCC_OUT_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS: return QCC_OUT_TLS_ERROR;
  default:
    /* refused, reset, closed before the head: the request can go elsewhere */
    return QCC_OUT_CONNECT_ERROR;
  }
}

/* The attempt failed before anything reached the client (x->res holds its
 * error): free it and try the next endpoint. Returns 0 when a new attempt
 * runs, 1 when the exchange must complete now. */
static int fail_over(struct qcc_exchange *x) {
  attempt_free(x->p, &x->att);
  x->res.ttfb_us = 0;
  x->res.bytes_up = 0;
  struct qcc_select_out sel;
  if (pick_next(x, &sel) != 0) return px_no_endpoint(x, &sel);
  int rc = px_attempt_start(x, &sel);
  if (rc < 0) px_set_error(x, 500, "api_error", "out of memory starting the upstream request");
  return rc == 0 ? 0 : 1;
}

/* A held answer ended whole (rc OK) before it was passed on: a 200 whose
 * JSON is an error object, or a stream that ended before any content, is a
 * failed attempt (charged, x->res set: true). */
static bool hold_failed_at_end(struct qcc_exchange *x, struct attempt *a) {
  struct qcc_apierror e;
  if (a->hold == HOLD_JSON) {
    if (a->held == NULL || !qcc_apierror_parse(a->held->buf, a->held->len, &e)) return false;
    int st = qcc_apierror_status(e.type);
    px_set_error(x, st, error_type_for(st), "upstream %s: HTTP %d with an error: %s: %s",
              a->endpoint_id, a->head.status, e.type, e.message);
    attempt_end(x, a, QCC_OUT_HTTP_STATUS, st, "error object in a 200 answer");
  } else {
    px_set_error(x, 502, "api_error", "upstream %s: the stream ended before any content",
              a->endpoint_id);
    attempt_end(x, a, QCC_OUT_BROKEN_STREAM, 0, "stream ended before any content");
  }
  qcc_log_warn("%s (%s %.*s)", x->msg, x->req->method, px_path_len(x->req->target), x->req->target);
  return true;
}

/* A transfer ended (from curl_multi_info_read). */
static void attempt_done(struct qcc_exchange *x, CURLcode rc) {
  struct attempt *a = x->att;
  /* a 429 whose whole body was shorter than what we waited for */
  if (rc == CURLE_OK && a->sniff) sniff_decide(x, a);
  if (a->retry) {
    /* aborted on purpose (a retryable status, an error in a 200): the
     * next pick is in x->next_sel */
    int st = a->fail_status != 0 ? a->fail_status : a->head.status;
    if (a->fail_msg[0] != '\0')
      px_set_error(x, st, error_type_for(st), "upstream %s: %s", a->endpoint_id, a->fail_msg);
    else
      px_set_error(x, st, st == 529 ? "overloaded_error" : "api_error", "upstream %s: HTTP %d",
                a->endpoint_id, st);
    bool to_queue = a->to_queue;
    attempt_free(x->p, &x->att);
    x->res.ttfb_us = 0;
    int src = to_queue ? px_no_endpoint(x, &x->next_sel) : px_attempt_start(x, &x->next_sel);
    if (src == 0) return;
    if (src < 0) px_set_error(x, 500, "api_error", "out of memory starting the upstream request");
    px_complete(x);
    return;
  }
  if (rc == CURLE_OK && !x->head_sent) {
    if (a->head.status < 200) {
      px_set_error(x, 502, "api_error", "upstream %s sent no response head", a->endpoint_id);
      attempt_end(x, a, QCC_OUT_CONNECT_ERROR, 0, "no response head");
      if (fail_over(x) == 0) return;
      px_complete(x);
      return;
    }
    if (a->hold != HOLD_NONE && hold_failed_at_end(x, a)) {
      if (fail_over(x) == 0) return;
      px_complete(x);
      return;
    }
    /* head() may cancel (the client's socket broke): treat it like a
     * callback, so the cancel is queued for run_pending, not done here */
    x->p->in_curl++;
    int hrc = send_head(x);
    if (hrc == 0 && !x->cancelled && a->slen > 0) {
      x->res.bytes_down += a->slen; /* the 429 body read while deciding */
      px_body(x, a->sbuf, a->slen);
    }
    if (hrc == 0 && !x->cancelled && a->held != NULL && a->held->len > 0) {
      x->res.bytes_down += a->held->len; /* a whole answer, held to check it */
      px_body(x, a->held->buf, a->held->len);
    }
    x->p->in_curl--;
    if (x->cancelled) return;
    if (hrc != 0) px_set_error(x, 500, "api_error", "out of memory forwarding the response");
  } else if (rc != CURLE_OK) {
    const char *why = a->why[0] != '\0'      ? a->why
                      : a->errbuf[0] != '\0' ? a->errbuf
                                             : curl_easy_strerror(rc);
    qcc_log_warn("upstream %s: %s (%s %.*s)", a->endpoint_id, why, x->req->method,
                 px_path_len(x->req->target), x->req->target);
    if (x->head_sent) {
      int st = x->res.status;
      px_set_error(x, st, "api_error", "upstream %s: stream broken: %s", a->endpoint_id, why);
      attempt_end(x, a, QCC_OUT_BROKEN_STREAM, 0, "stream broken");
      x->p->stats.broken++;
    } else {
      int st = 502;
      const char *type = curl_status_type(rc, &st);
      px_set_error(x, st, type, "upstream %s: %s", a->endpoint_id, why);
      bool charged = a->began;
      /* curl's own words ("self-signed certificate"), not its code's name */
      attempt_end(x, a, a->head.done ? QCC_OUT_BROKEN_STREAM : classify(rc), 0, why);
      /* a retryable status already passed through stays the client's answer */
      if (charged && rc != CURLE_URL_MALFORMAT && rc != CURLE_OUT_OF_MEMORY && fail_over(x) == 0)
        return;
    }
  }
  if (rc == CURLE_OK && x->head_sent) {
    x->res.failed = 0;
    x->res.status = a->head.status;
    attempt_end(x, a, a->head.status < 300 ? QCC_OUT_OK : QCC_OUT_HTTP_STATUS, a->head.status, NULL);
  }
  px_complete(x);
}

/* The loop's completion callback for an attempt's transfer. */
static void transfer_done(struct qcc_curl_job *job, CURL *easy, CURLcode rc) {
  struct attempt *a = job->arg;
  qcc_h2origins_learn(a->x->p->h2, a->req.url, easy);
  /* cancelled from inside a callback: run_pending frees it silently */
  if (a->x->cancelled) return;
  attempt_done(a->x, rc);
}

/* The attempt's timer ran out (x->tmode says which timeout). */
static void x_timeout(struct qcc_exchange *x, struct attempt *a) {
  const struct qcc_request *r = x->req;
  uint32_t ms = x->tmode == TM_IDLE ? a->idle_ms : x->tmode == TM_REQUEST ? a->request_ms
                                                                          : a->timeout_ms;
  const char *what = x->tmode == TM_IDLE      ? "no stream data"
                     : x->tmode == TM_REQUEST ? "no complete answer"
                     : a->head.done        ? "no response body"
                                              : "no response head";
  qcc_log_warn("upstream %s: %s within %u ms (%s %.*s)", a->endpoint_id, what, ms, r->method,
               px_path_len(r->target), r->target);
  if (x->head_sent) {
    px_set_error(x, x->res.status, "timeout_error", "upstream %s: stream broken: %s within %u ms",
              a->endpoint_id, what, ms);
    attempt_end(x, a, QCC_OUT_TIMEOUT, 0, what);
    x->p->stats.broken++;
    px_complete(x);
    return;
  }
  px_set_error(x, 504, "timeout_error", "upstream %s sent %s within %u ms", a->endpoint_id, what, ms);
  attempt_end(x, a, QCC_OUT_TIMEOUT, 0, what);
  if (fail_over(x) == 0) return;
  px_complete(x);
}

static void x_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_exchange *x = w->data;
  if (x->start_deferred) {
    x->start_deferred = false;
    int rc = px_attempt_start(x, NULL);
    if (rc == 0) return;
    if (rc < 0) px_set_error(x, 500, "api_error", "out of memory starting the upstream request");
    px_complete(x);
    return;
  }
  struct attempt *a = x->att;
  if (x->finish_deferred || a == NULL) {
    px_complete(x);
    return;
  }
  if (x->tmode == TM_IDLE) {
    /* one timer per silence, not per read: it checks when bytes last came */
    ev_tstamp idle = (double)a->idle_ms / 1000.0, quiet = ev_now(loop) - a->last_io;
    if (x->paused || quiet < idle) {
      ev_timer_set(&x->timer, x->paused ? idle : idle - quiet, 0.);
      ev_timer_start(loop, &x->timer);
      return;
    }
  } else if (x->tmode == TM_HOLD) {
    /* no content within `timeout`, but the stream is alive: the held
     * events go on (no retry past this point) and it counts as a stream */
    struct qcc_proxy *p = x->p;
    p->in_curl++; /* the sink may cancel: queued for run_pending */
    int full = hold_release(x, a, NULL, 0);
    if (full > 0 && !x->paused) {
      x->paused = true;
      curl_easy_pause(a->easy, CURLPAUSE_RECV);
    }
    p->in_curl--;
    if (!x->cancelled && full < 0) {
      px_set_error(x, 500, "api_error", "%s", a->why);
      attempt_end(x, a, QCC_OUT_CANCELLED, 0, a->why);
      px_complete(x);
    }
    run_pending(p);
    return;
  }
  x_timeout(x, a);
}

static void run_pending(struct qcc_proxy *p) {
  while (p->pending != NULL) {
    struct qcc_exchange *x = p->pending;
    p->pending = x->pend_next;
    x->pend_next = NULL;
    int op = x->pend;
    x->pend = PEND_NONE;
    if (op & PEND_CANCEL) {
      x_unlink(x);
      x_destroy(x);
    } else if ((op & PEND_RESUME) && x->att != NULL) {
      qcc_exchange_resume(x);
    }
  }
}

static void add_pending(struct qcc_exchange *x, int op) {
  if (x->pend == PEND_NONE) {
    x->pend_next = x->p->pending;
    x->p->pending = x;
  }
  x->pend |= op;
}

static void x_link(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  x->next = p->all;
  if (p->all != NULL) p->all->prev = x;
  p->all = x;
  p->active++;
}

/* Start (or finish) from the loop, never from inside the caller's call. */
void px_defer(struct qcc_exchange *x, bool start) {
  if (start) x->start_deferred = true;
  else x->finish_deferred = true;
  x->tmode = TM_NONE;
  ev_timer_stop(x->p->loop, &x->timer);
  ev_timer_set(&x->timer, 0., 0.);
  ev_timer_start(x->p->loop, &x->timer);
}

/* Any profile of T routes by session: only then is a session key needed. */
static bool wants_session(const struct qcc_table *t) {
  for (uint32_t i = 0; i < qcc_table_profile_count(t); i++)
    if (qcc_table_profile(t, i)->sticky_session) return true;
  return false;
}

static struct qcc_exchange *x_start(struct qcc_proxy *p, const struct qcc_request *req,
                                    const struct qcc_sink_ops *ops, void *ctx, bool direct) {
  struct qcc_exchange *x = calloc(1, sizeof *x);
  if (x == NULL) return NULL;
  x->p = p;
  x->req = req;
  x->ops = ops;
  x->ctx = ctx;
  x->direct = direct;
  x->t0_us = px_now_us();
  if (wants_session(req->gen->table)) {
    x->has_session = qcc_select_session_key(req, NULL, x->session, sizeof x->session) > 0;
    if (!x->has_session)
      x->has_session = qcc_select_session_key(req, px_facts(x), x->session, sizeof x->session) > 0;
  }
  x->priority = px_request_priority(req);
  /* which timeout applies: `timeout` to a stream's first byte, else
   * request_timeout for the whole answer */
  /* the tail first: a 1 MB body is not walked just for this (the walk is
   * for policies that need the model or the session key) */
  int tail = x->scanned ? -1 : qcc_jsonscan_tail_stream(req->body, req->body_len);
  x->stream = tail >= 0 ? tail == 1 : px_facts(x)->stream == 1;
  px_usage_start(x);
  ev_init(&x->timer, x_timer_cb);
  x->timer.data = x;
  if (!direct) {
    int ad = px_limit_admit(x);
    if (ad != 0) {
      /* waiting for a slot, or refused (answered from the loop) */
      x_link(x);
      if (ad > 1) px_defer(x, false);
      return x;
    }
  }
  if (in_curl(p)) {
    /* started from inside a sink callback: curl refuses to add handles
     * there (CURLM_RECURSIVE_API_CALL), so start from the loop */
    x_link(x);
    px_defer(x, true);
    return x;
  }
  int rc = px_attempt_start(x, NULL);
  if (rc < 0) {
    px_leave(x, false);
    x_free(x);
    return NULL;
  }
  x_link(x);
  /* no endpoint: report from the loop, never from inside this call */
  if (rc == 1) px_defer(x, false);
  return x;
}

struct qcc_exchange *qcc_exchange_start(struct qcc_proxy *p, const struct qcc_request *req,
                                        const struct qcc_sink_ops *ops, void *ctx) {
  return x_start(p, req, ops, ctx, false);
}

struct qcc_exchange *qcc_exchange_start_direct(struct qcc_proxy *p, const struct qcc_request *req,
                                               const struct qcc_sink_ops *ops, void *ctx) {
  return x_start(p, req, ops, ctx, true);
}

void qcc_exchange_resume(struct qcc_exchange *x) {
  if (x == NULL || x->cancelled || x->att == NULL) return;
  struct qcc_proxy *p = x->p;
  if (in_curl(p)) {
    /* queued even when not paused yet: the pause may be decided later in
     * the same callback, and must not then outlive this resume */
    add_pending(x, PEND_RESUME);
    return;
  }
  if (!x->paused) return;
  x->paused = false;
  p->in_curl++;
  /* may deliver buffered body at once, i.e. call body() before returning */
  curl_easy_pause(x->att->easy, CURLPAUSE_CONT);
  p->in_curl--;
  run_pending(p);
}

void qcc_exchange_cancel(struct qcc_exchange **px) {
  if (px == NULL || *px == NULL) return;
  struct qcc_exchange *x = *px;
  *px = NULL;
  if (x->cancelled) return;
  x->cancelled = true;
  struct qcc_proxy *p = x->p;
  attempt_end(x, x->att, QCC_OUT_CANCELLED, 0, "client went away");
  if (in_curl(p)) {
    /* removing a handle from inside its own callback is not allowed */
    ev_timer_stop(p->loop, &x->timer);
    add_pending(x, PEND_CANCEL);
    return;
  }
  x_unlink(x);
  x_destroy(x);
}

void qcc_proxy_free(struct qcc_proxy **pp) {
  if (pp == NULL || *pp == NULL) return;
  struct qcc_proxy *p = *pp;
  qcc_proxy_set_router(p, NULL);
  if (p->own_router != NULL) qcc_router_on_ready(p->own_router, NULL, NULL);
  while (p->all != NULL) {
    struct qcc_exchange *x = p->all;
    x_unlink(x);
    x_destroy(x);
  }
  p->pending = NULL;
  ev_timer_stop(p->loop, &p->qtimer);
  for (size_t i = 0; i < p->pool_len; i++) curl_easy_cleanup(p->pool[i]);
  p->pool_len = 0;
  qcc_curlloop_free(&p->cl);
  qcc_curlloop_free(&p->cl2);
  qcc_h2origins_free(&p->h2);
  qcc_router_free(&p->own_router);
  free(p->dbuf);
  free(p);
  *pp = NULL;
}
