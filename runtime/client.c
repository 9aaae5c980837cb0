#include "client.h"

#include <errno.h>
#include <ev.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "budgetgate.h"
#include "exchange.h"
#include "keystore.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "reqpath.h"
#include "tableset.h"
#include "tlsserver.h"

/* Defaults for settings a table leaves at 0. */

#define READ_CHUNK (16u * 1024)
#define IN_CAP (64u * 1024)            /* unparsed input held while a request is served */
#define OUT_PAUSE (256u * 1024)        /* sink asks the exchange to pause beyond this */
#define OUT_RESUME (64u * 1024)        /* ... and resumes it below this */
#define OUT_HARD (8u * 1024 * 1024)    /* never buffer more than this for one client */
#define MAX_HEADERS 256u
#define LINGER_SECONDS 2.0             /* discard input after an error reply, then close */
#define LINGER_DISCARD (4u * 1024 * 1024)

/* Where a request goes, decided from its head (route_head). */
enum route { ROUTE_NOT_FOUND, ROUTE_HEALTHZ, ROUTE_V1, ROUTE_PAGE };

enum cstate {
  CS_READING, /* waiting for or parsing a request */
  CS_BUSY,    /* a request is being answered (ours or an exchange) */
  CS_LINGER,  /* error reply sent, write side shut, draining input before close */
  CS_DEAD,    /* closing at the next kick */
};

struct buf {
  char *p;
  size_t len, cap;
};

struct hdr_ref {
  size_t name_off, name_len, value_off, value_len;
};

struct qcc_client {
  struct qcc_client_env *env;
  uint32_t retry_after; /* seconds, sent with our own 429/529 (0 = none) */
  void *tag;
  int fd;
  SSL *ssl;                   /* TLS on the listener, else NULL (plain TCP) */
  bool tls_flush_on_read;     /* a TLS write waits for the socket to be readable */
  bool tls_read_on_write;     /* a TLS read waits for the socket to be writable */
  enum cstate state;
  ev_io rio, wio;
  ev_timer timer; /* head / idle / write-stall / linger timeout */
  ev_timer kick;  /* zero-delay: continue outside any exchange callback */
  ev_prepare flush; /* write buffered response bytes before the loop blocks */
  http_parser parser;

  struct buf in, out;
  size_t out_off;
  struct buf head; /* url and header names/values, each NUL-terminated */
  struct hdr_ref *hdrs;
  size_t nhdrs, hdr_cap;
  int hdr_state; /* 0 url, 1 header name, 2 header value */
  size_t url_len;
  struct buf body;

  /* The current request. */
  bool in_msg, headers_done, msg_done, keep_alive, is_head;
  int early_status; /* limit or method error found while parsing */
  const char *early_msg;
  enum route route;
  uint64_t token_gen; /* generation whose tokens admitted the request */
  bool first_request; /* the connection's first: header timer runs from accept */
  uint64_t bytes_in, bytes_out, linger_discarded;
  struct timespec t0;
  char rid[17];
  char client_name[64]; /* auth_tokens[].name of the token that admitted it, "" = none */
  uint32_t client_slot; /* its index + 1, 0 = none (budgets) */
  struct qcc_request req;
  struct qcc_header *xhdrs;
  struct qcc_generation *gen; /* pinned while the exchange runs */
  struct qcc_exchange *x;
  struct qcc_page_call *pg; /* the status page answers instead (ROUTE_PAGE) */
  bool x_active;

  /* The response. */
  bool resp_head_sent, resp_chunked, resp_done, resp_close, paused, peer_eof;
  int resp_status;
  size_t max_header;
  uint64_t max_body;
  double header_timeout, idle_timeout;
};

static const http_parser_settings parser_settings;

/* ---- request ids ---------------------------------------------------------- */

static uint64_t rid_seed, rid_counter;
static bool rid_ready;

/* splitmix64's finalizer is a bijection on 64 bits: distinct counters give
 * distinct ids, and a random seed keeps them from being guessable in order. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void qcc_request_id_next(char out[17]) {
  if (!rid_ready) {
    if (getrandom(&rid_seed, sizeof rid_seed, GRND_NONBLOCK) != (ssize_t)sizeof rid_seed) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      rid_seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
    }
    rid_ready = true;
  }
  snprintf(out, 17, "%016llx", (unsigned long long)mix64(rid_seed + rid_counter++));
}

/* ---- small helpers ------------------------------------------------------- */

static int buf_reserve(struct buf *b, size_t extra, size_t cap) {
  if (extra > cap || b->len > cap - extra) return -1;
  size_t need = b->len + extra;
  if (need <= b->cap) return 0;
  size_t ncap = b->cap != 0 ? b->cap : 1024;
  while (ncap < need) ncap = ncap > cap / 2 ? cap : ncap * 2;
  char *p = realloc(b->p, ncap);
  if (p == NULL) return -1;
  b->p = p;
  b->cap = ncap;
  return 0;
}

static int buf_add(struct buf *b, const void *data, size_t len, size_t cap) {
  if (len == 0) return 0;
  if (buf_reserve(b, len, cap) != 0) return -1;
  memcpy(b->p + b->len, data, len);
  b->len += len;
  return 0;
}

