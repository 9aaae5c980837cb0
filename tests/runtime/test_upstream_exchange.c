/* runtime/proxy.c end to end: a real libev loop drives the proxy against a
 * tiny upstream served from the same loop (127.0.0.1, ephemeral port), and a
 * fake sink records what the client side would see. Every wait is bounded. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/exchange.h"
#include "runtime/keystore.h"
#include "runtime/log.h"
#include "runtime/proxy.h"
#include "schema/enums.h"
#include "test_upstream_fixture.h"

/* ---- the tiny upstream ------------------------------------------------- */

#define UP_IN_CAP (256 * 1024)
#define BIG_LEN (2 * 1024 * 1024)
#define MEDIUM_LEN (96 * 1024)

struct up_server;

struct up_conn {
  struct up_server *srv;
  struct up_conn *next;
  int fd;
  ev_io rio, wio;
  char *in;
  size_t in_len;
  char *out;
  size_t out_len, out_off, out_cap;
  bool streaming;
};

struct up_server {
  struct ev_loop *loop;
  int lfd;
  ev_io lio;
  int port;
  int accepted;
  int requests;
  int peer_closed;
  char *last_req;
  size_t last_req_len;
  struct up_conn *stream; /* the connection answering /v1/stream */
  struct up_conn *held;   /* the first connection of .../v1/held, not answered */
  int held_count;
  struct up_conn *conns;
};

static void up_conn_close(struct up_conn *c) {
  struct up_conn **pp = &c->srv->conns;
  while (*pp != NULL && *pp != c) pp = &(*pp)->next;
  if (*pp == c) *pp = c->next;
  ev_io_stop(c->srv->loop, &c->rio);
  ev_io_stop(c->srv->loop, &c->wio);
  close(c->fd);
  if (c->srv->stream == c) c->srv->stream = NULL;
  if (c->srv->held == c) c->srv->held = NULL;
  free(c->in);
  free(c->out);
  free(c);
}

static void up_write_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  struct up_conn *c = w->data;
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      ev_io_stop(loop, &c->wio);
      return;
    }
    c->out_off += (size_t)n;
  }
  c->out_off = c->out_len = 0;
  ev_io_stop(loop, &c->wio);
}

static void up_send(struct up_conn *c, const char *data, size_t len) {
  if (c->out_len + len > c->out_cap) {
    size_t cap = (c->out_len + len) * 2;
    c->out = realloc(c->out, cap);
    cr_assert_not_null(c->out);
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
  ev_io_start(c->srv->loop, &c->wio);
}

static void up_sendf(struct up_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void up_sendf(struct up_conn *c, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  cr_assert(n > 0 && (size_t)n < sizeof buf);
  up_send(c, buf, (size_t)n);
}

/* Push one chunk of the streamed response (chunked encoding). */
static void up_chunk(struct up_server *s, const char *data) {
  cr_assert_not_null(s->stream, "no stream connection");
  up_sendf(s->stream, "%zx\r\n%s\r\n", strlen(data), data);
}

static void up_end(struct up_server *s) {
  cr_assert_not_null(s->stream);
  up_send(s->stream, "0\r\n\r\n", 5);
  s->stream->streaming = false;
  s->stream = NULL;
}

static void up_answer(struct up_conn *c, const char *path) {
  struct up_server *s = c->srv;
  if (strncmp(path, "/v1/echo", 8) == 0) {
    up_sendf(c,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n"
             "Keep-Alive: timeout=5\r\nX-Upstream: echo\r\nContent-Length: %zu\r\n\r\n",
             s->last_req_len);
    up_send(c, s->last_req, s->last_req_len);
  } else if (strstr(path, "/v1/held") != NULL && s->held_count++ == 0) {
    s->held = c; /* the first one: the test closes it when it likes */
  } else if (strcmp(path, "/v1/stream") == 0 || strstr(path, "/v1/held") != NULL) {
    up_sendf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                "Transfer-Encoding: chunked\r\nrequest-id: req_up\r\n\r\n");
    c->streaming = true;
    s->stream = c;
  } else if (strcmp(path, "/v1/big") == 0) {
    up_sendf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_LEN);
    char *b = malloc(BIG_LEN);
    cr_assert_not_null(b);
    for (size_t i = 0; i < BIG_LEN; i++) b[i] = (char)(i % 251);
    up_send(c, b, BIG_LEN);
    free(b);
  } else if (strcmp(path, "/v1/early-hints") == 0) {
    up_sendf(c, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                "HTTP/1.1 529 Overloaded\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nno");
  } else if (strcmp(path, "/v1/medium") == 0) {
    static char m[MEDIUM_LEN];
    for (size_t i = 0; i < MEDIUM_LEN; i++) m[i] = (char)('a' + i % 26);
    up_sendf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", MEDIUM_LEN);
    up_send(c, m, MEDIUM_LEN);
  } else if (strcmp(path, "/v1/empty") == 0) {
    up_sendf(c, "HTTP/1.1 204 No Content\r\nX-Empty: 1\r\n\r\n");
  } else if (strcmp(path, "/v1/err200") == 0) {
    static const char e[] = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                            "\"message\":\"Overloaded\"}}";
    up_sendf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             sizeof e - 1, e);
  } else if (strcmp(path, "/v1/hang") == 0) {
    /* never answer */
  } else {
    up_sendf(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  }
}

