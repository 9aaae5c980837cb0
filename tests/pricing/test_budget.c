/* runtime/budget.h on an injected wall clock. The instants are written as
 * local dates; their unix seconds were worked out once (and the DST days
 * are checked to last 23 and 25 hours below). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pfix.h"
#include "runtime/budget.h"
#include "schema/pricing.h"

#define USD(x) ((uint64_t)((x) * 1000000.0) * UINT64_C(1000000)) /* whole micro-USD -> pico */

static const int64_t DEC06_1000Z = 1796551200; /* 2026-12-06T10:00:00Z */
static const int64_t DEC07_0000Z = 1796601600; /* 2026-12-07T00:00:00Z */
static const int64_t DEC31_2300Z = 1798758000; /* 2026-12-31T23:00:00Z */
static const int64_t JAN01_0000Z = 1798761600; /* 2027-01-01T00:00:00Z */
static const int64_t DEC01_0000Z = 1796083200; /* 2026-12-01T00:00:00Z */
static const int64_t DEC05_2300Z = 1796511600; /* 2026-12-05T23:00:00Z */

static char *config(const char *zone) {
  char *s = NULL;
  int n = asprintf(&s,
                   "version: 1\n"
                   "usage: {timezone: %s}\n"
                   "proxy:\n"
                   "  auth_tokens:\n"
                   "    - {name: alice, env: QCC_T_A, budget: {daily_usd: 2}}\n"
                   "    - {name: bob, env: QCC_T_B}\n"
                   "profiles:\n"
                   "  - name: p\n"
                   "    endpoints:\n"
                   "      - {id: e1, base_url: \"https://a.example.com\", api_key_env: K,\n"
                   "         budget: {daily_usd: 1, monthly_usd: 10}}\n"
                   "      - {id: e2, base_url: \"https://b.example.com\", api_key_env: K,\n"
                   "         budget: {daily_tokens: 1000}}\n"
                   "      - {id: e3, base_url: \"https://c.example.com\", api_key_env: K}\n",
                   zone);
  cr_assert_gt(n, 0);
  return s;
}

struct env {
  struct pfix f;
  struct qcc_budget *b;
};

static struct env start(const char *zone, int64_t now) {
  char *c = config(zone);
  struct env e = {pfix_build(c), NULL};
  free(c);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_budget_new(&e.b, &err), 0);
  cr_assert_eq(qcc_budget_reset(e.b, e.f.t, now, &err), 0, "%s", err.msg);
  return e;
}

static void stop(struct env *e) {
  qcc_budget_free(&e->b);
  pfix_free(&e->f);
}

Test(budget, daily_usd_runs_out_until_next_midnight) {
  struct env e = start("UTC", DEC06_1000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC06_1000Z), 0);
  qcc_budget_add(e.b, 0, QCC_BUDGET_NONE, 100, USD(0.6), DEC06_1000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC06_1000Z + 60), 0, "$0.60 of $1");
  qcc_budget_add(e.b, 0, QCC_BUDGET_NONE, 100, USD(0.4), DEC06_1000Z + 120);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC06_1000Z + 180), DEC07_0000Z,
               "exactly $1 spends it");
  /* the others are untouched */
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 1, DEC06_1000Z + 180), 0);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 2, DEC06_1000Z + 180), 0);
  struct qcc_budget_left l;
  cr_assert_eq(qcc_budget_endpoint_remaining(e.b, 0, QCC_BUDGET_DAY, DEC06_1000Z + 180, &l), 0);
  cr_assert(l.usd_capped);
  cr_assert_eq(l.usd_pico, 0);
  cr_assert_eq(l.spent_pico, USD(1));
  cr_assert_eq(l.resets_at, DEC07_0000Z);
  cr_assert_eq(qcc_budget_endpoint_remaining(e.b, 0, QCC_BUDGET_MONTH, DEC06_1000Z + 180, &l), 0);
  cr_assert_eq(l.usd_pico, USD(9), "the month has $9 left");
  cr_assert_eq(l.resets_at, JAN01_0000Z);
  /* one second before midnight still spent, at midnight free again */
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC07_0000Z - 1), DEC07_0000Z);
  cr_assert_eq(qcc_budget_endpoint_remaining(e.b, 0, QCC_BUDGET_DAY, DEC07_0000Z, &l), 0);
  cr_assert_eq(l.usd_pico, USD(1), "remaining reads the new day as fresh");
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC07_0000Z), 0);
  stop(&e);
}

