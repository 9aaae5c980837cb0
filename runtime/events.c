#include "events.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "generation.h"
#include "journal_writer.h"
#include "log.h"
#include "runtime.h"
#include "schema/journal.h"
#include "tableset.h"

#ifndef QCC_VERSION
#define QCC_VERSION "0.1.0"
#endif

struct qcc_events {
  struct ev_loop *loop;
  struct qcc_journal *journal;
  struct qcc_router *router;
  struct qcc_tableset *tables;
  ev_prepare flush_w;
  uint64_t appended;
  uint64_t append_errors;
  bool flush_failing; /* log a failing disk once, not every iteration */
  void (*tap)(void *ctx, const struct qcc_route_event *e);
  void *tap_ctx;
};

static const struct qcc_table *cur_table(const struct qcc_events *ev) {
  if (ev->tables == NULL) return NULL;
  const struct qcc_generation *g = qcc_tableset_current(ev->tables);
  return g != NULL ? g->table : NULL;
}

/* The endpoint as the journal names it: stable id, id string, identity. */
static struct qcc_jep jep(const struct qcc_table *t, uint64_t sid, const char *id) {
  struct qcc_jep e = {.sid = sid, .id = id};
  if (t != NULL && sid != 0) {
    int64_t i = qcc_table_find_endpoint(t, sid);
    if (i >= 0) e.identity = qcc_table_endpoint(t, (uint32_t)i)->identity_hash;
  }
  return e;
}

static void append(struct qcc_events *ev, struct qcc_jrec *r) {
  if (ev->journal == NULL) return;
  struct qcc_err err = {0};
  if (qcc_journal_append(ev->journal, r, &err) != 0) {
    if (ev->append_errors++ == 0) qcc_log_error("journal: record dropped: %s", err.msg);
    return;
  }
  ev->appended++;
}

void qcc_events_record(struct qcc_events *ev, struct qcc_jrec *r) {
  if (ev != NULL) append(ev, r);
}

/* Router clock (monotonic) -> unix ms, for cooldown ends. */
static int64_t to_wall(uint64_t mono) {
  uint64_t now = qcc_runtime_now_ms();
  int64_t wall = qcc_journal_now_ms();
  return mono >= now ? wall + (int64_t)(mono - now) : wall - (int64_t)(now - mono);
}

static unsigned parse_or(const struct qcc_enum_desc *d, const char *s, unsigned dflt) {
  unsigned v;
  return qcc_enum_parse(d, s, &v) ? v : dflt;
}

static unsigned profile_group(const struct qcc_table *t, const char *name) {
  int64_t p = t != NULL && name[0] != '\0' ? qcc_table_find_profile(t, name) : -1;
  return p >= 0 ? qcc_table_profile(t, (uint32_t)p)->group : 0;
}

static void journal_event(struct qcc_events *ev, const struct qcc_route_event *e);

/* Live state of endpoint SID, looked up in the router's own view (its index
 * is the current table's, but the router needs no table to answer). */
static int router_snap(const struct qcc_router *r, uint64_t sid, struct qcc_route_snapshot *s) {
  uint32_t n = qcc_router_endpoint_count(r);
  for (uint32_t i = 0; i < n; i++)
    if (qcc_router_stable_id(r, i) == sid)
      return qcc_router_snapshot(r, i, qcc_runtime_now_ms(), s);
  return -1;
}

static void on_route_event(void *ctx, const struct qcc_route_event *e) {
  struct qcc_events *ev = ctx;
  journal_event(ev, e);
  if (ev->tap != NULL) ev->tap(ev->tap_ctx, e);
}

void qcc_events_tap(struct qcc_events *ev, void (*cb)(void *ctx, const struct qcc_route_event *e),
                    void *ctx) {
  ev->tap = cb;
  ev->tap_ctx = ctx;
}