/* A whole request is in: head + Content-Length body. */
static void up_try_request(struct up_conn *c) {
  char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
  if (end == NULL) return;
  size_t head = (size_t)(end - c->in) + 4;
  size_t clen = 0;
  char *cl = strcasestr(c->in, "\r\ncontent-length:");
  if (cl != NULL && cl < end) clen = strtoul(cl + 17, NULL, 10);
  if (c->in_len < head + clen) return;
  struct up_server *s = c->srv;
  free(s->last_req);
  s->last_req = malloc(head + clen + 1);
  cr_assert_not_null(s->last_req);
  memcpy(s->last_req, c->in, head + clen);
  s->last_req[head + clen] = '\0';
  s->last_req_len = head + clen;
  s->requests++;
  char method[16], path[256];
  cr_assert_eq(sscanf(c->in, "%15s %255s", method, path), 2);
  memmove(c->in, c->in + head + clen, c->in_len - head - clen);
  c->in_len -= head + clen;
  up_answer(c, path);
}

static void up_read_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  (void)revents;
  struct up_conn *c = w->data;
  for (;;) {
    if (c->in_len + 1 >= UP_IN_CAP) break;
    ssize_t n = read(c->fd, c->in + c->in_len, UP_IN_CAP - 1 - c->in_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      c->srv->peer_closed++;
      up_conn_close(c);
      return;
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = '\0';
  }
  up_try_request(c);
}

static void up_accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  struct up_server *s = w->data;
  int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  struct up_conn *c = calloc(1, sizeof *c);
  cr_assert_not_null(c);
  c->in = malloc(UP_IN_CAP);
  cr_assert_not_null(c->in);
  c->srv = s;
  c->fd = fd;
  ev_io_init(&c->rio, up_read_cb, fd, EV_READ);
  ev_io_init(&c->wio, up_write_cb, fd, EV_WRITE);
  c->rio.data = c->wio.data = c;
  ev_io_start(loop, &c->rio);
  c->next = s->conns;
  s->conns = c;
  s->accepted++;
}

static int listen_any(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static void up_start(struct up_server *s, struct ev_loop *loop) {
  memset(s, 0, sizeof *s);
  s->loop = loop;
  s->lfd = listen_any(&s->port);
  cr_assert_eq(listen(s->lfd, 64), 0);
  ev_io_init(&s->lio, up_accept_cb, s->lfd, EV_READ);
  s->lio.data = s;
  ev_io_start(loop, &s->lio);
}

static void up_stop(struct up_server *s) {
  while (s->conns != NULL) up_conn_close(s->conns);
  ev_io_stop(s->loop, &s->lio);
  close(s->lfd);
  free(s->last_req);
}

/* A port nothing listens on: bound then closed. */
static int dead_port(void) {
  int port = 0;
  int fd = listen_any(&port);
  close(fd);
  return port;
}

/* ---- the fake sink ----------------------------------------------------- */

struct sink {
  int heads, dones;
  int status;
  int64_t clen;
  char hdrs[8192]; /* "name: value\n" as handed to head() */
  char *body;
  size_t len, cap;
  int chunks;
  size_t pause_after; /* return 1 when this many bytes came since resume */
  size_t since_resume;
  bool paused;
  int pauses;
  size_t bytes_while_paused;
  bool cancel_in_body;
  bool cancel_in_head;
  /* start this request on the proxy from inside body() (once) */
  struct qcc_proxy *start_proxy;
  const struct qcc_request *start_req;
  struct sink *start_sink;
  struct qcc_exchange *started;
  struct qcc_exchange **xp;
  struct qcc_exchange_result res;
  char err_type[64], err_msg[512], endpoint[64];
};

static const struct qcc_sink_ops sink_ops;

static void sk_head(void *ctx, int status, const struct qcc_header *h, size_t n, int64_t clen) {
  struct sink *s = ctx;
  s->heads++;
  s->status = status;
  s->clen = clen;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    int w = snprintf(s->hdrs + at, sizeof s->hdrs - at, "%.*s: %.*s\n", (int)h[i].name_len,
                     h[i].name, (int)h[i].value_len, h[i].value);
    cr_assert(w > 0 && (size_t)w < sizeof s->hdrs - at);
    at += (size_t)w;
  }
  if (s->cancel_in_head) qcc_exchange_cancel(s->xp);
}

static int sk_body(void *ctx, const char *data, size_t len) {
  struct sink *s = ctx;
  cr_assert_eq(s->heads, 1, "body before head");
  if (s->paused) s->bytes_while_paused += len;
  if (s->len + len + 1 > s->cap) {
    s->cap = (s->len + len + 1) * 2;
    s->body = realloc(s->body, s->cap);
    cr_assert_not_null(s->body);
  }
  memcpy(s->body + s->len, data, len);
  s->len += len;
  s->body[s->len] = '\0';
  s->chunks++;
  if (s->cancel_in_body) {
    qcc_exchange_cancel(s->xp);
    return 0;
  }
  if (s->start_proxy != NULL && s->started == NULL)
    s->started = qcc_exchange_start(s->start_proxy, s->start_req, &sink_ops, s->start_sink);
  s->since_resume += len;
  if (s->pause_after > 0 && s->since_resume >= s->pause_after) {
    s->paused = true;
    s->pauses++;
    return 1;
  }
  return 0;
}

static void sk_done(void *ctx, const struct qcc_exchange_result *res) {
  struct sink *s = ctx;
  s->dones++;
  s->res = *res;
  if (res->error_type != NULL) snprintf(s->err_type, sizeof s->err_type, "%s", res->error_type);
  if (res->error_message != NULL)
    snprintf(s->err_msg, sizeof s->err_msg, "%s", res->error_message);
  if (res->endpoint_id != NULL) snprintf(s->endpoint, sizeof s->endpoint, "%s", res->endpoint_id);
  s->res.error_type = s->res.error_message = s->res.endpoint_id = NULL;
  if (s->xp != NULL) *s->xp = NULL;
}

static const struct qcc_sink_ops sink_ops = {sk_head, sk_body, sk_done};

/* ---- harness ----------------------------------------------------------- */

