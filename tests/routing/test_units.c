/* The pure pieces first: breaker and health model, on a fake clock. */
#include <criterion/criterion.h>

#include "runtime/balancer.h"
#include "runtime/breaker.h"
#include "runtime/health.h"

Test(breaker, opens_after_max_failures_in_a_row) {
  struct qcc_breaker b;
  qcc_breaker_init(&b, 3, 1000, 8000);
  cr_assert(qcc_breaker_allows(&b, 0));
  qcc_breaker_failure(&b, 10);
  qcc_breaker_failure(&b, 20);
  qcc_breaker_success(&b, 30); /* a success in between resets the count */
  qcc_breaker_failure(&b, 40);
  qcc_breaker_failure(&b, 50);
  cr_assert_eq(b.state, QCC_BREAKER_CLOSED);
  cr_assert_eq(qcc_breaker_failure(&b, 60), QCC_BREAKER_CLOSED);
  cr_assert_eq(b.state, QCC_BREAKER_OPEN);
  cr_assert_not(qcc_breaker_allows(&b, 61));
  cr_assert_eq(qcc_breaker_ready_at(&b, 61), 1060);
}

Test(breaker, single_half_open_probe_then_close) {
  struct qcc_breaker b;
  qcc_breaker_init(&b, 1, 1000, 8000);
  qcc_breaker_failure(&b, 0);
  cr_assert_not(qcc_breaker_allows(&b, 999));
  cr_assert(qcc_breaker_allows(&b, 1000));
  cr_assert(qcc_breaker_is_probe(&b, 1000));
  cr_assert_eq(qcc_breaker_begin(&b, 1000), QCC_BREAKER_OPEN);
  cr_assert_eq(b.state, QCC_BREAKER_HALF_OPEN);
  /* exactly one probe */
  cr_assert_not(qcc_breaker_allows(&b, 1001));
  cr_assert_eq(qcc_breaker_ready_at(&b, 1001), 0);
  cr_assert_eq(qcc_breaker_success(&b, 1200), QCC_BREAKER_HALF_OPEN);
  cr_assert_eq(b.state, QCC_BREAKER_CLOSED);
  cr_assert(qcc_breaker_allows(&b, 1201));
  cr_assert_eq(b.cooldown_ms, 1000);
}

Test(breaker, failed_probe_doubles_cooldown_up_to_cap) {
  struct qcc_breaker b;
  qcc_breaker_init(&b, 2, 1000, 5000);
  qcc_breaker_failure(&b, 0);
  qcc_breaker_failure(&b, 0);
  uint64_t t = 0;
  uint32_t expect[] = {2000, 4000, 5000, 5000};
  for (int i = 0; i < 4; i++) {
    t = b.open_until;
    qcc_breaker_begin(&b, t);
    cr_assert_eq(b.state, QCC_BREAKER_HALF_OPEN);
    qcc_breaker_failure(&b, t);
    cr_assert_eq(b.state, QCC_BREAKER_OPEN);
    cr_assert_eq(b.cooldown_ms, expect[i], "round %d: %u", i, b.cooldown_ms);
    cr_assert_eq(b.open_until, t + expect[i]);
  }
  /* success resets to the base cooldown */
  qcc_breaker_begin(&b, b.open_until);
  qcc_breaker_success(&b, b.open_until);
  qcc_breaker_failure(&b, 100000);
  qcc_breaker_failure(&b, 100000);
  cr_assert_eq(b.cooldown_ms, 1000);
}

Test(breaker, abandoned_probe_frees_the_slot) {
  struct qcc_breaker b;
  qcc_breaker_init(&b, 1, 10, 100);
  qcc_breaker_failure(&b, 0);
  qcc_breaker_begin(&b, 10);
  cr_assert_not(qcc_breaker_allows(&b, 11));
  qcc_breaker_abandon(&b);
  cr_assert(qcc_breaker_allows(&b, 11));
  cr_assert_str_eq(qcc_breaker_state_name(b.state), "half_open");
}

