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
#include <jansson.h>
#include <openssl/crypto.h>
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
#include "dechunk.h"
#include "deadletters.h"
#include "exchange.h"
#include "headers.h"
#include "keystore.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "modelmap.h"
#include "proxy.h"
#include "queue.h"
#include "router.h"
#include "schema/journal.h"
#include "select.h"
#include "sse.h"

#define EASY_POOL_MAX 64               /* idle easy handles kept for reuse */
#define RESP_HEAD_MAX (64 * 1024)      /* response head bytes we accept */
#define SNIFF_MAX 4096                 /* bytes of a 429 body read before deciding */
/* The endpoint timeouts' defaults, for a table that leaves one at 0
 * (docs/config-reference.md, profiles[].endpoints[].*timeout). */
#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_TIMEOUT_MS 30000u
#define DEFAULT_REQUEST_TIMEOUT_MS 600000u
#define DEFAULT_STREAM_IDLE_TIMEOUT_MS 90000u
#define MAX_TRIED QCC_PICK_TRIED_MAX /* attempts per request: every endpoint once */
/* A 200's first body bytes held before the client sees anything, so a
 * failure there can still go to another endpoint: a stream's events before
 * its first content_block_delta, a JSON answer that may be an error object. */
#define HOLD_MAX 8192

enum hold_kind { HOLD_NONE = 0, HOLD_SSE, HOLD_JSON };

/* What the exchange's timer is counting (docs/config-reference.md). */
enum timer_mode {
  TM_NONE = 0,
  TM_FIRST,   /* streamed: request sent -> first body byte (timeout) */
  TM_HOLD,    /* streamed, first events held: release them at the same deadline */
  TM_IDLE,    /* streamed, flowing: longest silence (stream_idle_timeout) */
  TM_REQUEST, /* not streamed: the whole answer (request_timeout) */
};

struct qcc_proxy {
  struct ev_loop *loop;
  struct qcc_curlloop *cl;  /* the multi handle on the loop */
  CURLM *multi;             /* cl's */
  size_t active;
  unsigned in_curl;         /* > 0 while inside a curl call of ours that may call the sink */
  struct qcc_exchange *all; /* every live exchange, for qcc_proxy_free */
  struct qcc_exchange *pending; /* cancel/resume asked for from inside curl */
  CURL *pool[EASY_POOL_MAX];
  size_t pool_len;
  char *dbuf;               /* de-chunked body of one upstream read */
  size_t dcap;
  /* The routing engine: main's (qcc_proxy_set_router), or, for a proxy used
   * on its own (unit tests), a private one attached to the requests' table. */
  struct qcc_router *router;
  struct qcc_router *own_router;
  const struct qcc_table *own_table;
  uint64_t own_gen;
  struct qcc_proxy_stats stats;
  struct qcc_proxy_hooks hooks;
  ev_timer qtimer;          /* the queue's and the in-flight limit's next due time */
  uint64_t ready_due;       /* an endpoint becomes eligible: wake the queue (UINT64_MAX: none) */
  bool stopping;            /* shutting down: nothing more enters the queue */
};

/* One try at one endpoint. The request itself stays on the exchange, so a
 * retry (next issue) is a new attempt on the same exchange. */
struct attempt {
  struct qcc_exchange *x;
  CURL *easy;
  struct qcc_curl_job job;      /* the loop's completion callback */
  struct curl_slist *hdrs;
  struct curl_slist *auth_node; /* wiped before the list is freed */
  char *url;
  char *body;                   /* model-rewritten body, or NULL */
  uint32_t endpoint;            /* index in the request's (pinned) table */
  struct qcc_pick pick;         /* the router's pick (its indexes) */
  bool began;                   /* qcc_router_begin done, end not yet */
  bool retry;                   /* aborted on purpose: the next pick is ready */
  bool to_queue;                /* ... or nothing is left: the request goes to the queue */
  uint64_t t0_us;               /* attempt start */
  uint64_t ttfb_us;             /* attempt start -> first header byte */
  uint32_t retry_after_s, reset_s;
  const char *endpoint_id;
  uint32_t connect_ms, timeout_ms, request_ms, idle_ms;
  ev_tstamp last_io;            /* loop time of the last body bytes (idle timer) */
  int status;                   /* of the current header block */
  bool headers_done;            /* final (non-1xx) head complete */
  bool chunked;                 /* the body comes raw in chunked framing (see dechunk.h) */
  struct qcc_dechunk dc;
  char *hbuf;                   /* raw header lines of the current block */
  size_t hlen, hcap;
  /* A 429's body is read (up to SNIFF_MAX) before the retry decision: it is
   * the only place Anthropic says a spend/credit limit is used up. */
  bool sniff;                   /* reading it now */
  size_t sniff_want;            /* bytes to read: content-length, capped */
  char *sbuf;                   /* SNIFF_MAX + 1 (NUL), allocated on use */
  size_t slen;
  bool spend_exhausted;
  bool is_sse, is_json;         /* the head's content-type */
  bool body_seen;               /* a body byte arrived */
  enum hold_kind hold;          /* holding the first body bytes (HOLD_MAX) */
  struct held {
    struct qcc_sse sse;
    bool stop_seen;             /* message_stop: the stream is whole */
    size_t len;
    char buf[HOLD_MAX];
  } *held;                      /* allocated at the first held byte */
  int fail_status;              /* an error inside a 200: the status it stands for */
  char fail_msg[200];           /* ... and what it said */
  char errbuf[CURL_ERROR_SIZE]; /* curl's message */
  char why[96];                 /* ours, when a callback of ours aborted */
};

enum pending_op { PEND_NONE = 0, PEND_RESUME = 1, PEND_CANCEL = 2 };

struct qcc_exchange {
  struct qcc_proxy *p;
  struct qcc_exchange *prev, *next; /* p->all */
  struct qcc_exchange *pend_next;   /* p->pending */
  int pend;                         /* enum pending_op bits */
  const struct qcc_request *req;
  const struct qcc_sink_ops *ops;
  void *ctx;
  struct attempt *att;
  ev_timer timer;                   /* the attempt's timeout (tmode), or a deferred start/finish */
  enum timer_mode tmode;
  bool stream;                      /* the request asks for a stream ("stream": true) */
  bool finish_deferred;             /* timer delivers a prepared error */
  bool start_deferred;              /* timer starts the first attempt */
  bool head_sent;
  bool paused;
  bool cancelled;
  uint64_t t0_us;
  uint32_t tried[MAX_TRIED];        /* router indexes attempted */
  size_t tried_count;
  size_t attempts;
  struct qcc_select_out next_sel;   /* pick made while aborting a failed attempt */
  char session[QCC_SESSION_KEY_MAX];
  bool has_session;
  /* the body's facts, scanned once and only when a policy needs them */
  struct qcc_jsonscan_facts facts;
  bool scanned;
  struct qcc_exchange_result res;
  char msg[640];
  /* failure queue and in-flight limit (proxy.h hooks) */
  bool direct;                      /* internal: never queued, not limited */
  bool queued;                      /* in the failure queue (waiting or retrying) */
  bool limit_held;                  /* holds an in-flight slot */
  bool limit_waiting;               /* on the in-flight wait list, not started */
  uint32_t priority;
  uint32_t retry_after_s;           /* retry-after for our own 429/529 */
  uint32_t total_attempts;          /* over every queue round */
  uint64_t qid;
  uint64_t enq_ms;
  const char *last_ep;              /* endpoint of the attempt before this one */
  /* QCC_DL_MAX_TRIED records, allocated at the first failed attempt: 2 KiB
   * that most exchanges (one good attempt) never need. */
  struct tried_rec {
    uint32_t idx;                   /* table index */
    char ep[64];
    uint16_t status;
    char reason[64];
  } *hist;
  size_t hist_n;
};

