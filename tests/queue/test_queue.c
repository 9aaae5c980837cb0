/* The failure queue on a fake clock: ordering, schedules, expiry, removal. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/queue.h"
#include "schema/table.h"

static struct qcc_queue *mkq(enum qcc_retry_strategy st, uint32_t max_size, uint32_t retries,
                             uint32_t wait_ms, double scale) {
  struct qcc_queue_params p;
  qcc_queue_params_default(&p);
  p.strategy = st;
  p.max_size = max_size;
  p.max_retries = retries;
  p.max_wait_ms = wait_ms;
  p.time_scale = scale;
  struct qcc_queue *q = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_queue_new(&p, &q, &err), 0, "%s", err.msg);
  return q;
}

/* Distinct fake request handles. */
static char req[2048];
#define H(i) ((void *)&req[(i)])

Test(queue_basic, defaults_and_parsers) {
  struct qcc_queue_params p;
  qcc_queue_params_default(&p);
  cr_expect_eq(p.max_size, 1000);
  cr_expect_eq(p.strategy, QCC_RETRY_EXPONENTIAL_BACKOFF);
  uint32_t v = 99;
  cr_expect_eq(qcc_queue_parse_priority("7", 1, &v), 0);
  cr_expect_eq(v, 7);
  cr_expect_eq(qcc_queue_parse_priority(" 0 ", 3, &v), 0);
  cr_expect_eq(v, 0);
  cr_expect_eq(qcc_queue_parse_priority("10", 2, &v), -1);
  cr_expect_eq(qcc_queue_parse_priority("-1", 2, &v), -1);
  cr_expect_eq(qcc_queue_parse_priority("", 0, &v), -1);
  cr_expect_eq(qcc_queue_parse_priority("a", 1, &v), -1);
  cr_expect_float_eq(qcc_queue_parse_time_scale("0.01"), 0.01, 1e-12);
  cr_expect_float_eq(qcc_queue_parse_time_scale(NULL), 1.0, 1e-12);
  cr_expect_float_eq(qcc_queue_parse_time_scale("abc"), 1.0, 1e-12);
  cr_expect_float_eq(qcc_queue_parse_time_scale("-2"), 1.0, 1e-12);
  cr_expect_float_eq(qcc_queue_parse_time_scale("0.5x"), 1.0, 1e-12);
}