struct harness {
  struct ev_loop *loop;
  struct up_server up;
  struct fx_table t;
  struct qcc_generation gen;
  struct qcc_proxy *proxy;
  ev_timer tick;
};

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)w;
  (void)revents;
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop until *FLAG becomes true or SECS pass. */
#define RUN_UNTIL(h, cond, secs)                                  \
  do {                                                            \
    double until_ = mono() + (secs);                              \
    while (!(cond) && mono() < until_) ev_run((h)->loop, EVRUN_ONCE); \
  } while (0)

static void run_for(struct harness *h, double secs) {
  double until = mono() + secs;
  while (mono() < until) ev_run(h->loop, EVRUN_ONCE);
}

static void harness_close(struct harness *h) {
  qcc_proxy_free(&h->proxy);
  cr_expect_null(h->proxy);
  qcc_keystore_free(&h->gen.keys);
  fx_table_free(&h->t);
  ev_timer_stop(h->loop, &h->tick);
  up_stop(&h->up);
  ev_loop_destroy(h->loop);
}

static char base_url[64];

static const char *up_url(int port) {
  snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
  return base_url;
}

#define HDR(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static void request(struct qcc_request *r, struct harness *h, const char *method,
                    const char *target, const struct qcc_header *hd, size_t n, const char *body) {
  memset(r, 0, sizeof *r);
  r->method = method;
  r->target = target;
  r->headers = hd;
  r->header_count = n;
  r->body = body;
  r->body_len = body != NULL ? strlen(body) : 0;
  r->request_id = "req-test";
  r->gen = &h->gen;
}

static const char *const models[] = {"claude-sonnet-4-5", "glm-4.6", NULL};

/* Build a harness whose one endpoint points at a fresh upstream. */
static void open_one(struct harness *h, uint8_t auth, uint8_t kind, const char *keyval,
                     uint32_t timeout_ms, int port_override, const char *const *maps) {
  memset(h, 0, sizeof *h);
  h->loop = ev_loop_new(EVFLAG_AUTO);
  cr_assert_not_null(h->loop);
  ev_timer_init(&h->tick, tick_cb, 0.01, 0.01);
  ev_timer_start(h->loop, &h->tick);
  up_start(&h->up, h->loop);
  int port = port_override > 0 ? port_override : h->up.port;
  struct fx_endpoint ep[] = {{"up-1", up_url(port), kind, keyval, auth, 1, timeout_ms, maps}};
  struct fx_profile pr = {"main", QCC_GROUP_PRIMARY, 1, ep, 1};
  fx_table_build(&h->t, &pr, 1, NULL, 0);
  h->gen.table = h->t.table;
  h->gen.refs = 1;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(h->t.table, &h->gen.keys, &err), 0);
  cr_assert_eq(qcc_proxy_new(h->loop, &h->proxy, &err), 0);
}

static void close_one(struct harness *h) { harness_close(h); }

/* One endpoint with all three timeouts of an exchange set (milliseconds). */
static void open_timeouts(struct harness *h, uint32_t timeout_ms, uint32_t request_ms,
                          uint32_t idle_ms) {
  memset(h, 0, sizeof *h);
  h->loop = ev_loop_new(EVFLAG_AUTO);
  cr_assert_not_null(h->loop);
  ev_timer_init(&h->tick, tick_cb, 0.01, 0.01);
  ev_timer_start(h->loop, &h->tick);
  up_start(&h->up, h->loop);
  struct fx_endpoint ep[] = {{.id = "up-1", .base_url = up_url(h->up.port),
                              .key_kind = QCC_KEY_LITERAL, .key_value = "k",
                              .auth = QCC_AUTH_X_API_KEY, .enabled = 1, .timeout_ms = timeout_ms,
                              .request_timeout_ms = request_ms,
                              .stream_idle_timeout_ms = idle_ms}};
  struct fx_profile pr = {"main", QCC_GROUP_PRIMARY, 1, ep, 1};
  fx_table_build(&h->t, &pr, 1, NULL, 0);
  h->gen.table = h->t.table;
  h->gen.refs = 1;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(h->t.table, &h->gen.keys, &err), 0);
  cr_assert_eq(qcc_proxy_new(h->loop, &h->proxy, &err), 0);
}

/* Two endpoints of one profile on one upstream: "up-1" (under /a), "up-2"
 * (under /b), both with TIMEOUT_MS. */
static void open_two(struct harness *h, uint32_t timeout_ms) {
  memset(h, 0, sizeof *h);
  h->loop = ev_loop_new(EVFLAG_AUTO);
  cr_assert_not_null(h->loop);
  ev_timer_init(&h->tick, tick_cb, 0.01, 0.01);
  ev_timer_start(h->loop, &h->tick);
  up_start(&h->up, h->loop);
  static char a[80], b[80];
  snprintf(a, sizeof a, "http://127.0.0.1:%d/a", h->up.port);
  snprintf(b, sizeof b, "http://127.0.0.1:%d/b", h->up.port);
  struct fx_endpoint e1[] = {{"up-1", a, QCC_KEY_LITERAL, "k", QCC_AUTH_X_API_KEY, 1, timeout_ms,
                              NULL}};
  struct fx_endpoint e2[] = {{"up-2", b, QCC_KEY_LITERAL, "k", QCC_AUTH_X_API_KEY, 1, timeout_ms,
                              NULL}};
  struct fx_endpoint e[] = {e1[0], e2[0]};
  struct fx_profile pr[] = {{"main", QCC_GROUP_PRIMARY, 1, e, 2}};
  fx_table_build(&h->t, pr, 1, NULL, 0);
  h->gen.table = h->t.table;
  h->gen.refs = 1;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(h->t.table, &h->gen.keys, &err), 0);
  cr_assert_eq(qcc_proxy_new(h->loop, &h->proxy, &err), 0);
}

