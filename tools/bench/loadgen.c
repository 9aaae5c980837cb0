/* loadgen: a bounded HTTP/1.1 load generator for the proxy benchmark.
 *
 * One libev loop, no threads: N keep-alive connections, each sending
 * POST /v1/messages (plain JSON, or "stream":true for SSE) one request at a
 * time until a duration or a request count is reached. Per request it records
 * the time to the first response byte, to the end of the first complete SSE
 * event, and to the end of the response; it prints one JSON line of results
 * (requests/s, percentiles, errors) for tools/bench/proxy-bench.sh.
 *
 * Responses are parsed with libhttp-parser (Content-Length, chunked and
 * close-delimited bodies). Times are CLOCK_MONOTONIC taken at the syscall, not
 * ev_now(), because the loop's cached time is too coarse for a ~50 us hop. */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <http_parser.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_HEADERS 16
#define LG_MAX_CONNS 20000
/* A hard cap on recorded samples so a long run cannot eat the machine's
 * memory; requests beyond it are still counted, just not in percentiles. */
#define LG_MAX_SAMPLES (8u * 1024u * 1024u)
#define LG_READ_BUF (64 * 1024)

enum lg_err_kind { LG_E_CONNECT, LG_E_RESET, LG_E_TIMEOUT, LG_E_STATUS, LG_E_PARSE, LG_E_COUNT };
static const char *const lg_err_name[LG_E_COUNT] = {"connect", "reset", "timeout", "status",
                                                    "parse"};

struct lg_opts {
  const char *host;
  int port;
  const char *path;
  int conns;
  double duration_s; /* 0 = bounded by max_requests only */
  uint64_t max_requests; /* 0 = bounded by duration only */
  double warmup_s;
  double timeout_s;
  bool stream;
  const char *label;
  const char *model;
  const char *key;
  const char *body; /* overrides the generated body */
  const char *body_file; /* read into body (Claude-Code-sized bodies exceed argv limits) */
  const char *headers[LG_MAX_HEADERS];
  int header_count;
  int paced_ms;       /* expected length of a paced stream, 0 = not paced */
  int slow_tol_ms;    /* a paced stream longer than paced_ms + this "slowed" */
};

/* Per-request timings in nanoseconds since the request was written. */
struct lg_sample {
  uint64_t ttfb, first_event, first_delta, total;
};

enum lg_conn_state { LG_IDLE, LG_CONNECTING, LG_WRITING, LG_READING, LG_DONE };

struct lg_run;

struct lg_conn {
  struct lg_run *run;
  int fd;
  enum lg_conn_state state;
  ev_io io;
  ev_timer timer; /* request timeout, or reconnect backoff */
  http_parser parser;
  size_t wpos;
  uint64_t t0, t_fb, t_ev, t_delta; /* absolute monotonic ns; 0 = not yet */
  uint64_t t_read;         /* time of the read being parsed */
  bool complete;
  unsigned events;
  /* SSE scan state carried across reads: progress of "event:" at a line
   * start (-1 = not at a line start), inside an event, last byte a newline. */
  int line_match;
  bool in_event, prev_nl;
  /* the first 32 bytes of the current line, to see which event it names;
   * the event being read is a content_block_delta */
  char line[32];
  unsigned line_len;
  bool delta_event;
  bool in_flight;
};

struct lg_run {
  struct lg_opts opt;
  struct ev_loop *loop;
  struct sockaddr_in addr;
  char *req;
  size_t req_len;
  struct lg_conn *conns;
  int active; /* connections not yet LG_DONE */
  ev_timer hard_stop;
  uint64_t t_begin, t_measure, t_deadline; /* t_deadline 0 = none */
  uint64_t issued, ok_in_window, ok_total;
  uint64_t t_last_done;
  uint64_t errors[LG_E_COUNT];
  uint64_t bytes_in;
  unsigned ev_min, ev_max;
  struct lg_sample *samples;
  size_t nsamples, cap;
  uint64_t dropped_samples;
  http_parser_settings settings;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_start(struct lg_conn *c);
static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);

