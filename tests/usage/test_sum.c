/* The status page's usage sums (runtime/usagesum.h), with an injected clock:
 * buckets roll over at hour and day boundaries (also in a zone east of UTC),
 * old ones drop, memory stays bounded, and seeding from a usage file (detail
 * records and hourly rollups) gives exactly what incremental adds gave. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "runtime/usagelog.h"
#include "runtime/usagesum.h"

#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)
/* 2026-12-06T00:00:00Z */
#define T0 INT64_C(1796515200000)
/* USD in the record's cost unit */
#define USD(x) ((int64_t)((x) * QCC_USAGESUM_COST_PER_USD))

static void zone(const char *tz) {
  setenv("TZ", tz, 1);
  tzset();
}

static struct qcc_usage_rec rec(int64_t t, const char *ep, const char *model, int64_t input,
                                int64_t output, int64_t cost) {
  struct qcc_usage_rec r = {
      .type = QCC_USAGE_REC_REQUEST, .time_ms = t, .input = input, .output = output,
      .cache_write_5m = 3, .cache_write_1h = 2, .cache_read = 100, .cost = cost,
      .requests = 1, .no_price = cost == QCC_USAGE_NO_PRICE ? 1 : 0, .status = 200,
      .request_id = "", .endpoint = ep, .profile = "p", .model = model,
      .upstream_model = model, .client = "", .session = ""};
  return r;
}

static int64_t all_tokens(const struct qcc_usagesum_bucket *b) {
  return b->tokens.input + b->tokens.output + b->tokens.cache_write_5m +
         b->tokens.cache_write_1h + b->tokens.cache_read;
}

static struct qcc_usagesum *fresh(void) {
  struct qcc_usagesum *s = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usagesum_new(&s, &err), 0);
  return s;
}

static struct qcc_usagesum_bucket at(struct qcc_usagesum *s, enum qcc_usagesum_span span,
                                     const char *ep, unsigned i, int64_t now) {
  struct qcc_usagesum_bucket b;
  qcc_usagesum_bucket(s, span, ep, NULL, i, now, &b);
  return b;
}

Test(usage_sum, hours_roll_over_and_drop) {
  zone("UTC");
  struct qcc_usagesum *s = fresh();
  int64_t now = T0 + 10 * HOUR_MS + 59 * 60000; /* 10:59 */
  struct qcc_usage_rec r = rec(now - 60000, "a", "m", 10, 20, QCC_USAGE_NO_PRICE);
  qcc_usagesum_add(s, &r, now);
  struct qcc_usagesum_bucket b = at(s, QCC_USAGESUM_HOURLY, NULL, 47, now);
  cr_expect_eq(b.requests, 1);
  cr_expect_eq(all_tokens(&b), 10 + 20 + 3 + 2 + 100);
  cr_expect_eq(qcc_usagesum_start_ms(QCC_USAGESUM_HOURLY, now), T0 + 10 * HOUR_MS - 47 * HOUR_MS);
  /* two minutes later it is 11:01: the record is in the previous hour */
  now += 2 * 60000;
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 47, now).requests, 0);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 46, now).requests, 1);
  r = rec(now, "a", "m", 1, 1, QCC_USAGE_NO_PRICE);
  qcc_usagesum_add(s, &r, now);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 47, now).tokens.input, 1);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 46, now).tokens.input, 10);
  /* 10:xx is bucket 0 when it is 09:xx two days later, gone an hour after;
   * the current hour's slot is reused cleanly */
  int64_t later = T0 + 2 * DAY_MS + 9 * HOUR_MS + 30 * 60000;
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 0, later).tokens.input, 10);
  later += HOUR_MS;
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 0, later).tokens.input, 1);
  later += HOUR_MS;
  for (unsigned i = 0; i < QCC_USAGESUM_HOURS; i++)
    cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, i, later).requests, 0, "hour %u", i);
  r = rec(later, "a", "m", 5, 0, QCC_USAGE_NO_PRICE);
  qcc_usagesum_add(s, &r, later); /* same ring slot as 10:xx and 11:xx two days ago */
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 47, later).tokens.input, 5);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 47, later).requests, 1);
  /* the days still hold all three: 2 on day -2, 1 today */
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, NULL, 27, later).requests, 2);
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, NULL, 29, later).requests, 1);
  qcc_usagesum_free(&s);
  cr_expect_null(s);
}