static void journal_event(struct qcc_events *ev, const struct qcc_route_event *e) {
  const struct qcc_table *t = cur_table(ev);
  qcc_log(e->kind == QCC_EV_SWITCH || e->kind == QCC_EV_BREAKER ? QCC_LOG_WARNING : QCC_LOG_INFO,
          "routing: %s %s%s%s: %s -> %s (%s)", qcc_route_event_name(e->kind), e->endpoint,
          e->endpoint[0] != '\0' ? " in " : "", e->profile, e->from, e->to, e->reason);
  struct qcc_jrec r = {0};
  switch (e->kind) {
  case QCC_EV_HEALTH: {
    r.type = QCC_JT_HEALTH_STATUS;
    r.u.health_status.endpoint = jep(t, e->stable_id, e->endpoint);
    r.u.health_status.from = (uint8_t)parse_or(&qcc_jhealth_desc, e->from, QCC_JHEALTH_UNKNOWN);
    r.u.health_status.to = (uint8_t)parse_or(&qcc_jhealth_desc, e->to, QCC_JHEALTH_UNKNOWN);
    int64_t i = t != NULL ? qcc_table_find_endpoint(t, e->stable_id) : -1;
    struct qcc_route_snapshot s;
    if (i >= 0 && qcc_router_snapshot(ev->router, (uint32_t)i, qcc_runtime_now_ms(), &s) == 0 &&
        s.stable_id == e->stable_id)
      r.u.health_status.score = (uint8_t)s.score;
    r.u.health_status.reason = e->reason;
    break;
  }
  case QCC_EV_BREAKER: {
    r.type = QCC_JT_BREAKER;
    r.u.breaker.endpoint = jep(t, e->stable_id, e->endpoint);
    r.u.breaker.from = (uint8_t)parse_or(&qcc_jbreaker_desc, e->from, QCC_JBREAKER_CLOSED);
    r.u.breaker.to = (uint8_t)parse_or(&qcc_jbreaker_desc, e->to, QCC_JBREAKER_CLOSED);
    int64_t i = t != NULL ? qcc_table_find_endpoint(t, e->stable_id) : -1;
    struct qcc_route_snapshot s;
    if (i >= 0 && qcc_router_snapshot(ev->router, (uint32_t)i, qcc_runtime_now_ms(), &s) == 0 &&
        s.stable_id == e->stable_id) {
      r.u.breaker.failures = s.breaker_failures;
      if (s.breaker_open_until != 0) r.u.breaker.cooldown_until = to_wall(s.breaker_open_until);
    }
    break;
  }
  case QCC_EV_SWITCH:
    r.type = QCC_JT_GROUP_SWITCH;
    r.u.group_switch.from = e->from;
    r.u.group_switch.from_group = (uint8_t)profile_group(t, e->from);
    r.u.group_switch.to = e->to;
    r.u.group_switch.to_group = (uint8_t)profile_group(t, e->to);
    r.u.group_switch.reason = e->reason;
    break;
  case QCC_EV_PIN:
  case QCC_EV_UNPIN:
    r.type = QCC_JT_OVERRIDE;
    r.u.override.kind = e->kind == QCC_EV_PIN ? QCC_JOVERRIDE_PIN : QCC_JOVERRIDE_UNPIN;
    r.u.override.target = (struct qcc_jep){.id = e->profile};
    r.u.override.reason = e->reason;
    break;
  case QCC_EV_DISABLE:
  case QCC_EV_ENABLE:
    r.type = QCC_JT_OVERRIDE;
    r.u.override.kind = e->kind == QCC_EV_DISABLE ? QCC_JOVERRIDE_DISABLE : QCC_JOVERRIDE_ENABLE;
    r.u.override.target = jep(t, e->stable_id, e->endpoint);
    r.u.override.reason = e->reason;
    break;
  case QCC_EV_KEY_REJECTED: {
    r.type = QCC_JT_KEY_REJECTED;
    r.u.key_rejected.endpoint = jep(t, e->stable_id, e->endpoint);
    int st = 0; /* the router's reason reads "HTTP 401..." */
    if (sscanf(e->reason, "HTTP %d", &st) == 1 && st > 0 && st < 1000)
      r.u.key_rejected.http_status = (uint16_t)st;
    r.u.key_rejected.reason = e->reason;
    break;
  }
  case QCC_EV_REST: {
    r.type = QCC_JT_ENDPOINT_REST;
    r.u.endpoint_rest.endpoint = jep(t, e->stable_id, e->endpoint);
    struct qcc_route_snapshot s;
    if (router_snap(ev->router, e->stable_id, &s) == 0 && s.rest_until != 0) {
      r.u.endpoint_rest.until = to_wall(s.rest_until);
      r.u.endpoint_rest.spend_exhausted = s.spend_exhausted;
    }
    r.u.endpoint_rest.reason = e->reason;
    break;
  }
  case QCC_EV_RESET:
    r.type = QCC_JT_ENDPOINT_RESET;
    r.u.endpoint_reset.endpoint = jep(t, e->stable_id, e->endpoint);
    r.u.endpoint_reset.reason = e->reason;
    break;
  default:
    return;
  }
  append(ev, &r);
}

