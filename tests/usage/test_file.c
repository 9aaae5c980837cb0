/* The usage file: doc vs code, codec round trip, rollup and retention on a
 * synthetic year, and the writer's recovery (torn tail, damage, dedupe). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ev.h>

#include "runtime/usagelog.h"
#include "schema/journal.h"
#include "schema/usage.h"

#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  if (fread(p, 1, (size_t)n, f) != (size_t)n) n = 0;
  p[n] = '\0';
  fclose(f);
  if (len != NULL) *len = (size_t)n;
  return p;
}

Test(usage_file, a_doc_matches_code) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root);
  char path[4096], row[1024];
  snprintf(path, sizeof path, "%s/docs/usage.md", root);
  char *doc = slurp(path, NULL);
  cr_assert_not_null(doc, "cannot read %s", path);
  for (size_t i = 0; i < qcc_usage_field_count; i++) {
    const struct qcc_usage_field *f = &qcc_usage_fields[i];
    snprintf(row, sizeof row, "| %zu | `%s` | %s | %s |", i + 1, f->name, f->kind, f->doc);
    cr_expect_not_null(strstr(doc, row), "docs/usage.md lacks the row: %s", row);
  }
  snprintf(row, sizeof row, "| `magic` | `%.6s\\r\\n` |", QCC_USAGE_MAGIC);
  cr_expect_not_null(strstr(doc, row), "docs/usage.md lacks the row: %s", row);
  snprintf(row, sizeof row, "| `version_major` | %d |", QCC_USAGE_MAJOR);
  cr_expect_not_null(strstr(doc, row), "docs/usage.md lacks the row: %s", row);
  snprintf(row, sizeof row, "| %d | `request` |", QCC_USAGE_REC_REQUEST);
  cr_expect_not_null(strstr(doc, row), "docs/usage.md lacks the row: %s", row);
  snprintf(row, sizeof row, "| %d | `rollup` |", QCC_USAGE_REC_ROLLUP);
  cr_expect_not_null(strstr(doc, row), "docs/usage.md lacks the row: %s", row);
  snprintf(row, sizeof row, "| 0x%04x | `stream` |", QCC_USAGE_FLAG_STREAM);
  cr_expect_not_null(strstr(doc, row), "docs/usage.md lacks the row: %s", row);
  snprintf(row, sizeof row, "| 0x%04x | `partial` |", QCC_USAGE_FLAG_PARTIAL);
  cr_expect_not_null(strstr(doc, row), "docs/usage.md lacks the row: %s", row);
  cr_expect_not_null(strstr(doc, QCC_USAGE_FILE));
  free(doc);
}

static struct qcc_usage_rec sample(int64_t t, const char *id, const char *ep, const char *model,
                                   const char *client, const char *session) {
  struct qcc_usage_rec r = {
      .type = QCC_USAGE_REC_REQUEST, .flags = QCC_USAGE_FLAG_STREAM, .time_ms = t,
      .endpoint_sid = 0x1234, .input = 10, .output = 20, .cache_write_5m = 30,
      .cache_write_1h = 4, .cache_read = 500, .cost = QCC_USAGE_NO_PRICE, .requests = 1,
      .no_price = 1, .attempts = 1, .status = 200, .request_id = id, .endpoint = ep,
      .profile = "main", .model = model, .upstream_model = model, .client = client,
      .session = session};
  return r;
}

Test(usage_file, round_trip) {
  struct qcc_usage_rec r = sample(1765000000123, "abcdef0123456789", "ep-1", "claude-x", "alice",
                                  "sess-1");
  r.input = QCC_USAGE_UNKNOWN;
  r.unknown = 1;
  r.flags |= QCC_USAGE_FLAG_PARTIAL;
  uint8_t file[4096];
  qcc_usage_header_encode(file, 1);
  size_t len;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usage_encode(&r, file + 32, sizeof file - 32, &len, &err), 0, "%s", err.msg);
  cr_expect_eq(len % 8, 0);
  struct got {
    struct qcc_usage_rec r;
    int n;
  } g = {.n = 0};
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_usage_scan(file, 32 + len, NULL, NULL, &res), 0);
  cr_expect_eq(res.records, 1);
  /* decode by hand */
  struct qcc_jraw raw = {.offset = 32, .type = QCC_USAGE_REC_REQUEST, .flags = r.flags,
                         .time_ms = r.time_ms, .payload = file + 32 + 16,
                         .payload_len = (uint32_t)(file[32] | file[33] << 8)};
  cr_assert_eq(qcc_usage_decode(&raw, &g.r, &err), 0, "%s", err.msg);
  cr_expect_eq(g.r.input, QCC_USAGE_UNKNOWN);
  cr_expect_eq(g.r.cache_read, 500);
  cr_expect_eq(g.r.cost, QCC_USAGE_NO_PRICE);
  cr_expect_eq(g.r.flags, QCC_USAGE_FLAG_STREAM | QCC_USAGE_FLAG_PARTIAL);
  cr_expect_str_eq(g.r.request_id, "abcdef0123456789");
  cr_expect_str_eq(g.r.client, "alice");
  cr_expect_str_eq(g.r.session, "sess-1");
  /* a journal is not a usage file, and the other way round */
  uint8_t jh[32];
  qcc_journal_header_encode(jh, 1);
  cr_expect_neq(qcc_usage_scan(jh, 32, NULL, NULL, &res), 0);
  cr_expect_eq(res.status, QCC_JSCAN_NOT_JOURNAL);
  /* a cut record is a torn tail at every cut */
  for (size_t cut = 33; cut < 32 + len; cut++) {
    qcc_usage_scan(file, cut, NULL, NULL, &res);
    cr_expect_eq(res.status, QCC_JSCAN_TORN_TAIL, "cut %zu", cut);
    cr_expect_eq(res.ok_up_to, 32);
  }
}

