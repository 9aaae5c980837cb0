/* The engine: breakers, groups and switching, pins, outcomes, caps, table
 * swaps, events, health scheduling. Fake clock throughout. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "rfix.h"

#define S 1000ull /* ms per second */

/* primary "p" (a, b) -> secondary "s" (c) -> fallback "f" (d) */
static struct rfix_cfg groups(void) {
  struct rfix_cfg c = {.auto_switch = true, .auto_recovery = true, .fallback_enabled = true,
                       .cooldown_ms = 60 * S, .n = 3};
  c.profs[0] = (struct rfix_prof){.name = "p", .group = QCC_GROUP_PRIMARY, .lb = QCC_LB_WEIGHTED,
                                  .n = 2};
  c.profs[0].eps[0] = (struct rfix_ep){.id = "a", .max_failures = 2};
  c.profs[0].eps[1] = (struct rfix_ep){.id = "b", .max_failures = 2};
  c.profs[1] = (struct rfix_prof){.name = "s", .group = QCC_GROUP_SECONDARY, .lb = QCC_LB_WEIGHTED,
                                  .n = 1};
  c.profs[1].eps[0] = (struct rfix_ep){.id = "c", .max_failures = 2};
  c.profs[2] = (struct rfix_prof){.name = "f", .group = QCC_GROUP_FALLBACK, .lb = QCC_LB_WEIGHTED,
                                  .n = 1};
  c.profs[2].eps[0] = (struct rfix_ep){.id = "d", .max_failures = 2};
  return c;
}

static void fail_on(struct rfix *f, uint32_t idx, enum qcc_outcome_kind k, int st, uint64_t now) {
  struct qcc_pick p = {.result = QCC_PICK_OK, .endpoint = idx,
                       .stable_id = qcc_table_endpoint(f->t, idx)->stable_id,
                       .epoch = qcc_router_epoch(f->r)};
  qcc_router_begin(f->r, &p, now);
  rfix_finish(f, &p, k, st, now);
}

static const char *pick_id(struct rfix *f, uint64_t now) {
  return rfix_id(f, rfix_ok(f, NULL, now));
}

static size_t count_events(struct rfix *f, enum qcc_route_event_kind kind) {
  static struct qcc_route_event ev[QCC_ROUTE_EVENT_RING];
  size_t n = qcc_router_events(f->r, ev, QCC_ROUTE_EVENT_RING), k = 0;
  for (size_t i = 0; i < n; i++) k += ev[i].kind == kind;
  return k;
}

static struct qcc_route_event last_event(struct rfix *f, enum qcc_route_event_kind kind) {
  static struct qcc_route_event ev[QCC_ROUTE_EVENT_RING];
  size_t n = qcc_router_events(f->r, ev, QCC_ROUTE_EVENT_RING);
  for (size_t i = n; i-- > 0;)
    if (ev[i].kind == kind) return ev[i];
  cr_assert_fail("no %s event", qcc_route_event_name(kind));
  return ev[0];
}

Test(router, a_fresh_router_picks_from_primary) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  for (int i = 0; i < 10; i++) cr_assert_eq(rfix_id(&f, rfix_ok(&f, NULL, 0))[0] <= 'b', 1);
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "p");
  cr_assert_eq(st.active_group, QCC_GROUP_PRIMARY);
  cr_assert_eq(st.endpoint_count, 4);
  rfix_done(&f);
}

Test(router, retryable_classes) {
  struct qcc_outcome o = {.kind = QCC_OUT_HTTP_STATUS};
  int yes[] = {401, 403, 429, 500, 502, 503, 504, 529};
  int no[] = {200, 400, 404, 413, 422, 501};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    o.http_status = yes[i];
    cr_assert(qcc_router_retryable(&o), "%d", yes[i]);
  }
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
    o.http_status = no[i];
    cr_assert_not(qcc_router_retryable(&o), "%d", no[i]);
  }
  enum qcc_outcome_kind k[] = {QCC_OUT_CONNECT_ERROR, QCC_OUT_TLS_ERROR, QCC_OUT_TIMEOUT};
  for (size_t i = 0; i < 3; i++) {
    o.kind = k[i];
    cr_assert(qcc_router_retryable(&o));
  }
  o.kind = QCC_OUT_BROKEN_STREAM;
  cr_assert_not(qcc_router_retryable(&o), "bytes were sent: not retried");
  o.kind = QCC_OUT_OK;
  cr_assert_not(qcc_router_retryable(&o));
}

Test(router, breaker_opens_probes_once_and_closes) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  fail_on(&f, a, QCC_OUT_CONNECT_ERROR, 0, 0);
  fail_on(&f, a, QCC_OUT_CONNECT_ERROR, 0, 0);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 1, &s);
  cr_assert_eq(s.breaker, QCC_BREAKER_OPEN);
  cr_assert_eq(s.breaker_open_until, 30 * S);
  cr_assert_not(s.available);
  struct qcc_route_event ev = last_event(&f, QCC_EV_BREAKER);
  cr_assert_str_eq(ev.from, "closed");
  cr_assert_str_eq(ev.to, "open");
  cr_assert_str_eq(ev.endpoint, "a");
  cr_assert_str_eq(ev.profile, "p");
  cr_assert_not_null(strstr(ev.reason, "connect error"), "%s", ev.reason);
  for (int i = 0; i < 20; i++) cr_assert_str_eq(pick_id(&f, 10 * S), "b");
  /* after the cooldown: exactly one probe goes to a */
  unsigned to_a = 0;
  struct qcc_pick probe = {0};
  for (int i = 0; i < 20; i++) {
    struct qcc_pick p = rfix_pick(&f, NULL, 30 * S);
    qcc_router_begin(f.r, &p, 30 * S);
    if (p.endpoint == a) {
      to_a++;
      cr_assert(p.probe);
      probe = p;
    } else {
      rfix_finish(&f, &p, QCC_OUT_OK, 0, 30 * S);
    }
  }
  cr_assert_eq(to_a, 1, "one half-open probe, got %u", to_a);
  qcc_router_snapshot(f.r, a, 30 * S, &s);
  cr_assert_eq(s.breaker, QCC_BREAKER_HALF_OPEN);
  rfix_finish(&f, &probe, QCC_OUT_OK, 0, 31 * S);
  qcc_router_snapshot(f.r, a, 31 * S, &s);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED);
  cr_assert_str_eq(last_event(&f, QCC_EV_BREAKER).to, "closed");
  unsigned back = 0;
  for (int i = 0; i < 20; i++) back += rfix_ok(&f, NULL, 32 * S) == a;
  cr_assert_eq(back, 10);
  rfix_done(&f);
}

