#include "prober.h"

#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlloop.h"
#include "events.h"
#include "egress.h"
#include "generation.h"
#include "headers.h"
#include "keystore.h"
#include "log.h"
#include "router.h"
#include "runtime.h"
#include "schema/enums.h"
#include "tableset.h"

#define DEF_INTERVAL_MS 30000u
#define DEF_TIMEOUT_MS 5000u
#define MAX_RETRIES 10u
#define ANTHROPIC_VERSION "anthropic-version: 2023-06-01"

struct probe {
  struct qcc_prober *p;
  struct probe *prev, *next;
  CURL *easy;
  struct qcc_curl_job job;      /* the loop's completion callback */
  struct curl_slist *hdrs;
  struct curl_slist *auth_node; /* wiped before the list is freed */
  char *url;
  char *body;
  struct qcc_generation *gen;   /* pinned while the probe runs */
  uint64_t sid;
  char id[64];
  unsigned kind;                /* enum qcc_check_kind */
  uint32_t timeout_ms;
  uint32_t retries_left;
  uint32_t tries;
  uint64_t t0_us;
  bool feed;                    /* result goes to the router and journal */
  qcc_probe_cb cb;
  void *ctx;
  char answer[256];
  size_t alen;
  char errbuf[CURL_ERROR_SIZE];
};

struct qcc_prober {
  struct ev_loop *loop;
  struct qcc_curlloop *cl;  /* the multi handle on the loop */
  ev_timer tick;
  struct qcc_router *router;
  struct qcc_tableset *tables;
  struct qcc_events *events;
  struct probe *all;
  size_t inflight;
  uint64_t completed;
};

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- probes ----------------------------------------------------------------- */

static void probe_free(struct qcc_prober *p, struct probe *pr) {
  if (pr->prev != NULL) pr->prev->next = pr->next;
  else p->all = pr->next;
  if (pr->next != NULL) pr->next->prev = pr->prev;
  p->inflight--;
  if (pr->easy != NULL) {
    qcc_curlloop_remove(p->cl, pr->easy);
    curl_easy_cleanup(pr->easy);
  }
  if (pr->auth_node != NULL && pr->auth_node->data != NULL)
    OPENSSL_cleanse(pr->auth_node->data, strlen(pr->auth_node->data));
  curl_slist_free_all(pr->hdrs);
  free(pr->url);
  free(pr->body);
  qcc_generation_unref(&pr->gen);
  free(pr);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  struct probe *pr = ud;
  size_t len = size * nmemb;
  size_t room = sizeof pr->answer - 1 - pr->alen;
  size_t n = len < room ? len : room;
  memcpy(pr->answer + pr->alen, ptr, n);
  pr->alen += n;
  pr->answer[pr->alen] = '\0';
  return len; /* the rest is read and dropped */
}

static int add_line(struct probe *pr, const char *line) {
  struct curl_slist *n = curl_slist_append(pr->hdrs, line);
  if (n == NULL) return -1;
  pr->hdrs = n;
  return 0;
}

/* A model the upstream knows: the endpoint's first model-map target. */
static const char *probe_model(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep) {
  if (ep->model_map_count > 0) {
    const struct qcc_tbl_pair *m = qcc_table_model_map(t, ep->model_map_first);
    const char *to = qcc_table_str(t, m->value);
    if (to[0] != '\0') return to;
  }
  return QCC_PROBE_MODEL;
}

#define SETOPT(opt, val)                                              \
  do {                                                                \
    if (curl_easy_setopt(e, opt, val) != CURLE_OK) return -1;         \
  } while (0)

