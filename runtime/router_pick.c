/* Picking (runtime/router.h, "selection" and "waiting"): why an endpoint
 * cannot take a request now, the ladder of profiles and switching along it,
 * the walk that picks an endpoint (with rest probes and the last resort when
 * nothing is eligible), and when something next becomes eligible by the
 * clock. Shares the router's private state through router_int.h. */
#include "router_int.h"

#include <stdio.h>
#include <string.h>

#include "schema/enums.h"

/* ---- availability --------------------------------------------------------- */

static bool was_tried(const struct qcc_pick_req *req, uint32_t idx) {
  for (size_t i = 0; req && i < req->tried_count && i < QCC_PICK_TRIED_MAX; i++)
    if (req->tried[i] == idx) return true;
  return false;
}

void rt_bucket_refill(struct ep *e, uint64_t now) {
  struct live *lv = &e->lv;
  uint64_t cap = (uint64_t)e->rate_limit * BUCKET_UNIT;
  if (!lv->bucket_set) {
    lv->bucket_set = true;
    lv->bucket = cap;
    lv->bucket_at = now;
    return;
  }
  if (now > lv->bucket_at) {
    uint64_t add = (now - lv->bucket_at) * e->rate_limit;
    lv->bucket = cap - lv->bucket < add ? cap : lv->bucket + add;
    lv->bucket_at = now;
  }
  if (lv->bucket > cap) lv->bucket = cap; /* the limit went down in a swap */
}

static bool gate_unhealthy(const struct qcc_router *r, const struct ep *e) {
  /* Only with active checks: they are what brings an unhealthy endpoint
   * back. Without them the breaker alone decides, or it could never recover. */
  return r->health_enabled && r->profs[e->profile].health_aware &&
         e->lv.h.status == QCC_HEALTH_UNHEALTHY;
}

/* Why endpoint IDX cannot take a request now; *READY = when it might. CAPS
 * false ignores rate and concurrency limits (for "is the profile up"). */
enum blk rt_block(struct qcc_router *r, uint32_t idx, const struct qcc_pick_req *req,
                  bool caps, uint64_t now, uint64_t *ready) {
  struct ep *e = &r->eps[idx];
  *ready = 0;
  if (!e->enabled || e->lv.op_disabled || e->lv.key_rejected) return BLK_STATIC;
  if (req && req->has_key && !req->has_key(req->has_key_ctx, idx)) return BLK_STATIC;
  if (was_tried(req, idx)) return BLK_TRIED;
  uint64_t rest = now < e->lv.rest_until ? e->lv.rest_until : 0;
  if (!qcc_breaker_allows(&e->lv.br, now)) {
    uint64_t at = qcc_breaker_ready_at(&e->lv.br, now);
    *ready = at && rest > at ? rest : at;
    return BLK_OUT;
  }
  if (gate_unhealthy(r, e)) {
    *ready = e->lv.next_check && rest > e->lv.next_check ? rest : e->lv.next_check;
    return BLK_OUT;
  }
  *ready = rest;
  if (!caps) return rest ? BLK_REST : BLK_NONE;
  if (e->max_conc && e->lv.inflight >= e->max_conc) return BLK_LIMIT;
  if (e->rate_limit) {
    rt_bucket_refill(e, now);
    if (e->lv.bucket < BUCKET_UNIT) {
      uint64_t at = now + (BUCKET_UNIT - e->lv.bucket + e->rate_limit - 1) / e->rate_limit;
      if (at > *ready) *ready = at;
      return BLK_LIMIT;
    }
  }
  return rest ? BLK_REST : BLK_NONE;
}

/* Could profile P take traffic (HEALTHY: with a closed breaker, proven)?
 * A 429 rest shorter than the cooldown does not count against it: requests
 * spill past it one by one, and switching would commit to a whole cooldown
 * for a pause we know the end of. */
bool rt_profile_up(struct qcc_router *r, uint32_t p, bool healthy, uint64_t now) {
  const struct prof *pf = &r->profs[p];
  for (uint32_t i = pf->first; i < pf->first + pf->count; i++) {
    uint64_t ready;
    enum blk b = rt_block(r, i, NULL, false, now, &ready);
    if (b == BLK_REST && ready - now <= r->cooldown_ms) {
      if (!qcc_breaker_allows(&r->eps[i].lv.br, ready) || gate_unhealthy(r, &r->eps[i])) continue;
    } else if (b != BLK_NONE) {
      continue;
    }
    if (!healthy || r->eps[i].lv.br.state == QCC_BREAKER_CLOSED) return true;
  }
  return false;
}

