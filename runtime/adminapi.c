#include "adminapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "budgetgate.h"
#include "deadletters.h"
#include "generation.h"
#include "metrics.h"
#include "queue.h"
#include "router.h"
#include "schema/enums.h"
#include "schema/journal.h"
#include "schema/pricing.h"
#include "schema/table.h"

/* ---- small helpers ------------------------------------------------------- */

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static uint64_t now_of(const struct qcc_admin_ctx *c) {
  return c->now_ms != NULL ? c->now_ms() : mono_ms();
}

static json_t *iso_wall(int64_t ms) {
  if (ms <= 0) return json_null();
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[80];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
  return json_string(buf);
}

/* A router time (monotonic ms; 0 = never) as an ISO wall-clock time. */
static json_t *iso_mono(const struct qcc_admin_ctx *c, uint64_t t) {
  if (t == 0) return json_null();
  uint64_t now = now_of(c);
  int64_t ago = now >= t ? (int64_t)(now - t) : -(int64_t)(t - now);
  return iso_wall(wall_ms() - ago);
}

static json_t *str_or_null(const char *s) {
  return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *jstr(const char *s) {
  json_t *j = json_string(s != NULL ? s : "");
  return j != NULL ? j : json_string("?"); /* invalid UTF-8 from a hostile table */
}

static const struct qcc_table *table_of(const struct qcc_admin_ctx *c) {
  struct qcc_generation *g = c->current != NULL ? c->current(c->current_arg) : NULL;
  return g != NULL ? g->table : NULL;
}

/* "https://user:pw@host/x" -> "https://host/x": never show credentials. */
static void safe_url(const char *url, char *out, size_t cap) {
  const char *scheme = strstr(url, "://");
  const char *host = scheme != NULL ? scheme + 3 : url;
  size_t hl = strcspn(host, "/?#");
  const char *at = memchr(host, '@', hl);
  if (at == NULL) {
    snprintf(out, cap, "%s", url);
    return;
  }
  snprintf(out, cap, "%.*s%s", (int)(host - url), url, at + 1);
}

/* Index of endpoint ID in the router's current view, -1 when unknown. */
static int64_t find_endpoint(const struct qcc_admin_ctx *c, const char *id, uint64_t now) {
  uint32_t n = qcc_router_endpoint_count(c->router);
  struct qcc_route_snapshot s;
  for (uint32_t i = 0; i < n; i++)
    if (qcc_router_snapshot(c->router, i, now, &s) == 0 && strcmp(s.id, id) == 0) return i;
  return -1;
}

static int64_t find_stable(const struct qcc_admin_ctx *c, uint64_t stable_id, uint64_t now) {
  uint32_t n = qcc_router_endpoint_count(c->router);
  struct qcc_route_snapshot s;
  for (uint32_t i = 0; i < n; i++)
    if (qcc_router_snapshot(c->router, i, now, &s) == 0 && s.stable_id == stable_id) return i;
  return -1;
}

/* Pico-USD as an exact decimal string ("3.41", "0.000015"). */
static json_t *usd_json(uint64_t pico) {
  char buf[48];
  qcc_pico_usd_text(pico, buf, sizeof buf);
  return json_string(buf);
}

static json_t *unix_iso(int64_t s) { return iso_wall(s * 1000); }

/* today / month spending and what is left of the budget of endpoint I
 * (docs/admin-api.md, GET /endpoints). */
static void spending_json(const struct qcc_admin_ctx *c, const struct qcc_table *t, uint32_t i,
                          json_t *o) {
  struct qcc_budget *b = qcc_budgetgate_budget(c->budget);
  const struct qcc_tbl_endpoint *e = t != NULL ? qcc_table_endpoint(t, i) : NULL;
  struct qcc_budget_left d, m;
  int64_t now = qcc_budgetgate_now();
  if (b == NULL || e == NULL || qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_DAY, now, &d) != 0 ||
      qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_MONTH, now, &m) != 0) {
    json_object_set_new(o, "today", json_null());
    json_object_set_new(o, "budget", json_null());
    return;
  }
  json_t *td = json_pack("{s:I,s:o,s:I,s:I,s:o,s:I,s:o}", "tokens", (json_int_t)d.spent_tokens,
                         "cost_usd", usd_json(d.spent_pico), "cost_pico_usd",
                         (json_int_t)(d.spent_pico > INT64_MAX ? INT64_MAX : d.spent_pico),
                         "month_tokens", (json_int_t)m.spent_tokens, "month_cost_usd",
                         usd_json(m.spent_pico), "month_cost_pico_usd",
                         (json_int_t)(m.spent_pico > INT64_MAX ? INT64_MAX : m.spent_pico),
                         "resets_at", unix_iso(d.resets_at));
  json_object_set_new(o, "today", td);
  if (e->budget_daily_usd == 0 && e->budget_monthly_usd == 0 && e->budget_daily_tokens == 0) {
    json_object_set_new(o, "budget", json_null());
    return;
  }
  json_t *bj = json_object();
  if (bj == NULL) return;
  json_object_set_new(bj, "daily_usd", d.usd_capped ? usd_json(e->budget_daily_usd * UINT64_C(1000000)) : json_null());
  json_object_set_new(bj, "daily_usd_left", d.usd_capped ? usd_json(d.usd_pico) : json_null());
  json_object_set_new(bj, "monthly_usd", m.usd_capped ? usd_json(e->budget_monthly_usd * UINT64_C(1000000)) : json_null());
  json_object_set_new(bj, "monthly_usd_left", m.usd_capped ? usd_json(m.usd_pico) : json_null());
  json_object_set_new(bj, "daily_tokens", d.tokens_capped ? json_integer((json_int_t)e->budget_daily_tokens) : json_null());
  json_object_set_new(bj, "daily_tokens_left", d.tokens_capped ? json_integer((json_int_t)d.tokens) : json_null());
  json_object_set_new(bj, "day_resets_at", unix_iso(d.resets_at));
  json_object_set_new(bj, "month_resets_at", unix_iso(m.resets_at));
  int64_t until = qcc_budget_endpoint_spent_until(b, i, now);
  json_object_set_new(bj, "spent_until", until != 0 ? unix_iso(until) : json_null());
  json_object_set_new(o, "budget", bj);
}

