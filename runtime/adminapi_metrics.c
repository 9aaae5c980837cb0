/* GET /metrics (docs/admin-api.md): the Prometheus text of qcc-run, the
 * metrics module's families (runtime/metrics.h) plus gauges read from the
 * router, the queue and the budgets at scrape time. Shares the helpers of
 * adminapi.c through adminapi_int.h. */
#include "adminapi_int.h"

#include "budget.h"
#include "budgetgate.h"
#include "deadletters.h"
#include "generation.h"
#include "metrics.h"
#include "queue.h"
#include "router.h"
#include "schema/enums.h"
#include "schema/journal.h"
#include "schema/table.h"

/* ---- GET /metrics -------------------------------------------------------- */

/* qcc_budget_remaining{endpoint,period}: endpoints with a budget only. */
static void budget_metrics(const struct qcc_admin_ctx *c, struct qcc_prom *w) {
  struct qcc_budget *b = qcc_budgetgate_budget(c->budget);
  const struct qcc_table *t = api_table_of(c);
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

void api_h_metrics(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  uint64_t now = api_now_of(c);
  struct qcc_prom *w = NULL;
  if (qcc_prom_new(0, &w, NULL) != 0) {
    api_reply_oom(req);
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
  counter(w, "qcc_upstream_warm_requests_total",
          "Keep-warm requests sent to upstreams (upstream.keep_warm).", (double)ac.warm_requests);
  counter(w, "qcc_upstream_warm_connections_total",
          "Keep-warm requests that had to open a new upstream connection.",
          (double)ac.warm_connections);

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