Test(usage_sum, days_roll_over_and_drop) {
  zone("UTC");
  struct qcc_usagesum *s = fresh();
  int64_t now = T0 - 60000; /* 23:59 on Dec 5 */
  struct qcc_usage_rec r = rec(now, "a", "m", 7, 0, USD(2.5));
  qcc_usagesum_add(s, &r, now);
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, "a", 29, now).cost, USD(2.5));
  now = T0 + 60000; /* 00:01 on Dec 6 */
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, "a", 29, now).requests, 0);
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, "a", 28, now).tokens.input, 7);
  cr_expect_eq(qcc_usagesum_start_ms(QCC_USAGESUM_DAILY, now), T0 - 29 * DAY_MS);
  /* Dec 5 is bucket 0 on Jan 3, gone on Jan 4 */
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, "a", 0, T0 + 28 * DAY_MS).tokens.input, 7);
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, "a", 0, T0 + 29 * DAY_MS).requests, 0);
  /* a record from before the window adds nothing, not even a pair */
  struct qcc_usagesum *s2 = fresh();
  r = rec(now - 31 * DAY_MS, "old", "m", 7, 0, 0);
  qcc_usagesum_add(s2, &r, now);
  cr_expect_eq(qcc_usagesum_series_count(s2), 0);
  /* one from after NOW (a clock step) counts into the current buckets */
  r = rec(now + 5 * HOUR_MS, "new", "m", 9, 0, 0);
  qcc_usagesum_add(s2, &r, now);
  cr_expect_eq(at(s2, QCC_USAGESUM_HOURLY, "new", 47, now).tokens.input, 9);
  cr_expect_eq(at(s2, QCC_USAGESUM_DAILY, "new", 29, now).tokens.input, 9);
  qcc_usagesum_free(&s2);
  qcc_usagesum_free(&s);
}

/* Days are the zone's calendar days: in Shanghai (UTC+8) a day starts at
 * 16:00 UTC; hours stay UTC hours. */
Test(usage_sum, days_follow_the_zone) {
  if (access("/usr/share/zoneinfo/Asia/Shanghai", R_OK) != 0) cr_skip_test("no tz database");
  zone("Asia/Shanghai");
  struct qcc_usagesum *s = fresh();
  int64_t now = T0 + 16 * HOUR_MS + 30 * 60000; /* 00:30 on Dec 7 in Shanghai */
  cr_expect_eq(qcc_usagesum_start_ms(QCC_USAGESUM_DAILY, now), T0 + 16 * HOUR_MS - 29 * DAY_MS);
  /* Dec 6 23:59 and Dec 7 00:01 there */
  struct qcc_usage_rec r1 = rec(T0 + 15 * HOUR_MS + 59 * 60000, "a", "m", 1, 0, 0);
  struct qcc_usage_rec r2 = rec(T0 + 16 * HOUR_MS + 1 * 60000, "a", "m", 2, 0, 0);
  qcc_usagesum_add(s, &r1, now);
  qcc_usagesum_add(s, &r2, now);
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, "a", 29, now).tokens.input, 2);
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, "a", 28, now).tokens.input, 1);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, "a", 47, now).tokens.input, 2);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, "a", 46, now).tokens.input, 1);
  qcc_usagesum_free(&s);
}

/* Cost is shown in USD from the record's unit: the conversion follows the
 * unit schema/usage.h documents for the field (a change of unit there must
 * change QCC_USAGESUM_COST_PER_USD). */