/* ---- a synthetic year ---- */
struct tally {
  uint64_t requests, rollups, details;
  int64_t input, cache_read;
  int64_t oldest;
};

static int tally_cb(const struct qcc_jraw *raw, void *ud) {
  struct tally *t = ud;
  struct qcc_usage_rec r;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usage_decode(raw, &r, &err), 0, "%s", err.msg);
  t->requests += r.requests;
  if (r.type == QCC_USAGE_REC_ROLLUP) t->rollups++;
  else t->details++;
  t->input += r.input > 0 ? r.input : 0;
  t->cache_read += r.cache_read > 0 ? r.cache_read : 0;
  if (r.time_ms < t->oldest) t->oldest = r.time_ms;
  cr_expect(r.type != QCC_USAGE_REC_ROLLUP || r.session[0] == '\0', "rollups drop sessions");
  return 0;
}

static void tally_file(const char *path, struct tally *t) {
  memset(t, 0, sizeof *t);
  t->oldest = INT64_MAX;
  const uint8_t *buf;
  size_t len;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usage_map(path, &buf, &len, &err), 0, "%s", err.msg);
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_usage_scan(buf, len, tally_cb, t, &res), 0, "%s", res.why);
  qcc_usage_unmap(buf, len);
}

Test(usage_file, rollup_and_retention_on_a_synthetic_year, .timeout = 120) {
  char dir[] = "/tmp/qcc-usage-year-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct qcc_usagelog *l;
  struct qcc_err err = {0};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_NO};
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &l, &err), 0, "%s", err.msg);
  /* 430 days back from NOW, 240 requests a day (3 endpoint/model/client
   * combinations, a session each), appended in time order */
  const int64_t now = INT64_C(1767225600000); /* 2026-01-01T00:00Z */
  const int days = 430, per_day = 240;
  static const char *eps[] = {"ep-a", "ep-b", "ep-c"}, *models[] = {"claude-a", "claude-b"},
                    *clients[] = {"alice", "bob", "carol", ""};
  uint64_t in_retention = 0, in_detail = 0;
  int64_t in_retention_input = 0;
  const int64_t keep_cut = now - 400 * DAY_MS, detail_cut = now - 30 * DAY_MS;
  for (int d = days; d >= 1; d--) {
    for (int i = 0; i < per_day; i++) {
      int64_t t = now - d * DAY_MS + i * (DAY_MS / per_day) + 17;
      char id[24], sess[24];
      snprintf(id, sizeof id, "%08x%08x", d, i);
      snprintf(sess, sizeof sess, "s-%d-%d", d, i % 3);
      struct qcc_usage_rec r =
          sample(t, id, eps[i % 3], models[i % 3 == 0], clients[i % 3 == 0 ? 3 : i % 3], sess);
      r.input = i; /* varies, to catch mixed-up sums */
      cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
      if (t >= keep_cut) {
        in_retention++;
        in_retention_input += i;
      }
      if (t >= detail_cut) in_detail++;
    }
  }
  /* the same request id again is never recorded twice */
  struct qcc_usage_rec again = sample(now - DAY_MS + 17, "0000000100000000", "ep-a", "claude-a",
                                      "alice", "s");
  cr_expect_eq(qcc_usagelog_append(l, &again, &err), 1);
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(l, &st);
  cr_expect_eq(st.duplicates, 1);
  size_t before = st.size;
  struct qcc_usage_fold_stats fs;
  cr_assert_eq(qcc_usagelog_rollup(l, now, &fs, &err), 0, "%s", err.msg);
  cr_expect_eq(fs.kept, in_detail);
  cr_expect_eq(fs.folded + fs.kept + fs.dropped, (uint64_t)days * per_day);
  struct tally t;
  tally_file(qcc_usagelog_path(l), &t);
  cr_expect_eq(t.requests, in_retention, "requests kept %llu, want %llu",
               (unsigned long long)t.requests, (unsigned long long)in_retention);
  cr_expect_eq(t.input, in_retention_input);
  cr_expect_eq(t.cache_read, (int64_t)in_retention * 500);
  cr_expect_eq(t.details, in_detail);
  cr_expect_geq(t.oldest, keep_cut - HOUR_MS);
  cr_expect_lt(fs.size_after, before / 2, "rollup shrinks the file: %zu -> %llu", before,
               (unsigned long long)fs.size_after);
  /* rolling up again changes nothing */
  struct tally t2;
  cr_assert_eq(qcc_usagelog_rollup(l, now, &fs, &err), 0, "%s", err.msg);
  cr_expect_eq(fs.folded, 0);
  tally_file(qcc_usagelog_path(l), &t2);
  cr_expect_eq(t2.requests, t.requests);
  cr_expect_eq(t2.rollups, t.rollups);
  /* appends go on after the rewrite */
  struct qcc_usage_rec r = sample(now + 5, "after-rollup-000", "ep-a", "claude-a", "alice", "s");
  cr_expect_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  tally_file(qcc_usagelog_path(l), &t2);
  cr_expect_eq(t2.requests, t.requests + 1);
  qcc_usagelog_close(&l);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