/* ---- the SSE scan: count events, note when the first one is complete ---- */

static void sse_scan(struct lg_conn *c, const char *p, size_t n) {
  static const char pat[] = "event:";
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    if (c->line_match >= 0) {
      if (ch == pat[c->line_match]) {
        c->line_match++;
        if (c->line_match == (int)sizeof pat - 1) {
          c->events++;
          c->in_event = true;
          c->line_match = -1;
        }
      } else {
        c->line_match = -1;
      }
    }
    if (ch == '\n') {
      static const char delta[] = "event: content_block_delta";
      if (c->line_len >= sizeof delta - 1 && memcmp(c->line, delta, sizeof delta - 1) == 0)
        c->delta_event = true;
      c->line_len = 0;
      if (c->prev_nl && c->in_event) {
        /* A blank line ends the event: the first one is now usable. */
        if (c->t_ev == 0) c->t_ev = c->t_read;
        if (c->delta_event && c->t_delta == 0) c->t_delta = c->t_read;
        c->in_event = false;
        c->delta_event = false;
      }
      c->prev_nl = true;
      c->line_match = 0;
    } else if (ch != '\r') {
      c->prev_nl = false;
      if (c->line_len < sizeof c->line) c->line[c->line_len++] = ch;
    }
  }
}

/* ---- http_parser callbacks ---- */

static int on_message_begin(http_parser *p) {
  struct lg_conn *c = p->data;
  c->complete = false;
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  struct lg_conn *c = p->data;
  if (c->run->opt.stream) sse_scan(c, at, len);
  return 0;
}

static int on_message_complete(http_parser *p) {
  struct lg_conn *c = p->data;
  c->complete = true;
  /* Stop here: anything after one response on this connection is not ours. */
  http_parser_pause(p, 1);
  return 0;
}

/* ---- connection lifecycle ---- */

static void conn_close(struct lg_conn *c) {
  ev_io_stop(c->run->loop, &c->io);
  ev_timer_stop(c->run->loop, &c->timer);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static void conn_finish(struct lg_conn *c) {
  conn_close(c);
  if (c->state != LG_DONE) {
    c->state = LG_DONE;
    c->run->active--;
    if (c->run->active == 0) ev_break(c->run->loop, EVBREAK_ALL);
  }
}

static bool run_may_issue(struct lg_run *r) {
  if (r->opt.max_requests > 0 && r->issued >= r->opt.max_requests) return false;
  if (r->t_deadline > 0 && now_ns() >= r->t_deadline) return false;
  return true;
}

static void backoff_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct lg_conn *c = w->data;
  conn_start(c);
}

/* A failed request: count it, drop the connection, try again a little later
 * (a refused port must not turn into a busy loop). */
static void conn_fail(struct lg_conn *c, enum lg_err_kind kind) {
  struct lg_run *r = c->run;
  r->errors[kind]++;
  c->in_flight = false;
  conn_close(c);
  c->state = LG_IDLE;
  if (!run_may_issue(r)) {
    conn_finish(c);
    return;
  }
  ev_timer_set(&c->timer, 0.01, 0.);
  c->timer.data = c;
  ev_set_cb(&c->timer, backoff_cb);
  ev_timer_start(r->loop, &c->timer);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct lg_conn *c = w->data;
  if (c->state == LG_CONNECTING) c->run->issued++; /* the attempt counts */
  conn_fail(c, LG_E_TIMEOUT);
}