Test(router, failed_probe_doubles_the_cooldown) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  fail_on(&f, a, QCC_OUT_TIMEOUT, 0, 0);
  fail_on(&f, a, QCC_OUT_TIMEOUT, 0, 0);
  fail_on(&f, a, QCC_OUT_TIMEOUT, 0, 30 * S); /* the probe */
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 30 * S, &s);
  cr_assert_eq(s.breaker, QCC_BREAKER_OPEN);
  cr_assert_eq(s.breaker_open_until, 90 * S);
  rfix_done(&f);
}

static void open_primary(struct rfix *f, uint64_t now) {
  uint32_t a = rfix_idx(f, "a"), b = rfix_idx(f, "b");
  for (int i = 0; i < 2; i++) {
    fail_on(f, a, QCC_OUT_CONNECT_ERROR, 0, now);
    fail_on(f, b, QCC_OUT_HTTP_STATUS, 529, now);
  }
}

Test(router, group_failover_when_primary_is_all_open) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  struct qcc_pick p = rfix_pick(&f, NULL, 1);
  cr_assert_str_eq(rfix_id(&f, p.endpoint), "c");
  cr_assert_eq(p.group, QCC_GROUP_SECONDARY);
  cr_assert_not(p.spilled, "the switch happened before the pick");
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "s");
  struct qcc_route_event ev = last_event(&f, QCC_EV_SWITCH);
  cr_assert_str_eq(ev.from, "p");
  cr_assert_str_eq(ev.to, "s");
  cr_assert_eq(ev.time_ms, 1);
  cr_assert_not_null(strstr(ev.reason, "no available endpoint in p"), "%s", ev.reason);
  /* secondary out too: fallback */
  fail_on(&f, rfix_idx(&f, "c"), QCC_OUT_TLS_ERROR, 0, 2);
  fail_on(&f, rfix_idx(&f, "c"), QCC_OUT_TLS_ERROR, 0, 2);
  cr_assert_str_eq(pick_id(&f, 3), "d");
  rfix_done(&f);
}

Test(router, fallback_only_when_enabled) {
  struct rfix_cfg c = groups();
  c.fallback_enabled = false;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  fail_on(&f, rfix_idx(&f, "c"), QCC_OUT_TLS_ERROR, 0, 0);
  fail_on(&f, rfix_idx(&f, "c"), QCC_OUT_TLS_ERROR, 0, 0);
  struct qcc_pick p = rfix_pick(&f, NULL, 1);
  cr_assert_neq(p.endpoint, rfix_idx(&f, "d"));
  cr_assert(p.last_resort);
  rfix_done(&f);
}

Test(router, retry_within_a_request_skips_tried_endpoints) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_pick_req req = {0};
  const char *seen[4];
  for (int i = 0; i < 4; i++) {
    struct qcc_pick p = rfix_pick(&f, &req, 0);
    seen[i] = rfix_id(&f, p.endpoint);
    req.tried[req.tried_count++] = p.endpoint;
  }
  /* primary first (either order), then down the ladder */
  cr_assert(strcmp(seen[0], seen[1]) != 0 && seen[0][0] <= 'b' && seen[1][0] <= 'b');
  cr_assert_str_eq(seen[2], "c");
  cr_assert_str_eq(seen[3], "d");
  struct qcc_pick p;
  cr_assert_eq(qcc_router_pick(f.r, &req, 0, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_ALL_TRIED);
  rfix_done(&f);
}

/* Bring a back through its probe at T (b stays broken). */
static void heal_a(struct rfix *f, uint64_t t) {
  struct qcc_pick p = rfix_pick(f, NULL, t);
  cr_assert_str_eq(rfix_id(f, p.endpoint), "a", "the probe goes to the higher group");
  cr_assert(p.probe);
  cr_assert(p.spilled);
  qcc_router_begin(f->r, &p, t);
  rfix_finish(f, &p, QCC_OUT_OK, 0, t);
}

Test(router, recovery_only_after_cooldown) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  cr_assert_str_eq(pick_id(&f, 1), "c");
  /* b's probe fails: it stays out */
  heal_a(&f, 30 * S);
  uint64_t healed = 30 * S;
  for (uint64_t t = healed + 500; t < healed + 60 * S; t += 500) {
    struct qcc_pick p = rfix_pick(&f, NULL, t);
    qcc_router_begin(f.r, &p, t);
    const char *id = rfix_id(&f, p.endpoint);
    if (strcmp(id, "b") == 0) {
      /* b's probe fails: b stays out (until 90.5 s) */
      cr_assert(p.probe);
      rfix_finish(&f, &p, QCC_OUT_CONNECT_ERROR, 0, t);
      continue;
    }
    rfix_finish(&f, &p, QCC_OUT_OK, 0, t);
    cr_assert_str_eq(id, "c", "at %llu ms: recovery before the cooldown", (unsigned long long)t);
  }
  cr_assert_str_eq(pick_id(&f, healed + 60 * S), "a");
  struct qcc_route_event ev = last_event(&f, QCC_EV_SWITCH);
  cr_assert_str_eq(ev.from, "s");
  cr_assert_str_eq(ev.to, "p");
  cr_assert_eq(ev.time_ms, healed + 60 * S);
  cr_assert_not_null(strstr(ev.reason, "healthy again"), "%s", ev.reason);
  cr_assert_eq(count_events(&f, QCC_EV_SWITCH), 2);
  rfix_done(&f);
}

Test(router, no_recovery_without_auto_recovery) {
  struct rfix_cfg c = groups();
  c.auto_recovery = false;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  for (uint64_t t = 0; t < 600 * S; t += 10 * S) cr_assert_str_eq(pick_id(&f, t), "c");
  rfix_done(&f);
}