/* ---- tests ------------------------------------------------------------- */

Test(upstream_exchange, forwards_with_endpoint_key_and_filtered_headers) {
  setenv("QCC_TEST_UP_KEY", "sk-up-secret-1", 1);
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_ENV, "QCC_TEST_UP_KEY", 5000, 0, models);

  struct qcc_header hd[] = {
      HDR("Host", "127.0.0.1:7860"),
      HDR("x-api-key", "client-secret-xyz"),
      HDR("Authorization", "Bearer client-token-xyz"),
      HDR("anthropic-version", "2023-06-01"),
      HDR("anthropic-beta", "fine-grained-tool-streaming-2025-05-14"),
      HDR("Connection", "keep-alive, X-Hop"),
      HDR("X-Hop", "drop-me"),
      HDR("Expect", "100-continue"),
      HDR("Content-Type", "application/json"),
      HDR("Content-Length", "58"),
      HDR("User-Agent", "claude-cli/2.0"),
  };
  const char *body = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1,\"stream\":false}";
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/echo?beta=true", hd, sizeof hd / sizeof hd[0], body);
  struct sink s = {0};
  struct qcc_exchange *x = qcc_exchange_start(h.proxy, &r, &sink_ops, &s);
  cr_assert_not_null(x);
  cr_expect_eq(qcc_proxy_active(h.proxy), 1);
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  cr_assert_eq(s.dones, 1);
  cr_assert_eq(s.heads, 1);
  cr_expect_eq(s.status, 200);
  cr_expect_eq(s.res.failed, 0);
  cr_expect_eq(s.res.upstream_status, 200);
  cr_expect_str_eq(s.endpoint, "up-1");
  cr_expect_eq(qcc_proxy_active(h.proxy), 0);
  /* what the upstream saw */
  const char *seen = h.up.last_req;
  cr_assert_not_null(seen);
  cr_expect(strncmp(seen, "POST /v1/echo?beta=true HTTP/1.1\r\n", 34) == 0, "%s", seen);
  cr_expect(strstr(seen, "\r\nx-api-key: sk-up-secret-1\r\n") != NULL, "%s", seen);
  cr_expect(strstr(seen, "client-secret-xyz") == NULL, "client key leaked upstream");
  cr_expect(strstr(seen, "client-token-xyz") == NULL, "client token leaked upstream");
  cr_expect(strcasestr(seen, "authorization") == NULL);
  cr_expect(strstr(seen, "\r\nanthropic-version: 2023-06-01\r\n") != NULL);
  cr_expect(strstr(seen, "\r\nanthropic-beta: fine-grained-tool-streaming-2025-05-14\r\n") != NULL);
  cr_expect(strstr(seen, "\r\nUser-Agent: claude-cli/2.0\r\n") != NULL);
  cr_expect(strcasestr(seen, "x-hop") == NULL);
  cr_expect(strcasestr(seen, "expect") == NULL);
  cr_expect(strcasestr(seen, "\r\naccept:") == NULL, "curl's default Accept was sent");
  cr_expect(strcasestr(seen, "\r\nconnection:") == NULL);
  cr_expect(strcasestr(seen, "Host: 127.0.0.1:") != NULL);
  /* model mapped, body otherwise identical, length recomputed */
  const char *want = "{\"model\":\"glm-4.6\",\"max_tokens\":1,\"stream\":false}";
  char *b = strstr(seen, "\r\n\r\n");
  cr_assert_not_null(b);
  cr_expect_str_eq(b + 4, want);
  char cl[64];
  snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", strlen(want));
  cr_expect(strstr(seen, cl) != NULL, "%s", seen);
  cr_expect_eq(s.res.bytes_up, strlen(want));
  /* what came back */
  cr_expect_eq(s.len, h.up.last_req_len);
  cr_expect_eq(s.res.bytes_down, s.len);
  cr_expect_eq(s.clen, (int64_t)s.len);
  cr_expect(strstr(s.hdrs, "X-Upstream: echo\n") != NULL, "%s", s.hdrs);
  cr_expect(strstr(s.hdrs, "Content-Type: text/plain\n") != NULL);
  cr_expect(strcasestr(s.hdrs, "keep-alive") == NULL, "%s", s.hdrs);
  cr_expect(strcasestr(s.hdrs, "connection") == NULL);
  cr_expect(strcasestr(s.hdrs, "content-length") == NULL);

  /* a second exchange reuses the upstream connection */
  struct sink s2 = {0};
  x = qcc_exchange_start(h.proxy, &r, &sink_ops, &s2);
  cr_assert_not_null(x);
  RUN_UNTIL(&h, s2.dones > 0, 5.0);
  cr_expect_eq(s2.status, 200);
  cr_expect_eq(h.up.requests, 2);
  cr_expect_eq(h.up.accepted, 1, "connection not reused");
  free(s.body);
  free(s2.body);
  close_one(&h);
}

Test(upstream_exchange, bearer_endpoint_gets_authorization_header) {
  struct harness h;
  open_one(&h, QCC_AUTH_BEARER, QCC_KEY_LITERAL, "sk-bearer-2", 5000, 0, NULL);
  struct qcc_header hd[] = {HDR("x-api-key", "client-secret-xyz")};
  struct qcc_request r;
  request(&r, &h, "GET", "/v1/echo/models", hd, 1, NULL);
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  cr_assert_eq(s.dones, 1);
  const char *seen = h.up.last_req;
  cr_assert_not_null(seen);
  cr_expect(strncmp(seen, "GET /v1/echo/models HTTP/1.1\r\n", 30) == 0, "%s", seen);
  cr_expect(strstr(seen, "\r\nAuthorization: Bearer sk-bearer-2\r\n") != NULL, "%s", seen);
  cr_expect(strstr(seen, "client-secret-xyz") == NULL);
  cr_expect(strcasestr(seen, "x-api-key") == NULL);
  cr_expect(strcasestr(seen, "content-length") == NULL, "GET sent a body");
  free(s.body);
  close_one(&h);
}