static void buf_free(struct buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static double now_ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static const struct qcc_tbl_settings *settings_now(const struct qcc_client *c) {
  return qcc_table_settings(qcc_tableset_current(c->env->tables)->table);
}

static void load_limits(struct qcc_client *c) {
  const struct qcc_tbl_settings *s = settings_now(c);
  /* Settings come from the table only: qccc applied the defaults. */
  c->max_header = s->max_header_bytes;
  c->max_body = s->max_body_bytes;
  uint32_t head_ms = s->header_timeout_ms;
  uint32_t idle_ms = s->idle_timeout_ms;
  c->header_timeout = head_ms / 1e3;
  c->idle_timeout = idle_ms / 1e3;
}

static void set_timer(struct qcc_client *c, double secs) {
  c->timer.repeat = secs;
  ev_timer_again(c->env->loop, &c->timer);
}

static void stop_timer(struct qcc_client *c) { ev_timer_stop(c->env->loop, &c->timer); }

static void kick(struct qcc_client *c) {
  if (!ev_is_active(&c->kick)) {
    ev_timer_set(&c->kick, 0., 0.);
    ev_timer_start(c->env->loop, &c->kick);
  }
}

static bool method_allowed(unsigned m) {
  switch (m) {
  case HTTP_GET: case HTTP_HEAD: case HTTP_POST: case HTTP_PUT:
  case HTTP_DELETE: case HTTP_PATCH: case HTTP_OPTIONS:
    return true;
  default:
    return false;
  }
}

static const char *error_type_for(int status) {
  switch (status) {
  case 401: return "authentication_error";
  case 403: return "permission_error";
  case 404: return "not_found_error";
  case 413: return "request_too_large";
  case 429: return "rate_limit_error";
  case 503: case 529: return "overloaded_error";
  default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

static const char *reason(int status) {
  const char *r = http_status_str((enum http_status)status);
  return (r != NULL && strcmp(r, "<unknown>") != 0) ? r : "Status";
}

/* ---- output ---------------------------------------------------------------- */

static void mark_dead(struct qcc_client *c) {
  c->state = CS_DEAD;
  ev_io_stop(c->env->loop, &c->rio);
  ev_io_stop(c->env->loop, &c->wio);
  ev_prepare_stop(c->env->loop, &c->flush);
  stop_timer(c);
  kick(c);
}

static int out_add(struct qcc_client *c, const void *data, size_t len) {
  if (c->out_off > 0 && c->out_off == c->out.len) {
    c->out.len = c->out_off = 0;
  } else if (c->out_off > 0 && len > c->out.cap - c->out.len) {
    memmove(c->out.p, c->out.p + c->out_off, c->out.len - c->out_off);
    c->out.len -= c->out_off;
    c->out_off = 0;
  }
  if (buf_add(&c->out, data, len, OUT_HARD) != 0) return -1;
  c->bytes_out += len;
  return 0;
}

static int out_printf(struct qcc_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int out_printf(struct qcc_client *c, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) return -1;
  return out_add(c, tmp, (size_t)n);
}

static int out_str(struct qcc_client *c, const char *s) { return out_add(c, s, strlen(s)); }

/* Decimal without printf: these run for every response. */
static int out_uint(struct qcc_client *c, uint64_t v) {
  char tmp[20];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return out_add(c, tmp + i, sizeof tmp - i);
}

/* One chunk of a chunked body: size line, data, CRLF, in one reservation.
 * It runs for every piece of an SSE stream, so no printf here. */
static int out_chunk(struct qcc_client *c, const char *data, size_t len) {
  char size[2 * sizeof len + 2];
  size_t i = sizeof size;
  size[--i] = '\n';
  size[--i] = '\r';
  for (size_t v = len;; v >>= 4) {
    size[--i] = "0123456789abcdef"[v & 15u];
    if (v < 16) break;
  }
  size_t head = sizeof size - i;
  if (out_add(c, size + i, head) != 0) return -1;
  if (buf_reserve(&c->out, len + 2, OUT_HARD) != 0) return -1;
  memcpy(c->out.p + c->out.len, data, len);
  memcpy(c->out.p + c->out.len + len, "\r\n", 2);
  c->out.len += len + 2;
  c->bytes_out += len + 2;
  return 0;
}

/* ---- the socket, plain or TLS ---------------------------------------------- */

static void rio_start(struct qcc_client *c) {
  if (!ev_is_active(&c->rio)) ev_io_start(c->env->loop, &c->rio);
  /* decrypted bytes already inside OpenSSL never make the socket readable */
  if (c->ssl != NULL && qcc_tls_pending(c->ssl)) ev_feed_event(c->env->loop, &c->rio, EV_READ);
}

/* recv/send for either transport. A TLS operation may need the other
 * direction's readiness first; the flags route that wake-up back to it. */
static ssize_t conn_recv(struct qcc_client *c, void *buf, size_t len) {
  if (c->ssl == NULL) return recv(c->fd, buf, len, 0);
  enum qcc_tls_want want;
  ssize_t n = qcc_tls_read(c->ssl, buf, len, &want);
  if (n < 0 && want == QCC_TLS_WANT_WRITE) {
    c->tls_read_on_write = true;
    if (!ev_is_active(&c->wio)) ev_io_start(c->env->loop, &c->wio);
  }
  return n;
}

static ssize_t conn_send(struct qcc_client *c, const void *buf, size_t len) {
  if (c->ssl == NULL) return send(c->fd, buf, len, MSG_NOSIGNAL);
  enum qcc_tls_want want;
  ssize_t n = qcc_tls_write(c->ssl, buf, len, &want);
  c->tls_flush_on_read = n < 0 && want == QCC_TLS_WANT_READ;
  return n;
}

static size_t out_pending(const struct qcc_client *c) { return c->out.len - c->out_off; }

static void response_flushed(struct qcc_client *c);

/* Write what we can now; the rest waits for the writable watcher. Returns -1
 * when the peer is gone (the connection is then marked dead). */
static int flush_out(struct qcc_client *c) {
  while (out_pending(c) > 0) {
    ssize_t n = conn_send(c, c->out.p + c->out_off, out_pending(c));
    if (n > 0) {
      c->out_off += (size_t)n;
      /* Progress resets the write-stall timer. */
      if (ev_is_active(&c->wio) && c->state == CS_BUSY) set_timer(c, c->idle_timeout);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && c->tls_flush_on_read) {
      rio_start(c); /* TLS: the write goes on once the peer's bytes arrive */
      return 0;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!ev_is_active(&c->wio)) {
        ev_io_start(c->env->loop, &c->wio);
        /* A client that never reads is cut off (while reading a request,
         * the head/body timers already bound it). */
        if (c->state == CS_BUSY) set_timer(c, c->idle_timeout);
      }
      return 0;
    }
    mark_dead(c);
    return -1;
  }
  c->out.len = c->out_off = 0;
  if (ev_is_active(&c->wio)) {
    ev_io_stop(c->env->loop, &c->wio);
    if (c->state == CS_BUSY) stop_timer(c);
  }
  return 0;
}

/* Response bytes are written once per loop iteration, just before the loop
 * blocks: curl hands over one SSE event per callback, and a send() per event
 * cost more CPU than the whole rest of the hop. Every callback of this
 * iteration has run by then, so no event waits longer than it did. */
static void schedule_flush(struct qcc_client *c) {
  if (!ev_is_active(&c->flush) && !ev_is_active(&c->wio)) ev_prepare_start(c->env->loop, &c->flush);
}

static void flushed(struct qcc_client *c) {
  if (c->paused && c->x_active && out_pending(c) < OUT_RESUME) {
    c->paused = false;
    if (c->x != NULL) qcc_exchange_resume(c->x); /* the page's streams never pause */
  }
  if (out_pending(c) == 0 && c->resp_done) response_flushed(c);
}

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  (void)revents;
  struct qcc_client *c = w->data;
  ev_prepare_stop(loop, w);
  if (c->state == CS_DEAD || flush_out(c) != 0) return;
  flushed(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_client *c = w->data;
  if (c->tls_read_on_write) {
    c->tls_read_on_write = false;
    ev_feed_event(loop, &c->rio, EV_READ);
    if (out_pending(c) == 0) {
      ev_io_stop(loop, &c->wio);
      return;
    }
  }
  if (flush_out(c) != 0) return;
  flushed(c);
}

/* ---- access log ------------------------------------------------------------ */

static void log_access(struct qcc_client *c, const struct qcc_exchange_result *res, int status,
                       uint64_t gen_number) {
  /* every request ends here, logged or not: the metrics' one feeding point */
  struct qcc_metrics *m = qcc_proxy_metrics(c->env->proxy);
  if (m != NULL && c->route != ROUTE_PAGE) /* the page is not proxy traffic */
    qcc_metrics_request(m, res != NULL ? res->endpoint_id : NULL, status, now_ms_since(&c->t0),
                        res != NULL && res->upstream_status != 0 ? (double)res->ttfb_us / 1e3
                                                                 : -1.0,
                        res != NULL ? res->failed != 0 : status >= 500);
  if (c->env->alog == NULL) return;
  if (!settings_now(c)->access_log) return;
  const char *url = c->head.p != NULL && c->url_len > 0 ? c->head.p : NULL;
  size_t plen = 0;
  if (url != NULL) {
    const char *q = memchr(url, '?', c->url_len);
    plen = q != NULL ? (size_t)(q - url) : c->url_len;
  }
  bool have_method = c->headers_done || c->url_len > 0;
  struct qcc_access_entry e = {
      .request_id = c->rid,
      .method = have_method ? http_method_str((enum http_method)c->parser.method) : "-",
      .path = url,
      .path_len = plen,
      .endpoint = res != NULL ? res->endpoint_id : NULL,
      .status = status,
      .upstream_status = res != NULL ? res->upstream_status : 0,
      .ttfb_ms = res != NULL && res->upstream_status != 0 ? (double)res->ttfb_us / 1e3 : -1.0,
      .total_ms = now_ms_since(&c->t0),
      .bytes_in = c->bytes_in,
      .bytes_out = c->bytes_out,
      .generation = gen_number,
      .failed = res != NULL ? res->failed != 0 : status >= 500,
      .model = res != NULL ? res->model : NULL,
      .tokens = res != NULL ? res->tokens : NULL,
      .cost_pico = res != NULL ? res->cost_pico : NULL,
      .tried = res != NULL ? res->tried : NULL,
      .tried_count = res != NULL ? res->tried_count : 0,
  };
  qcc_accesslog_write(c->env->alog, &e);
}

/* ---- our own responses ---------------------------------------------------- */

static void ensure_rid(struct qcc_client *c) {
  if (c->rid[0] == '\0') qcc_request_id_next(c->rid);
}

/* A complete response we produce ourselves (healthz, errors). */
static int respond(struct qcc_client *c, int status, const char *body, size_t len,
                   bool close_after) {
  ensure_rid(c);
  if (c->env->draining || !c->keep_alive) close_after = true;
  c->resp_close = close_after;
  c->resp_status = status;
  c->bytes_out = 0;
  int rc = out_printf(c,
                      "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n"
                      "x-request-id: %s\r\nconnection: %s\r\n",
                      status, reason(status), len, c->rid, close_after ? "close" : "keep-alive");
  if (rc == 0 && c->retry_after > 0) rc = out_printf(c, "retry-after: %u\r\n", c->retry_after);
  if (rc == 0) rc = out_add(c, "\r\n", 2);
  if (rc == 0 && !c->is_head) rc = out_add(c, body, len);
  c->resp_head_sent = true;
  c->resp_done = true;
  return rc;
}

static char *error_json(const char *type, const char *message) {
  json_t *o = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type", type, "message",
                        message != NULL ? message : "error");
  if (o == NULL) return NULL;
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return s;
}

static void respond_error(struct qcc_client *c, int status, const char *type, const char *msg,
                          bool close_after) {
  char *j = error_json(type != NULL ? type : error_type_for(status), msg);
  static const char fallback[] =
      "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"out of memory\"}}";
  if (j == NULL) {
    respond(c, status, fallback, sizeof fallback - 1, true);
  } else {
    respond(c, status, j, strlen(j), close_after);
    free(j);
  }
}

/* ---- request lifecycle ------------------------------------------------------ */

static void reset_request(struct qcc_client *c) {
  c->in_msg = c->headers_done = c->msg_done = c->is_head = false;
  c->keep_alive = true;
  c->early_status = 0;
  c->early_msg = NULL;
  c->route = ROUTE_NOT_FOUND;
  c->token_gen = 0;
  c->retry_after = 0;
  c->bytes_in = c->bytes_out = 0;
  c->rid[0] = '\0';
  c->head.len = 0;
  if (c->head.cap > 16 * 1024) buf_free(&c->head); /* a one-off big head does not stay */
  c->nhdrs = 0;
  c->hdr_state = 0;
  c->url_len = 0;
  buf_free(&c->body);
  free(c->xhdrs);
  c->xhdrs = NULL;
  memset(&c->req, 0, sizeof c->req);
  c->resp_head_sent = c->resp_chunked = c->resp_done = c->resp_close = c->paused = false;
  c->resp_status = 0;
}

/* Start waiting for the next request on a kept-alive connection. */
static void next_request(struct qcc_client *c) {
  c->first_request = false;
  reset_request(c);
  load_limits(c);
  c->state = CS_READING;
  http_parser_pause(&c->parser, 0);
  set_timer(c, c->idle_timeout);
  rio_start(c);
  if (c->in.len > 0) kick(c); /* a pipelined request is already buffered */
}

static void start_linger(struct qcc_client *c) {
  /* Closing with unread input makes the kernel send RST, which can destroy
   * the error reply in flight; shut the write side and drain for a while. */
  if (c->ssl != NULL) qcc_tls_shutdown(c->ssl); /* close_notify first */
  shutdown(c->fd, SHUT_WR);
  c->state = CS_LINGER;
  c->in.len = 0;
  c->linger_discarded = 0;
  set_timer(c, LINGER_SECONDS);
  if (!ev_is_active(&c->rio)) ev_io_start(c->env->loop, &c->rio);
}

/* Every byte of the current response has reached the socket. */
static void response_flushed(struct qcc_client *c) {
  if (c->state != CS_BUSY) return;
  if (c->resp_close || c->env->draining || c->peer_eof) {
    if (c->peer_eof) mark_dead(c);
    else start_linger(c);
    return;
  }
  next_request(c);
}

/* The response is fully queued: flush, and continue once it is out. */
static void finish_queued(struct qcc_client *c) {
  c->resp_done = true;
  if (flush_out(c) != 0) return;
  if (out_pending(c) == 0) response_flushed(c);
}

/* Errors found while parsing: answer and close. */
static void fail_parse(struct qcc_client *c, int status, const char *msg) {
  c->state = CS_BUSY;
  stop_timer(c);
  c->keep_alive = false;
  respond_error(c, status, NULL, msg, true);
  log_access(c, NULL, status, qcc_tableset_current(c->env->tables)->number);
  finish_queued(c);
}

/* ---- the sink (exchange.h) ---------------------------------------------------- */

static bool skip_response_header(const struct qcc_header *h) {
  static const char *const names[] = {"content-length", "transfer-encoding", "connection",
                                      "keep-alive", "x-request-id"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (h->name_len == strlen(names[i]) && strncasecmp(h->name, names[i], h->name_len) == 0)
      return true;
  return false;
}

static void sink_head(void *ctx, int status, const struct qcc_header *h, size_t n, int64_t clen) {
  struct qcc_client *c = ctx;
  if (c->state == CS_DEAD || c->resp_head_sent) return;
  c->resp_status = status;
  c->resp_head_sent = true;
  bool http11 = c->parser.http_major == 1 && c->parser.http_minor >= 1;
  bool no_body = c->is_head || status == 204 || status == 304;
  c->resp_chunked = clen < 0 && !no_body && http11;
  /* HTTP/1.0 without a length: the end of the body is the end of the connection. */
  if ((clen < 0 && !no_body && !http11) || !c->keep_alive || c->env->draining) c->resp_close = true;
  int rc = out_add(c, "HTTP/1.1 ", 9);
  if (rc == 0) rc = out_uint(c, (uint64_t)status);
  if (rc == 0) rc = out_add(c, " ", 1);
  if (rc == 0) rc = out_str(c, reason(status));
  if (rc == 0) rc = out_add(c, "\r\n", 2);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (skip_response_header(&h[i])) continue;
    rc = out_add(c, h[i].name, h[i].name_len);
    if (rc == 0) rc = out_add(c, ": ", 2);
    if (rc == 0) rc = out_add(c, h[i].value, h[i].value_len);
    if (rc == 0) rc = out_add(c, "\r\n", 2);
  }
  if (rc == 0) rc = out_add(c, "x-request-id: ", 14);
  if (rc == 0) rc = out_add(c, c->rid, strlen(c->rid));
  if (rc == 0 && clen >= 0) rc = out_add(c, "\r\ncontent-length: ", 18);
  if (rc == 0 && clen >= 0) rc = out_uint(c, (uint64_t)clen);
  if (rc == 0 && c->resp_chunked) rc = out_str(c, "\r\ntransfer-encoding: chunked");
  if (rc == 0)
    rc = out_str(c, c->resp_close ? "\r\nconnection: close\r\n\r\n"
                                  : "\r\nconnection: keep-alive\r\n\r\n");
  if (rc != 0) {
    mark_dead(c);
    return;
  }
  schedule_flush(c); /* goes out with the first body bytes */
}

static int sink_body(void *ctx, const char *data, size_t len) {
  struct qcc_client *c = ctx;
  if (c->state == CS_DEAD) return 1;
  if (c->is_head || len == 0) return 0;
  int rc = 0;
  if (c->resp_chunked) {
    rc = out_chunk(c, data, len);
  } else {
    rc = out_add(c, data, len);
  }
  if (rc != 0) {
    mark_dead(c); /* over the hard cap: this client is not keeping up */
    return 1;
  }
  schedule_flush(c);
  if (out_pending(c) > OUT_PAUSE) {
    c->paused = true;
    return 1;
  }
  return 0;
}

static void sink_done(void *ctx, const struct qcc_exchange_result *res) {
  struct qcc_client *c = ctx;
  c->x_active = false;
  c->x = NULL;
  c->pg = NULL;
  uint64_t gen_number = c->gen != NULL ? c->gen->number : 0;
  int status = res->status != 0 ? res->status : 502;
  if (c->state != CS_DEAD) {
    if (!c->resp_head_sent) {
      const char *msg = res->error_message != NULL ? res->error_message : "upstream request failed";
      c->retry_after = res->retry_after_s;
      respond_error(c, status, res->error_type, msg, false);
    } else {
      status = c->resp_status;
      if (c->resp_chunked) {
        int rc = 0;
        if (res->failed) {
          static const char ev[] =
              "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
              "\"message\":\"upstream stream broken\"}}\n\n";
          rc = out_chunk(c, ev, sizeof ev - 1);
          c->resp_close = true;
        }
        if (rc == 0) rc = out_add(c, "0\r\n\r\n", 5);
        if (rc != 0) mark_dead(c);
      } else if (res->failed) {
        c->resp_close = true; /* a short Content-Length body: only closing tells the client */
      }
    }
  }
  log_access(c, res, status, gen_number);
  qcc_generation_unref(&c->gen);
  if (c->state == CS_DEAD) return;
  /* Do not start the next request from inside the exchange's callback. */
  c->resp_done = true;
  kick(c);
}

static const struct qcc_sink_ops sink_ops = {
    .head = sink_head,
    .body = sink_body,
    .done = sink_done,
};

/* ---- routing ---------------------------------------------------------------- */

/* The admitting token's name, for usage records (never the token). */
static bool token_named(struct qcc_client *c, const struct qcc_generation *g, uint32_t idx) {
  const struct qcc_tbl_token *tk = qcc_table_token(g->table, idx);
  snprintf(c->client_name, sizeof c->client_name, "%s",
           tk != NULL ? qcc_table_str(g->table, tk->name) : "");
  c->client_slot = tk != NULL ? idx + 1 : 0;
  return true;
}

/* A client token whose budget is spent: 429 rate_limit_error with
 * retry-after = the seconds until its period resets, before any upstream
 * work (docs/usage.md, "Budgets"). */
static bool budget_refused(struct qcc_client *c) {
  int64_t wait = qcc_budgetgate_client_wait(c->env->budget, c->client_slot - 1);
  if (wait <= 0) return false;
  char msg[160];
  snprintf(msg, sizeof msg, "the budget of client token '%s' is spent; it resets in %lld s",
           c->client_name, (long long)wait);
  c->retry_after = wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
  respond_error(c, 429, "rate_limit_error", msg, false);
  return true;
}

static bool token_ok(struct qcc_client *c, const struct qcc_generation *g) {
  uint32_t idx = 0;
  c->client_name[0] = '\0';
  c->client_slot = 0;
  if (qcc_keystore_token_count(g->keys) == 0) return true;
  for (size_t i = 0; i < c->nhdrs; i++) {
    const struct hdr_ref *h = &c->hdrs[i];
    const char *name = c->head.p + h->name_off;
    const char *val = c->head.p + h->value_off;
    size_t vlen = h->value_len;
    if (h->name_len == 9 && strncasecmp(name, "x-api-key", 9) == 0) {
      if (qcc_keystore_token_match(g->keys, val, vlen, NULL, &idx)) return token_named(c, g, idx);
    } else if (h->name_len == 13 && strncasecmp(name, "authorization", 13) == 0 && vlen > 7 &&
               strncasecmp(val, "bearer ", 7) == 0) {
      val += 7;
      vlen -= 7;
      while (vlen > 0 && *val == ' ') {
        val++;
        vlen--;
      }
      if (qcc_keystore_token_match(g->keys, val, vlen, NULL, &idx)) return token_named(c, g, idx);
    }
  }
  return false;
}

static void start_exchange(struct qcc_client *c, struct qcc_generation *g) {
  c->xhdrs = calloc(c->nhdrs != 0 ? c->nhdrs : 1, sizeof *c->xhdrs);
  if (c->xhdrs == NULL) {
    respond_error(c, 500, "api_error", "out of memory", true);
    log_access(c, NULL, 500, g->number);
    finish_queued(c);
    return;
  }
  for (size_t i = 0; i < c->nhdrs; i++) {
    c->xhdrs[i].name = c->head.p + c->hdrs[i].name_off;
    c->xhdrs[i].name_len = c->hdrs[i].name_len;
    c->xhdrs[i].value = c->head.p + c->hdrs[i].value_off;
    c->xhdrs[i].value_len = c->hdrs[i].value_len;
  }
  c->gen = qcc_generation_ref(g);
  c->req = (struct qcc_request){
      .method = http_method_str((enum http_method)c->parser.method),
      .target = c->head.p,
      .headers = c->xhdrs,
      .header_count = c->nhdrs,
      .body = c->body.len > 0 ? c->body.p : NULL,
      .body_len = c->body.len,
      .request_id = c->rid,
      .client = c->client_name[0] != '\0' ? c->client_name : NULL,
      .client_slot = c->client_slot,
      .gen = c->gen,
  };
  c->x_active = true;
  struct qcc_exchange *x = qcc_exchange_start(c->env->proxy, &c->req, &sink_ops, c);
  if (!c->x_active) return; /* done() already ran inside start */
  if (x == NULL) {
    c->x_active = false;
    qcc_generation_unref(&c->gen);
    respond_error(c, 500, "api_error", "out of memory", true);
    log_access(c, NULL, 500, g->number);
    finish_queued(c);
    return;
  }
  c->x = x;
}

/* /qcc/: answered by the status page through the same sink as an exchange. */
static void start_page(struct qcc_client *c, struct qcc_generation *g) {
  c->gen = qcc_generation_ref(g);
  c->req = (struct qcc_request){
      .method = http_method_str((enum http_method)c->parser.method),
      .target = c->head.p,
      .headers = NULL,
      .header_count = c->nhdrs,
      .body = c->body.len > 0 ? c->body.p : NULL,
      .body_len = c->body.len,
      .request_id = c->rid,
      .gen = c->gen,
  };
  c->xhdrs = calloc(c->nhdrs != 0 ? c->nhdrs : 1, sizeof *c->xhdrs);
  if (c->xhdrs == NULL) {
    qcc_generation_unref(&c->gen);
    respond_error(c, 500, "api_error", "out of memory", true);
    log_access(c, NULL, 500, g->number);
    finish_queued(c);
    return;
  }
  for (size_t i = 0; i < c->nhdrs; i++)
    c->xhdrs[i] = (struct qcc_header){c->head.p + c->hdrs[i].name_off, c->hdrs[i].name_len,
                                      c->head.p + c->hdrs[i].value_off, c->hdrs[i].value_len};
  c->req.headers = c->xhdrs;
  c->x_active = true;
  struct qcc_page_call *pg = c->env->page_start(c->env->page, &c->req, &sink_ops, c);
  if (!c->x_active) return; /* answered inside start */
  if (pg == NULL) {
    c->x_active = false;
    qcc_generation_unref(&c->gen);
    respond_error(c, 500, "api_error", "out of memory", true);
    log_access(c, NULL, 500, g->number);
    finish_queued(c);
    return;
  }
  c->pg = pg;
}

static const char token_msg[] =
    "missing or invalid client token: send it as x-api-key or Authorization: Bearer";

static void dispatch(struct qcc_client *c) {
  c->state = CS_BUSY;
  stop_timer(c);
  ensure_rid(c);
  struct qcc_generation *g = qcc_tableset_current(c->env->tables);
  unsigned m = c->parser.method;
  if (c->parser.upgrade) c->keep_alive = false; /* we never switch protocols */

  if (c->route == ROUTE_HEALTHZ) {
    if (m != HTTP_GET && m != HTTP_HEAD) {
      respond_error(c, 405, NULL, "/healthz answers GET only", false);
    } else {
      char body[96];
      int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"generation\":%llu}",
                       (unsigned long long)g->number);
      respond(c, 200, body, (size_t)n, false);
    }
    log_access(c, NULL, c->resp_status, g->number);
    finish_queued(c);
    return;
  }
  if (c->route == ROUTE_PAGE) {
    start_page(c, g);
    return;
  }
  if (c->route == ROUTE_V1) {
    /* Checked when the head was complete; again only if a swap came since. */
    if (g->number != c->token_gen && !token_ok(c, g)) {
      respond_error(c, 401, NULL, token_msg, true);
      log_access(c, NULL, 401, g->number);
      finish_queued(c);
      return;
    }
    if (c->client_slot > 0 && budget_refused(c)) {
      log_access(c, NULL, 429, g->number);
      finish_queued(c);
      return;
    }
    start_exchange(c, g);
    return;
  }
  respond_error(c, 404, NULL, "not found: qcc-run forwards paths under /v1/ and answers /healthz",
                false);
  log_access(c, NULL, 404, g->number);
  finish_queued(c);
}