Test(budget, monthly_resets_on_the_first) {
  struct env e = start("UTC", DEC31_2300Z - 86400 * 20);
  /* $0.90 a day for eleven days: never the daily cap, $9.90 in the month */
  for (int d = 0; d < 11; d++)
    qcc_budget_add(e.b, 0, QCC_BUDGET_NONE, 10, USD(0.9), DEC31_2300Z - 86400 * (20 - d));
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC31_2300Z), 0);
  qcc_budget_add(e.b, 0, QCC_BUDGET_NONE, 10, USD(0.1), DEC31_2300Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC31_2300Z + 1), JAN01_0000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, JAN01_0000Z), 0, "the 1st starts afresh");
  stop(&e);
}

Test(budget, both_spent_rests_until_the_later_reset) {
  struct env e = start("UTC", DEC31_2300Z - 86400 * 5);
  for (int d = 0; d < 9; d++) qcc_budget_seed(e.b, 0, QCC_BUDGET_NONE, 0, USD(1), DEC01_0000Z + 86400 * d);
  /* the nine seeds (Dec 1-9) count in the month only: $9, then $1 today */
  qcc_budget_add(e.b, 0, QCC_BUDGET_NONE, 0, USD(1), DEC31_2300Z - 86400 * 5);
  int64_t until = qcc_budget_endpoint_spent_until(e.b, 0, DEC31_2300Z - 86400 * 5);
  cr_assert_eq(until, JAN01_0000Z, "month spent ($10) and day spent ($1): the month decides");
  stop(&e);
}

Test(budget, daily_tokens) {
  struct env e = start("UTC", DEC06_1000Z);
  qcc_budget_add(e.b, 1, QCC_BUDGET_NONE, 999, 0, DEC06_1000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 1, DEC06_1000Z), 0);
  struct qcc_budget_left l;
  qcc_budget_endpoint_remaining(e.b, 1, QCC_BUDGET_DAY, DEC06_1000Z, &l);
  cr_assert(l.tokens_capped);
  cr_assert(!l.usd_capped);
  cr_assert_eq(l.tokens, 1);
  qcc_budget_add(e.b, 1, QCC_BUDGET_NONE, 1, 0, DEC06_1000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 1, DEC06_1000Z), DEC07_0000Z);
  /* an endpoint without a budget is never spent */
  qcc_budget_add(e.b, 2, QCC_BUDGET_NONE, UINT64_MAX, UINT64_MAX, DEC06_1000Z);
  qcc_budget_add(e.b, 2, QCC_BUDGET_NONE, UINT64_MAX, UINT64_MAX, DEC06_1000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 2, DEC06_1000Z), 0);
  stop(&e);
}

Test(budget, client_over_budget_gets_a_retry_after) {
  struct env e = start("UTC", DEC06_1000Z);
  /* alice (client 0) spends $2 through two endpoints; bob has no cap */
  qcc_budget_add(e.b, 2, 0, 10, USD(1.5), DEC06_1000Z);
  qcc_budget_add(e.b, 2, 1, 10, USD(100), DEC06_1000Z);
  cr_assert_eq(qcc_budget_client_spent_until(e.b, 0, DEC06_1000Z), 0);
  qcc_budget_add(e.b, 2, 0, 10, USD(0.5), DEC06_1000Z + 1);
  int64_t until = qcc_budget_client_spent_until(e.b, 0, DEC06_1000Z + 2);
  cr_assert_eq(until, DEC07_0000Z);
  cr_assert_eq(until - (DEC06_1000Z + 2), 14 * 3600 - 2, "retry-after in seconds");
  cr_assert_eq(qcc_budget_client_spent_until(e.b, 1, DEC06_1000Z + 2), 0);
  struct qcc_budget_left l;
  cr_assert_eq(qcc_budget_client_remaining(e.b, 0, QCC_BUDGET_DAY, DEC06_1000Z + 2, &l), 0);
  cr_assert_eq(l.spent_pico, USD(2));
  cr_assert_eq(qcc_budget_client_remaining(e.b, 2, QCC_BUDGET_DAY, DEC06_1000Z, &l), -1);
  /* out-of-range indexes are ignored, never a crash */
  qcc_budget_add(e.b, 99, 99, 1, 1, DEC06_1000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 99, DEC06_1000Z), 0);
  stop(&e);
}