Test(usage_sum, cost_unit_is_the_records) {
  const char *doc = NULL;
  for (size_t i = 0; i < qcc_usage_field_count; i++)
    if (strcmp(qcc_usage_fields[i].name, "cost") == 0) doc = qcc_usage_fields[i].doc;
  cr_assert_not_null(doc);
  const char *unit = QCC_USAGESUM_COST_PER_USD == 1e9    ? "nano-USD"
                     : QCC_USAGESUM_COST_PER_USD == 1e12 ? "pico-USD"
                                                         : "(an unknown unit)";
  cr_expect(strncmp(doc, unit, strlen(unit)) == 0,
            "QCC_USAGESUM_COST_PER_USD says %s, the record's cost is \"%s\"", unit, doc);
}

/* A zone change (usage.timezone on a reload): clear, then seed again. */
Test(usage_sum, clear_forgets_everything) {
  zone("UTC");
  struct qcc_usagesum *s = fresh();
  int64_t now = T0 + 12 * HOUR_MS;
  struct qcc_usage_rec r = rec(now, "a", "m", 5, 0, 0);
  qcc_usagesum_add(s, &r, now);
  cr_expect_eq(qcc_usagesum_series_count(s), 1);
  qcc_usagesum_clear(s);
  cr_expect_eq(qcc_usagesum_series_count(s), 0);
  cr_expect_eq(at(s, QCC_USAGESUM_DAILY, NULL, 29, now).requests, 0);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 47, now).requests, 0);
  qcc_usagesum_add(s, &r, now);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, "a", 47, now).tokens.input, 5, "usable again");
  qcc_usagesum_free(&s);
}

/* Unknown counts add nothing; rollups add their sums and request counts;
 * cost is the priced part. */
Test(usage_sum, counts_rollups_and_unpriced) {
  zone("UTC");
  struct qcc_usagesum *s = fresh();
  int64_t now = T0 + 12 * HOUR_MS;
  struct qcc_usage_rec r = rec(now, "a", "m", QCC_USAGE_UNKNOWN, 4, QCC_USAGE_NO_PRICE);
  r.unknown = 1;
  qcc_usagesum_add(s, &r, now);
  struct qcc_usage_rec u = rec(now - HOUR_MS, "a", "m", 1000, 500, USD(3));
  u.type = QCC_USAGE_REC_ROLLUP;
  u.requests = 12;
  u.no_price = 2;
  qcc_usagesum_add(s, &u, now);
  struct qcc_usagesum_bucket d = at(s, QCC_USAGESUM_DAILY, "a", 29, now);
  cr_expect_eq(d.requests, 13);
  cr_expect_eq(d.no_price, 3);
  cr_expect_eq(d.tokens.input, 1000);
  cr_expect_eq(d.tokens.output, 504);
  cr_expect_eq(d.cost, USD(3));
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, "a", 46, now).requests, 12);
  /* the model is the upstream one; without it the asked one */
  struct qcc_usage_rec m = rec(now, "a", "asked", 1, 0, 0);
  m.upstream_model = "mapped";
  qcc_usagesum_add(s, &m, now);
  m.upstream_model = "";
  qcc_usagesum_add(s, &m, now);
  struct qcc_usagesum_bucket b;
  qcc_usagesum_bucket(s, QCC_USAGESUM_HOURLY, "a", "mapped", 47, now, &b);
  cr_expect_eq(b.requests, 1);
  qcc_usagesum_bucket(s, QCC_USAGESUM_HOURLY, "a", "asked", 47, now, &b);
  cr_expect_eq(b.requests, 1);
  qcc_usagesum_free(&s);
}

