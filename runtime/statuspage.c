#include "statuspage.h"

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "adminapi.h"
#include "generation.h"
#include "keystore.h"
#include "log.h"
#include "metrics.h"
#include "pageassets.h"
#include "pagesession.h"
#include "router.h"
#include "timeline.h"

#define COOKIE_NAME "qcc_session"
#define PAGE_REASON "from the status page"
#define TICK_S 1.0 /* how often the state is compared with what the streams last got */

static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* Who is asking (listener side). */
enum who { WHO_NOBODY, WHO_SESSION, WHO_BEARER, WHO_OWNER /* the admin socket */ };

struct qcc_page_call {
  struct qcc_statuspage *sp;
  const struct qcc_sink_ops *ops;
  void *sink;
  bool sse;
  bool waiting;   /* an admin call will answer later */
  bool cancelled; /* the client left while it did: free on the answer */
  struct qcc_page_call *prev, *next; /* the SSE list */
  /* the admin socket: reply there instead of the sink */
  struct qcc_admin_req *areq;
};

struct qcc_statuspage {
  struct qcc_statuspage_params p;
  char address[128];
  char host[128];
  char port[8];
  struct qcc_pagesession *sessions;
  struct qcc_page_call *sse; /* open event streams */
  size_t sse_count;
  ev_timer tick;
  ev_timer soon;          /* zero-delay: push after a routing event, outside its callback */
  double last_beat;
  char *last_state;       /* the state the streams last got (compact JSON) */
  json_t *pending;        /* timeline entries not yet pushed */
};

/* ---- clocks and small helpers -------------------------------------------- */

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(const struct qcc_statuspage *sp) {
  if (sp->p.admin != NULL && sp->p.admin->now_ms != NULL) return sp->p.admin->now_ms();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const struct qcc_header *find_header(const struct qcc_request *req, const char *name) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < req->header_count; i++) {
    const struct qcc_header *h = &req->headers[i];
    if (h->name_len == nl && strncasecmp(h->name, name, nl) == 0) return h;
  }
  return NULL;
}

static bool header_equals(const struct qcc_header *h, const char *v) {
  size_t vl = strlen(v);
  return h != NULL && h->value_len == vl && strncasecmp(h->value, v, vl) == 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One path segment, percent-decoded into OUT; false when it does not fit or
 * decodes to something with a '/' or a control byte. */
static bool decode_segment(const char *s, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%' && i + 2 < n + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    }
    if ((unsigned char)c < 0x20 || c == '/' || c == 0x7f || k + 1 >= cap) return false;
    out[k++] = c;
  }
  out[k] = '\0';
  return k > 0;
}

/* The percent-encoded form of ID for an admin path. */
static void encode_segment(const char *id, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t k = 0;
  for (const unsigned char *s = (const unsigned char *)id; *s != '\0' && k + 4 < cap; s++) {
    if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
        *s == '-' || *s == '_' || *s == '.' || *s == '~') {
      out[k++] = (char)*s;
    } else {
      out[k++] = '%';
      out[k++] = hex[*s >> 4];
      out[k++] = hex[*s & 15];
    }
  }
  out[k] = '\0';
}

/* ---- in-process admin calls ----------------------------------------------- */

struct sync_reply {
  bool got;
  int status;
  json_t *j;
};

static void sync_cb(void *arg, int status, const char *ctype, const char *body, size_t len) {
  (void)ctype;
  struct sync_reply *r = arg;
  r->got = true;
  r->status = status;
  r->j = json_loadb(body, len, 0, NULL);
}

/* GET PATH from the admin API, answered at once (every GET route is). */
static json_t *admin_get(struct qcc_statuspage *sp, const char *path) {
  struct sync_reply r = {0};
  if (qcc_admin_invoke(sp->p.routes, sp->p.route_count, sp->p.admin, "GET", path, "", 0, sync_cb,
                     &r) != 0 || !r.got) {
    return NULL; /* not answered now: FN never runs later for a GET */
  }
  if (r.status != 200) {
    json_decref(r.j);
    return NULL;
  }
  return r.j;
}

/* ---- the API's documents --------------------------------------------------- */

