/* Warm upstream connections (warmer.h). */
#include "warmer.h"

#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlloop.h"
#include "egress.h"
#include "generation.h"
#include "log.h"
#include "proxy.h"
#include "router.h"
#include "runtime.h"
#include "tableset.h"

#define WARM_ENV "QCC_KEEP_WARM"
#define WARM_TIMEOUT_MS 10000L
#define TICK_MAX_S 5.0
#define TICK_MIN_S 0.2
#define ORIGIN_MAX 256

struct origin {
  struct qcc_warmer *w;
  char *key;               /* scheme://host:port and its trust: what a connection serves */
  uint64_t used_ms;        /* last request seen in flight or started, or warmed */
  uint64_t seen;           /* sum of its endpoints' total requests at the last tick */
  bool live;               /* still in the table at the last tick */
  bool fresh;              /* not warmed yet: warm at once */
  uint32_t interval_ms;    /* its endpoints' shortest keep_warm at the last tick, 0 = off */
  CURL *easy;              /* the warm-up in flight, or NULL */
  struct qcc_curlloop *cl; /* the proxy's loop it went on */
  struct qcc_curl_job job;
  struct qcc_generation *gen; /* pinned while it runs: its CA store and proxy */
  char *url;
  uint64_t t0_ms;
  char errbuf[CURL_ERROR_SIZE];
};

struct qcc_warmer {
  struct ev_loop *loop;
  struct qcc_proxy *proxy;
  struct qcc_router *router;
  struct qcc_tableset *tables;
  struct qcc_warmer_params prm;
  ev_timer tick;
  double step_s; /* the tick's period */
  struct origin *o[ORIGIN_MAX];
  size_t n;
  uint64_t last_use_ms; /* last request forwarded anywhere */
  uint64_t sent, opened;
};

void qcc_warmer_params_default(struct qcc_warmer_params *p) {
  *p = (struct qcc_warmer_params){.override = false};
  const char *e = getenv(WARM_ENV);
  if (e == NULL || e[0] == '\0') return;
  char *end = NULL;
  double iv = strtod(e, &end);
  if (end == e || iv < 0 || iv > 3600) return;
  double kf = 30 * 60; /* upstream.keep_warm_for's default */
  if (*end == ':') {
    const char *s = end + 1;
    kf = strtod(s, &end);
    if (end == s || kf < 0 || kf > 86400) return;
  }
  if (*end != '\0') return;
  p->override = true;
  p->interval_ms = (uint32_t)(iv * 1000.0);
  p->keep_for_ms = (uint32_t)(kf * 1000.0);
}

/* "https://h:1/x" -> "https://h:1" (length). */
static size_t origin_len(const char *url) {
  const char *s = strstr(url, "://");
  if (s == NULL) return strlen(url);
  const char *slash = strchr(s + 3, '/');
  return slash == NULL ? strlen(url) : (size_t)(slash - url);
}

/* "https://h:1 (ca_file /x.pem)": endpoints on one host:port with
 * different trust never share a connection (egress.c), so each trust gets a
 * warm connection of its own. */
static void origin_key(const struct qcc_generation *g, const struct qcc_tbl_endpoint *ep,
                       char *buf, size_t cap) {
  const char *base = qcc_table_str(g->table, ep->base_url);
  const char *trust = g->egress != NULL ? qcc_egress_trust_source(g->egress, ep) : "";
  int len = (int)origin_len(base);
  if (trust[0] != '\0') snprintf(buf, cap, "%.*s (%s)", len, base, trust);
  else snprintf(buf, cap, "%.*s", len, base);
}

static struct origin *origin_find(struct qcc_warmer *w, const char *key) {
  for (size_t i = 0; i < w->n; i++)
    if (strcmp(w->o[i]->key, key) == 0) return w->o[i];
  return NULL;
}

static void warm_end(struct origin *o) {
  if (o->easy != NULL) {
    qcc_curlloop_remove(o->cl, o->easy);
    curl_easy_cleanup(o->easy);
    o->easy = NULL;
  }
  qcc_generation_unref(&o->gen);
  free(o->url);
  o->url = NULL;
}

static void origin_free(struct origin *o) {
  warm_end(o);
  free(o->key);
  free(o);
}