/* Many models and endpoints: bounded pairs, nothing lost from the totals. */
Test(usage_sum, memory_is_bounded) {
  zone("UTC");
  struct qcc_usagesum *s = fresh();
  int64_t now = T0 + 12 * HOUR_MS;
  char ep[32], model[32];
  for (int i = 0; i < 20; i++) {
    snprintf(model, sizeof model, "model-%d", i);
    struct qcc_usage_rec r = rec(now, "a", model, 1, 0, 0);
    qcc_usagesum_add(s, &r, now);
  }
  struct qcc_usagesum_bucket b;
  qcc_usagesum_bucket(s, QCC_USAGESUM_HOURLY, "a", QCC_USAGESUM_OTHER, 47, now, &b);
  cr_expect_eq(b.requests, 20 - (QCC_USAGESUM_MAX_MODELS - 1), "the extra models count as _other");
  cr_expect_eq(qcc_usagesum_series_count(s), QCC_USAGESUM_MAX_MODELS);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, "a", 47, now).requests, 20);
  for (int i = 0; i < 300; i++) {
    snprintf(ep, sizeof ep, "ep-%d", i);
    struct qcc_usage_rec r = rec(now, ep, "m", 1, 0, 0);
    qcc_usagesum_add(s, &r, now);
  }
  cr_expect_eq(qcc_usagesum_series_count(s), QCC_USAGESUM_MAX_SERIES);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 47, now).requests, 320, "nothing lost");
  qcc_usagesum_bucket(s, QCC_USAGESUM_HOURLY, QCC_USAGESUM_OTHER, QCC_USAGESUM_OTHER, 47, now, &b);
  cr_expect_eq(b.requests, 300 - (QCC_USAGESUM_MAX_SERIES - QCC_USAGESUM_MAX_MODELS - 1));
  /* a month later the old pairs are stale: new endpoints get their own again */
  int64_t later = now + 31 * DAY_MS;
  struct qcc_usage_rec r = rec(later, "fresh", "m", 1, 0, 0);
  qcc_usagesum_add(s, &r, later);
  qcc_usagesum_bucket(s, QCC_USAGESUM_HOURLY, "fresh", "m", 47, later, &b);
  cr_expect_eq(b.requests, 1);
  cr_expect_eq(at(s, QCC_USAGESUM_HOURLY, NULL, 47, later).requests, 1);
  qcc_usagesum_free(&s);
}

static void observe(void *arg, const struct qcc_usage_rec *r) {
  struct qcc_usagesum **pair = arg;
  qcc_usagesum_add(pair[0], r, (int64_t)(intptr_t)pair[1]);
}

static void expect_same(struct qcc_usagesum *a, struct qcc_usagesum *b, int64_t now,
                        const char *what) {
  const char *eps[] = {NULL, "a", "b", "c"};
  const char *models[] = {NULL, "m1", "m2"};
  for (size_t e = 0; e < 4; e++)
    for (size_t m = 0; m < 3; m++)
      for (int span = 0; span < 2; span++) {
        unsigned n = span == 0 ? QCC_USAGESUM_HOURS : QCC_USAGESUM_DAYS;
        for (unsigned i = 0; i < n; i++) {
          struct qcc_usagesum_bucket x, y;
          qcc_usagesum_bucket(a, (enum qcc_usagesum_span)span, eps[e], models[m], i, now, &x);
          qcc_usagesum_bucket(b, (enum qcc_usagesum_span)span, eps[e], models[m], i, now, &y);
          cr_expect(memcmp(&x, &y, sizeof x) == 0, "%s: %s %s span %d bucket %u: %lld vs %lld",
                    what, eps[e] ? eps[e] : "*", models[m] ? models[m] : "*", span, i,
                    (long long)all_tokens(&x), (long long)all_tokens(&y));
        }
      }
  json_t *da = json_object(), *db = json_object();
  cr_assert_eq(qcc_usagesum_fill(a, da, now), 0);
  cr_assert_eq(qcc_usagesum_fill(b, db, now), 0);
  char *ja = json_dumps(da, JSON_SORT_KEYS), *jb = json_dumps(db, JSON_SORT_KEYS);
  cr_expect_str_eq(ja, jb, "%s: the documents differ", what);
  free(ja);
  free(jb);
  json_decref(da);
  json_decref(db);
}

/* Records written through the usage log while an observer adds them, over
 * 40 days (some before the window): a sum seeded from the file equals the
 * incremental one, and still does after the old detail is folded into
 * hourly rollups. */