static json_t *state_doc(struct qcc_statuspage *sp) {
  json_t *status = admin_get(sp, "/status");
  json_t *prio = admin_get(sp, "/priority");
  json_t *eps = admin_get(sp, "/endpoints");
  json_t *list = eps != NULL ? json_object_get(eps, "endpoints") : NULL;
  struct qcc_metrics *m = sp->p.admin != NULL ? sp->p.admin->metrics : NULL;
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    struct qcc_metrics_endpoint me;
    const char *id = json_string_value(json_object_get(e, "id"));
    bool any = qcc_metrics_endpoint(m, id, &me);
    json_object_set_new(e, "requests", json_integer((json_int_t)me.requests));
    json_object_set_new(e, "errors", json_integer((json_int_t)me.failed));
    json_object_set_new(e, "error_rate", any && me.requests > 0
                                             ? json_real((double)me.failed / (double)me.requests)
                                             : json_null());
    json_object_set_new(e, "ttfb_p50_ms", me.ttfb_p50_ms >= 0 ? json_real(me.ttfb_p50_ms)
                                                              : json_null());
    json_object_set_new(e, "ttfb_p99_ms", me.ttfb_p99_ms >= 0 ? json_real(me.ttfb_p99_ms)
                                                              : json_null());
  }
  json_t *doc = json_pack("{s:o,s:o,s:o}", "status", status != NULL ? status : json_null(),
                          "priority", prio != NULL ? prio : json_null(), "endpoints",
                          list != NULL ? json_incref(list) : json_array());
  json_decref(eps);
  return doc;
}

static json_t *queue_doc(struct qcc_statuspage *sp) {
  json_t *q = admin_get(sp, "/queue");
  json_t *dl = admin_get(sp, "/queue/deadletters");
  json_t *list = dl != NULL ? json_incref(json_object_get(dl, "dead_letters")) : NULL;
  json_decref(dl);
  return json_pack("{s:o,s:o}", "queue", q != NULL ? q : json_null(), "dead_letters",
                   list != NULL ? list : json_array());
}

/* The usage panel's document (docs/status-page.md, "GET /qcc/api/usage"):
 * the usage store (issue 14) fills the series through p.usage; until it is
 * wired the shape is complete and every series is empty. */
static json_t *usage_doc(struct qcc_statuspage *sp) {
  int64_t now = wall_ms();
  int64_t hour = now - now % 3600000, day = now - now % 86400000;
  json_t *doc = json_pack("{s:b,s:s,s:s,s:{s:[]},s:{s:i,s:i,s:o,s:[]},s:{s:i,s:i,s:o,s:[]}}",
                   "available", 0, "note", "no usage data yet", "currency", "USD", "today",
                   "endpoints", "hourly", "step_s", 3600, "points", 48, "start",
                   qcc_timeline_iso(hour - 47 * 3600000LL), "series", "daily", "step_s", 86400, "points", 30,
                   "start", qcc_timeline_iso(day - 29 * 86400000LL), "series");
  if (doc != NULL && sp->p.usage != NULL) sp->p.usage(sp->p.usage_arg, doc);
  return doc;
}

/* ---- replies ------------------------------------------------------------------ */

static void call_free(struct qcc_page_call *c) {
  struct qcc_statuspage *sp = c->sp;
  if (c->sse) {
    if (c->prev != NULL) c->prev->next = c->next;
    else sp->sse = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
    sp->sse_count--;
    if (sp->sse_count == 0) ev_timer_stop(sp->p.loop, &sp->tick);
  }
  free(c);
}

/* A whole reply with the page's security headers; frees the call. */
static void reply(struct qcc_page_call *c, int status, const char *ctype, const char *cache,
                  const char *body, size_t len, const struct qcc_header *extra, size_t nextra) {
  if (c->areq != NULL) { /* the admin socket writes its own headers */
    qcc_admin_reply(c->areq, status, ctype, body, len);
    call_free(c);
    return;
  }
  struct qcc_header h[12];
  size_t n = 0;
#define H(name_, value_)                                                                          \
  h[n++] = (struct qcc_header){name_, strlen(name_), value_, strlen(value_)}
  H("content-type", ctype);
  H("cache-control", cache);
  H("content-security-policy", csp);
  H("x-content-type-options", "nosniff");
  H("referrer-policy", "no-referrer");
  H("x-frame-options", "DENY");
#undef H
  for (size_t i = 0; i < nextra && n < sizeof h / sizeof h[0]; i++) h[n++] = extra[i];
  const struct qcc_sink_ops *ops = c->ops;
  void *sink = c->sink;
  call_free(c);
  ops->head(sink, status, h, n, (int64_t)len);
  if (len > 0) ops->body(sink, body, len);
  struct qcc_exchange_result res = {.status = status, .failed = status >= 500};
  ops->done(sink, &res);
}