Test(router, no_flapping_when_the_primary_alternates) {
  struct rfix_cfg c = groups();
  c.health_enabled = true;
  c.profs[0].health_aware = true;
  c.profs[0].n = 1; /* just a */
  c.check_interval_ms = 10 * S;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  qcc_router_health_result(f.r, a, false, 0, "connection refused", 0);
  cr_assert_str_eq(pick_id(&f, 1), "c");
  /* a alternates: down one check, up two, for ten minutes; each up spell
   * is 20-30 s, shorter than the 60 s cooldown */
  uint64_t t = 10 * S;
  for (int cycle = 0; cycle < 20; cycle++) {
    bool up[] = {true, true, false};
    for (int k = 0; k < 3; k++, t += 10 * S) {
      qcc_router_health_result(f.r, a, up[k], 100, up[k] ? NULL : "refused", t);
      for (int i = 0; i < 5; i++)
        cr_assert_str_eq(pick_id(&f, t + (uint64_t)i * S), "c", "flapped at %llu",
                         (unsigned long long)t);
    }
  }
  cr_assert_eq(count_events(&f, QCC_EV_SWITCH), 1, "only the first failover");
  /* now stable: back after the cooldown */
  qcc_router_health_result(f.r, a, true, 100, NULL, t);
  qcc_router_health_result(f.r, a, true, 100, NULL, t + 1);
  cr_assert_str_eq(pick_id(&f, t + 1), "c");
  cr_assert_str_eq(pick_id(&f, t + 1 + 60 * S), "a");
  rfix_done(&f);
}

Test(router, switch_threshold_moves_on_consecutive_failures) {
  struct rfix_cfg c = groups();
  c.switch_threshold = 3;
  c.profs[0].eps[0].max_failures = 10;
  c.profs[0].eps[1].max_failures = 10;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  for (int i = 0; i < 2; i++) {
    struct qcc_pick p = rfix_pick(&f, NULL, 0);
    qcc_router_begin(f.r, &p, 0);
    rfix_finish(&f, &p, QCC_OUT_HTTP_STATUS, 500, 0);
  }
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert_eq(st.fail_streak, 2);
  cr_assert_str_eq(st.active_profile_name, "p");
  struct qcc_pick p = rfix_pick(&f, NULL, 0);
  qcc_router_begin(f.r, &p, 0);
  rfix_finish(&f, &p, QCC_OUT_HTTP_STATUS, 502, 0);
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "s");
  cr_assert_not_null(strstr(last_event(&f, QCC_EV_SWITCH).reason, "3 consecutive failed requests"));
  cr_assert_str_eq(pick_id(&f, 1), "c");
  /* no going back inside the cooldown, although p's breakers are closed */
  cr_assert_str_eq(pick_id(&f, 59 * S), "c");
  cr_assert_str_eq(rfix_id(&f, rfix_ok(&f, NULL, 61 * S))[0] <= 'b' ? "p" : "s", "p");
  rfix_done(&f);
}

Test(router, without_auto_switch_traffic_stays_in_the_group) {
  struct rfix_cfg c = groups();
  c.auto_switch = false;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  struct qcc_pick p = rfix_pick(&f, NULL, 1);
  cr_assert(p.last_resort);
  cr_assert_eq(p.group, QCC_GROUP_PRIMARY);
  rfix_done(&f);
}

Test(router, pin_and_unpin) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_pin(f.r, "nope", "x", 0, &err), -1);
  cr_assert_not_null(strstr(err.msg, "nope"));
  cr_assert_eq(qcc_router_pin(f.r, "f", "maintenance on p and s", 5, &err), 0);
  for (int i = 0; i < 20; i++) cr_assert_str_eq(pick_id(&f, 6), "d");
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert(st.pinned);
  cr_assert_str_eq(st.pin_profile, "f");
  cr_assert_str_eq(st.pin_reason, "maintenance on p and s");
  struct qcc_route_event ev = last_event(&f, QCC_EV_PIN);
  cr_assert_str_eq(ev.from, "p");
  cr_assert_str_eq(ev.to, "f");
  cr_assert_eq(ev.time_ms, 5);
  /* the pin survives a table swap that keeps the profile */
  rfix_swap(&f, &c, 7);
  cr_assert_str_eq(pick_id(&f, 8), "d");
  qcc_router_unpin(f.r, NULL, 9);
  cr_assert_str_eq(last_event(&f, QCC_EV_UNPIN).to, "auto");
  cr_assert_str_eq(last_event(&f, QCC_EV_UNPIN).reason, "switch --auto");
  cr_assert_lt(pick_id(&f, 10)[0], 'c');
  qcc_router_status(f.r, &st);
  cr_assert_not(st.pinned);
  rfix_done(&f);
}

/* The operator's reason rides the enable and unpin events into the journal,
 * as it does for disable and pin (the status page says "from the status page"). */
Test(router, enable_and_unpin_carry_the_reason) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_err err = {0};
  uint32_t a = rfix_idx(&f, "a");
  cr_assert_eq(qcc_router_disable(f.r, a, "maintenance", 1, &err), 0);
  cr_assert_eq(qcc_router_enable(f.r, a, "from the status page", 2, &err), 0);
  cr_assert_str_eq(last_event(&f, QCC_EV_ENABLE).reason, "from the status page");
  cr_assert_eq(qcc_router_disable(f.r, a, "again", 3, &err), 0);
  cr_assert_eq(qcc_router_enable(f.r, a, "", 4, &err), 0);
  cr_assert_str_eq(last_event(&f, QCC_EV_ENABLE).reason, "operator");
  cr_assert_eq(qcc_router_pin(f.r, "f", "x", 5, &err), 0);
  qcc_router_unpin(f.r, "from the status page", 6);
  cr_assert_str_eq(last_event(&f, QCC_EV_UNPIN).reason, "from the status page");
  rfix_done(&f);
}

