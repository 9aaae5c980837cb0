/* The router itself (runtime/router.h): its lifecycle, attaching a table
 * generation (copying what it needs and carrying live state across by
 * stable id and identity hash), the event ring, snapshots and status, and
 * the enum names. Picking, outcomes and the operator's actions are in
 * router_pick.c, router_outcome.c and router_operator.c (router_int.h). */
#include "router_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/enums.h"
#include "schema/table.h"


void qcc_router_params_default(struct qcc_router_params *p) {
  *p = (struct qcc_router_params){.breaker_base_ms = 30000, .breaker_max_ms = 600000,
                                  .rest_default_ms = 30000, .rest_max_ms = 300000,
                                  .rest_spend_ms = 3600000, .degraded_divisor = 4};
  qcc_health_params_default(&p->health);
}

int qcc_router_new(const struct qcc_router_params *params, struct qcc_router **out,
                   struct qcc_err *err) {
  struct qcc_router *r = calloc(1, sizeof *r);
  if (r == NULL) return qcc_err_set(err, ENOMEM, "router: out of memory");
  if (params) r->prm = *params;
  else qcc_router_params_default(&r->prm);
  if (r->prm.degraded_divisor == 0) r->prm.degraded_divisor = 1;
  r->active = -1;
  *out = r;
  return 0;
}

static void release_view(struct qcc_router *r) {
  free(r->eps);
  free(r->by_sid);
  free(r->profs);
  free(r->ladder);
  free(r->slots);
}

void qcc_router_free(struct qcc_router **rp) {
  if (rp == NULL || *rp == NULL) return;
  release_view(*rp);
  free((*rp)->ring);
  free(*rp);
  *rp = NULL;
}

uint32_t qcc_router_epoch(const struct qcc_router *r) { return r->epoch; }

void qcc_router_on_ready(struct qcc_router *r,
                         void (*cb)(void *ctx, enum qcc_ready_kind kind), void *ctx) {
  r->ready_cb = cb;
  r->ready_ctx = ctx;
}

/* Something may have become eligible other than by the clock: waiting
 * requests should look again now. */
void rt_ready_as(struct qcc_router *r, enum qcc_ready_kind kind) {
  if (r->ready_cb) r->ready_cb(r->ready_ctx, kind);
}

void rt_ready(struct qcc_router *r) { rt_ready_as(r, QCC_READY_RECOVERED); }

/* ---- events --------------------------------------------------------------- */

void rt_emit(struct qcc_router *r, enum qcc_route_event_kind kind, const struct ep *e,
             const char *profile, const char *from, const char *to, uint64_t now,
             const char *reason_fmt, ...) {
  if (r->ring == NULL) r->ring = malloc(QCC_ROUTE_EVENT_RING * sizeof *r->ring);
  struct qcc_route_event lone; /* no memory for the ring: the callback still hears it */
  struct qcc_route_event *ev = r->ring != NULL ? &r->ring[r->ring_next] : &lone;
  *ev = (struct qcc_route_event){.time_ms = now, .kind = kind};
  snprintf(ev->from, sizeof ev->from, "%s", from ? from : "");
  snprintf(ev->to, sizeof ev->to, "%s", to ? to : "");
  va_list ap;
  va_start(ap, reason_fmt);
  vsnprintf(ev->reason, sizeof ev->reason, reason_fmt, ap);
  va_end(ap);
  if (e) {
    ev->stable_id = e->stable_id;
    snprintf(ev->endpoint, sizeof ev->endpoint, "%s", e->id);
    if (profile == NULL && e->profile < r->n_profs) profile = r->profs[e->profile].name;
  }
  snprintf(ev->profile, sizeof ev->profile, "%s", profile ? profile : "");
  if (r->ring != NULL) {
    r->ring_next = (r->ring_next + 1) % QCC_ROUTE_EVENT_RING;
    if (r->ring_len < QCC_ROUTE_EVENT_RING) r->ring_len++;
  }
  if (r->ev_cb) r->ev_cb(r->ev_ctx, ev);
}