static void reply_json(struct qcc_page_call *c, int status, json_t *doc) {
  char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  if (s == NULL) {
    static const char oom[] = "{\"error\":\"out of memory\"}";
    reply(c, 500, "application/json", "no-store", oom, sizeof oom - 1, NULL, 0);
    return;
  }
  reply(c, status, "application/json", "no-store", s, strlen(s), NULL, 0);
  free(s);
}

static void reply_error(struct qcc_page_call *c, int status, const char *msg) {
  reply_json(c, status, json_pack("{s:s}", "error", msg));
}

/* ---- SSE --------------------------------------------------------------------- */

static bool sse_send(struct qcc_page_call *c, const char *event, json_t *doc) {
  char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(doc);
  if (s == NULL) return false;
  size_t n = strlen(s) + strlen(event) + 32;
  char *msg = malloc(n);
  if (msg != NULL) {
    int k = snprintf(msg, n, "event: %s\ndata: %s\n\n", event, s);
    c->ops->body(c->sink, msg, (size_t)k);
  }
  free(msg);
  free(s);
  return true;
}

static void sse_broadcast(struct qcc_statuspage *sp, const char *event, const char *text) {
  size_t n = strlen(text) + strlen(event) + 32;
  char *msg = malloc(n);
  if (msg == NULL) return;
  int k = snprintf(msg, n, "event: %s\ndata: %s\n\n", event, text);
  for (struct qcc_page_call *c = sp->sse; c != NULL; c = c->next)
    c->ops->body(c->sink, msg, (size_t)k);
  free(msg);
}

/* Push what changed since the streams' last event: new timeline entries,
 * then the state and the queue when they differ from what was sent. */
static void push(struct qcc_statuspage *sp) {
  if (sp->sse == NULL) {
    json_array_clear(sp->pending);
    return;
  }
  size_t i;
  json_t *e;
  json_array_foreach(sp->pending, i, e) {
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s != NULL) sse_broadcast(sp, "entry", s);
    free(s);
  }
  json_array_clear(sp->pending);
  json_t *doc = json_pack("{s:o,s:o}", "state", state_doc(sp), "queue", queue_doc(sp));
  char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  if (s == NULL) return;
  if (sp->last_state != NULL && strcmp(s, sp->last_state) == 0) {
    free(s);
    return;
  }
  sse_broadcast(sp, "update", s);
  free(sp->last_state);
  sp->last_state = s;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_statuspage *sp = w->data;
  push(sp);
  double now = ev_now(loop);
  if (now - sp->last_beat >= QCC_PAGE_HEARTBEAT_S) {
    sp->last_beat = now;
    for (struct qcc_page_call *c = sp->sse; c != NULL; c = c->next) c->ops->body(c->sink, ": hb\n\n", 6);
  }
}

static void soon_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  push(w->data);
}

static void push_soon(struct qcc_statuspage *sp) {
  if (sp->sse != NULL && !ev_is_active(&sp->soon)) ev_timer_start(sp->p.loop, &sp->soon);
}

static void start_sse(struct qcc_page_call *c) {
  struct qcc_statuspage *sp = c->sp;
  if (sp->sse_count >= QCC_PAGE_MAX_SSE) {
    reply_error(c, 503, "too many open event streams");
    return;
  }
  c->sse = true;
  c->next = sp->sse;
  if (sp->sse != NULL) sp->sse->prev = c;
  sp->sse = c;
  sp->sse_count++;
  if (!ev_is_active(&sp->tick)) {
    sp->last_beat = ev_now(sp->p.loop);
    ev_timer_again(sp->p.loop, &sp->tick);
  }
  struct qcc_header h[] = {
      {"content-type", 12, "text/event-stream", 17},
      {"cache-control", 13, "no-store", 8},
      {"x-content-type-options", 22, "nosniff", 7},
      {"x-accel-buffering", 17, "no", 2},
  };
  c->ops->head(c->sink, 200, h, sizeof h / sizeof h[0], -1);
  c->ops->body(c->sink, "retry: 2000\n\n", 13);
  sse_send(c, "snapshot",
           json_pack("{s:o,s:o,s:o}", "state", state_doc(sp), "queue", queue_doc(sp), "timeline",
                     qcc_timeline_history(sp->p.journal, QCC_PAGE_TIMELINE_MAX)));
}