static void record(struct lg_conn *c, uint64_t t_done) {
  struct lg_run *r = c->run;
  r->ok_total++;
  if (t_done > r->t_last_done) r->t_last_done = t_done;
  if (t_done >= r->t_measure && (r->t_deadline == 0 || t_done <= r->t_deadline)) r->ok_in_window++;
  if (c->t0 < r->t_measure) return; /* warm-up */
  if (r->opt.stream) {
    if (c->events < r->ev_min) r->ev_min = c->events;
    if (c->events > r->ev_max) r->ev_max = c->events;
  }
  if (r->nsamples == r->cap) {
    if (r->cap >= LG_MAX_SAMPLES) {
      r->dropped_samples++;
      return;
    }
    size_t ncap = r->cap ? r->cap * 2 : 4096;
    struct lg_sample *ns = realloc(r->samples, ncap * sizeof *ns);
    if (ns == NULL) {
      r->dropped_samples++;
      return;
    }
    r->samples = ns;
    r->cap = ncap;
  }
  struct lg_sample *s = &r->samples[r->nsamples++];
  s->ttfb = c->t_fb - c->t0;
  s->first_event = c->t_ev ? c->t_ev - c->t0 : 0;
  s->first_delta = c->t_delta ? c->t_delta - c->t0 : 0;
  s->total = t_done - c->t0;
}

/* One response fully read: record it, then reuse the connection or reconnect. */
static void conn_response_done(struct lg_conn *c, uint64_t t_done) {
  struct lg_run *r = c->run;
  c->in_flight = false;
  ev_timer_stop(r->loop, &c->timer);
  if (c->parser.status_code != 200) {
    r->errors[LG_E_STATUS]++;
  } else {
    record(c, t_done);
  }
  bool keep = http_should_keep_alive(&c->parser) != 0;
  if (!keep) {
    conn_close(c);
    c->state = LG_IDLE;
  }
  conn_start(c);
}

static void conn_send(struct lg_conn *c) {
  struct lg_run *r = c->run;
  while (c->wpos < r->req_len) {
    ssize_t n = send(c->fd, r->req + c->wpos, r->req_len - c->wpos, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* wait for EV_WRITE */
      if (errno == EINTR) continue;
      conn_fail(c, LG_E_RESET);
      return;
    }
    c->wpos += (size_t)n;
  }
  /* Whole request out: now read the answer. */
  c->state = LG_READING;
  ev_io_stop(r->loop, &c->io);
  ev_io_set(&c->io, c->fd, EV_READ);
  ev_io_start(r->loop, &c->io);
}

static void conn_begin_request(struct lg_conn *c) {
  struct lg_run *r = c->run;
  r->issued++;
  c->in_flight = true;
  c->wpos = 0;
  c->t_fb = 0;
  c->t_ev = 0;
  c->t_delta = 0;
  c->line_len = 0;
  c->delta_event = false;
  c->complete = false;
  c->events = 0;
  c->line_match = 0;
  c->in_event = false;
  c->prev_nl = false;
  http_parser_init(&c->parser, HTTP_RESPONSE);
  c->parser.data = c;
  ev_timer_stop(r->loop, &c->timer);
  ev_timer_set(&c->timer, r->opt.timeout_s, 0.);
  c->timer.data = c;
  ev_set_cb(&c->timer, timeout_cb);
  ev_timer_start(r->loop, &c->timer);
  c->state = LG_WRITING;
  ev_io_stop(r->loop, &c->io);
  ev_io_set(&c->io, c->fd, EV_WRITE);
  c->t0 = now_ns();
  conn_send(c);
  if (c->state == LG_WRITING) ev_io_start(r->loop, &c->io);
}