void qcc_router_on_event(struct qcc_router *r,
                         void (*cb)(void *ctx, const struct qcc_route_event *ev), void *ctx) {
  r->ev_cb = cb;
  r->ev_ctx = ctx;
}

size_t qcc_router_events(const struct qcc_router *r, struct qcc_route_event *out, size_t max) {
  size_t n = r->ring_len < max ? r->ring_len : max;
  size_t start = (r->ring_next + QCC_ROUTE_EVENT_RING - n) % QCC_ROUTE_EVENT_RING;
  for (size_t i = 0; i < n; i++) out[i] = r->ring[(start + i) % QCC_ROUTE_EVENT_RING];
  return n;
}

/* ---- attach --------------------------------------------------------------- */

static void live_init(struct qcc_router *r, struct live *lv, uint32_t max_failures,
                      uint64_t now) {
  *lv = (struct live){0};
  qcc_breaker_init(&lv->br, max_failures, r->prm.breaker_base_ms, r->prm.breaker_max_ms);
  qcc_health_init(&lv->h, now);
  lv->reset_epoch = r->epoch + 1;
}

static int cmp_sid(const void *a, const void *b) {
  const struct sid_ix *x = a, *y = b;
  return x->sid < y->sid ? -1 : x->sid > y->sid;
}

struct ep *rt_find_sid(const struct qcc_router *r, uint64_t sid) {
  if (r->by_sid == NULL) return NULL;
  struct sid_ix key = {.sid = sid};
  const struct sid_ix *hit = bsearch(&key, r->by_sid, r->n_eps, sizeof key, cmp_sid);
  return hit ? &r->eps[hit->idx] : NULL;
}

static const struct rung *old_rung(const struct qcc_router *r, const char *name) {
  for (uint32_t i = 0; i < r->n_rungs; i++)
    if (strcmp(r->profs[r->ladder[i].profile].name, name) == 0) return &r->ladder[i];
  return NULL;
}