Test(queue_basic, priority_order_higher_first) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 100, 5, 0, 1.0);
  uint32_t prio[] = {1, 9, 5, 0, 7};
  for (int i = 0; i < 5; i++)
    cr_assert_eq(qcc_queue_push(q, H(i), prio[i], 1000, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it[8];
  size_t n = qcc_queue_pop_due(q, 1000, it, 8);
  cr_assert_eq(n, 5);
  uint32_t want[] = {9, 7, 5, 1, 0};
  for (size_t i = 0; i < n; i++) {
    cr_expect_eq(it[i].priority, want[i], "position %zu", i);
    cr_expect_not(it[i].expired);
    cr_expect_eq(it[i].attempt, 1);
  }
  cr_expect_eq(it[0].handle, H(1));
  cr_expect_eq(it[4].handle, H(3));
  qcc_queue_free(&q);
  cr_expect_null(q);
}

Test(queue_basic, fifo_within_priority) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 100, 5, 0, 1.0);
  for (int i = 0; i < 20; i++)
    cr_assert_eq(qcc_queue_push(q, H(i), (uint32_t)(i % 2), 50, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it[3];
  void *seen[20];
  size_t total = 0;
  for (int round = 0; round < 20 && total < 20; round++) {
    /* a small out array: the rest must stay in order for the next call */
    size_t n = qcc_queue_pop_due(q, 50, it, 3);
    for (size_t k = 0; k < n; k++)
      seen[total++] = it[k].handle;
  }
  cr_assert_eq(total, 20);
  for (int i = 0; i < 10; i++) {
    cr_expect_eq(seen[i], H(2 * i + 1), "priority 1 position %d", i);
    cr_expect_eq(seen[10 + i], H(2 * i), "priority 0 position %d", i);
  }
  qcc_queue_free(&q);
}

Test(queue_basic, list_in_retry_order) {
  struct qcc_queue *q = mkq(QCC_RETRY_FIXED_INTERVAL, 100, 5, 0, 1.0);
  uint64_t id[4];
  cr_assert_eq(qcc_queue_push(q, H(0), 2, 0, &id[0], NULL), QCC_QUEUE_PUSHED);
  cr_assert_eq(qcc_queue_push(q, H(1), 8, 1, &id[1], NULL), QCC_QUEUE_PUSHED);
  cr_assert_eq(qcc_queue_push(q, H(2), 2, 2, &id[2], NULL), QCC_QUEUE_PUSHED);
  cr_expect_neq(id[0], id[1]);
  cr_expect_neq(id[1], id[2]);
  struct qcc_queue_info info[4];
  size_t n = qcc_queue_list(q, info, 4);
  cr_assert_eq(n, 3);
  cr_expect_eq(info[0].handle, H(1));
  cr_expect_eq(info[1].handle, H(0));
  cr_expect_eq(info[2].handle, H(2));
  cr_expect_eq(info[0].id, id[1]);
  cr_expect_eq(info[0].state, QCC_QUEUE_WAITING);
  cr_expect_eq(info[0].next_retry_at, 1 + 5000);
  cr_expect_str_eq(qcc_queue_state_name(info[0].state), "waiting");
  qcc_queue_free(&q);
}

Test(queue_basic, first_id_seeds_ids) {
  struct qcc_queue_params p;
  qcc_queue_params_default(&p);
  p.first_id = 1000000;
  struct qcc_queue *q = NULL;
  cr_assert_eq(qcc_queue_new(&p, &q, NULL), 0);
  uint64_t a = 0, b = 0;
  qcc_queue_push(q, H(0), 1, 0, &a, NULL);
  qcc_queue_push(q, H(1), 1, 0, &b, NULL);
  cr_expect_eq(a, 1000000);
  cr_expect_eq(b, 1000001);
  qcc_queue_free(&q);
}

/* ------------------------------------------------------------ schedules */

Test(queue_schedule, exponential_backoff_5_10_20_capped_300) {
  struct qcc_queue_params p;
  qcc_queue_params_default(&p);
  p.strategy = QCC_RETRY_EXPONENTIAL_BACKOFF;
  uint64_t want[] = {5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000};
  for (uint32_t r = 1; r <= 8; r++)
    cr_expect_eq(qcc_queue_retry_delay_ms(&p, r), want[r - 1], "retry %u", r);
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 1000000), 300000);
  p.time_scale = 0.01;
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 1), 50);
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 3), 200);
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 50), 3000);
}

Test(queue_schedule, fixed_and_immediate) {
  struct qcc_queue_params p;
  qcc_queue_params_default(&p);
  p.strategy = QCC_RETRY_FIXED_INTERVAL;
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 1), 5000);
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 9), 5000);
  p.fixed_interval_ms = 2000;
  p.time_scale = 0.5;
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 4), 1000);
  p.strategy = QCC_RETRY_IMMEDIATE;
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 1), 0);
  cr_expect_eq(qcc_queue_retry_delay_ms(&p, 7), 0);
}

/* Drive one entry through failures on the fake clock and record when each
 * retry came due. */
static void run_schedule(struct qcc_queue *q, uint64_t start, uint64_t *due_at, int n) {
  cr_assert_eq(qcc_queue_push(q, H(0), 5, start, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it;
  for (int i = 0; i < n; i++) {
    uint64_t due = qcc_queue_next_due(q);
    cr_assert_neq(due, UINT64_MAX);
    /* nothing comes out a millisecond early */
    if (due > 0)
      cr_assert_eq(qcc_queue_pop_due(q, due - 1, &it, 1), 0, "retry %d early", i + 1);
    cr_assert_eq(qcc_queue_pop_due(q, due, &it, 1), 1);
    cr_assert_not(it.expired);
    cr_assert_eq(it.attempt, (uint32_t)i + 1);
    due_at[i] = due;
    cr_assert_eq(qcc_queue_retry_failed(q, H(0), due), QCC_QUEUE_RESCHEDULED);
  }
}

Test(queue_schedule, exponential_on_the_clock_scaled) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 10, 100, 0, 0.01);
  uint64_t at[8];
  run_schedule(q, 1000, at, 8);
  uint64_t gaps[] = {50, 100, 200, 400, 800, 1600, 3000, 3000};
  uint64_t prev = 1000;
  for (int i = 0; i < 8; i++) {
    cr_expect_eq(at[i] - prev, gaps[i], "gap before retry %d", i + 1);
    prev = at[i];
  }
  qcc_queue_free(&q);
}