#define DELTA "event: content_block_delta\ndata: {}\n\n"

static bool body_has(const struct sink *s, const char *what) {
  return s->body != NULL && strstr(s->body, what) != NULL;
}

Test(upstream_exchange, streaming_chunks_arrive_in_order_unbuffered) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  cr_assert_not_null(h.up.stream);
  const char *ev[] = {"event: message_start\ndata: {}\n\n", "event: ping\ndata: {}\n\n",
                      "event: content_block_delta\ndata: {\"t\":\"a\"}\n\n",
                      "event: message_stop\ndata: {}\n\n"};
  char all[512] = "";
  /* the events before the first content are held (a failure there can
   * still go elsewhere), then go with it, in order */
  up_chunk(&h.up, ev[0]);
  up_chunk(&h.up, ev[1]);
  run_for(&h, 0.1);
  cr_expect_eq(s.heads, 0, "head passed on before any content");
  cr_expect_eq(s.len, 0, "events passed on before any content");
  for (size_t i = 2; i < 4; i++) {
    /* the next event is only sent once the previous reached the sink: any
     * buffering in the proxy would stall here and fail the test */
    up_chunk(&h.up, ev[i]);
    RUN_UNTIL(&h, body_has(&s, ev[i]), 3.0);
    cr_assert(body_has(&s, ev[i]), "event %zu did not arrive", i);
    cr_expect_eq(s.dones, 0);
  }
  for (size_t i = 0; i < 4; i++) strncat(all, ev[i], sizeof all - strlen(all) - 1);
  cr_expect_eq(s.heads, 1);
  cr_expect_eq(s.clen, -1);
  cr_expect(strstr(s.hdrs, "request-id: req_up\n") != NULL);
  cr_expect(strcasestr(s.hdrs, "transfer-encoding") == NULL);
  up_end(&h.up);
  RUN_UNTIL(&h, s.dones > 0, 3.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_str_eq(s.body, all);
  cr_expect_eq(s.res.failed, 0);
  cr_expect(s.chunks >= 2);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, pause_and_resume_deliver_every_byte_once) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "GET", "/v1/big", NULL, 0, NULL);
  struct sink s = {0};
  s.pause_after = 64 * 1024;
  struct qcc_exchange *x = qcc_exchange_start(h.proxy, &r, &sink_ops, &s);
  cr_assert_not_null(x);
  s.xp = &x;
  for (int rounds = 0; rounds < 1000 && s.dones == 0; rounds++) {
    RUN_UNTIL(&h, s.paused || s.dones > 0, 3.0);
    if (s.dones > 0) break;
    cr_assert(s.paused, "neither paused nor done");
    size_t before = s.len;
    if (rounds < 3) {
      run_for(&h, 0.05);
      cr_expect_eq(s.len, before, "body delivered while paused");
    }
    s.paused = false;
    s.since_resume = 0;
    qcc_exchange_resume(x);
  }
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.res.failed, 0);
  cr_assert_eq(s.len, BIG_LEN);
  cr_expect_eq(s.clen, BIG_LEN);
  bool same = true;
  for (size_t i = 0; i < BIG_LEN && same; i++) same = s.body[i] == (char)(i % 251);
  cr_expect(same, "body bytes differ");
  cr_expect(s.pauses >= 10, "only %d pauses", s.pauses);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, cancel_stops_the_upstream_transfer) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{}");
  struct sink s = {0};
  struct qcc_exchange *x = qcc_exchange_start(h.proxy, &r, &sink_ops, &s);
  cr_assert_not_null(x);
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  up_chunk(&h.up, DELTA);
  RUN_UNTIL(&h, s.len > 0, 3.0);
  cr_assert(s.len > 0);
  qcc_exchange_cancel(&x);
  cr_expect_null(x);
  cr_expect_eq(qcc_proxy_active(h.proxy), 0);
  RUN_UNTIL(&h, h.up.peer_closed > 0, 3.0);
  cr_expect_eq(h.up.peer_closed, 1, "upstream connection not closed by the cancel");
  run_for(&h, 0.05);
  cr_expect_eq(s.dones, 0, "done() after cancel");
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, cancel_from_inside_body_callback) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{}");
  struct sink s = {0};
  struct qcc_exchange *x = qcc_exchange_start(h.proxy, &r, &sink_ops, &s);
  cr_assert_not_null(x);
  s.xp = &x;
  s.cancel_in_body = true;
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  up_chunk(&h.up, DELTA);
  RUN_UNTIL(&h, h.up.peer_closed > 0, 3.0);
  cr_expect_eq(h.up.peer_closed, 1);
  cr_expect_null(x);
  cr_expect_eq(s.chunks, 1);
  cr_expect_eq(qcc_proxy_active(h.proxy), 0);
  run_for(&h, 0.05);
  cr_expect_eq(s.dones, 0);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, connect_refused_is_502_naming_the_endpoint) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "sk-never-shown", 5000, dead_port(), NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/messages", NULL, 0, "{}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 0);
  cr_expect_eq(s.res.status, 502);
  cr_expect_eq(s.res.upstream_status, 0);
  cr_expect_eq(s.res.failed, 1);
  cr_expect_str_eq(s.err_type, "api_error");
  cr_expect(strstr(s.err_msg, "up-1") != NULL, "%s", s.err_msg);
  cr_expect(strstr(s.err_msg, "sk-never-shown") == NULL);
  close_one(&h);
}

