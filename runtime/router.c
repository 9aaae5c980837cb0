#include "router.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer.h"
#include "schema/enums.h"
#include "schema/table.h"

/* One request in a token bucket, in bucket units: refill is rate_limit units
 * per ms, so a bucket of rate_limit * UNIT holds a minute's worth exactly
 * (integer arithmetic, no drift). The capacity is the per-minute limit, the
 * way Anthropic's own limiter works, so bursts match what upstream allows. */
#define BUCKET_UNIT 60000ull

/* Live state: what survives a table swap while the identity is unchanged. */
struct live {
  struct qcc_breaker br;
  struct qcc_health h;
  int64_t swrr;          /* smooth-WRR current weight */
  uint32_t inflight;
  bool bucket_set;
  uint64_t bucket;       /* tokens, BUCKET_UNIT per request */
  uint64_t bucket_at;
  uint64_t rest_until;   /* 429 rest */
  bool rest_spend;       /* that rest is for an exhausted spend limit */
  bool rest_budget;      /* that rest is for a spent budget (runtime/budgetgate.h) */
  bool rest_probe_out;   /* a rest probe is in flight */
  bool rest_hard;        /* a rest probe failed: no other before the rest ends */
  bool key_rejected;
  bool op_disabled;
  char op_reason[64];
  uint32_t reset_epoch;  /* outcomes of picks older than this are stale */
  uint64_t next_check;
};

struct ep {
  /* copied from the table for this generation */
  uint64_t stable_id, identity_hash;
  char id[64];
  uint32_t profile, pos;
  uint32_t weight, priority, max_failures, max_conc, rate_limit;
  bool enabled; /* endpoint and its profile */
  bool was_reset; /* attach: identity changed (event pending) */
  struct live lv;
};

struct prof {
  char name[64];
  unsigned group;
  bool enabled;
  unsigned lb;
  bool health_aware, sticky;
  uint32_t first, count;
  uint32_t rr_cursor;
  int32_t rung; /* position on the ladder, -1 when not on it */
};

struct sid_ix {
  uint64_t sid;
  uint32_t idx;
};

struct rung {
  uint32_t profile;
  bool up;           /* had a healthy endpoint at the last look */
  uint64_t up_since;
};

struct qcc_router {
  struct qcc_router_params prm;
  uint32_t epoch;
  bool attached;

  struct ep *eps;
  uint32_t n_eps;
  struct sid_ix *by_sid; /* sorted by sid */
  struct prof *profs;
  uint32_t n_profs;
  struct rung *ladder;
  uint32_t n_rungs;
  struct qcc_lb_slot *slots; /* scratch, n_eps long */

  /* switching_policy + health settings, copied */
  bool auto_switch, auto_recovery, fallback_enabled, health_enabled;
  uint32_t switch_threshold, cooldown_ms, check_interval_ms, check_timeout_ms;

  int64_t active;          /* rung, -1 when the ladder is empty */
  uint64_t active_since;
  uint32_t fail_streak;
  bool pinned;
  char pin_name[64];
  char pin_reason[128];

  /* QCC_ROUTE_EVENT_RING slots (96 KiB), malloc'ed at the first event and
   * never zeroed: a router that sees no event keeps none of it resident. */
  struct qcc_route_event *ring;
  size_t ring_next, ring_len;
  void (*ev_cb)(void *ctx, const struct qcc_route_event *ev);
  void *ev_ctx;
  void (*ready_cb)(void *ctx, enum qcc_ready_kind kind);
  void *ready_ctx;
};

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
static void ready_as(struct qcc_router *r, enum qcc_ready_kind kind) {
  if (r->ready_cb) r->ready_cb(r->ready_ctx, kind);
}

static void ready(struct qcc_router *r) { ready_as(r, QCC_READY_RECOVERED); }

/* ---- events --------------------------------------------------------------- */

static void emit(struct qcc_router *r, enum qcc_route_event_kind kind, const struct ep *e,
                 const char *profile, const char *from, const char *to, uint64_t now,
                 const char *reason_fmt, ...) __attribute__((format(printf, 8, 9)));