Test(router, key_rejected_on_401_until_enabled_or_changed) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  fail_on(&f, a, QCC_OUT_HTTP_STATUS, 401, 0);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 1, &s);
  cr_assert(s.key_rejected);
  cr_assert_not(s.available);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED, "a bad key is not a broken endpoint");
  cr_assert_str_eq(last_event(&f, QCC_EV_KEY_REJECTED).endpoint, "a");
  for (uint64_t t = 0; t < 3600 * S; t += 60 * S) cr_assert_str_eq(pick_id(&f, t), "b");
  /* a swap that does not touch a's key keeps it out */
  rfix_swap(&f, &c, 3600 * S);
  a = rfix_idx(&f, "a");
  qcc_router_snapshot(f.r, a, 3600 * S, &s);
  cr_assert(s.key_rejected);
  /* an operator enable brings it back */
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_enable(f.r, a, NULL, 3601 * S, &err), 0);
  qcc_router_snapshot(f.r, a, 3601 * S, &s);
  cr_assert_not(s.key_rejected);
  /* 403 again, then a new URL/key in the table resets it */
  fail_on(&f, a, QCC_OUT_HTTP_STATUS, 403, 3602 * S);
  c.profs[0].eps[0].url = "https://a-new.example.com";
  rfix_swap(&f, &c, 3603 * S);
  a = rfix_idx(&f, "a");
  qcc_router_snapshot(f.r, a, 3603 * S, &s);
  cr_assert_not(s.key_rejected);
  cr_assert(s.available);
  rfix_done(&f);
}

Test(router, rest_after_429_honours_retry_after) {
  struct rfix_cfg c = groups();
  c.profs[0].n = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  struct qcc_pick p = rfix_pick(&f, NULL, 0);
  qcc_router_begin(f.r, &p, 0);
  struct qcc_outcome o = {.kind = QCC_OUT_HTTP_STATUS, .http_status = 429, .retry_after_s = 7};
  qcc_router_end(f.r, &p, &o, 1000);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 1000, &s);
  cr_assert_eq(s.rest_until, 8000);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED);
  cr_assert_eq(s.health, QCC_HEALTH_HEALTHY);
  cr_assert_not_null(strstr(last_event(&f, QCC_EV_REST).reason, "7 s"));
  cr_assert_str_eq(pick_id(&f, 7999), "c", "resting: traffic spills");
  cr_assert_str_eq(pick_id(&f, 8000), "a");
  /* capped at 300 s; the reset header counts too */
  o.retry_after_s = 0;
  o.reset_s = 100000;
  qcc_router_begin(f.r, &p, 9000);
  qcc_router_end(f.r, &p, &o, 9000);
  qcc_router_snapshot(f.r, a, 9000, &s);
  cr_assert_eq(s.rest_until, 9000 + 300 * S);
  /* spend limit: an hour */
  o.spend_exhausted = true;
  qcc_router_begin(f.r, &p, 10000);
  qcc_router_end(f.r, &p, &o, 10000);
  qcc_router_snapshot(f.r, a, 10000, &s);
  cr_assert_eq(s.rest_until, 10000 + 3600 * S);
  rfix_done(&f);
}

Test(router, when_all_rest_the_queue_gets_a_time) {
  struct rfix_cfg c = groups();
  c.n = 1;
  c.profs[0].n = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_pick p = rfix_pick(&f, NULL, 0);
  qcc_router_begin(f.r, &p, 0);
  struct qcc_outcome o = {.kind = QCC_OUT_HTTP_STATUS, .http_status = 429, .retry_after_s = 12};
  qcc_router_end(f.r, &p, &o, 0);
  /* (issue 11: without no_last_resort the resting endpoint is now probed
   * instead, see rests_are_preferences_*) */
  struct qcc_pick_req req = {.no_last_resort = true};
  cr_assert_eq(qcc_router_pick(f.r, &req, 5, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_LIMITED);
  cr_assert_eq(p.retry_at, 12 * S);
  cr_assert_eq(qcc_router_next_ready(f.r, 5), 12 * S);
  rfix_done(&f);
}

Test(router, last_endpoint_is_never_ejected) {
  struct rfix_cfg c = groups();
  c.n = 1;
  c.profs[0].n = 2;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a"), b = rfix_idx(&f, "b");
  fail_on(&f, b, QCC_OUT_CONNECT_ERROR, 0, 0);
  fail_on(&f, b, QCC_OUT_CONNECT_ERROR, 0, 0);
  fail_on(&f, a, QCC_OUT_CONNECT_ERROR, 0, 5);
  fail_on(&f, a, QCC_OUT_CONNECT_ERROR, 0, 5);
  struct qcc_pick p = rfix_pick(&f, NULL, 10);
  cr_assert(p.last_resort);
  cr_assert_eq(p.endpoint, b, "b failed longest ago");
  /* the caller may prefer to wait */
  struct qcc_pick_req req = {.no_last_resort = true};
  cr_assert_eq(qcc_router_pick(f.r, &req, 10, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_ALL_OUT);
  cr_assert_eq(p.retry_at, 30 * S);
  /* operator-disabled endpoints are not last-resort material */
  struct qcc_err err = {0};
  qcc_router_disable(f.r, a, "off", 11, &err);
  qcc_router_disable(f.r, b, "off", 11, &err);
  cr_assert_eq(qcc_router_pick(f.r, NULL, 12, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_NO_ENDPOINT);
  rfix_done(&f);
}

Test(router, operator_disable_is_never_undone_automatically) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_disable(f.r, a, "key rotation", 0, &err), 0);
  cr_assert_eq(qcc_router_disable(f.r, 99, "x", 0, &err), -1);
  struct qcc_route_event ev = last_event(&f, QCC_EV_DISABLE);
  cr_assert_str_eq(ev.reason, "key rotation");
  qcc_router_health_result(f.r, a, true, 10, NULL, 1);
  qcc_router_health_result(f.r, a, true, 10, NULL, 2);
  /* even a URL change keeps it disabled */
  c.profs[0].eps[0].url = "https://elsewhere.example.com";
  rfix_swap(&f, &c, 3);
  a = rfix_idx(&f, "a");
  for (uint64_t t = 0; t < 24 * 3600 * S; t += 3600 * S) cr_assert_str_eq(pick_id(&f, t), "b");
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 5, &s);
  cr_assert(s.operator_disabled);
  cr_assert_str_eq(s.disabled_reason, "key rotation");
  cr_assert_eq(qcc_router_enable(f.r, a, NULL, 6, &err), 0);
  unsigned to_a = 0;
  for (int i = 0; i < 10; i++) to_a += rfix_ok(&f, NULL, 7) == a;
  cr_assert_eq(to_a, 5);
  rfix_done(&f);
}