Test(usage_file, writer_cuts_a_torn_tail_and_moves_damage_aside) {
  char dir[] = "/tmp/qcc-usage-torn-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct qcc_usagelog *l;
  struct qcc_err err = {0};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_ALWAYS};
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &l, &err), 0, "%s", err.msg);
  int64_t now = INT64_C(1767225600000);
  for (int i = 0; i < 3; i++) {
    char id[24];
    snprintf(id, sizeof id, "req-%d", i);
    struct qcc_usage_rec r = sample(now + i, id, "ep-a", "m", "alice", "s");
    cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  }
  char path[4200];
  snprintf(path, sizeof path, "%s", qcc_usagelog_path(l));
  qcc_usagelog_close(&l);
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0);
  /* a record cut in the middle: the tail is cut, the 2 whole ones stay */
  cr_assert_eq(truncate(path, sb.st_size - 9), 0);
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &l, &err), 0, "%s", err.msg);
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(l, &st);
  cr_expect_gt(st.truncated, 0);
  /* the request ids read back are still deduped after a restart */
  struct qcc_usage_rec r0 = sample(now, "req-0", "ep-a", "m", "alice", "s");
  cr_expect_eq(qcc_usagelog_append(l, &r0, &err), 1);
  /* req-2 was cut off: recording it now is fine */
  struct qcc_usage_rec r2 = sample(now + 2, "req-2", "ep-a", "m", "alice", "s");
  cr_expect_eq(qcc_usagelog_append(l, &r2, &err), 0);
  qcc_usagelog_close(&l);
  struct tally t;
  tally_file(path, &t);
  cr_expect_eq(t.requests, 3);
  /* damage in the middle: moved aside, a new file started */
  int fd = open(path, O_RDWR);
  cr_assert_geq(fd, 0);
  uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  cr_assert_eq(pwrite(fd, junk, 8, 32 + 24), 8);
  close(fd);
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &l, &err), 0, "%s", err.msg);
  qcc_usagelog_get_stats(l, &st);
  cr_expect(st.moved_aside);
  qcc_usagelog_close(&l);
  tally_file(path, &t);
  cr_expect_eq(t.requests, 0);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "ls %s | grep -c damaged >/dev/null && rm -rf %s", dir, dir);
  cr_expect_eq(system(cmd), 0, "the damaged file was kept");
}