/* ---- switching ------------------------------------------------------------ */

const char *rt_rung_name(const struct qcc_router *r, int64_t rung) {
  return rung >= 0 ? r->profs[r->ladder[rung].profile].name : "";
}

void rt_switch_to(struct qcc_router *r, int64_t to, uint64_t now, const char *why) {
  int64_t from = r->active;
  if (from == to) return;
  /* Rungs at and below the higher of the two must prove themselves again for
   * a whole cooldown before traffic comes back to them (no flapping), and
   * rungs that were not watched (below the active one) hold no stale "up". */
  int64_t lo = from < 0 || to < from ? to : from;
  for (int64_t i = lo < 0 ? 0 : lo; i < (int64_t)r->n_rungs; i++) r->ladder[i].up = false;
  r->active = to;
  r->active_since = now;
  r->fail_streak = 0;
  rt_emit(r, QCC_EV_SWITCH, NULL, rt_rung_name(r, to), rt_rung_name(r, from), rt_rung_name(r, to),
          now, "%s", why);
  rt_ready(r);
}

static void refresh_rung(struct qcc_router *r, struct rung *g, uint64_t now) {
  bool up = rt_profile_up(r, g->profile, true, now);
  if (up && !g->up) g->up_since = now;
  g->up = up;
}

/* After an outcome on profile P: a rung at or above the active one notices
 * at once that it came back (or went), so the cooldown counts from then. */
void rt_refresh_profile(struct qcc_router *r, uint32_t p, uint64_t now) {
  int32_t rung = r->profs[p].rung;
  if (rung >= 0 && rung <= r->active) refresh_rung(r, &r->ladder[rung], now);
}

void rt_update_ladder(struct qcc_router *r, uint64_t now) {
  if (r->n_rungs == 0 || r->active < 0) return;
  int64_t cur = r->active;
  for (int64_t i = 0; i <= cur; i++) refresh_rung(r, &r->ladder[i], now);
  if (r->pinned) return;
  char why[160];
  if (r->auto_switch && !rt_profile_up(r, r->ladder[cur].profile, false, now)) {
    for (uint32_t k = 1; k < r->n_rungs; k++) {
      int64_t i = (cur + k) % r->n_rungs;
      if (!rt_profile_up(r, r->ladder[i].profile, false, now)) continue;
      snprintf(why, sizeof why, "no available endpoint in %s", rt_rung_name(r, cur));
      rt_switch_to(r, i, now, why);
      return;
    }
    return;
  }
  if (r->auto_recovery) {
    for (int64_t i = 0; i < cur; i++) {
      const struct rung *g = &r->ladder[i];
      if (!g->up || now - g->up_since < r->cooldown_ms) continue;
      snprintf(why, sizeof why, "%s healthy again for %llu s (cooldown %u s)", rt_rung_name(r, i),
               (unsigned long long)((now - g->up_since) / 1000), r->cooldown_ms / 1000);
      rt_switch_to(r, i, now, why);
      return;
    }
  }
}

/* ---- picking -------------------------------------------------------------- */

struct walk {
  const struct qcc_pick_req *req;
  uint64_t now;
  bool any_static_ok;   /* some endpoint passed the static checks */
  bool any_untried;
  uint64_t limit_ready; /* min ready of BLK_LIMIT and BLK_REST (0 = none or unknown) */
  bool any_limit;       /* some endpoint is at a cap */
  bool any_rest;
  int64_t rest_probe;   /* the resting endpoint whose rest ends soonest, probe free */
  uint64_t out_ready;
  bool any_out;
  int64_t last_resort;  /* least recently failed BLK_OUT endpoint */
};

static void note_ready(uint64_t *acc, uint64_t t) {
  if (t && (*acc == 0 || t < *acc)) *acc = t;
}

/* Pick inside profile P, or -1. PROBES_ONLY: only endpoints whose request
 * would be a half-open probe (to test a higher profile while below it). */
