/* Storms (issue 11, routing side), on a fake clock: waiting for an endpoint
 * instead of a clock, rests as preferences when nothing else is eligible,
 * a timeout costing one request, recovery and enable acting at once. The
 * last part drives the router and the failure queue together the way
 * qcc-run's proxy wires them (docs/queue.md, "Wiring"). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "rfix.h"
#include "runtime/queue.h"

#define S 1000ull /* ms per second */

/* One profile "p" with endpoints a and b, nothing else. */
static struct rfix_cfg two(void) {
  struct rfix_cfg c = {.auto_switch = true, .auto_recovery = true, .cooldown_ms = 60 * S, .n = 1};
  c.profs[0] = (struct rfix_prof){.name = "p", .group = QCC_GROUP_PRIMARY, .lb = QCC_LB_WEIGHTED,
                                  .n = 2};
  c.profs[0].eps[0] = (struct rfix_ep){.id = "a", .max_failures = 3};
  c.profs[0].eps[1] = (struct rfix_ep){.id = "b", .max_failures = 3};
  return c;
}

/* primary "p" (a, b) -> secondary "s" (c) */
static struct rfix_cfg ladder(void) {
  struct rfix_cfg c = two();
  c.n = 2;
  c.profs[0].eps[0].max_failures = 2;
  c.profs[0].eps[1].max_failures = 2;
  c.profs[1] = (struct rfix_prof){.name = "s", .group = QCC_GROUP_SECONDARY, .lb = QCC_LB_WEIGHTED,
                                  .n = 1};
  c.profs[1].eps[0] = (struct rfix_ep){.id = "c", .max_failures = 2};
  return c;
}

static struct qcc_pick on(struct rfix *f, const char *id) {
  uint32_t i = rfix_idx(f, id);
  return (struct qcc_pick){.result = QCC_PICK_OK, .endpoint = i,
                           .stable_id = qcc_table_endpoint(f->t, i)->stable_id,
                           .epoch = qcc_router_epoch(f->r)};
}

/* A request to ID that ends with O at NOW. */
static void outcome_on(struct rfix *f, const char *id, struct qcc_outcome o, uint64_t now) {
  struct qcc_pick p = on(f, id);
  qcc_router_begin(f->r, &p, now);
  qcc_router_end(f->r, &p, &o, now);
}

static struct qcc_outcome status(int st, uint32_t retry_after_s) {
  return (struct qcc_outcome){.kind = QCC_OUT_HTTP_STATUS, .http_status = st,
                              .retry_after_s = retry_after_s};
}

static struct qcc_outcome kind(enum qcc_outcome_kind k) { return (struct qcc_outcome){.kind = k}; }

static struct qcc_route_snapshot snap(struct rfix *f, const char *id, uint64_t now) {
  struct qcc_route_snapshot s;
  cr_assert_eq(qcc_router_snapshot(f->r, rfix_idx(f, id), now, &s), 0);
  return s;
}

/* counts signals: [0] every one, [1] QCC_READY_SLOT ones */
static void count_ready(void *ctx, enum qcc_ready_kind kind) {
  int *n = ctx;
  n[0]++;
  if (kind == QCC_READY_SLOT) n[1]++;
}

/* ---- rests are preferences when the alternative is failing the user ------ */

Test(rests, a_resting_endpoint_is_probed_when_the_other_fails) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  outcome_on(&f, "a", status(429, 30), 0);
  /* a rests 30 s; the next request goes to b, which fails */
  struct qcc_pick_req req = {0};
  struct qcc_pick p = rfix_pick(&f, &req, 1 * S);
  cr_assert_str_eq(rfix_id(&f, p.endpoint), "b", "a rests: b while b is eligible");
  cr_assert_not(p.rest_probe);
  qcc_router_begin(f.r, &p, 1 * S);
  rfix_finish(&f, &p, QCC_OUT_HTTP_STATUS, 503, 1 * S);
  req.tried[req.tried_count++] = p.endpoint;
  /* nothing else is eligible: a is probed rather than the user failed */
  p = rfix_pick(&f, &req, 1 * S);
  cr_assert_str_eq(rfix_id(&f, p.endpoint), "a");
  cr_assert(p.rest_probe);
  cr_assert_not(p.last_resort);
  qcc_router_begin(f.r, &p, 1 * S);
  rfix_finish(&f, &p, QCC_OUT_OK, 0, 1 * S);
  /* it answered: its rest is over */
  struct qcc_route_snapshot s = snap(&f, "a", 1 * S);
  cr_assert_eq(s.rest_until, 0);
  cr_assert(s.available);
  rfix_done(&f);
}