Test(upstream_exchange, no_response_head_in_time_is_504) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 200, 0, NULL);
  struct qcc_request r;
  /* `timeout` is a streamed request's (a non-streamed one has request_timeout) */
  request(&r, &h, "POST", "/v1/hang", NULL, 0, "{\"stream\": true}");
  struct sink s = {0};
  double t0 = mono();
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  double took = mono() - t0;
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 0);
  cr_expect_eq(s.res.status, 504);
  cr_expect_str_eq(s.err_type, "timeout_error");
  cr_expect(strstr(s.err_msg, "up-1") != NULL);
  cr_expect(took >= 0.15 && took < 4.0, "took %.3f s", took);
  cr_expect_eq(qcc_proxy_active(h.proxy), 0);
  close_one(&h);
}

Test(upstream_exchange, interim_1xx_skipped_and_error_status_passed) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "GET", "/v1/early-hints", NULL, 0, NULL);
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.status, 529);
  cr_expect_eq(s.res.upstream_status, 529);
  cr_expect(strstr(s.hdrs, "X-Final: yes\n") != NULL, "%s", s.hdrs);
  cr_expect(strstr(s.hdrs, "Link") == NULL, "1xx headers leaked: %s", s.hdrs);
  cr_expect_str_eq(s.body, "no");
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, no_available_endpoint_is_503_after_start_returns) {
  unsetenv("QCC_TEST_UP_MISSING");
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_ENV, "QCC_TEST_UP_MISSING", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/messages", NULL, 0, "{}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  cr_expect_eq(s.dones, 0, "done() called from inside start");
  RUN_UNTIL(&h, s.dones > 0, 2.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.res.status, 503);
  cr_expect_str_eq(s.err_type, "overloaded_error");
  cr_expect(strstr(s.err_msg, "up-1") != NULL, "%s", s.err_msg);
  cr_expect(strstr(s.err_msg, "QCC_TEST_UP_MISSING") != NULL, "%s", s.err_msg);
  cr_expect_eq(h.up.accepted, 0);
  close_one(&h);
}

Test(upstream_exchange, no_body_response_head_at_completion_and_cancel_in_head) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "DELETE", "/v1/empty", NULL, 0, NULL);
  struct sink s = {0};
  struct qcc_exchange *x = qcc_exchange_start(h.proxy, &r, &sink_ops, &s);
  cr_assert_not_null(x);
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 1);
  cr_expect_eq(s.status, 204);
  cr_expect_eq(s.clen, 0);
  cr_expect(strstr(s.hdrs, "X-Empty: 1\n") != NULL);
  cr_expect(strncmp(h.up.last_req, "DELETE /v1/empty HTTP/1.1\r\n", 27) == 0, "%s", h.up.last_req);
  /* the client breaks while its head is written: cancel inside head() */
  struct sink s2 = {0};
  x = qcc_exchange_start(h.proxy, &r, &sink_ops, &s2);
  cr_assert_not_null(x);
  s2.xp = &x;
  s2.cancel_in_head = true;
  RUN_UNTIL(&h, s2.heads > 0, 5.0);
  cr_assert_eq(s2.heads, 1);
  run_for(&h, 0.05);
  cr_expect_eq(s2.dones, 0, "done() after a cancel in head()");
  cr_expect_null(x);
  cr_expect_eq(qcc_proxy_active(h.proxy), 0);
  close_one(&h);
}

Test(upstream_exchange, start_from_inside_a_sink_callback) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r1, r2;
  request(&r1, &h, "POST", "/v1/stream", NULL, 0, "{}");
  request(&r2, &h, "GET", "/v1/echo", NULL, 0, NULL);
  struct sink s1 = {0}, s2 = {0};
  s1.start_proxy = h.proxy;
  s1.start_req = &r2;
  s1.start_sink = &s2;
  struct qcc_exchange *x = qcc_exchange_start(h.proxy, &r1, &sink_ops, &s1);
  cr_assert_not_null(x);
  s1.xp = &x;
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  cr_assert_not_null(h.up.stream);
  up_chunk(&h.up, DELTA);
  RUN_UNTIL(&h, s2.dones > 0, 5.0);
  cr_assert_not_null(s1.started);
  cr_assert_eq(s2.dones, 1);
  cr_expect_eq(s2.status, 200);
  cr_expect_eq(s2.res.failed, 0);
  up_end(&h.up);
  RUN_UNTIL(&h, s1.dones > 0, 5.0);
  cr_expect_eq(s1.dones, 1);
  cr_expect_eq(qcc_proxy_active(h.proxy), 0);
  free(s1.body);
  free(s2.body);
  close_one(&h);
}