static int conn_connect(struct lg_conn *c) {
  struct lg_run *r = c->run;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  /* Small requests must leave at once; Nagle would add up to 40 ms. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  if (connect(fd, (const struct sockaddr *)&r->addr, sizeof r->addr) == 0) {
    return 1;
  }
  if (errno != EINPROGRESS) return -1;
  c->state = LG_CONNECTING;
  ev_io_set(&c->io, fd, EV_WRITE);
  ev_io_start(r->loop, &c->io);
  ev_timer_stop(r->loop, &c->timer);
  ev_timer_set(&c->timer, r->opt.timeout_s, 0.);
  c->timer.data = c;
  ev_set_cb(&c->timer, timeout_cb);
  ev_timer_start(r->loop, &c->timer);
  return 0;
}

/* Next request on this connection, or stop when the run is over. */
static void conn_start(struct lg_conn *c) {
  struct lg_run *r = c->run;
  if (!run_may_issue(r)) {
    conn_finish(c);
    return;
  }
  if (c->fd < 0) {
    int rc = conn_connect(c);
    if (rc < 0) {
      /* Count the attempt so a request-bounded run still ends. */
      r->issued++;
      conn_fail(c, LG_E_CONNECT);
      return;
    }
    if (rc == 0) return; /* connecting; conn_io_cb continues */
  }
  conn_begin_request(c);
}

static void conn_on_readable(struct lg_conn *c) {
  struct lg_run *r = c->run;
  static char buf[LG_READ_BUF]; /* one loop, one buffer */
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      conn_fail(c, LG_E_RESET);
      return;
    }
    uint64_t t = now_ns();
    c->t_read = t;
    if (n == 0) {
      /* EOF: completes a close-delimited body, otherwise the peer cut us off. */
      if (c->t_fb != 0) http_parser_execute(&c->parser, &r->settings, buf, 0);
      if (c->complete) {
        /* a close-delimited body is never kept alive: this reconnects */
        conn_response_done(c, t);
      } else {
        conn_fail(c, LG_E_RESET);
      }
      return;
    }
    if (c->t_fb == 0) c->t_fb = t;
    r->bytes_in += (uint64_t)n;
    http_parser_execute(&c->parser, &r->settings, buf, (size_t)n);
    enum http_errno herr = HTTP_PARSER_ERRNO(&c->parser);
    if (herr != HPE_OK && herr != HPE_PAUSED) {
      conn_fail(c, LG_E_PARSE);
      return;
    }
    if (c->complete) {
      conn_response_done(c, t);
      return;
    }
    if ((size_t)n < sizeof buf) return; /* drained: wait for more */
  }
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  struct lg_conn *c = w->data;
  switch (c->state) {
    case LG_CONNECTING: {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
        c->run->issued++;
        conn_fail(c, LG_E_CONNECT);
        return;
      }
      ev_io_stop(c->run->loop, &c->io);
      if (!run_may_issue(c->run)) {
        conn_finish(c);
        return;
      }
      conn_begin_request(c);
      return;
    }
    case LG_WRITING:
      if (revents & EV_WRITE) conn_send(c);
      return;
    case LG_READING:
      if (revents & EV_READ) conn_on_readable(c);
      return;
    default:
      return;
  }
}

static void hard_stop_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

/* ---- results ---- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Percentiles by nearest rank over a sorted copy; values in microseconds. */
static json_t *summarize(uint64_t *v, size_t n) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  if (n == 0) {
    json_object_set_new(o, "n", json_integer(0));
    return o;
  }
  qsort(v, n, sizeof *v, cmp_u64);
  long double sum = 0;
  for (size_t i = 0; i < n; i++) sum += v[i];
  static const struct {
    const char *name;
    double q;
  } qs[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}};
  json_object_set_new(o, "n", json_integer((json_int_t)n));
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    size_t rank = (size_t)(qs[i].q * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    json_object_set_new(o, qs[i].name, json_real((double)v[rank - 1] / 1000.0));
  }
  json_object_set_new(o, "min", json_real((double)v[0] / 1000.0));
  json_object_set_new(o, "max", json_real((double)v[n - 1] / 1000.0));
  json_object_set_new(o, "mean", json_real((double)(sum / n) / 1000.0));
  return o;
}