Test(queue_schedule, fixed_on_the_clock) {
  struct qcc_queue *q = mkq(QCC_RETRY_FIXED_INTERVAL, 10, 100, 0, 1.0);
  uint64_t at[4];
  run_schedule(q, 0, at, 4);
  for (int i = 0; i < 4; i++)
    cr_expect_eq(at[i], (uint64_t)(i + 1) * 5000);
  qcc_queue_free(&q);
}

Test(queue_schedule, immediate_is_due_now) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 10, 100, 0, 1.0);
  uint64_t at[3];
  run_schedule(q, 777, at, 3);
  for (int i = 0; i < 3; i++)
    cr_expect_eq(at[i], 777);
  qcc_queue_free(&q);
}

/* --------------------------------------------------------------- expiry */

Test(queue_expiry, max_retries_then_expired) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 10, 3, 0, 1.0);
  cr_assert_eq(qcc_queue_push(q, H(0), 1, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it;
  for (uint32_t r = 1; r <= 3; r++) {
    cr_assert_eq(qcc_queue_pop_due(q, r, &it, 1), 1);
    cr_assert_eq(it.attempt, r);
    enum qcc_queue_retry_status st = qcc_queue_retry_failed(q, H(0), r);
    cr_assert_eq(st, r < 3 ? QCC_QUEUE_RESCHEDULED : QCC_QUEUE_EXPIRED, "retry %u", r);
  }
  cr_expect_not(qcc_queue_contains(q, H(0)));
  cr_expect_eq(qcc_queue_next_due(q), UINT64_MAX);
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.expired, 1);
  cr_expect_eq(c.retries, 3);
  cr_expect_eq(c.queued, 0);
  cr_expect_eq(qcc_queue_retry_failed(q, H(0), 10), QCC_QUEUE_UNKNOWN);
  qcc_queue_free(&q);
}

