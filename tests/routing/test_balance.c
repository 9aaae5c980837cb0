/* Strategies through the router: distributions over 10,000 picks, smooth
 * WRR spacing, failover order, least connections, sticky sessions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "rfix.h"

#define PICKS 10000

static struct rfix_cfg one_profile(enum qcc_lb_strategy lb, const uint32_t *w, size_t n) {
  struct rfix_cfg c = {.auto_switch = true, .auto_recovery = true, .cooldown_ms = 60000, .n = 1};
  c.profs[0] = (struct rfix_prof){.name = "main", .group = QCC_GROUP_PRIMARY, .lb = lb, .n = n};
  static const char *ids[] = {"a", "b", "c", "d", "e", "f"};
  for (size_t i = 0; i < n; i++) c.profs[0].eps[i] = (struct rfix_ep){.id = ids[i], .weight = w[i]};
  return c;
}

/* Every endpoint's share of PICKS picks is within 2 points of its weight's. */
static void assert_shares(struct rfix *f, const uint32_t *w, size_t n, unsigned *count) {
  uint32_t total = 0;
  for (size_t i = 0; i < n; i++) total += w[i];
  for (size_t i = 0; i < n; i++) {
    double got = 100.0 * count[i] / PICKS, want = 100.0 * w[i] / total;
    cr_assert(got > want - 2.0 && got < want + 2.0, "%s: %.2f%% of picks, weight says %.2f%%",
              rfix_id(f, (uint32_t)i), got, want);
  }
}

static void distribution(enum qcc_lb_strategy lb, const uint32_t *w, size_t n) {
  struct rfix_cfg c = one_profile(lb, w, n);
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  unsigned count[8] = {0};
  for (int i = 0; i < PICKS; i++) count[rfix_ok(&f, NULL, (uint64_t)i)]++;
  assert_shares(&f, w, n, count);
  rfix_done(&f);
}

Test(balance, weighted_matches_weights) {
  uint32_t w[] = {5, 3, 2};
  distribution(QCC_LB_WEIGHTED, w, 3);
}

Test(balance, round_robin_is_even_and_in_order) {
  uint32_t w[] = {5, 1, 1, 1};
  uint32_t even[] = {1, 1, 1, 1};
  struct rfix_cfg c = one_profile(QCC_LB_ROUND_ROBIN, w, 4);
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  unsigned count[8] = {0};
  uint32_t prev = rfix_ok(&f, NULL, 0);
  count[prev]++;
  for (int i = 1; i < PICKS; i++) {
    uint32_t k = rfix_ok(&f, NULL, (uint64_t)i);
    cr_assert_eq(k, (prev + 1) % 4, "round robin goes in order");
    count[k]++;
    prev = k;
  }
  assert_shares(&f, even, 4, count);
  rfix_done(&f);
}

Test(balance, least_connections_idle_shares_by_weight) {
  uint32_t w[] = {1, 2, 7};
  distribution(QCC_LB_LEAST_CONNECTIONS, w, 3);
}

Test(balance, least_connections_prefers_fewest_in_flight_per_weight) {
  uint32_t w[] = {1, 2};
  struct rfix_cfg c = one_profile(QCC_LB_LEAST_CONNECTIONS, w, 2);
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  /* Keep every request open: in-flight should settle at 1:2. */
  struct qcc_pick open[30];
  unsigned inflight[2] = {0};
  for (int i = 0; i < 30; i++) {
    open[i] = rfix_pick(&f, NULL, 0);
    qcc_router_begin(f.r, &open[i], 0);
    inflight[open[i].endpoint]++;
    cr_assert_leq(inflight[0] * 2, inflight[1] + 2, "a (w1) %u vs b (w2) %u", inflight[0],
                  inflight[1]);
  }
  cr_assert_eq(inflight[0], 10);
  cr_assert_eq(inflight[1], 20);
  /* Finish five on b: the next five go to b. */
  int done = 0;
  for (int i = 0; i < 30 && done < 5; i++) {
    if (open[i].endpoint != 1) continue;
    rfix_finish(&f, &open[i], QCC_OUT_OK, 0, 1);
    done++;
  }
  for (int i = 0; i < 5; i++) {
    struct qcc_pick p = rfix_pick(&f, NULL, 2);
    cr_assert_eq(p.endpoint, 1);
    qcc_router_begin(f.r, &p, 2);
  }
  struct qcc_route_snapshot s;
  cr_assert_eq(qcc_router_snapshot(f.r, 1, 2, &s), 0);
  cr_assert_eq(s.inflight, 20);
  rfix_done(&f);
}

Test(balance, smooth_wrr_5_1_1_never_clumps) {
  uint32_t w[] = {5, 1, 1};
  struct rfix_cfg c = one_profile(QCC_LB_WEIGHTED, w, 3);
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  uint32_t seq[700];
  for (int i = 0; i < 700; i++) seq[i] = rfix_ok(&f, NULL, (uint64_t)i);
  /* a's fair run between two others is ceil(5/2) = 3; one extra allowed. */
  int run = 0, longest = 0;
  for (int i = 0; i < 700; i++) {
    run = seq[i] == 0 ? run + 1 : 0;
    if (run > longest) longest = run;
    if (i > 0 && seq[i] != 0) cr_assert_neq(seq[i], seq[i - 1], "light endpoints never twice in a row");
  }
  cr_assert_leq(longest, 4, "a ran %d times in a row", longest);
  /* Every window of 7 holds exactly the weights. */
  for (int i = 0; i + 7 <= 700; i += 7) {
    unsigned n[3] = {0};
    for (int k = i; k < i + 7; k++) n[seq[k]]++;
    cr_assert(n[0] == 5 && n[1] == 1 && n[2] == 1, "window at %d: %u %u %u", i, n[0], n[1], n[2]);
  }
  rfix_done(&f);
}