Test(upstream_exchange, keys_never_reach_the_log) {
  char path[] = "/tmp/qcc-upstream-log-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert_eq(qcc_log_open(path), 0);
  qcc_log_set_level(QCC_LOG_DEBUG);
  setenv("QCC_TEST_UP_SECRET", "sk-secret-in-env-123", 1);
  struct harness h;
  open_one(&h, QCC_AUTH_BEARER, QCC_KEY_ENV, "QCC_TEST_UP_SECRET", 200, 0, NULL);
  const char *targets[] = {"/v1/hang", "/v1/echo?x-api-key=q"};
  for (size_t i = 0; i < 2; i++) {
    struct qcc_header hd[] = {HDR("x-api-key", "sk-client-secret-456"),
                              HDR("Authorization", "Bearer sk-client-secret-789")};
    struct qcc_request r;
    request(&r, &h, "POST", targets[i], hd, 2, "{\"stream\":true}");
    struct sink s = {0};
    cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
    RUN_UNTIL(&h, s.dones > 0, 5.0);
    cr_assert_eq(s.dones, 1);
    cr_expect(strstr(s.err_msg, "sk-") == NULL, "%s", s.err_msg);
    free(s.body);
  }
  close_one(&h);
  /* and a refused connection */
  open_one(&h, QCC_AUTH_BEARER, QCC_KEY_ENV, "QCC_TEST_UP_SECRET", 200, dead_port(), NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/messages", NULL, 0, "{}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  cr_assert_eq(s.dones, 1);
  close_one(&h);
  qcc_log_open(NULL);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  unlink(path);
  buf[n] = '\0';
  cr_expect(n > 0, "nothing was logged");
  cr_expect(strstr(buf, "up-1") != NULL, "%s", buf);
  cr_expect(strstr(buf, "sk-") == NULL, "a key reached the log: %s", buf);
}

Test(upstream_exchange, upstream_dying_mid_stream_is_a_failed_done) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  cr_assert_not_null(h.up.stream);
  up_chunk(&h.up, DELTA);
  RUN_UNTIL(&h, s.len > 0, 3.0);
  cr_assert(s.len > 0);
  up_conn_close(h.up.stream); /* the upstream goes away mid-body */
  RUN_UNTIL(&h, s.dones > 0, 3.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 1);
  cr_expect_eq(s.res.failed, 1);
  cr_expect_eq(s.res.status, 200, "the status already sent stays");
  cr_expect(strstr(s.err_msg, "up-1") != NULL, "%s", s.err_msg);
  cr_expect_str_eq(s.body, DELTA);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, head_then_nothing_is_a_timeout_not_a_silent_hold) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 300, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{\"stream\":true}");
  struct sink s = {0};
  double t0 = mono();
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  double took = mono() - t0;
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 0, "a head without a body is not an answer");
  cr_expect_eq(s.res.status, 504);
  cr_expect(strstr(s.err_msg, "no response body") != NULL, "%s", s.err_msg);
  cr_expect(took >= 0.25 && took < 4.0, "took %.3f s", took);
  close_one(&h);
}

Test(upstream_exchange, held_events_then_silence_go_on_at_the_timeout) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 300, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{\"stream\":true}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  up_chunk(&h.up, "event: message_start\ndata: {}\n\n");
  /* a live stream slow to its first content: not cut, the hold ends */
  RUN_UNTIL(&h, s.heads > 0, 3.0);
  cr_expect_eq(s.heads, 1);
  cr_expect(body_has(&s, "message_start"));
  up_chunk(&h.up, DELTA);
  RUN_UNTIL(&h, body_has(&s, "content_block_delta"), 3.0);
  up_end(&h.up);
  RUN_UNTIL(&h, s.dones > 0, 3.0);
  cr_expect_eq(s.res.failed, 0);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, reset_before_content_is_an_error_not_a_broken_stream) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{\"stream\":true}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  up_chunk(&h.up, "event: message_start\ndata: {}\n\n");
  run_for(&h, 0.05);
  up_conn_close(h.up.stream);
  RUN_UNTIL(&h, s.dones > 0, 3.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 0, "nothing of the broken stream reached the client");
  cr_expect_eq(s.res.status, 502);
  cr_expect_eq(s.res.failed, 1);
  close_one(&h);
}

Test(upstream_exchange, stream_ending_before_content_is_an_error) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{\"stream\":true}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  up_chunk(&h.up, "event: message_start\ndata: {}\n\n");
  up_end(&h.up);
  RUN_UNTIL(&h, s.dones > 0, 3.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 0);
  cr_expect_eq(s.res.status, 502);
  cr_expect(strstr(s.err_msg, "before any content") != NULL, "%s", s.err_msg);
  close_one(&h);
}

Test(upstream_exchange, error_event_with_nowhere_else_to_go_passes_on) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{\"stream\":true}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  const char *err = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                    "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
  up_chunk(&h.up, "event: message_start\ndata: {}\n\n");
  up_chunk(&h.up, err);
  RUN_UNTIL(&h, body_has(&s, "overloaded_error"), 3.0);
  cr_expect_eq(s.heads, 1);
  cr_expect(body_has(&s, "message_start"));
  up_end(&h.up);
  RUN_UNTIL(&h, s.dones > 0, 3.0);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, json_200_error_object_is_an_error) {
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/err200", NULL, 0, "{}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 0, "the disguised error was passed on as a success");
  cr_expect_eq(s.res.status, 529);
  cr_expect_str_eq(s.err_type, "overloaded_error");
  cr_expect(strstr(s.err_msg, "Overloaded") != NULL, "%s", s.err_msg);
  close_one(&h);
}

Test(upstream_exchange, next_endpoint_gets_its_own_timeout_after_a_connection_failure) {
  /* the first endpoint fails at the connection level after 0.6 s; the
   * second starts its first byte 0.7 s after that: past the first one's
   * deadline (1 s), within its own */
  struct harness h;
  open_two(&h, 1000);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/held", NULL, 0, "{\"stream\":true}");
  struct sink s = {0};
  double t0 = mono();
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.held != NULL, 5.0);
  cr_assert_not_null(h.up.held);
  run_for(&h, 0.6 - (mono() - t0));
  up_conn_close(h.up.held); /* nothing sent: curl sees an empty reply */
  RUN_UNTIL(&h, h.up.stream != NULL, 3.0);
  cr_assert_not_null(h.up.stream, "not retried on up-2: %d done, %d requests, %s", s.dones, h.up.requests, s.err_msg);
  double retried = mono();
  run_for(&h, 0.7 - (mono() - retried));
  cr_expect_eq(s.dones, 0, "up-2 timed out on up-1's clock: %s", s.err_msg);
  if (s.dones == 0) {
    up_chunk(&h.up, DELTA);
    RUN_UNTIL(&h, body_has(&s, "content_block_delta"), 3.0);
    up_end(&h.up);
    RUN_UNTIL(&h, s.dones > 0, 3.0);
  }
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.status, 200);
  cr_expect_eq(s.res.failed, 0);
  cr_expect_eq(h.up.requests, 2);
  cr_expect(strncmp(s.endpoint, "up-", 3) == 0, "%s", s.endpoint);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, non_streamed_request_has_request_timeout_not_timeout) {
  struct harness h;
  open_timeouts(&h, 100, 800, 0);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/hang", NULL, 0, "{\"stream\":false}");
  struct sink s = {0};
  double t0 = mono();
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  double took = mono() - t0;
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.res.status, 504);
  cr_expect(took >= 0.75, "cut at %.3f s: before request_timeout (0.8 s)", took);
  cr_expect(took < 4.0, "took %.3f s", took);
  cr_expect(strstr(s.err_msg, "no complete answer within 800 ms") != NULL, "%s", s.err_msg);
  close_one(&h);
}