static json_t *endpoint_json(const struct qcc_admin_ctx *c, const struct qcc_table *t, uint32_t i,
                             const struct qcc_route_snapshot *s, uint64_t now) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  json_object_set_new(o, "index", json_integer(i));
  json_object_set_new(o, "id", jstr(s->id));
  json_object_set_new(o, "profile", jstr(s->profile));
  json_object_set_new(o, "group", json_string(qcc_enum_name(&qcc_group_desc, s->group)));
  const struct qcc_tbl_endpoint *e =
      t != NULL && i < qcc_table_endpoint_count(t) ? qcc_table_endpoint(t, i) : NULL;
  if (e != NULL && e->stable_id == s->stable_id) {
    char url[512];
    safe_url(qcc_table_str(t, e->base_url), url, sizeof url);
    json_object_set_new(o, "base_url", jstr(url));
    json_object_set_new(o, "weight", json_integer(e->weight));
    json_object_set_new(o, "priority", json_integer(e->priority));
    json_object_set_new(o, "max_concurrency", json_integer(e->max_concurrency));
    json_object_set_new(o, "rate_limit", json_integer(e->rate_limit));
    const char *kp = c->key_problem != NULL ? c->key_problem(c->user, i) : NULL;
    json_object_set_new(o, "key_problem", str_or_null(kp));
    spending_json(c, t, i, o);
  }
  json_object_set_new(o, "enabled", json_boolean(s->enabled));
  json_object_set_new(o, "operator_disabled", json_boolean(s->operator_disabled));
  json_object_set_new(o, "disabled_reason",
                      s->operator_disabled ? jstr(s->disabled_reason) : json_null());
  json_object_set_new(o, "available", json_boolean(s->available));
  json_object_set_new(o, "health", json_string(qcc_health_status_name(s->health)));
  json_object_set_new(o, "score", json_integer(s->score));
  json_object_set_new(o, "breaker", json_string(qcc_breaker_state_name(s->breaker)));
  json_object_set_new(o, "breaker_failures", json_integer(s->breaker_failures));
  json_object_set_new(o, "breaker_open_for_ms",
                      json_integer(s->breaker_open_until > now
                                       ? (json_int_t)(s->breaker_open_until - now)
                                       : 0));
  json_object_set_new(o, "resting_for_ms",
                      json_integer(s->rest_until > now ? (json_int_t)(s->rest_until - now) : 0));
  json_object_set_new(o, "rest_reason",
                      s->rest_until <= now        ? json_null()
                      : s->budget_spent           ? json_string("budget")
                      : s->spend_exhausted        ? json_string("spend_exhausted")
                                                  : json_string("rate_limited"));
  json_object_set_new(o, "key_rejected", json_boolean(s->key_rejected));
  json_object_set_new(o, "inflight", json_integer(s->inflight));
  json_object_set_new(o, "total_requests", json_integer((json_int_t)s->total_requests));
  json_object_set_new(o, "failed_requests", json_integer((json_int_t)s->failed_requests));
  json_object_set_new(o, "success_rate", json_real(s->success_rate));
  json_object_set_new(o, "avg_ms", json_real(s->avg_ms));
  json_object_set_new(o, "consecutive_failures", json_integer(s->consecutive_failures));
  json_object_set_new(o, "last_check", iso_mono(c, s->last_check));
  json_object_set_new(o, "last_success", iso_mono(c, s->last_success));
  json_object_set_new(o, "last_failure", iso_mono(c, s->last_failure));
  json_object_set_new(o, "last_error", str_or_null(s->last_error));
  return o;
}

static void reply_oom(struct qcc_admin_req *req) { qcc_admin_reply_error(req, 500, "out of memory"); }

/* ---- GET /healthz -------------------------------------------------------- */

static void h_healthz(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  struct qcc_generation *g = c->current != NULL ? c->current(c->current_arg) : NULL;
  if (g == NULL) {
    qcc_admin_reply_error(req, 503, "no table loaded");
    return;
  }
  qcc_admin_reply_json(req, 200, json_pack("{s:s,s:I}", "status", "ok", "generation",
                                           (json_int_t)g->number));
}

/* ---- GET /status --------------------------------------------------------- */

static void h_status(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  uint64_t now = now_of(c);
  json_t *o = json_object();
  if (o == NULL) {
    reply_oom(req);
    return;
  }
  json_object_set_new(o, "version", jstr(c->version != NULL ? c->version : "unknown"));
  json_object_set_new(o, "pid", json_integer(getpid()));
  json_object_set_new(o, "started_at", iso_wall(c->started_wall_ms));
  json_object_set_new(o, "uptime_s",
                      json_integer(now >= c->started_mono_ms
                                       ? (json_int_t)((now - c->started_mono_ms) / 1000)
                                       : 0));
  json_object_set_new(o, "state_dir", str_or_null(c->state_dir));

  struct qcc_generation *g = c->current != NULL ? c->current(c->current_arg) : NULL;
  if (g != NULL) {
    const struct qcc_tbl_header *h = qcc_table_header(g->table);
    char fmt[16], digest[33];
    snprintf(fmt, sizeof fmt, "%u.%u", (unsigned)h->version_major, (unsigned)h->version_minor);
    /* The config it was built from: qccc status compares it with the one on disk. */
    for (int i = 0; i < 16; i++) snprintf(digest + 2 * i, 3, "%02x", h->source_digest[i]);
    json_object_set_new(
        o, "table",
        json_pack("{s:o,s:I,s:o,s:i,s:i,s:s,s:s}", "path", str_or_null(c->table_path), "generation",
                  (json_int_t)g->number, "built_at", iso_wall(h->build_time * 1000), "profiles",
                  (int)qcc_table_profile_count(g->table), "endpoints",
                  (int)qcc_table_endpoint_count(g->table), "format", fmt, "digest", digest));
  } else {
    json_object_set_new(o, "table", json_null());
  }

  struct qcc_metrics_totals mt = {0};
  if (c->metrics != NULL) qcc_metrics_totals(c->metrics, &mt);
  if (mt.any_reload)
    json_object_set_new(o, "last_reload",
                        json_pack("{s:b,s:o,s:I,s:o}", "ok", mt.last_reload_ok, "time",
                                  iso_wall(mt.last_reload_ms), "generation",
                                  (json_int_t)mt.last_reload_generation, "error",
                                  str_or_null(mt.last_reload_error)));
  else
    json_object_set_new(o, "last_reload", json_null());

  struct qcc_route_status rs;
  qcc_router_status(c->router, &rs);
  json_object_set_new(
      o, "routing",
      json_pack("{s:o,s:s,s:o,s:b,s:o,s:o,s:i}", "active_profile",
                rs.active_profile >= 0 ? jstr(rs.active_profile_name) : json_null(),
                "active_group", qcc_enum_name(&qcc_group_desc, rs.active_group), "active_since",
                iso_mono(c, rs.active_since), "pinned", rs.pinned, "pin_profile",
                rs.pinned ? jstr(rs.pin_profile) : json_null(), "pin_reason",
                rs.pinned ? str_or_null(rs.pin_reason) : json_null(), "fail_streak",
                (int)rs.fail_streak));

  unsigned total = 0, avail = 0, health[QCC_HEALTH_STATUS_COUNT] = {0}, open = 0, disabled = 0;
  uint32_t n = qcc_router_endpoint_count(c->router);
  for (uint32_t i = 0; i < n; i++) {
    struct qcc_route_snapshot s;
    if (qcc_router_snapshot(c->router, i, now, &s) != 0) continue;
    total++;
    avail += s.available;
    if ((unsigned)s.health < QCC_HEALTH_STATUS_COUNT) health[s.health]++;
    open += s.breaker == QCC_BREAKER_OPEN;
    disabled += s.operator_disabled || !s.enabled;
  }
  json_object_set_new(o, "endpoints",
                      json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "total", total, "available",
                                avail, "healthy", health[QCC_HEALTH_HEALTHY], "degraded",
                                health[QCC_HEALTH_DEGRADED], "unhealthy",
                                health[QCC_HEALTH_UNHEALTHY], "breaker_open", open, "disabled",
                                disabled));
  /* today's spending and budgets per endpoint (docs/admin-api.md) */
  const struct qcc_table *tb = table_of(c);
  json_t *sp = json_array();
  uint32_t ne = tb != NULL && qcc_budgetgate_budget(c->budget) != NULL ? qcc_table_endpoint_count(tb) : 0;
  for (uint32_t i = 0; i < ne && sp != NULL; i++) {
    json_t *x = json_pack("{s:s}", "id", qcc_table_str(tb, qcc_table_endpoint(tb, i)->id));
    if (x == NULL) continue;
    spending_json(c, tb, i, x);
    struct qcc_route_snapshot s;
    json_object_set_new(x, "budget_rest", json_boolean(qcc_router_snapshot(c->router, i, now, &s) == 0 &&
                                                       s.stable_id == qcc_table_endpoint(tb, i)->stable_id &&
                                                       s.budget_spent));
    json_array_append_new(sp, x);
  }
  json_object_set_new(o, "spending", sp != NULL ? sp : json_null());

  struct qcc_admin_counters ac = {0};
  if (c->counters != NULL) c->counters(c->counters_arg, &ac);
  json_object_set_new(
      o, "requests",
      json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)mt.requests, "failed",
                (json_int_t)mt.failed, "active", (json_int_t)ac.active_requests, "waiting",
                (json_int_t)ac.waiting_requests, "rejected", (json_int_t)ac.rejected_requests,
                "retries", (json_int_t)mt.retries, "failovers", (json_int_t)mt.failovers));
  json_object_set_new(o, "connections",
                      json_pack("{s:I}", "active", (json_int_t)ac.active_connections));
  if (c->queue != NULL) {
    struct qcc_queue_counters qc;
    qcc_queue_counters(c->queue, &qc);
    json_object_set_new(o, "queue",
                        json_pack("{s:I,s:I,s:o}", "depth", (json_int_t)qc.queued, "retrying",
                                  (json_int_t)qc.retrying, "dead_letters",
                                  c->deadletters != NULL
                                      ? json_integer((json_int_t)qcc_deadletters_count(
                                            c->deadletters))
                                      : json_null()));
  } else {
    json_object_set_new(o, "queue", json_null());
  }
  qcc_admin_reply_json(req, 200, o);
}