Test(balance, failover_goes_in_priority_order) {
  struct rfix_cfg c = {.auto_switch = true, .n = 1};
  c.profs[0] = (struct rfix_prof){.name = "main", .group = QCC_GROUP_PRIMARY, .lb = QCC_LB_FAILOVER,
                                  .n = 4};
  c.profs[0].eps[0] = (struct rfix_ep){.id = "third", .priority = 3, .max_failures = 1};
  c.profs[0].eps[1] = (struct rfix_ep){.id = "first", .priority = 1, .weight = 1, .max_failures = 1};
  c.profs[0].eps[2] = (struct rfix_ep){.id = "second", .priority = 2, .max_failures = 1};
  c.profs[0].eps[3] = (struct rfix_ep){.id = "also-first", .priority = 1, .weight = 9, .max_failures = 1};
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  const char *order[] = {"also-first", "first", "second", "third"};
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < 10; i++) {
      struct qcc_pick p = rfix_pick(&f, NULL, 1);
      cr_assert_str_eq(rfix_id(&f, p.endpoint), order[k]);
      qcc_router_begin(f.r, &p, 1);
      rfix_finish(&f, &p, QCC_OUT_OK, 0, 1);
    }
    /* take it out: the next in order gets everything */
    struct qcc_pick p = rfix_pick(&f, NULL, 1);
    qcc_router_begin(f.r, &p, 1);
    rfix_finish(&f, &p, QCC_OUT_CONNECT_ERROR, 0, 1);
  }
  rfix_done(&f);
}

Test(balance, sticky_session_keeps_its_endpoint) {
  uint32_t w[] = {1, 1, 1, 1};
  struct rfix_cfg c = one_profile(QCC_LB_WEIGHTED, w, 4);
  c.profs[0].sticky = true;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  char key[64];
  uint32_t home[50];
  for (int s = 0; s < 50; s++) {
    snprintf(key, sizeof key, "session-%d", s);
    struct qcc_pick_req req = {.session_key = key};
    home[s] = rfix_ok(&f, &req, 0);
    for (int i = 0; i < 100; i++)
      cr_assert_eq(rfix_ok(&f, &req, (uint64_t)i), home[s], "session %d moved", s);
  }
  /* Take the home of session 0 out: only its sessions move. */
  uint32_t gone = home[0];
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_disable(f.r, gone, "test", 5, &err), 0);
  int moved = 0;
  for (int s = 0; s < 50; s++) {
    snprintf(key, sizeof key, "session-%d", s);
    struct qcc_pick_req req = {.session_key = key};
    uint32_t now_at = rfix_ok(&f, &req, 10);
    if (home[s] == gone) {
      cr_assert_neq(now_at, gone);
      moved++;
    } else {
      cr_assert_eq(now_at, home[s], "session %d moved although its endpoint is fine", s);
    }
  }
  cr_assert_gt(moved, 0);
  /* Back in: its sessions come home. */
  cr_assert_eq(qcc_router_enable(f.r, gone, NULL, 20, &err), 0);
  struct qcc_pick_req req0 = {.session_key = "session-0"};
  cr_assert_eq(rfix_ok(&f, &req0, 30), gone);
  rfix_done(&f);
}

Test(balance, sticky_spreads_sessions_by_weight) {
  uint32_t w[] = {6, 3, 1};
  struct rfix_cfg c = one_profile(QCC_LB_WEIGHTED, w, 3);
  c.profs[0].sticky = true;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  unsigned count[8] = {0};
  char key[64];
  for (int i = 0; i < PICKS; i++) {
    snprintf(key, sizeof key, "user-%d-session", i);
    struct qcc_pick_req req = {.session_key = key};
    count[rfix_ok(&f, &req, 0)]++;
  }
  assert_shares(&f, w, 3, count);
  rfix_done(&f);
}

Test(balance, no_session_key_falls_back_to_the_strategy) {
  uint32_t w[] = {3, 1};
  struct rfix_cfg c = one_profile(QCC_LB_WEIGHTED, w, 2);
  c.profs[0].sticky = true;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  unsigned count[2] = {0};
  for (int i = 0; i < 400; i++) count[rfix_ok(&f, NULL, 0)]++;
  cr_assert_eq(count[0], 300);
  cr_assert_eq(count[1], 100);
  rfix_done(&f);
}

Test(balance, health_aware_gives_degraded_a_quarter) {
  uint32_t w[] = {4, 4};
  struct rfix_cfg c = one_profile(QCC_LB_WEIGHTED, w, 2);
  c.profs[0].health_aware = true;
  struct rfix f;
  rfix_init(&f, &c, NULL, 0);
  /* b becomes slow (degraded) through real traffic */
  uint32_t b = rfix_idx(&f, "b");
  for (int i = 0; i < 20; i++) qcc_router_health_result(f.r, b, true, 200, NULL, (uint64_t)i);
  for (int i = 0; i < 20; i++) qcc_router_health_result(f.r, b, true, 20000, NULL, (uint64_t)(100 + i));
  struct qcc_route_snapshot s;
  qcc_router_snapshot(f.r, b, 200, &s);
  cr_assert_eq(s.health, QCC_HEALTH_DEGRADED);
  unsigned count[2] = {0};
  for (int i = 0; i < PICKS; i++) {
    /* ended without a verdict, so b stays degraded throughout */
    struct qcc_pick p = rfix_pick(&f, NULL, 1000);
    qcc_router_begin(f.r, &p, 1000);
    rfix_finish(&f, &p, QCC_OUT_CANCELLED, 0, 1000);
    count[p.endpoint]++;
  }
  uint32_t eff[] = {4, 1};
  assert_shares(&f, eff, 2, count);
  rfix_done(&f);
}