/* The admin socket answers one request per connection with a length: its
 * event stream is the snapshot alone, and ends. */
static void admin_events(struct qcc_page_call *c) {
  struct qcc_statuspage *sp = c->sp;
  json_t *doc = json_pack("{s:o,s:o,s:o}", "state", state_doc(sp), "queue", queue_doc(sp),
                          "timeline", qcc_timeline_history(sp->p.journal, QCC_PAGE_TIMELINE_MAX));
  char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  if (s == NULL) {
    reply_error(c, 500, "out of memory");
    return;
  }
  size_t n = strlen(s) + 64;
  char *msg = malloc(n);
  if (msg == NULL) {
    free(s);
    reply_error(c, 500, "out of memory");
    return;
  }
  int k = snprintf(msg, n, "event: snapshot\ndata: %s\n\n", s);
  reply(c, 200, "text/event-stream", "no-store", msg, (size_t)k, NULL, 0);
  free(msg);
  free(s);
}

/* ---- actions ----------------------------------------------------------------- */

static void action_cb(void *arg, int status, const char *ctype, const char *body, size_t len) {
  struct qcc_page_call *c = arg;
  if (c->cancelled) {
    free(c); /* never on the SSE list */
    return;
  }
  c->waiting = false;
  if (status < 400) push_soon(c->sp);
  reply(c, status, ctype != NULL ? ctype : "application/json", "no-store", body, len, NULL, 0);
}

/* POST /qcc/api/SEG0/SEG1/SEG2: the admin call the CLI makes for it. */
static void action(struct qcc_page_call *c, char seg[3][160], size_t nseg) {
  char path[640], enc[480], body[300];
  body[0] = '\0';
  char id[160] = "";
  const char *what = NULL;
  if (nseg == 3 && strcmp(seg[0], "endpoints") == 0 &&
      (strcmp(seg[2], "enable") == 0 || strcmp(seg[2], "disable") == 0)) {
    snprintf(id, sizeof id, "%s", seg[1]);
    encode_segment(id, enc, sizeof enc);
    snprintf(path, sizeof path, "/endpoints/%s/%s", enc, seg[2]);
    if (strcmp(seg[2], "disable") == 0)
      snprintf(body, sizeof body, "{\"reason\":\"%s\"}", PAGE_REASON);
    what = seg[2];
  } else if (nseg == 3 && strcmp(seg[0], "profiles") == 0 && strcmp(seg[2], "pin") == 0) {
    snprintf(id, sizeof id, "%s", seg[1]);
    json_t *b = json_pack("{s:s,s:s}", "profile", id, "reason", PAGE_REASON);
    char *s = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (s == NULL || strlen(s) >= sizeof body) {
      free(s);
      reply_error(c, 400, "profile name too long");
      return;
    }
    snprintf(body, sizeof body, "%s", s);
    free(s);
    snprintf(path, sizeof path, "/priority/switch");
    what = "pin";
  } else if (nseg == 1 && strcmp(seg[0], "unpin") == 0) {
    snprintf(path, sizeof path, "/priority/switch");
    snprintf(body, sizeof body, "{\"auto\":true}");
    what = "unpin";
  } else if (nseg == 1 && strcmp(seg[0], "health-check") == 0) {
    snprintf(path, sizeof path, "/health/check");
    what = "health check";
  } else if (nseg == 3 && strcmp(seg[0], "deadletters") == 0 &&
             (strcmp(seg[2], "retry") == 0 || strcmp(seg[2], "drop") == 0)) {
    snprintf(id, sizeof id, "%s", seg[1]);
    encode_segment(id, enc, sizeof enc);
    snprintf(path, sizeof path, "/queue/%s/%s", seg[2], enc);
    if (strcmp(seg[2], "drop") == 0)
      snprintf(body, sizeof body, "{\"reason\":\"%s\"}", PAGE_REASON);
    what = strcmp(seg[2], "drop") == 0 ? "drop dead letter" : "retry dead letter";
  } else {
    reply_error(c, 404, "no such action (see docs/status-page.md)");
    return;
  }
  qcc_log_info("status page: %s%s%s (%s)", what, id[0] != '\0' ? " " : "", id, PAGE_REASON);
  c->waiting = true;
  if (qcc_admin_invoke(c->sp->p.routes, c->sp->p.route_count, c->sp->p.admin, "POST", path, body,
                     strlen(body), action_cb, c) != 0) {
    c->waiting = false;
    reply_error(c, 500, "the action could not be started");
  }
}