static void x_free(struct qcc_exchange *x) {
  free(x->hist);
  free(x);
}

/* Length of TARGET's path: logs leave out the query string, which is the
 * client's business and could carry anything. */
static int path_len(const char *target) {
  const char *q = strchr(target, '?');
  return (int)(q != NULL ? (size_t)(q - target) : strlen(target));
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- the multi handle on the loop ------------------------------------- */

static void run_pending(struct qcc_proxy *p);
static void qtimer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* Inside curl now (the loop's socket action, or one of our pause calls):
 * the sink may be called, and handles must not be removed. */
static bool in_curl(const struct qcc_proxy *p) {
  return p->in_curl > 0 || (p->cl != NULL && qcc_curlloop_busy(p->cl));
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
  ev_init(&p->qtimer, qtimer_cb);
  p->qtimer.data = p;
  /* Keep idle upstream connections for reuse across exchanges. The cache must
   * hold as many as can be in flight at once (proxy.max_connections, 1000 by
   * default): a smaller cache closes a connection at the end of each transfer
   * past it and the next request pays a new connect (measured: 1000 streams at
   * 5.8k req/s with 512, see tools/bench). */
  curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, 4096L);
  curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  *out = p;
  return 0;
}

size_t qcc_proxy_active(const struct qcc_proxy *p) { return p == NULL ? 0 : p->active; }

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
    curl_multi_remove_handle(p->multi, a->easy);
    easy_release(p, a->easy);
  }
  if (a->auth_node != NULL && a->auth_node->data != NULL)
    OPENSSL_cleanse(a->auth_node->data, strlen(a->auth_node->data));
  free(a->hdrs); /* one block: build_headers */
  free(a->url);
  free(a->body);
  free(a->hbuf);
  free(a->sbuf);
  free(a->held);
  free(a);
  *pa = NULL;
}

static bool has_header(const struct qcc_request *r, const char *name) {
  for (size_t i = 0; i < r->header_count; i++)
    if (qcc_hdr_name_is(r->headers[i].name, r->headers[i].name_len, name)) return true;
  return false;
}

/* Node K of N points at the line just written at *TEXT (LEN bytes + NUL). */
static void link_line(struct curl_slist *node, size_t k, size_t n, char **text, size_t len) {
  node[k].data = *text;
  node[k].next = k + 1 < n ? &node[k + 1] : NULL;
  *text += len + 1;
}

/* The upstream request headers: the client's minus what qcc_hdr_drop_request
 * removes, plus the endpoint's credential; curl's own Expect/Accept (and the
 * form Content-Type it would add to a POST) are suppressed so only the
 * client's headers go. */

static int build_headers(struct attempt *a, const struct qcc_request *r, enum qcc_auth_style auth,
                         const char *key, bool has_body) {
  /* One allocation: the curl_slist nodes, then their lines (curl only reads
   * the list; attempt_free frees it). curl_slist_append made two per line,
   * ~1 KiB of malloc chunks per open stream for a typical SDK request. */
  const bool accept = !has_header(r, "accept");
  const bool ctype = has_body && !has_header(r, "content-type");
  size_t n = 1 + accept + ctype + (key[0] != '\0');
  size_t bytes = sizeof "Expect:" + sizeof "Accept:" + sizeof "Content-Type:" + strlen(key) + 32;
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    if (qcc_hdr_drop_request(r->headers, r->header_count, h)) continue;
    n++;
    bytes += h->name_len + h->value_len + 3;
  }
  struct curl_slist *node = malloc(n * sizeof *node + bytes);
  if (node == NULL) return -1;
  a->hdrs = node;
  char *text = (char *)(node + n), *end = text + bytes;
  size_t k = 0;
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    if (qcc_hdr_drop_request(r->headers, r->header_count, h)) continue;
    int len = qcc_hdr_line(h, text, (size_t)(end - text));
    if (len < 0) return -1;
    link_line(node, k++, n, &text, (size_t)len);
  }
  static const char *const fixed[] = {"Expect:", "Accept:", "Content-Type:"};
  for (size_t f = 0; f < 3; f++) {
    if ((f == 1 && !accept) || (f == 2 && !ctype)) continue;
    size_t len = strlen(fixed[f]);
    memcpy(text, fixed[f], len + 1);
    link_line(node, k++, n, &text, len);
  }
  if (key[0] != '\0') {
    int len = qcc_hdr_auth_line(auth, key, text, (size_t)(end - text));
    if (len < 0) {
      OPENSSL_cleanse(text, (size_t)(end - text)); /* a cut-off line may hold key bytes */
      return -1;
    }
    a->auth_node = &node[k];
    link_line(node, k++, n, &text, (size_t)len);
  }
  return k == n ? 0 : -1;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud);
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud);
static void x_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

#define SETOPT(opt, val)                                                 \
  do {                                                                   \
    if (curl_easy_setopt(e, opt, val) != CURLE_OK) return -1;            \
  } while (0)

