/* Outcomes (runtime/router.h, "outcomes" and "active health checks"): what
 * a request's end or an active check's result does to an endpoint's live
 * state (breaker, health, 429 rest, key rejected, rate bucket, in-flight),
 * the events that says, and the group failures that switch profiles.
 * Shares the router's private state through router_int.h. */
#include "router_int.h"

#include <stdio.h>

/* ---- outcomes ------------------------------------------------------------- */

bool qcc_router_retryable(const struct qcc_outcome *o) {
  switch (o->kind) {
  case QCC_OUT_CONNECT_ERROR:
  case QCC_OUT_TLS_ERROR:
  case QCC_OUT_TIMEOUT: return true;
  case QCC_OUT_HTTP_STATUS:
    switch (o->http_status) {
    case 401: case 403: case 429: case 500: case 502: case 503: case 504: case 529: return true;
    default: return false;
    }
  default: return false;
  }
}

static struct ep *resolve(struct qcc_router *r, const struct qcc_pick *pk) {
  if (pk == NULL || pk->result != QCC_PICK_OK) return NULL;
  struct ep *e = NULL;
  if (pk->epoch == r->epoch && pk->endpoint < r->n_eps &&
      r->eps[pk->endpoint].stable_id == pk->stable_id)
    e = &r->eps[pk->endpoint];
  else
    e = rt_find_sid(r, pk->stable_id);
  /* A pick from before this endpoint's state was reset says nothing about
   * the new URL or key. */
  if (e && pk->epoch < e->lv.reset_epoch) return NULL;
  return e;
}

void qcc_router_begin(struct qcc_router *r, const struct qcc_pick *pick, uint64_t now) {
  struct ep *e = resolve(r, pick);
  if (e == NULL) return;
  e->lv.inflight++;
  if (e->rate_limit) {
    rt_bucket_refill(e, now);
    e->lv.bucket = e->lv.bucket >= BUCKET_UNIT ? e->lv.bucket - BUCKET_UNIT : 0;
  }
  if (pick->rest_probe) e->lv.rest_probe_out = true;
  if (pick->last_resort) return; /* not a probe: the breaker stays as it is */
  enum qcc_breaker_state before = qcc_breaker_begin(&e->lv.br, now);
  if (before != e->lv.br.state)
    rt_emit(r, QCC_EV_BREAKER, e, NULL, qcc_breaker_state_name(before),
            qcc_breaker_state_name(e->lv.br.state), now, "cooldown over: one probe request");
}

static void health_event(struct qcc_router *r, struct ep *e, enum qcc_health_status before,
                         uint64_t now, const char *why) {
  if (before == e->lv.h.status) return;
  rt_emit(r, QCC_EV_HEALTH, e, NULL, qcc_health_status_name(before),
          qcc_health_status_name(e->lv.h.status), now, "%s", why);
  if (before == QCC_HEALTH_UNHEALTHY) rt_ready(r);
}

static void breaker_event(struct qcc_router *r, struct ep *e, enum qcc_breaker_state before,
                          uint64_t now, const char *what) {
  const struct qcc_breaker *b = &e->lv.br;
  if (before == b->state) return;
  if (b->state == QCC_BREAKER_CLOSED) rt_ready(r);
  if (b->state == QCC_BREAKER_OPEN)
    rt_emit(r, QCC_EV_BREAKER, e, NULL, qcc_breaker_state_name(before), "open", now,
            "%s after %u consecutive failures: cooldown %u s", what, b->failures,
            b->cooldown_ms / 1000);
  else
    rt_emit(r, QCC_EV_BREAKER, e, NULL, qcc_breaker_state_name(before),
            qcc_breaker_state_name(b->state), now, "%s", what);
}

static bool is_active_profile(const struct qcc_router *r, const struct ep *e) {
  return !r->pinned && r->active >= 0 && r->ladder[r->active].profile == e->profile;
}