/* ---- routing ----------------------------------------------------------------- */

static const struct qcc_page_asset *asset(const char *name) {
  for (size_t i = 0; i < qcc_page_asset_count; i++)
    if (strcmp(qcc_page_assets[i].name, name) == 0) return &qcc_page_assets[i];
  return NULL;
}

static void serve_asset(struct qcc_page_call *c, const char *name, const struct qcc_request *req) {
  const struct qcc_page_asset *a = asset(name);
  if (a == NULL) {
    reply_error(c, 404, "no such file");
    return;
  }
  struct qcc_header etag = {"etag", 4, a->etag, strlen(a->etag)};
  /* Revalidated every time (cheap: 304), so a new qcc-run never serves an old page. */
  const char *cache = "private, no-cache";
  if (req != NULL && header_equals(find_header(req, "if-none-match"), a->etag)) {
    reply(c, 304, a->type, cache, NULL, 0, &etag, 1);
    return;
  }
  reply(c, 200, a->type, cache, (const char *)a->data, a->len, &etag, 1);
}

/* What every caller may ask once it is let in. PATH starts after "/qcc". */
static void route(struct qcc_page_call *c, const char *method, const char *path, size_t plen,
                  enum who who, const struct qcc_request *req) {
  bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  bool post = strcmp(method, "POST") == 0;
  if (plen <= 1 || (plen == 11 && memcmp(path, "/index.html", 11) == 0)) {
    if (!get) goto not_allowed;
    if (who == WHO_BEARER) goto forbidden;
    serve_asset(c, "index.html", req);
    return;
  }
  if (plen < 5 || memcmp(path, "/api/", 5) != 0) {
    char name[64];
    if (!get) goto not_allowed;
    if (who == WHO_BEARER) goto forbidden;
    if (!decode_segment(path + 1, plen - 1, name, sizeof name) || strchr(name, '/') != NULL) {
      reply_error(c, 404, "no such file");
      return;
    }
    serve_asset(c, name, req);
    return;
  }
  /* /api/SEG[/SEG[/SEG]] */
  char seg[3][160];
  size_t nseg = 0;
  const char *s = path + 5, *end = path + plen;
  while (s < end) {
    const char *slash = memchr(s, '/', (size_t)(end - s));
    const char *e = slash != NULL ? slash : end;
    if (nseg == 3 || !decode_segment(s, (size_t)(e - s), seg[nseg], sizeof seg[nseg])) {
      reply_error(c, 404, "no such API path (see docs/status-page.md)");
      return;
    }
    nseg++;
    s = slash != NULL ? slash + 1 : end;
  }
  if (nseg == 0) {
    reply_error(c, 404, "no such API path (see docs/status-page.md)");
    return;
  }
  if (post) {
    if (who == WHO_BEARER) goto forbidden;
    action(c, seg, nseg);
    return;
  }
  if (!get) goto not_allowed;
  if (nseg == 1 && strcmp(seg[0], "state") == 0) {
    reply_json(c, 200, state_doc(c->sp));
  } else if (nseg == 1 && strcmp(seg[0], "queue") == 0) {
    if (who == WHO_BEARER) goto forbidden;
    reply_json(c, 200, queue_doc(c->sp));
  } else if (nseg == 1 && strcmp(seg[0], "usage") == 0) {
    reply_json(c, 200, usage_doc(c->sp));
  } else if (nseg == 1 && strcmp(seg[0], "timeline") == 0) {
    reply_json(c, 200, qcc_timeline_history(c->sp->p.journal, QCC_PAGE_TIMELINE_MAX));
  } else if (nseg == 1 && strcmp(seg[0], "events") == 0) {
    if (strcmp(method, "GET") != 0) goto not_allowed; /* a HEAD stream would never end */
    if (c->areq != NULL) admin_events(c);
    else start_sse(c);
  } else {
    reply_error(c, 404, "no such API path (see docs/status-page.md)");
  }
  return;
not_allowed:
  reply_error(c, 405, "method not allowed here");
  return;
forbidden:
  reply_error(c, 403, "a client token reads state, events and usage only; log in with "
                      "`qccc dashboard` for the rest");
}

/* ---- the listener's checks ---------------------------------------------------- */