/* ---- GET /metrics -------------------------------------------------------- */

/* qcc_budget_remaining{endpoint,period}: endpoints with a budget only. */
static void budget_metrics(const struct qcc_admin_ctx *c, struct qcc_prom *w) {
  struct qcc_budget *b = qcc_budgetgate_budget(c->budget);
  const struct qcc_table *t = table_of(c);
  if (b == NULL || t == NULL) return;
  int64_t now = qcc_budgetgate_now();
  bool family = false;
  uint32_t n = qcc_table_endpoint_count(t);
  for (uint32_t i = 0; i < n; i++) {
    const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t, i);
    struct qcc_budget_left d, m;
    if (qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_DAY, now, &d) != 0 ||
        qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_MONTH, now, &m) != 0)
      continue;
    if (!d.usd_capped && !m.usd_capped && !d.tokens_capped) continue;
    if (!family)
      qcc_prom_family(w, "qcc_budget_remaining", QCC_PROM_GAUGE,
                      "What is left of an endpoint's budget in the current period: USD for "
                      "daily_usd and monthly_usd, tokens for daily_tokens.");
    family = true;
    const char *id = qcc_table_str(t, e->id);
    struct qcc_prom_label l[2] = {{"endpoint", id}, {"period", "daily_usd"}};
    if (d.usd_capped) qcc_prom_sample(w, "qcc_budget_remaining", l, 2, (double)d.usd_pico / 1e12);
    l[1].value = "monthly_usd";
    if (m.usd_capped) qcc_prom_sample(w, "qcc_budget_remaining", l, 2, (double)m.usd_pico / 1e12);
    l[1].value = "daily_tokens";
    if (d.tokens_capped) qcc_prom_sample(w, "qcc_budget_remaining", l, 2, (double)d.tokens);
  }
}

static void gauge(struct qcc_prom *w, const char *name, const char *help, double v) {
  qcc_prom_family(w, name, QCC_PROM_GAUGE, help);
  qcc_prom_sample(w, name, NULL, 0, v);
}

static void counter(struct qcc_prom *w, const char *name, const char *help, double v) {
  qcc_prom_family(w, name, QCC_PROM_COUNTER, help);
  qcc_prom_sample(w, name, NULL, 0, v);
}

static void endpoint_gauges(struct qcc_prom *w, const struct qcc_admin_ctx *c, uint64_t now) {
  uint32_t n = qcc_router_endpoint_count(c->router);
  static const struct {
    const char *name, *help;
  } fam[] = {
      {"qcc_endpoint_available", "1 when the endpoint could take a request now."},
      {"qcc_endpoint_health_score", "Health score, 0 (down) to 100."},
      {"qcc_endpoint_health_status", "1 for the endpoint's current health status."},
      {"qcc_endpoint_breaker_state", "1 for the endpoint's current circuit breaker state."},
      {"qcc_endpoint_inflight", "Requests in flight to the endpoint."},
      {"qcc_endpoint_operator_disabled", "1 when an operator disabled the endpoint."},
  };
  for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
    qcc_prom_family(w, fam[f].name, QCC_PROM_GAUGE, fam[f].help);
    for (uint32_t i = 0; i < n; i++) {
      struct qcc_route_snapshot s;
      if (qcc_router_snapshot(c->router, i, now, &s) != 0) continue;
      struct qcc_prom_label l[3] = {{"endpoint", s.id}, {"profile", s.profile}, {NULL, NULL}};
      switch (f) {
      case 0: qcc_prom_sample(w, fam[f].name, l, 2, s.available); break;
      case 1: qcc_prom_sample(w, fam[f].name, l, 2, s.score); break;
      case 2:
        for (unsigned k = 0; k < QCC_HEALTH_STATUS_COUNT; k++) {
          l[2] = (struct qcc_prom_label){"status", qcc_health_status_name(k)};
          qcc_prom_sample(w, fam[f].name, l, 3, (unsigned)s.health == k);
        }
        break;
      case 3:
        for (unsigned k = 0; k < QCC_BREAKER_STATE_COUNT; k++) {
          l[2] = (struct qcc_prom_label){"state", qcc_breaker_state_name(k)};
          qcc_prom_sample(w, fam[f].name, l, 3, (unsigned)s.breaker == k);
        }
        break;
      case 4: qcc_prom_sample(w, fam[f].name, l, 2, s.inflight); break;
      default: qcc_prom_sample(w, fam[f].name, l, 2, s.operator_disabled); break;
      }
    }
  }
}