static int configure(struct probe *pr, const struct qcc_tbl_endpoint *ep, const char *key) {
  const struct qcc_table *t = pr->gen->table;
  const char *base = qcc_table_str(t, ep->base_url);
  const char *path = pr->kind == QCC_CHECK_MODELS         ? "/v1/models"
                     : pr->kind == QCC_CHECK_COUNT_TOKENS ? "/v1/messages/count_tokens"
                     : pr->kind == QCC_CHECK_MESSAGES     ? "/v1/messages"
                                                          : "";
  size_t need = strlen(base) + strlen(path) + 1;
  pr->url = malloc(need);
  if (pr->url == NULL) return -1;
  snprintf(pr->url, need, "%s%s", base, path);
  CURL *e = pr->easy;
  SETOPT(CURLOPT_URL, pr->url);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_ERRORBUFFER, pr->errbuf);
  SETOPT(CURLOPT_TIMEOUT_MS, (long)pr->timeout_ms);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)pr->timeout_ms);
  /* a probe of a name the DNS never answers is removed without waiting
   * for the resolver thread (the loop would stop for the DNS timeout) */
  SETOPT(CURLOPT_QUICK_EXIT, 1L);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(CURLOPT_WRITEDATA, pr);
  if (qcc_egress_apply(pr->gen->egress, ep, e) != 0) return -1;
  if (pr->kind == QCC_CHECK_TCP) {
    /* connect (and for https the TLS handshake), then stop */
    SETOPT(CURLOPT_CONNECT_ONLY, 1L);
    /* a fresh connection: a pooled one would prove nothing */
    SETOPT(CURLOPT_FRESH_CONNECT, 1L);
    return 0;
  }
  if (add_line(pr, ANTHROPIC_VERSION) != 0 || add_line(pr, "Expect:") != 0) return -1;
  if (key != NULL && key[0] != '\0') {
    char line[1024];
    int n = qcc_hdr_auth_line((enum qcc_auth_style)ep->auth, key, line, sizeof line);
    int rc = n < 0 ? -1 : add_line(pr, line);
    OPENSSL_cleanse(line, sizeof line);
    if (rc != 0) return -1;
    struct curl_slist *last = pr->hdrs;
    while (last->next != NULL) last = last->next;
    pr->auth_node = last;
  }
  if (pr->kind == QCC_CHECK_MODELS) {
    SETOPT(CURLOPT_HTTPGET, 1L);
  } else {
    const char *model = probe_model(t, ep);
    size_t bn = strlen(model) + 160;
    pr->body = malloc(bn);
    if (pr->body == NULL) return -1;
    if (pr->kind == QCC_CHECK_MESSAGES)
      snprintf(pr->body, bn,
               "{\"model\":\"%s\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\","
               "\"content\":\"ping\"}]}",
               model);
    else
      snprintf(pr->body, bn,
               "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"ping\"}]}",
               model);
    if (add_line(pr, "Content-Type: application/json") != 0) return -1;
    SETOPT(CURLOPT_POSTFIELDS, pr->body);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(pr->body));
  }
  SETOPT(CURLOPT_HTTPHEADER, pr->hdrs);
  return 0;
}
#undef SETOPT

static void report(struct qcc_prober *p, struct probe *pr, const struct qcc_probe_result *res) {
  p->completed++;
  if (pr->cb != NULL) pr->cb(pr->ctx, res);
  if (!pr->feed) return;
  const struct qcc_generation *g = qcc_tableset_current(p->tables);
  /* the table may have been swapped while the probe ran: by stable id */
  int64_t i = qcc_table_find_endpoint(g->table, pr->sid);
  if (i >= 0 && qcc_router_stable_id(p->router, (uint32_t)i) == pr->sid)
    qcc_router_health_result(p->router, (uint32_t)i, res->ok, res->latency_ms,
                             res->ok ? NULL : res->error, qcc_runtime_now_ms());
  if (p->events != NULL)
    qcc_events_health_check(p->events, pr->sid, res->ok, res->http_status,
                            res->latency_ms * 1000u, res->error);
}