static int64_t pick_in_profile(struct qcc_router *r, uint32_t p, struct walk *w,
                               bool probes_only) {
  struct prof *pf = &r->profs[p];
  size_t n = 0;
  for (uint32_t i = pf->first; i < pf->first + pf->count; i++) {
    uint64_t ready;
    enum blk b = rt_block(r, i, w->req, true, w->now, &ready);
    struct ep *e = &r->eps[i];
    if (b != BLK_STATIC) w->any_static_ok = true;
    if (b != BLK_STATIC && b != BLK_TRIED) w->any_untried = true;
    if (b == BLK_LIMIT) {
      w->any_limit = true;
      note_ready(&w->limit_ready, ready);
    } else if (b == BLK_REST) {
      w->any_rest = true;
      note_ready(&w->limit_ready, ready);
      /* once per rest, one at a time: a failed probe makes the rest binding */
      if (!e->lv.rest_probe_out && !e->lv.rest_hard &&
          (w->rest_probe < 0 || e->lv.rest_until < r->eps[w->rest_probe].lv.rest_until))
        w->rest_probe = i;
    } else if (b == BLK_OUT) {
      w->any_out = true;
      note_ready(&w->out_ready, ready);
      if (w->last_resort < 0 || e->lv.h.last_failure < r->eps[w->last_resort].lv.h.last_failure)
        w->last_resort = i;
    }
    if (b != BLK_NONE) continue;
    if (probes_only && !qcc_breaker_is_probe(&e->lv.br, w->now)) continue;
    uint32_t wt = e->weight;
    if (pf->health_aware && e->lv.h.status != QCC_HEALTH_HEALTHY) {
      wt /= r->prm.degraded_divisor;
      if (wt == 0) wt = 1;
    }
    r->slots[n++] = (struct qcc_lb_slot){.pos = e->pos, .weight = wt, .priority = e->priority,
                                         .inflight = e->lv.inflight, .stable_id = e->stable_id,
                                         .current = &e->lv.swrr};
  }
  if (n == 0) return -1;
  int k;
  const char *key = w->req ? w->req->session_key : NULL;
  if (pf->sticky && key) {
    size_t len = w->req->session_key_len ? w->req->session_key_len : strlen(key);
    /* Table weights, not health-reduced ones: a degraded endpoint keeps its
     * sessions (and their warm prompt cache). */
    for (size_t i = 0; i < n; i++) r->slots[i].weight = r->eps[pf->first + r->slots[i].pos].weight;
    k = qcc_lb_sticky(r->slots, n, key, len);
  } else {
    switch (pf->lb) {
    case QCC_LB_ROUND_ROBIN: k = qcc_lb_round_robin(r->slots, n, &pf->rr_cursor); break;
    case QCC_LB_LEAST_CONNECTIONS: k = qcc_lb_least_connections(r->slots, n); break;
    case QCC_LB_FAILOVER: k = qcc_lb_failover(r->slots, n); break;
    default: k = qcc_lb_weighted(r->slots, n); break;
    }
  }
  return k < 0 ? -1 : (int64_t)(pf->first + r->slots[k].pos);
}

static int64_t pin_profile(const struct qcc_router *r) {
  for (uint32_t i = 0; i < r->n_profs; i++)
    if (strcmp(r->profs[i].name, r->pin_name) == 0) return i;
  return -1;
}

static void fill_pick(const struct qcc_router *r, uint32_t idx, uint64_t now,
                      struct qcc_pick *out) {
  const struct ep *e = &r->eps[idx];
  out->result = QCC_PICK_OK;
  out->endpoint = idx;
  out->stable_id = e->stable_id;
  out->profile = e->profile;
  out->group = r->profs[e->profile].group;
  out->probe = qcc_breaker_is_probe(&e->lv.br, now);
  int64_t act = -1;
  if (r->pinned) act = pin_profile(r);
  else if (r->active >= 0) act = r->ladder[r->active].profile;
  out->spilled = act >= 0 && (int64_t)e->profile != act;
}