static void h_metrics(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  uint64_t now = now_of(c);
  struct qcc_prom *w = NULL;
  if (qcc_prom_new(0, &w, NULL) != 0) {
    reply_oom(req);
    return;
  }
  qcc_prom_family(w, "qcc_build_info", QCC_PROM_GAUGE, "Always 1; the version is a label.");
  struct qcc_prom_label vl = {"version", c->version != NULL ? c->version : "unknown"};
  qcc_prom_sample(w, "qcc_build_info", &vl, 1, 1);
  gauge(w, "qcc_uptime_seconds", "Seconds since qcc-run started.",
        now >= c->started_mono_ms ? (double)(now - c->started_mono_ms) / 1e3 : 0);
  struct qcc_generation *g = c->current != NULL ? c->current(c->current_arg) : NULL;
  gauge(w, "qcc_table_generation", "Generation of the table being served (0 = none).",
        g != NULL ? (double)g->number : 0);

  struct qcc_admin_counters ac = {0};
  if (c->counters != NULL) c->counters(c->counters_arg, &ac);
  gauge(w, "qcc_active_connections", "Client connections open now.",
        (double)ac.active_connections);
  gauge(w, "qcc_active_requests", "Requests being forwarded now.", (double)ac.active_requests);
  gauge(w, "qcc_waiting_requests", "Requests waiting for an in-flight slot now.",
        (double)ac.waiting_requests);
  counter(w, "qcc_rejected_requests_total", "Requests refused by the concurrency limits.",
          (double)ac.rejected_requests);

  struct qcc_route_status rs;
  qcc_router_status(c->router, &rs);
  qcc_prom_family(w, "qcc_active_profile", QCC_PROM_GAUGE,
                  "1 for the profile requests go to now; pinned=1 when an operator pinned it.");
  if (rs.active_profile >= 0) {
    struct qcc_prom_label l[3] = {{"profile", rs.active_profile_name},
                                  {"group", qcc_enum_name(&qcc_group_desc, rs.active_group)},
                                  {"pinned", rs.pinned ? "1" : "0"}};
    qcc_prom_sample(w, "qcc_active_profile", l, 3, 1);
  }
  endpoint_gauges(w, c, now);

  if (c->queue != NULL) {
    struct qcc_queue_counters qc;
    qcc_queue_counters(c->queue, &qc);
    gauge(w, "qcc_queue_depth", "Requests waiting in the failure queue (incl. retrying).",
          (double)qc.queued);
    gauge(w, "qcc_queue_retrying", "Queued requests being retried now.", (double)qc.retrying);
    counter(w, "qcc_queue_enqueued_total", "Requests put in the failure queue.",
            (double)qc.enqueued);
    counter(w, "qcc_queue_rejected_total", "Requests refused by a full or disabled queue.",
            (double)qc.rejected);
    counter(w, "qcc_queue_expired_total", "Queued requests that failed for good.",
            (double)qc.expired);
    counter(w, "qcc_queue_succeeded_total", "Queued requests answered by a retry.",
            (double)qc.succeeded);
    counter(w, "qcc_queue_retries_total", "Retries started from the queue.", (double)qc.retries);
  }
  if (c->deadletters != NULL) {
    struct qcc_deadletters_counters dc;
    qcc_deadletters_counters(c->deadletters, &dc);
    gauge(w, "qcc_dead_letters", "Dead letters kept now.", (double)dc.count);
    counter(w, "qcc_dead_letters_added_total", "Dead letters added.", (double)dc.added);
    counter(w, "qcc_dead_letters_dropped_total", "Dead letters pushed out by the bounds.",
            (double)dc.dropped);
  }
  if (c->metrics != NULL) qcc_metrics_render(c->metrics, w);
  budget_metrics(c, w);
  size_t len = 0;
  const char *text = qcc_prom_text(w, &len, NULL);
  qcc_admin_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
  qcc_prom_free(&w);
}

/* ---- GET /health, GET /endpoints ----------------------------------------- */

static void list_endpoints(struct qcc_admin_req *req, const struct qcc_admin_ctx *c,
                           bool summary) {
  uint64_t now = now_of(c);
  const char *only = qcc_admin_req_query(req, "profile");
  const struct qcc_table *t = table_of(c);
  if (only != NULL && t != NULL && qcc_table_find_profile(t, only) < 0) {
    qcc_admin_reply_error(req, 404, "no profile named \"%s\"", only);
    return;
  }
  json_t *arr = json_array();
  unsigned health[QCC_HEALTH_STATUS_COUNT] = {0};
  uint32_t n = qcc_router_endpoint_count(c->router);
  for (uint32_t i = 0; arr != NULL && i < n; i++) {
    struct qcc_route_snapshot s;
    if (qcc_router_snapshot(c->router, i, now, &s) != 0) continue;
    if (only != NULL && strcmp(only, s.profile) != 0) continue;
    if ((unsigned)s.health < QCC_HEALTH_STATUS_COUNT) health[s.health]++;
    if (json_array_append_new(arr, endpoint_json(c, t, i, &s, now)) != 0) {
      json_decref(arr);
      arr = NULL;
    }
  }
  if (arr == NULL) {
    reply_oom(req);
    return;
  }
  json_t *o = json_object();
  if (summary)
    json_object_set_new(o, "summary",
                        json_pack("{s:i,s:i,s:i}", "healthy", health[QCC_HEALTH_HEALTHY],
                                  "degraded", health[QCC_HEALTH_DEGRADED], "unhealthy",
                                  health[QCC_HEALTH_UNHEALTHY]));
  json_object_set_new(o, "endpoints", arr);
  qcc_admin_reply_json(req, 200, o);
}

static void h_health(struct qcc_admin_req *req, void *arg) { list_endpoints(req, arg, true); }
static void h_endpoints(struct qcc_admin_req *req, void *arg) { list_endpoints(req, arg, false); }

/* ---- POST /endpoints/ID/enable|disable ----------------------------------- */