int qcc_router_attach(struct qcc_router *r, const struct qcc_table *t, uint64_t now,
                      struct qcc_err *err) {
  const struct qcc_tbl_settings *st = qcc_table_settings(t);
  uint32_t np = qcc_table_profile_count(t), ne = qcc_table_endpoint_count(t);
  struct ep *eps = calloc(ne ? ne : 1, sizeof *eps);
  struct sid_ix *by_sid = calloc(ne ? ne : 1, sizeof *by_sid);
  struct prof *profs = calloc(np ? np : 1, sizeof *profs);
  struct rung *ladder = calloc(np ? np : 1, sizeof *ladder);
  struct qcc_lb_slot *slots = calloc(ne ? ne : 1, sizeof *slots);
  if (!eps || !by_sid || !profs || !ladder || !slots) {
    free(eps);
    free(by_sid);
    free(profs);
    free(ladder);
    free(slots);
    return qcc_err_set(err, ENOMEM, "router: out of memory attaching the table");
  }

  for (uint32_t i = 0; i < np; i++) {
    const struct qcc_tbl_profile *tp = qcc_table_profile(t, i);
    struct prof *p = &profs[i];
    snprintf(p->name, sizeof p->name, "%s", qcc_table_str(t, tp->name));
    p->group = tp->group;
    p->enabled = tp->enabled;
    p->lb = tp->lb_strategy;
    p->health_aware = tp->health_aware;
    p->sticky = tp->sticky_session;
    p->first = tp->endpoint_first;
    p->count = tp->endpoint_count;
    p->rung = -1;
  }
  /* The ladder: enabled profiles with endpoints, by group, table order inside. */
  uint32_t nr = 0;
  for (unsigned g = 0; g < QCC_GROUP_COUNT; g++) {
    if (g == QCC_GROUP_FALLBACK && !st->fallback_enabled) continue;
    for (uint32_t i = 0; i < np; i++) {
      if (profs[i].group != g || !profs[i].enabled || profs[i].count == 0) continue;
      profs[i].rung = (int32_t)nr;
      ladder[nr].profile = i;
      const struct rung *o = r->attached ? old_rung(r, profs[i].name) : NULL;
      if (o) {
        ladder[nr].up = o->up;
        ladder[nr].up_since = o->up_since;
      }
      nr++;
    }
  }

  uint32_t new_epoch = r->epoch + 1;
  for (uint32_t i = 0; i < ne; i++) {
    const struct qcc_tbl_endpoint *te = qcc_table_endpoint(t, i);
    struct ep *e = &eps[i];
    e->stable_id = te->stable_id;
    e->identity_hash = te->identity_hash;
    snprintf(e->id, sizeof e->id, "%s", qcc_table_str(t, te->id));
    e->profile = te->profile_index;
    e->pos = te->profile_index < np ? i - profs[te->profile_index].first : 0;
    e->weight = te->weight ? te->weight : 1;
    e->priority = te->priority;
    e->max_failures = te->max_failures;
    e->max_conc = te->max_concurrency;
    e->rate_limit = te->rate_limit;
    e->enabled = te->enabled && te->profile_index < np && profs[te->profile_index].enabled;
    by_sid[i] = (struct sid_ix){.sid = e->stable_id, .idx = i};

    const struct ep *old = r->attached ? rt_find_sid(r, e->stable_id) : NULL;
    if (old && old->identity_hash == e->identity_hash) {
      e->lv = old->lv;
      e->lv.br.max_failures = e->max_failures ? e->max_failures : 1;
    } else {
      live_init(r, &e->lv, e->max_failures, now);
      e->lv.reset_epoch = new_epoch;
      e->was_reset = old != NULL;
      if (old) {
        /* An operator's disable outlives a URL or key change on purpose:
         * only an operator re-enables. */
        e->lv.op_disabled = old->lv.op_disabled;
        memcpy(e->lv.op_reason, old->lv.op_reason, sizeof e->lv.op_reason);
      }
    }
  }
  qsort(by_sid, ne, sizeof *by_sid, cmp_sid);

  /* Events need the new names, so they go out after the swap. */
  struct ep *old_eps = r->eps;
  struct sid_ix *old_sid = r->by_sid;
  char active_name[64] = "";
  if (r->active >= 0) snprintf(active_name, sizeof active_name, "%s",
                               r->profs[r->ladder[r->active].profile].name);
  free(r->profs);
  free(r->ladder);
  free(r->slots);
  r->eps = eps;
  r->n_eps = ne;
  r->by_sid = by_sid;
  r->profs = profs;
  r->n_profs = np;
  r->ladder = ladder;
  r->n_rungs = nr;
  r->slots = slots;
  r->epoch = new_epoch;

  r->auto_switch = st->auto_switch;
  r->auto_recovery = st->auto_recovery;
  r->fallback_enabled = st->fallback_enabled;
  r->switch_threshold = st->switch_threshold;
  r->cooldown_ms = st->cooldown_ms;
  r->health_enabled = st->health_enabled;
  r->check_interval_ms = st->check_interval_ms;
  r->check_timeout_ms = st->health_timeout_ms;

  for (uint32_t i = 0; i < ne; i++) {
    if (!eps[i].was_reset) continue;
    eps[i].was_reset = false;
    rt_emit(r, QCC_EV_RESET, &eps[i], NULL, "", "", now,
            "base_url, auth or key changed: state reset");
  }
  free(old_eps);
  free(old_sid);

  int64_t act = -1;
  for (uint32_t i = 0; i < nr && active_name[0]; i++)
    if (strcmp(profs[ladder[i].profile].name, active_name) == 0) act = i;
  if (act < 0 && nr > 0) {
    act = 0;
    r->active_since = now;
    r->fail_streak = 0;
  }
  r->active = act;
  if (active_name[0] && strcmp(active_name, rt_rung_name(r, act)) != 0)
    rt_emit(r, QCC_EV_SWITCH, NULL, rt_rung_name(r, act), active_name, rt_rung_name(r, act), now,
            "active profile %s is no longer in the table (or disabled)", active_name);
  if (r->pinned && qcc_table_find_profile(t, r->pin_name) < 0) {
    r->pinned = false;
    rt_emit(r, QCC_EV_UNPIN, NULL, r->pin_name, r->pin_name, "auto", now,
            "pinned profile is gone from the table");
  }
  r->attached = true;
  rt_ready(r); /* new endpoints, new keys, new limits */
  return 0;
}

