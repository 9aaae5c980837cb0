/* The global in-flight limit and its capped wait list. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "runtime/limits.h"

static char req[64];
#define H(i) ((void *)&req[(i)])

static struct qcc_limits *mkl(uint32_t max, uint32_t waiting, uint32_t wait_ms) {
  struct qcc_limits_params p;
  qcc_limits_params_default(&p);
  p.max_in_flight = max;
  p.max_waiting = waiting;
  p.max_wait_ms = wait_ms;
  struct qcc_limits *l = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_limits_new(&p, &l, &err), 0, "%s", err.msg);
  return l;
}

Test(limits, unlimited_admits_everything) {
  struct qcc_limits *l = mkl(0, 4, 1000);
  for (int i = 0; i < 50; i++)
    cr_expect_eq(qcc_limits_admit(l, H(i), 1, 0, NULL), QCC_ADMIT_GO);
  struct qcc_limits_counters c;
  qcc_limits_counters(l, &c);
  cr_expect_eq(c.active, 50);
  cr_expect_eq(c.total, 50);
  cr_expect_eq(c.peak_active, 50);
  qcc_limits_free(&l);
  cr_expect_null(l);
}

Test(limits, limit_then_wait_then_reject) {
  struct qcc_limits *l = mkl(2, 2, 1000);
  uint32_t ra = 7;
  cr_expect_eq(qcc_limits_admit(l, H(0), 1, 0, &ra), QCC_ADMIT_GO);
  cr_expect_eq(ra, 0);
  cr_expect_eq(qcc_limits_admit(l, H(1), 1, 0, NULL), QCC_ADMIT_GO);
  cr_expect_eq(qcc_limits_admit(l, H(2), 1, 0, NULL), QCC_ADMIT_WAIT);
  cr_expect_eq(qcc_limits_admit(l, H(3), 5, 10, NULL), QCC_ADMIT_WAIT);
  cr_expect_eq(qcc_limits_admit(l, H(4), 9, 20, &ra), QCC_ADMIT_REJECT);
  cr_expect_geq(ra, 1);
  struct qcc_limits_counters c;
  qcc_limits_counters(l, &c);
  cr_expect_eq(c.active, 2);
  cr_expect_eq(c.waiting, 2);
  cr_expect_eq(c.rejected, 1);
  cr_expect_eq(c.total, 5);
  /* a release hands the slot to the highest-priority waiter */
  cr_expect_eq(qcc_limits_release(l), H(3));
  cr_expect_eq(qcc_limits_release(l), H(2));
  cr_expect_null(qcc_limits_release(l));
  qcc_limits_counters(l, &c);
  cr_expect_eq(c.active, 1);
  cr_expect_eq(c.waiting, 0);
  qcc_limits_free(&l);
}

Test(limits, newcomer_does_not_overtake_waiters) {
  struct qcc_limits *l = mkl(1, 4, 1000);
  cr_expect_eq(qcc_limits_admit(l, H(0), 1, 0, NULL), QCC_ADMIT_GO);
  cr_expect_eq(qcc_limits_admit(l, H(1), 1, 0, NULL), QCC_ADMIT_WAIT);
  cr_expect_eq(qcc_limits_admit(l, H(2), 1, 0, NULL), QCC_ADMIT_WAIT);
  cr_expect_eq(qcc_limits_release(l), H(1)); /* FIFO within a priority */
  cr_expect_eq(qcc_limits_release(l), H(2));
  qcc_limits_free(&l);
}

Test(limits, wait_expires_and_cancel) {
  struct qcc_limits *l = mkl(1, 8, 500);
  cr_expect_eq(qcc_limits_admit(l, H(0), 1, 0, NULL), QCC_ADMIT_GO);
  cr_expect_eq(qcc_limits_admit(l, H(1), 1, 100, NULL), QCC_ADMIT_WAIT);
  cr_expect_eq(qcc_limits_admit(l, H(2), 1, 200, NULL), QCC_ADMIT_WAIT);
  cr_expect_eq(qcc_limits_admit(l, H(3), 1, 300, NULL), QCC_ADMIT_WAIT);
  cr_expect_eq(qcc_limits_next_due(l), 600);
  cr_expect_eq(qcc_limits_cancel(l, H(2)), 0);
  cr_expect_eq(qcc_limits_cancel(l, H(2)), -1);
  void *out[4];
  cr_expect_eq(qcc_limits_expire(l, 599, out, 4), 0);
  cr_assert_eq(qcc_limits_expire(l, 800, out, 4), 2);
  cr_expect_eq(out[0], H(1));
  cr_expect_eq(out[1], H(3));
  cr_expect_eq(qcc_limits_next_due(l), UINT64_MAX);
  struct qcc_limits_counters c;
  qcc_limits_counters(l, &c);
  cr_expect_eq(c.timed_out, 2);
  cr_expect_eq(c.waiting, 0);
  qcc_limits_free(&l);
}

Test(limits, raised_limit_promotes) {
  struct qcc_limits *l = mkl(1, 8, 500);
  cr_expect_eq(qcc_limits_admit(l, H(0), 1, 0, NULL), QCC_ADMIT_GO);
  for (int i = 1; i <= 3; i++)
    cr_expect_eq(qcc_limits_admit(l, H(i), 1, 0, NULL), QCC_ADMIT_WAIT);
  struct qcc_limits_params p;
  qcc_limits_params_default(&p);
  p.max_in_flight = 3;
  p.max_waiting = 8;
  qcc_limits_configure(l, &p);
  void *out[8];
  cr_assert_eq(qcc_limits_promote(l, out, 8), 2);
  cr_expect_eq(out[0], H(1));
  cr_expect_eq(out[1], H(2));
  struct qcc_limits_counters c;
  qcc_limits_counters(l, &c);
  cr_expect_eq(c.active, 3);
  cr_expect_eq(c.waiting, 1);
  qcc_limits_free(&l);
}

Test(limits, wait_list_is_capped) {
  struct qcc_limits *l = mkl(1, 100000, 500);
  cr_expect_eq(qcc_limits_admit(l, H(0), 1, 0, NULL), QCC_ADMIT_GO);
  static char many[QCC_LIMITS_WAIT_HARD_MAX + 10];
  size_t waited = 0, rejected = 0;
  for (size_t i = 0; i < sizeof(many); i++) {
    enum qcc_admit a = qcc_limits_admit(l, &many[i], 1, 0, NULL);
    waited += a == QCC_ADMIT_WAIT;
    rejected += a == QCC_ADMIT_REJECT;
  }
  cr_expect_eq(waited, QCC_LIMITS_WAIT_HARD_MAX);
  cr_expect_eq(rejected, 10);
  qcc_limits_free(&l);
}