/* Compaction: restate the router's state as snapshot items. */
static int snapshot(struct qcc_journal *j, void *ud, struct qcc_err *err) {
  struct qcc_events *ev = ud;
  const struct qcc_table *t = cur_table(ev);
  uint64_t now = qcc_runtime_now_ms();
  uint32_t n = qcc_router_endpoint_count(ev->router);
  for (uint32_t i = 0; i < n; i++) {
    struct qcc_route_snapshot s;
    if (qcc_router_snapshot(ev->router, i, now, &s) != 0) continue;
    struct qcc_jep ep = jep(t, s.stable_id, s.id);
    if (s.operator_disabled) {
      struct qcc_jrec r = {.type = QCC_JT_OVERRIDE};
      r.u.override = (struct qcc_jrec_override){.kind = QCC_JOVERRIDE_DISABLE, .target = ep,
                                                .reason = s.disabled_reason};
      if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
    }
    if (s.breaker != QCC_BREAKER_CLOSED) {
      struct qcc_jrec r = {.type = QCC_JT_BREAKER};
      r.u.breaker = (struct qcc_jrec_breaker){
          .endpoint = ep, .from = QCC_JBREAKER_CLOSED,
          .to = (uint8_t)parse_or(&qcc_jbreaker_desc, qcc_breaker_state_name(s.breaker), 0),
          .failures = s.breaker_failures,
          .cooldown_until = s.breaker_open_until != 0 ? to_wall(s.breaker_open_until) : 0};
      if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
    }
    if (s.key_rejected) {
      struct qcc_jrec r = {.type = QCC_JT_KEY_REJECTED};
      r.u.key_rejected = (struct qcc_jrec_key_rejected){.endpoint = ep,
                                                        .reason = "state at compaction"};
      if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
    }
    if (s.rest_until != 0 && !s.budget_spent) { /* a budget rest is derived again at start */
      struct qcc_jrec r = {.type = QCC_JT_ENDPOINT_REST};
      r.u.endpoint_rest = (struct qcc_jrec_endpoint_rest){
          .endpoint = ep, .until = to_wall(s.rest_until), .spend_exhausted = s.spend_exhausted,
          .reason = "state at compaction"};
      if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
    }
    if (s.health != QCC_HEALTH_HEALTHY) {
      struct qcc_jrec r = {.type = QCC_JT_HEALTH_STATUS};
      r.u.health_status = (struct qcc_jrec_health_status){
          .endpoint = ep, .from = QCC_JHEALTH_UNKNOWN,
          .to = (uint8_t)((unsigned)s.health + 1), /* journal: unknown = 0 first */
          .score = (uint8_t)s.score, .reason = "state at compaction"};
      if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
    }
  }
  struct qcc_route_status st;
  qcc_router_status(ev->router, &st);
  if (st.active_profile >= 0) {
    struct qcc_jrec r = {.type = QCC_JT_GROUP_SWITCH};
    r.u.group_switch = (struct qcc_jrec_group_switch){
        .from = "", .to = st.active_profile_name, .to_group = (uint8_t)st.active_group,
        .reason = "state at compaction"};
    if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
  }
  if (st.pinned) {
    struct qcc_jrec r = {.type = QCC_JT_OVERRIDE};
    r.u.override = (struct qcc_jrec_override){
        .kind = QCC_JOVERRIDE_PIN, .target = {.id = st.pin_profile}, .reason = st.pin_reason};
    if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
  }
  return 0;
}