static json_t *run_results(struct lg_run *r, uint64_t t_end) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  const struct lg_opts *op = &r->opt;
  json_object_set_new(o, "label", json_string(op->label));
  json_object_set_new(o, "port", json_integer(op->port));
  json_object_set_new(o, "mode", json_string(op->stream ? "sse" : "json"));
  json_object_set_new(o, "conns", json_integer(op->conns));

  /* Duration runs: completions inside the window / the window. Count runs:
   * everything / from the first request to the last answer. */
  double window;
  uint64_t counted;
  if (r->t_deadline > 0) {
    uint64_t end = r->t_deadline < t_end ? r->t_deadline : t_end;
    window = end > r->t_measure ? (double)(end - r->t_measure) / 1e9 : 0;
    counted = r->ok_in_window;
  } else {
    uint64_t end = r->t_last_done > r->t_measure ? r->t_last_done : t_end;
    window = end > r->t_measure ? (double)(end - r->t_measure) / 1e9 : 0;
    counted = r->ok_in_window;
  }
  json_object_set_new(o, "window_s", json_real(window));
  json_object_set_new(o, "requests", json_integer((json_int_t)counted));
  json_object_set_new(o, "ok_total", json_integer((json_int_t)r->ok_total));
  json_object_set_new(o, "issued", json_integer((json_int_t)r->issued));
  json_object_set_new(o, "rps", json_real(window > 0 ? (double)counted / window : 0));
  json_object_set_new(o, "bytes_in", json_integer((json_int_t)r->bytes_in));

  json_t *errs = json_object();
  uint64_t etot = 0;
  for (int k = 0; k < LG_E_COUNT; k++) {
    json_object_set_new(errs, lg_err_name[k], json_integer((json_int_t)r->errors[k]));
    etot += r->errors[k];
  }
  uint64_t unfinished = 0;
  for (int i = 0; i < op->conns; i++) {
    if (r->conns[i].in_flight) unfinished++;
  }
  json_object_set_new(errs, "unfinished", json_integer((json_int_t)unfinished));
  etot += unfinished;
  json_object_set_new(o, "errors", errs);
  json_object_set_new(o, "error_total", json_integer((json_int_t)etot));

  size_t n = r->nsamples;
  json_object_set_new(o, "samples", json_integer((json_int_t)n));
  json_object_set_new(o, "dropped_samples", json_integer((json_int_t)r->dropped_samples));
  uint64_t *v = malloc((n ? n : 1) * sizeof *v);
  if (v == NULL) return o;
  for (size_t i = 0; i < n; i++) v[i] = r->samples[i].ttfb;
  json_object_set_new(o, "ttfb_us", summarize(v, n));
  for (size_t i = 0; i < n; i++) v[i] = r->samples[i].total;
  json_object_set_new(o, "total_us", summarize(v, n));
  if (op->stream) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      if (r->samples[i].first_event) v[m++] = r->samples[i].first_event;
    }
    json_object_set_new(o, "first_event_us", summarize(v, m));
    /* the first token: a proxy that holds the stream start until it (qcc-run
     * does, to fail over before the client saw anything) gives its first
     * event here */
    m = 0;
    for (size_t i = 0; i < n; i++) {
      if (r->samples[i].first_delta) v[m++] = r->samples[i].first_delta;
    }
    json_object_set_new(o, "first_delta_us", summarize(v, m));
    json_object_set_new(o, "events_min", json_integer(n ? r->ev_min : 0));
    json_object_set_new(o, "events_max", json_integer(r->ev_max));
  }
  if (op->paced_ms > 0) {
    /* A paced stream that took noticeably longer than its pace "slowed". */
    uint64_t limit = (uint64_t)(op->paced_ms + op->slow_tol_ms) * 1000000u;
    uint64_t slowed = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
      if (r->samples[i].total > limit) slowed++;
      if (r->samples[i].total > worst) worst = r->samples[i].total;
    }
    json_object_set_new(o, "paced_ms", json_integer(op->paced_ms));
    json_object_set_new(o, "slow_tolerance_ms", json_integer(op->slow_tol_ms));
    json_object_set_new(o, "slowed", json_integer((json_int_t)slowed));
    json_object_set_new(o, "worst_over_pace_ms",
                        json_real(((double)worst / 1e6) - (double)op->paced_ms));
  }
  free(v);
  return o;
}