static void emit(struct qcc_router *r, enum qcc_route_event_kind kind, const struct ep *e,
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

static struct ep *find_sid(const struct qcc_router *r, uint64_t sid) {
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

static const char *rung_name(const struct qcc_router *r, int64_t rung);

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

    const struct ep *old = r->attached ? find_sid(r, e->stable_id) : NULL;
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
    emit(r, QCC_EV_RESET, &eps[i], NULL, "", "", now, "base_url, auth or key changed: state reset");
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
  if (active_name[0] && strcmp(active_name, rung_name(r, act)) != 0)
    emit(r, QCC_EV_SWITCH, NULL, rung_name(r, act), active_name, rung_name(r, act), now,
         "active profile %s is no longer in the table (or disabled)", active_name);
  if (r->pinned && qcc_table_find_profile(t, r->pin_name) < 0) {
    r->pinned = false;
    emit(r, QCC_EV_UNPIN, NULL, r->pin_name, r->pin_name, "auto", now,
         "pinned profile is gone from the table");
  }
  r->attached = true;
  ready(r); /* new endpoints, new keys, new limits */
  return 0;
}

/* ---- availability --------------------------------------------------------- */

enum blk {
  BLK_NONE,   /* may take a request now */
  BLK_STATIC, /* disabled, key rejected, no key: not this time at all */
  BLK_TRIED,  /* tried in this request */
  BLK_OUT,    /* breaker open or unhealthy: last-resort material */
  BLK_REST,   /* resting after 429/503/529, otherwise fine: rest-probe material */
  BLK_LIMIT,  /* rate or concurrency cap: wait */
};

static bool was_tried(const struct qcc_pick_req *req, uint32_t idx) {
  for (size_t i = 0; req && i < req->tried_count && i < QCC_PICK_TRIED_MAX; i++)
    if (req->tried[i] == idx) return true;
  return false;
}

static void bucket_refill(struct ep *e, uint64_t now) {
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
static enum blk block(struct qcc_router *r, uint32_t idx, const struct qcc_pick_req *req,
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
    bucket_refill(e, now);
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
static bool profile_up(struct qcc_router *r, uint32_t p, bool healthy, uint64_t now) {
  const struct prof *pf = &r->profs[p];
  for (uint32_t i = pf->first; i < pf->first + pf->count; i++) {
    uint64_t ready;
    enum blk b = block(r, i, NULL, false, now, &ready);
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

static const char *rung_name(const struct qcc_router *r, int64_t rung) {
  return rung >= 0 ? r->profs[r->ladder[rung].profile].name : "";
}

static void switch_to(struct qcc_router *r, int64_t to, uint64_t now, const char *why) {
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
  emit(r, QCC_EV_SWITCH, NULL, rung_name(r, to), rung_name(r, from), rung_name(r, to), now,
       "%s", why);
  ready(r);
}

static void refresh_rung(struct qcc_router *r, struct rung *g, uint64_t now) {
  bool up = profile_up(r, g->profile, true, now);
  if (up && !g->up) g->up_since = now;
  g->up = up;
}

/* After an outcome on profile P: a rung at or above the active one notices
 * at once that it came back (or went), so the cooldown counts from then. */
static void refresh_profile(struct qcc_router *r, uint32_t p, uint64_t now) {
  int32_t rung = r->profs[p].rung;
  if (rung >= 0 && rung <= r->active) refresh_rung(r, &r->ladder[rung], now);
}

static void update_ladder(struct qcc_router *r, uint64_t now) {
  if (r->n_rungs == 0 || r->active < 0) return;
  int64_t cur = r->active;
  for (int64_t i = 0; i <= cur; i++) refresh_rung(r, &r->ladder[i], now);
  if (r->pinned) return;
  char why[160];
  if (r->auto_switch && !profile_up(r, r->ladder[cur].profile, false, now)) {
    for (uint32_t k = 1; k < r->n_rungs; k++) {
      int64_t i = (cur + k) % r->n_rungs;
      if (!profile_up(r, r->ladder[i].profile, false, now)) continue;
      snprintf(why, sizeof why, "no available endpoint in %s", rung_name(r, cur));
      switch_to(r, i, now, why);
      return;
    }
    return;
  }
  if (r->auto_recovery) {
    for (int64_t i = 0; i < cur; i++) {
      const struct rung *g = &r->ladder[i];
      if (!g->up || now - g->up_since < r->cooldown_ms) continue;
      snprintf(why, sizeof why, "%s healthy again for %llu s (cooldown %u s)", rung_name(r, i),
               (unsigned long long)((now - g->up_since) / 1000), r->cooldown_ms / 1000);
      switch_to(r, i, now, why);
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
    enum blk b = block(r, i, w->req, true, w->now, &ready);
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

static int64_t pin_profile(const struct qcc_router *r);

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
  update_ladder(r, now);
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
      block(r, (uint32_t)w.last_resort, req, false, now, &at);
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
    e = find_sid(r, pk->stable_id);
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
    bucket_refill(e, now);
    e->lv.bucket = e->lv.bucket >= BUCKET_UNIT ? e->lv.bucket - BUCKET_UNIT : 0;
  }
  if (pick->rest_probe) e->lv.rest_probe_out = true;
  if (pick->last_resort) return; /* not a probe: the breaker stays as it is */
  enum qcc_breaker_state before = qcc_breaker_begin(&e->lv.br, now);
  if (before != e->lv.br.state)
    emit(r, QCC_EV_BREAKER, e, NULL, qcc_breaker_state_name(before),
         qcc_breaker_state_name(e->lv.br.state), now, "cooldown over: one probe request");
}

static void health_event(struct qcc_router *r, struct ep *e, enum qcc_health_status before,
                         uint64_t now, const char *why) {
  if (before == e->lv.h.status) return;
  emit(r, QCC_EV_HEALTH, e, NULL, qcc_health_status_name(before),
       qcc_health_status_name(e->lv.h.status), now, "%s", why);
  if (before == QCC_HEALTH_UNHEALTHY) ready(r);
}

static void breaker_event(struct qcc_router *r, struct ep *e, enum qcc_breaker_state before,
                          uint64_t now, const char *what) {
  const struct qcc_breaker *b = &e->lv.br;
  if (before == b->state) return;
  if (b->state == QCC_BREAKER_CLOSED) ready(r);
  if (b->state == QCC_BREAKER_OPEN)
    emit(r, QCC_EV_BREAKER, e, NULL, qcc_breaker_state_name(before), "open", now,
         "%s after %u consecutive failures: cooldown %u s", what, b->failures,
         b->cooldown_ms / 1000);
  else
    emit(r, QCC_EV_BREAKER, e, NULL, qcc_breaker_state_name(before),
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
    if (!profile_up(r, r->ladder[i].profile, false, now)) continue;
    char why[160];
    snprintf(why, sizeof why, "%u consecutive failed requests in %s", streak,
             rung_name(r, r->active));
    switch_to(r, i, now, why);
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
  emit(r, QCC_EV_REST, e, NULL, "available", "resting", now, "HTTP %d: resting %llu s%s",
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
  refresh_profile(r, e->profile, now);
  /* A freed concurrency slot, or a half-open probe slot given back:
   * someone may go now. Freed by a success, it is news for every waiting
   * request; otherwise only for those that found no endpoint at all (waking
   * requests that back off from failures would re-try a failing endpoint at
   * once, and their own failures would wake them again). */
  bool slot = (was_full && e->lv.inflight < e->max_conc) ||
              (o->kind == QCC_OUT_CANCELLED && half_open && qcc_breaker_allows(&e->lv.br, now));
  if (slot) ready_as(r, outcome_ok(o) ? QCC_READY_RECOVERED : QCC_READY_SLOT);
}

/* The rest probe answered: the endpoint serves again (its rest is over), or
 * it does not and its rest binds until it ends; a cancelled one frees the
 * slot for the next request. */
static void rest_probe_end(struct qcc_router *r, struct ep *e, const struct qcc_outcome *o,
                           uint64_t now) {
  e->lv.rest_probe_out = false;
  if (o->kind == QCC_OUT_CANCELLED) {
    ready_as(r, QCC_READY_SLOT);
  } else if (outcome_ok(o)) {
    bool resting = e->lv.rest_until > now;
    e->lv.rest_until = 0;
    e->lv.rest_spend = false;
    e->lv.rest_hard = false;
    if (resting) ready(r); /* like any rest's end, not an event */
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
        emit(r, QCC_EV_KEY_REJECTED, e, NULL, "available", "key rejected", now, "%s", what);
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

/* ---- active checks -------------------------------------------------------- */

size_t qcc_router_health_due(struct qcc_router *r, uint64_t now,
                             void (*cb)(void *ctx, uint32_t idx), void *ctx) {
  if (!r->health_enabled) return 0;
  update_ladder(r, now); /* an idle router switches back too */
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
  refresh_profile(r, e->profile, now);
  update_ladder(r, now);
}

/* ---- operator ------------------------------------------------------------- */

int qcc_router_disable(struct qcc_router *r, uint32_t idx, const char *reason, uint64_t now,
                       struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  snprintf(e->lv.op_reason, sizeof e->lv.op_reason, "%s", reason ? reason : "operator");
  if (e->lv.op_disabled) return 0;
  e->lv.op_disabled = true;
  emit(r, QCC_EV_DISABLE, e, NULL, "enabled", "disabled", now, "%s", e->lv.op_reason);
  return 0;
}

int qcc_router_enable(struct qcc_router *r, uint32_t idx, const char *reason, uint64_t now,
                      struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  bool was = e->lv.op_disabled || e->lv.key_rejected || e->lv.rest_until > now ||
             e->lv.br.state != QCC_BREAKER_CLOSED || e->lv.h.status == QCC_HEALTH_UNHEALTHY;
  e->lv.op_disabled = false;
  e->lv.op_reason[0] = 0;
  e->lv.key_rejected = false; /* the operator says the key is fixed */
  e->lv.rest_until = 0;
  e->lv.rest_spend = e->lv.rest_budget = false;
  e->lv.rest_hard = false;
  /* ... and that it works: eligible now, not after a cooldown or a check */
  qcc_breaker_reset(&e->lv.br, now);
  qcc_health_lift(&e->lv.h, now);
  if (was)
    emit(r, QCC_EV_ENABLE, e, NULL, "disabled", "enabled", now, "%s",
         reason != NULL && reason[0] != '\0' ? reason : "operator");
  /* the recovery clock of its profile starts now */
  refresh_profile(r, e->profile, now);
  ready(r);
  return 0;
}

static int64_t pin_profile(const struct qcc_router *r) {
  for (uint32_t i = 0; i < r->n_profs; i++)
    if (strcmp(r->profs[i].name, r->pin_name) == 0) return i;
  return -1;
}

int qcc_router_pin(struct qcc_router *r, const char *profile, const char *reason, uint64_t now,
                   struct qcc_err *err) {
  bool found = false;
  for (uint32_t i = 0; i < r->n_profs && !found; i++)
    found = strcmp(r->profs[i].name, profile) == 0;
  if (!found) return qcc_err_set(err, ENOENT, "no profile named '%s'", profile);
  if (strlen(profile) >= sizeof r->pin_name)
    return qcc_err_set(err, ENAMETOOLONG, "profile name too long to pin");
  char from[64];
  snprintf(from, sizeof from, "%s", r->pinned ? r->pin_name : rung_name(r, r->active));
  r->pinned = true;
  snprintf(r->pin_name, sizeof r->pin_name, "%s", profile);
  snprintf(r->pin_reason, sizeof r->pin_reason, "%s", reason ? reason : "operator");
  emit(r, QCC_EV_PIN, NULL, profile, from, profile, now, "%s", r->pin_reason);
  ready(r);
  return 0;
}

void qcc_router_unpin(struct qcc_router *r, const char *reason, uint64_t now) {
  if (!r->pinned) return;
  r->pinned = false;
  r->fail_streak = 0;
  emit(r, QCC_EV_UNPIN, NULL, r->pin_name, r->pin_name, "auto", now, "%s",
       reason != NULL && reason[0] != '\0' ? reason : "switch --auto");
  r->pin_reason[0] = 0;
  ready(r);
}

/* ---- restore -------------------------------------------------------------- */

int qcc_router_restore_breaker(struct qcc_router *r, uint32_t idx, uint32_t failures,
                               uint64_t open_until, uint64_t now, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct qcc_breaker *b = &r->eps[idx].lv.br;
  b->state = QCC_BREAKER_OPEN;
  b->failures = failures;
  b->open_until = open_until;
  b->changed_at = now;
  b->probe_in_flight = false;
  /* the cooldown it was serving, so a failed probe doubles from there */
  uint64_t left = open_until > now ? open_until - now : 0;
  if (left > b->cooldown_ms && left <= b->max_ms) b->cooldown_ms = (uint32_t)left;
  b->trips++;
  refresh_profile(r, r->eps[idx].profile, now);
  return 0;
}

int qcc_router_restore_disabled(struct qcc_router *r, uint32_t idx, const char *reason,
                                struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  e->lv.op_disabled = true;
  snprintf(e->lv.op_reason, sizeof e->lv.op_reason, "%s", reason && reason[0] ? reason : "operator");
  return 0;
}

int qcc_router_restore_health(struct qcc_router *r, uint32_t idx, enum qcc_health_status st,
                              uint64_t now, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  if ((unsigned)st >= QCC_HEALTH_STATUS_COUNT) return qcc_err_set(err, EINVAL, "bad status");
  struct qcc_health *h = &r->eps[idx].lv.h;
  h->status = st;
  h->status_since = now;
  return 0;
}

int qcc_router_restore_key_rejected(struct qcc_router *r, uint32_t idx, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  r->eps[idx].lv.key_rejected = true;
  return 0;
}

int qcc_router_restore_rest(struct qcc_router *r, uint32_t idx, uint64_t until,
                            bool spend_exhausted, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  if (until <= r->eps[idx].lv.rest_until) return 0;
  r->eps[idx].lv.rest_until = until;
  r->eps[idx].lv.rest_spend = spend_exhausted;
  return 0;
}

int qcc_router_budget_rest(struct qcc_router *r, uint32_t idx, uint64_t until, uint64_t now,
                           const char *why, struct qcc_err *err) {
  if (idx >= r->n_eps) return qcc_err_set(err, ENOENT, "no endpoint with index %u", idx);
  struct ep *e = &r->eps[idx];
  if (until <= now) {
    if (!e->lv.rest_budget) return 0;
    bool resting = e->lv.rest_until > now;
    e->lv.rest_until = 0;
    e->lv.rest_budget = e->lv.rest_hard = false;
    if (resting) ready(r);
    return 0;
  }
  if (e->lv.rest_budget && e->lv.rest_until == until) return 0; /* already said */
  e->lv.rest_until = until;
  e->lv.rest_spend = false;
  e->lv.rest_budget = true;
  e->lv.rest_hard = true; /* no rest probe: the answer would be billed */
  emit(r, QCC_EV_REST, e, NULL, "available", "resting", now, "%s", why);
  return 0;
}

int qcc_router_restore_pin(struct qcc_router *r, const char *profile, const char *reason,
                           struct qcc_err *err) {
  bool found = false;
  for (uint32_t i = 0; i < r->n_profs && !found; i++) found = strcmp(r->profs[i].name, profile) == 0;
  if (!found) return qcc_err_set(err, ENOENT, "no profile named '%s'", profile);
  if (strlen(profile) >= sizeof r->pin_name)
    return qcc_err_set(err, ENAMETOOLONG, "profile name too long to pin");
  r->pinned = true;
  snprintf(r->pin_name, sizeof r->pin_name, "%s", profile);
  snprintf(r->pin_reason, sizeof r->pin_reason, "%s", reason && reason[0] ? reason : "operator");
  return 0;
}

int qcc_router_restore_active(struct qcc_router *r, const char *profile, uint64_t now,
                              struct qcc_err *err) {
  for (uint32_t i = 0; i < r->n_rungs; i++) {
    if (strcmp(r->profs[r->ladder[i].profile].name, profile) != 0) continue;
    /* as after a switch: higher rungs must prove themselves for a cooldown */
    for (uint32_t k = 0; k < r->n_rungs; k++) r->ladder[k].up = false;
    r->active = i;
    r->active_since = now;
    r->fail_streak = 0;
    return 0;
  }
  return qcc_err_set(err, ENOENT, "profile '%s' is not on the ladder", profile);
}

uint64_t qcc_router_stable_id(const struct qcc_router *r, uint32_t idx) {
  return idx < r->n_eps ? r->eps[idx].stable_id : 0;
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
  /* block() only refreshes the rate bucket with caps on; with caps off it
   * reads state, so the cast does not change anything observable. */
  uint64_t ready;
  out->available = block((struct qcc_router *)r, idx, NULL, false, now, &ready) == BLK_NONE;
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