static int configure(struct attempt *a, const struct qcc_request *r, const char *body,
                     size_t body_len) {
  CURL *e = a->easy;
  SETOPT(CURLOPT_URL, a->url);
  SETOPT(CURLOPT_HTTPHEADER, a->hdrs);
  SETOPT(CURLOPT_HEADERFUNCTION, on_header);
  SETOPT(CURLOPT_HEADERDATA, a);
  SETOPT(CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(CURLOPT_WRITEDATA, a);
  SETOPT(CURLOPT_ERRORBUFFER, a->errbuf);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_TCP_NODELAY, 1L);
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  /* over TLS, wait to multiplex on an HTTP/2 connection being set up rather
   * than open another; plain http is HTTP/1.1 and waiting only serialises */
  SETOPT(CURLOPT_PIPEWAIT, strncmp(a->url, "https:", 6) == 0 ? 1L : 0L);
  /* bytes pass through as the upstream sent them */
  SETOPT(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  /* chunked bodies come raw, one callback per read (on_body decodes them) */
  SETOPT(CURLOPT_HTTP_TRANSFER_DECODING, 0L);
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  /* forward the client's path as it is (no dot-segment squashing) */
  SETOPT(CURLOPT_PATH_AS_IS, 1L);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_ms);
  /* no curl timeout past the connect: the exchange's timer covers the
   * first byte, the whole non-streamed answer and a stream's silences */
  /* removing a transfer whose name is still being resolved must not wait
   * for the resolver thread: the loop would stop for the DNS timeout */
  SETOPT(CURLOPT_QUICK_EXIT, 1L);
  const char *m = r->method;
  if (strcmp(m, "GET") == 0) {
    SETOPT(CURLOPT_HTTPGET, 1L);
  } else if (strcmp(m, "HEAD") == 0) {
    SETOPT(CURLOPT_NOBODY, 1L);
  } else {
    if (strcmp(m, "POST") != 0) SETOPT(CURLOPT_CUSTOMREQUEST, m);
    if (strcmp(m, "POST") == 0 || body_len > 0 || strcmp(m, "PUT") == 0 ||
        strcmp(m, "PATCH") == 0) {
      SETOPT(CURLOPT_POSTFIELDS, body != NULL ? body : "");
      SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
  }
  return 0;
}
#undef SETOPT

static void set_error(struct qcc_exchange *x, int status, const char *type, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static void set_error(struct qcc_exchange *x, int status, const char *type, const char *fmt,
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

static uint64_t now_ms(void) { return now_us() / 1000u; }

/* The router says an endpoint may have become eligible: requests waiting
 * for one are retried now, not at their next scheduled retry. */
static void router_ready(void *ctx) { qcc_proxy_queue_wake(ctx); }

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
    if (qcc_router_attach(p->own_router, g->table, now_ms(), &err) != 0) return NULL;
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
  uint64_t t = now_us();
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
                             .tried = x->tried, .tried_count = x->tried_count, .now = now_ms()};
  return qcc_select_endpoint(&in, out);
}

/* ---- failure queue (docs/queue.md, "Wiring") ----------------------------- */

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool queue_on(const struct qcc_exchange *x) {
  return !x->direct && x->p->hooks.queue != NULL && !x->p->stopping && !x->head_sent &&
         !x->cancelled;
}

static void journal(struct qcc_proxy *p, struct qcc_jrec *r) {
  if (p->hooks.journal != NULL) p->hooks.journal(p->hooks.ctx, r);
}

/* The journal's view of an endpoint of the request's table. */
static struct qcc_jep jep_of(const struct qcc_exchange *x, uint32_t idx, const char *id) {
  struct qcc_jep e = {.id = id};
  const struct qcc_table *t = x->req->gen->table;
  if (idx < qcc_table_endpoint_count(t)) {
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, idx);
    e.sid = ep->stable_id;
    e.identity = ep->identity_hash;
  }
  return e;
}

/* The "message" of one of queue.h's Anthropic-shaped error bodies, into x->msg. */
static void set_error_from_json(struct qcc_exchange *x, int status, const char *doc) {
  json_t *j = json_loads(doc, 0, NULL);
  const char *m = j != NULL ? json_string_value(json_object_get(json_object_get(j, "error"),
                                                                "message"))
                            : NULL;
  set_error(x, status, "overloaded_error", "%s", m != NULL ? m : "overloaded");
  json_decref(j);
}

static void qtimer_arm(struct qcc_proxy *p) {
  uint64_t due = UINT64_MAX;
  if (p->hooks.queue != NULL) due = qcc_queue_next_due(p->hooks.queue);
  if (p->hooks.limits != NULL) {
    uint64_t l = qcc_limits_next_due(p->hooks.limits);
    if (l < due) due = l;
  }
  uint64_t now = now_ms();
  /* requests waiting for an endpoint: wake them when one becomes eligible
   * by the clock (a rest or a breaker cooldown ends) */
  struct qcc_router *router = p->router != NULL ? p->router : p->own_router;
  p->ready_due = UINT64_MAX;
  if (router != NULL && p->hooks.queue != NULL && qcc_queue_waiting(p->hooks.queue) > 0)
    p->ready_due = qcc_router_next_ready(router, now);
  if (p->ready_due < due) due = p->ready_due;
  ev_timer_stop(p->loop, &p->qtimer);
  if (due == UINT64_MAX) return;
  double secs = due > now ? (double)(due - now) / 1e3 : 0.;
  ev_timer_set(&p->qtimer, secs, 0.);
  ev_timer_start(p->loop, &p->qtimer);
}

/* The request failed for good after waiting: keep it as a dead letter,
 * journal it, and put the final answer naming what was tried in x->res. */
static void dead_letter(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  const struct qcc_request *r = x->req;
  struct qcc_queue_attempt tried[QCC_DL_MAX_TRIED];
  for (size_t i = 0; i < x->hist_n; i++)
    tried[i] = (struct qcc_queue_attempt){.endpoint = x->hist[i].ep, .status = x->hist[i].status,
                                          .reason = x->hist[i].reason};
  char reason[256];
  const char *src = x->res.error_message != NULL ? x->msg : "no endpoint";
  size_t rl = strnlen(src, sizeof reason - 1); /* cut: a dead letter keeps 255 bytes */
  memcpy(reason, src, rl);
  reason[rl] = '\0';
  const char *dlid = NULL;
  uint64_t hash = 0;
  if (p->hooks.deadletters != NULL) {
    struct qcc_deadletter_in in = {
        .id = x->qid, .time_ms = wall_ms(), .method = r->method, .target = r->target,
        .priority = x->priority, .headers = r->headers, .header_count = r->header_count,
        .tried = tried, .tried_count = x->hist_n, .attempts = x->total_attempts,
        .reason = reason, .body = r->body, .body_len = r->body_len};
    struct qcc_err err = {0};
    if (qcc_deadletters_add(p->hooks.deadletters, &in, &dlid, &err) != 0)
      qcc_log_error("dead letter: %s", err.msg);
    const struct qcc_deadletter *d =
        dlid != NULL ? qcc_deadletters_get(p->hooks.deadletters, dlid) : NULL;
    if (d != NULL) hash = d->body_hash;
  }
  struct qcc_jrec j = {.type = QCC_JT_QUEUE_DEAD_LETTER};
  j.u.queue_dead_letter.request_id = x->qid;
  j.u.queue_dead_letter.body_hash = hash;
  j.u.queue_dead_letter.reason = reason;
  size_t n = x->hist_n < QCC_JOURNAL_MAX_ATTEMPTS ? x->hist_n : QCC_JOURNAL_MAX_ATTEMPTS;
  j.u.queue_dead_letter.tried.count = (uint16_t)n;
  for (size_t i = 0; i < n; i++)
    j.u.queue_dead_letter.tried.item[i] = (struct qcc_jattempt){
        .endpoint = jep_of(x, x->hist[i].idx, x->hist[i].ep), .http_status = x->hist[i].status,
        .reason = x->hist[i].reason};
  journal(p, &j);
  char buf[1024];
  uint64_t waited = now_ms() - x->enq_ms;
  if (qcc_queue_expired_json(tried, x->hist_n, x->total_attempts, waited, dlid, buf, sizeof buf) <
      0)
    snprintf(buf, sizeof buf, "{}");
  set_error_from_json(x, 503, buf);
  qcc_log_warn("queued request %llu failed for good after %u attempts (%s %.*s)%s%s",
               (unsigned long long)x->qid, x->total_attempts, r->method, path_len(r->target),
               r->target, dlid != NULL ? ": dead letter " : "", dlid != NULL ? dlid : "");
}