static void group_failure(struct qcc_router *r, const struct ep *e, uint64_t now) {
  if (!is_active_profile(r, e)) return;
  r->fail_streak++;
  if (!r->auto_switch || r->switch_threshold == 0 || r->fail_streak < r->switch_threshold)
    return;
  uint32_t streak = r->fail_streak;
  r->fail_streak = 0;
  for (int64_t i = r->active + 1; i < (int64_t)r->n_rungs; i++) {
    if (!rt_profile_up(r, r->ladder[i].profile, false, now)) continue;
    char why[160];
    snprintf(why, sizeof why, "%u consecutive failed requests in %s", streak,
             rt_rung_name(r, r->active));
    rt_switch_to(r, i, now, why);
    return;
  }
}

static void describe(const struct qcc_outcome *o, char *buf, size_t cap) {
  if (o->kind == QCC_OUT_HTTP_STATUS)
    snprintf(buf, cap, "HTTP %d%s%s", o->http_status, o->detail ? ": " : "",
             o->detail ? o->detail : "");
  else
    snprintf(buf, cap, "%s%s%s", qcc_outcome_name(o->kind), o->detail ? ": " : "",
             o->detail ? o->detail : "");
}

static void rest(struct qcc_router *r, struct ep *e, const struct qcc_outcome *o, uint64_t now) {
  uint64_t ms;
  if (o->spend_exhausted) {
    ms = r->prm.rest_spend_ms;
  } else {
    uint64_t s = o->retry_after_s > o->reset_s ? o->retry_after_s : o->reset_s;
    ms = s ? s * 1000 : r->prm.rest_default_ms;
    if (ms > r->prm.rest_max_ms) ms = r->prm.rest_max_ms;
  }
  if (now + ms <= e->lv.rest_until) return;
  if (e->lv.rest_until <= now) e->lv.rest_hard = false; /* a new rest: one probe again */
  e->lv.rest_until = now + ms;
  e->lv.rest_spend = o->spend_exhausted;
  e->lv.rest_budget = false;
  rt_emit(r, QCC_EV_REST, e, NULL, "available", "resting", now, "HTTP %d: resting %llu s%s",
          o->http_status, (unsigned long long)(ms / 1000),
          o->spend_exhausted ? " (spend limit exhausted)" : "");
}

static void on_success(struct qcc_router *r, struct ep *e, uint32_t lat, uint64_t now) {
  enum qcc_breaker_state bb = qcc_breaker_success(&e->lv.br, now);
  breaker_event(r, e, bb, now, "probe succeeded");
  enum qcc_health_status hb = qcc_health_success(&e->lv.h, &r->prm.health, lat, now);
  if (hb == e->lv.h.status) return;
  char why[96];
  snprintf(why, sizeof why, "%s (latency EWMA %.0f ms)",
           qcc_health_is_slow(&e->lv.h, &r->prm.health) ? "slow" : "recovered", e->lv.h.ewma_ms);
  health_event(r, e, hb, now, why);
}

static void on_failure(struct qcc_router *r, struct ep *e, const char *what, uint64_t now) {
  enum qcc_breaker_state bb = qcc_breaker_failure(&e->lv.br, now);
  breaker_event(r, e, bb, now, what);
  enum qcc_health_status hb = qcc_health_failure(&e->lv.h, &r->prm.health, what, now);
  health_event(r, e, hb, now, what);
}

static void end_outcome(struct qcc_router *r, struct ep *e, const struct qcc_outcome *o,
                        uint64_t now);
static void rest_probe_end(struct qcc_router *r, struct ep *e, const struct qcc_outcome *o,
                           uint64_t now);

/* The endpoint served (a client's 4xx included: the endpoint is fine). */
static bool outcome_ok(const struct qcc_outcome *o) {
  if (o->kind == QCC_OUT_OK) return true;
  if (o->kind != QCC_OUT_HTTP_STATUS) return false;
  int st = o->http_status;
  return st < 400 || (st < 500 && st != 401 && st != 403 && st != 429);
}

