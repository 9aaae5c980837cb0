/* Inside the routing engine (runtime/router.h is its manual and only public
 * interface): the router's private structs and the helpers its files share.
 * Nothing outside runtime/router*.c includes this.
 *
 *   router.c           the router itself: lifecycle, attaching a table, the
 *                      event ring, snapshots and status, names
 *   router_pick.c      availability, the ladder and switching, picking, waiting
 *   router_outcome.c   what an outcome or an active check does to live state
 *   router_operator.c  operator actions and restoring journaled state */
#ifndef QCC_RUNTIME_ROUTER_INT_H
#define QCC_RUNTIME_ROUTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balancer.h"
#include "router.h"

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

enum blk {
  BLK_NONE,   /* may take a request now */
  BLK_STATIC, /* disabled, key rejected, no key: not this time at all */
  BLK_TRIED,  /* tried in this request */
  BLK_OUT,    /* breaker open or unhealthy: last-resort material */
  BLK_REST,   /* resting after 429/503/529, otherwise fine: rest-probe material */
  BLK_LIMIT,  /* rate or concurrency cap: wait */
};

/* router.c */
/* Something may have become eligible other than by the clock: waiting
 * requests should look again now (rt_ready: QCC_READY_RECOVERED). */
void rt_ready_as(struct qcc_router *r, enum qcc_ready_kind kind);
void rt_ready(struct qcc_router *r);
void rt_emit(struct qcc_router *r, enum qcc_route_event_kind kind, const struct ep *e,
             const char *profile, const char *from, const char *to, uint64_t now,
             const char *reason_fmt, ...) __attribute__((format(printf, 8, 9)));
struct ep *rt_find_sid(const struct qcc_router *r, uint64_t sid);

/* router_pick.c */
void rt_bucket_refill(struct ep *e, uint64_t now);
enum blk rt_block(struct qcc_router *r, uint32_t idx, const struct qcc_pick_req *req,
                  bool caps, uint64_t now, uint64_t *ready);
bool rt_profile_up(struct qcc_router *r, uint32_t p, bool healthy, uint64_t now);
const char *rt_rung_name(const struct qcc_router *r, int64_t rung);
void rt_switch_to(struct qcc_router *r, int64_t to, uint64_t now, const char *why);
void rt_refresh_profile(struct qcc_router *r, uint32_t p, uint64_t now);
void rt_update_ladder(struct qcc_router *r, uint64_t now);

#endif