Test(rests, one_probe_at_a_time_and_a_failed_one_binds_until_the_rest_ends) {
  struct rfix_cfg c = two();
  c.profs[0].n = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  outcome_on(&f, "a", status(429, 12), 0);
  struct qcc_pick p1 = rfix_pick(&f, NULL, 5 * S);
  cr_assert(p1.rest_probe);
  qcc_router_begin(f.r, &p1, 5 * S);
  /* while the probe is out, nobody else goes */
  struct qcc_pick p2;
  cr_assert_eq(qcc_router_pick(f.r, NULL, 5 * S, &p2), -1);
  cr_assert_eq(p2.result, QCC_PICK_LIMITED);
  cr_assert_eq(p2.retry_at, 12 * S);
  /* the probe hears 429 again: a rests 12 s from now, and that rest binds */
  struct qcc_outcome o = status(429, 12);
  qcc_router_end(f.r, &p1, &o, 6 * S);
  cr_assert_eq(snap(&f, "a", 6 * S).rest_until, 18 * S);
  cr_assert_eq(qcc_router_pick(f.r, NULL, 7 * S, &p2), -1);
  cr_assert_eq(p2.result, QCC_PICK_LIMITED);
  cr_assert_eq(p2.retry_at, 18 * S);
  cr_assert_eq(qcc_router_next_ready(f.r, 7 * S), 18 * S);
  cr_assert_eq(qcc_router_pick(f.r, NULL, 18 * S - 1, &p2), -1);
  /* the rest is over: an ordinary pick */
  struct qcc_pick p3 = rfix_pick(&f, NULL, 18 * S);
  cr_assert_not(p3.rest_probe);
  qcc_router_begin(f.r, &p3, 18 * S);
  /* a new rest later gets its one probe again */
  o = status(429, 10);
  qcc_router_end(f.r, &p3, &o, 20 * S);
  cr_assert(rfix_pick(&f, NULL, 21 * S).rest_probe);
  rfix_done(&f);
}

Test(rests, the_rest_that_ends_soonest_is_probed) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  outcome_on(&f, "a", status(429, 30), 0);
  outcome_on(&f, "b", status(529, 10), 0);
  struct qcc_pick p = rfix_pick(&f, NULL, 1 * S);
  cr_assert_str_eq(rfix_id(&f, p.endpoint), "b", "b's rest ends at 10 s, a's at 30 s");
  cr_assert(p.rest_probe);
  qcc_router_begin(f.r, &p, 1 * S);
  /* b's probe is out: the next request probes a */
  struct qcc_pick q = rfix_pick(&f, NULL, 1 * S);
  cr_assert_str_eq(rfix_id(&f, q.endpoint), "a");
  cr_assert(q.rest_probe);
  rfix_done(&f);
}

Test(rests, a_cancelled_probe_frees_the_slot_and_says_so) {
  struct rfix_cfg c = two();
  c.profs[0].n = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  int woken[2] = {0, 0};
  qcc_router_on_ready(f.r, count_ready, woken);
  outcome_on(&f, "a", status(429, 30), 0);
  struct qcc_pick p = rfix_pick(&f, NULL, 1 * S);
  cr_assert(p.rest_probe);
  qcc_router_begin(f.r, &p, 1 * S);
  cr_assert_eq(woken[0], 0);
  rfix_finish(&f, &p, QCC_OUT_CANCELLED, 0, 2 * S);
  cr_assert_eq(woken[1], 1, "a request waiting for an endpoint may probe now");
  cr_assert(rfix_pick(&f, NULL, 2 * S).rest_probe, "the slot is free, the probe not spent");
  rfix_done(&f);
}

