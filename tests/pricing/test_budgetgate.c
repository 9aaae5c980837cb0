/* runtime/budgetgate.h: the budget seeded from a real usage file, resting
 * spent endpoints through a real router, refusing spent client tokens, and
 * following table loads. Wall clock (the gate's), with records placed
 * relative to now. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfix.h"
#include "runtime/budget.h"
#include "runtime/budgetgate.h"
#include "runtime/router.h"
#include "runtime/runtime.h"
#include "schema/journal.h"
#include "schema/usage.h"

static char *config(const char *e1_daily_usd) {
  char *s = NULL;
  int n = asprintf(&s,
                   "version: 1\n"
                   "usage: {timezone: UTC}\n"
                   "proxy:\n"
                   "  auth_tokens:\n"
                   "    - {name: alice, env: QCC_T_A, budget: {daily_tokens: 100}}\n"
                   "    - {name: bob, env: QCC_T_B}\n"
                   "profiles:\n"
                   "  - name: p\n"
                   "    endpoints:\n"
                   "      - {id: e1, base_url: \"https://a.example.com\", api_key_env: K,\n"
                   "         budget: {daily_usd: %s}}\n"
                   "      - {id: e2, base_url: \"https://b.example.com\", api_key_env: K,\n"
                   "         budget: {daily_tokens: 1000}}\n",
                   e1_daily_usd);
  cr_assert_gt(n, 0);
  return s;
}

/* A usage file in DIR with one record per (endpoint, client, tokens, pico, time_s). */
struct rec {
  const char *ep, *client;
  int64_t tokens, pico, when;
};

static void write_file(const char *path, const struct qcc_table *t, const struct rec *r, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  uint8_t hdr[32];
  qcc_usage_header_encode(hdr, (int64_t)time(NULL) * 1000);
  cr_assert_eq(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
  for (size_t i = 0; i < n; i++) {
    uint64_t sid = 0;
    for (uint32_t k = 0; k < qcc_table_endpoint_count(t); k++)
      if (strcmp(qcc_table_str(t, qcc_table_endpoint(t, k)->id), r[i].ep) == 0)
        sid = qcc_table_endpoint(t, k)->stable_id;
    char id[32];
    snprintf(id, sizeof id, "req-%zu", i);
    struct qcc_usage_rec u = {.type = QCC_USAGE_REC_REQUEST, .time_ms = r[i].when * 1000,
                              .endpoint_sid = sid, .input = r[i].tokens, .output = 0,
                              .cache_write_5m = 0, .cache_write_1h = 0, .cache_read = 0,
                              .cost = r[i].pico, .requests = 1, .attempts = 1, .status = 200,
                              .request_id = id, .endpoint = r[i].ep, .profile = "p",
                              .model = "m", .upstream_model = "m", .client = r[i].client,
                              .session = ""};
    uint8_t buf[1024];
    size_t len = 0;
    struct qcc_err err = {0};
    cr_assert_eq(qcc_usage_encode(&u, buf, sizeof buf, &len, &err), 0);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
  }
  close(fd);
}

/* The seed as qcc-run hands it over (one pass over the file, usagelog.h):
 * records from the time seed_begin names, decoded, then seed_end. */
struct pass {
  struct qcc_budgetgate *g;
  int64_t since;
};

static int pass_one(const struct qcc_jraw *raw, void *ud) {
  struct pass *p = ud;
  struct qcc_usage_rec r;
  struct qcc_err err = {0};
  if (raw->time_ms >= p->since && qcc_usage_decode(raw, &r, &err) == 0)
    qcc_budgetgate_seed_record(p->g, &r);
  return 0;
}

static void seed_from(struct qcc_budgetgate *g, const char *path) {
  struct pass p = {g, qcc_budgetgate_seed_begin(g)};
  const uint8_t *buf = NULL;
  size_t len = 0;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usage_map(path, &buf, &len, &err), 0, "%s", err.msg);
  struct qcc_jscan_result res;
  if (len > 0 && p.since != INT64_MAX) qcc_usage_scan(buf, len, pass_one, &p, &res);
  qcc_usage_unmap(buf, len);
  qcc_budgetgate_seed_end(g);
}

struct env {
  struct pfix f;
  struct qcc_router *r;
  struct qcc_budgetgate *g;
  char dir[64], path[128];
};

static void start(struct env *e, const char *daily, const struct rec *r, size_t n) {
  char *c = config(daily);
  e->f = pfix_build(c);
  free(c);
  snprintf(e->dir, sizeof e->dir, "/tmp/qcc-bg-XXXXXX");
  cr_assert_not_null(mkdtemp(e->dir));
  snprintf(e->path, sizeof e->path, "%s/%s", e->dir, QCC_USAGE_FILE);
  if (r != NULL) write_file(e->path, e->f.t, r, n);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_router_new(NULL, &e->r, &err), 0);
  cr_assert_eq(qcc_router_attach(e->r, e->f.t, qcc_runtime_now_ms(), &err), 0);
  cr_assert_eq(qcc_budgetgate_new(e->r, &e->g, &err), 0);
  cr_assert_eq(qcc_budgetgate_load(e->g, e->f.t, &err), 1, "the first load asks for a seed: %s",
               err.msg);
  cr_assert_null(qcc_budgetgate_budget(e->g), "not before the seed");
  seed_from(e->g, e->path);
}

static void stop(struct env *e) {
  qcc_budgetgate_free(&e->g);
  qcc_router_free(&e->r);
  pfix_free(&e->f);
  unlink(e->path);
  rmdir(e->dir);
}