/* ---- parser callbacks --------------------------------------------------------- */

/* Stored head bytes plus the separators they stood for: close to the raw size. */
static bool head_too_big(struct qcc_client *c, size_t more) {
  return c->head.len + more + 4 * c->nhdrs + 16 > c->max_header;
}

static int head_add(struct qcc_client *c, const char *at, size_t len) {
  if (head_too_big(c, len) || buf_add(&c->head, at, len, c->max_header + 1024) != 0) {
    c->early_status = 431;
    c->early_msg = "request head too large";
    return -1;
  }
  return 0;
}

static int head_nul(struct qcc_client *c) { return head_add(c, "", 1); }

static int on_message_begin(http_parser *p) {
  struct qcc_client *c = p->data;
  c->in_msg = true;
  clock_gettime(CLOCK_MONOTONIC, &c->t0);
  qcc_request_id_next(c->rid);
  /* The whole head must arrive within header_timeout: counted from accept
   * for a connection's first request (its first byte gives no extension),
   * from the first byte for a later one (the idle time before it is
   * idle_timeout's). */
  if (!c->first_request) set_timer(c, c->header_timeout);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  struct qcc_client *c = p->data;
  if (!method_allowed(p->method)) {
    c->early_status = 501;
    c->early_msg = "method not implemented";
    return -1;
  }
  if (head_add(c, at, len) != 0) return -1;
  c->url_len += len;
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  struct qcc_client *c = p->data;
  if (c->hdr_state != 1) {
    if (head_nul(c) != 0) return -1; /* ends the url or the previous value */
    if (c->nhdrs == MAX_HEADERS) {
      c->early_status = 431;
      c->early_msg = "too many request headers";
      return -1;
    }
    if (c->nhdrs == c->hdr_cap) {
      /* Grow by doubling up to MAX_HEADERS: most requests carry about 10-20. */
      size_t ncap = c->hdr_cap != 0 ? c->hdr_cap * 2 : 32;
      if (ncap > MAX_HEADERS) ncap = MAX_HEADERS;
      struct hdr_ref *nh = realloc(c->hdrs, ncap * sizeof *nh);
      if (nh == NULL) {
        c->early_status = 500;
        c->early_msg = "out of memory";
        return -1;
      }
      c->hdrs = nh;
      c->hdr_cap = ncap;
    }
    c->hdrs[c->nhdrs] = (struct hdr_ref){.name_off = c->head.len};
    c->nhdrs++;
    c->hdr_state = 1;
  }
  if (head_add(c, at, len) != 0) return -1;
  c->hdrs[c->nhdrs - 1].name_len += len;
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  struct qcc_client *c = p->data;
  if (c->hdr_state != 2) {
    if (head_nul(c) != 0) return -1;
    c->hdrs[c->nhdrs - 1].value_off = c->head.len;
    c->hdr_state = 2;
  }
  if (head_add(c, at, len) != 0) return -1;
  c->hdrs[c->nhdrs - 1].value_len += len;
  return 0;
}