/* Nothing (more) to try: with the failure queue on, the request (already
 * fully buffered) waits there; otherwise, or when the queue is full or the
 * request has used its retries, it is answered now. SEL->pick says why.
 * Returns 0 when the request waits in the queue (x is held: no attempt,
 * no timer), 1 when x->res holds the answer and the exchange must end. */
static int no_endpoint(struct qcc_exchange *x, const struct qcc_select_out *sel) {
  const struct qcc_request *r = x->req;
  struct qcc_proxy *p = x->p;
  /* no attempt in this round: nothing to back off from, and no retry spent;
   * it waits for an endpoint to become eligible */
  bool idle = x->attempts == 0;
  p->stats.exhausted++;
  if (x->attempts == 0 || x->res.error_message == NULL) {
    set_error(x, 503, "overloaded_error", "%s", sel->reason != NULL ? sel->reason : "no endpoint");
    qcc_log_warn("%s (%s %.*s)", x->msg, r->method, r->target != NULL ? path_len(r->target) : 0,
                 r->target != NULL ? r->target : "");
  }
  if (!queue_on(x)) return 1;
  struct qcc_queue *q = p->hooks.queue;
  uint64_t now = now_ms();
  ev_timer_stop(p->loop, &x->timer);
  if (!x->queued) {
    uint64_t id = 0;
    uint32_t ra = 0;
    enum qcc_queue_push_status st = idle ? qcc_queue_push_waiting(q, x, x->priority, now, &id, &ra)
                                         : qcc_queue_push(q, x, x->priority, now, &id, &ra);
    if (st == QCC_QUEUE_FULL) {
      char buf[512];
      x->retry_after_s = ra;
      if (qcc_queue_full_json(ra, buf, sizeof buf) < 0) snprintf(buf, sizeof buf, "{}");
      set_error_from_json(x, QCC_QUEUE_FULL_STATUS, buf);
      return 1;
    }
    if (st != QCC_QUEUE_PUSHED) return 1;
    x->queued = true;
    x->qid = id;
    x->enq_ms = now;
    struct qcc_jrec j = {.type = QCC_JT_QUEUE_ENQUEUED};
    j.u.queue_enqueued.request_id = id;
    j.u.queue_enqueued.priority = x->priority;
    j.u.queue_enqueued.body_hash = 0;
    j.u.queue_enqueued.model = "";
    journal(p, &j);
    qcc_log_info("request queued as %llu (priority %u): %s", (unsigned long long)id,
                 x->priority, x->msg);
    qtimer_arm(p);
    return 0;
  }
  if (idle) {
    enum qcc_queue_retry_status rs = qcc_queue_retry_no_endpoint(q, x, now);
    if (rs == QCC_QUEUE_RESCHEDULED) {
      qtimer_arm(p);
      return 0;
    }
    x->queued = false;
    if (rs == QCC_QUEUE_EXPIRED) dead_letter(x);
    return 1;
  }
  struct qcc_jrec j = {.type = QCC_JT_QUEUE_RETRIED};
  const struct tried_rec *last = x->hist_n > 0 ? &x->hist[x->hist_n - 1] : NULL;
  j.u.queue_retried.request_id = x->qid;
  j.u.queue_retried.attempt = x->total_attempts;
  j.u.queue_retried.endpoint = last != NULL ? jep_of(x, last->idx, last->ep)
                                            : (struct qcc_jep){.id = ""};
  j.u.queue_retried.reason = x->msg;
  journal(p, &j);
  enum qcc_queue_retry_status rs = qcc_queue_retry_failed(q, x, now);
  if (rs == QCC_QUEUE_RESCHEDULED) {
    qtimer_arm(p);
    return 0;
  }
  x->queued = false;
  if (rs == QCC_QUEUE_EXPIRED) dead_letter(x);
  return 1;
}

/* The exchange's timer now counts MODE, MS from now. Stopped first: after a
 * failed attempt it may still be running with the last endpoint's time. */
static void timer_arm(struct qcc_exchange *x, enum timer_mode mode, uint32_t ms) {
  ev_timer_stop(x->p->loop, &x->timer);
  x->tmode = mode;
  ev_timer_set(&x->timer, (double)ms / 1000.0, 0.);
  ev_timer_start(x->p->loop, &x->timer);
}

static uint32_t or_default(uint32_t v, uint32_t def) { return v != 0 ? v : def; }

/* EP's timeouts (resolved by qccc: the endpoint's, else upstream.*), a 0
 * meaning the default. */
static void ep_timeouts(const struct qcc_tbl_endpoint *ep, struct attempt *a) {
  a->timeout_ms = or_default(ep->timeout_ms, DEFAULT_TIMEOUT_MS);
  a->connect_ms = or_default(ep->connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS);
  a->request_ms = or_default(ep->request_timeout_ms, DEFAULT_REQUEST_TIMEOUT_MS);
  a->idle_ms = or_default(ep->stream_idle_timeout_ms, DEFAULT_STREAM_IDLE_TIMEOUT_MS);
}

/* Start a transfer to SEL (a pick already made), or pick one first when SEL
 * is NULL. Returns 0 when started, 1 when no endpoint is available (x->res
 * holds the error), -1 on allocation failure. */
/* The body's facts (runtime/jsonscan.h), from one pass made at first need. */
static const struct qcc_jsonscan_facts *x_facts(struct qcc_exchange *x) {
  if (!x->scanned) {
    qcc_jsonscan_body(x->req->body, x->req->body_len, &x->facts);
    x->scanned = true;
  }
  return &x->facts;
}