Test(budget, seed_counts_only_the_current_periods) {
  struct env e = start("UTC", DEC06_1000Z);
  qcc_budget_seed(e.b, 0, 0, 5, USD(5), DEC05_2300Z);       /* yesterday: month only */
  qcc_budget_seed(e.b, 0, 0, 5, USD(100), DEC01_0000Z - 1); /* last month: nothing */
  qcc_budget_seed(e.b, 0, 0, 5, USD(0.25), DEC06_1000Z - 3600);
  struct qcc_budget_left l;
  qcc_budget_endpoint_remaining(e.b, 0, QCC_BUDGET_DAY, DEC06_1000Z, &l);
  cr_assert_eq(l.spent_pico, USD(0.25));
  cr_assert_eq(l.spent_tokens, 5);
  qcc_budget_endpoint_remaining(e.b, 0, QCC_BUDGET_MONTH, DEC06_1000Z, &l);
  cr_assert_eq(l.spent_pico, USD(5.25));
  cr_assert_eq(l.spent_tokens, 10);
  stop(&e);
}

Test(budget, reset_keeps_spending_by_endpoint_id_and_token_name) {
  struct env e = start("UTC", DEC06_1000Z);
  qcc_budget_add(e.b, 0, 0, 10, USD(1), DEC06_1000Z);
  cr_assert_neq(qcc_budget_endpoint_spent_until(e.b, 0, DEC06_1000Z), 0);
  /* the same endpoints and tokens in another order */
  struct pfix g = pfix_build(
      "version: 1\n"
      "proxy:\n"
      "  auth_tokens:\n"
      "    - {name: bob, env: QCC_T_B}\n"
      "    - {name: alice, env: QCC_T_A, budget: {daily_usd: 1}}\n"
      "usage: {timezone: UTC}\n"
      "profiles:\n"
      "  - name: p\n"
      "    endpoints:\n"
      "      - {id: e3, base_url: \"https://c.example.com\", api_key_env: K}\n"
      "      - {id: e1, base_url: \"https://a.example.com\", api_key_env: K, budget: {daily_usd: 1}}\n");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_budget_reset(e.b, g.t, DEC06_1000Z + 5, &err), 0, "%s", err.msg);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 1, DEC06_1000Z + 5), DEC07_0000Z, "e1 moved to 1");
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC06_1000Z + 5), 0);
  cr_assert_eq(qcc_budget_client_spent_until(e.b, 1, DEC06_1000Z + 5), DEC07_0000Z,
               "alice's $1 against her new $1 cap");
  /* an unknown zone is refused and changes nothing */
  qcc_table_close(&g.t);
  free(g.img);
  g = pfix_build("version: 1\nprofiles:\n  - name: p\n    endpoints: [{id: e1, base_url: \"https://a.example.com\", api_key_env: K}]\n");
  setenv("TZDIR", "/nonexistent", 1); /* "local" needs no database: still accepted */
  cr_assert_eq(qcc_budget_reset(e.b, g.t, DEC06_1000Z + 6, &err), 0, "%s", err.msg);
  unsetenv("TZDIR");
  pfix_free(&g);
  stop(&e);
}