static bool header_is(const struct qcc_client *c, const struct hdr_ref *h, const char *name,
                      const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  return h->name_len == nl && strncasecmp(c->head.p + h->name_off, name, nl) == 0 &&
         h->value_len == vl && strncasecmp(c->head.p + h->value_off, value, vl) == 0;
}

static int early(struct qcc_client *c, int status, const char *msg) {
  c->early_status = status;
  c->early_msg = msg;
  return -1;
}

/* Normalise the target (reqpath.h) and route it as soon as the head is
 * complete: a request refused for its path or its token is refused before
 * any of its body is read (docs/inbound.md). The target is rewritten in
 * place to the normal form, which is what is forwarded. */
static int route_head(struct qcc_client *c) {
  char *url = c->head.p;
  size_t len = c->url_len;
  if (len > 0 && url[0] == '/' && qcc_reqpath_needs_work(url, len)) {
    char *norm = malloc(len + 1); /* rare: well-behaved clients send normal paths */
    if (norm == NULL) return early(c, 500, "out of memory");
    size_t nlen = 0;
    enum qcc_reqpath_status st = qcc_reqpath_check(url, len, norm, &nlen);
    if (st == QCC_REQPATH_OK) {
      memcpy(url, norm, nlen + 1); /* never longer than the original */
      c->url_len = len = nlen;
    }
    free(norm);
    if (st != QCC_REQPATH_OK) return early(c, 400, qcc_reqpath_reason(st));
  }
  const char *q = memchr(url, '?', len);
  size_t plen = q != NULL ? (size_t)(q - url) : len;
  c->route = ROUTE_NOT_FOUND;
  if (plen == 8 && memcmp(url, "/healthz", 8) == 0) {
    c->route = ROUTE_HEALTHZ;
  } else if (plen >= 4 && memcmp(url, "/v1/", 4) == 0) {
    c->route = ROUTE_V1;
    struct qcc_generation *g = qcc_tableset_current(c->env->tables);
    if (!token_ok(c, g)) return early(c, 401, token_msg);
    c->token_gen = g->number;
  } else if (c->env->page != NULL && c->env->page_owns(url, plen)) {
    c->route = ROUTE_PAGE; /* never forwarded, whatever the table says */
  }
  return 0;
}