Test(breaker, late_success_does_not_close_an_open_breaker) {
  struct qcc_breaker b;
  qcc_breaker_init(&b, 1, 1000, 1000);
  qcc_breaker_failure(&b, 0);
  qcc_breaker_success(&b, 5);
  cr_assert_eq(b.state, QCC_BREAKER_OPEN);
}

Test(health, falls_to_unhealthy_and_rises_with_hysteresis) {
  struct qcc_health_params p;
  qcc_health_params_default(&p);
  struct qcc_health h;
  qcc_health_init(&h, 0);
  for (unsigned i = 0; i < p.fall - 1; i++) qcc_health_failure(&h, &p, "connect refused", i);
  cr_assert_neq(h.status, QCC_HEALTH_UNHEALTHY);
  qcc_health_failure(&h, &p, "connect refused", 10);
  cr_assert_eq(h.status, QCC_HEALTH_UNHEALTHY);
  cr_assert_str_eq(h.last_error, "connect refused");
  cr_assert_eq(h.consecutive_failures, p.fall);
  cr_assert_leq(qcc_health_score(&h, &p), 20);
  qcc_health_success(&h, &p, 100, 20);
  cr_assert_eq(h.status, QCC_HEALTH_UNHEALTHY, "one success is not enough (rise)");
  qcc_health_success(&h, &p, 100, 30);
  cr_assert_neq(h.status, QCC_HEALTH_UNHEALTHY);
  cr_assert_eq(h.last_success, 30);
  cr_assert_eq(h.total_requests, p.fall + 2);
  cr_assert_eq(h.failed_requests, p.fall);
}

Test(health, slow_endpoint_becomes_degraded_then_recovers) {
  struct qcc_health_params p;
  qcc_health_params_default(&p);
  struct qcc_health h;
  qcc_health_init(&h, 0);
  for (int i = 0; i < 20; i++) qcc_health_success(&h, &p, 300, (uint64_t)i);
  cr_assert_eq(h.status, QCC_HEALTH_HEALTHY);
  unsigned fast = qcc_health_score(&h, &p);
  int n = 0;
  while (h.status == QCC_HEALTH_HEALTHY && n < 50) qcc_health_success(&h, &p, 5000, 100 + n++);
  cr_assert_eq(h.status, QCC_HEALTH_DEGRADED, "5 s vs a 300 ms baseline is slow");
  cr_assert_lt(n, 20);
  cr_assert_lt(qcc_health_score(&h, &p), fast);
  n = 0;
  while (h.status != QCC_HEALTH_HEALTHY && n < 100) qcc_health_success(&h, &p, 300, 1000 + n++);
  cr_assert_eq(h.status, QCC_HEALTH_HEALTHY);
  cr_assert_gt(n, 1);
}

Test(health, absolute_threshold_and_intermittent_failures_degrade) {
  struct qcc_health_params p;
  qcc_health_params_default(&p);
  struct qcc_health h;
  qcc_health_init(&h, 0);
  for (int i = 0; i < 5; i++) qcc_health_success(&h, &p, p.slow_ms * 2, (uint64_t)i);
  cr_assert_eq(h.status, QCC_HEALTH_DEGRADED);

  qcc_health_init(&h, 0);
  for (int i = 0; i < 20; i++) {
    qcc_health_failure(&h, &p, "HTTP 529", (uint64_t)(2 * i));
    qcc_health_success(&h, &p, 200, (uint64_t)(2 * i + 1));
  }
  cr_assert_eq(h.status, QCC_HEALTH_DEGRADED, "alternating failures are intermittent");
  cr_assert_float_eq(qcc_health_success_rate(&h), 50.0, 0.01);
  cr_assert_float_eq(qcc_health_avg_ms(&h), 200.0, 0.01);
}