int qcc_router_pick(struct qcc_router *r, const struct qcc_pick_req *req, uint64_t now,
                    struct qcc_pick *out) {
  *out = (struct qcc_pick){.result = QCC_PICK_NO_ENDPOINT, .epoch = r->epoch};
  if (r->n_eps == 0) return -1;
  rt_update_ladder(r, now);
  struct walk w = {.req = req, .now = now, .last_resort = -1, .rest_probe = -1};
  int64_t got = -1;
  int64_t pin = r->pinned ? pin_profile(r) : -1;
  if (pin >= 0) got = pick_in_profile(r, (uint32_t)pin, &w, false);
  if (got < 0 && pin < 0 && r->auto_recovery && r->active > 0) {
    /* Below a higher rung whose breaker cooldown is over: this request is
     * its half-open probe (the retry loop covers a failure), which is what
     * proves it healthy so that recovery can start counting. */
    for (int64_t i = 0; got < 0 && i < r->active; i++)
      got = pick_in_profile(r, r->ladder[i].profile, &w, true);
  }
  if (got < 0 && r->n_rungs > 0 && (pin < 0 || r->auto_switch)) {
    int64_t cur = r->active < 0 ? 0 : r->active;
    unsigned group = r->profs[r->ladder[cur].profile].group;
    for (uint32_t k = 0; got < 0 && k < r->n_rungs; k++) {
      int64_t i = pin >= 0 ? (int64_t)k : (cur + k) % r->n_rungs;
      uint32_t p = r->ladder[i].profile;
      if ((int64_t)p == pin) continue;
      /* Without auto_switch traffic stays in the active group. */
      if (!r->auto_switch && r->profs[p].group != group) continue;
      got = pick_in_profile(r, p, &w, false);
    }
  }
  if (got >= 0) {
    fill_pick(r, (uint32_t)got, now, out);
    return 0;
  }
  /* Nothing is eligible. An endpoint at its rate or concurrency cap is
   * worth waiting for (its slot comes soon); otherwise rests and breakers
   * are preferences, not walls, when the alternative is failing the user. */
  bool panic = !w.any_limit && !(req && req->no_last_resort);
  if (panic && w.rest_probe >= 0) {
    uint64_t rest_end = r->eps[w.rest_probe].lv.rest_until, out_at = UINT64_MAX;
    if (w.last_resort >= 0) {
      uint64_t at;
      rt_block(r, (uint32_t)w.last_resort, req, false, now, &at);
      if (at) out_at = at;
    }
    if (rest_end <= out_at) {
      fill_pick(r, (uint32_t)w.rest_probe, now, out);
      out->rest_probe = true;
      return 0;
    }
  }
  if (panic && w.any_out) {
    /* Never eject the last one: better a request to the endpoint that failed
     * longest ago than none at all. */
    fill_pick(r, (uint32_t)w.last_resort, now, out);
    out->retry_at = w.out_ready;
    out->last_resort = true;
    out->probe = false;
    return 0;
  }
  if (w.any_limit || w.any_rest) {
    out->result = QCC_PICK_LIMITED;
    out->retry_at = w.limit_ready;
    return -1;
  }
  if (w.any_out) {
    out->retry_at = w.out_ready;
    out->result = QCC_PICK_ALL_OUT;
    return -1;
  }
  out->result = w.any_static_ok ? QCC_PICK_ALL_TRIED : QCC_PICK_NO_ENDPOINT;
  return -1;
}

/* ---- waiting -------------------------------------------------------------- */

uint64_t qcc_router_next_ready(const struct qcc_router *r, uint64_t now) {
  uint64_t best = UINT64_MAX;
  for (uint32_t i = 0; i < r->n_eps; i++) {
    const struct ep *e = &r->eps[i];
    const struct live *lv = &e->lv;
    if (!e->enabled || lv->op_disabled || lv->key_rejected) continue;
    /* Each clock that may hold it back; the earliest is enough: a wake that
     * finds it still held costs one pick, and the next call says the rest. */
    uint64_t t[3] = {lv->rest_until, 0, 0};
    if (lv->br.state == QCC_BREAKER_OPEN) t[1] = lv->br.open_until;
    if (e->rate_limit && lv->bucket_set) {
      uint64_t cap = (uint64_t)e->rate_limit * BUCKET_UNIT;
      uint64_t have = lv->bucket;
      if (now > lv->bucket_at) {
        uint64_t add = (now - lv->bucket_at) * e->rate_limit;
        have = cap - have < add ? cap : have + add;
      }
      if (have < BUCKET_UNIT) t[2] = now + (BUCKET_UNIT - have + e->rate_limit - 1) / e->rate_limit;
    }
    for (int k = 0; k < 3; k++)
      if (t[k] > now && t[k] < best) best = t[k];
  }
  return best;
}