void qcc_router_end(struct qcc_router *r, const struct qcc_pick *pick,
                    const struct qcc_outcome *o, uint64_t now) {
  struct ep *e = resolve(r, pick);
  if (e == NULL) return;
  bool was_full = e->max_conc && e->lv.inflight >= e->max_conc;
  bool half_open = e->lv.br.state == QCC_BREAKER_HALF_OPEN;
  end_outcome(r, e, o, now);
  if (pick->rest_probe) rest_probe_end(r, e, o, now);
  rt_refresh_profile(r, e->profile, now);
  /* A freed concurrency slot, or a half-open probe slot given back:
   * someone may go now. Freed by a success, it is news for every waiting
   * request; otherwise only for those that found no endpoint at all (waking
   * requests that back off from failures would re-try a failing endpoint at
   * once, and their own failures would wake them again). */
  bool slot = (was_full && e->lv.inflight < e->max_conc) ||
              (o->kind == QCC_OUT_CANCELLED && half_open && qcc_breaker_allows(&e->lv.br, now));
  if (slot) rt_ready_as(r, outcome_ok(o) ? QCC_READY_RECOVERED : QCC_READY_SLOT);
}

/* The rest probe answered: the endpoint serves again (its rest is over), or
 * it does not and its rest binds until it ends; a cancelled one frees the
 * slot for the next request. */
static void rest_probe_end(struct qcc_router *r, struct ep *e, const struct qcc_outcome *o,
                           uint64_t now) {
  e->lv.rest_probe_out = false;
  if (o->kind == QCC_OUT_CANCELLED) {
    rt_ready_as(r, QCC_READY_SLOT);
  } else if (outcome_ok(o)) {
    bool resting = e->lv.rest_until > now;
    e->lv.rest_until = 0;
    e->lv.rest_spend = false;
    e->lv.rest_hard = false;
    if (resting) rt_ready(r); /* like any rest's end, not an event */
  } else {
    e->lv.rest_hard = true;
  }
}

static void end_outcome(struct qcc_router *r, struct ep *e, const struct qcc_outcome *o,
                        uint64_t now) {
  if (e->lv.inflight > 0) e->lv.inflight--;
  uint32_t lat = o->ttfb_ms ? o->ttfb_ms : o->latency_ms;
  char what[QCC_HEALTH_ERROR_LEN] = "";
  int st = o->http_status;
  bool ok = o->kind == QCC_OUT_OK || o->kind == QCC_OUT_CANCELLED ||
            (o->kind == QCC_OUT_HTTP_STATUS && st < 400);
  if (!ok) describe(o, what, sizeof what); /* only failures need the text */
  switch (o->kind) {
  case QCC_OUT_CANCELLED:
    qcc_breaker_abandon(&e->lv.br);
    return;
  case QCC_OUT_OK:
    on_success(r, e, lat, now);
    if (is_active_profile(r, e)) r->fail_streak = 0;
    return;
  case QCC_OUT_HTTP_STATUS:
    if (st < 400) {
      on_success(r, e, lat, now);
      if (is_active_profile(r, e)) r->fail_streak = 0;
      return;
    }
    if (st == 401 || st == 403) {
      /* The endpoint answered: the key is what is wrong. Out until the table
       * (key or URL) changes or an operator enables it. */
      qcc_breaker_abandon(&e->lv.br);
      qcc_health_count(&e->lv.h, true, what, now);
      if (!e->lv.key_rejected) {
        e->lv.key_rejected = true;
        rt_emit(r, QCC_EV_KEY_REJECTED, e, NULL, "available", "key rejected", now, "%s", what);
      }
      group_failure(r, e, now);
      return;
    }
    if (st == 429) {
      /* Busy, not broken: rest it, leave breaker and health alone. */
      qcc_breaker_abandon(&e->lv.br);
      qcc_health_count(&e->lv.h, true, what, now);
      rest(r, e, o, now);
      group_failure(r, e, now);
      return;
    }
    if (st < 500) {
      /* The client's mistake; the endpoint is fine. */
      on_success(r, e, lat, now);
      return;
    }
    if ((st == 503 || st == 529) && (o->retry_after_s || o->reset_s)) {
      /* Overloaded, and it said when to come back: a rest, like a 429. As a
       * breaker failure it would stay out for the whole cooldown after it
       * is well again (a 529 storm opens every breaker at once). */
      qcc_breaker_abandon(&e->lv.br);
      qcc_health_count(&e->lv.h, true, what, now);
      rest(r, e, o, now);
      group_failure(r, e, now);
      return;
    }
    on_failure(r, e, what, now);
    group_failure(r, e, now);
    return;
  default:
    on_failure(r, e, what, now);
    if (o->kind == QCC_OUT_TIMEOUT) {
      /* A hung endpoint costs one request one timeout: new requests avoid
       * it from now on, and it comes back through the half-open probe. */
      enum qcc_breaker_state bb = qcc_breaker_trip(&e->lv.br, now);
      breaker_event(r, e, bb, now, what);
    }
    group_failure(r, e, now);
    return;
  }
}