Test(upstream_exchange, silence_inside_a_stream_breaks_it_after_stream_idle_timeout) {
  struct harness h;
  open_timeouts(&h, 5000, 0, 400);
  struct qcc_request r;
  request(&r, &h, "POST", "/v1/stream", NULL, 0, "{\"stream\":true}");
  struct sink s = {0};
  cr_assert_not_null(qcc_exchange_start(h.proxy, &r, &sink_ops, &s));
  RUN_UNTIL(&h, h.up.stream != NULL, 5.0);
  /* bytes every 0.2 s keep it alive past the idle time */
  for (int i = 0; i < 4; i++) {
    up_chunk(&h.up, DELTA);
    run_for(&h, 0.2);
  }
  cr_expect_eq(s.dones, 0, "cut while data flowed: %s", s.err_msg);
  double t0 = mono();
  RUN_UNTIL(&h, s.dones > 0, 5.0);
  double took = mono() - t0;
  cr_assert_eq(s.dones, 1);
  cr_expect_eq(s.heads, 1);
  cr_expect_eq(s.res.failed, 1, "a silent stream must end as broken");
  cr_expect(took >= 0.15 && took < 3.0, "took %.3f s", took);
  cr_expect(strstr(s.err_msg, "no stream data within 400 ms") != NULL, "%s", s.err_msg);
  free(s.body);
  close_one(&h);
}

Test(upstream_exchange, many_concurrent_exchanges_all_complete) {
  enum { N = 200 };
  struct harness h;
  open_one(&h, QCC_AUTH_X_API_KEY, QCC_KEY_LITERAL, "k", 5000, 0, NULL);
  struct qcc_request r;
  request(&r, &h, "GET", "/v1/medium", NULL, 0, NULL);
  static struct sink s[N];
  static struct qcc_exchange *x[N];
  memset(s, 0, sizeof s);
  for (int i = 0; i < N; i++) {
    s[i].pause_after = (i % 3 == 0) ? 16 * 1024 : 0; /* some slow readers too */
    s[i].xp = &x[i];
    x[i] = qcc_exchange_start(h.proxy, &r, &sink_ops, &s[i]);
    cr_assert_not_null(x[i]);
  }
  cr_expect_eq(qcc_proxy_active(h.proxy), N);
  double until = mono() + 20.0;
  int done = 0;
  while (done < N && mono() < until) {
    ev_run(h.loop, EVRUN_ONCE);
    done = 0;
    for (int i = 0; i < N; i++) {
      done += s[i].dones;
      if (s[i].paused && s[i].dones == 0) {
        s[i].paused = false;
        s[i].since_resume = 0;
        qcc_exchange_resume(x[i]);
      }
    }
  }
  cr_assert_eq(done, N, "%d of %d finished", done, N);
  int paused = 0;
  for (int i = 0; i < N; i++) {
    cr_expect_eq(s[i].status, 200);
    cr_expect_eq(s[i].res.failed, 0);
    cr_expect_eq(s[i].len, MEDIUM_LEN, "exchange %d got %zu bytes", i, s[i].len);
    cr_expect(s[i].len == MEDIUM_LEN && s[i].body[MEDIUM_LEN - 1] == 'a' + (MEDIUM_LEN - 1) % 26);
    cr_expect(s[i].res.ttfb_us > 0);
    paused += s[i].pauses > 0;
    free(s[i].body);
  }
  cr_expect(paused >= N / 3, "only %d exchanges paused", paused);
  cr_expect_eq(qcc_proxy_active(h.proxy), 0);
  cr_expect(h.up.accepted <= N);
  close_one(&h);
}

/* A 429 body names an exhausted spend/credit limit (long rest) or is an
 * ordinary per-minute rate limit (short rest). */
Test(spend_limit, body_phrases) {
  const char *spend[] = {
      "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Your credit "
      "balance is too low to access the Anthropic API.\"}}",
      "{\"error\":{\"message\":\"You have reached your specified API usage limits.\"}}",
      "{\"error\":{\"message\":\"Workspace SPEND LIMIT reached\"}}",
      "{\"error\":{\"message\":\"monthly spending limit exceeded\"}}"};
  for (size_t i = 0; i < sizeof spend / sizeof spend[0]; i++)
    cr_expect(qcc_proxy_body_says_spend_exhausted(spend[i]), "%s", spend[i]);
  const char *rate[] = {
      "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Number of "
      "request tokens has exceeded your per-minute rate limit\"}}",
      "", "{\"error\":{\"message\":\"Overloaded\"}}"};
  for (size_t i = 0; i < sizeof rate / sizeof rate[0]; i++)
    cr_expect_not(qcc_proxy_body_says_spend_exhausted(rate[i]), "%s", rate[i]);
}
