#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "schema/usage.h"

/* ---- text builder -------------------------------------------------------- */

#define PROM_DEFAULT_CAP (4u << 20)

struct qcc_prom {
  char *buf;
  size_t len, size, cap;
  bool truncated;
};

int qcc_prom_new(size_t cap, struct qcc_prom **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_prom *w = calloc(1, sizeof *w);
  if (w == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  w->cap = cap != 0 ? cap : PROM_DEFAULT_CAP;
  w->size = w->cap < 16384 ? w->cap : 16384;
  w->buf = malloc(w->size + 1);
  if (w->buf == NULL) {
    free(w);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  w->buf[0] = '\0';
  *out = w;
  return 0;
}

void qcc_prom_free(struct qcc_prom **w) {
  if (w == NULL || *w == NULL) return;
  free((*w)->buf);
  free(*w);
  *w = NULL;
}

/* Append one whole line or nothing: a cut scrape must still parse. */
static void put_line(struct qcc_prom *w, const char *s, size_t n) {
  if (w->truncated) return;
  if (n > w->cap || w->cap - n < w->len) {
    w->truncated = true;
    return;
  }
  if (w->len + n > w->size) {
    size_t ns = w->size;
    while (ns < w->len + n) ns = ns > w->cap / 2 ? w->cap : ns * 2;
    char *nb = realloc(w->buf, ns + 1);
    if (nb == NULL) {
      w->truncated = true;
      return;
    }
    w->buf = nb;
    w->size = ns;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

/* A small growable line; lines longer than this are dropped whole. */
struct line {
  char b[2048];
  size_t n;
  bool over;
};

static void lput(struct line *l, const char *s, size_t n) {
  if (l->over || n > sizeof l->b - l->n) {
    l->over = true;
    return;
  }
  memcpy(l->b + l->n, s, n);
  l->n += n;
}

static void lputs(struct line *l, const char *s) { lput(l, s, strlen(s)); }

static void lprintf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lprintf(struct line *l, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= sizeof tmp) {
    l->over = true;
    return;
  }
  lput(l, tmp, (size_t)k);
}

static const char *type_name(enum qcc_prom_type t) {
  switch (t) {
  case QCC_PROM_COUNTER: return "counter";
  case QCC_PROM_GAUGE: return "gauge";
  default: return "histogram";
  }
}

/* HELP text escapes backslash and newline; label values also the quote. */
static void put_escaped(struct line *l, const char *s, bool quote) {
  for (const char *p = s; *p; p++) {
    if (*p == '\\') lputs(l, "\\\\");
    else if (*p == '\n') lputs(l, "\\n");
    else if (quote && *p == '"') lputs(l, "\\\"");
    else lput(l, p, 1);
  }
}

void qcc_prom_family(struct qcc_prom *w, const char *name, enum qcc_prom_type type,
                     const char *help) {
  struct line l = {.n = 0};
  lputs(&l, "# HELP ");
  lputs(&l, name);
  lputs(&l, " ");
  put_escaped(&l, help, false);
  lputs(&l, "\n# TYPE ");
  lputs(&l, name);
  lputs(&l, " ");
  lputs(&l, type_name(type));
  lputs(&l, "\n");
  if (!l.over) put_line(w, l.b, l.n);
}

static void put_value(struct line *l, double v) {
  if (isnan(v)) lputs(l, "NaN");
  else if (isinf(v)) lputs(l, v > 0 ? "+Inf" : "-Inf");
  else if (v == floor(v) && fabs(v) < 9.007199254740992e15) lprintf(l, "%.0f", v);
  else lprintf(l, "%.17g", v);
}

void qcc_prom_sample(struct qcc_prom *w, const char *name, const struct qcc_prom_label *labels,
                     size_t n, double value) {
  struct line l = {.n = 0};
  lputs(&l, name);
  if (n > 0) {
    lputs(&l, "{");
    for (size_t i = 0; i < n; i++) {
      if (i > 0) lputs(&l, ",");
      lputs(&l, labels[i].name);
      lputs(&l, "=\"");
      put_escaped(&l, labels[i].value != NULL ? labels[i].value : "", true);
      lputs(&l, "\"");
    }
    lputs(&l, "}");
  }
  lputs(&l, " ");
  put_value(&l, value);
  lputs(&l, "\n");
  if (!l.over) put_line(w, l.b, l.n);
}

const char *qcc_prom_text(const struct qcc_prom *w, size_t *len, bool *truncated) {
  if (len != NULL) *len = w->len;
  if (truncated != NULL) *truncated = w->truncated;
  return w->buf;
}

/* ---- recorded metrics ---------------------------------------------------- */

static const double buckets[QCC_METRICS_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                    2.5,   5,    10,    30,   60,  120, 300};

const double *qcc_metrics_buckets(size_t *n) {
  *n = QCC_METRICS_BUCKETS;
  return buckets;
}

struct histo {
  uint64_t counts[QCC_METRICS_BUCKETS]; /* per bucket, not cumulative */
  uint64_t count;
  double sum;
};

struct status_count {
  int code;
  uint64_t n;
};

struct series {
  char id[QCC_METRICS_ID_MAX];
  struct status_count st[QCC_METRICS_MAX_STATUS];
  size_t st_count;
  uint64_t st_other;
  uint64_t failed;
  uint64_t retries;
  struct histo latency, ttfb;
  struct tok_model {
    char model[QCC_METRICS_ID_MAX];
    uint64_t k[5]; /* input, output, cache_write_5m, cache_write_1h, cache_read */
    uint64_t pico; /* priced cost, pico-USD */
    bool priced;   /* some answer had a price: a 0 series would read as "free" */
  } tm[QCC_METRICS_MAX_MODELS + 1]; /* [MAX] is "other" */
  size_t tm_count;
  bool tm_other;
};

struct qcc_metrics {
  /* Slots in first-seen order; [MAX] is the overflow series "_other". */
  struct series eps[QCC_METRICS_MAX_ENDPOINTS + 1];
  size_t ep_count;
  uint64_t requests, failed, retries, failovers, conns_refused;
  uint64_t breaker[QCC_BREAKER_STATE_COUNT]; /* transitions into each state */
  struct qcc_metrics_totals reload;
};

int qcc_metrics_new(struct qcc_metrics **out, struct qcc_err *err) {
  /* Only the overflow slot and what follows are zeroed: an endpoint's slot
   * is cleared when first used, so the 128 unused ones (80 KiB) stay
   * untouched, not resident. */
  *out = malloc(sizeof **out);
  if (*out == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  size_t used_from = offsetof(struct qcc_metrics, eps) + QCC_METRICS_MAX_ENDPOINTS * sizeof(struct series);
  memset((char *)*out + used_from, 0, sizeof **out - used_from);
  snprintf((*out)->eps[QCC_METRICS_MAX_ENDPOINTS].id, QCC_METRICS_ID_MAX, "%s", QCC_METRICS_OTHER);
  return 0;
}

void qcc_metrics_free(struct qcc_metrics **m) {
  if (m == NULL) return;
  free(*m);
  *m = NULL;
}

static struct series *series_for(struct qcc_metrics *m, const char *endpoint) {
  char id[QCC_METRICS_ID_MAX];
  snprintf(id, sizeof id, "%s", endpoint != NULL ? endpoint : QCC_METRICS_NONE);
  for (size_t i = 0; i < m->ep_count; i++)
    if (strcmp(m->eps[i].id, id) == 0) return &m->eps[i];
  if (m->ep_count == QCC_METRICS_MAX_ENDPOINTS) return &m->eps[QCC_METRICS_MAX_ENDPOINTS];
  struct series *s = &m->eps[m->ep_count++];
  memset(s, 0, sizeof *s);
  memcpy(s->id, id, sizeof id);
  return s;
}

static void observe(struct histo *h, double seconds) {
  if (!(seconds >= 0)) seconds = 0; /* NaN and negatives count as 0 */
  for (size_t i = 0; i < QCC_METRICS_BUCKETS; i++) {
    if (seconds <= buckets[i]) {
      h->counts[i]++;
      break;
    }
  }
  h->count++;
  h->sum += seconds;
}

void qcc_metrics_request(struct qcc_metrics *m, const char *endpoint, int status, double total_ms,
                         double ttfb_ms, bool failed) {
  if (m == NULL) return;
  struct series *s = series_for(m, endpoint);
  m->requests++;
  if (failed) {
    m->failed++;
    s->failed++;
  }
  size_t i = 0;
  while (i < s->st_count && s->st[i].code != status) i++;
  if (i < s->st_count) {
    s->st[i].n++;
  } else if (s->st_count < QCC_METRICS_MAX_STATUS) {
    s->st[s->st_count].code = status;
    s->st[s->st_count].n = 1;
    s->st_count++;
  } else {
    s->st_other++;
  }
  observe(&s->latency, total_ms / 1e3);
  if (ttfb_ms >= 0) observe(&s->ttfb, ttfb_ms / 1e3);
}

static double quantile_ms(const struct histo *h, double q) {
  if (h->count == 0) return -1.0;
  uint64_t want = (uint64_t)(q * (double)h->count + 0.999999), seen = 0;
  if (want == 0) want = 1;
  for (size_t i = 0; i < QCC_METRICS_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= want) return buckets[i] * 1e3;
  }
  return buckets[QCC_METRICS_BUCKETS - 1] * 1e3; /* beyond the last bound */
}

bool qcc_metrics_endpoint(const struct qcc_metrics *m, const char *id,
                          struct qcc_metrics_endpoint *out) {
  *out = (struct qcc_metrics_endpoint){.ttfb_p50_ms = -1.0, .ttfb_p99_ms = -1.0};
  if (m == NULL || id == NULL) return false;
  for (size_t i = 0; i < m->ep_count; i++) {
    const struct series *s = &m->eps[i];
    if (strcmp(s->id, id) != 0) continue;
    uint64_t n = s->st_other;
    for (size_t k = 0; k < s->st_count; k++) n += s->st[k].n;
    *out = (struct qcc_metrics_endpoint){.requests = n, .failed = s->failed,
                                         .ttfb_p50_ms = quantile_ms(&s->ttfb, 0.50),
                                         .ttfb_p99_ms = quantile_ms(&s->ttfb, 0.99)};
    return true;
  }
  return false;
}

static const char *const token_kinds[5] = {"input", "output", "cache_write_5m", "cache_write_1h",
                                           "cache_read"};

static struct tok_model *tok_slot(struct qcc_metrics *m, const char *endpoint, const char *model) {
  struct series *s = series_for(m, endpoint);
  const char *name = model != NULL && model[0] != '\0' ? model : QCC_METRICS_NONE;
  struct tok_model *tm = NULL;
  for (size_t i = 0; i < s->tm_count && tm == NULL; i++)
    if (strncmp(s->tm[i].model, name, QCC_METRICS_ID_MAX - 1) == 0) tm = &s->tm[i];
  if (tm == NULL && s->tm_count < QCC_METRICS_MAX_MODELS) {
    tm = &s->tm[s->tm_count++];
    memset(tm, 0, sizeof *tm);
    snprintf(tm->model, sizeof tm->model, "%s", name);
  }
  if (tm == NULL) {
    tm = &s->tm[QCC_METRICS_MAX_MODELS];
    if (!s->tm_other) {
      memset(tm, 0, sizeof *tm);
      snprintf(tm->model, sizeof tm->model, "%s", QCC_METRICS_OTHER);
      s->tm_other = true;
    }
  }
  return tm;
}

void qcc_metrics_cost(struct qcc_metrics *m, const char *endpoint, const char *model,
                      uint64_t pico_usd) {
  if (m == NULL) return;
  struct tok_model *tm = tok_slot(m, endpoint, model);
  tm->pico = tm->pico > UINT64_MAX - pico_usd ? UINT64_MAX : tm->pico + pico_usd;
  tm->priced = true;
}

void qcc_metrics_tokens(struct qcc_metrics *m, const char *endpoint, const char *model,
                        const struct qcc_usage_tokens *t) {
  if (m == NULL || t == NULL) return;
  struct tok_model *tm = tok_slot(m, endpoint, model);
  const int64_t v[5] = {t->input, t->output, t->cache_write_5m, t->cache_write_1h, t->cache_read};
  for (size_t k = 0; k < 5; k++)
    if (v[k] > 0) tm->k[k] += (uint64_t)v[k];
}

void qcc_metrics_retry(struct qcc_metrics *m, const char *endpoint) {
  if (m == NULL) return;
  series_for(m, endpoint)->retries++;
  m->retries++;
}

void qcc_metrics_route_event(struct qcc_metrics *m, const struct qcc_route_event *ev) {
  if (m == NULL || ev == NULL) return;
  if (ev->kind == QCC_EV_SWITCH) {
    m->failovers++;
  } else if (ev->kind == QCC_EV_BREAKER) {
    for (unsigned s = 0; s < QCC_BREAKER_STATE_COUNT; s++)
      if (strcmp(ev->to, qcc_breaker_state_name((enum qcc_breaker_state)s)) == 0) m->breaker[s]++;
  }
}

void qcc_metrics_connection_refused(struct qcc_metrics *m) {
  if (m != NULL) m->conns_refused++;
}

void qcc_metrics_reload(struct qcc_metrics *m, bool ok, uint64_t generation, int64_t wall_ms,
                        const char *error) {
  if (m == NULL) return;
  struct qcc_metrics_totals *r = &m->reload;
  if (ok) r->reloads_ok++;
  else r->reloads_failed++;
  r->any_reload = true;
  r->last_reload_ok = ok;
  r->last_reload_ms = wall_ms;
  if (ok) r->last_reload_generation = generation;
  snprintf(r->last_reload_error, sizeof r->last_reload_error, "%s",
           ok || error == NULL ? "" : error);
}

void qcc_metrics_totals(const struct qcc_metrics *m, struct qcc_metrics_totals *out) {
  *out = m->reload;
  out->requests = m->requests;
  out->failed = m->failed;
  out->retries = m->retries;
  out->failovers = m->failovers;
  out->connections_refused = m->conns_refused;
  out->breaker_opens = m->breaker[QCC_BREAKER_OPEN];
}

static void render_histo(struct qcc_prom *w, const char *name, const char *endpoint,
                         const struct histo *h) {
  char bname[96], le[32];
  struct qcc_prom_label l[2] = {{"endpoint", endpoint}, {"le", le}};
  snprintf(bname, sizeof bname, "%s_bucket", name);
  uint64_t cum = 0;
  for (size_t i = 0; i < QCC_METRICS_BUCKETS; i++) {
    cum += h->counts[i];
    snprintf(le, sizeof le, "%g", buckets[i]);
    qcc_prom_sample(w, bname, l, 2, (double)cum);
  }
  snprintf(le, sizeof le, "+Inf");
  qcc_prom_sample(w, bname, l, 2, (double)h->count);
  snprintf(bname, sizeof bname, "%s_sum", name);
  qcc_prom_sample(w, bname, l, 1, h->sum);
  snprintf(bname, sizeof bname, "%s_count", name);
  qcc_prom_sample(w, bname, l, 1, (double)h->count);
}

static bool series_used(const struct qcc_metrics *m, size_t i) {
  return i < m->ep_count || (i == QCC_METRICS_MAX_ENDPOINTS && m->eps[i].latency.count +
                                                                       m->eps[i].retries > 0);
}

void qcc_metrics_render(const struct qcc_metrics *m, struct qcc_prom *w) {
  const size_t n = QCC_METRICS_MAX_ENDPOINTS + 1;
  qcc_prom_family(w, "qcc_requests_total", QCC_PROM_COUNTER,
                  "Requests answered, by the last endpoint tried and the status sent to the client.");
  for (size_t i = 0; i < n; i++) {
    if (!series_used(m, i)) continue;
    const struct series *s = &m->eps[i];
    char code[16];
    struct qcc_prom_label l[2] = {{"endpoint", s->id}, {"status", code}};
    for (size_t k = 0; k < s->st_count; k++) {
      snprintf(code, sizeof code, "%d", s->st[k].code);
      qcc_prom_sample(w, "qcc_requests_total", l, 2, (double)s->st[k].n);
    }
    if (s->st_other > 0) {
      snprintf(code, sizeof code, "other");
      qcc_prom_sample(w, "qcc_requests_total", l, 2, (double)s->st_other);
    }
  }
  qcc_prom_family(w, "qcc_requests_failed_total", QCC_PROM_COUNTER,
                  "Requests that failed (error answer or a stream broken mid-way), by endpoint.");
  for (size_t i = 0; i < n; i++) {
    if (!series_used(m, i)) continue;
    struct qcc_prom_label l = {"endpoint", m->eps[i].id};
    qcc_prom_sample(w, "qcc_requests_failed_total", &l, 1, (double)m->eps[i].failed);
  }
  qcc_prom_family(w, "qcc_request_duration_seconds", QCC_PROM_HISTOGRAM,
                  "Whole request time, from the request to the last response byte.");
  for (size_t i = 0; i < n; i++)
    if (series_used(m, i))
      render_histo(w, "qcc_request_duration_seconds", m->eps[i].id, &m->eps[i].latency);
  qcc_prom_family(w, "qcc_upstream_ttfb_seconds", QCC_PROM_HISTOGRAM,
                  "Time to the upstream's first response byte.");
  for (size_t i = 0; i < n; i++)
    if (series_used(m, i))
      render_histo(w, "qcc_upstream_ttfb_seconds", m->eps[i].id, &m->eps[i].ttfb);
  qcc_prom_family(w, "qcc_retries_total", QCC_PROM_COUNTER,
                  "Attempts that failed before the first byte and moved on, by the endpoint left.");
  for (size_t i = 0; i < n; i++) {
    if (!series_used(m, i)) continue;
    struct qcc_prom_label l = {"endpoint", m->eps[i].id};
    qcc_prom_sample(w, "qcc_retries_total", &l, 1, (double)m->eps[i].retries);
  }
  qcc_prom_family(w, "qcc_tokens_total", QCC_PROM_COUNTER,
                  "Tokens used by /v1/messages answers, by endpoint, upstream model and kind.");
  for (size_t i = 0; i < n; i++) {
    if (!series_used(m, i)) continue;
    const struct series *s = &m->eps[i];
    for (size_t j = 0; j <= QCC_METRICS_MAX_MODELS; j++) {
      if (j == QCC_METRICS_MAX_MODELS ? !s->tm_other : j >= s->tm_count) continue;
      for (size_t k = 0; k < 5; k++) {
        struct qcc_prom_label l[3] = {{"endpoint", s->id}, {"model", s->tm[j].model},
                                      {"kind", token_kinds[k]}};
        qcc_prom_sample(w, "qcc_tokens_total", l, 3, (double)s->tm[j].k[k]);
      }
    }
  }
  qcc_prom_family(w, "qcc_cost_usd_total", QCC_PROM_COUNTER,
                  "Priced cost of /v1/messages answers in USD (unpriced tokens add nothing), "
                  "by endpoint and upstream model.");
  for (size_t i = 0; i < n; i++) {
    if (!series_used(m, i)) continue;
    const struct series *s = &m->eps[i];
    for (size_t j = 0; j <= QCC_METRICS_MAX_MODELS; j++) {
      if (j == QCC_METRICS_MAX_MODELS ? !s->tm_other : j >= s->tm_count) continue;
      if (!s->tm[j].priced) continue;
      struct qcc_prom_label l[2] = {{"endpoint", s->id}, {"model", s->tm[j].model}};
      qcc_prom_sample(w, "qcc_cost_usd_total", l, 2, (double)s->tm[j].pico / 1e12);
    }
  }
  qcc_prom_family(w, "qcc_failovers_total", QCC_PROM_COUNTER,
                  "Switches of the active profile (automatic failover and recovery).");
  qcc_prom_sample(w, "qcc_failovers_total", NULL, 0, (double)m->failovers);
  qcc_prom_family(w, "qcc_breaker_transitions_total", QCC_PROM_COUNTER,
                  "Circuit breaker transitions, by the state entered.");
  for (unsigned s = 0; s < QCC_BREAKER_STATE_COUNT; s++) {
    struct qcc_prom_label l = {"state", qcc_breaker_state_name((enum qcc_breaker_state)s)};
    qcc_prom_sample(w, "qcc_breaker_transitions_total", &l, 1, (double)m->breaker[s]);
  }
  qcc_prom_family(w, "qcc_connections_refused_total", QCC_PROM_COUNTER,
                  "Client connections refused because proxy.max_connections were open.");
  qcc_prom_sample(w, "qcc_connections_refused_total", NULL, 0, (double)m->conns_refused);
  qcc_prom_family(w, "qcc_table_reloads_total", QCC_PROM_COUNTER,
                  "Table loads after the first, by result.");
  struct qcc_prom_label ok = {"result", "ok"}, bad = {"result", "rejected"};
  qcc_prom_sample(w, "qcc_table_reloads_total", &ok, 1, (double)m->reload.reloads_ok);
  qcc_prom_sample(w, "qcc_table_reloads_total", &bad, 1, (double)m->reload.reloads_failed);
  qcc_prom_family(w, "qcc_table_last_reload_success", QCC_PROM_GAUGE,
                  "1 when the last table reload succeeded (or none happened yet), 0 when rejected.");
  qcc_prom_sample(w, "qcc_table_last_reload_success", NULL, 0,
                  !m->reload.any_reload || m->reload.last_reload_ok ? 1 : 0);
  qcc_prom_family(w, "qcc_table_last_reload_timestamp_seconds", QCC_PROM_GAUGE,
                  "Unix time of the last table reload attempt, 0 when none.");
  qcc_prom_sample(w, "qcc_table_last_reload_timestamp_seconds", NULL, 0,
                  (double)m->reload.last_reload_ms / 1e3);
}