Test(router, attach_keeps_unchanged_state_and_resets_changed) {
  struct rfix_cfg c = groups();
  c.profs[0].n = 3;
  c.profs[0].eps[2] = (struct rfix_ep){.id = "gone"};
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a"), b = rfix_idx(&f, "b");
  fail_on(&f, a, QCC_OUT_CONNECT_ERROR, 0, 0);
  fail_on(&f, a, QCC_OUT_CONNECT_ERROR, 0, 0);
  fail_on(&f, b, QCC_OUT_CONNECT_ERROR, 0, 0);
  fail_on(&f, b, QCC_OUT_CONNECT_ERROR, 0, 0);
  for (int i = 0; i < 5; i++) fail_on(&f, rfix_idx(&f, "c"), QCC_OUT_OK, 0, 0);
  /* requests in flight across the swap */
  uint32_t c_old = rfix_idx(&f, "c");
  struct qcc_pick on_c = {.result = QCC_PICK_OK, .endpoint = c_old,
                          .stable_id = qcc_table_endpoint(f.t, c_old)->stable_id,
                          .epoch = qcc_router_epoch(f.r)};
  qcc_router_begin(f.r, &on_c, 1);
  struct qcc_pick on_b = {.result = QCC_PICK_OK, .endpoint = b,
                          .stable_id = qcc_table_endpoint(f.t, b)->stable_id,
                          .epoch = qcc_router_epoch(f.r)};
  qcc_router_begin(f.r, &on_b, 1);
  uint32_t epoch = qcc_router_epoch(f.r);

  /* new table: "gone" removed, b's key reference changed, a new endpoint
   * first in the profile (so indexes move) */
  struct rfix_cfg n = c;
  n.profs[0].n = 3;
  n.profs[0].eps[0] = (struct rfix_ep){.id = "new"};
  n.profs[0].eps[1] = c.profs[0].eps[0];
  n.profs[0].eps[2] = c.profs[0].eps[1];
  n.profs[0].eps[2].url = "https://b.other.example.com";
  rfix_swap(&f, &n, 2);
  cr_assert_gt(qcc_router_epoch(f.r), epoch);
  cr_assert_eq(qcc_router_endpoint_count(f.r), 5);
  struct qcc_route_snapshot s;
  a = rfix_idx(&f, "a");
  b = rfix_idx(&f, "b");
  uint32_t cc = rfix_idx(&f, "c");
  cr_assert_eq(qcc_router_snapshot(f.r, a, 2, &s), 0);
  cr_assert_str_eq(s.id, "a");
  cr_assert_eq(s.breaker, QCC_BREAKER_OPEN, "unchanged a keeps its open breaker");
  cr_assert_eq(s.total_requests, 2);
  qcc_router_snapshot(f.r, b, 2, &s);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED, "changed b starts over");
  cr_assert_eq(s.total_requests, 0);
  cr_assert_eq(s.inflight, 0);
  struct qcc_route_event ev = last_event(&f, QCC_EV_RESET);
  cr_assert_str_eq(ev.endpoint, "b");
  qcc_router_snapshot(f.r, cc, 2, &s);
  cr_assert_eq(s.total_requests, 5);
  cr_assert_eq(s.inflight, 1);
  /* outcomes of old picks: c's lands (by stable id), b's is stale */
  rfix_finish(&f, &on_c, QCC_OUT_OK, 0, 3);
  qcc_router_snapshot(f.r, cc, 3, &s);
  cr_assert_eq(s.inflight, 0);
  cr_assert_eq(s.total_requests, 6);
  rfix_finish(&f, &on_b, QCC_OUT_CONNECT_ERROR, 0, 3);
  qcc_router_snapshot(f.r, b, 3, &s);
  cr_assert_eq(s.total_requests, 0, "an outcome for the old URL does not count");
  rfix_done(&f);
}

Test(router, rate_limit_caps_requests_per_minute) {
  struct rfix_cfg c = groups();
  c.n = 1;
  c.profs[0].n = 1;
  c.profs[0].eps[0].rate_limit = 60;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  for (int i = 0; i < 60; i++) rfix_ok(&f, NULL, 0);
  struct qcc_pick p;
  cr_assert_eq(qcc_router_pick(f.r, NULL, 0, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_LIMITED);
  cr_assert_eq(p.retry_at, 1000, "one request per second refills");
  cr_assert_eq(qcc_router_pick(f.r, NULL, 999, &p), -1);
  rfix_ok(&f, NULL, 1000);
  cr_assert_eq(qcc_router_pick(f.r, NULL, 1000, &p), -1);
  /* over a long run: exactly the rate */
  unsigned served = 0;
  for (uint64_t t = 1000; t <= 1000 + 600 * S; t += 100) {
    if (qcc_router_pick(f.r, NULL, t, &p) != 0) continue;
    qcc_router_begin(f.r, &p, t);
    rfix_finish(&f, &p, QCC_OUT_OK, 0, t);
    served++;
  }
  cr_assert_eq(served, 600, "served %u", served);
  rfix_done(&f);
}

Test(router, concurrency_cap_spills_then_limits) {
  struct rfix_cfg c = groups();
  c.profs[0].n = 1;
  c.profs[0].eps[0].max_conc = 2;
  c.profs[1].eps[0].max_conc = 1;
  c.fallback_enabled = false;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  struct qcc_pick p[3];
  for (int i = 0; i < 3; i++) {
    p[i] = rfix_pick(&f, NULL, 0);
    qcc_router_begin(f.r, &p[i], 0);
  }
  cr_assert_str_eq(rfix_id(&f, p[0].endpoint), "a");
  cr_assert_str_eq(rfix_id(&f, p[1].endpoint), "a");
  cr_assert_str_eq(rfix_id(&f, p[2].endpoint), "c");
  cr_assert(p[2].spilled);
  struct qcc_pick none;
  cr_assert_eq(qcc_router_pick(f.r, NULL, 0, &none), -1);
  cr_assert_eq(none.result, QCC_PICK_LIMITED);
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "p", "a full profile is not a failed one");
  rfix_finish(&f, &p[0], QCC_OUT_OK, 0, 1);
  cr_assert_str_eq(pick_id(&f, 2), "a");
  rfix_done(&f);
}