Test(queue_expiry, max_wait_expires_while_waiting) {
  /* backoff 5 s, 10 s ... but only 12 s to wait in all */
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 10, 10, 12000, 1.0);
  cr_assert_eq(qcc_queue_push(q, H(0), 1, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it;
  cr_assert_eq(qcc_queue_next_due(q), 5000);
  cr_assert_eq(qcc_queue_pop_due(q, 5000, &it, 1), 1);
  cr_assert_eq(qcc_queue_retry_failed(q, H(0), 5100), QCC_QUEUE_RESCHEDULED);
  /* next retry would be 15100: the deadline 12000 comes first */
  cr_assert_eq(qcc_queue_next_due(q), 12000);
  cr_assert_eq(qcc_queue_pop_due(q, 11999, &it, 1), 0);
  cr_assert_eq(qcc_queue_pop_due(q, 12000, &it, 1), 1);
  cr_expect(it.expired);
  cr_expect_not(it.retries_used);
  cr_expect_eq(it.attempt, 1);
  cr_expect_eq(it.handle, H(0));
  cr_expect_not(qcc_queue_contains(q, H(0)));
  qcc_queue_free(&q);
}

Test(queue_expiry, max_wait_scaled) {
  struct qcc_queue *q = mkq(QCC_RETRY_FIXED_INTERVAL, 10, 100, 120000, 0.01);
  cr_assert_eq(qcc_queue_push(q, H(0), 1, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_info info;
  cr_assert_eq(qcc_queue_list(q, &info, 1), 1);
  cr_expect_eq(info.deadline, 1200);
  cr_expect_eq(info.next_retry_at, 50);
  qcc_queue_free(&q);
}

Test(queue_expiry, failed_retry_after_deadline_expires) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 10, 10, 1000, 1.0);
  cr_assert_eq(qcc_queue_push(q, H(0), 1, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it;
  cr_assert_eq(qcc_queue_pop_due(q, 10, &it, 1), 1);
  /* the retry itself ran past the deadline */
  cr_expect_eq(qcc_queue_retry_failed(q, H(0), 1500), QCC_QUEUE_EXPIRED);
  cr_expect_not(qcc_queue_contains(q, H(0)));
  qcc_queue_free(&q);
}

/* -------------------------------------------------- removal, wake, full */

Test(queue_ops, remove_on_disconnect) {
  struct qcc_queue *q = mkq(QCC_RETRY_FIXED_INTERVAL, 10, 5, 0, 1.0);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(qcc_queue_push(q, H(i), 1, (uint64_t)i, NULL, NULL), QCC_QUEUE_PUSHED);
  cr_expect_eq(qcc_queue_remove(q, H(0)), 0);
  cr_expect_eq(qcc_queue_remove(q, H(0)), -1);
  cr_expect_not(qcc_queue_contains(q, H(0)));
  cr_expect_eq(qcc_queue_next_due(q), 5001);
  /* a retrying entry can be removed too */
  struct qcc_queue_item it;
  cr_assert_eq(qcc_queue_pop_due(q, 5001, &it, 1), 1);
  cr_expect_eq(it.handle, H(1));
  cr_expect_eq(qcc_queue_remove(q, H(1)), 0);
  cr_expect_eq(qcc_queue_retry_failed(q, H(1), 5002), QCC_QUEUE_UNKNOWN);
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.removed, 2);
  cr_expect_eq(c.queued, 1);
  cr_expect_eq(c.retrying, 0);
  cr_assert_eq(qcc_queue_pop_due(q, 10000, &it, 1), 1);
  cr_expect_eq(it.handle, H(2));
  qcc_queue_free(&q);
}

Test(queue_ops, wake_all_makes_everything_due_now) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 10, 5, 0, 1.0);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(qcc_queue_push(q, H(i), (uint32_t)i, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it[4];
  cr_assert_eq(qcc_queue_pop_due(q, 100, it, 4), 0);
  cr_expect_eq(qcc_queue_wake_all(q, 100), 4);
  cr_expect_leq(qcc_queue_next_due(q), 100);
  size_t n = qcc_queue_pop_due(q, 100, it, 4);
  cr_assert_eq(n, 4);
  for (size_t i = 0; i < 4; i++)
    cr_expect_eq(it[i].handle, H(3 - i));
  /* retrying entries are not woken again */
  cr_expect_eq(qcc_queue_wake_all(q, 101), 0);
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.woken, 4);
  cr_expect_eq(c.retrying, 4);
  for (int i = 0; i < 4; i++)
    cr_expect_eq(qcc_queue_succeeded(q, H(i)), 0);
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.succeeded, 4);
  cr_expect_eq(c.queued, 0);
  qcc_queue_free(&q);
}

Test(queue_ops, full_queue_rejects_at_once) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 3, 5, 0, 1.0);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(qcc_queue_push(q, H(i), 1, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  uint32_t ra = 0;
  cr_expect_eq(qcc_queue_push(q, H(3), 9, 1000, NULL, &ra), QCC_QUEUE_FULL);
  /* the queue next moves at 5000: 4 s from now */
  cr_expect_eq(ra, 4);
  cr_expect_not(qcc_queue_contains(q, H(3)));
  cr_expect_eq(qcc_queue_push(q, H(0), 1, 0, NULL, NULL), QCC_QUEUE_DUPLICATE);
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.rejected, 1);
  cr_expect_eq(c.enqueued, 3);
  cr_expect_eq(c.queued, 3);
  /* a freed place is taken again */
  cr_expect_eq(qcc_queue_remove(q, H(1)), 0);
  cr_expect_eq(qcc_queue_push(q, H(3), 9, 1000, NULL, &ra), QCC_QUEUE_PUSHED);
  qcc_queue_free(&q);
}

Test(queue_ops, off_when_size_or_retries_zero) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 0, 5, 0, 1.0);
  uint32_t ra = 0;
  cr_expect_eq(qcc_queue_push(q, H(0), 1, 0, NULL, &ra), QCC_QUEUE_OFF);
  cr_expect_geq(ra, 1);
  qcc_queue_free(&q);
  q = mkq(QCC_RETRY_IMMEDIATE, 10, 0, 0, 1.0);
  cr_expect_eq(qcc_queue_push(q, H(0), 1, 0, NULL, NULL), QCC_QUEUE_OFF);
  qcc_queue_free(&q);
}

/* Many entries, random priorities and removals: every pop batch comes out
 * in (priority desc, enqueue order) and nothing is lost or duplicated. */