/* ---- introspection -------------------------------------------------------- */

uint32_t qcc_router_endpoint_count(const struct qcc_router *r) { return r->n_eps; }

int qcc_router_snapshot(const struct qcc_router *r, uint32_t idx, uint64_t now,
                        struct qcc_route_snapshot *out) {
  if (idx >= r->n_eps) return -1;
  const struct ep *e = &r->eps[idx];
  const struct prof *pf = &r->profs[e->profile];
  const struct qcc_health *h = &e->lv.h;
  *out = (struct qcc_route_snapshot){
      .stable_id = e->stable_id, .group = pf->group, .enabled = e->enabled,
      .operator_disabled = e->lv.op_disabled, .key_rejected = e->lv.key_rejected,
      .rest_until = e->lv.rest_until > now ? e->lv.rest_until : 0,
      .spend_exhausted = e->lv.rest_until > now && e->lv.rest_spend,
      .budget_spent = e->lv.rest_until > now && e->lv.rest_budget,
      .breaker = e->lv.br.state, .breaker_failures = e->lv.br.failures,
      .breaker_open_until = e->lv.br.state == QCC_BREAKER_OPEN ? e->lv.br.open_until : 0,
      .inflight = e->lv.inflight, .health = h->status,
      .score = qcc_health_score(h, &r->prm.health), .last_check = h->last_check,
      .last_success = h->last_success, .last_failure = h->last_failure,
      .consecutive_failures = h->consecutive_failures, .total_requests = h->total_requests,
      .failed_requests = h->failed_requests, .success_rate = qcc_health_success_rate(h),
      .avg_ms = qcc_health_avg_ms(h), .ewma_ms = h->ewma_ms};
  snprintf(out->id, sizeof out->id, "%s", e->id);
  snprintf(out->profile, sizeof out->profile, "%s", pf->name);
  snprintf(out->disabled_reason, sizeof out->disabled_reason, "%s", e->lv.op_reason);
  snprintf(out->last_error, sizeof out->last_error, "%s", h->last_error);
  /* rt_block() only refreshes the rate bucket with caps on; with caps off it
   * reads state, so the cast does not change anything observable. */
  uint64_t ready;
  out->available = rt_block((struct qcc_router *)r, idx, NULL, false, now, &ready) == BLK_NONE;
  return 0;
}

void qcc_router_status(const struct qcc_router *r, struct qcc_route_status *out) {
  *out = (struct qcc_route_status){.endpoint_count = r->n_eps, .active_profile = -1,
                                   .pinned = r->pinned, .fail_streak = r->fail_streak,
                                   .active_since = r->active_since};
  if (r->active >= 0) {
    uint32_t p = r->ladder[r->active].profile;
    out->active_profile = p;
    out->active_group = r->profs[p].group;
    snprintf(out->active_profile_name, sizeof out->active_profile_name, "%s", r->profs[p].name);
  }
  if (r->pinned) {
    snprintf(out->pin_profile, sizeof out->pin_profile, "%s", r->pin_name);
    snprintf(out->pin_reason, sizeof out->pin_reason, "%s", r->pin_reason);
  }
}

/* ---- names ---------------------------------------------------------------- */

#define NAME_(c, s) [c] = s,
const char *qcc_pick_result_name(enum qcc_pick_result v) {
  static const char *const n[] = {QCC_PICK_RESULT_LIST(NAME_)};
  return (unsigned)v < QCC_PICK_RESULT_COUNT ? n[v] : "?";
}
const char *qcc_outcome_name(enum qcc_outcome_kind v) {
  static const char *const n[] = {QCC_OUTCOME_LIST(NAME_)};
  return (unsigned)v < QCC_OUTCOME_COUNT ? n[v] : "?";
}
const char *qcc_route_event_name(enum qcc_route_event_kind v) {
  static const char *const n[] = {QCC_ROUTE_EVENT_LIST(NAME_)};
  return (unsigned)v < QCC_ROUTE_EVENT_COUNT ? n[v] : "?";
}
#undef NAME_