static void collect(void *ctx, uint32_t idx) {
  uint32_t *list = ctx;
  list[++list[0]] = idx;
}

Test(router, health_checks_due_open_breakers_first) {
  struct rfix_cfg c = groups();
  c.health_enabled = true;
  c.check_interval_ms = 10 * S;
  c.health_timeout_ms = 2 * S;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t cc = rfix_idx(&f, "c");
  fail_on(&f, cc, QCC_OUT_CONNECT_ERROR, 0, 0);
  fail_on(&f, cc, QCC_OUT_CONNECT_ERROR, 0, 0);
  uint32_t list[16] = {0};
  cr_assert_eq(qcc_router_health_due(f.r, 0, collect, list), 4);
  cr_assert_eq(list[1], cc, "open breaker first");
  list[0] = 0;
  cr_assert_eq(qcc_router_health_due(f.r, 1, collect, list), 0, "scheduled: not due again");
  /* results: the next check is an interval after the result */
  for (uint32_t i = 0; i < 4; i++)
    qcc_router_health_result(f.r, i, i != cc, 50, i == cc ? "refused" : NULL, 1 * S);
  cr_assert_eq(qcc_router_health_due(f.r, 10 * S, collect, list), 0);
  cr_assert_eq(qcc_router_health_due(f.r, 11 * S, collect, list), 4);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, cc, 11 * S, &s);
  cr_assert_eq(s.health, QCC_HEALTH_UNHEALTHY);
  cr_assert_eq(s.last_check, 1 * S);
  cr_assert_not_null(strstr(s.last_error, "refused"));
  cr_assert_str_eq(last_event(&f, QCC_EV_HEALTH).to, "unhealthy");
  rfix_done(&f);
}

Test(router, health_checks_off_means_none_due) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  cr_assert_eq(qcc_router_health_due(f.r, 0, collect, (uint32_t[8]){0}), 0);
  rfix_done(&f);
}

static bool has_key(void *ctx, uint32_t idx) { return idx == *(uint32_t *)ctx; }

Test(router, endpoints_without_a_key_are_skipped) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t only = rfix_idx(&f, "b");
  struct qcc_pick_req req = {.has_key = has_key, .has_key_ctx = &only};
  for (int i = 0; i < 10; i++) cr_assert_eq(rfix_ok(&f, &req, 0), only);
  rfix_done(&f);
}

static unsigned cb_count;
static char cb_last[64];
static void on_ev(void *ctx, const struct qcc_route_event *ev) {
  (void)ctx;
  cb_count++;
  snprintf(cb_last, sizeof cb_last, "%s", qcc_route_event_name(ev->kind));
}

Test(router, events_reach_the_callback_and_the_ring_keeps_the_last) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  qcc_router_on_event(f.r, on_ev, NULL);
  struct qcc_err err = {0};
  for (int i = 0; i < 300; i++) {
    qcc_router_disable(f.r, 0, "x", (uint64_t)i, &err);
    qcc_router_enable(f.r, 0, NULL, (uint64_t)i, &err);
  }
  cr_assert_eq(cb_count, 600);
  cr_assert_str_eq(cb_last, "enable");
  struct qcc_route_event ev[QCC_ROUTE_EVENT_RING + 10];
  size_t n = qcc_router_events(f.r, ev, QCC_ROUTE_EVENT_RING + 10);
  cr_assert_eq(n, QCC_ROUTE_EVENT_RING);
  cr_assert_eq(ev[n - 1].time_ms, 299);
  cr_assert_eq(ev[0].time_ms, 300 - QCC_ROUTE_EVENT_RING / 2);
  cr_assert_eq(ev[0].kind, QCC_EV_DISABLE);
  rfix_done(&f);
}

Test(router, snapshot_has_the_health_model) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  struct qcc_pick p = {.result = QCC_PICK_OK, .endpoint = a,
                       .stable_id = qcc_table_endpoint(f.t, a)->stable_id,
                       .epoch = qcc_router_epoch(f.r)};
  for (int i = 0; i < 9; i++) {
    qcc_router_begin(f.r, &p, (uint64_t)i);
    struct qcc_outcome o = {.kind = QCC_OUT_OK, .latency_ms = 900, .ttfb_ms = 300};
    qcc_router_end(f.r, &p, &o, (uint64_t)i);
  }
  qcc_router_begin(f.r, &p, 100);
  struct qcc_outcome bad = {.kind = QCC_OUT_HTTP_STATUS, .http_status = 529, .detail = "overloaded"};
  qcc_router_end(f.r, &p, &bad, 100);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 200, &s);
  cr_assert_eq(s.total_requests, 10);
  cr_assert_eq(s.failed_requests, 1);
  cr_assert_float_eq(s.success_rate, 90.0, 0.001);
  cr_assert_float_eq(s.avg_ms, 300.0, 0.001, "ttfb is the latency that counts");
  cr_assert_eq(s.last_success, 8);
  cr_assert_eq(s.last_failure, 100);
  cr_assert_eq(s.consecutive_failures, 1);
  cr_assert_str_eq(s.last_error, "HTTP 529: overloaded");
  cr_assert_str_eq(s.profile, "p");
  cr_assert(s.score > 50 && s.score < 100, "score %u", s.score);
  rfix_done(&f);
}