static bool host_ok(const struct qcc_statuspage *sp, const struct qcc_header *h) {
  if (h == NULL) return false;
  const char *names[] = {"127.0.0.1", "localhost", "[::1]", sp->host, sp->address};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char want[200];
    if (names[i][0] == '\0') continue;
    if (i == 4) snprintf(want, sizeof want, "%s", names[i]); /* already HOST:PORT */
    else if (strchr(names[i], ':') != NULL && names[i][0] != '[') /* a bare IPv6 address */
      snprintf(want, sizeof want, "[%s]:%s", names[i], sp->port);
    else snprintf(want, sizeof want, "%s:%s", names[i], sp->port);
    if (header_equals(h, want)) return true;
  }
  return false;
}

/* The value of cookie NAME in the Cookie header(s), or NULL. */
static const char *cookie(const struct qcc_request *req, const char *name, size_t *len) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < req->header_count; i++) {
    const struct qcc_header *h = &req->headers[i];
    if (h->name_len != 6 || strncasecmp(h->name, "cookie", 6) != 0) continue;
    const char *s = h->value, *end = h->value + h->value_len;
    while (s < end) {
      while (s < end && (*s == ' ' || *s == ';')) s++;
      const char *e = memchr(s, ';', (size_t)(end - s));
      if (e == NULL) e = end;
      if ((size_t)(e - s) > nl && memcmp(s, name, nl) == 0 && s[nl] == '=') {
        *len = (size_t)(e - s - (ptrdiff_t)nl - 1);
        return s + nl + 1;
      }
      s = e;
    }
  }
  return NULL;
}

static bool bearer_ok(const struct qcc_request *req) {
  if (req->gen == NULL || qcc_keystore_token_count(req->gen->keys) == 0) return false;
  const struct qcc_header *h = find_header(req, "authorization");
  if (h != NULL && h->value_len > 7 && strncasecmp(h->value, "bearer ", 7) == 0)
    return qcc_keystore_token_ok(req->gen->keys, h->value + 7, h->value_len - 7, NULL);
  h = find_header(req, "x-api-key");
  return h != NULL && qcc_keystore_token_ok(req->gen->keys, h->value, h->value_len, NULL);
}

/* GET /qcc/login?t=TOKEN: a login link. */
static void login(struct qcc_page_call *c, const char *query) {
  struct qcc_statuspage *sp = c->sp;
  const char *t = query != NULL ? strstr(query, "t=") : NULL;
  if (t != NULL && t != query && t[-1] != '&') t = NULL;
  size_t tl = t != NULL ? strcspn(t + 2, "&#") : 0;
  char sid[QCC_PAGE_TOKEN_LEN + 1];
  if (t == NULL || !qcc_pagesession_redeem(sp->sessions, t + 2, tl, mono_ms(sp), sid)) {
    reply_error(c, 401, "this login link is unknown, used or expired: run `qccc dashboard` "
                        "for a new one");
    return;
  }
  char set[200];
  snprintf(set, sizeof set, COOKIE_NAME "=%s; Path=/qcc/; HttpOnly; SameSite=Strict; Max-Age=%u%s",
           sid, QCC_PAGE_SESSION_TTL_MS / 1000, sp->p.tls ? "; Secure" : "");
  struct qcc_header h[] = {{"set-cookie", 10, set, strlen(set)}, {"location", 8, "/qcc/", 5}};
  explicit_bzero(sid, sizeof sid);
  reply(c, 303, "application/json", "no-store", "{}", 2, h, 2);
  explicit_bzero(set, sizeof set);
}

bool qcc_statuspage_owns(const char *target, size_t len) {
  if (len < 4 || memcmp(target, "/qcc", 4) != 0) return false;
  return len == 4 || target[4] == '/' || target[4] == '?';
}