static bool budget_rest(struct env *e, uint32_t i, uint64_t *until_ms) {
  struct qcc_route_snapshot s;
  uint64_t now = qcc_runtime_now_ms();
  cr_assert_eq(qcc_router_snapshot(e->r, i, now, &s), 0);
  if (until_ms != NULL) *until_ms = s.rest_until > now ? s.rest_until - now : 0;
  return s.budget_spent;
}

static int64_t next_utc_midnight(int64_t now) { return now - now % 86400 + 86400; }

Test(budgetgate, seeds_from_this_month_and_rests_spent_endpoints) {
  int64_t now = qcc_budgetgate_now();
  /* today: e1 spent 0.6 + 0.5 USD of its 1 USD; alice 120 tokens of 100.
   * Last month (40 days ago) counts for nothing. */
  const struct rec r[] = {
      {"e1", "alice", 60, 600000000000, now - (now % 86400 > 10 ? 5 : 0)},
      {"e1", "bob", 10, 500000000000, now - (now % 86400 > 10 ? 3 : 0)},
      {"e2", "alice", 60, 0, now - (now % 86400 > 10 ? 2 : 0)},
      {"e2", "bob", 5000, 0, now - 40 * 86400},
  };
  struct env e;
  start(&e, "1", r, 4);
  cr_assert_eq(qcc_budgetgate_seeded(e.g), 3, "the record of 40 days ago is not this month's");
  uint64_t left_ms = 0;
  cr_assert(budget_rest(&e, 0, &left_ms), "e1 spent 1.1 of 1 USD today");
  int64_t want = (next_utc_midnight(now) - now) * 1000;
  cr_assert(llabs((long long)left_ms - (long long)want) <= 2000, "rests to the midnight: %llu vs %lld",
            (unsigned long long)left_ms, (long long)want);
  cr_assert_not(budget_rest(&e, 1, NULL), "e2: 60 of 1000 tokens today");
  int64_t w = qcc_budgetgate_client_wait(e.g, 0);
  cr_assert(w >= next_utc_midnight(now) - now - 2 && w <= next_utc_midnight(now) - now + 2,
            "alice (120 of 100 tokens) waits until midnight: %lld", (long long)w);
  cr_assert_eq(qcc_budgetgate_client_wait(e.g, 1), 0, "bob has no budget");
  cr_assert_eq(qcc_budgetgate_client_wait(e.g, QCC_BUDGET_NONE), 0);
  stop(&e);
}

Test(budgetgate, a_request_that_spends_the_budget_rests_its_endpoint) {
  struct env e;
  start(&e, "1", NULL, 0); /* no file yet: zero */
  cr_assert_eq(qcc_budgetgate_seeded(e.g), 0);
  struct qcc_usage_tokens t = {500, 400, 0, 0, 0};
  uint64_t sid2 = qcc_table_endpoint(e.f.t, 1)->stable_id;
  qcc_budgetgate_add(e.g, sid2, 1, &t, 0);
  cr_assert_not(budget_rest(&e, 1, NULL), "900 of 1000 tokens");
  t.input = 100; /* 1000: the cap is reached */
  t.output = 0;
  qcc_budgetgate_add(e.g, sid2, 1, &t, 0);
  cr_assert(budget_rest(&e, 1, NULL));
  struct qcc_budget_left d;
  cr_assert_eq(qcc_budget_endpoint_remaining(qcc_budgetgate_budget(e.g), 1, QCC_BUDGET_DAY,
                                             qcc_budgetgate_now(), &d), 0);
  cr_assert_eq(d.spent_tokens, 1000);
  cr_assert_eq(d.tokens, 0);
  /* an unknown count adds nothing; an unknown endpoint counts only for the client */
  struct qcc_usage_tokens u = {QCC_USAGE_UNKNOWN, 50, 0, 0, 0};
  qcc_budgetgate_add(e.g, 12345, 0, &u, 0);
  cr_assert_eq(qcc_budgetgate_client_wait(e.g, 0), 0, "alice: 50 of 100");
  qcc_budgetgate_add(e.g, 0, 0, &u, 0);
  cr_assert_gt(qcc_budgetgate_client_wait(e.g, 0), 0, "alice: 100 of 100 reaches the cap");
  stop(&e);
}

Test(budgetgate, a_reload_keeps_spending_and_a_raised_budget_lifts_the_rest) {
  int64_t now = qcc_budgetgate_now();
  const struct rec r[] = {{"e1", "", 10, 2000000000000, now}}; /* 2 USD */
  struct env e;
  start(&e, "1", r, 1);
  cr_assert(budget_rest(&e, 0, NULL));
  /* the same budget again: still resting, spending kept (not re-seeded) */
  struct qcc_err err = {0};
  unlink(e.path);
  cr_assert_eq(qcc_budgetgate_load(e.g, e.f.t, &err), 0);
  cr_assert(budget_rest(&e, 0, NULL), "spending carried over the load");
  /* raised to 5 USD: the rest is lifted at the load */
  char *c = config("5");
  struct pfix f2 = pfix_build(c);
  free(c);
  cr_assert_eq(qcc_router_attach(e.r, f2.t, qcc_runtime_now_ms(), &err), 0);
  cr_assert_eq(qcc_budgetgate_load(e.g, f2.t, &err), 0);
  cr_assert_not(budget_rest(&e, 0, NULL));
  pfix_free(&e.f);
  e.f = f2;
  stop(&e);
}