static int attempt_start(struct qcc_exchange *x, const struct qcc_select_out *pre) {
  struct qcc_proxy *p = x->p;
  const struct qcc_request *r = x->req;
  if (r->target == NULL || r->target[0] != '/') {
    set_error(x, 400, "invalid_request_error", "request target must start with /");
    return 1;
  }
  struct qcc_select_out sel_local;
  const struct qcc_select_out *sel = pre;
  if (sel == NULL) {
    if (pick_next(x, &sel_local) != 0) return no_endpoint(x, &sel_local);
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
  const char *base = qcc_table_str(t, sel->ep->base_url);
  size_t bl = strlen(base);
  size_t tl = strlen(r->target);
  a->url = malloc(bl + tl + 1);
  if (a->url == NULL) goto oom;
  memcpy(a->url, base, bl);
  memcpy(a->url + bl, r->target, tl + 1);

  const char *body = r->body;
  size_t body_len = r->body_len;
  size_t new_len = 0;
  int mm = sel->ep->model_map_count == 0 ? 0 :
           qcc_modelmap_rewrite(t, sel->ep, r->body, r->body_len, x_facts(x), &a->body, &new_len);
  if (mm < 0) goto oom;
  if (mm == 1) {
    body = a->body;
    body_len = new_len;
  }
  bool has_body = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
  if (build_headers(a, r, (enum qcc_auth_style)sel->ep->auth, sel->key, has_body) != 0) goto oom;
  a->easy = easy_get(p);
  if (a->easy == NULL) goto oom;
  if (configure(a, r, body, body_len) != 0) goto oom;
  x->res.bytes_up = has_body ? body_len : 0;
  a->job = (struct qcc_curl_job){.done = transfer_done, .arg = a};
  if (qcc_curlloop_add(p->cl, a->easy, &a->job) != 0) goto oom;
  x->att = a;
  a->t0_us = now_us();
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

static void limit_release(struct qcc_exchange *x);

/* The exchange leaves the queue and its in-flight slot, whatever its end. */
static void leave(struct qcc_exchange *x, bool answered) {
  struct qcc_proxy *p = x->p;
  if (x->queued) {
    x->queued = false;
    if (answered && !x->res.failed && qcc_queue_succeeded(p->hooks.queue, x) == 0) {
      struct qcc_jrec j = {.type = QCC_JT_QUEUE_SUCCEEDED};
      j.u.queue_succeeded.request_id = x->qid;
      j.u.queue_succeeded.attempts = x->total_attempts;
      j.u.queue_succeeded.endpoint =
          x->att != NULL ? jep_of(x, x->att->endpoint, x->att->endpoint_id)
                         : (struct qcc_jep){.id = x->res.endpoint_id};
      journal(p, &j);
      qcc_log_info("queued request %llu answered after %u attempts (%.0f ms in the queue)",
                   (unsigned long long)x->qid, x->total_attempts,
                   (double)(now_ms() - x->enq_ms));
    } else {
      qcc_queue_remove(p->hooks.queue, x);
    }
    qtimer_arm(p);
  }
  if (x->limit_waiting) {
    x->limit_waiting = false;
    qcc_limits_cancel(p->hooks.limits, x);
    qtimer_arm(p);
  }
  limit_release(x);
}

static void x_destroy(struct qcc_exchange *x) {
  leave(x, false);
  ev_timer_stop(x->p->loop, &x->timer);
  attempt_end(x, x->att, QCC_OUT_CANCELLED, 0, "client went away");
  attempt_free(x->p, &x->att);
  x_free(x);
}

/* The end: one done(), then the exchange is gone. Called from the loop
 * only (never inside a curl callback), so done() may start new exchanges. */
static void complete(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  ev_timer_stop(p->loop, &x->timer);
  leave(x, true);
  attempt_free(p, &x->att);
  x_unlink(x);
  x->ops->done(x->ctx, &x->res);
  x_free(x);
}

/* Build the filtered header list from the stored head and call head(). */
static int send_head(struct qcc_exchange *x) {
  struct attempt *a = x->att;
  size_t lines = 0;
  for (size_t i = 0; i < a->hlen; i++)
    if (a->hbuf[i] == '\n') lines++;
  struct qcc_header *all = calloc(lines + 1, sizeof *all);
  if (all == NULL) return -1;
  size_t n = 0, at = 0;
  int64_t clen = -1;
  bool chunked = false;
  struct qcc_header h;
  while (qcc_hdr_next(a->hbuf, a->hlen, &at, &h)) {
    all[n++] = h;
    if (qcc_hdr_name_is(h.name, h.name_len, "transfer-encoding")) chunked = true;
    if (qcc_hdr_name_is(h.name, h.name_len, "content-length")) clen = qcc_hdr_content_length(&h);
  }
  struct qcc_header *keep = calloc(n + 1, sizeof *keep);
  if (keep == NULL) {
    free(all);
    return -1;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!qcc_hdr_drop_response(all, n, &all[i])) keep[k++] = all[i];
  const char *m = x->req->method;
  bool no_body = strcmp(m, "HEAD") == 0 || a->status == 204 || a->status == 304;
  if (no_body) clen = 0;
  else if (chunked) clen = -1;
  x->head_sent = true;
  x->res.upstream_status = a->status;
  x->res.status = a->status;
  x->ops->head(x->ctx, a->status, keep, k, clen);
  free(keep);
  free(all);
  /* The head is out and nothing reads it again (retries happen before it
   * is sent; on_header ignores trailers): its 1 KiB goes back now, not at
   * the end of a stream that may last minutes. */
  free(a->hbuf);
  a->hbuf = NULL;
  a->hlen = a->hcap = 0;
  return 0;
}

/* Seconds from now until an RFC 3339 time ("2026-11-26T05:00:00Z"); 0 when
 * unparsable or past. */
static uint32_t seconds_until(const char *v, size_t n) {
  char buf[40];
  if (n == 0 || n >= sizeof buf) return 0;
  memcpy(buf, v, n);
  buf[n] = '\0';
  struct tm tm = {0};
  if (strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) return 0;
  time_t at = timegm(&tm);
  time_t now = time(NULL);
  return at > now ? (uint32_t)(at - now) : 0;
}

static uint32_t parse_uint(const char *v, size_t n) {
  uint64_t x = 0;
  if (n == 0 || n > 9) return 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return 0;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  return (uint32_t)x;
}

/* How long the upstream asks us to rest it: Retry-After (seconds), and the
 * reset time of any Anthropic rate limit whose remaining count is 0. */
static void parse_rest_hints(struct attempt *a) {
  static const char *const kinds[] = {"requests", "tokens", "input-tokens", "output-tokens"};
  const char *reset[4] = {0};
  size_t reset_len[4] = {0};
  bool exhausted[4] = {0};
  size_t at = 0;
  struct qcc_header h;
  while (qcc_hdr_next(a->hbuf, a->hlen, &at, &h)) {
    if (qcc_hdr_name_is(h.name, h.name_len, "retry-after")) {
      a->retry_after_s = parse_uint(h.value, h.value_len);
      continue;
    }
    if (h.name_len < 22 || strncasecmp(h.name, "anthropic-ratelimit-", 20) != 0) continue;
    for (size_t k = 0; k < 4; k++) {
      char nm[64];
      snprintf(nm, sizeof nm, "anthropic-ratelimit-%s-reset", kinds[k]);
      if (qcc_hdr_name_is(h.name, h.name_len, nm)) {
        reset[k] = h.value;
        reset_len[k] = h.value_len;
      }
      snprintf(nm, sizeof nm, "anthropic-ratelimit-%s-remaining", kinds[k]);
      if (qcc_hdr_name_is(h.name, h.name_len, nm) && h.value_len == 1 && h.value[0] == '0')
        exhausted[k] = true;
    }
  }
  for (size_t k = 0; k < 4; k++) {
    if (!exhausted[k] || reset[k] == NULL) continue;
    uint32_t sec = seconds_until(reset[k], reset_len[k]);
    if (sec > a->reset_s) a->reset_s = sec;
  }
}

static bool status_retryable(int status) {
  struct qcc_outcome o = {.kind = QCC_OUT_HTTP_STATUS, .http_status = status};
  return qcc_router_retryable(&o);
}

/* Content-Length of the stored head, -1 when absent or unreadable. */
static int64_t head_content_length(const struct attempt *a) {
  int64_t clen = -1;
  size_t at = 0;
  struct qcc_header h;
  while (qcc_hdr_next(a->hbuf, a->hlen, &at, &h))
    if (qcc_hdr_name_is(h.name, h.name_len, "content-length")) clen = qcc_hdr_content_length(&h);
  return clen;
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
  if (queue_on(x)) {
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
               a->status, a->spend_exhausted ? ", spend limit exhausted" : "", x->req->method,
               path_len(x->req->target), x->req->target);
  attempt_end(x, a, QCC_OUT_HTTP_STATUS, a->status,
              a->spend_exhausted ? "spend limit exhausted" : NULL);
  return retry_elsewhere(x, a, a->status);
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
  if (a->ttfb_us == 0) a->ttfb_us = now_us() - a->t0_us;
  if (x->res.ttfb_us == 0) x->res.ttfb_us = now_us() - x->t0_us;
  /* after the final head: trailers (or noise) are not forwarded */
  if (a->headers_done) return len;
  int st = qcc_hdr_parse_status(ptr, len);
  if (st > 0) {
    a->status = st;
    a->hlen = 0; /* a new block (after 1xx) replaces the old */
    a->chunked = a->is_sse = a->is_json = false;
    return len;
  }
  struct qcc_header h;
  int kind = qcc_hdr_parse_line(ptr, len, &h);
  if (kind == 0) {
    if (a->status >= 200) {
      a->headers_done = true;
      if (status_retryable(a->status)) {
        parse_rest_hints(a);
        if (a->status == 429) {
          int64_t cl = head_content_length(a);
          a->sniff_want = cl >= 0 && cl < SNIFF_MAX ? (size_t)cl : SNIFF_MAX;
          /* the timer stays on: a body that stalls times out too */
          a->sniff = a->sniff_want > 0;
          if (a->sniff) return len;
        }
        if (give_up_attempt(x, a)) return 0;
        return len;
      }
      /* a success is held until it shows it is not an error in disguise
       * (the timer goes on counting: a head is not an answer) */
      if (a->status < 300 && strcmp(x->req->method, "HEAD") != 0)
        a->hold = a->is_sse ? HOLD_SSE : a->is_json ? HOLD_JSON : HOLD_NONE;
    }
    return len;
  }
  if (kind < 0) return len; /* a malformed line is dropped, not fatal */
  if (qcc_hdr_name_is(h.name, h.name_len, "transfer-encoding") &&
      qcc_hdr_value_has_token(&h, "chunked"))
    a->chunked = true;
  if (qcc_hdr_name_is(h.name, h.name_len, "content-type")) {
    a->is_sse = h.value_len >= 17 && strncasecmp(h.value, "text/event-stream", 17) == 0;
    a->is_json = h.value_len >= 16 && strncasecmp(h.value, "application/json", 16) == 0;
  }
  if (a->hlen + len > RESP_HEAD_MAX) {
    snprintf(a->why, sizeof a->why, "response head larger than %d bytes", RESP_HEAD_MAX);
    return 0;
  }
  if (a->hlen + len + 1 > a->hcap) {
    size_t cap = a->hcap == 0 ? 1024 : a->hcap;
    while (cap < a->hlen + len + 1) cap *= 2;
    char *nb = realloc(a->hbuf, cap);
    if (nb == NULL) {
      snprintf(a->why, sizeof a->why, "out of memory");
      return 0;
    }
    a->hbuf = nb;
    a->hcap = cap;
  }
  memcpy(a->hbuf + a->hlen, ptr, len);
  a->hlen += len;
  if (ptr[len - 1] != '\n') a->hbuf[a->hlen++] = '\n';
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
    full = x->ops->body(x->ctx, a->held->buf, a->held->len);
    if (x->cancelled) return -1;
  }
  free(a->held);
  a->held = NULL;
  if (len > 0) {
    x->res.bytes_down += len;
    full |= x->ops->body(x->ctx, ptr, len);
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
                 path_len(x->req->target), x->req->target);
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
    full = x->ops->body(x->ctx, a->sbuf, held);
    if (x->cancelled) return CURL_WRITEFUNC_ERROR;
  }
  if (len == 0) return 0;
  x->res.bytes_down += len;
  full |= x->ops->body(x->ctx, ptr, len);
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
  if (!a->chunked) return deliver(a, ptr, len);
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
  if (pick_next(x, &sel) != 0) return no_endpoint(x, &sel);
  int rc = attempt_start(x, &sel);
  if (rc < 0) set_error(x, 500, "api_error", "out of memory starting the upstream request");
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
    set_error(x, st, error_type_for(st), "upstream %s: HTTP %d with an error: %s: %s",
              a->endpoint_id, a->status, e.type, e.message);
    attempt_end(x, a, QCC_OUT_HTTP_STATUS, st, "error object in a 200 answer");
  } else {
    set_error(x, 502, "api_error", "upstream %s: the stream ended before any content",
              a->endpoint_id);
    attempt_end(x, a, QCC_OUT_BROKEN_STREAM, 0, "stream ended before any content");
  }
  qcc_log_warn("%s (%s %.*s)", x->msg, x->req->method, path_len(x->req->target), x->req->target);
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
    int st = a->fail_status != 0 ? a->fail_status : a->status;
    if (a->fail_msg[0] != '\0')
      set_error(x, st, error_type_for(st), "upstream %s: %s", a->endpoint_id, a->fail_msg);
    else
      set_error(x, st, st == 529 ? "overloaded_error" : "api_error", "upstream %s: HTTP %d",
                a->endpoint_id, st);
    bool to_queue = a->to_queue;
    attempt_free(x->p, &x->att);
    x->res.ttfb_us = 0;
    int src = to_queue ? no_endpoint(x, &x->next_sel) : attempt_start(x, &x->next_sel);
    if (src == 0) return;
    if (src < 0) set_error(x, 500, "api_error", "out of memory starting the upstream request");
    complete(x);
    return;
  }
  if (rc == CURLE_OK && !x->head_sent) {
    if (a->status < 200) {
      set_error(x, 502, "api_error", "upstream %s sent no response head", a->endpoint_id);
      attempt_end(x, a, QCC_OUT_CONNECT_ERROR, 0, "no response head");
      if (fail_over(x) == 0) return;
      complete(x);
      return;
    }
    if (a->hold != HOLD_NONE && hold_failed_at_end(x, a)) {
      if (fail_over(x) == 0) return;
      complete(x);
      return;
    }
    /* head() may cancel (the client's socket broke): treat it like a
     * callback, so the cancel is queued for run_pending, not done here */
    x->p->in_curl++;
    int hrc = send_head(x);
    if (hrc == 0 && !x->cancelled && a->slen > 0) {
      x->res.bytes_down += a->slen; /* the 429 body read while deciding */
      x->ops->body(x->ctx, a->sbuf, a->slen);
    }
    if (hrc == 0 && !x->cancelled && a->held != NULL && a->held->len > 0) {
      x->res.bytes_down += a->held->len; /* a whole answer, held to check it */
      x->ops->body(x->ctx, a->held->buf, a->held->len);
    }
    x->p->in_curl--;
    if (x->cancelled) return;
    if (hrc != 0) set_error(x, 500, "api_error", "out of memory forwarding the response");
  } else if (rc != CURLE_OK) {
    const char *why = a->why[0] != '\0'      ? a->why
                      : a->errbuf[0] != '\0' ? a->errbuf
                                             : curl_easy_strerror(rc);
    qcc_log_warn("upstream %s: %s (%s %.*s)", a->endpoint_id, why, x->req->method,
                 path_len(x->req->target), x->req->target);
    if (x->head_sent) {
      int st = x->res.status;
      set_error(x, st, "api_error", "upstream %s: stream broken: %s", a->endpoint_id, why);
      attempt_end(x, a, QCC_OUT_BROKEN_STREAM, 0, "stream broken");
      x->p->stats.broken++;
    } else {
      int st = 502;
      const char *type = curl_status_type(rc, &st);
      set_error(x, st, type, "upstream %s: %s", a->endpoint_id, why);
      bool charged = a->began;
      /* curl's own words ("self-signed certificate"), not its code's name */
      attempt_end(x, a, a->headers_done ? QCC_OUT_BROKEN_STREAM : classify(rc), 0, why);
      /* a retryable status already passed through stays the client's answer */
      if (charged && rc != CURLE_URL_MALFORMAT && rc != CURLE_OUT_OF_MEMORY && fail_over(x) == 0)
        return;
    }
  }
  if (rc == CURLE_OK && x->head_sent) {
    x->res.failed = 0;
    x->res.status = a->status;
    attempt_end(x, a, a->status < 300 ? QCC_OUT_OK : QCC_OUT_HTTP_STATUS, a->status, NULL);
  }
  complete(x);
}