struct qcc_page_call *qcc_statuspage_start(void *spv, const struct qcc_request *req,
                                           const struct qcc_sink_ops *ops, void *sink) {
  struct qcc_statuspage *sp = spv;
  struct qcc_page_call *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  *c = (struct qcc_page_call){.sp = sp, .ops = ops, .sink = sink};
  const char *target = req->target;
  const char *q = strchr(target, '?');
  size_t plen = q != NULL ? (size_t)(q - target) : strlen(target);
  const char *path = target + 4; /* after "/qcc" */
  size_t sublen = plen - 4;
  bool post = strcmp(req->method, "POST") == 0;

  /* DNS rebinding: a page of another site, resolved to 127.0.0.1, names its own host. */
  const struct qcc_header *host = find_header(req, "host");
  if (!host_ok(sp, host)) {
    reply_error(c, 421, "the Host header does not name this listener");
    return c;
  }
  if (sublen == 6 && memcmp(path, "/login", 6) == 0) {
    if (strcmp(req->method, "GET") != 0) /* only a browser following the link spends it */
      reply_error(c, 405, "the login link is opened with GET");
    else
      login(c, q != NULL ? q + 1 : NULL);
    return c;
  }
  enum who who = WHO_NOBODY;
  char csrf[QCC_PAGE_TOKEN_LEN + 1] = "";
  size_t cl = 0;
  const char *sid = cookie(req, COOKIE_NAME, &cl);
  if (sid != NULL && qcc_pagesession_check(sp->sessions, sid, cl, mono_ms(sp), csrf)) {
    who = WHO_SESSION;
  } else if (bearer_ok(req)) {
    who = WHO_BEARER;
  }
  if (who == WHO_NOBODY) {
    reply_error(c, 401, "log in with the link `qccc dashboard` prints");
    return c;
  }
  if (post && who == WHO_SESSION) {
    /* A form or fetch from another origin carries our cookie only if the
     * browser ignores SameSite; the Origin and the token stop it anyway. */
    const struct qcc_header *origin = find_header(req, "origin");
    char want[240];
    snprintf(want, sizeof want, "%s://%.*s", sp->p.tls ? "https" : "http", (int)host->value_len,
             host->value);
    if (!header_equals(origin, want)) {
      reply_error(c, 403, "cross-origin request refused");
      return c;
    }
    const struct qcc_header *tok = find_header(req, "x-csrf-token");
    unsigned char diff = tok == NULL || tok->value_len != QCC_PAGE_TOKEN_LEN;
    if (diff == 0) /* every byte compared: no early exit */
      for (size_t i = 0; i < QCC_PAGE_TOKEN_LEN; i++) diff |= (unsigned char)(tok->value[i] ^ csrf[i]);
    if (diff != 0) {
      reply_error(c, 403, "missing or wrong CSRF token");
      return c;
    }
  }
  if (who == WHO_SESSION && sublen == 12 && memcmp(path, "/api/session", 12) == 0) {
    reply_json(c, 200, json_pack("{s:s}", "csrf", csrf));
    return c;
  }
  char m[8];
  snprintf(m, sizeof m, "%s", req->method);
  route(c, m, path, sublen, who, req);
  return c;
}

void qcc_statuspage_cancel(struct qcc_page_call *c) {
  if (c == NULL) return;
  if (c->waiting) {
    c->cancelled = true; /* action_cb frees it */
    return;
  }
  call_free(c);
}

/* ---- the admin socket --------------------------------------------------------- */

static void h_page(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *ctx = arg;
  struct qcc_statuspage *sp = ctx->page;
  if (sp == NULL) {
    qcc_admin_reply_error(req, 503, "status page not available");
    return;
  }
  struct qcc_page_call *c = calloc(1, sizeof *c);
  if (c == NULL) {
    qcc_admin_reply_error(req, 500, "out of memory");
    return;
  }
  *c = (struct qcc_page_call){.sp = sp, .areq = req};
  const char *path = qcc_admin_req_path(req);
  route(c, qcc_admin_req_method(req), path + 4, strlen(path + 4), WHO_OWNER, NULL);
}

/* POST /qcc/login-link: a single-use link for `qccc dashboard`. */
static void h_link(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *ctx = arg;
  struct qcc_statuspage *sp = ctx->page;
  if (sp == NULL) {
    qcc_admin_reply_error(req, 503, "status page not available");
    return;
  }
  char tok[QCC_PAGE_TOKEN_LEN + 1];
  struct qcc_err err = {0};
  if (qcc_pagesession_link(sp->sessions, mono_ms(sp), sp->p.link_ttl_ms, tok, &err) != 0) {
    qcc_admin_reply_error(req, 500, "%s", err.msg);
    return;
  }
  char url[400];
  snprintf(url, sizeof url, "%s://%s/qcc/login?t=%s", sp->p.tls ? "https" : "http", sp->address,
           tok);
  uint64_t ttl = sp->p.link_ttl_ms != 0 ? sp->p.link_ttl_ms : QCC_PAGE_LINK_TTL_MS;
  qcc_admin_reply_json(req, 200,
                       json_pack("{s:s,s:i}", "url", url, "expires_in_s", (int)((ttl + 999) / 1000)));
  explicit_bzero(tok, sizeof tok);
  explicit_bzero(url, sizeof url);
}