/* ---- setup ---- */

static int build_request(struct lg_run *r) {
  const struct lg_opts *op = &r->opt;
  char body[1024];
  const char *b = op->body;
  if (b == NULL) {
    int bn = snprintf(body, sizeof body,
                      "{\"model\":\"%s\",\"max_tokens\":256,%s\"messages\":[{\"role\":\"user\","
                      "\"content\":\"Hello from the qcc proxy benchmark.\"}]}",
                      op->model, op->stream ? "\"stream\":true," : "");
    if (bn < 0 || (size_t)bn >= sizeof body) return -1;
    b = body;
  }
  size_t blen = strlen(b);
  size_t cap = 1024 + blen;
  for (int i = 0; i < op->header_count; i++) cap += strlen(op->headers[i]) + 2;
  char *req = malloc(cap);
  if (req == NULL) return -1;
  int n = snprintf(req, cap,
                   "POST %s HTTP/1.1\r\n"
                   "Host: %s:%d\r\n"
                   "Content-Type: application/json\r\n"
                   "Accept: %s\r\n"
                   "anthropic-version: 2023-06-01\r\n"
                   "x-api-key: %s\r\n"
                   "Content-Length: %zu\r\n",
                   op->path, op->host, op->port, op->stream ? "text/event-stream" : "application/json",
                   op->key, blen);
  if (n < 0 || (size_t)n >= cap) {
    free(req);
    return -1;
  }
  size_t len = (size_t)n;
  for (int i = 0; i < op->header_count; i++) {
    size_t hl = strlen(op->headers[i]);
    memcpy(req + len, op->headers[i], hl);
    len += hl;
    memcpy(req + len, "\r\n", 2);
    len += 2;
  }
  memcpy(req + len, "\r\n", 2);
  len += 2;
  memcpy(req + len, b, blen);
  len += blen;
  r->req = req;
  r->req_len = len;
  return 0;
}

/* 1000 connections need more descriptors than the usual soft limit. */
static void raise_fd_limit(int conns) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = (rlim_t)conns + 64;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: loadgen --port PORT [options]\n"
          "  --host IP            target IPv4 address (default 127.0.0.1)\n"
          "  --port PORT          target port (required)\n"
          "  --path PATH          request path (default /v1/messages)\n"
          "  -c, --conns N        concurrent keep-alive connections (default 1)\n"
          "  -d, --duration SEC   send for SEC seconds after the warm-up\n"
          "  -n, --requests N     send N requests in all (with or without --duration)\n"
          "  --warmup SEC         not recorded: first SEC seconds (default 0)\n"
          "  --timeout SEC        per-request timeout (default 10)\n"
          "  --stream             ask for SSE (\"stream\":true)\n"
          "  --model NAME         model field (default claude-sonnet-4-5)\n"
          "  --key VALUE          x-api-key sent (default bench-client)\n"
          "  --body JSON          request body instead of the generated one\n"
          "  --body-file FILE     request body read from FILE (e.g. tools/bench/ccbody.py)\n"
          "  -H, --header 'K: V'  extra request header (repeatable, up to %d)\n"
          "  --paced-ms MS        streams are paced to last MS: report how many slowed\n"
          "  --slow-tolerance-ms MS  slack before a paced stream counts as slowed (100)\n"
          "  --label TEXT         copied into the JSON result\n"
          "Prints one JSON line of results on stdout. At least one of -d / -n is required.\n",
          LG_MAX_HEADERS);
}