/* The loop's completion callback for an attempt's transfer. */
static void transfer_done(struct qcc_curl_job *job, CURL *easy, CURLcode rc) {
  (void)easy;
  struct attempt *a = job->arg;
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
                     : a->headers_done        ? "no response body"
                                              : "no response head";
  qcc_log_warn("upstream %s: %s within %u ms (%s %.*s)", a->endpoint_id, what, ms, r->method,
               path_len(r->target), r->target);
  if (x->head_sent) {
    set_error(x, x->res.status, "timeout_error", "upstream %s: stream broken: %s within %u ms",
              a->endpoint_id, what, ms);
    attempt_end(x, a, QCC_OUT_TIMEOUT, 0, what);
    x->p->stats.broken++;
    complete(x);
    return;
  }
  set_error(x, 504, "timeout_error", "upstream %s sent %s within %u ms", a->endpoint_id, what, ms);
  attempt_end(x, a, QCC_OUT_TIMEOUT, 0, what);
  if (fail_over(x) == 0) return;
  complete(x);
}

static void x_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_exchange *x = w->data;
  if (x->start_deferred) {
    x->start_deferred = false;
    int rc = attempt_start(x, NULL);
    if (rc == 0) return;
    if (rc < 0) set_error(x, 500, "api_error", "out of memory starting the upstream request");
    complete(x);
    return;
  }
  struct attempt *a = x->att;
  if (x->finish_deferred || a == NULL) {
    complete(x);
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
      set_error(x, 500, "api_error", "%s", a->why);
      attempt_end(x, a, QCC_OUT_CANCELLED, 0, a->why);
      complete(x);
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

/* The queue priority: x-qcc-priority, else the client token's, else the default. */
static uint32_t request_priority(const struct qcc_request *r) {
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    uint32_t v = 0;
    if (qcc_hdr_name_is(h->name, h->name_len, QCC_QUEUE_PRIORITY_HEADER) &&
        qcc_queue_parse_priority(h->value, h->value_len, &v) == 0)
      return v;
  }
  if (r->gen == NULL || r->gen->keys == NULL || qcc_keystore_token_count(r->gen->keys) == 0)
    return QCC_QUEUE_PRIORITY_DEFAULT;
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    const char *v = h->value;
    size_t n = h->value_len;
    if (qcc_hdr_name_is(h->name, h->name_len, "authorization")) {
      if (n <= 7 || strncasecmp(v, "bearer ", 7) != 0) continue;
      v += 7;
      n -= 7;
      while (n > 0 && *v == ' ') {
        v++;
        n--;
      }
    } else if (!qcc_hdr_name_is(h->name, h->name_len, "x-api-key")) {
      continue;
    }
    uint32_t prio = 0;
    if (qcc_keystore_token_ok(r->gen->keys, v, n, &prio)) return prio;
  }
  return QCC_QUEUE_PRIORITY_DEFAULT;
}