Test(rests, disabled_and_rejected_endpoints_are_never_probed) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_err err = {0};
  outcome_on(&f, "a", status(429, 30), 0);
  cr_assert_eq(qcc_router_disable(f.r, rfix_idx(&f, "a"), "maintenance", 0, &err), 0);
  outcome_on(&f, "b", status(401, 0), 0);
  struct qcc_pick p;
  cr_assert_eq(qcc_router_pick(f.r, NULL, 1 * S, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_NO_ENDPOINT);
  /* a 403 on a resting endpoint ends its probing too */
  cr_assert_eq(qcc_router_enable(f.r, rfix_idx(&f, "a"), NULL, 2 * S, &err), 0);
  outcome_on(&f, "a", status(429, 30), 2 * S);
  outcome_on(&f, "a", status(403, 0), 2 * S);
  cr_assert_eq(qcc_router_pick(f.r, NULL, 3 * S, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_NO_ENDPOINT);
  cr_assert_eq(qcc_router_next_ready(f.r, 3 * S), UINT64_MAX, "only an operator brings them back");
  rfix_done(&f);
}

Test(rests, an_endpoint_at_its_cap_is_waited_for_not_probed_past) {
  struct rfix_cfg c = two();
  c.profs[0].eps[1].max_conc = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  outcome_on(&f, "a", status(429, 30), 0);
  struct qcc_pick busy = rfix_pick(&f, NULL, 1 * S);
  cr_assert_str_eq(rfix_id(&f, busy.endpoint), "b");
  qcc_router_begin(f.r, &busy, 1 * S);
  struct qcc_pick p;
  cr_assert_eq(qcc_router_pick(f.r, NULL, 1 * S, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_LIMITED, "b's slot comes back soon");
  /* the caller may refuse the probe too */
  rfix_finish(&f, &busy, QCC_OUT_OK, 0, 2 * S);
  outcome_on(&f, "b", status(429, 40), 2 * S);
  struct qcc_pick_req req = {.no_last_resort = true};
  cr_assert_eq(qcc_router_pick(f.r, &req, 3 * S, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_LIMITED);
  cr_assert_eq(p.retry_at, 30 * S);
  rfix_done(&f);
}

Test(rests, a_breaker_that_opens_sooner_than_a_rest_ends_is_the_last_resort) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  outcome_on(&f, "a", status(429, 300), 0);
  for (int i = 0; i < 3; i++) outcome_on(&f, "b", kind(QCC_OUT_CONNECT_ERROR), 0);
  cr_assert_eq(snap(&f, "b", 0).breaker, QCC_BREAKER_OPEN);
  struct qcc_pick p = rfix_pick(&f, NULL, 1 * S);
  cr_assert_str_eq(rfix_id(&f, p.endpoint), "b", "b may be tried at 30 s, a at 300 s");
  cr_assert(p.last_resort);
  cr_assert_not(p.rest_probe);
  rfix_done(&f);
}

/* ---- a hung endpoint costs one request one timeout ---------------------- */

Test(timeouts, a_timeout_sends_new_requests_elsewhere_at_once) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_pick early = on(&f, "a");
  qcc_router_begin(f.r, &early, 0); /* already waiting on a: not touched */
  outcome_on(&f, "a", kind(QCC_OUT_TIMEOUT), 30 * S);
  struct qcc_route_snapshot s = snap(&f, "a", 30 * S);
  cr_assert_eq(s.breaker, QCC_BREAKER_OPEN, "one timeout is enough (max_failures 3)");
  cr_assert_eq(s.breaker_open_until, 60 * S);
  cr_assert_eq(s.inflight, 1);
  for (int i = 0; i < 20; i++)
    cr_assert_str_eq(rfix_id(&f, rfix_ok(&f, NULL, 30 * S + (uint64_t)i)), "b");
  /* after the cooldown one request probes it; the rest still avoid it */
  bool probed = false;
  for (int i = 0; i < 10; i++) {
    struct qcc_pick p = rfix_pick(&f, NULL, 60 * S);
    qcc_router_begin(f.r, &p, 60 * S);
    if (p.endpoint == rfix_idx(&f, "a")) {
      cr_assert_not(probed, "one probe at a time");
      cr_assert(p.probe);
      probed = true;
    }
  }
  cr_assert(probed);
  rfix_done(&f);
}

Test(timeouts, with_nothing_else_the_timed_out_endpoint_is_still_used) {
  struct rfix_cfg c = two();
  c.profs[0].n = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  outcome_on(&f, "a", kind(QCC_OUT_TIMEOUT), 0);
  struct qcc_pick p = rfix_pick(&f, NULL, 1 * S);
  cr_assert(p.last_resort, "never eject the last one");
  rfix_done(&f);
}

/* ---- when the next endpoint becomes eligible ----------------------------- */

Test(ready, next_ready_is_the_earliest_rest_or_cooldown_end) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  cr_assert_eq(qcc_router_next_ready(f.r, 0), UINT64_MAX, "everything is eligible");
  outcome_on(&f, "a", status(529, 1), 0);
  cr_assert_eq(qcc_router_next_ready(f.r, 0), 1 * S);
  for (int i = 0; i < 3; i++) outcome_on(&f, "b", kind(QCC_OUT_CONNECT_ERROR), 5);
  cr_assert_eq(qcc_router_next_ready(f.r, 500), 1 * S);
  cr_assert_eq(qcc_router_next_ready(f.r, 1 * S), 30 * S + 5, "then b's cooldown");
  cr_assert_eq(qcc_router_next_ready(f.r, 30 * S + 5), UINT64_MAX);
  rfix_done(&f);
}