int qcc_events_flush(struct qcc_events *ev, struct qcc_err *err) {
  if (ev == NULL || ev->journal == NULL) return 0;
  struct qcc_err local = {0};
  if (err == NULL) err = &local;
  int rc = qcc_journal_flush(ev->journal, err);
  if (rc != 0) {
    if (!ev->flush_failing) qcc_log_error("journal: %s (records stay buffered)", err->msg);
    ev->flush_failing = true;
  } else if (ev->flush_failing) {
    ev->flush_failing = false;
    qcc_log_info("journal: writing again");
  }
  struct qcc_err warn = {0};
  if (qcc_journal_take_warning(ev->journal, &warn) == 1) qcc_log_warn("journal: %s", warn.msg);
  return rc;
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_events *ev = w->data;
  struct qcc_journal_stats st;
  qcc_journal_get_stats(ev->journal, &st);
  if (st.buffered > 0) qcc_events_flush(ev, NULL);
}

int qcc_events_new(struct ev_loop *loop, struct qcc_journal *journal, struct qcc_router *router,
                   struct qcc_tableset *tables, struct qcc_events **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_events *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  ev->loop = loop;
  ev->journal = journal;
  ev->router = router;
  ev->tables = tables;
  qcc_router_on_event(router, on_route_event, ev);
  if (journal != NULL) {
    qcc_journal_set_compaction(journal, QCC_JOURNAL_COMPACT_SIZE_DEFAULT,
                               QCC_JOURNAL_KEEP_RECENT_DEFAULT, snapshot, ev);
    ev_prepare_init(&ev->flush_w, prepare_cb);
    ev->flush_w.data = ev;
    if (loop != NULL) {
      ev_prepare_start(loop, &ev->flush_w);
      ev_unref(loop); /* the flush alone must not keep the loop running */
    }
  }
  *out = ev;
  return 0;
}

void qcc_events_set_compaction(struct qcc_events *ev, uint64_t size_limit, unsigned keep_recent) {
  if (ev->journal != NULL) qcc_journal_set_compaction(ev->journal, size_limit, keep_recent, snapshot, ev);
}

void qcc_events_free(struct qcc_events **pev) {
  if (pev == NULL || *pev == NULL) return;
  struct qcc_events *ev = *pev;
  qcc_router_on_event(ev->router, NULL, NULL);
  if (ev->journal != NULL) {
    qcc_journal_set_compaction(ev->journal, QCC_JOURNAL_COMPACT_SIZE_DEFAULT,
                               QCC_JOURNAL_KEEP_RECENT_DEFAULT, NULL, NULL);
    if (ev->loop != NULL && ev_is_active(&ev->flush_w)) {
      ev_ref(ev->loop);
      ev_prepare_stop(ev->loop, &ev->flush_w);
    }
  }
  free(ev);
  *pev = NULL;
}

uint64_t qcc_events_count(const struct qcc_events *ev) { return ev->appended; }

void qcc_events_startup(struct qcc_events *ev, uint64_t table_generation) {
  if (ev->journal == NULL) return;
  const struct qcc_journal_recovery *rec = qcc_journal_recovery(ev->journal);
  struct qcc_jrec r = {.type = QCC_JT_STARTUP};
  r.u.startup = (struct qcc_jrec_startup){.pid = (uint32_t)getpid(), .version = QCC_VERSION,
                                          .table_generation = table_generation,
                                          .fsync = (uint8_t)qcc_journal_policy(ev->journal),
                                          .truncated_bytes = rec->truncated_bytes};
  append(ev, &r);
}

void qcc_events_shutdown(struct qcc_events *ev, bool clean, const char *reason) {
  struct qcc_jrec r = {.type = QCC_JT_SHUTDOWN};
  r.u.shutdown = (struct qcc_jrec_shutdown){.clean = clean, .reason = reason};
  append(ev, &r);
  qcc_events_flush(ev, NULL);
}

void qcc_events_table_swap(struct qcc_events *ev, uint64_t from_gen, uint64_t to_gen, bool ok,
                           const char *reason) {
  struct qcc_jrec r = {.type = QCC_JT_TABLE_SWAP};
  r.u.table_swap = (struct qcc_jrec_table_swap){.from_generation = from_gen,
                                                .to_generation = to_gen, .ok = ok,
                                                .reason = ok ? "" : reason};
  append(ev, &r);
}