static void x_link(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  x->next = p->all;
  if (p->all != NULL) p->all->prev = x;
  p->all = x;
  p->active++;
}

/* Start (or finish) from the loop, never from inside the caller's call. */
static void defer(struct qcc_exchange *x, bool start) {
  if (start) x->start_deferred = true;
  else x->finish_deferred = true;
  x->tmode = TM_NONE;
  ev_timer_stop(x->p->loop, &x->timer);
  ev_timer_set(&x->timer, 0., 0.);
  ev_timer_start(x->p->loop, &x->timer);
}

static void limit_release(struct qcc_exchange *x) {
  if (!x->limit_held) return;
  x->limit_held = false;
  struct qcc_exchange *next = qcc_limits_release(x->p->hooks.limits);
  if (next != NULL) {
    next->limit_waiting = false;
    next->limit_held = true;
    defer(next, true);
  }
  qtimer_arm(x->p);
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
  x->t0_us = now_us();
  if (wants_session(req->gen->table)) {
    x->has_session = qcc_select_session_key(req, NULL, x->session, sizeof x->session) > 0;
    if (!x->has_session)
      x->has_session = qcc_select_session_key(req, x_facts(x), x->session, sizeof x->session) > 0;
  }
  x->priority = request_priority(req);
  /* which timeout applies: `timeout` to a stream's first byte, else
   * request_timeout for the whole answer */
  x->stream = x_facts(x)->stream == 1;
  ev_init(&x->timer, x_timer_cb);
  x->timer.data = x;
  if (!direct && p->hooks.limits != NULL) {
    uint32_t ra = 0;
    enum qcc_admit ad = qcc_limits_admit(p->hooks.limits, x, x->priority, now_ms(), &ra);
    if (ad == QCC_ADMIT_WAIT) {
      x->limit_waiting = true;
      x_link(x);
      qtimer_arm(p);
      return x;
    }
    if (ad == QCC_ADMIT_REJECT) {
      x->retry_after_s = ra != 0 ? ra : 1;
      set_error(x, QCC_LIMITS_REJECT_STATUS, "rate_limit_error",
                "too many requests in flight; retry after %u s", x->retry_after_s);
      x_link(x);
      defer(x, false);
      return x;
    }
    x->limit_held = true;
  }
  if (in_curl(p)) {
    /* started from inside a sink callback: curl refuses to add handles
     * there (CURLM_RECURSIVE_API_CALL), so start from the loop */
    x_link(x);
    defer(x, true);
    return x;
  }
  int rc = attempt_start(x, NULL);
  if (rc < 0) {
    leave(x, false);
    x_free(x);
    return NULL;
  }
  x_link(x);
  /* no endpoint: report from the loop, never from inside this call */
  if (rc == 1) defer(x, false);
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

/* The queue's and the in-flight limit's timer: retries and expiries due. */
static void qtimer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_proxy *p = w->data;
  uint64_t now = now_ms();
  if (p->ready_due <= now && p->hooks.queue != NULL) qcc_queue_wake_all(p->hooks.queue, now);
  if (p->hooks.limits != NULL) {
    void *out[32];
    size_t n;
    do {
      n = qcc_limits_expire(p->hooks.limits, now, out, 32);
      for (size_t i = 0; i < n; i++) {
        struct qcc_exchange *x = out[i];
        x->limit_waiting = false;
        x->retry_after_s = 1;
        set_error(x, QCC_LIMITS_REJECT_STATUS, "rate_limit_error",
                  "too many requests in flight: waited too long for a slot");
        complete(x);
      }
    } while (n == 32);
  }
  if (p->hooks.queue != NULL) {
    struct qcc_queue_item items[32];
    size_t n;
    do {
      n = qcc_queue_pop_due(p->hooks.queue, now, items, 32);
      for (size_t i = 0; i < n; i++) {
        struct qcc_exchange *x = items[i].handle;
        if (items[i].expired) {
          x->queued = false;
          dead_letter(x);
          complete(x);
          continue;
        }
        /* a new round: every endpoint may be tried again */
        x->tried_count = 0;
        x->attempts = 0;
        int rc = attempt_start(x, NULL);
        if (rc == 0) {
          /* let curl start this transfer before the next one is added:
           * transfers due at the same time start in no particular order,
           * and the queue's priority order must reach the upstream */
          if (x->att != NULL) qcc_curlloop_kick(p->cl);
          continue;
        }
        if (rc < 0) set_error(x, 500, "api_error", "out of memory starting the upstream request");
        complete(x);
      }
    } while (n == 32);
  }
  qtimer_arm(p);
}