Test(ready, both_rest_after_529_retry_after_1_and_are_usable_after_1_s) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_pick_req req = {0};
  for (int i = 0; i < 2; i++) {
    struct qcc_pick p = rfix_pick(&f, &req, 0);
    qcc_router_begin(f.r, &p, 0);
    struct qcc_outcome o = status(529, 1);
    qcc_router_end(f.r, &p, &o, 0);
    req.tried[req.tried_count++] = p.endpoint;
  }
  struct qcc_pick p;
  cr_assert_eq(qcc_router_pick(f.r, &req, 0, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_ALL_TRIED);
  cr_assert_eq(qcc_router_next_ready(f.r, 0), 1 * S, "wait 1 s, not a 5 s backoff");
  p = rfix_pick(&f, NULL, 1 * S);
  cr_assert_not(p.rest_probe, "eligible again: an ordinary request");
  rfix_done(&f);
}

/* A 529 storm with retry-after: every key answers "overloaded, come back in
 * 1 s" several times. That is a rest, not a broken endpoint: no breaker
 * opens (it would keep the endpoint out for the whole cooldown after it is
 * well again), and the endpoint is an ordinary pick when the rest ends. */
Test(ready, repeated_529s_with_retry_after_rest_but_never_open_the_breaker) {
  struct rfix_cfg c = two();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  for (uint64_t t = 0; t < 5; t++) outcome_on(&f, "a", status(529, 1), t * S);
  struct qcc_route_snapshot s = snap(&f, "a", 4 * S);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED, "5 x 529 with retry-after: breaker still closed");
  cr_assert_eq(s.rest_until, 5 * S, "resting until the last retry-after ends");
  struct qcc_pick_req req = {.tried = {1}, .tried_count = 1}; /* b tried already */
  struct qcc_pick p = rfix_pick(&f, &req, 5 * S);
  cr_assert_eq(p.result, QCC_PICK_OK);
  cr_assert_str_eq(rfix_id(&f, p.endpoint), "a");
  cr_assert_not(p.rest_probe || p.last_resort || p.probe, "an ordinary pick once the rest ended");
  /* without retry-after a 529 is still a failure that counts */
  for (uint64_t t = 0; t < 3; t++) outcome_on(&f, "b", status(529, 0), 6 * S + t);
  cr_assert_eq(snap(&f, "b", 6 * S + 3).breaker, QCC_BREAKER_OPEN);
  rfix_done(&f);
}