Test(queue_ops, randomized_against_a_model) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 2000, 5, 0, 1.0);
  srand(12345);
  enum { N = 1500 };
  uint32_t prio[N];
  bool removed[N] = {false};
  for (int i = 0; i < N; i++) {
    prio[i] = (uint32_t)(rand() % 10);
    cr_assert_eq(qcc_queue_push(q, H(i), prio[i], 0, NULL, NULL), QCC_QUEUE_PUSHED);
  }
  size_t live = N;
  for (int i = 0; i < N; i += 3) {
    cr_assert_eq(qcc_queue_remove(q, H(i)), 0);
    removed[i] = true;
    live--;
  }
  for (int i = 0; i < N; i++)
    cr_assert_eq(qcc_queue_contains(q, H(i)), !removed[i], "handle %d", i);
  struct qcc_queue_item it[64];
  size_t got = 0;
  uint32_t last_p = UINT32_MAX;
  long last_i = -1;
  bool seen[N] = {false};
  for (int round = 0; round < 1000; round++) {
    size_t n = qcc_queue_pop_due(q, 1, it, 64);
    if (n == 0)
      break;
    for (size_t k = 0; k < n; k++) {
      long i = (char *)it[k].handle - req;
      cr_assert(i >= 0 && i < N);
      cr_assert_not(removed[i]);
      cr_assert_not(seen[i]);
      seen[i] = true;
      cr_assert_eq(it[k].priority, prio[i]);
      cr_assert_leq(it[k].priority, last_p);
      if (it[k].priority == last_p)
        cr_assert_gt(i, last_i);
      last_p = it[k].priority;
      last_i = i;
      got++;
    }
  }
  cr_expect_eq(got, live);
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.retrying, live);
  qcc_queue_free(&q);
}

/* The time heap under churn: random enqueue times, retries that fail and
 * are rescheduled, removals. Nothing comes out before it is due, and
 * everything due comes out. */
Test(queue_ops, randomized_schedule_churn) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 600, 4, 0, 0.001);
  srand(777);
  enum { N = 500 };
  uint64_t due[N];
  bool live[N] = {false};
  uint64_t now = 0;
  for (int i = 0; i < N; i++) {
    now += (uint64_t)(rand() % 3);
    cr_assert_eq(qcc_queue_push(q, H(i), (uint32_t)(rand() % 10), now, NULL, NULL),
                 QCC_QUEUE_PUSHED);
    due[i] = now + 5; /* 5000 ms * 0.001 */
    live[i] = true;
  }
  struct qcc_queue_item it[16];
  for (int step = 0; step < 100000; step++) {
    uint64_t nd = qcc_queue_next_due(q);
    if (nd == UINT64_MAX)
      break;
    if (nd > now)
      now = nd;
    size_t n = qcc_queue_pop_due(q, now, it, 16);
    cr_assert_gt(n, 0, "next_due %llu but nothing due at %llu", (unsigned long long)nd,
                 (unsigned long long)now);
    for (size_t k = 0; k < n; k++) {
      long i = (char *)it[k].handle - req;
      cr_assert(live[i]);
      cr_assert_leq(due[i], now, "entry %ld out early", i);
      int r = rand() % 10;
      if (r == 0) {
        cr_assert_eq(qcc_queue_remove(q, H(i)), 0);
        live[i] = false;
      } else if (r == 1) {
        cr_assert_eq(qcc_queue_succeeded(q, H(i)), 0);
        live[i] = false;
      } else {
        enum qcc_queue_retry_status st = qcc_queue_retry_failed(q, H(i), now);
        if (it[k].attempt >= 4) {
          cr_assert_eq(st, QCC_QUEUE_EXPIRED);
          live[i] = false;
        } else {
          cr_assert_eq(st, QCC_QUEUE_RESCHEDULED);
          due[i] = now + qcc_queue_retry_delay_ms(&(struct qcc_queue_params){
                             .strategy = QCC_RETRY_EXPONENTIAL_BACKOFF, .time_scale = 0.001},
                         it[k].attempt + 1);
        }
      }
    }
  }
  for (int i = 0; i < N; i++)
    cr_expect_not(live[i], "entry %d never finished", i);
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.queued, 0);
  cr_expect_eq(c.removed + c.succeeded + c.expired, N);
  qcc_queue_free(&q);
}