void qcc_proxy_set_hooks(struct qcc_proxy *p, const struct qcc_proxy_hooks *h) {
  p->hooks = *h;
  qtimer_arm(p);
}

struct qcc_metrics *qcc_proxy_metrics(const struct qcc_proxy *p) {
  return p != NULL ? p->hooks.metrics : NULL;
}

void qcc_proxy_queue_wake(struct qcc_proxy *p) {
  if (p->hooks.queue == NULL) return;
  if (qcc_queue_wake_all(p->hooks.queue, now_ms()) > 0) qtimer_arm(p);
}

void qcc_proxy_limits_changed(struct qcc_proxy *p) {
  if (p->hooks.limits != NULL) {
    void *out[64];
    size_t n;
    do {
      n = qcc_limits_promote(p->hooks.limits, out, 64);
      for (size_t i = 0; i < n; i++) {
        struct qcc_exchange *x = out[i];
        x->limit_waiting = false;
        x->limit_held = true;
        defer(x, true);
      }
    } while (n == 64);
  }
  qtimer_arm(p);
}

uint32_t qcc_exchange_result_retry_after(const struct qcc_exchange_result *res) {
  /* done() is handed &x->res of a live exchange */
  const struct qcc_exchange *x =
      (const struct qcc_exchange *)(const void *)((const char *)res -
                                                  offsetof(struct qcc_exchange, res));
  return x->retry_after_s;
}

void qcc_proxy_stop_queue(struct qcc_proxy *p) {
  p->stopping = true;
  struct qcc_queue *q = p->hooks.queue;
  if (q == NULL) return;
  struct qcc_queue_info info[64];
  size_t n;
  do {
    n = qcc_queue_list(q, info, 64);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
      if (info[i].state != QCC_QUEUE_WAITING) continue; /* in flight: ends by itself */
      struct qcc_exchange *x = info[i].handle;
      qcc_queue_remove(q, x);
      x->queued = false;
      set_error(x, 503, "overloaded_error", "qcc-run is shutting down; the request was kept");
      dead_letter(x);
      complete(x);
      done++;
    }
    if (done == 0) break;
  } while (n == 64);
  qtimer_arm(p);
}

uint64_t qcc_proxy_waiting(const struct qcc_proxy *p) {
  uint64_t n = 0;
  if (p->hooks.queue != NULL) {
    struct qcc_queue_counters qc;
    qcc_queue_counters(p->hooks.queue, &qc);
    n += qc.queued;
  }
  if (p->hooks.limits != NULL) {
    struct qcc_limits_counters lc;
    qcc_limits_counters(p->hooks.limits, &lc);
    n += lc.waiting;
  }
  return n;
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
  qcc_router_free(&p->own_router);
  free(p->dbuf);
  free(p);
  *pp = NULL;
}