Test(budget, unknown_zone_is_an_error) {
  struct env e = start("UTC", DEC06_1000Z);
  qcc_budget_add(e.b, 0, QCC_BUDGET_NONE, 0, USD(1), DEC06_1000Z);
  setenv("TZDIR", "/nonexistent", 1); /* the table's UTC is now unknown here */
  struct qcc_err err = {0};
  cr_assert_eq(qcc_budget_reset(e.b, e.f.t, DEC06_1000Z, &err), -1);
  cr_assert_eq(err.code, EINVAL);
  cr_assert_not_null(strstr(err.msg, "UTC"), "%s", err.msg);
  unsetenv("TZDIR");
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, DEC06_1000Z), DEC07_0000Z, "kept as it was");
  stop(&e);
}

Test(budget, dst_days_last_23_and_25_hours) {
  const int64_t MAR08_1200 = 1772985600, MAR08_0000 = 1772946000, MAR09_0000 = 1773028800;
  const int64_t NOV01_1200 = 1793552400, NOV01_0000 = 1793505600, NOV02_0000 = 1793595600;
  cr_assert_eq(MAR09_0000 - MAR08_0000, 23 * 3600);
  cr_assert_eq(NOV02_0000 - NOV01_0000, 25 * 3600);
  struct env e = start("America/New_York", MAR08_1200);
  int64_t s, end;
  qcc_budget_period(e.b, QCC_BUDGET_DAY, MAR08_1200, &s, &end);
  cr_assert_eq(s, MAR08_0000);
  cr_assert_eq(end, MAR09_0000);
  qcc_budget_add(e.b, 0, QCC_BUDGET_NONE, 0, USD(1), MAR08_1200);
  cr_assert_eq(qcc_budget_endpoint_spent_until(e.b, 0, MAR08_1200), MAR09_0000,
               "spring forward: midnight is 04:00Z, not 05:00Z");
  qcc_budget_period(e.b, QCC_BUDGET_DAY, NOV01_1200, &s, &end);
  cr_assert_eq(s, NOV01_0000);
  cr_assert_eq(end, NOV02_0000);
  stop(&e);
}

Test(budget, shanghai_and_utc_days_differ) {
  const int64_t DEC06_2000Z = 1796587200;   /* 2026-12-07 04:00 in Shanghai */
  const int64_t SH_DEC07_0000 = 1796572800; /* 2026-12-06T16:00:00Z */
  const int64_t SH_DEC08_0000 = 1796659200;
  const int64_t SH_JAN01_0000 = 1798732800; /* 2026-12-31T16:00:00Z */
  struct env sh = start("Asia/Shanghai", DEC06_2000Z);
  struct env utc = start("UTC", DEC06_2000Z);
  int64_t s, end;
  qcc_budget_period(sh.b, QCC_BUDGET_DAY, DEC06_2000Z, &s, &end);
  cr_assert_eq(s, SH_DEC07_0000);
  cr_assert_eq(end, SH_DEC08_0000);
  qcc_budget_period(utc.b, QCC_BUDGET_DAY, DEC06_2000Z, &s, &end);
  cr_assert_eq(end, DEC07_0000Z);
  qcc_budget_period(sh.b, QCC_BUDGET_MONTH, DEC06_2000Z, &s, &end);
  cr_assert_eq(end, SH_JAN01_0000);
  /* the same spend at the same instant rests each until its own midnight */
  qcc_budget_add(sh.b, 0, QCC_BUDGET_NONE, 0, USD(1), DEC06_2000Z);
  qcc_budget_add(utc.b, 0, QCC_BUDGET_NONE, 0, USD(1), DEC06_2000Z);
  cr_assert_eq(qcc_budget_endpoint_spent_until(sh.b, 0, DEC06_2000Z), SH_DEC08_0000);
  cr_assert_eq(qcc_budget_endpoint_spent_until(utc.b, 0, DEC06_2000Z), DEC07_0000Z);
  /* 2026-12-06T15:00Z is still Dec 6 in Shanghai: a seed then is yesterday's */
  qcc_budget_seed(sh.b, 1, QCC_BUDGET_NONE, 1000, 0, SH_DEC07_0000 - 3600);
  cr_assert_eq(qcc_budget_endpoint_spent_until(sh.b, 1, DEC06_2000Z), 0);
  stop(&sh);
  stop(&utc);
}