Test(usage_sum, seeding_equals_incremental_adds) {
  zone("UTC");
  char dir[] = "/tmp/qcc-usagesum-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  int64_t now = T0 + 13 * HOUR_MS + 17 * 60000;
  struct qcc_usagesum *inc = fresh();
  void *pair[2] = {inc, (void *)(intptr_t)now};
  const struct qcc_usagelog_consumer obs = {.added = observe, .arg = pair};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_NO,
                                  .ret = {.detail_days = 2, .retention_days = 400},
                                  .consumers = &obs, .nconsumers = 1};
  struct qcc_usagelog *log = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &log, &err), 0, "%s", err.msg);
  const char *eps[] = {"a", "b", "c"}, *models[] = {"m1", "m2"};
  unsigned x = 12345;
  char id[32];
  for (int i = 0; i < 3000; i++) {
    x = x * 1103515245u + 12345u;
    int64_t t = now - (int64_t)(x % (unsigned)(40 * 24)) * HOUR_MS - (x >> 8) % HOUR_MS;
    int64_t cost = (x >> 4) % 3 == 0 ? QCC_USAGE_NO_PRICE : (int64_t)((x >> 6) % 100000);
    struct qcc_usage_rec r = rec(t, eps[(x >> 3) % 3], models[(x >> 5) % 2], (x >> 7) % 1000,
                                 (x >> 9) % 300, cost);
    if ((x >> 11) % 17 == 0) r.output = QCC_USAGE_UNKNOWN;
    snprintf(id, sizeof id, "req-%d", i);
    r.request_id = id;
    cr_assert_eq(qcc_usagelog_append(log, &r, &err), 0, "%s", err.msg);
  }
  struct qcc_usagesum *seeded = fresh();
  cr_assert_eq(qcc_usagesum_seed_file(seeded, qcc_usagelog_path(log), now, &err), 0, "%s", err.msg);
  cr_expect_gt(at(inc, QCC_USAGESUM_DAILY, NULL, 0, now).requests, 0);
  expect_same(inc, seeded, now, "detail records");
  struct qcc_usage_fold_stats st;
  cr_assert_eq(qcc_usagelog_rollup(log, now, &st, &err), 0, "%s", err.msg);
  cr_expect_gt(st.folded, 2000, "most records became rollups (%llu)",
               (unsigned long long)st.folded);
  cr_expect_gt(st.rollups, 0);
  struct qcc_usagesum *rolled = fresh();
  cr_assert_eq(qcc_usagesum_seed_file(rolled, qcc_usagelog_path(log), now, &err), 0, "%s", err.msg);
  expect_same(inc, rolled, now, "after the rollup");
  /* and an hour later, both have moved the same way */
  expect_same(inc, rolled, now + HOUR_MS, "an hour later");
  qcc_usagelog_close(&log);
  qcc_usagesum_free(&inc);
  qcc_usagesum_free(&seeded);
  qcc_usagesum_free(&rolled);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* Two readers of the usage file as qcc-run has them (the page's sums and
 * a budget-like reader that wants only the last 10 days). */
struct reader {
  struct qcc_usagesum *sum;
  int64_t now, since;
  unsigned begins, ends, seen, added;
};

static int64_t sum_begin(void *arg) {
  struct reader *rd = arg;
  rd->begins++;
  qcc_usagesum_clear(rd->sum);
  int64_t h = qcc_usagesum_start_ms(QCC_USAGESUM_HOURLY, rd->now);
  int64_t d = qcc_usagesum_start_ms(QCC_USAGESUM_DAILY, rd->now);
  return h < d ? h : d;
}
static void sum_seen(void *arg, const struct qcc_usage_rec *r) {
  struct reader *rd = arg;
  rd->seen++;
  qcc_usagesum_add(rd->sum, r, rd->now);
}
static void sum_added(void *arg, const struct qcc_usage_rec *r) {
  struct reader *rd = arg;
  rd->added++;
  qcc_usagesum_add(rd->sum, r, rd->now);
}
static int64_t count_begin(void *arg) {
  struct reader *rd = arg;
  rd->begins++;
  rd->seen = 0;
  return rd->since;
}
static void count_seen(void *arg, const struct qcc_usage_rec *r) {
  struct reader *rd = arg;
  cr_expect_geq(r->time_ms, rd->since, "a record from before the time it asked for");
  rd->seen++;
}
static void count_end(void *arg) { ((struct reader *)arg)->ends++; }