static int parse_opts(int argc, char **argv, struct lg_opts *op) {
  static const struct option longopts[] = {
      {"host", required_argument, NULL, 'h'},   {"port", required_argument, NULL, 'p'},
      {"path", required_argument, NULL, 'P'},   {"conns", required_argument, NULL, 'c'},
      {"duration", required_argument, NULL, 'd'}, {"requests", required_argument, NULL, 'n'},
      {"warmup", required_argument, NULL, 'w'}, {"timeout", required_argument, NULL, 't'},
      {"stream", no_argument, NULL, 's'},       {"model", required_argument, NULL, 'm'},
      {"key", required_argument, NULL, 'k'},    {"body", required_argument, NULL, 'b'},
      {"header", required_argument, NULL, 'H'}, {"paced-ms", required_argument, NULL, 'A'},
      {"slow-tolerance-ms", required_argument, NULL, 'T'},
      {"body-file", required_argument, NULL, 'B'},
      {"label", required_argument, NULL, 'l'},  {"help", no_argument, NULL, '?'},
      {NULL, 0, NULL, 0}};
  *op = (struct lg_opts){.host = "127.0.0.1",
                         .path = "/v1/messages",
                         .conns = 1,
                         .timeout_s = 10,
                         .label = "",
                         .model = "claude-sonnet-4-5",
                         .key = "bench-client",
                         .slow_tol_ms = 100};
  char *end;
  for (;;) {
    int ch = getopt_long(argc, argv, "c:d:n:H:", longopts, NULL);
    if (ch == -1) break;
    switch (ch) {
      case 'h': op->host = optarg; break;
      case 'p':
        op->port = (int)strtol(optarg, &end, 10);
        if (*end != '\0' || op->port <= 0 || op->port > 65535) return -1;
        break;
      case 'P': op->path = optarg; break;
      case 'c':
        op->conns = (int)strtol(optarg, &end, 10);
        if (*end != '\0' || op->conns <= 0 || op->conns > LG_MAX_CONNS) return -1;
        break;
      case 'd':
        op->duration_s = strtod(optarg, &end);
        if (*end != '\0' || op->duration_s <= 0 || op->duration_s > 3600) return -1;
        break;
      case 'n':
        op->max_requests = strtoull(optarg, &end, 10);
        if (*end != '\0' || op->max_requests == 0) return -1;
        break;
      case 'w':
        op->warmup_s = strtod(optarg, &end);
        if (*end != '\0' || op->warmup_s < 0 || op->warmup_s > 600) return -1;
        break;
      case 't':
        op->timeout_s = strtod(optarg, &end);
        if (*end != '\0' || op->timeout_s <= 0 || op->timeout_s > 600) return -1;
        break;
      case 's': op->stream = true; break;
      case 'm': op->model = optarg; break;
      case 'k': op->key = optarg; break;
      case 'b': op->body = optarg; break;
      case 'B': op->body_file = optarg; break;
      case 'H':
        if (op->header_count >= LG_MAX_HEADERS) return -1;
        op->headers[op->header_count++] = optarg;
        break;
      case 'A':
        op->paced_ms = (int)strtol(optarg, &end, 10);
        if (*end != '\0' || op->paced_ms < 0) return -1;
        break;
      case 'T':
        op->slow_tol_ms = (int)strtol(optarg, &end, 10);
        if (*end != '\0' || op->slow_tol_ms < 0) return -1;
        break;
      case 'l': op->label = optarg; break;
      default: return -1;
    }
  }
  if (optind != argc || op->port == 0) return -1;
  if (op->body != NULL && op->body_file != NULL) return -1;
  if (op->duration_s == 0 && op->max_requests == 0) return -1; /* must be bounded */
  if (strlen(op->model) > 200) return -1;
  return 0;
}

static void run_free(struct lg_run **rp) {
  struct lg_run *r = *rp;
  if (r == NULL) return;
  if (r->conns != NULL) {
    for (int i = 0; i < r->opt.conns; i++) {
      if (r->conns[i].fd >= 0) close(r->conns[i].fd);
    }
  }
  free(r->conns);
  free(r->samples);
  free(r->req);
  if (r->loop != NULL) ev_loop_destroy(r->loop);
  free(r);
  *rp = NULL;
}