Test(router, client_errors_do_not_charge_but_broken_streams_do) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  for (int i = 0; i < 10; i++) fail_on(&f, a, QCC_OUT_HTTP_STATUS, 400, (uint64_t)i);
  for (int i = 0; i < 10; i++) fail_on(&f, a, QCC_OUT_CANCELLED, 0, (uint64_t)i);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 20, &s);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED);
  cr_assert_eq(s.failed_requests, 0);
  cr_assert_eq(s.total_requests, 10, "cancelled requests are not counted");
  cr_assert_eq(s.inflight, 0);
  fail_on(&f, a, QCC_OUT_BROKEN_STREAM, 0, 30);
  fail_on(&f, a, QCC_OUT_BROKEN_STREAM, 0, 31);
  qcc_router_snapshot(f.r, a, 32, &s);
  cr_assert_eq(s.breaker, QCC_BREAKER_OPEN);
  cr_assert_eq(s.failed_requests, 2);
  cr_assert_str_eq(s.last_error, "broken stream");
  rfix_done(&f);
}

Test(router, empty_router_picks_nothing) {
  struct qcc_router *r = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_new(NULL, &r, &err), 0);
  struct qcc_pick p;
  cr_assert_eq(qcc_router_pick(r, NULL, 0, &p), -1);
  cr_assert_eq(p.result, QCC_PICK_NO_ENDPOINT);
  struct qcc_route_status st;
  qcc_router_status(r, &st);
  cr_assert_eq(st.active_profile, -1);
  cr_assert_eq(qcc_router_pin(r, "p", "x", 0, &err), -1);
  qcc_router_free(&r);
  cr_assert_null(r);
  qcc_router_free(&r);
}

/* One request the way the exchange runs it: pick, send, retry on another
 * endpoint while the outcome is retryable. UP says which endpoints answer.
 * Returns the endpoint that served it, or -1; *ATTEMPTS counts tries. */
static int64_t sim_request(struct rfix *f, const bool *up, uint64_t now, unsigned *attempts) {
  struct qcc_pick_req req = {0};
  *attempts = 0;
  while (req.tried_count < QCC_PICK_TRIED_MAX) {
    struct qcc_pick p;
    if (qcc_router_pick(f->r, &req, now, &p) != 0) return -1;
    qcc_router_begin(f->r, &p, now);
    ++*attempts;
    struct qcc_outcome o = {.kind = up[p.endpoint] ? QCC_OUT_OK : QCC_OUT_CONNECT_ERROR,
                            .latency_ms = 50};
    qcc_router_end(f->r, &p, &o, now);
    if (o.kind == QCC_OUT_OK) return p.endpoint;
    if (!qcc_router_retryable(&o)) return -1;
    req.tried[req.tried_count++] = p.endpoint;
  }
  return -1;
}

Test(router, scenario_primary_dies_and_comes_back) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a"), b = rfix_idx(&f, "b"), cc = rfix_idx(&f, "c");
  bool up[4] = {true, true, true, true};
  uint64_t first_back = 0;
  unsigned extra_after_switch = 0;
  for (uint64_t t = 0; t < 600 * S; t += 100) {
    bool primary_up = t < 60 * S || t >= 200 * S;
    up[a] = up[b] = primary_up;
    unsigned tries;
    int64_t got = sim_request(&f, up, t, &tries);
    cr_assert_geq(got, 0, "a client saw a failure at %llu ms", (unsigned long long)t);
    if (!primary_up) {
      cr_assert_eq(got, cc);
      /* after the switch (a few requests in), one try each, except the
       * occasional breaker probe of the dead primary */
      if (t > 61 * S && tries > 1) extra_after_switch++;
    }
    if (t >= 200 * S && got != cc && first_back == 0) first_back = t;
  }
  cr_assert_leq(extra_after_switch, 10, "%u requests needed a retry", extra_after_switch);
  /* back only once a probe succeeded and a whole cooldown (60 s) passed */
  cr_assert_geq(first_back, 260 * S, "returned at %llu", (unsigned long long)first_back);
  cr_assert_leq(first_back, 200 * S + 120 * S + 60 * S + 1000, "returned at %llu",
                (unsigned long long)first_back);
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "p");
  cr_assert_eq(count_events(&f, QCC_EV_SWITCH), 2, "down once, up once");
  rfix_done(&f);
}

Test(router, a_rung_not_watched_holds_no_stale_health) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t cc = rfix_idx(&f, "c");
  /* p out -> s; p back -> p again after the cooldown: s was "up" all along */
  open_primary(&f, 0);
  cr_assert_str_eq(pick_id(&f, 1), "c");
  heal_a(&f, 30 * S);
  for (uint64_t t = 30 * S; t <= 91 * S; t += S) (void)rfix_ok(&f, NULL, t);
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "p");
  /* much later p and s die together: fallback */
  uint64_t t0 = 1000 * S;
  for (int i = 0; i < 2; i++) {
    fail_on(&f, rfix_idx(&f, "a"), QCC_OUT_CONNECT_ERROR, 0, t0);
    fail_on(&f, rfix_idx(&f, "b"), QCC_OUT_CONNECT_ERROR, 0, t0);
    fail_on(&f, cc, QCC_OUT_CONNECT_ERROR, 0, t0);
  }
  cr_assert_str_eq(pick_id(&f, t0 + 1), "d");
  /* c's probe succeeds at +30 s: s must still wait a whole cooldown */
  uint64_t t = t0 + 30 * S;
  bool probed_c = false;
  for (int i = 0; i < 4; i++) {
    struct qcc_pick p = rfix_pick(&f, NULL, t);
    qcc_router_begin(f.r, &p, t);
    bool is_c = p.endpoint == cc;
    probed_c |= is_c;
    rfix_finish(&f, &p, is_c ? QCC_OUT_OK : QCC_OUT_CONNECT_ERROR, 0, t);
  }
  cr_assert(probed_c);
  cr_assert_str_eq(pick_id(&f, t + 1), "d", "s came back too early");
  cr_assert_str_eq(pick_id(&f, t + 59 * S), "d");
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "f");
  (void)pick_id(&f, t + 60 * S); /* may be a probe of p, whose breakers reopen now */
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "s");
  rfix_done(&f);
}