static void give_up(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

static void poll_rollup(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(w->data, &st);
  if (st.rollups > 0) ev_break(loop, EVBREAK_ALL);
}

Test(usage_file, the_daily_rollup_runs_on_a_thread_and_keeps_what_came_meanwhile) {
  char dir[] = "/tmp/qcc-usage-async-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct qcc_usagelog *l;
  struct qcc_err err = {0};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_EVERYSEC};
  cr_assert_eq(qcc_usagelog_open(loop, &p, &l, &err), 0, "%s", err.msg);
  const int64_t now = INT64_C(1767225600000);
  char id[32];
  for (int i = 0; i < 2000; i++) { /* 60 days ago: to be folded */
    snprintf(id, sizeof id, "old-%d", i);
    struct qcc_usage_rec r = sample(now - 60 * DAY_MS + i, id, "ep-a", "m", "alice", "s");
    cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  }
  qcc_usagelog_rollup_async(l, now);
  for (int i = 0; i < 5; i++) { /* while it folds: kept */
    snprintf(id, sizeof id, "new-%d", i);
    struct qcc_usage_rec r = sample(now + i, id, "ep-a", "m", "alice", "s");
    cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  }
  ev_timer poll, limit;
  ev_timer_init(&poll, poll_rollup, 0.01, 0.01);
  poll.data = l;
  ev_timer_init(&limit, give_up, 20., 0.);
  ev_timer_start(loop, &poll);
  ev_timer_start(loop, &limit);
  ev_run(loop, 0);
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(l, &st);
  cr_assert_eq(st.rollups, 1, "the rollup finished");
  struct qcc_usage_rec r = sample(now + 99, "after", "ep-a", "m", "alice", "s");
  cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  ev_run(loop, EVRUN_NOWAIT); /* the iteration's end writes it */
  struct tally t;
  tally_file(qcc_usagelog_path(l), &t);
  cr_expect_eq(t.requests, 2006);
  cr_expect_eq(t.details, 6, "the 5 written meanwhile and 1 after stay detail");
  cr_expect_eq(t.rollups, 1, "2,000 old ones in one hour fold into one rollup");
  ev_timer_stop(loop, &poll);
  ev_timer_stop(loop, &limit);
  qcc_usagelog_close(&l);
  ev_loop_destroy(loop);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* A reload's usage.detail_retention / usage.retention (main.c passes them
 * with qcc_usagelog_set_retention) rule the next rollup; the pricing fields
 * of a record survive the fold into a rollup. */
Test(usage_file, retention_set_after_open_rules_the_next_rollup) {
  char dir[] = "/tmp/qcc-usage-ret-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct qcc_usagelog *l;
  struct qcc_err err = {0};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_NO};
  cr_assert_eq(qcc_usagelog_open(NULL, &p, &l, &err), 0, "%s", err.msg);
  const int64_t day = INT64_C(86400000), now = INT64_C(1767225600000);
  /* 10 and 3 days old, priced in part: 2 pico-USD + 7 unpriced tokens each */
  for (int i = 0; i < 2; i++) {
    char id[24];
    snprintf(id, sizeof id, "req-%d", i);
    struct qcc_usage_rec r = sample(now - (i == 0 ? 10 : 3) * day, id, "ep-a", "m", "alice", "s");
    r.cost = 2;
    r.no_price = 0;
    r.partly_priced = 1;
    r.unpriced_tokens = 7;
    cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  }
  struct qcc_usage_fold_stats fs;
  /* the defaults (30 days of detail): nothing to fold */
  cr_assert_eq(qcc_usagelog_rollup(l, now, &fs, &err), 0, "%s", err.msg);
  cr_expect_eq(fs.folded, 0);
  /* detail 5 days: the 10-day-old record folds; retention 7 days: ... and
   * then drops, the 3-day-old one stays a request record */
  struct qcc_usage_retention ret = {.detail_days = 5, .retention_days = 400};
  qcc_usagelog_set_retention(l, &ret);
  cr_assert_eq(qcc_usagelog_rollup(l, now, &fs, &err), 0, "%s", err.msg);
  cr_expect_eq(fs.folded, 1);
  cr_expect_eq(fs.kept, 1);
  struct tally t;
  tally_file(qcc_usagelog_path(l), &t);
  cr_expect_eq(t.rollups, 1);
  cr_expect_eq(t.details, 1);
  ret.retention_days = 7;
  qcc_usagelog_set_retention(l, &ret);
  cr_assert_eq(qcc_usagelog_rollup(l, now, &fs, &err), 0, "%s", err.msg);
  cr_expect_eq(fs.dropped, 1);
  tally_file(qcc_usagelog_path(l), &t);
  cr_expect_eq(t.rollups + t.details, 1);
  char path[4200];
  snprintf(path, sizeof path, "%s", qcc_usagelog_path(l));
  qcc_usagelog_close(&l);
  unlink(path);
  rmdir(dir);
}