Test(ready, the_signal_fires_when_something_may_have_become_eligible) {
  struct rfix_cfg c = two();
  c.health_enabled = true;
  c.check_interval_ms = 10 * S;
  c.profs[0].eps[1].max_conc = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  int n[2] = {0, 0};
  qcc_router_on_ready(f.r, count_ready, n);
  struct qcc_err err = {0};
  /* (one change may signal more than once: the count only has to move) */
  int before = n[0];
  /* a slot freed on a full endpoint that served */
  struct qcc_pick pb = on(&f, "b");
  qcc_router_begin(f.r, &pb, 0);
  rfix_finish(&f, &pb, QCC_OUT_OK, 0, 1);
  cr_assert_gt(n[0], before);
  cr_assert_eq(n[1], 0, "served: news for every waiting request");
  /* freed by a failure: news only for requests that found no endpoint
   * (waking the ones backing off would re-try a failing endpoint at once) */
  before = n[0];
  qcc_router_begin(f.r, &pb, 2);
  rfix_finish(&f, &pb, QCC_OUT_HTTP_STATUS, 500, 2);
  cr_assert_eq(n[0], before + 1);
  cr_assert_eq(n[1], 1);
  /* from here on every signal is QCC_READY_RECOVERED */
  before = n[0];
  /* an active check passing on an open breaker */
  for (int i = 0; i < 3; i++) outcome_on(&f, "a", kind(QCC_OUT_CONNECT_ERROR), 3);
  cr_assert_eq(n[0], before, "opening is no news");
  qcc_router_health_result(f.r, rfix_idx(&f, "a"), true, 50, NULL, 4);
  cr_assert_gt(n[0], before);
  /* an operator enable, a table swap */
  before = n[0];
  cr_assert_eq(qcc_router_disable(f.r, rfix_idx(&f, "a"), "x", 5, &err), 0);
  cr_assert_eq(n[0], before);
  cr_assert_eq(qcc_router_enable(f.r, rfix_idx(&f, "a"), NULL, 6, &err), 0);
  cr_assert_gt(n[0], before);
  before = n[0];
  rfix_swap(&f, &c, 7);
  cr_assert_gt(n[0], before);
  /* a pick never signals */
  before = n[0];
  for (int i = 0; i < 4; i++) rfix_pick(&f, NULL, 8);
  cr_assert_eq(n[0], before);
  cr_assert_eq(n[1], 1);
  rfix_done(&f);
}

/* ---- recovery and operator actions act at once --------------------------- */

static void open_primary(struct rfix *f, uint64_t now) {
  for (int i = 0; i < 2; i++) {
    outcome_on(f, "a", kind(QCC_OUT_CONNECT_ERROR), now);
    outcome_on(f, "b", kind(QCC_OUT_CONNECT_ERROR), now);
  }
}

static const char *active(struct rfix *f) {
  static struct qcc_route_status st;
  qcc_router_status(f->r, &st);
  return st.active_profile_name;
}

Test(recovery, a_passing_check_closes_an_open_breaker) {
  struct rfix_cfg c = ladder();
  c.health_enabled = true;
  c.check_interval_ms = 10 * S;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  cr_assert_eq(snap(&f, "a", 0).breaker, QCC_BREAKER_OPEN);
  qcc_router_health_result(f.r, rfix_idx(&f, "a"), true, 80, NULL, 10 * S);
  struct qcc_route_snapshot s = snap(&f, "a", 10 * S);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED, "no request needed");
  cr_assert(s.available);
  cr_assert_eq(s.breaker_failures, 0);
  /* a failing check does not touch the breaker */
  qcc_router_health_result(f.r, rfix_idx(&f, "b"), false, 0, "refused", 10 * S);
  cr_assert_eq(snap(&f, "b", 10 * S).breaker, QCC_BREAKER_OPEN);
  rfix_done(&f);
}

Test(recovery, an_idle_primary_takes_over_again_after_the_cooldown) {
  struct rfix_cfg c = ladder();
  c.health_enabled = true;
  c.check_interval_ms = 10 * S;
  c.profs[0].health_aware = true;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  cr_assert_str_eq(rfix_id(&f, rfix_ok(&f, NULL, 1)), "c");
  cr_assert_str_eq(active(&f), "s");
  /* the checks found p's endpoints down too */
  qcc_router_health_result(f.r, rfix_idx(&f, "a"), false, 0, "refused", 5 * S);
  qcc_router_health_result(f.r, rfix_idx(&f, "b"), false, 0, "refused", 5 * S);
  cr_assert_eq(snap(&f, "a", 5 * S).health, QCC_HEALTH_UNHEALTHY);
  /* no traffic from here on: only the checks every 10 s */
  uint64_t switched = 0;
  for (uint64_t t = 10 * S; t <= 200 * S && switched == 0; t += 10 * S) {
    qcc_router_health_due(f.r, t, NULL, NULL);
    for (uint32_t i = 0; i < qcc_router_endpoint_count(f.r); i++)
      qcc_router_health_result(f.r, i, true, 80, NULL, t);
    if (strcmp(active(&f), "p") == 0) switched = t;
  }
  /* the checks at 10 s close the breakers and lift "unhealthy" (to
   * degraded: not `rise` checks later): p is up from then; 60 s later */
  cr_assert_eq(switched, 70 * S, "switched at %llu ms", (unsigned long long)switched);
  cr_assert_eq(snap(&f, "a", 70 * S).health, QCC_HEALTH_HEALTHY, "rise passes since");
  rfix_done(&f);
}