/* The usage log reads its file once at open and that one pass seeds every
 * reader: the page's sums equal the ones added record by record, the other
 * reader got exactly the records of its period; a rescan is again one pass
 * for both; new records go to the readers that follow them. */
Test(usage_sum, one_scan_seeds_every_reader) {
  zone("UTC");
  char dir[] = "/tmp/qcc-usagescan-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  int64_t now = T0 + 9 * HOUR_MS;
  struct qcc_usagesum *inc = fresh();
  void *pair[2] = {inc, (void *)(intptr_t)now};
  const struct qcc_usagelog_consumer obs = {.added = observe, .arg = pair};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_NO, .consumers = &obs,
                                  .nconsumers = 1};
  struct qcc_usagelog *log = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &log, &err), 0, "%s", err.msg);
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(log, &st);
  cr_expect_eq(st.scans, 1, "open reads the file once");
  struct reader cnt = {.now = now, .since = now - 10 * DAY_MS};
  unsigned want = 0;
  unsigned x = 777;
  char id[32];
  for (int i = 0; i < 500; i++) {
    x = x * 1103515245u + 12345u;
    int64_t t = now - (int64_t)(x % (unsigned)(25 * 24)) * HOUR_MS - (x >> 8) % HOUR_MS;
    struct qcc_usage_rec r = rec(t, (x >> 3) % 2 ? "a" : "b", "m1", (x >> 7) % 1000, 5, 100);
    snprintf(id, sizeof id, "req-%d", i);
    r.request_id = id;
    cr_assert_eq(qcc_usagelog_append(log, &r, &err), 0, "%s", err.msg);
    want += t >= cnt.since;
  }
  qcc_usagelog_close(&log);
  cr_assert_gt(want, 50);
  cr_assert_lt(want, 500);

  struct reader sum = {.sum = fresh(), .now = now};
  const struct qcc_usagelog_consumer both[] = {
      {.begin = sum_begin, .seen = sum_seen, .added = sum_added, .arg = &sum},
      {.begin = count_begin, .seen = count_seen, .end = count_end, .arg = &cnt}};
  p.consumers = both;
  p.nconsumers = 2;
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &log, &err), 0, "%s", err.msg);
  qcc_usagelog_get_stats(log, &st);
  cr_expect_eq(st.scans, 1, "one pass at open for both readers");
  cr_expect_eq(sum.begins, 1);
  cr_expect_eq(cnt.begins, 1);
  cr_expect_eq(cnt.ends, 1);
  cr_expect_eq(cnt.seen, want, "the period's records: %u, want %u", cnt.seen, want);
  cr_expect_eq(sum.seen, 500, "all 25 days are in the sums' window");
  expect_same(inc, sum.sum, now, "seeded by the shared pass");

  cr_assert_eq(qcc_usagelog_rescan(log, &err), 0, "%s", err.msg);
  qcc_usagelog_get_stats(log, &st);
  cr_expect_eq(st.scans, 2, "a rescan is one more pass, for both");
  cr_expect_eq(cnt.begins, 2);
  cr_expect_eq(cnt.seen, want);
  expect_same(inc, sum.sum, now, "made again by the rescan");

  struct qcc_usage_rec r = rec(now - 60000, "a", "m1", 7, 7, 7);
  r.request_id = "req-new";
  cr_assert_eq(qcc_usagelog_append(log, &r, &err), 0, "%s", err.msg);
  qcc_usagesum_add(inc, &r, now);
  cr_expect_eq(sum.added, 1);
  cr_expect_eq(cnt.seen, want, "a reader without `added` does not follow new records");
  expect_same(inc, sum.sum, now, "after a new record");
  qcc_usagelog_close(&log);
  qcc_usagesum_free(&inc);
  qcc_usagesum_free(&sum.sum);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* The page's document: the shape of docs/status-page.md, the numbers of
 * the buckets, cost null where nothing was priced. */