void qcc_events_health_check(struct qcc_events *ev, uint64_t sid, bool ok, int http_status,
                             uint32_t latency_us, const char *error) {
  const struct qcc_table *t = cur_table(ev);
  int64_t i = t != NULL ? qcc_table_find_endpoint(t, sid) : -1;
  const char *id = i >= 0 ? qcc_table_str(t, qcc_table_endpoint(t, (uint32_t)i)->id) : "";
  struct qcc_jrec r = {.type = QCC_JT_HEALTH_CHECK};
  r.u.health_check = (struct qcc_jrec_health_check){
      .endpoint = jep(t, sid, id), .ok = ok,
      .http_status = (uint16_t)(http_status > 0 && http_status < 1000 ? http_status : 0),
      .latency_us = latency_us, .error = ok ? "" : error};
  append(ev, &r);
}

/* ---- restore ---------------------------------------------------------------- */

struct rst_ep {
  uint64_t sid, identity;
  bool has_health;
  uint8_t health; /* enum qcc_jhealth */
  bool has_breaker;
  uint8_t breaker; /* enum qcc_jbreaker */
  uint32_t failures;
  int64_t cooldown_until;
  bool key_rejected;
  int64_t rest_until; /* unix ms, 0 = not resting */
  bool spend_exhausted;
  bool disabled;
  char reason[64];
};

struct rst {
  struct rst_ep *eps;
  size_t n, cap;
  bool pinned;
  char pin[64];
  char pin_reason[128];
  char active[64];
  uint64_t records;
  bool oom;
};

static struct rst_ep *rst_ep(struct rst *s, const struct qcc_jep *e) {
  if (e->sid == 0) return NULL;
  for (size_t i = 0; i < s->n; i++)
    if (s->eps[i].sid == e->sid) {
      if (e->identity != 0) s->eps[i].identity = e->identity;
      return &s->eps[i];
    }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    struct rst_ep *n = realloc(s->eps, cap * sizeof *n);
    if (n == NULL) {
      s->oom = true;
      return NULL;
    }
    s->eps = n;
    s->cap = cap;
  }
  struct rst_ep *x = &s->eps[s->n++];
  *x = (struct rst_ep){.sid = e->sid, .identity = e->identity};
  return x;
}

static int replay_cb(const struct qcc_jrec *r, uint64_t offset, void *ud) {
  (void)offset;
  struct rst *s = ud;
  s->records++;
  struct rst_ep *e;
  switch (r->type) {
  case QCC_JT_STATE_SNAPSHOT:
    /* what follows is the whole state */
    s->n = 0;
    s->pinned = false;
    s->active[0] = '\0';
    break;
  case QCC_JT_HEALTH_STATUS:
    e = rst_ep(s, &r->u.health_status.endpoint);
    if (e != NULL) {
      e->has_health = true;
      e->health = r->u.health_status.to;
    }
    break;
  case QCC_JT_BREAKER:
    e = rst_ep(s, &r->u.breaker.endpoint);
    if (e != NULL) {
      e->has_breaker = true;
      e->breaker = r->u.breaker.to;
      e->failures = r->u.breaker.failures;
      e->cooldown_until = r->u.breaker.cooldown_until;
    }
    break;
  case QCC_JT_KEY_REJECTED:
    e = rst_ep(s, &r->u.key_rejected.endpoint);
    if (e != NULL) e->key_rejected = true;
    break;
  case QCC_JT_ENDPOINT_REST:
    e = rst_ep(s, &r->u.endpoint_rest.endpoint);
    /* a budget rest is not restored: the budget, seeded from the usage
     * file, rests the endpoint again if it is still spent under the table
     * now loaded (runtime/budgetgate.h) */
    if (r->u.endpoint_rest.reason != NULL && strstr(r->u.endpoint_rest.reason, "budget spent") != NULL)
      break;
    if (e != NULL && r->u.endpoint_rest.until > e->rest_until) {
      e->rest_until = r->u.endpoint_rest.until;
      e->spend_exhausted = r->u.endpoint_rest.spend_exhausted;
    }
    break;
  case QCC_JT_ENDPOINT_RESET:
    /* the router started this endpoint afresh (new URL/auth/key); only an
     * operator disable outlives that */
    e = rst_ep(s, &r->u.endpoint_reset.endpoint);
    if (e != NULL) {
      e->has_health = false;
      e->has_breaker = false;
      e->key_rejected = false;
      e->rest_until = 0;
      e->spend_exhausted = false;
    }
    break;
  case QCC_JT_GROUP_SWITCH:
    snprintf(s->active, sizeof s->active, "%s",
             r->u.group_switch.to != NULL ? r->u.group_switch.to : "");
    break;
  case QCC_JT_OVERRIDE: {
    const struct qcc_jrec_override *o = &r->u.override;
    const char *reason = o->reason != NULL ? o->reason : "";
    if (o->kind == QCC_JOVERRIDE_PIN) {
      s->pinned = o->target.id != NULL && o->target.id[0] != '\0';
      snprintf(s->pin, sizeof s->pin, "%s", o->target.id != NULL ? o->target.id : "");
      snprintf(s->pin_reason, sizeof s->pin_reason, "%s", reason);
    } else if (o->kind == QCC_JOVERRIDE_UNPIN) {
      s->pinned = false;
    } else if ((e = rst_ep(s, &o->target)) != NULL) {
      e->disabled = o->kind == QCC_JOVERRIDE_DISABLE;
      snprintf(e->reason, sizeof e->reason, "%s", reason);
      if (o->kind == QCC_JOVERRIDE_ENABLE) {
        /* as qcc_router_enable: the operator says the key is fixed, and
         * that the endpoint works (breaker closed, not unhealthy) */
        e->key_rejected = false;
        e->rest_until = 0;
        e->spend_exhausted = false;
        e->has_breaker = false;
        if (e->has_health && e->health == QCC_JHEALTH_UNHEALTHY) e->health = QCC_JHEALTH_DEGRADED;
      }
    }
    break;
  }
  default:
    break;
  }
  return 0;
}