Test(queue_basic, params_from_table_settings) {
  struct qcc_tbl_settings s;
  memset(&s, 0, sizeof(s));
  s.queue_enabled = 1;
  s.queue_max_size = 42;
  s.retry_strategy = QCC_RETRY_FIXED_INTERVAL;
  s.max_retries = 3;
  s.max_wait_ms = 9000;
  struct qcc_queue_params p;
  qcc_queue_params_from_settings(&p, &s, 0.5, 77);
  cr_expect_eq(p.max_size, 42);
  cr_expect_eq(p.strategy, QCC_RETRY_FIXED_INTERVAL);
  cr_expect_eq(p.max_retries, 3);
  cr_expect_eq(p.max_wait_ms, 9000);
  cr_expect_float_eq(p.time_scale, 0.5, 1e-12);
  cr_expect_eq(p.first_id, 77);
  s.queue_enabled = 0;
  qcc_queue_params_from_settings(&p, &s, 1.0, 0);
  cr_expect_eq(p.max_size, 0, "a disabled queue has no room");
}

/* ---- waiting for an endpoint, not for a clock (issue 11) ---------------- */

Test(queue_waiting, a_request_that_found_nothing_waits_for_a_wake_not_a_clock) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 10, 5, 120000, 1.0);
  uint64_t id = 0;
  cr_assert_eq(qcc_queue_push_waiting(q, H(0), 5, 1000, &id, NULL), QCC_QUEUE_PUSHED);
  cr_expect_neq(id, 0);
  cr_expect_eq(qcc_queue_waiting(q), 1);
  /* immediate would be due now; with nothing to back off from, only the
   * deadline is on the clock */
  cr_expect_eq(qcc_queue_next_due(q), 121000);
  struct qcc_queue_item it;
  cr_expect_eq(qcc_queue_pop_due(q, 1000, &it, 1), 0);
  cr_expect_eq(qcc_queue_pop_due(q, 60000, &it, 1), 0);
  struct qcc_queue_info info;
  cr_assert_eq(qcc_queue_list(q, &info, 1), 1);
  cr_expect_eq(info.next_retry_at, UINT64_MAX);
  /* an endpoint became eligible at 61.5 s */
  cr_expect_eq(qcc_queue_wake_all(q, 61500), 1);
  cr_assert_eq(qcc_queue_pop_due(q, 61500, &it, 1), 1);
  cr_expect_not(it.expired);
  cr_expect_eq(it.handle, H(0));
  cr_expect_eq(it.attempt, 1);
  cr_expect_eq(qcc_queue_waiting(q), 0);
  qcc_queue_free(&q);
}