static void fill_result(struct probe *pr, CURLcode rc, struct qcc_probe_result *res) {
  *res = (struct qcc_probe_result){.stable_id = pr->sid, .tries = pr->tries};
  snprintf(res->endpoint, sizeof res->endpoint, "%s", pr->id);
  snprintf(res->kind, sizeof res->kind, "%s", qcc_enum_name(&qcc_check_desc, pr->kind));
  res->latency_ms = (uint32_t)((now_us() - pr->t0_us) / 1000u);
  long code = 0;
  curl_easy_getinfo(pr->easy, CURLINFO_RESPONSE_CODE, &code);
  res->http_status = (int)code;
  snprintf(res->answer, sizeof res->answer, "%s", pr->answer);
  if (rc != CURLE_OK) {
    snprintf(res->error, sizeof res->error, "%.*s", (int)sizeof res->error - 1,
             pr->errbuf[0] != '\0' ? pr->errbuf : curl_easy_strerror(rc));
    return;
  }
  if (pr->kind == QCC_CHECK_TCP) {
    res->ok = true;
    return;
  }
  if (code == 401 || code == 403) {
    snprintf(res->error, sizeof res->error, "HTTP %ld: key rejected", code);
  } else if (code >= 500 || code < 100) {
    snprintf(res->error, sizeof res->error, "HTTP %ld", code);
  } else {
    res->ok = true;
  }
}

/* The loop's completion callback for a probe's transfer. */
static void probe_done(struct qcc_curl_job *job, CURL *easy, CURLcode rc) {
  (void)easy;
  struct probe *pr = job->arg;
  struct qcc_prober *p = pr->p;
  struct qcc_probe_result res;
  fill_result(pr, rc, &res);
  if (!res.ok && pr->retries_left > 0) {
    /* health.retry_count: try again before calling it a failure */
    pr->retries_left--;
    pr->tries++;
    pr->alen = 0;
    pr->answer[0] = '\0';
    pr->errbuf[0] = '\0';
    pr->t0_us = now_us();
    qcc_curlloop_remove(p->cl, pr->easy);
    if (qcc_curlloop_add(p->cl, pr->easy, &pr->job) == 0) return;
  }
  report(p, pr, &res);
  probe_free(p, pr);
}

/* Start a probe of endpoint GIDX of the current generation. */
static int probe_start(struct qcc_prober *p, uint32_t gidx, bool feed, qcc_probe_cb cb, void *ctx,
                       struct qcc_err *err) {
  struct qcc_generation *g = qcc_tableset_current(p->tables);
  const struct qcc_table *t = g->table;
  if (gidx >= qcc_table_endpoint_count(t))
    return qcc_err_set(err, ENOENT, "no endpoint with index %u", gidx);
  const struct qcc_tbl_settings *st = qcc_table_settings(t);
  const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, gidx);
  struct probe *pr = calloc(1, sizeof *pr);
  if (pr == NULL) return qcc_err_set(err, ENOMEM, "out of memory starting a health check");
  pr->p = p;
  pr->gen = qcc_generation_ref(g);
  pr->sid = ep->stable_id;
  snprintf(pr->id, sizeof pr->id, "%s", qcc_table_str(t, ep->id));
  pr->kind = st->health_check < QCC_CHECK_COUNT ? st->health_check : QCC_CHECK_TCP;
  pr->timeout_ms = st->health_timeout_ms != 0 ? st->health_timeout_ms : DEF_TIMEOUT_MS;
  pr->retries_left = st->retry_count < MAX_RETRIES ? st->retry_count : MAX_RETRIES;
  pr->tries = 1;
  pr->feed = feed;
  pr->cb = cb;
  pr->ctx = ctx;
  pr->next = p->all;
  if (p->all != NULL) p->all->prev = pr;
  p->all = pr;
  p->inflight++;
  const char *why = NULL;
  const char *key = qcc_keystore_endpoint_key(g->keys, gidx, &why);
  if (key == NULL && pr->kind != QCC_CHECK_TCP) {
    struct qcc_probe_result res = {.stable_id = pr->sid, .tries = 1};
    snprintf(res.endpoint, sizeof res.endpoint, "%s", pr->id);
    snprintf(res.kind, sizeof res.kind, "%s", qcc_enum_name(&qcc_check_desc, pr->kind));
    snprintf(res.error, sizeof res.error, "no key: %s", why != NULL ? why : "not resolved");
    report(p, pr, &res);
    probe_free(p, pr);
    return 0;
  }
  pr->easy = curl_easy_init();
  if (pr->easy == NULL || configure(pr, ep, key) != 0) {
    probe_free(p, pr);
    return qcc_err_set(err, ENOMEM, "out of memory starting a health check");
  }
  pr->t0_us = now_us();
  pr->job = (struct qcc_curl_job){.done = probe_done, .arg = pr};
  if (qcc_curlloop_add(p->cl, pr->easy, &pr->job) != 0) {
    probe_free(p, pr);
    return qcc_err_set(err, EIO, "cannot start a health check");
  }
  return 0;
}