static void warm_done(struct qcc_curl_job *job, CURL *easy, CURLcode rc) {
  struct origin *o = job->arg;
  long status = 0, conns = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &conns);
  uint64_t now = qcc_runtime_now_ms();
  if (rc == CURLE_OK)
    qcc_log_debug("warm: %s answered %ld in %llu ms on %s connection", o->key, status,
                  (unsigned long long)(now - o->t0_ms), conns > 0 ? "a new" : "a kept");
  else
    qcc_log_debug("warm: %s failed: %s", o->key, o->errbuf[0] != '\0' ? o->errbuf : curl_easy_strerror(rc));
  if (conns > 0) o->w->opened++;
  qcc_proxy_learn_protocol(o->w->proxy, o->url, easy);
  o->used_ms = now;
  /* it spoke h2 (or stopped): requests now go on the other pool, which has
   * no connection yet; warm that one at the next tick */
  if (qcc_proxy_curlloop_for(o->w->proxy, o->url) != o->cl) o->fresh = true;
  /* a completion may not remove its own handle from inside curl: the loop
   * delivers completions after curl returned, so this is safe */
  warm_end(o);
}

#define SETOPT(opt, val)                                        \
  do {                                                          \
    if (curl_easy_setopt(e, opt, val) != CURLE_OK) goto fail;   \
  } while (0)

/* The options that decide whether curl may share a connection are the
 * proxy's (proxy.c configure): same HTTP version, TLS trust and proxy. */
static void warm_start(struct qcc_warmer *w, struct origin *o, const struct qcc_tbl_endpoint *ep,
                       uint64_t now) {
  struct qcc_generation *g = qcc_tableset_current(w->tables);
  const char *base = qcc_table_str(g->table, ep->base_url);
  size_t need = strlen(base) + sizeof "/v1/models";
  o->url = malloc(need);
  CURL *e = curl_easy_init();
  if (o->url == NULL || e == NULL) goto fail;
  snprintf(o->url, need, "%s/v1/models", base);
  o->errbuf[0] = '\0';
  SETOPT(CURLOPT_URL, o->url);
  SETOPT(CURLOPT_HTTPGET, 1L);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_ERRORBUFFER, o->errbuf);
  SETOPT(CURLOPT_TIMEOUT_MS, WARM_TIMEOUT_MS);
  SETOPT(CURLOPT_TCP_NODELAY, 1L);
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  SETOPT(CURLOPT_PIPEWAIT, strncmp(o->url, "https:", 6) == 0 ? 1L : 0L);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  if (qcc_egress_apply(g->egress, ep, e) != 0) goto fail;
  o->gen = qcc_generation_ref(g);
  o->easy = e;
  o->job = (struct qcc_curl_job){.done = warm_done, .arg = o};
  o->t0_ms = now;
  o->fresh = false;
  o->cl = qcc_proxy_curlloop_for(w->proxy, o->url);
  if (qcc_curlloop_add(o->cl, e, &o->job) != 0) {
    o->easy = NULL;
    goto fail;
  }
  w->sent++;
  o->used_ms = now;
  return;
fail:
  if (e != NULL) curl_easy_cleanup(e);
  qcc_generation_unref(&o->gen);
  free(o->url);
  o->url = NULL;
  o->used_ms = now; /* try again after a full interval, not at every tick */
  o->fresh = false;
}
#undef SETOPT

/* The tick: a fifth of the shortest interval (an origin is warmed at most
 * that late), within [TICK_MIN_S, TICK_MAX_S]; SHORTEST 0 = none is on. */