static int pricing_cb(const struct qcc_jraw *raw, void *ud) {
  struct qcc_usage_rec *out = ud;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_usage_decode(raw, out, &err), 0, "%s", err.msg);
  return 0;
}

Test(usage_file, pricing_fields_sum_in_a_rollup) {
  uint8_t in[4096], img[8192];
  size_t off = 32, len;
  struct qcc_err err = {0};
  qcc_usage_header_encode(in, 1);
  const int64_t hour = INT64_C(3600000), t0 = INT64_C(1700000000000) / hour * hour;
  int64_t cost[3] = {5, QCC_USAGE_NO_PRICE, 1000000000000};
  for (int i = 0; i < 3; i++) {
    char id[8];
    snprintf(id, sizeof id, "r%d", i);
    struct qcc_usage_rec r = sample(t0 + i, id, "ep", "m", "c", "s");
    r.cost = cost[i];
    r.no_price = cost[i] == QCC_USAGE_NO_PRICE;
    r.partly_priced = i == 0;
    r.unpriced_tokens = i == 0 ? 4 : i == 1 ? 564 : 0;
    cr_assert_eq(qcc_usage_encode(&r, in + off, sizeof in - off, &len, &err), 0);
    off += len;
  }
  FILE *f = tmpfile();
  cr_assert_not_null(f);
  struct qcc_usage_retention ret = {.detail_days = 1, .retention_days = 400};
  struct qcc_usage_fold_stats st;
  cr_assert_eq(qcc_usage_fold(in, off, t0 + 10 * 24 * hour, &ret, fileno(f), &st, &err), 0, "%s",
               err.msg);
  cr_expect_eq(st.rollups, 1);
  size_t n = (size_t)pread(fileno(f), img, sizeof img, 0);
  fclose(f);
  struct qcc_usage_rec r;
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_usage_scan(img, n, pricing_cb, &r, &res), 0);
  cr_expect_eq(r.type, QCC_USAGE_REC_ROLLUP);
  cr_expect_eq(r.cost, 1000000000005, "pico-USD of the priced requests, exactly");
  cr_expect_eq(r.no_price, 1);
  cr_expect_eq(r.partly_priced, 1);
  cr_expect_eq(r.unpriced_tokens, 568);
}

static void poll_fsync(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(w->data, &st);
  if (st.fsyncs > 0) ev_break(loop, EVBREAK_ALL);
}

static uint64_t file_size(const char *path) {
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0);
  return (uint64_t)sb.st_size;
}

/* With a loop, the records appended in one iteration reach the file in one
 * write() when the loop is about to block (or when the buffer fills), close
 * writes what is left, and everysec syncs from its own thread. */