int qcc_events_restore(struct qcc_journal *journal, struct qcc_router *router,
                       const struct qcc_table *t, uint64_t mono_now, int64_t wall_now,
                       struct qcc_restore_summary *sum, struct qcc_err *err) {
  *sum = (struct qcc_restore_summary){0};
  struct rst s = {0};
  if (qcc_journal_replay(journal, replay_cb, &s, err) != 0) {
    free(s.eps);
    return -1;
  }
  if (s.oom) {
    free(s.eps);
    return qcc_err_set(err, ENOMEM, "out of memory restoring state from the journal");
  }
  sum->records = s.records;
  struct qcc_err ignore = {0};
  for (size_t k = 0; k < s.n; k++) {
    const struct rst_ep *e = &s.eps[k];
    int64_t i = qcc_table_find_endpoint(t, e->sid);
    if (i < 0) {
      sum->dropped++;
      continue;
    }
    uint32_t idx = (uint32_t)i;
    if (e->disabled && qcc_router_restore_disabled(router, idx, e->reason, &ignore) == 0)
      sum->disabled++;
    if (e->identity != 0 && e->identity != qcc_table_endpoint(t, idx)->identity_hash) {
      sum->dropped++; /* URL or key reference changed: old state says nothing */
      continue;
    }
    if (e->has_breaker && e->breaker != QCC_JBREAKER_CLOSED) {
      /* half-open at the crash: the probe's answer was lost; open with the
       * cooldown over, so the next request probes again */
      uint64_t until = mono_now;
      if (e->breaker == QCC_JBREAKER_OPEN && e->cooldown_until > wall_now)
        until = mono_now + (uint64_t)(e->cooldown_until - wall_now);
      if (qcc_router_restore_breaker(router, idx, e->failures, until, mono_now, &ignore) == 0)
        sum->breakers++;
    }
    if (e->key_rejected && qcc_router_restore_key_rejected(router, idx, &ignore) == 0)
      sum->key_rejected++;
    if (e->rest_until > wall_now &&
        qcc_router_restore_rest(router, idx, mono_now + (uint64_t)(e->rest_until - wall_now),
                                e->spend_exhausted, &ignore) == 0)
      sum->resting++;
    if (e->has_health && e->health != QCC_JHEALTH_UNKNOWN &&
        qcc_router_restore_health(router, idx, (enum qcc_health_status)(e->health - 1), mono_now,
                                  &ignore) == 0)
      sum->health++;
  }
  if (s.active[0] != '\0' && qcc_router_restore_active(router, s.active, mono_now, &ignore) == 0)
    snprintf(sum->active_profile, sizeof sum->active_profile, "%s", s.active);
  if (s.pinned && qcc_router_restore_pin(router, s.pin, s.pin_reason, &ignore) == 0) {
    sum->pinned = true;
    snprintf(sum->pin_profile, sizeof sum->pin_profile, "%s", s.pin);
  }
  free(s.eps);
  return 0;
}