/* The body's "reason" (optional); NULL with a reply sent when it is bad. */
static bool body_reason(struct qcc_admin_req *req, char *out, size_t cap) {
  size_t len = 0;
  const char *body = qcc_admin_req_body(req, &len);
  out[0] = '\0';
  if (len == 0) return true;
  json_error_t je;
  json_t *j = json_loadb(body, len, 0, &je);
  if (j == NULL || !json_is_object(j)) {
    json_decref(j);
    qcc_admin_reply_error(req, 400, "the body must be a JSON object");
    return false;
  }
  json_t *r = json_object_get(j, "reason");
  if (r != NULL && !json_is_string(r) && !json_is_null(r)) {
    json_decref(j);
    qcc_admin_reply_error(req, 400, "\"reason\" must be a string");
    return false;
  }
  snprintf(out, cap, "%s", json_is_string(r) ? json_string_value(r) : "");
  json_decref(j);
  return true;
}

static void enable_disable(struct qcc_admin_req *req, struct qcc_admin_ctx *c, bool enable) {
  uint64_t now = now_of(c);
  const char *id = qcc_admin_req_param(req, 0);
  int64_t idx = find_endpoint(c, id, now);
  if (idx < 0) {
    qcc_admin_reply_error(req, 404, "no endpoint with id \"%s\"", id);
    return;
  }
  char reason[128];
  if (!body_reason(req, reason, sizeof reason)) return;
  struct qcc_err err = {0};
  int rc = enable ? qcc_router_enable(c->router, (uint32_t)idx, reason, now, &err)
                  : qcc_router_disable(c->router, (uint32_t)idx,
                                       reason[0] != '\0' ? reason : "disabled by operator", now,
                                       &err);
  if (rc != 0) {
    qcc_admin_reply_error(req, 409, "%s", err.msg);
    return;
  }
  struct qcc_route_snapshot s;
  if (qcc_router_snapshot(c->router, (uint32_t)idx, now, &s) != 0) {
    qcc_admin_reply_error(req, 500, "endpoint vanished");
    return;
  }
  qcc_admin_reply_json(req, 200, endpoint_json(c, table_of(c), (uint32_t)idx, &s, now));
}

static void h_enable(struct qcc_admin_req *req, void *arg) { enable_disable(req, arg, true); }
static void h_disable(struct qcc_admin_req *req, void *arg) { enable_disable(req, arg, false); }

/* An operator action with no record of its own (a health check of all, a
 * dead letter's retry): who asked and why, for the journal's history. */
static void journal_action(const struct qcc_admin_ctx *c, const char *action, const char *target,
                           const char *reason) {
  if (c->journal == NULL) return;
  struct qcc_jrec r = {.type = QCC_JT_ACTION};
  r.u.action = (struct qcc_jrec_action){
      .action = action, .target = target, .reason = reason[0] != '\0' ? reason : "operator"};
  c->journal(c->journal_arg, &r);
}

/* ---- probes: POST /endpoints/ID/test, POST /health/check ----------------- */

struct check_all;

struct probe_one {
  struct qcc_admin_req *req;  /* a single test; NULL inside a check of all */
  struct check_all *all;
  struct qcc_admin_ctx *ctx;
  char id[64];
  uint64_t stable_id;
};

static json_t *probe_json(const char *id, const struct qcc_admin_probe *p) {
  return json_pack("{s:o,s:b,s:i,s:i,s:o}", "id", jstr(id), "ok", p->ok, "status",
                   p->http_status, "latency_ms", (int)p->latency_ms, "detail",
                   str_or_null(p->detail));
}

static void probe_one_done(void *arg, const struct qcc_admin_probe *p) {
  struct probe_one *po = arg;
  qcc_admin_reply_json(po->req, 200, probe_json(po->id, p));
  free(po);
}

static void h_test(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  const char *id = qcc_admin_req_param(req, 0);
  int64_t idx = find_endpoint(c, id, now_of(c));
  if (idx < 0) {
    qcc_admin_reply_error(req, 404, "no endpoint with id \"%s\"", id);
    return;
  }
  if (c->test_endpoint == NULL) {
    qcc_admin_reply_error(req, 503, "endpoint tests not available");
    return;
  }
  struct probe_one *po = calloc(1, sizeof *po);
  if (po == NULL) {
    reply_oom(req);
    return;
  }
  po->req = req;
  po->ctx = c;
  snprintf(po->id, sizeof po->id, "%s", id);
  if (c->test_endpoint(c, (uint32_t)idx, probe_one_done, po) != 0) {
    free(po);
    qcc_admin_reply_error(req, 503, "could not start a test of \"%s\"", id);
  }
}

struct check_all {
  struct qcc_admin_req *req;
  struct qcc_admin_ctx *ctx;
  size_t pending; /* probes not done yet, +1 while starting them */
  size_t count;
  json_t *results;
  struct probe_one slot[];
};

static void check_finish(struct check_all *ca) {
  if (--ca->pending > 0) return;
  json_t *o = json_pack("{s:i,s:o}", "checked", (int)ca->count, "results", ca->results);
  qcc_admin_reply_json(ca->req, 200, o);
  free(ca);
}

static void check_one_done(void *arg, const struct qcc_admin_probe *p) {
  struct probe_one *po = arg;
  struct check_all *ca = po->all;
  struct qcc_admin_ctx *c = ca->ctx;
  uint64_t now = now_of(c);
  /* The table may have been swapped meanwhile: find the endpoint again. */
  int64_t idx = find_stable(c, po->stable_id, now);
  json_t *r = probe_json(po->id, p);
  if (idx >= 0) {
    qcc_router_health_result(c->router, (uint32_t)idx, p->ok, p->latency_ms,
                             p->ok ? NULL : p->detail, now);
    struct qcc_route_snapshot s;
    if (r != NULL && qcc_router_snapshot(c->router, (uint32_t)idx, now, &s) == 0) {
      json_object_set_new(r, "health", json_string(qcc_health_status_name(s.health)));
      json_object_set_new(r, "score", json_integer(s.score));
    }
  }
  json_array_append_new(ca->results, r);
  check_finish(ca);
}

static void h_check(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (c->test_endpoint == NULL) {
    qcc_admin_reply_error(req, 503, "health checks not available");
    return;
  }
  char reason[128];
  if (!body_reason(req, reason, sizeof reason)) return;
  journal_action(c, "health_check", "", reason);
  uint64_t now = now_of(c);
  uint32_t n = qcc_router_endpoint_count(c->router);
  struct check_all *ca = calloc(1, sizeof *ca + (size_t)n * sizeof(struct probe_one));
  json_t *results = json_array();
  if (ca == NULL || results == NULL) {
    free(ca);
    json_decref(results);
    reply_oom(req);
    return;
  }
  ca->req = req;
  ca->ctx = c;
  ca->results = results;
  ca->pending = 1;
  for (uint32_t i = 0; i < n; i++) {
    struct qcc_route_snapshot s;
    if (qcc_router_snapshot(c->router, i, now, &s) != 0 || !s.enabled) continue;
    struct probe_one *po = &ca->slot[ca->count];
    po->all = ca; /* the aggregate owns the request */
    po->ctx = c;
    po->stable_id = s.stable_id;
    snprintf(po->id, sizeof po->id, "%s", s.id);
    ca->pending++;
    ca->count++;
    if (c->test_endpoint(c, i, check_one_done, po) != 0) {
      struct qcc_admin_probe fail = {.ok = false};
      snprintf(fail.detail, sizeof fail.detail, "could not start the check");
      ca->pending--;
      json_array_append_new(ca->results, probe_json(po->id, &fail));
    }
  }
  check_finish(ca);
}