Test(usage_file, one_write_per_loop_iteration) {
  char dir[] = "/tmp/qcc-usage-batch-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct qcc_usagelog *l;
  struct qcc_err err = {0};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_EVERYSEC};
  cr_assert_eq(qcc_usagelog_open(loop, &p, &l, &err), 0, "%s", err.msg);
  char path[4200];
  snprintf(path, sizeof path, "%s", qcc_usagelog_path(l));
  uint64_t empty = file_size(path);
  const int64_t now = INT64_C(1767225600000);
  char id[32];
  for (int i = 0; i < 50; i++) {
    snprintf(id, sizeof id, "a-%d", i);
    struct qcc_usage_rec r = sample(now + i, id, "ep-a", "m", "alice", "s");
    cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  }
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(l, &st);
  cr_expect_eq(st.records, 50);
  cr_expect_eq(st.writes, 0, "nothing written while the iteration runs");
  cr_expect_eq(file_size(path), empty);
  struct qcc_usage_rec dup = sample(now, "a-7", "ep-a", "m", "alice", "s");
  cr_expect_eq(qcc_usagelog_append(l, &dup, &err), 1, "a buffered id is already recorded");
  ev_run(loop, EVRUN_NOWAIT);
  qcc_usagelog_get_stats(l, &st);
  cr_expect_eq(st.writes, 1, "50 records, one write: %llu", (unsigned long long)st.writes);
  struct tally t;
  tally_file(path, &t);
  cr_expect_eq(t.requests, 50);
  cr_expect_eq(st.size, file_size(path));
  uint64_t rec_bytes = (file_size(path) - empty) / 50 * 1000;
  /* more than the buffer holds in one iteration: written as it fills */
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "b-%d", i);
    struct qcc_usage_rec r = sample(now + i, id, "ep-a", "m", "alice", "s");
    cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  }
  qcc_usagelog_get_stats(l, &st);
  cr_expect_geq(st.writes, 1 + rec_bytes / 65536, "the full buffer was written (%llu writes, %llu bytes)",
                (unsigned long long)st.writes, (unsigned long long)rec_bytes);
  ev_run(loop, EVRUN_NOWAIT);
  tally_file(path, &t);
  cr_expect_eq(t.requests, 1050);
  qcc_usagelog_get_stats(l, &st);
  cr_expect_leq(st.writes, 2 + rec_bytes / 65536, "%llu writes for %llu bytes",
                (unsigned long long)st.writes, (unsigned long long)rec_bytes);
  /* everysec: the thread syncs within about a second (20 s for a loaded machine) */
  ev_timer poll, limit;
  ev_timer_init(&poll, poll_fsync, 0.05, 0.05);
  poll.data = l;
  ev_timer_init(&limit, give_up, 20., 0.);
  ev_timer_start(loop, &poll);
  ev_timer_start(loop, &limit);
  ev_run(loop, 0);
  ev_timer_stop(loop, &poll);
  ev_timer_stop(loop, &limit);
  qcc_usagelog_get_stats(l, &st);
  cr_expect_gt(st.fsyncs, 0, "the fsync thread synced the records");
  /* close writes what the loop did not */
  for (int i = 0; i < 3; i++) {
    snprintf(id, sizeof id, "c-%d", i);
    struct qcc_usage_rec r = sample(now + i, id, "ep-a", "m", "alice", "s");
    cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  }
  qcc_usagelog_close(&l);
  tally_file(path, &t);
  cr_expect_eq(t.requests, 1053);
  ev_loop_destroy(loop);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* fsync `always` with a loop: each record is written and synced at once
 * (before the exchange's answer ends), not at the iteration's end. */
Test(usage_file, always_writes_and_syncs_each_record_at_once) {
  char dir[] = "/tmp/qcc-usage-always-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct qcc_usagelog *l;
  struct qcc_err err = {0};
  struct qcc_usagelog_params p = {.dir = dir, .policy = QCC_FSYNC_ALWAYS};
  cr_assert_eq(qcc_usagelog_open(loop, &p, &l, &err), 0, "%s", err.msg);
  struct qcc_usage_rec r = sample(INT64_C(1767225600000), "one", "ep-a", "m", "alice", "s");
  cr_assert_eq(qcc_usagelog_append(l, &r, &err), 0, "%s", err.msg);
  struct qcc_usagelog_stats st;
  qcc_usagelog_get_stats(l, &st);
  cr_expect_eq(st.writes, 1);
  cr_expect_eq(st.fsyncs, 1);
  struct tally t;
  tally_file(qcc_usagelog_path(l), &t);
  cr_expect_eq(t.requests, 1);
  qcc_usagelog_close(&l);
  ev_loop_destroy(loop);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}