/* qcc_router_health_due callback: IDX is the router's (current) index. */
static void due_cb(void *ctx, uint32_t idx) {
  struct qcc_prober *p = ctx;
  struct qcc_generation *g = qcc_tableset_current(p->tables);
  uint64_t sid = qcc_router_stable_id(p->router, idx);
  int64_t gidx = qcc_table_find_endpoint(g->table, sid);
  struct qcc_err err = {0};
  if (gidx < 0 || probe_start(p, (uint32_t)gidx, true, NULL, NULL, &err) != 0)
    qcc_log_warn("health check of endpoint %u not started: %s", idx,
                 err.msg[0] != '\0' ? err.msg : "not in the current table");
}

static double tick_seconds(const struct qcc_prober *p) {
  const struct qcc_tbl_settings *st = qcc_table_settings(qcc_tableset_current(p->tables)->table);
  uint32_t iv = st->check_interval_ms != 0 ? st->check_interval_ms : DEF_INTERVAL_MS;
  double s = iv / 10000.0; /* a tenth of the interval: due times are kept to ~10% */
  return s < 0.05 ? 0.05 : s > 1.0 ? 1.0 : s;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_prober *p = w->data;
  qcc_router_health_due(p->router, qcc_runtime_now_ms(), due_cb, p);
  /* intervals may change with a table swap */
  w->repeat = tick_seconds(p);
  ev_timer_again(loop, w);
}

int qcc_prober_new(struct ev_loop *loop, struct qcc_router *router, struct qcc_tableset *tables,
                   struct qcc_events *events, struct qcc_prober **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_prober *p = calloc(1, sizeof *p);
  if (p == NULL) return qcc_err_set(err, ENOMEM, "out of memory creating the health checker");
  if (qcc_curlloop_new(loop, NULL, NULL, &p->cl, err) != 0) {
    free(p);
    return -1;
  }
  p->loop = loop;
  p->router = router;
  p->tables = tables;
  p->events = events;
  ev_init(&p->tick, tick_cb);
  p->tick.data = p;
  *out = p;
  return 0;
}

void qcc_prober_start(struct qcc_prober *p) {
  p->tick.repeat = tick_seconds(p);
  ev_timer_again(p->loop, &p->tick);
}

void qcc_prober_stop(struct qcc_prober *p) {
  if (p != NULL) ev_timer_stop(p->loop, &p->tick);
}

void qcc_prober_free(struct qcc_prober **pp) {
  if (pp == NULL || *pp == NULL) return;
  struct qcc_prober *p = *pp;
  ev_timer_stop(p->loop, &p->tick);
  while (p->all != NULL) probe_free(p, p->all);
  qcc_curlloop_free(&p->cl);
  free(p);
  *pp = NULL;
}

int qcc_prober_check_now(struct qcc_prober *p, size_t *started, struct qcc_err *err) {
  const struct qcc_table *t = qcc_tableset_current(p->tables)->table;
  size_t n = 0;
  for (uint32_t i = 0; i < qcc_table_endpoint_count(t); i++) {
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, i);
    if (!ep->enabled) continue;
    if (probe_start(p, i, true, NULL, NULL, err) != 0) {
      if (started != NULL) *started = n;
      return -1;
    }
    n++;
  }
  if (started != NULL) *started = n;
  return 0;
}

int qcc_prober_test_endpoint(struct qcc_prober *p, uint32_t idx, qcc_probe_cb cb, void *ctx,
                             struct qcc_err *err) {
  return probe_start(p, idx, false, cb, ctx, err);
}

size_t qcc_prober_inflight(const struct qcc_prober *p) { return p->inflight; }
uint64_t qcc_prober_completed(const struct qcc_prober *p) { return p->completed; }