Test(health, active_check_failure_is_conclusive) {
  struct qcc_health_params p;
  qcc_health_params_default(&p);
  struct qcc_health h;
  qcc_health_init(&h, 0);
  cr_assert_eq(qcc_health_check_failure(&h, &p, "timeout", 5), QCC_HEALTH_HEALTHY);
  cr_assert_eq(h.status, QCC_HEALTH_UNHEALTHY);
  cr_assert_eq(h.status_since, 5);
}

Test(balancer, empty_sets_return_minus_one) {
  uint32_t cur = 0;
  cr_assert_eq(qcc_lb_weighted(NULL, 0), -1);
  cr_assert_eq(qcc_lb_round_robin(NULL, 0, &cur), -1);
  cr_assert_eq(qcc_lb_least_connections(NULL, 0), -1);
  cr_assert_eq(qcc_lb_failover(NULL, 0), -1);
  cr_assert_eq(qcc_lb_sticky(NULL, 0, "k", 1), -1);
}

Test(balancer, smooth_wrr_5_1_1_sequence) {
  int64_t cur[3] = {0};
  struct qcc_lb_slot s[3] = {{.pos = 0, .weight = 5, .current = &cur[0]},
                             {.pos = 1, .weight = 1, .current = &cur[1]},
                             {.pos = 2, .weight = 1, .current = &cur[2]}};
  char seq[15] = {0};
  for (int i = 0; i < 14; i++) seq[i] = (char)('a' + qcc_lb_weighted(s, 3));
  /* nginx's documented smooth order for 5:1:1 */
  cr_assert_str_eq(seq, "aabacaaaabacaa");
}

Test(health, passed_check_is_healthy_at_once_or_degraded_when_slow) {
  struct qcc_health_params p;
  qcc_health_params_default(&p);
  struct qcc_health h;
  qcc_health_init(&h, 0);
  for (int i = 0; i < 6; i++) qcc_health_failure(&h, &p, "HTTP 503", (uint64_t)i);
  cr_assert_eq(h.status, QCC_HEALTH_UNHEALTHY);
  /* unhealthy: `rise` (2) passes in a row, then healthy, not degraded */
  cr_assert_eq(qcc_health_check_pass(&h, &p, 100, false, 9), QCC_HEALTH_UNHEALTHY);
  cr_assert_eq(h.status, QCC_HEALTH_UNHEALTHY, "one pass is not enough: no flapping back");
  cr_assert_eq(qcc_health_check_pass(&h, &p, 100, false, 10), QCC_HEALTH_UNHEALTHY);
  cr_assert_eq(h.status, QCC_HEALTH_HEALTHY);
  cr_assert_eq(h.status_since, 10);
  cr_assert_str_eq(h.last_error, "HTTP 503");
  cr_assert_eq(h.last_failure, 5);
  /* a degraded (flaky) endpoint passing a check is healthy too */
  for (int i = 0; i < 20 && h.status != QCC_HEALTH_DEGRADED; i++) {
    qcc_health_failure(&h, &p, "HTTP 500", 20);
    qcc_health_failure(&h, &p, "HTTP 500", 20);
    qcc_health_success(&h, &p, 100, 21);
  }
  cr_assert_eq(h.status, QCC_HEALTH_DEGRADED);
  cr_assert_eq(qcc_health_check_pass(&h, &p, 100, false, 22), QCC_HEALTH_DEGRADED);
  cr_assert_eq(h.status, QCC_HEALTH_HEALTHY);
  /* ... unless the check itself is slow: degraded */
  qcc_health_check_pass(&h, &p, 60000, false, 30);
  cr_assert_eq(h.status, QCC_HEALTH_DEGRADED);
  /* an open breaker's endpoint (LIFT) is healthy on its first pass */
  for (int i = 0; i < 6; i++) qcc_health_failure(&h, &p, "HTTP 503", 40);
  cr_assert_eq(h.status, QCC_HEALTH_UNHEALTHY);
  qcc_health_check_pass(&h, &p, 100, true, 41);
  cr_assert_eq(h.status, QCC_HEALTH_HEALTHY);
}
