/* The admin API's operator actions on endpoints and profiles
 * (docs/admin-api.md): enable and disable, probing one endpoint or all
 * (POST /endpoints/ID/test, /health/check), the priority ladder, switching
 * and pinning, and the switching history. Shares the helpers of adminapi.c
 * through adminapi_int.h. */
#include "adminapi_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router.h"
#include "schema/enums.h"
#include "schema/journal.h"
#include "schema/table.h"

/* ---- POST /endpoints/ID/enable|disable ----------------------------------- */

static void enable_disable(struct qcc_admin_req *req, struct qcc_admin_ctx *c, bool enable) {
  uint64_t now = api_now_of(c);
  const char *id = qcc_admin_req_param(req, 0);
  int64_t idx = api_find_endpoint(c, id, now);
  if (idx < 0) {
    qcc_admin_reply_error(req, 404, "no endpoint with id \"%s\"", id);
    return;
  }
  char reason[128];
  if (!api_body_reason(req, reason, sizeof reason)) return;
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
  qcc_admin_reply_json(req, 200, api_endpoint_json(c, api_table_of(c), (uint32_t)idx, &s, now));
}

void api_h_enable(struct qcc_admin_req *req, void *arg) { enable_disable(req, arg, true); }
void api_h_disable(struct qcc_admin_req *req, void *arg) { enable_disable(req, arg, false); }

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
  return json_pack("{s:o,s:b,s:i,s:i,s:o}", "id", api_jstr(id), "ok", p->ok, "status",
                   p->http_status, "latency_ms", (int)p->latency_ms, "detail",
                   api_str_or_null(p->detail));
}

static void probe_one_done(void *arg, const struct qcc_admin_probe *p) {
  struct probe_one *po = arg;
  qcc_admin_reply_json(po->req, 200, probe_json(po->id, p));
  free(po);
}

void api_h_test(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  const char *id = qcc_admin_req_param(req, 0);
  int64_t idx = api_find_endpoint(c, id, api_now_of(c));
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
    api_reply_oom(req);
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
  uint64_t now = api_now_of(c);
  /* The table may have been swapped meanwhile: find the endpoint again. */
  int64_t idx = api_find_stable(c, po->stable_id, now);
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

void api_h_check(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (c->test_endpoint == NULL) {
    qcc_admin_reply_error(req, 503, "health checks not available");
    return;
  }
  char reason[128];
  if (!api_body_reason(req, reason, sizeof reason)) return;
  api_journal_action(c, "health_check", "", reason);
  uint64_t now = api_now_of(c);
  uint32_t n = qcc_router_endpoint_count(c->router);
  struct check_all *ca = calloc(1, sizeof *ca + (size_t)n * sizeof(struct probe_one));
  json_t *results = json_array();
  if (ca == NULL || results == NULL) {
    free(ca);
    json_decref(results);
    api_reply_oom(req);
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
  uint64_t now = api_now_of(c);
  struct qcc_route_status rs;
  qcc_router_status(c->router, &rs);
  const struct qcc_table *t = api_table_of(c);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  json_object_set_new(
      o, "active",
      rs.active_profile >= 0
          ? json_pack("{s:o,s:s,s:o}", "profile", api_jstr(rs.active_profile_name), "group",
                      qcc_enum_name(&qcc_group_desc, rs.active_group), "since",
                      api_iso_mono(c, rs.active_since))
          : json_null());
  json_object_set_new(o, "pinned",
                      rs.pinned ? json_pack("{s:o,s:o}", "profile", api_jstr(rs.pin_profile),
                                            "reason", api_str_or_null(rs.pin_reason))
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
            profs, json_pack("{s:o,s:s,s:o,s:b,s:b,s:b,s:i,s:i}", "name", api_jstr(name), "group",
                             qcc_enum_name(&qcc_group_desc, grp), "description",
                             api_str_or_null(qcc_table_str(t, pr->description)), "enabled",
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

void api_h_priority(struct qcc_admin_req *req, void *arg) {
  qcc_admin_reply_json(req, 200, priority_json(arg));
}

void api_h_switch(struct qcc_admin_req *req, void *arg) {
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
  uint64_t now = api_now_of(c);
  struct qcc_err err = {0};
  if (to_auto && prof == NULL && (reason == NULL || json_is_string(reason) || json_is_null(reason))) {
    qcc_router_unpin(c->router, json_string_value(reason), now);
  } else if (!to_auto && json_is_string(prof) &&
             (reason == NULL || json_is_string(reason) || json_is_null(reason))) {
    const char *name = json_string_value(prof);
    const struct qcc_table *t = api_table_of(c);
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

void api_h_history(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  const char *kind = qcc_admin_req_query(req, "kind");
  bool all = kind != NULL && strcmp(kind, "all") == 0;
  struct qcc_route_event *ev = calloc(QCC_ROUTE_EVENT_RING, sizeof *ev);
  json_t *arr = json_array();
  if (ev == NULL || arr == NULL) {
    free(ev);
    json_decref(arr);
    api_reply_oom(req);
    return;
  }
  size_t n = qcc_router_events(c->router, ev, QCC_ROUTE_EVENT_RING);
  for (size_t i = 0; i < n; i++) {
    const struct qcc_route_event *e = &ev[i];
    if (!all && e->kind != QCC_EV_SWITCH && e->kind != QCC_EV_PIN && e->kind != QCC_EV_UNPIN)
      continue;
    json_array_append_new(
        arr, json_pack("{s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "time", api_iso_mono(c, e->time_ms), "kind",
                       qcc_route_event_name(e->kind), "from", api_str_or_null(e->from), "to",
                       api_str_or_null(e->to), "reason", api_str_or_null(e->reason), "endpoint",
                       api_str_or_null(e->endpoint), "profile", api_str_or_null(e->profile)));
  }
  free(ev);
  qcc_admin_reply_json(req, 200, json_pack("{s:o}", "events", arr));
}