/* ---- priority ------------------------------------------------------------ */

static json_t *priority_json(const struct qcc_admin_ctx *c) {
  uint64_t now = now_of(c);
  struct qcc_route_status rs;
  qcc_router_status(c->router, &rs);
  const struct qcc_table *t = table_of(c);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  json_object_set_new(
      o, "active",
      rs.active_profile >= 0
          ? json_pack("{s:o,s:s,s:o}", "profile", jstr(rs.active_profile_name), "group",
                      qcc_enum_name(&qcc_group_desc, rs.active_group), "since",
                      iso_mono(c, rs.active_since))
          : json_null());
  json_object_set_new(o, "pinned",
                      rs.pinned ? json_pack("{s:o,s:o}", "profile", jstr(rs.pin_profile),
                                            "reason", str_or_null(rs.pin_reason))
                                : json_null());
  json_t *profs = json_array();
  if (t != NULL) {
    const struct qcc_tbl_settings *st = qcc_table_settings(t);
    json_object_set_new(o, "auto_switch", json_boolean(st->auto_switch));
    json_object_set_new(o, "auto_recovery", json_boolean(st->auto_recovery));
    json_object_set_new(o, "fallback_enabled", json_boolean(st->fallback_enabled));
    json_object_set_new(o, "cooldown_ms", json_integer(st->cooldown_ms));
    /* Ladder order: primary, secondary, fallback; table order inside. */
    for (unsigned grp = 0; grp < QCC_GROUP_COUNT; grp++) {
      for (uint32_t p = 0; p < qcc_table_profile_count(t); p++) {
        const struct qcc_tbl_profile *pr = qcc_table_profile(t, p);
        if (pr->group != grp) continue;
        const char *name = qcc_table_str(t, pr->name);
        unsigned avail = 0;
        for (uint32_t k = 0; k < pr->endpoint_count; k++) {
          struct qcc_route_snapshot s;
          if (qcc_router_snapshot(c->router, pr->endpoint_first + k, now, &s) == 0)
            avail += s.available;
        }
        json_array_append_new(
            profs, json_pack("{s:o,s:s,s:o,s:b,s:b,s:b,s:i,s:i}", "name", jstr(name), "group",
                             qcc_enum_name(&qcc_group_desc, grp), "description",
                             str_or_null(qcc_table_str(t, pr->description)), "enabled",
                             pr->enabled != 0, "active",
                             rs.active_profile >= 0 && strcmp(rs.active_profile_name, name) == 0,
                             "pinned", rs.pinned && strcmp(rs.pin_profile, name) == 0,
                             "endpoints", (int)pr->endpoint_count, "available", (int)avail));
      }
    }
  }
  json_object_set_new(o, "profiles", profs);
  return o;
}

static void h_priority(struct qcc_admin_req *req, void *arg) {
  qcc_admin_reply_json(req, 200, priority_json(arg));
}

static void h_switch(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  size_t len = 0;
  const char *body = qcc_admin_req_body(req, &len);
  json_error_t je;
  json_t *j = json_loadb(body, len, 0, &je);
  if (j == NULL || !json_is_object(j)) {
    json_decref(j);
    qcc_admin_reply_error(req, 400,
                          "the body must be {\"profile\": NAME, \"reason\": TEXT} or "
                          "{\"auto\": true}");
    return;
  }
  json_t *prof = json_object_get(j, "profile"), *reason = json_object_get(j, "reason");
  bool to_auto = json_is_true(json_object_get(j, "auto"));
  uint64_t now = now_of(c);
  struct qcc_err err = {0};
  if (to_auto && prof == NULL && (reason == NULL || json_is_string(reason) || json_is_null(reason))) {
    qcc_router_unpin(c->router, json_string_value(reason), now);
  } else if (!to_auto && json_is_string(prof) &&
             (reason == NULL || json_is_string(reason) || json_is_null(reason))) {
    const char *name = json_string_value(prof);
    const struct qcc_table *t = table_of(c);
    if (t != NULL && qcc_table_find_profile(t, name) < 0) {
      qcc_admin_reply_error(req, 404, "no profile named \"%s\"", name);
      json_decref(j);
      return;
    }
    const char *why = json_is_string(reason) ? json_string_value(reason) : "";
    if (qcc_router_pin(c->router, name, why[0] != '\0' ? why : "operator switch", now, &err) != 0) {
      qcc_admin_reply_error(req, 409, "%s", err.msg);
      json_decref(j);
      return;
    }
  } else {
    json_decref(j);
    qcc_admin_reply_error(req, 400,
                          "the body must be {\"profile\": NAME, \"reason\": TEXT} or "
                          "{\"auto\": true}");
    return;
  }
  json_decref(j);
  qcc_admin_reply_json(req, 200, priority_json(c));
}

static void h_history(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  const char *kind = qcc_admin_req_query(req, "kind");
  bool all = kind != NULL && strcmp(kind, "all") == 0;
  struct qcc_route_event *ev = calloc(QCC_ROUTE_EVENT_RING, sizeof *ev);
  json_t *arr = json_array();
  if (ev == NULL || arr == NULL) {
    free(ev);
    json_decref(arr);
    reply_oom(req);
    return;
  }
  size_t n = qcc_router_events(c->router, ev, QCC_ROUTE_EVENT_RING);
  for (size_t i = 0; i < n; i++) {
    const struct qcc_route_event *e = &ev[i];
    if (!all && e->kind != QCC_EV_SWITCH && e->kind != QCC_EV_PIN && e->kind != QCC_EV_UNPIN)
      continue;
    json_array_append_new(
        arr, json_pack("{s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "time", iso_mono(c, e->time_ms), "kind",
                       qcc_route_event_name(e->kind), "from", str_or_null(e->from), "to",
                       str_or_null(e->to), "reason", str_or_null(e->reason), "endpoint",
                       str_or_null(e->endpoint), "profile", str_or_null(e->profile)));
  }
  free(ev);
  qcc_admin_reply_json(req, 200, json_pack("{s:o}", "events", arr));
}

/* ---- queue --------------------------------------------------------------- */