static struct lg_run *run_new(const struct lg_opts *op, const char **why) {
  struct lg_run *r = calloc(1, sizeof *r);
  if (r == NULL) {
    *why = "out of memory";
    return NULL;
  }
  r->opt = *op;
  r->ev_min = UINT32_MAX;
  r->addr.sin_family = AF_INET;
  r->addr.sin_port = htons((uint16_t)op->port);
  if (inet_pton(AF_INET, op->host, &r->addr.sin_addr) != 1) {
    *why = "--host must be an IPv4 address";
    run_free(&r);
    return NULL;
  }
  if (build_request(r) != 0) {
    *why = "cannot build the request";
    run_free(&r);
    return NULL;
  }
  r->loop = ev_loop_new(EVFLAG_AUTO);
  r->conns = calloc((size_t)op->conns, sizeof *r->conns);
  if (r->loop == NULL || r->conns == NULL) {
    *why = "out of memory";
    run_free(&r);
    return NULL;
  }
  r->settings.on_message_begin = on_message_begin;
  r->settings.on_body = on_body;
  r->settings.on_message_complete = on_message_complete;
  for (int i = 0; i < op->conns; i++) {
    struct lg_conn *c = &r->conns[i];
    c->run = r;
    c->fd = -1;
    ev_init(&c->io, conn_io_cb);
    c->io.data = c;
    ev_init(&c->timer, timeout_cb);
    c->timer.data = c;
  }
  return r;
}

static void run_go(struct lg_run *r) {
  const struct lg_opts *op = &r->opt;
  r->t_begin = now_ns();
  r->t_measure = r->t_begin + (uint64_t)(op->warmup_s * 1e9);
  if (op->duration_s > 0) r->t_deadline = r->t_measure + (uint64_t)(op->duration_s * 1e9);
  /* Bounded no matter what the target does: the run plus one timeout. */
  double hard = op->warmup_s + op->timeout_s + 2.0;
  if (op->duration_s > 0) hard += op->duration_s;
  if (op->max_requests > 0 && op->duration_s == 0) {
    /* count-bounded: allow every connection's share at the timeout pace,
     * capped at ten minutes */
    double rounds = (double)op->max_requests / op->conns + 1;
    hard += rounds * op->timeout_s;
    if (hard > 600) hard = 600;
  }
  ev_timer_init(&r->hard_stop, hard_stop_cb, hard, 0.);
  ev_timer_start(r->loop, &r->hard_stop);
  ev_unref(r->loop); /* the hard stop alone must not keep the loop alive */
  r->active = op->conns;
  for (int i = 0; i < op->conns; i++) conn_start(&r->conns[i]);
  if (r->active > 0) ev_run(r->loop, 0);
  ev_ref(r->loop);
  ev_timer_stop(r->loop, &r->hard_stop);
}

/* The whole of PATH, NUL-terminated (a JSON body holds no NUL); NULL on error. */
static char *read_body_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *buf = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1)) != NULL) {
    if (fread(buf, 1, (size_t)n, f) != (size_t)n || memchr(buf, '\0', (size_t)n) != NULL) {
      free(buf);
      buf = NULL;
    } else {
      buf[n] = '\0';
    }
  }
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  struct lg_opts op;
  if (parse_opts(argc, argv, &op) != 0) {
    usage(stderr);
    return 2;
  }
  char *body_owned = NULL;
  if (op.body_file != NULL) {
    if ((body_owned = read_body_file(op.body_file)) == NULL) {
      fprintf(stderr, "loadgen: cannot read --body-file %s\n", op.body_file);
      return 2;
    }
    op.body = body_owned;
  }
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit(op.conns);
  const char *why = NULL;
  struct lg_run *r = run_new(&op, &why);
  if (r == NULL) {
    fprintf(stderr, "loadgen: %s\n", why);
    free(body_owned);
    return 2;
  }
  run_go(r);
  json_t *res = run_results(r, now_ns());
  int rc = 1;
  if (res != NULL) {
    char *s = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (s != NULL) {
      puts(s);
      free(s);
      rc = 0;
    }
    json_decref(res);
  }
  run_free(&r);
  free(body_owned);
  return rc;
}