/* ---- active checks -------------------------------------------------------- */

size_t qcc_router_health_due(struct qcc_router *r, uint64_t now,
                             void (*cb)(void *ctx, uint32_t idx), void *ctx) {
  if (!r->health_enabled) return 0;
  rt_update_ladder(r, now); /* an idle router switches back too */
  size_t n = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t i = 0; i < r->n_eps; i++) {
      struct ep *e = &r->eps[i];
      bool open = e->lv.br.state != QCC_BREAKER_CLOSED;
      if (open != (pass == 0) || !e->enabled || e->lv.op_disabled) continue;
      if (now < e->lv.next_check) continue;
      /* Not due again before this one could have timed out. */
      e->lv.next_check = now + r->check_interval_ms + r->check_timeout_ms;
      if (cb) cb(ctx, i);
      n++;
    }
  }
  return n;
}

void qcc_router_health_result(struct qcc_router *r, uint32_t idx, bool ok, uint32_t latency_ms,
                              const char *error, uint64_t now) {
  if (idx >= r->n_eps) return;
  struct ep *e = &r->eps[idx];
  e->lv.h.last_check = now;
  e->lv.next_check = now + r->check_interval_ms;
  if (ok) {
    /* The endpoint answers: healthy at once (issue 16), and an open breaker
     * need not wait for a request to find out, so an idle group can prove
     * itself and take over again; its recovery clock starts now. */
    bool open = e->lv.br.state != QCC_BREAKER_CLOSED;
    enum qcc_health_status hb =
        qcc_health_check_pass(&e->lv.h, &r->prm.health, latency_ms, open, now);
    char why[96];
    snprintf(why, sizeof why, "active check ok%s (latency EWMA %.0f ms)",
             qcc_health_is_slow(&e->lv.h, &r->prm.health) ? ", slow" : "", e->lv.h.ewma_ms);
    health_event(r, e, hb, now, why);
    /* (a closed breaker keeps counting: a /v1/models check passing does not
     * wipe out real requests failing) */
    if (open) breaker_event(r, e, qcc_breaker_reset(&e->lv.br, now), now, "active check passed");
  } else {
    char why[QCC_HEALTH_ERROR_LEN];
    snprintf(why, sizeof why, "active check failed: %s", error ? error : "no detail");
    enum qcc_health_status hb = qcc_health_check_failure(&e->lv.h, &r->prm.health, why, now);
    health_event(r, e, hb, now, why);
  }
  rt_refresh_profile(r, e->profile, now);
  rt_update_ladder(r, now);
}