static json_t *deadletters_summary(const struct qcc_admin_ctx *c) {
  if (c->deadletters == NULL) return json_null();
  struct qcc_deadletters_counters dc;
  qcc_deadletters_counters(c->deadletters, &dc);
  return json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)dc.count, "bytes",
                   (json_int_t)dc.bytes, "added", (json_int_t)dc.added, "dropped",
                   (json_int_t)dc.dropped);
}

static void h_queue(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  if (c->queue == NULL) {
    qcc_admin_reply_error(req, 503, "queue not available");
    return;
  }
  uint64_t now = now_of(c);
  json_t *o = json_object();
  const struct qcc_table *t = table_of(c);
  if (t != NULL) {
    const struct qcc_tbl_settings *st = qcc_table_settings(t);
    json_object_set_new(o, "enabled", json_boolean(st->queue_enabled));
    json_object_set_new(o, "max_size", json_integer(st->queue_max_size));
    json_object_set_new(o, "strategy", json_string(qcc_enum_name(&qcc_retry_desc,
                                                                 st->retry_strategy)));
    json_object_set_new(o, "max_retries", json_integer(st->max_retries));
    json_object_set_new(o, "max_wait_ms", json_integer(st->max_wait_ms));
  }
  struct qcc_queue_counters qc;
  qcc_queue_counters(c->queue, &qc);
  json_object_set_new(o, "depth", json_integer((json_int_t)qc.queued));
  json_object_set_new(o, "retrying", json_integer((json_int_t)qc.retrying));
  json_object_set_new(
      o, "counters",
      json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "enqueued", (json_int_t)qc.enqueued, "rejected",
                (json_int_t)qc.rejected, "expired", (json_int_t)qc.expired, "succeeded",
                (json_int_t)qc.succeeded, "removed", (json_int_t)qc.removed, "retries",
                (json_int_t)qc.retries, "woken", (json_int_t)qc.woken));
  enum { MAX_LIST = 1000 };
  struct qcc_queue_info *info = calloc(MAX_LIST, sizeof *info);
  json_t *arr = json_array();
  size_t n = info != NULL ? qcc_queue_list(c->queue, info, MAX_LIST) : 0;
  for (size_t i = 0; arr != NULL && i < n; i++) {
    const struct qcc_queue_info *q = &info[i];
    char id[QCC_DL_ID_MAX];
    snprintf(id, sizeof id, "%llx", (unsigned long long)q->id);
    json_array_append_new(
        arr, json_pack("{s:s,s:i,s:i,s:s,s:I,s:o,s:o}", "id", id, "priority", (int)q->priority,
                       "retries", (int)q->retries, "state", qcc_queue_state_name(q->state),
                       "waiting_ms", (json_int_t)(now > q->enqueued_at ? now - q->enqueued_at : 0),
                       "next_retry_in_ms",
                       q->state == QCC_QUEUE_WAITING && q->next_retry_at != UINT64_MAX
                           ? json_integer(q->next_retry_at > now
                                              ? (json_int_t)(q->next_retry_at - now)
                                              : 0)
                           : json_null(),
                       "deadline_in_ms",
                       q->deadline == UINT64_MAX
                           ? json_null()
                           : json_integer(q->deadline > now ? (json_int_t)(q->deadline - now)
                                                            : 0)));
  }
  free(info);
  json_object_set_new(o, "entries", arr != NULL ? arr : json_array());
  json_object_set_new(o, "dead_letters", deadletters_summary(c));
  qcc_admin_reply_json(req, 200, o);
}

static json_t *deadletter_json(const struct qcc_deadletter *d) {
  json_t *tried = json_array();
  for (size_t i = 0; tried != NULL && i < d->tried_count; i++)
    json_array_append_new(tried, json_pack("{s:o,s:i,s:o}", "endpoint",
                                           jstr(d->tried[i].endpoint), "status",
                                           (int)d->tried[i].status, "reason",
                                           str_or_null(d->tried[i].reason)));
  json_t *replay =
      d->replay_status != 0
          ? json_pack("{s:i,s:o,s:I,s:b}", "status", d->replay_status, "time",
                      iso_wall(d->replay_time_ms), "bytes", (json_int_t)d->replay_len,
                      "truncated", d->replay_truncated)
          : json_null();
  char hash[17];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)d->body_hash);
  return json_pack("{s:o,s:o,s:o,s:o,s:i,s:i,s:o,s:o,s:s,s:I,s:b,s:o}", "id", jstr(d->id), "time",
                   iso_wall(d->time_ms), "method", jstr(d->method), "target", jstr(d->target),
                   "priority", (int)d->priority, "attempts", (int)d->attempts, "tried",
                   tried != NULL ? tried : json_array(), "reason", str_or_null(d->reason),
                   "body_hash", hash, "body_len", (json_int_t)d->body_len, "body_kept",
                   d->body_kept, "replay", replay);
}

static void h_deadletters(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  if (c->deadletters == NULL) {
    qcc_admin_reply_error(req, 503, "queue not available (no dead-letter store)");
    return;
  }
  size_t n = qcc_deadletters_count(c->deadletters);
  const struct qcc_deadletter **dl = calloc(n ? n : 1, sizeof *dl);
  json_t *arr = json_array();
  if (dl == NULL || arr == NULL) {
    free(dl);
    json_decref(arr);
    reply_oom(req);
    return;
  }
  n = qcc_deadletters_list(c->deadletters, dl, n);
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, deadletter_json(dl[i]));
  free(dl);
  qcc_admin_reply_json(req, 200, json_pack("{s:I,s:o}", "count", (json_int_t)n, "dead_letters",
                                           arr));
}

struct replay_one {
  struct qcc_admin_req *req;
  char id[QCC_DL_ID_MAX];
};

static void replay_one_done(void *arg, int status, const char *detail) {
  struct replay_one *ro = arg;
  qcc_admin_reply_json(ro->req, 200,
                       json_pack("{s:s,s:i,s:b,s:o}", "id", ro->id, "status", status, "ok",
                                 status >= 200 && status < 300, "detail", str_or_null(detail)));
  free(ro);
}

static bool queue_ready(struct qcc_admin_req *req, const struct qcc_admin_ctx *c, bool replay) {
  if (c->deadletters == NULL || (c->queue == NULL && replay)) {
    qcc_admin_reply_error(req, 503, "queue not available");
    return false;
  }
  if (replay && c->replay == NULL) {
    qcc_admin_reply_error(req, 503, "queue not available (replay is not wired)");
    return false;
  }
  return true;
}

static void h_retry(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, true)) return;
  const char *id = qcc_admin_req_param(req, 0);
  if (qcc_deadletters_get(c->deadletters, id) == NULL) {
    qcc_admin_reply_error(req, 404, "no dead letter with id \"%s\" (`qccc queue list` shows them)",
                          id);
    return;
  }
  char reason[128];
  if (!body_reason(req, reason, sizeof reason)) return;
  struct replay_one *ro = calloc(1, sizeof *ro);
  if (ro == NULL) {
    reply_oom(req);
    return;
  }
  ro->req = req;
  snprintf(ro->id, sizeof ro->id, "%s", id);
  journal_action(c, "retry", ro->id, reason);
  if (c->replay(c, ro->id, replay_one_done, ro) != 0) {
    free(ro);
    qcc_admin_reply_error(req, 503, "could not start the replay of %s", id);
  }
}