Test(recovery, enable_makes_an_endpoint_eligible_at_once_and_starts_the_clock) {
  struct rfix_cfg c = ladder();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_err err = {0};
  open_primary(&f, 0);
  cr_assert_str_eq(rfix_id(&f, rfix_ok(&f, NULL, 1)), "c");
  cr_assert_eq(qcc_router_disable(f.r, rfix_idx(&f, "b"), "broken key", 2, &err), 0);
  cr_assert_eq(qcc_router_enable(f.r, rfix_idx(&f, "a"), NULL, 10 * S, &err), 0);
  struct qcc_route_snapshot s = snap(&f, "a", 10 * S);
  cr_assert(s.available, "eligible now, not after its breaker cooldown (30 s)");
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED);
  /* the recovery clock started at the enable: 60 s cooldown */
  cr_assert_str_eq(rfix_id(&f, rfix_ok(&f, NULL, 69 * S)), "c");
  cr_assert_str_eq(rfix_id(&f, rfix_ok(&f, NULL, 70 * S)), "a");
  cr_assert_str_eq(active(&f), "p");
  rfix_done(&f);
}

/* ---- the router and the failure queue together --------------------------
 * What qcc-run's proxy does (runtime/proxy.c: no_endpoint, qtimer): a round
 * tries endpoints until one answers or none is left; a round that made
 * attempts goes to the queue's schedule, one that made none waits for an
 * endpoint; the timer is armed at min(queue due, router next ready), and a
 * ready signal or a ready time reached wakes the queue. Upstream answers
 * come from a script and take no time. */

typedef struct qcc_outcome (*upstream_fn)(const char *id, uint64_t now, unsigned *calls);

struct sim {
  struct rfix f;
  struct qcc_queue *q;
  upstream_fn up;
  unsigned calls[2]; /* a, b */
  bool signalled, slot, queued, done, expired;
  uint64_t answered_at;
  const char *answered_by;
  int status;
};

static void sim_ready(void *ctx, enum qcc_ready_kind kind) {
  struct sim *s = ctx;
  if (kind == QCC_READY_RECOVERED) s->signalled = true;
  else s->slot = true;
}

static void sim_init(struct sim *s, enum qcc_retry_strategy st, upstream_fn up) {
  memset(s, 0, sizeof *s);
  struct rfix_cfg c = two();
  rfix_init(&s->f, &c, NULL, 0);
  struct qcc_queue_params qp;
  qcc_queue_params_default(&qp); /* 5 retries, 120 s */
  qp.strategy = st;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_queue_new(&qp, &s->q, &err), 0);
  s->up = up;
  qcc_router_on_ready(s->f.r, sim_ready, s);
}

static void sim_done(struct sim *s) {
  qcc_queue_free(&s->q);
  rfix_done(&s->f);
}

/* One round of a request at NOW. */
static void sim_round(struct sim *s, uint64_t now) {
  struct qcc_pick_req req = {0};
  unsigned attempts = 0;
  struct qcc_pick p;
  while (qcc_router_pick(s->f.r, &req, now, &p) == 0) {
    qcc_router_begin(s->f.r, &p, now);
    const char *id = rfix_id(&s->f, p.endpoint);
    struct qcc_outcome o = s->up(id, now, &s->calls[id[0] - 'a']);
    qcc_router_end(s->f.r, &p, &o, now);
    attempts++;
    if (!qcc_router_retryable(&o)) {
      s->done = true;
      s->answered_at = now;
      s->answered_by = id;
      s->status = o.kind == QCC_OUT_OK ? 200 : o.http_status;
      if (s->queued) qcc_queue_succeeded(s->q, s);
      return;
    }
    req.tried[req.tried_count++] = p.endpoint;
  }
  if (!s->queued) {
    enum qcc_queue_push_status st =
        attempts == 0 ? qcc_queue_push_waiting(s->q, s, 5, now, NULL, NULL)
                      : qcc_queue_push(s->q, s, 5, now, NULL, NULL);
    cr_assert_eq(st, QCC_QUEUE_PUSHED);
    s->queued = true;
    return;
  }
  enum qcc_queue_retry_status rs = attempts == 0 ? qcc_queue_retry_no_endpoint(s->q, s, now)
                                                 : qcc_queue_retry_failed(s->q, s, now);
  if (rs == QCC_QUEUE_EXPIRED) s->done = s->expired = true;
}

