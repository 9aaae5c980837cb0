/* The admin API's read-only views of qcc-run (docs/admin-api.md): GET
 * /healthz (a table is loaded), GET /status (the process, the table, the
 * active profile, counters) and GET /health and /endpoints (every endpoint's
 * live state). Shares the helpers of adminapi.c through adminapi_int.h. */
#include "adminapi_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budgetgate.h"
#include "deadletters.h"
#include "generation.h"
#include "metrics.h"
#include "queue.h"
#include "router.h"
#include "schema/enums.h"
#include "schema/journal.h"
#include "schema/table.h"

/* ---- GET /healthz -------------------------------------------------------- */

void api_h_healthz(struct qcc_admin_req *req, void *arg) {
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

void api_h_status(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  uint64_t now = api_now_of(c);
  json_t *o = json_object();
  if (o == NULL) {
    api_reply_oom(req);
    return;
  }
  json_object_set_new(o, "version", api_jstr(c->version != NULL ? c->version : "unknown"));
  json_object_set_new(o, "pid", json_integer(getpid()));
  json_object_set_new(o, "started_at", api_iso_wall(c->started_wall_ms));
  json_object_set_new(o, "uptime_s",
                      json_integer(now >= c->started_mono_ms
                                       ? (json_int_t)((now - c->started_mono_ms) / 1000)
                                       : 0));
  json_object_set_new(o, "state_dir", api_str_or_null(c->state_dir));

  struct qcc_generation *g = c->current != NULL ? c->current(c->current_arg) : NULL;
  if (g != NULL) {
    const struct qcc_tbl_header *h = qcc_table_header(g->table);
    char fmt[16], digest[33];
    snprintf(fmt, sizeof fmt, "%u.%u", (unsigned)h->version_major, (unsigned)h->version_minor);
    /* The config it was built from: qccc status compares it with the one on disk. */
    for (int i = 0; i < 16; i++) snprintf(digest + 2 * i, 3, "%02x", h->source_digest[i]);
    json_object_set_new(
        o, "table",
        json_pack("{s:o,s:I,s:o,s:i,s:i,s:s,s:s}", "path", api_str_or_null(c->table_path),
                  "generation", (json_int_t)g->number, "built_at", api_iso_wall(h->build_time * 1000), "profiles",
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
                                  api_iso_wall(mt.last_reload_ms), "generation",
                                  (json_int_t)mt.last_reload_generation, "error",
                                  api_str_or_null(mt.last_reload_error)));
  else
    json_object_set_new(o, "last_reload", json_null());

  struct qcc_route_status rs;
  qcc_router_status(c->router, &rs);
  json_object_set_new(
      o, "routing",
      json_pack("{s:o,s:s,s:o,s:b,s:o,s:o,s:i}", "active_profile",
                rs.active_profile >= 0 ? api_jstr(rs.active_profile_name) : json_null(),
                "active_group", qcc_enum_name(&qcc_group_desc, rs.active_group), "active_since",
                api_iso_mono(c, rs.active_since), "pinned", rs.pinned, "pin_profile",
                rs.pinned ? api_jstr(rs.pin_profile) : json_null(), "pin_reason",
                rs.pinned ? api_str_or_null(rs.pin_reason) : json_null(), "fail_streak",
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
  const struct qcc_table *tb = api_table_of(c);
  json_t *sp = json_array();
  uint32_t ne = tb != NULL && qcc_budgetgate_budget(c->budget) != NULL ? qcc_table_endpoint_count(tb) : 0;
  for (uint32_t i = 0; i < ne && sp != NULL; i++) {
    json_t *x = json_pack("{s:s}", "id", qcc_table_str(tb, qcc_table_endpoint(tb, i)->id));
    if (x == NULL) continue;
    api_spending_json(c, tb, i, x);
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

/* ---- GET /health, GET /endpoints ----------------------------------------- */

static void list_endpoints(struct qcc_admin_req *req, const struct qcc_admin_ctx *c,
                           bool summary) {
  uint64_t now = api_now_of(c);
  const char *only = qcc_admin_req_query(req, "profile");
  const struct qcc_table *t = api_table_of(c);
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
    if (json_array_append_new(arr, api_endpoint_json(c, t, i, &s, now)) != 0) {
      json_decref(arr);
      arr = NULL;
    }
  }
  if (arr == NULL) {
    api_reply_oom(req);
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

void api_h_health(struct qcc_admin_req *req, void *arg) { list_endpoints(req, arg, true); }
void api_h_endpoints(struct qcc_admin_req *req, void *arg) { list_endpoints(req, arg, false); }