static int on_headers_complete(http_parser *p) {
  struct qcc_client *c = p->data;
  if (head_nul(c) != 0) return -1; /* ends the url or the last value */
  c->headers_done = true;
  c->is_head = p->method == HTTP_HEAD;
  if (!method_allowed(p->method)) {
    c->early_status = 501;
    c->early_msg = "method not implemented";
    return -1;
  }
  /* Before the body limit, the 100-continue and any body byte. */
  if (route_head(c) != 0) return -1;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->max_body) {
    /* Refuse from the declared length, before reading any of the body. */
    c->early_status = 413;
    c->early_msg = "request body too large";
    return -1;
  }
  if (p->http_major == 1 && p->http_minor >= 1) {
    for (size_t i = 0; i < c->nhdrs; i++) {
      if (header_is(c, &c->hdrs[i], "expect", "100-continue")) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (out_add(c, cont, sizeof cont - 1) != 0) return -1;
        c->bytes_out = 0; /* the interim reply is not part of the response */
        flush_out(c);
        break;
      }
    }
  }
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > 0) {
    /* The declared length exactly (reset_request left the body empty): the
     * doubling of buf_reserve would hold up to twice it for the whole exchange. */
    if (c->body.cap == 0 && (c->body.p = malloc((size_t)p->content_length)) != NULL)
      c->body.cap = (size_t)p->content_length;
    if (buf_reserve(&c->body, (size_t)p->content_length, (size_t)c->max_body) != 0) {
      c->early_status = 500;
      c->early_msg = "out of memory";
      return -1;
    }
  }
  set_timer(c, c->idle_timeout); /* body: progress keeps it alive */
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  struct qcc_client *c = p->data;
  if (len > c->max_body || c->body.len > c->max_body - len) {
    c->early_status = 413;
    c->early_msg = "request body too large";
    return -1;
  }
  if (buf_add(&c->body, at, len, (size_t)c->max_body) != 0) {
    c->early_status = 500;
    c->early_msg = "out of memory";
    return -1;
  }
  set_timer(c, c->idle_timeout);
  return 0;
}

