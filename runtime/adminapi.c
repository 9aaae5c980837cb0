/* The admin API's common ground (runtime/adminapi.h): clocks and ISO times,
 * JSON strings that survive a hostile table, base URLs without credentials,
 * finding an endpoint in the router's view, the endpoint object that GET
 * /endpoints and the enable/disable answers share (with its spending and
 * budget), the operator's reason and journal record, and the route tables
 * that map docs/admin-api.md's routes to the handlers in adminapi_*.c. */
#include "adminapi_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "budget.h"
#include "budgetgate.h"
#include "generation.h"
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

uint64_t api_now_of(const struct qcc_admin_ctx *c) {
  return c->now_ms != NULL ? c->now_ms() : mono_ms();
}

json_t *api_iso_wall(int64_t ms) {
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
json_t *api_iso_mono(const struct qcc_admin_ctx *c, uint64_t t) {
  if (t == 0) return json_null();
  uint64_t now = api_now_of(c);
  int64_t ago = now >= t ? (int64_t)(now - t) : -(int64_t)(t - now);
  return api_iso_wall(wall_ms() - ago);
}

json_t *api_str_or_null(const char *s) {
  return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *api_jstr(const char *s) {
  json_t *j = json_string(s != NULL ? s : "");
  return j != NULL ? j : json_string("?"); /* invalid UTF-8 from a hostile table */
}

const struct qcc_table *api_table_of(const struct qcc_admin_ctx *c) {
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
int64_t api_find_endpoint(const struct qcc_admin_ctx *c, const char *id, uint64_t now) {
  uint32_t n = qcc_router_endpoint_count(c->router);
  struct qcc_route_snapshot s;
  for (uint32_t i = 0; i < n; i++)
    if (qcc_router_snapshot(c->router, i, now, &s) == 0 && strcmp(s.id, id) == 0) return i;
  return -1;
}

int64_t api_find_stable(const struct qcc_admin_ctx *c, uint64_t stable_id, uint64_t now) {
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

static json_t *unix_iso(int64_t s) { return api_iso_wall(s * 1000); }

/* today / month spending and what is left of the budget of endpoint I
 * (docs/admin-api.md, GET /endpoints). */
void api_spending_json(const struct qcc_admin_ctx *c, const struct qcc_table *t, uint32_t i,
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

json_t *api_endpoint_json(const struct qcc_admin_ctx *c, const struct qcc_table *t, uint32_t i,
                          const struct qcc_route_snapshot *s, uint64_t now) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  json_object_set_new(o, "index", json_integer(i));
  json_object_set_new(o, "id", api_jstr(s->id));
  json_object_set_new(o, "profile", api_jstr(s->profile));
  json_object_set_new(o, "group", json_string(qcc_enum_name(&qcc_group_desc, s->group)));
  const struct qcc_tbl_endpoint *e =
      t != NULL && i < qcc_table_endpoint_count(t) ? qcc_table_endpoint(t, i) : NULL;
  if (e != NULL && e->stable_id == s->stable_id) {
    char url[512];
    safe_url(qcc_table_str(t, e->base_url), url, sizeof url);
    json_object_set_new(o, "base_url", api_jstr(url));
    json_object_set_new(o, "weight", json_integer(e->weight));
    json_object_set_new(o, "priority", json_integer(e->priority));
    json_object_set_new(o, "max_concurrency", json_integer(e->max_concurrency));
    json_object_set_new(o, "rate_limit", json_integer(e->rate_limit));
    const char *kp = c->key_problem != NULL ? c->key_problem(c->user, i) : NULL;
    json_object_set_new(o, "key_problem", api_str_or_null(kp));
    api_spending_json(c, t, i, o);
  }
  json_object_set_new(o, "enabled", json_boolean(s->enabled));
  json_object_set_new(o, "operator_disabled", json_boolean(s->operator_disabled));
  json_object_set_new(o, "disabled_reason",
                      s->operator_disabled ? api_jstr(s->disabled_reason) : json_null());
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
  json_object_set_new(o, "last_check", api_iso_mono(c, s->last_check));
  json_object_set_new(o, "last_success", api_iso_mono(c, s->last_success));
  json_object_set_new(o, "last_failure", api_iso_mono(c, s->last_failure));
  json_object_set_new(o, "last_error", api_str_or_null(s->last_error));
  return o;
}

void api_reply_oom(struct qcc_admin_req *req) { qcc_admin_reply_error(req, 500, "out of memory"); }

/* The body's "reason" (optional); NULL with a reply sent when it is bad. */
bool api_body_reason(struct qcc_admin_req *req, char *out, size_t cap) {
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

/* An operator action with no record of its own (a health check of all, a
 * dead letter's retry): who asked and why, for the journal's history. */
void api_journal_action(const struct qcc_admin_ctx *c, const char *action, const char *target,
                        const char *reason) {
  if (c->journal == NULL) return;
  struct qcc_jrec r = {.type = QCC_JT_ACTION};
  r.u.action = (struct qcc_jrec_action){
      .action = action, .target = target, .reason = reason[0] != '\0' ? reason : "operator"};
  c->journal(c->journal_arg, &r);
}

/* ---- the table ----------------------------------------------------------- */

static const struct qcc_admin_route routes[] = {
    {"GET", "/healthz", api_h_healthz},
    {"GET", "/status", api_h_status},
    {"GET", "/metrics", api_h_metrics},
    {"GET", "/health", api_h_health},
    {"POST", "/health/check", api_h_check},
    {"GET", "/endpoints", api_h_endpoints},
    {"POST", "/endpoints/*/enable", api_h_enable},
    {"POST", "/endpoints/*/disable", api_h_disable},
    {"POST", "/endpoints/*/test", api_h_test},
    {"GET", "/priority", api_h_priority},
    {"POST", "/priority/switch", api_h_switch},
    {"GET", "/priority/history", api_h_history},
    {"GET", "/queue", api_h_queue},
    {"GET", "/queue/deadletters", api_h_deadletters},
    {"POST", "/queue/retry/*", api_h_retry},
    {"POST", "/queue/retry-all", api_h_retry_all},
    {"POST", "/queue/clear", api_h_clear},
    {"POST", "/queue/drop/*", api_h_drop},
};

const struct qcc_admin_route *qcc_adminapi_routes(size_t *count) {
  *count = sizeof routes / sizeof routes[0];
  return routes;
}

/* The TCP metrics port reads, never steers: anyone on the host can reach it. */
static const struct qcc_admin_route metrics_routes[] = {
    {"GET", "/healthz", api_h_healthz},
    {"GET", "/metrics", api_h_metrics},
};

const struct qcc_admin_route *qcc_adminapi_metrics_routes(size_t *count) {
  *count = sizeof metrics_routes / sizeof metrics_routes[0];
  return metrics_routes;
}