/* retry-all replays one at a time: gentle on upstreams that just failed. */
struct replay_all {
  struct qcc_admin_req *req;
  struct qcc_admin_ctx *ctx;
  size_t count, next, ok, failed;
  bool in_start; /* a synchronous done() must not recurse */
  bool again;
  json_t *results;
  char (*ids)[QCC_DL_ID_MAX];
};

static void replay_all_next(struct replay_all *ra);

static void replay_all_done(void *arg, int status, const char *detail) {
  struct replay_all *ra = arg;
  const char *id = ra->ids[ra->next - 1];
  if (status >= 200 && status < 300) ra->ok++;
  else ra->failed++;
  json_array_append_new(ra->results, json_pack("{s:s,s:i,s:o}", "id", id, "status", status,
                                               "detail", str_or_null(detail)));
  if (ra->in_start) ra->again = true;
  else replay_all_next(ra);
}

static void replay_all_next(struct replay_all *ra) {
  for (;;) {
    if (ra->next == ra->count || qcc_admin_req_orphaned(ra->req)) {
      qcc_admin_reply_json(ra->req, 200,
                           json_pack("{s:i,s:i,s:i,s:o}", "retried", (int)(ra->ok + ra->failed),
                                     "succeeded", (int)ra->ok, "failed", (int)ra->failed,
                                     "results", ra->results));
      free(ra->ids);
      free(ra);
      return;
    }
    const char *id = ra->ids[ra->next++];
    ra->in_start = true;
    ra->again = false;
    int rc = ra->ctx->replay(ra->ctx, id, replay_all_done, ra);
    ra->in_start = false;
    if (rc != 0) {
      ra->failed++;
      json_array_append_new(ra->results, json_pack("{s:s,s:i,s:s}", "id", id, "status", 0,
                                                   "detail", "could not start the replay"));
      continue;
    }
    if (!ra->again) return; /* done() comes later and continues */
  }
}

static void h_retry_all(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, true)) return;
  struct replay_all *ra = calloc(1, sizeof *ra);
  size_t n = qcc_deadletters_count(c->deadletters);
  const struct qcc_deadletter **dl = calloc(n ? n : 1, sizeof *dl);
  json_t *results = json_array();
  if (ra != NULL) ra->ids = calloc(n ? n : 1, sizeof *ra->ids);
  if (ra == NULL || ra->ids == NULL || dl == NULL || results == NULL) {
    if (ra != NULL) free(ra->ids);
    free(ra);
    free(dl);
    json_decref(results);
    reply_oom(req);
    return;
  }
  /* Copy the ids: replays change the store and so invalidate its pointers. */
  n = qcc_deadletters_list(c->deadletters, dl, n);
  for (size_t i = 0; i < n; i++) snprintf(ra->ids[i], QCC_DL_ID_MAX, "%s", dl[i]->id);
  free(dl);
  ra->req = req;
  ra->ctx = c;
  ra->count = n;
  ra->results = results;
  replay_all_next(ra);
}

static void h_clear(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, false)) return;
  size_t n = qcc_deadletters_count(c->deadletters);
  struct qcc_err err = {0};
  if (qcc_deadletters_clear(c->deadletters, &err) != 0) {
    qcc_admin_reply_error(req, 500, "%s", err.msg);
    return;
  }
  if (c->journal != NULL) {
    struct qcc_jrec r = {.type = QCC_JT_QUEUE_CLEARED};
    r.u.queue_cleared = (struct qcc_jrec_queue_cleared){.request_id = 0, .reason = "clear"};
    c->journal(c->journal_arg, &r);
  }
  qcc_admin_reply_json(req, 200, json_pack("{s:i}", "cleared", (int)n));
}

/* One dead letter forgotten (the status page's "drop"); journaled like clear,
 * with its id and the body's reason. */
static void h_drop(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, false)) return;
  const char *id = qcc_admin_req_param(req, 0);
  if (qcc_deadletters_get(c->deadletters, id) == NULL) {
    qcc_admin_reply_error(req, 404, "no dead letter with id \"%s\"", id);
    return;
  }
  char reason[128];
  if (!body_reason(req, reason, sizeof reason)) return;
  struct qcc_err err = {0};
  if (qcc_deadletters_remove(c->deadletters, id, &err) != 0) {
    qcc_admin_reply_error(req, 500, "%s", err.msg);
    return;
  }
  if (c->journal != NULL) {
    struct qcc_jrec r = {.type = QCC_JT_QUEUE_CLEARED};
    r.u.queue_cleared = (struct qcc_jrec_queue_cleared){
        .request_id = strtoull(id, NULL, 16), .reason = reason[0] != '\0' ? reason : "drop"};
    c->journal(c->journal_arg, &r);
  }
  qcc_admin_reply_json(req, 200, json_pack("{s:s,s:b}", "id", id, "dropped", 1));
}

/* ---- the table ----------------------------------------------------------- */

static const struct qcc_admin_route routes[] = {
    {"GET", "/healthz", h_healthz},
    {"GET", "/status", h_status},
    {"GET", "/metrics", h_metrics},
    {"GET", "/health", h_health},
    {"POST", "/health/check", h_check},
    {"GET", "/endpoints", h_endpoints},
    {"POST", "/endpoints/*/enable", h_enable},
    {"POST", "/endpoints/*/disable", h_disable},
    {"POST", "/endpoints/*/test", h_test},
    {"GET", "/priority", h_priority},
    {"POST", "/priority/switch", h_switch},
    {"GET", "/priority/history", h_history},
    {"GET", "/queue", h_queue},
    {"GET", "/queue/deadletters", h_deadletters},
    {"POST", "/queue/retry/*", h_retry},
    {"POST", "/queue/retry-all", h_retry_all},
    {"POST", "/queue/clear", h_clear},
    {"POST", "/queue/drop/*", h_drop},
};

const struct qcc_admin_route *qcc_adminapi_routes(size_t *count) {
  *count = sizeof routes / sizeof routes[0];
  return routes;
}

/* The TCP metrics port reads, never steers: anyone on the host can reach it. */
static const struct qcc_admin_route metrics_routes[] = {
    {"GET", "/healthz", h_healthz},
    {"GET", "/metrics", h_metrics},
};

const struct qcc_admin_route *qcc_adminapi_metrics_routes(size_t *count) {
  *count = sizeof metrics_routes / sizeof metrics_routes[0];
  return metrics_routes;
}