static const struct qcc_admin_route admin_routes[] = {
    {"GET", "/qcc", h_page},
    {"GET", "/qcc/*", h_page},
    {"GET", "/qcc/api/*", h_page},
    {"POST", "/qcc/api/*", h_page},
    {"POST", "/qcc/api/*/*/*", h_page},
    {"POST", "/qcc/login-link", h_link},
};

const struct qcc_admin_route *qcc_statuspage_admin_routes(size_t *count) {
  *count = sizeof admin_routes / sizeof admin_routes[0];
  return admin_routes;
}

/* ---- timeline feeds ------------------------------------------------------------ */

void qcc_statuspage_route_event(struct qcc_statuspage *sp, const struct qcc_route_event *e) {
  if (sp == NULL || sp->sse == NULL) return;
  int64_t when = wall_ms() - (int64_t)(mono_ms(sp) - e->time_ms);
  json_t *en = qcc_timeline_entry(when, qcc_route_event_name(e->kind), e->endpoint, e->profile, e->from, e->to,
                     e->reason);
  if (en != NULL) json_array_append_new(sp->pending, en);
  push_soon(sp);
}

void qcc_statuspage_note(struct qcc_statuspage *sp, const char *kind, const char *text) {
  if (sp == NULL || sp->sse == NULL) return;
  json_t *en = qcc_timeline_entry(wall_ms(), kind, NULL, NULL, NULL, NULL, text);
  if (en != NULL) json_array_append_new(sp->pending, en);
  push_soon(sp);
}

size_t qcc_statuspage_sse_clients(const struct qcc_statuspage *sp) { return sp->sse_count; }

/* ---- life ----------------------------------------------------------------------- */

int qcc_statuspage_new(const struct qcc_statuspage_params *p, struct qcc_statuspage **out,
                       struct qcc_err *err) {
  *out = NULL;
  struct qcc_statuspage *sp = calloc(1, sizeof *sp);
  if (sp == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  sp->p = *p;
  snprintf(sp->address, sizeof sp->address, "%s", p->address != NULL ? p->address : "");
  /* Reached through the address users know: a wildcard bind is 127.0.0.1 here. */
  if (strncmp(sp->address, "0.0.0.0:", 8) == 0) {
    char tail[16];
    snprintf(tail, sizeof tail, "%s", sp->address + 8);
    snprintf(sp->address, sizeof sp->address, "127.0.0.1:%s", tail);
  } else if (strncmp(sp->address, "[::]:", 5) == 0) {
    char tail[16];
    snprintf(tail, sizeof tail, "%s", sp->address + 5);
    snprintf(sp->address, sizeof sp->address, "[::1]:%s", tail);
  }
  /* A wildcard bind names no host a browser would send. */
  bool wild = p->host == NULL || strcmp(p->host, "0.0.0.0") == 0 || strcmp(p->host, "::") == 0;
  snprintf(sp->host, sizeof sp->host, "%s", wild ? "" : p->host);
  const char *colon = strrchr(sp->address, ':');
  snprintf(sp->port, sizeof sp->port, "%s", colon != NULL ? colon + 1 : "");
  sp->pending = json_array();
  if (sp->pending == NULL || qcc_pagesession_new(&sp->sessions, err) != 0) {
    json_decref(sp->pending);
    free(sp);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  ev_init(&sp->tick, tick_cb);
  sp->tick.repeat = TICK_S;
  sp->tick.data = sp;
  ev_timer_init(&sp->soon, soon_cb, 0.0, 0.0);
  sp->soon.data = sp;
  *out = sp;
  return 0;
}

void qcc_statuspage_free(struct qcc_statuspage **psp) {
  if (psp == NULL || *psp == NULL) return;
  struct qcc_statuspage *sp = *psp;
  ev_timer_stop(sp->p.loop, &sp->tick);
  ev_timer_stop(sp->p.loop, &sp->soon);
  /* Streams still open belong to client connections, which the server
   * closes first (their cancel unlinks them). */
  while (sp->sse != NULL) call_free(sp->sse);
  qcc_pagesession_free(&sp->sessions);
  json_decref(sp->pending);
  free(sp->last_state);
  free(sp);
  *psp = NULL;
}