Test(queue_waiting, finding_no_endpoint_spends_no_retry) {
  struct qcc_queue *q = mkq(QCC_RETRY_IMMEDIATE, 10, 2, 120000, 1.0);
  cr_assert_eq(qcc_queue_push(q, H(0), 5, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it;
  /* a hundred wakes that find every endpoint still out: no retry used */
  for (uint64_t t = 0; t < 100; t++) {
    qcc_queue_wake_all(q, t);
    cr_assert_eq(qcc_queue_pop_due(q, t, &it, 1), 1);
    cr_assert_not(it.expired);
    cr_assert_eq(it.attempt, 1, "attempt %u at %llu", it.attempt, (unsigned long long)t);
    cr_assert_eq(qcc_queue_retry_no_endpoint(q, H(0), t), QCC_QUEUE_RESCHEDULED);
    /* and no spinning: nothing is due until the next wake */
    cr_assert_eq(qcc_queue_next_due(q), 120000);
  }
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.retries, 0);
  cr_expect_eq(c.retrying, 0);
  cr_expect_eq(c.woken, 100);
  /* retries that reached endpoints and failed still count: 2, then expired */
  qcc_queue_wake_all(q, 200);
  cr_assert_eq(qcc_queue_pop_due(q, 200, &it, 1), 1);
  cr_expect_eq(qcc_queue_retry_failed(q, H(0), 200), QCC_QUEUE_RESCHEDULED);
  cr_assert_eq(qcc_queue_pop_due(q, 200, &it, 1), 1, "immediate: due at once");
  cr_expect_eq(it.attempt, 2);
  cr_expect_eq(qcc_queue_retry_failed(q, H(0), 200), QCC_QUEUE_EXPIRED);
  qcc_queue_counters(q, &c);
  cr_expect_eq(c.retries, 2);
  cr_expect_eq(c.expired, 1);
  qcc_queue_free(&q);
}

Test(queue_waiting, waiting_for_an_endpoint_still_ends_at_max_wait) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 10, 5, 1000, 1.0);
  cr_assert_eq(qcc_queue_push_waiting(q, H(0), 5, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  cr_assert_eq(qcc_queue_push_waiting(q, H(1), 5, 10, NULL, NULL), QCC_QUEUE_PUSHED);
  struct qcc_queue_item it[2];
  cr_assert_eq(qcc_queue_pop_due(q, 1000, it, 2), 1);
  cr_expect(it[0].expired);
  cr_expect_eq(it[0].handle, H(0));
  /* a retry that found nothing after the deadline expires too */
  qcc_queue_wake_all(q, 1009);
  cr_assert_eq(qcc_queue_pop_due(q, 1009, it, 2), 1);
  cr_expect_eq(qcc_queue_retry_no_endpoint(q, H(1), 1010), QCC_QUEUE_EXPIRED);
  cr_expect_eq(qcc_queue_retry_no_endpoint(q, H(1), 1010), QCC_QUEUE_UNKNOWN);
  cr_expect_eq(qcc_queue_waiting(q), 0);
  qcc_queue_free(&q);
}

Test(queue_waiting, the_backoff_never_delays_a_request_past_a_wake) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 10, 5, 0, 1.0);
  cr_assert_eq(qcc_queue_push(q, H(0), 5, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  cr_expect_eq(qcc_queue_next_due(q), 5000, "endpoints that keep failing: 5 s");
  /* one became eligible after 1 s (its retry-after ended) */
  cr_expect_eq(qcc_queue_wake_all(q, 1000), 1);
  struct qcc_queue_item it;
  cr_assert_eq(qcc_queue_pop_due(q, 1000, &it, 1), 1);
  cr_expect_eq(it.attempt, 1);
  /* that retry failed again: the schedule goes on from there (10 s) */
  cr_expect_eq(qcc_queue_retry_failed(q, H(0), 1000), QCC_QUEUE_RESCHEDULED);
  cr_expect_eq(qcc_queue_next_due(q), 11000);
  qcc_queue_free(&q);
}

Test(queue_waiting, a_full_queue_of_waiting_requests_still_names_a_retry_after) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 1, 5, 0, 1.0);
  cr_assert_eq(qcc_queue_push_waiting(q, H(0), 5, 0, NULL, NULL), QCC_QUEUE_PUSHED);
  uint32_t ra = 0;
  cr_assert_eq(qcc_queue_push(q, H(1), 5, 0, NULL, &ra), QCC_QUEUE_FULL);
  cr_expect_eq(ra, 5, "the first backoff step, not 300 s");
  qcc_queue_free(&q);
}

Test(queue_waiting, a_freed_slot_wakes_only_requests_waiting_for_an_endpoint) {
  struct qcc_queue *q = mkq(QCC_RETRY_EXPONENTIAL_BACKOFF, 100, 5, 0, 1.0);
  /* even handles back off from failed retries, odd ones wait for an endpoint */
  for (int i = 0; i < 40; i++) {
    enum qcc_queue_push_status st =
        i % 2 ? qcc_queue_push_waiting(q, H(i), (uint32_t)(i % 10), (uint64_t)i, NULL, NULL)
              : qcc_queue_push(q, H(i), (uint32_t)(i % 10), (uint64_t)i, NULL, NULL);
    cr_assert_eq(st, QCC_QUEUE_PUSHED);
  }
  cr_assert_eq(qcc_queue_wake_waiting(q, 100), 20);
  struct qcc_queue_item it[64];
  size_t n = qcc_queue_pop_due(q, 100, it, 64);
  cr_assert_eq(n, 20);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(((char *)it[i].handle - req) % 2, 1, "only the waiting ones");
    if (i > 0) cr_assert_geq(it[i - 1].priority, it[i].priority, "in priority order");
  }
  /* the others keep their schedule: 5 s after their push */
  cr_assert_eq(qcc_queue_next_due(q), 5000);
  cr_assert_eq(qcc_queue_pop_due(q, 5019, it, 64), 10);
  cr_assert_eq(qcc_queue_wake_waiting(q, 5020), 0);
  struct qcc_queue_counters c;
  qcc_queue_counters(q, &c);
  cr_assert_eq(c.woken, 20);
  qcc_queue_free(&q);
}