Test(router, removing_the_active_profile_switches_with_an_event) {
  struct rfix_cfg c = groups();
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  open_primary(&f, 0);
  cr_assert_str_eq(pick_id(&f, 1), "c");
  /* s is dropped from the table: back to p (the first rung) */
  struct rfix_cfg n = c;
  n.profs[1] = c.profs[2];
  n.n = 2;
  rfix_swap(&f, &n, 2);
  struct qcc_route_status st;
  qcc_router_status(f.r, &st);
  cr_assert_str_eq(st.active_profile_name, "p");
  struct qcc_route_event ev = last_event(&f, QCC_EV_SWITCH);
  cr_assert_str_eq(ev.from, "s");
  cr_assert_str_eq(ev.to, "p");
  /* p is still all open (state kept): the next pick fails over to f */
  cr_assert_str_eq(pick_id(&f, 3), "d");
  rfix_done(&f);
}

/* Issue 16: an endpoint that passes an active check is healthy at once (not
 * degraded for minutes), its breaker closed, and its last error still there
 * (status shows it with its age). */
Test(router, passed_check_is_healthy_at_once_keeping_last_error) {
  struct rfix_cfg c = groups();
  c.health_enabled = true;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  for (int i = 0; i < 5; i++) fail_on(&f, a, QCC_OUT_CONNECT_ERROR, 0, (uint64_t)i);
  qcc_router_health_result(f.r, a, false, 0, "connection refused", 10);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 11, &s);
  cr_assert_eq(s.health, QCC_HEALTH_UNHEALTHY);
  cr_assert_eq(s.breaker, QCC_BREAKER_OPEN);
  qcc_router_health_result(f.r, a, true, 80, NULL, 20 * S);
  qcc_router_snapshot(f.r, a, 20 * S, &s);
  cr_assert_eq(s.health, QCC_HEALTH_HEALTHY, "got %s", qcc_health_status_name(s.health));
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED);
  cr_assert_not_null(strstr(s.last_error, "connection refused"), "%s", s.last_error);
  cr_assert_eq(s.last_failure, 10);
  /* real successes afterwards do not read as flaky and pull it back down */
  for (int i = 0; i < 10; i++) rfix_ok(&f, NULL, 21 * S + (uint64_t)i);
  qcc_router_snapshot(f.r, a, 22 * S, &s);
  cr_assert_eq(s.health, QCC_HEALTH_HEALTHY, "got %s", qcc_health_status_name(s.health));
  rfix_done(&f);
}

/* A spent budget (runtime/budgetgate.h): a rest with its reason, not a
 * failure, never probed even when nothing else could take a request, and
 * lifted (only) by a budget lift. */
Test(router, budget_rest_is_never_probed_and_lifts) {
  struct rfix_cfg c = groups();
  c.n = 1;
  c.profs[0].n = 2;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a"), b = rfix_idx(&f, "b");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_budget_rest(f.r, a, 50 * S, 1000, "daily budget spent until 00:00 +08",
                                      &err), 0);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 1000, &s);
  cr_assert_eq(s.rest_until, 50 * S);
  cr_assert(s.budget_spent);
  cr_assert_not(s.spend_exhausted);
  cr_assert_eq(s.breaker, QCC_BREAKER_CLOSED, "not a failure");
  cr_assert_eq(s.health, QCC_HEALTH_HEALTHY);
  cr_assert_str_eq(last_event(&f, QCC_EV_REST).reason, "daily budget spent until 00:00 +08");
  size_t rests = count_events(&f, QCC_EV_REST);
  /* the same rest again says nothing new */
  qcc_router_budget_rest(f.r, a, 50 * S, 1001, "daily budget spent until 00:00 +08", &err);
  cr_assert_eq(count_events(&f, QCC_EV_REST), rests);
  for (int i = 0; i < 5; i++) cr_assert_str_eq(pick_id(&f, 2000 + (uint64_t)i), "b");
  /* b out too: a 429 rest of b may be probed, the budget rest of a never */
  struct qcc_pick p = rfix_pick(&f, NULL, 3000);
  cr_assert_eq(p.endpoint, b);
  qcc_router_begin(f.r, &p, 3000);
  struct qcc_outcome o = {.kind = QCC_OUT_HTTP_STATUS, .http_status = 429, .retry_after_s = 20};
  qcc_router_end(f.r, &p, &o, 3000);
  for (int i = 0; i < 3; i++) {
    struct qcc_pick q;
    if (qcc_router_pick(f.r, NULL, 4000, &q) == 0) {
      cr_assert_eq(q.endpoint, b, "a budget rest is never a rest probe");
      qcc_router_begin(f.r, &q, 4000);
      qcc_router_end(f.r, &q, &o, 4000);
    }
  }
  /* at the period's end a serves again by the clock */
  cr_assert_str_eq(pick_id(&f, 50 * S), "a");
  /* a new rest, then a raised budget lifts it; other rests are left alone */
  qcc_router_budget_rest(f.r, a, 90 * S, 60 * S, "daily budget spent until 00:00 +08", &err);
  qcc_router_budget_rest(f.r, b, 0, 60 * S, "", &err); /* b rests for 429, not budget */
  qcc_router_snapshot(f.r, b, 60 * S, &s);
  cr_assert_eq(s.rest_until, 0, "b's 429 rest had ended by itself");
  qcc_router_budget_rest(f.r, a, 0, 61 * S, "", &err);
  qcc_router_snapshot(f.r, a, 61 * S, &s);
  cr_assert_eq(s.rest_until, 0);
  cr_assert_not(s.budget_spent);
  cr_assert_neq(qcc_router_budget_rest(f.r, 99, 1, 0, "", &err), 0);
  rfix_done(&f);
}

Test(router, budget_lift_leaves_a_429_rest_alone) {
  struct rfix_cfg c = groups();
  c.profs[0].n = 1;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t a = rfix_idx(&f, "a");
  struct qcc_pick p = rfix_pick(&f, NULL, 0);
  qcc_router_begin(f.r, &p, 0);
  struct qcc_outcome o = {.kind = QCC_OUT_HTTP_STATUS, .http_status = 429, .retry_after_s = 7};
  qcc_router_end(f.r, &p, &o, 1000);
  struct qcc_err err = {0};
  qcc_router_budget_rest(f.r, a, 0, 2000, "", &err);
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, a, 2000, &s);
  cr_assert_eq(s.rest_until, 8000);
  cr_assert_not(s.budget_spent);
  rfix_done(&f);
}