/* A request at T0, then the loop's timer until it is answered or given up. */
static void sim_run(struct sim *s, uint64_t t0) {
  uint64_t now = t0;
  sim_round(s, now);
  for (int turns = 0; !s->done && turns < 1000; turns++) {
    uint64_t ready = qcc_queue_waiting(s->q) > 0 ? qcc_router_next_ready(s->f.r, now)
                                                 : UINT64_MAX;
    uint64_t due = qcc_queue_next_due(s->q);
    if (s->signalled || s->slot) due = now;
    uint64_t t = due < ready ? due : ready;
    cr_assert_neq(t, UINT64_MAX, "the request waits for nothing");
    if (t > now) now = t;
    if (s->signalled || ready <= now) qcc_queue_wake_all(s->q, now);
    else if (s->slot) qcc_queue_wake_waiting(s->q, now);
    s->signalled = s->slot = false;
    struct qcc_queue_item it;
    if (qcc_queue_pop_due(s->q, now, &it, 1) == 0) continue;
    if (it.expired) {
      s->done = s->expired = true;
      s->answered_at = now;
      break;
    }
    sim_round(s, now);
  }
  cr_assert(s->done, "still waiting after 1000 turns");
}

static uint64_t retries_spent(const struct sim *s) {
  struct qcc_queue_counters qc;
  qcc_queue_counters(s->q, &qc);
  return qc.retries;
}

/* a: 529 retry-after 1 until 1 s, then fine; b: 529 retry-after 1 always. */
static struct qcc_outcome storm(const char *id, uint64_t now, unsigned *calls) {
  (*calls)++;
  if (id[0] == 'a' && now >= 1 * S) return kind(QCC_OUT_OK);
  return status(529, 1);
}

Test(storm, the_default_queue_answers_when_a_is_ready_not_after_5_s) {
  struct sim s;
  sim_init(&s, QCC_RETRY_EXPONENTIAL_BACKOFF, storm);
  sim_run(&s, 0);
  cr_assert_not(s.expired);
  cr_assert_eq(s.answered_at, 1 * S, "answered at %llu ms", (unsigned long long)s.answered_at);
  cr_assert_str_eq(s.answered_by, "a");
  cr_assert_eq(retries_spent(&s), 1);
  sim_done(&s);
}

Test(storm, the_immediate_queue_waits_for_a_instead_of_burning_its_retries) {
  struct sim s;
  sim_init(&s, QCC_RETRY_IMMEDIATE, storm);
  sim_run(&s, 0);
  cr_assert_not(s.expired, "the client must not get 503");
  cr_assert_eq(s.answered_at, 1 * S, "answered at %llu ms", (unsigned long long)s.answered_at);
  cr_assert_str_eq(s.answered_by, "a");
  /* the first round (a, b), one round of rest probes, then waiting: no
   * retry is spent on finding nothing */
  cr_assert_leq(retries_spent(&s), 2, "%llu retries", (unsigned long long)retries_spent(&s));
  /* round 1: a, b; the probe round: a, b; at 1 s at most b then a */
  cr_assert_leq(s.calls[0] + s.calls[1], 6, "a %u, b %u calls", s.calls[0], s.calls[1]);
  sim_done(&s);
}

/* a: one 429 retry-after 30 (an earlier request), then fine; b: 503. */
static struct qcc_outcome busy_then_b_fails(const char *id, uint64_t now, unsigned *calls) {
  (void)now;
  if (id[0] == 'b') {
    (*calls)++;
    return status(503, 0);
  }
  return (*calls)++ == 0 ? status(429, 30) : kind(QCC_OUT_OK);
}