static double step_for(uint32_t shortest) {
  double step = shortest > 0 ? (double)shortest / 5000.0 : TICK_MAX_S;
  if (step > TICK_MAX_S) step = TICK_MAX_S;
  if (step < TICK_MIN_S) step = TICK_MIN_S;
  return step;
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_warmer *w = t->data;
  uint64_t now = qcc_runtime_now_ms();
  const struct qcc_generation *g = qcc_tableset_current(w->tables);
  const struct qcc_table *tb = g->table;
  char key[4608]; /* a base_url (<= 4096) and a trust source (< 400) */
  uint64_t keep_for = w->prm.override ? w->prm.keep_for_ms
                                      : qcc_table_settings(tb)->upstream_keep_warm_for_ms;
  uint32_t n = qcc_table_endpoint_count(tb);
  if (qcc_router_endpoint_count(w->router) < n) n = qcc_router_endpoint_count(w->router);
  for (size_t i = 0; i < w->n; i++) {
    w->o[i]->live = false;
    w->o[i]->interval_ms = 0;
  }
  /* per origin: total requests now, and whether one is in flight */
  uint64_t totals[ORIGIN_MAX] = {0};
  bool busy[ORIGIN_MAX] = {false};
  const struct qcc_tbl_endpoint *rep[ORIGIN_MAX] = {NULL};
  for (uint32_t i = 0; i < n; i++) {
    struct qcc_route_snapshot s;
    if (qcc_router_snapshot(w->router, i, now, &s) != 0) continue;
    if (!s.enabled || s.operator_disabled || s.key_rejected) continue;
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(tb, i);
    origin_key(g, ep, key, sizeof key);
    struct origin *o = origin_find(w, key);
    if (o == NULL) {
      if (w->n == ORIGIN_MAX) continue;
      o = calloc(1, sizeof *o);
      if (o == NULL || (o->key = strdup(key)) == NULL) {
        free(o);
        continue;
      }
      o->w = w;
      o->fresh = true; /* warmed at once: the first request then finds a connection */
      o->used_ms = now;
      o->seen = UINT64_MAX;
      w->o[w->n++] = o;
    }
    size_t k = 0;
    while (w->o[k] != o) k++;
    o->live = true;
    uint32_t iv = w->prm.override ? w->prm.interval_ms : ep->keep_warm_ms;
    if (iv > 0 && (o->interval_ms == 0 || iv < o->interval_ms)) o->interval_ms = iv;
    totals[k] += s.total_requests;
    if (s.inflight > 0) busy[k] = true;
    if (rep[k] == NULL || s.available) rep[k] = ep;
  }
  uint32_t shortest = 0;
  for (size_t k = 0; k < w->n;) {
    struct origin *o = w->o[k];
    if (!o->live) { /* gone from the table */
      origin_free(o);
      w->o[k] = w->o[--w->n];
      totals[k] = totals[w->n];
      busy[k] = busy[w->n];
      rep[k] = rep[w->n];
      continue;
    }
    if (busy[k] || (o->seen != UINT64_MAX && totals[k] != o->seen)) {
      o->used_ms = now;
      w->last_use_ms = now;
    }
    o->seen = totals[k];
    if (o->easy == NULL && o->interval_ms > 0 &&
        (o->fresh || now - o->used_ms >= o->interval_ms) && now - w->last_use_ms < keep_for)
      warm_start(w, o, rep[k], now);
    if (o->interval_ms > 0 && (shortest == 0 || o->interval_ms < shortest))
      shortest = o->interval_ms;
    k++;
  }
  double step = step_for(shortest);
  if (step != w->step_s) {
    w->step_s = step;
    w->tick.repeat = step;
    ev_timer_again(w->loop, &w->tick);
  }
}

int qcc_warmer_new(struct ev_loop *loop, struct qcc_proxy *proxy, struct qcc_router *router,
                   struct qcc_tableset *tables, const struct qcc_warmer_params *params,
                   struct qcc_warmer **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_warmer *w = calloc(1, sizeof *w);
  if (w == NULL) return qcc_err_set(err, ENOMEM, "out of memory creating the connection warmer");
  w->loop = loop;
  w->proxy = proxy;
  w->router = router;
  w->tables = tables;
  w->prm = *params;
  w->last_use_ms = qcc_runtime_now_ms();
  if (!w->prm.override || w->prm.interval_ms > 0) {
    /* the first tick (which warms every origin) one step in, as every
     * tick after it: a request that starts qcc-run's use of an origin
     * then usually finds that origin's warm-up done, not in flight (it
     * would open a second connection that nothing keeps warm) */
    uint32_t shortest = w->prm.override ? w->prm.interval_ms : 0;
    const struct qcc_table *tb = qcc_tableset_current(tables)->table;
    for (uint32_t i = 0; !w->prm.override && i < qcc_table_endpoint_count(tb); i++) {
      uint32_t iv = qcc_table_endpoint(tb, i)->keep_warm_ms;
      if (iv > 0 && (shortest == 0 || iv < shortest)) shortest = iv;
    }
    w->step_s = step_for(shortest);
    ev_timer_init(&w->tick, tick_cb, w->step_s, w->step_s);
    w->tick.data = w;
    ev_timer_start(loop, &w->tick);
    ev_unref(loop); /* the warmer alone does not keep qcc-run running */
  }
  *out = w;
  return 0;
}

void qcc_warmer_free(struct qcc_warmer **pw) {
  struct qcc_warmer *w = *pw;
  if (w == NULL) return;
  if (ev_is_active(&w->tick)) {
    ev_ref(w->loop);
    ev_timer_stop(w->loop, &w->tick);
  }
  for (size_t i = 0; i < w->n; i++) origin_free(w->o[i]);
  free(w);
  *pw = NULL;
}

void qcc_warmer_counts(const struct qcc_warmer *w, uint64_t *sent, uint64_t *opened) {
  *sent = w == NULL ? 0 : w->sent;
  *opened = w == NULL ? 0 : w->opened;
}