static int on_message_complete(http_parser *p) {
  struct qcc_client *c = p->data;
  c->msg_done = true;
  c->keep_alive = http_should_keep_alive(p) != 0;
  http_parser_pause(p, 1); /* one request at a time; the rest stays buffered */
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* A method token the parser does not know (501) versus plain garbage (400). */
static bool looks_like_method(const char *p, size_t len) {
  size_t i = 0;
  while (i < len && i < 24 && p[i] >= 'A' && p[i] <= 'Z') i++;
  return i > 0 && i < len && p[i] == ' ';
}

static void parse_failed(struct qcc_client *c, enum http_errno e, const char *start, size_t len) {
  if (c->early_status != 0) {
    fail_parse(c, c->early_status, c->early_msg);
  } else if (e == HPE_HEADER_OVERFLOW) {
    fail_parse(c, 431, "request head too large");
  } else if (e == HPE_INVALID_METHOD && looks_like_method(start, len)) {
    fail_parse(c, 501, "method not implemented");
  } else {
    fail_parse(c, 400, http_errno_description(e));
  }
}

/* Feed buffered input to the parser until it pauses on a complete request. */
static void process_input(struct qcc_client *c) {
  while (c->state == CS_READING && c->in.len > 0) {
    http_parser_set_max_header_size((uint32_t)c->max_header);
    size_t n = http_parser_execute(&c->parser, &parser_settings, c->in.p, c->in.len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e != HPE_OK && e != HPE_PAUSED) {
      parse_failed(c, e, c->in.p, c->in.len);
      return;
    }
    if (n > c->in.len) n = c->in.len;
    c->bytes_in += n;
    memmove(c->in.p, c->in.p + n, c->in.len - n);
    c->in.len -= n;
    if (c->msg_done) {
      /* Nothing pipelined: give the 16 KiB read buffer back while the request
       * is served (and while the connection then idles), so the exchange and
       * curl reuse it; holding it costs ~4.5 KiB RSS per open stream. */
      if (c->in.len == 0) buf_free(&c->in);
      dispatch(c);
      return;
    }
    if (e == HPE_OK && n == 0) break; /* nothing consumed: wait for more */
  }
}

static void close_quietly(struct qcc_client *c) { mark_dead(c); }

static void on_eof(struct qcc_client *c) {
  c->peer_eof = true;
  switch (c->state) {
  case CS_READING:
    if (c->in_msg) {
      http_parser_execute(&c->parser, &parser_settings, NULL, 0); /* lets it see the end */
      if (c->msg_done) {
        dispatch(c); /* a body delimited by EOF is not valid for requests, but be safe */
        return;
      }
    }
    close_quietly(c);
    return;
  case CS_BUSY:
    if (c->x_active) {
      close_quietly(c); /* the kick cancels the exchange at once */
      return;
    }
    ev_io_stop(c->env->loop, &c->rio); /* finish writing our reply, then close */
    return;
  case CS_LINGER:
  case CS_DEAD:
    close_quietly(c);
    return;
  }
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_client *c = w->data;
  char tmp[READ_CHUNK];
  if (c->tls_flush_on_read) { /* a TLS write was waiting for these bytes */
    c->tls_flush_on_read = false;
    if (flush_out(c) != 0) return;
    if (out_pending(c) == 0) flushed(c);
  }
  for (int rounds = 0; rounds < 4; rounds++) {
    if (c->state == CS_LINGER) {
      ssize_t n = conn_recv(c, tmp, sizeof tmp);
      if (n > 0) {
        c->linger_discarded += (uint64_t)n;
        if (c->linger_discarded > LINGER_DISCARD) close_quietly(c);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      close_quietly(c);
      return;
    }
    if (c->state == CS_DEAD) return;
    size_t room = IN_CAP + READ_CHUNK - c->in.len;
    if (c->state == CS_BUSY && c->in.len >= IN_CAP) {
      ev_io_stop(c->env->loop, &c->rio); /* pipelined input waits until we are done */
      return;
    }
    if (room > READ_CHUNK) room = READ_CHUNK;
    if (buf_reserve(&c->in, room, IN_CAP + READ_CHUNK) != 0) {
      close_quietly(c);
      return;
    }
    ssize_t n = conn_recv(c, c->in.p + c->in.len, room);
    if (n == 0) {
      on_eof(c);
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      close_quietly(c);
      return;
    }
    c->in.len += (size_t)n;
    if (c->state == CS_READING) process_input(c);
    if ((size_t)n < room && (c->ssl == NULL || !qcc_tls_pending(c->ssl))) return; /* drained */
  }
  /* more may be waiting: the socket says so by itself, OpenSSL's buffer not */
  if (c->ssl != NULL && c->state != CS_DEAD && qcc_tls_pending(c->ssl))
    ev_feed_event(c->env->loop, &c->rio, EV_READ);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_client *c = w->data;
  ev_timer_stop(c->env->loop, &c->timer);
  if (c->state == CS_READING && c->in_msg) {
    fail_parse(c, 408, "request timed out: the client sent too slowly");
    return;
  }
  close_quietly(c); /* idle keep-alive, write stall or end of linger */
}

static void teardown(struct qcc_client *c) {
  struct ev_loop *loop = c->env->loop;
  if (c->x_active && c->pg != NULL) {
    c->env->page_cancel(c->pg);
    c->pg = NULL;
    c->x_active = false;
  } else if (c->x_active) {
    qcc_exchange_cancel(&c->x);
    c->x_active = false;
    /* 499 as nginx logs it: the client closed before the response ended. */
    struct qcc_exchange_result res = {.status = 499, .failed = 1,
                                      .upstream_status = c->resp_head_sent ? c->resp_status : 0};
    log_access(c, &res, 499, c->gen != NULL ? c->gen->number : 0);
  }
  qcc_generation_unref(&c->gen);
  ev_io_stop(loop, &c->rio);
  ev_io_stop(loop, &c->wio);
  ev_timer_stop(loop, &c->timer);
  ev_timer_stop(loop, &c->kick);
  ev_prepare_stop(loop, &c->flush);
  qcc_tls_close(&c->ssl);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_client *c = w->data;
  if (c->state == CS_DEAD) {
    teardown(c);
    c->env->closed(c->env->ctx, c); /* the owner frees us: touch nothing after */
    return;
  }
  if (c->state == CS_BUSY && c->resp_done && !c->x_active) {
    if (flush_out(c) != 0) return;
    if (out_pending(c) == 0) response_flushed(c);
    return;
  }
  if (c->state == CS_READING) process_input(c);
}

int qcc_client_new(struct qcc_client_env *env, int fd, struct qcc_client **out) {
  *out = NULL;
  struct qcc_client *c = calloc(1, sizeof *c);
  if (c == NULL) return -1;
  c->env = env;
  c->fd = fd;
  if (env->tls != NULL && (c->ssl = qcc_tlsserver_wrap(env->tls, fd)) == NULL) {
    free(c);
    return -1;
  }
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  ev_io_init(&c->rio, read_cb, fd, EV_READ);
  ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
  ev_init(&c->timer, timer_cb);
  ev_init(&c->kick, kick_cb);
  ev_prepare_init(&c->flush, flush_cb);
  c->rio.data = c->wio.data = c->timer.data = c->kick.data = c->flush.data = c;
  reset_request(c);
  load_limits(c);
  c->state = CS_READING;
  c->first_request = true;
  ev_io_start(env->loop, &c->rio);
  set_timer(c, c->header_timeout); /* the first head must be complete by then */
  *out = c;
  return 0;
}

void qcc_client_free(struct qcc_client **pc) {
  if (pc == NULL || *pc == NULL) return;
  struct qcc_client *c = *pc;
  teardown(c);
  buf_free(&c->in);
  buf_free(&c->out);
  buf_free(&c->head);
  buf_free(&c->body);
  free(c->hdrs);
  free(c->xhdrs);
  free(c);
  *pc = NULL;
}

void qcc_client_drain(struct qcc_client *c) {
  if (c->state == CS_READING && !c->in_msg && c->in.len == 0) close_quietly(c);
  /* A status page event stream never ends by itself: end it now. */
  if (c->x_active && c->pg != NULL) close_quietly(c);
  /* Otherwise env->draining makes the current response the last one. */
}

bool qcc_client_busy(const struct qcc_client *c) { return c->x_active; }

void qcc_client_set_tag(struct qcc_client *c, void *tag) { c->tag = tag; }
void *qcc_client_tag(const struct qcc_client *c) { return c->tag; }