Test(storm, a_429_rest_of_30_s_does_not_keep_a_out_when_b_fails) {
  struct sim s;
  sim_init(&s, QCC_RETRY_EXPONENTIAL_BACKOFF, busy_then_b_fails);
  outcome_on(&s.f, "a", busy_then_b_fails("a", 0, &s.calls[0]), 0);
  sim_run(&s, 2 * S);
  cr_assert_eq(s.answered_at, 2 * S, "A is probed at once, not after 30 s");
  cr_assert_str_eq(s.answered_by, "a");
  cr_assert_eq(s.calls[1], 1, "b was tried first");
  sim_done(&s);
}

/* a hangs (every request to it times out), b is fine. */
static struct qcc_outcome a_hangs(const char *id, uint64_t now, unsigned *calls) {
  (void)now;
  (*calls)++;
  return id[0] == 'a' ? kind(QCC_OUT_TIMEOUT) : kind(QCC_OUT_OK);
}

Test(storm, a_hung_endpoint_costs_one_request_one_timeout) {
  struct sim s;
  sim_init(&s, QCC_RETRY_EXPONENTIAL_BACKOFF, a_hangs);
  /* four requests in a row, a 30 s timeout apart at most */
  for (int i = 0; i < 4; i++) {
    s.done = s.queued = false;
    sim_run(&s, (uint64_t)i * S);
    cr_assert_str_eq(s.answered_by, "b");
    cr_assert_eq(s.answered_at, (uint64_t)i * S);
  }
  cr_assert_leq(s.calls[0], 1, "a was tried %u times", s.calls[0]);
  sim_done(&s);
}

Test(storm, a_request_with_nothing_eligible_waits_for_an_enable) {
  struct sim s;
  sim_init(&s, QCC_RETRY_IMMEDIATE, a_hangs);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_disable(s.f.r, rfix_idx(&s.f, "a"), "x", 0, &err), 0);
  cr_assert_eq(qcc_router_disable(s.f.r, rfix_idx(&s.f, "b"), "x", 0, &err), 0);
  s.signalled = false;
  sim_round(&s, 0);
  cr_assert(s.queued);
  cr_assert_eq(qcc_queue_next_due(s.q), 120 * S, "only the deadline is on the clock");
  /* 40 s later the operator enables b: the request goes at once */
  cr_assert_eq(qcc_router_enable(s.f.r, rfix_idx(&s.f, "b"), NULL, 40 * S, &err), 0);
  cr_assert(s.signalled);
  qcc_queue_wake_all(s.q, 40 * S);
  s.signalled = false;
  struct qcc_queue_item it;
  cr_assert_eq(qcc_queue_pop_due(s.q, 40 * S, &it, 1), 1);
  sim_round(&s, 40 * S);
  cr_assert(s.done);
  cr_assert_str_eq(s.answered_by, "b");
  cr_assert_eq(retries_spent(&s), 1, "waiting spent nothing; the answered retry counts");
  sim_done(&s);
}

static struct qcc_outcome all_ok(const char *id, uint64_t now, unsigned *calls) {
  (void)id;
  (void)now;
  (*calls)++;
  return kind(QCC_OUT_OK);
}

Test(storm, a_slot_freed_by_a_failure_wakes_a_request_waiting_for_an_endpoint) {
  struct sim s;
  sim_init(&s, QCC_RETRY_EXPONENTIAL_BACKOFF, all_ok);
  struct rfix_cfg c = two();
  c.profs[0].n = 1;
  c.profs[0].eps[0].max_conc = 1;
  rfix_swap(&s.f, &c, 0);
  /* X holds a's only slot; Y finds nothing and waits for an endpoint */
  struct qcc_pick x = rfix_pick(&s.f, NULL, 0);
  qcc_router_begin(s.f.r, &x, 0);
  s.signalled = s.slot = false;
  sim_round(&s, 0);
  cr_assert(s.queued);
  cr_assert_not(s.done);
  /* X fails at 7 s: the slot is free; Y has tried nothing yet, so it goes */
  rfix_finish(&s.f, &x, QCC_OUT_HTTP_STATUS, 500, 7 * S);
  cr_assert(s.slot);
  cr_assert_not(s.signalled);
  cr_assert_eq(qcc_queue_wake_waiting(s.q, 7 * S), 1);
  struct qcc_queue_item it;
  cr_assert_eq(qcc_queue_pop_due(s.q, 7 * S, &it, 1), 1);
  sim_round(&s, 7 * S);
  cr_assert(s.done);
  cr_assert_eq(s.status, 200);
  sim_done(&s);
}