Test(usage_sum, the_document) {
  zone("UTC");
  struct qcc_usagesum *s = fresh();
  int64_t now = T0 + 12 * HOUR_MS + 5 * 60000;
  struct qcc_usage_rec r1 = rec(now - 60000, "a", "m1", 100, 50, USD(1.5));
  struct qcc_usage_rec r2 = rec(now - 2 * HOUR_MS, "a", "m2", 10, 5, QCC_USAGE_NO_PRICE);
  struct qcc_usage_rec r3 = rec(now - 3 * DAY_MS, "b", "m1", 1, 1, 0);
  qcc_usagesum_add(s, &r1, now);
  qcc_usagesum_add(s, &r2, now);
  qcc_usagesum_add(s, &r3, now);
  json_t *doc = json_pack("{s:b,s:s,s:{s:[]},s:{s:[]},s:{s:[]}}", "available", 0, "note", "x",
                          "today", "endpoints", "hourly", "series", "daily", "series");
  cr_assert_eq(qcc_usagesum_fill(s, doc, now), 0);
  cr_expect(json_is_true(json_object_get(doc, "available")));
  cr_expect(json_is_null(json_object_get(doc, "note")));
  json_t *h = json_object_get(doc, "hourly");
  cr_expect_str_eq(json_string_value(json_object_get(h, "start")), "2026-12-04T13:00:00.000Z");
  cr_expect_eq(json_integer_value(json_object_get(h, "points")), 48);
  cr_expect_eq(json_array_size(json_object_get(h, "series")), 2, "b is not in the last 48 h");
  json_t *s0 = json_array_get(json_object_get(h, "series"), 0);
  cr_expect_str_eq(json_string_value(json_object_get(s0, "endpoint")), "a");
  cr_expect_str_eq(json_string_value(json_object_get(s0, "model")), "m1");
  cr_expect_eq(json_array_size(json_object_get(s0, "tokens")), 48);
  cr_expect_eq(json_integer_value(json_array_get(json_object_get(s0, "tokens"), 47)), 255);
  cr_expect_eq(json_integer_value(json_array_get(json_object_get(s0, "tokens"), 46)), 0);
  cr_expect_float_eq(json_real_value(json_array_get(json_object_get(s0, "cost"), 47)), 1.5, 1e-9);
  json_t *s1 = json_array_get(json_object_get(h, "series"), 1);
  cr_expect(json_is_null(json_array_get(json_object_get(s1, "cost"), 45)), "no price: null");
  cr_expect_eq(json_real_value(json_array_get(json_object_get(s1, "cost"), 44)), 0.0,
               "an empty bucket costs 0");
  json_t *d = json_object_get(doc, "daily");
  cr_expect_str_eq(json_string_value(json_object_get(d, "start")), "2026-11-07T00:00:00.000Z");
  cr_expect_eq(json_array_size(json_object_get(d, "series")), 3);
  json_t *today = json_object_get(json_object_get(doc, "today"), "endpoints");
  cr_assert_eq(json_array_size(today), 1, "only a had usage today");
  json_t *a = json_array_get(today, 0);
  cr_expect_str_eq(json_string_value(json_object_get(a, "endpoint")), "a");
  cr_expect_eq(json_integer_value(json_object_get(a, "tokens")), 255 + 120);
  cr_expect_eq(json_integer_value(json_object_get(a, "input_tokens")), 110);
  cr_expect_eq(json_integer_value(json_object_get(a, "output_tokens")), 55);
  cr_expect_eq(json_integer_value(json_object_get(a, "cache_read_tokens")), 200);
  cr_expect_eq(json_integer_value(json_object_get(a, "cache_write_tokens")), 10);
  cr_expect_float_eq(json_real_value(json_object_get(a, "cost")), 1.5, 1e-9);
  cr_expect_eq(json_integer_value(json_object_get(a, "requests")), 2);
  cr_expect_eq(json_integer_value(json_object_get(a, "unpriced_requests")), 1);
  cr_expect(json_is_null(json_object_get(a, "budget_left")));
  json_decref(doc);
  qcc_usagesum_free(&s);
}
