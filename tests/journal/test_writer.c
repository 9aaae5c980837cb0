/* The writer: open/recover, append/flush/replay, short writes, fsync
 * policies, locking, compaction. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "runtime/journal_writer.h"
#include "sample.h"
#include "schema/statedir.h"

static char dir[256];
static char jpath[512];

static void setup(void) {
  make_temp_dir(dir, sizeof dir);
  snprintf(jpath, sizeof jpath, "%s/%s", dir, QCC_JOURNAL_FILE);
}
static void teardown(void) { remove_temp_dir(dir); }

/* Temp files of the journal (".journal.qj.tmp.<pid>.<n>") left in dir. */
static int temp_files(void) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  for (struct dirent *de = readdir(d); de != NULL; de = readdir(d))
    if (strstr(de->d_name, ".tmp.") != NULL) n++;
  closedir(d);
  return n;
}

TestSuite(journal_writer, .init = setup, .fini = teardown);

static struct qcc_journal *open_ok(enum qcc_fsync_policy p) {
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_open(dir, p, &j, &err), 0, "open: %s", err.msg);
  cr_assert_not_null(j);
  return j;
}

static void append_ok(struct qcc_journal *j, const struct qcc_jrec *r) {
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_append(j, r, &err), 0, "append: %s", err.msg);
}

static void flush_ok(struct qcc_journal *j) {
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_flush(j, &err), 0, "flush: %s", err.msg);
}

/* Replay into an array of encoded copies (decoded strings die with the
 * callback, so compare by re-encoding). */
struct replayed {
  uint8_t *bytes[2048];
  size_t len[2048];
  uint16_t type[2048];
  uint16_t flags[2048];
  unsigned n;
};

static int keep_cb(const struct qcc_jrec *r, uint64_t off, void *ud) {
  (void)off;
  struct replayed *rp = ud;
  cr_assert_lt(rp->n, 2048u);
  uint8_t buf[QCC_JOURNAL_MAX_RECORD];
  size_t len;
  cr_assert_eq(qcc_journal_encode(r, buf, sizeof buf, &len, NULL), 0);
  rp->bytes[rp->n] = malloc(len);
  memcpy(rp->bytes[rp->n], buf, len);
  rp->len[rp->n] = len;
  rp->type[rp->n] = r->type;
  rp->flags[rp->n] = r->flags;
  rp->n++;
  return 0;
}

static struct replayed *replay_all(struct qcc_journal *j) {
  struct replayed *rp = calloc(1, sizeof *rp);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_replay(j, keep_cb, rp, &err), 0, "replay: %s", err.msg);
  return rp;
}

static void replayed_free(struct replayed *rp) {
  for (unsigned i = 0; i < rp->n; i++) free(rp->bytes[i]);
  free(rp);
}

/* Is record i of the sample sequence at position k of the replay? */
static bool replay_has_sample(const struct replayed *rp, unsigned k, unsigned i) {
  struct qcc_jrec r;
  sample_mixed(i, &r);
  uint8_t buf[QCC_JOURNAL_MAX_RECORD];
  size_t len;
  cr_assert_eq(qcc_journal_encode(&r, buf, sizeof buf, &len, NULL), 0);
  return k < rp->n && rp->len[k] == len && memcmp(rp->bytes[k], buf, len) == 0;
}

Test(journal_writer, a_open_creates_dir_and_file_private) {
  char sub[400];
  snprintf(sub, sizeof sub, "%s/a/state", dir);
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_open(sub, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  cr_expect(qcc_journal_recovery(j)->created);
  struct stat st;
  cr_assert_eq(stat(sub, &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0700, "state dir mode %o", st.st_mode & 0777);
  cr_assert_eq(stat(qcc_journal_path(j), &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0600, "journal mode %o", st.st_mode & 0777);
  cr_expect_eq(st.st_size, QCC_JOURNAL_HEADER_SIZE);
  qcc_journal_close(&j);
  cr_expect_null(j);
  char p[500];
  snprintf(p, sizeof p, "%s/%s", sub, QCC_JOURNAL_FILE);
  unlink(p);
  rmdir(sub);
  snprintf(p, sizeof p, "%s/a", dir);
  rmdir(p);
}

Test(journal_writer, a_statedir_lookup_order) {
  char out[4096];
  struct qcc_err err = {0};
  setenv("HOME", "/home/someone", 1);
  unsetenv(QCC_STATE_DIR_ENV);
  cr_assert_eq(qcc_statedir_resolve(NULL, out, sizeof out, &err), 0);
  cr_expect_str_eq(out, "/home/someone/.qcc");
  setenv(QCC_STATE_DIR_ENV, "/var/lib/qcc/", 1);
  cr_assert_eq(qcc_statedir_resolve(NULL, out, sizeof out, &err), 0);
  cr_expect_str_eq(out, "/var/lib/qcc");
  cr_assert_eq(qcc_statedir_resolve("/srv/x", out, sizeof out, &err), 0);
  cr_expect_str_eq(out, "/srv/x");
  unsetenv(QCC_STATE_DIR_ENV);
  unsetenv("HOME");
  cr_expect_neq(qcc_statedir_resolve(NULL, out, sizeof out, &err), 0);
  cr_expect_not_null(strstr(err.msg, "--state-dir"), "%s", err.msg);

  char *argv[] = {"show", "--state-dir", "/d1", "--json", "--state-dir=/d2", NULL};
  int argc = 5;
  bool missing;
  const char *v = qcc_statedir_take_flag(&argc, argv, &missing);
  cr_expect_str_eq(v, "/d2", "the last one wins");
  cr_expect_eq(argc, 2);
  cr_expect_str_eq(argv[1], "--json");
  char *argv2[] = {"show", "--state-dir", NULL};
  argc = 2;
  qcc_statedir_take_flag(&argc, argv2, &missing);
  cr_expect(missing);
  /* A file in the way is an error, not a crash. */
  char f[400];
  snprintf(f, sizeof f, "%s/file", dir);
  write_whole(f, (const uint8_t *)"x", 1);
  cr_expect_neq(qcc_statedir_ensure(f, &err), 0);
  cr_expect_not_null(strstr(err.msg, "not a directory"), "%s", err.msg);
}

Test(journal_writer, b_append_flush_replay_reopen) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_ALWAYS);
  for (unsigned i = 0; i < 200; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
    if (i % 7 == 0) flush_ok(j);
  }
  flush_ok(j);
  struct replayed *rp = replay_all(j);
  cr_assert_eq(rp->n, 200);
  for (unsigned i = 0; i < 200; i++) cr_assert(replay_has_sample(rp, i, i), "record %u", i);
  replayed_free(rp);
  qcc_journal_close(&j);

  j = open_ok(QCC_FSYNC_ALWAYS);
  const struct qcc_journal_recovery *rec = qcc_journal_recovery(j);
  cr_expect_eq(rec->found, QCC_JSCAN_OK);
  cr_expect_eq(rec->records, 200);
  cr_expect_eq(rec->truncated_bytes, 0);
  rp = replay_all(j);
  cr_expect_eq(rp->n, 200);
  cr_expect(replay_has_sample(rp, 199, 199));
  replayed_free(rp);
  /* time 0 = now */
  struct qcc_jrec r = {.type = QCC_JT_SHUTDOWN};
  int64_t before = qcc_journal_now_ms();
  append_ok(j, &r);
  flush_ok(j);
  qcc_journal_close(&j);
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_journal_scan_file(jpath, NULL, NULL, &res, NULL), 0);
  cr_expect_eq(res.records, 201);
  (void)before;
}

static int last_time_cb(const struct qcc_jrec *r, uint64_t off, void *ud) {
  (void)off;
  *(int64_t *)ud = r->time_ms;
  return 0;
}

Test(journal_writer, b_time_zero_means_now) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_NO);
  struct qcc_jrec r = {.type = QCC_JT_SHUTDOWN};
  int64_t before = qcc_journal_now_ms();
  append_ok(j, &r);
  flush_ok(j);
  int64_t t = 0;
  cr_assert_eq(qcc_journal_replay(j, last_time_cb, &t, NULL), 0);
  cr_expect_geq(t, before);
  cr_expect_leq(t, qcc_journal_now_ms());
  qcc_journal_close(&j);
}

static void write_records(unsigned n) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_NO);
  for (unsigned i = 0; i < n; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
  }
  flush_ok(j);
  qcc_journal_close(&j);
}

Test(journal_writer, c_torn_tail_truncated_at_open) {
  write_records(50);
  size_t len;
  uint8_t *img = read_whole(jpath, &len);
  struct qcc_jscan_result full;
  qcc_journal_scan(img, len, NULL, NULL, &full);
  cr_assert_eq(full.records, 50);
  /* Cut 5 bytes off the last record, as a crash mid-write would. */
  cr_assert_eq(truncate(jpath, (off_t)len - 5), 0);
  struct qcc_jscan_result cut;
  qcc_journal_scan(img, len - 5, NULL, NULL, &cut);
  struct qcc_journal *j = open_ok(QCC_FSYNC_ALWAYS);
  const struct qcc_journal_recovery *rec = qcc_journal_recovery(j);
  cr_expect_eq(rec->found, QCC_JSCAN_TORN_TAIL);
  cr_expect_eq(rec->records, 49);
  cr_expect_eq(rec->ok_up_to, cut.ok_up_to);
  cr_expect_eq(rec->truncated_bytes, len - 5 - cut.ok_up_to);
  struct stat st;
  cr_assert_eq(stat(jpath, &st), 0);
  cr_expect_eq((uint64_t)st.st_size, cut.ok_up_to, "truncated to the last whole record");
  /* New records follow the good ones. */
  struct qcc_jrec r;
  sample_mixed(49, &r);
  append_ok(j, &r);
  flush_ok(j);
  struct replayed *rp = replay_all(j);
  cr_expect_eq(rp->n, 50);
  cr_expect(replay_has_sample(rp, 48, 48));
  cr_expect(replay_has_sample(rp, 49, 49));
  replayed_free(rp);
  qcc_journal_close(&j);
  free(img);
}

Test(journal_writer, c_corruption_refused_with_offset_and_fix_command) {
  write_records(50);
  size_t len;
  uint8_t *img = read_whole(jpath, &len);
  struct qcc_jscan_result res;
  img[len / 2] ^= 0x5a;
  qcc_journal_scan(img, len, NULL, NULL, &res);
  cr_assert_eq(res.status, QCC_JSCAN_CORRUPT);
  cr_assert_eq(write_whole(jpath, img, len), 0);
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_neq(qcc_journal_open(dir, QCC_FSYNC_ALWAYS, &j, &err), 0);
  cr_expect_null(j);
  char want[64];
  snprintf(want, sizeof want, "offset %" PRIu64, res.bad_offset);
  cr_expect_not_null(strstr(err.msg, want), "message names the offset: %s", err.msg);
  cr_expect_not_null(strstr(err.msg, "qccc journal check --fix"), "message names the fix: %s", err.msg);
  /* Refusing leaves the file untouched. */
  size_t len2;
  uint8_t *after = read_whole(jpath, &len2);
  cr_expect_eq(len2, len);
  cr_expect_eq(memcmp(after, img, len), 0);
  free(after);
  free(img);
}

Test(journal_writer, c_foreign_file_refused) {
  write_whole(jpath, (const uint8_t *)"hello, this is not a journal at all....", 40);
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_neq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0);
  cr_expect_not_null(strstr(err.msg, "not a qcc journal"), "%s", err.msg);
}

Test(journal_writer, c_empty_and_torn_header_get_a_header) {
  write_whole(jpath, (const uint8_t *)"QCCJ", 4);
  struct qcc_journal *j = open_ok(QCC_FSYNC_NO);
  cr_expect_eq(qcc_journal_recovery(j)->found, QCC_JSCAN_TORN_TAIL);
  qcc_journal_close(&j);
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_journal_scan_file(jpath, NULL, NULL, &res, NULL), 0);
  cr_expect_eq(res.status, QCC_JSCAN_OK);
  cr_expect_eq(res.size, QCC_JOURNAL_HEADER_SIZE);
  write_whole(jpath, (const uint8_t *)"", 0);
  j = open_ok(QCC_FSYNC_NO);
  qcc_journal_close(&j);
  cr_assert_eq(qcc_journal_scan_file(jpath, NULL, NULL, &res, NULL), 0);
  cr_expect_eq(res.status, QCC_JSCAN_OK);
}

Test(journal_writer, c_second_writer_refused) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_NO), *k = NULL;
  struct qcc_err err = {0};
  cr_expect_neq(qcc_journal_open(dir, QCC_FSYNC_NO, &k, &err), 0);
  cr_expect_eq(err.code, EBUSY);
  cr_expect_not_null(strstr(err.msg, "in use"), "%s", err.msg);
  qcc_journal_close(&j);
  cr_expect_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &k, &err), 0, "%s", err.msg);
  qcc_journal_close(&k);
}

Test(journal_writer, d_short_write_truncated_back) {
  /* RLIMIT_FSIZE makes the kernel cut a write() short (EFBIG past it), like
   * a full disk. Criterion runs each test in its own process. */
  signal(SIGXFSZ, SIG_IGN);
  struct qcc_journal *j = open_ok(QCC_FSYNC_ALWAYS);
  for (unsigned i = 0; i < 10; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
  }
  flush_ok(j);
  struct stat st;
  cr_assert_eq(stat(jpath, &st), 0);
  off_t good = st.st_size;
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = (rlim_t)good + 300; /* room for part of the next batch */
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  for (unsigned i = 10; i < 30; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
  }
  struct qcc_err err = {0};
  cr_expect_neq(qcc_journal_flush(j, &err), 0, "the short write is reported");
  cr_expect_not_null(strstr(err.msg, "truncated back"), "%s", err.msg);
  cr_assert_eq(stat(jpath, &st), 0);
  cr_expect_eq(st.st_size, good, "file back at the last whole record (%lld, want %lld)",
               (long long)st.st_size, (long long)good);
  struct qcc_journal_stats s;
  qcc_journal_get_stats(j, &s);
  cr_expect_eq(s.write_errors, 1);
  cr_expect_gt(s.buffered, 0u, "records kept for the next flush");
  /* The disk has room again: the same records go out whole. */
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
  flush_ok(j);
  struct replayed *rp = replay_all(j);
  cr_expect_eq(rp->n, 30);
  for (unsigned i = 0; i < rp->n; i++) cr_expect(replay_has_sample(rp, i, i), "record %u", i);
  replayed_free(rp);
  qcc_journal_close(&j);
  struct qcc_jscan_result res;
  qcc_journal_scan_file(jpath, NULL, NULL, &res, NULL);
  cr_expect_eq(res.status, QCC_JSCAN_OK);
}

Test(journal_writer, d_full_buffer_writes_early) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_NO);
  qcc_journal_set_buffer_cap(j, 1); /* raised to one max record */
  unsigned n = 3000;
  for (unsigned i = 0; i < n; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
  }
  struct qcc_journal_stats s;
  qcc_journal_get_stats(j, &s);
  cr_expect_gt(s.flushes, 0u, "writes happened before any flush");
  cr_expect_eq(s.dropped, 0);
  flush_ok(j);
  qcc_journal_close(&j);
  struct qcc_jscan_result res;
  qcc_journal_scan_file(jpath, NULL, NULL, &res, NULL);
  cr_expect_eq(res.status, QCC_JSCAN_OK);
  cr_expect_eq(res.records, n);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(journal_writer, e_policy_always_fsyncs_each_flush) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_ALWAYS);
  for (unsigned i = 0; i < 20; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
    flush_ok(j);
  }
  flush_ok(j); /* nothing buffered: no write, no fsync */
  struct qcc_journal_stats s;
  qcc_journal_get_stats(j, &s);
  cr_expect_eq(s.flushes, 20);
  cr_expect_eq(s.fsyncs, 20);
  qcc_journal_close(&j);
}

Test(journal_writer, e_policy_no_never_fsyncs) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_NO);
  for (unsigned i = 0; i < 20; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
    flush_ok(j);
  }
  struct qcc_journal_stats s;
  qcc_journal_get_stats(j, &s);
  cr_expect_eq(s.flushes, 20);
  cr_expect_eq(s.fsyncs, 0);
  qcc_journal_close(&j);
}

Test(journal_writer, e_policy_everysec_syncs_off_the_loop) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_EVERYSEC);
  struct qcc_journal_stats s;
  double t0 = now_s();
  for (unsigned i = 0; i < 200; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
    flush_ok(j);
  }
  double spent = now_s() - t0;
  qcc_journal_get_stats(j, &s);
  cr_expect_eq(s.flushes, 200);
  cr_expect_leq(s.fsyncs, 1u, "flushes did not fsync on the loop (%" PRIu64 ")", s.fsyncs);
  /* Within ~2 s the background thread has synced once. Bounded wait. */
  for (int k = 0; k < 40 && s.fsyncs == 0; k++) {
    usleep(100 * 1000);
    qcc_journal_get_stats(j, &s);
  }
  cr_expect_geq(s.fsyncs, 1u, "background fsync happened");
  cr_expect_lt(spent, 2.0, "200 flushes took %.3fs", spent);
  /* Idle: no more fsyncs without new writes (let a sync of writes made
   * after the first one happen first). */
  usleep(1200 * 1000);
  qcc_journal_get_stats(j, &s);
  uint64_t before = s.fsyncs;
  usleep(1300 * 1000);
  qcc_journal_get_stats(j, &s);
  cr_expect_eq(s.fsyncs, before, "no fsync when nothing was written");
  qcc_journal_close(&j);
}

/* ---- compaction ---- */
/* A tiny model of the runtime's state, folded from records. */
struct model {
  char pinned[64];
  char disabled[16][32];
  unsigned ndisabled;
  unsigned breaker[8]; /* by ep-N */
  uint64_t dead[64];
  unsigned ndead;
  unsigned snapshots_seen;
};

static int ep_index(const char *id) { return id[0] == 'e' ? atoi(id + 3) % 8 : 0; }

static void model_apply(struct model *m, const struct qcc_jrec *r) {
  switch (r->type) {
  case QCC_JT_STATE_SNAPSHOT: {
    unsigned seen = m->snapshots_seen + 1;
    memset(m, 0, sizeof *m);
    m->snapshots_seen = seen;
    break;
  }
  case QCC_JT_OVERRIDE: {
    const struct qcc_jrec_override *o = &r->u.override;
    if (o->kind == QCC_JOVERRIDE_PIN) snprintf(m->pinned, sizeof m->pinned, "%s", o->target.id);
    if (o->kind == QCC_JOVERRIDE_UNPIN) m->pinned[0] = '\0';
    if (o->kind == QCC_JOVERRIDE_DISABLE || o->kind == QCC_JOVERRIDE_ENABLE) {
      unsigned k;
      for (k = 0; k < m->ndisabled && strcmp(m->disabled[k], o->target.id) != 0; k++) {}
      if (o->kind == QCC_JOVERRIDE_DISABLE && k == m->ndisabled && k < 16)
        snprintf(m->disabled[m->ndisabled++], 32, "%s", o->target.id);
      if (o->kind == QCC_JOVERRIDE_ENABLE && k < m->ndisabled)
        memcpy(m->disabled[k], m->disabled[--m->ndisabled], 32);
    }
    break;
  }
  case QCC_JT_BREAKER:
    m->breaker[ep_index(r->u.breaker.endpoint.id)] = r->u.breaker.to;
    break;
  case QCC_JT_QUEUE_DEAD_LETTER: {
    unsigned k;
    for (k = 0; k < m->ndead && m->dead[k] != r->u.queue_dead_letter.request_id; k++) {}
    if (k == m->ndead && k < 64) m->dead[m->ndead++] = r->u.queue_dead_letter.request_id;
    break;
  }
  case QCC_JT_QUEUE_CLEARED:
    for (unsigned k = 0; k < m->ndead; k++)
      if (r->u.queue_cleared.request_id == 0 || m->dead[k] == r->u.queue_cleared.request_id)
        m->dead[k--] = m->dead[--m->ndead];
    break;
  default:
    break;
  }
}

static int model_cb(const struct qcc_jrec *r, uint64_t off, void *ud) {
  (void)off;
  model_apply(ud, r);
  return 0;
}

static bool model_equal(const struct model *a, const struct model *b) {
  if (strcmp(a->pinned, b->pinned) != 0 || a->ndisabled != b->ndisabled || a->ndead != b->ndead ||
      memcmp(a->breaker, b->breaker, sizeof a->breaker) != 0)
    return false;
  for (unsigned i = 0; i < a->ndisabled; i++) {
    bool found = false;
    for (unsigned k = 0; k < b->ndisabled; k++) found |= strcmp(a->disabled[i], b->disabled[k]) == 0;
    if (!found) return false;
  }
  for (unsigned i = 0; i < a->ndead; i++) {
    bool found = false;
    for (unsigned k = 0; k < b->ndead; k++) found |= a->dead[i] == b->dead[k];
    if (!found) return false;
  }
  return true;
}

struct snap_ctx {
  struct model live;
  unsigned calls;
  bool append_during;
};

/* The runtime's role: restate the live state as snapshot items. */
static int snapshot_cb(struct qcc_journal *j, void *ud, struct qcc_err *err) {
  struct snap_ctx *c = ud;
  c->calls++;
  struct qcc_jrec r = {.type = QCC_JT_OVERRIDE};
  if (c->live.pinned[0]) {
    r.u.override = (struct qcc_jrec_override){QCC_JOVERRIDE_PIN, {0, c->live.pinned}, "snapshot"};
    if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
  }
  for (unsigned i = 0; i < c->live.ndisabled; i++) {
    r.u.override = (struct qcc_jrec_override){QCC_JOVERRIDE_DISABLE, {1, c->live.disabled[i]}, "snapshot"};
    if (qcc_journal_snapshot_add(j, &r, err) != 0) return -1;
  }
  for (unsigned e = 0; e < 8; e++) {
    if (c->live.breaker[e] == QCC_JBREAKER_CLOSED) continue;
    char id[16];
    snprintf(id, sizeof id, "ep-%u", e);
    struct qcc_jrec b = {.type = QCC_JT_BREAKER};
    b.u.breaker = (struct qcc_jrec_breaker){{0x1000 + e, id}, QCC_JBREAKER_CLOSED, (uint8_t)c->live.breaker[e], 3, 0};
    if (qcc_journal_snapshot_add(j, &b, err) != 0) return -1;
  }
  for (unsigned i = 0; i < c->live.ndead; i++) {
    struct qcc_jrec d = {.type = QCC_JT_QUEUE_DEAD_LETTER};
    d.u.queue_dead_letter.request_id = c->live.dead[i];
    d.u.queue_dead_letter.reason = "snapshot";
    if (qcc_journal_snapshot_add(j, &d, err) != 0) return -1;
  }
  if (c->append_during) {
    /* A record logged while the snapshot is taken must not be lost. */
    struct qcc_jrec s = {.type = QCC_JT_TABLE_SWAP};
    s.u.table_swap = (struct qcc_jrec_table_swap){41, 42, 1, "appended during compaction"};
    struct qcc_err e2;
    if (qcc_journal_append(j, &s, &e2) != 0) return qcc_err_set(err, 1, "append during: %s", e2.msg);
  }
  return 0;
}

struct find_swap {
  unsigned found, after_snapshot;
  bool seen_snapshot;
};

static int find_swap_cb(const struct qcc_jrec *r, uint64_t off, void *ud) {
  (void)off;
  struct find_swap *f = ud;
  if (r->type == QCC_JT_STATE_SNAPSHOT) f->seen_snapshot = true;
  if (r->type == QCC_JT_TABLE_SWAP && r->u.table_swap.to_generation == 42) {
    f->found++;
    if (f->seen_snapshot) f->after_snapshot++;
  }
  return 0;
}

Test(journal_writer, f_compaction_keeps_state_recent_history_and_concurrent_appends) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_EVERYSEC);
  struct snap_ctx *c = calloc(1, sizeof *c);
  c->append_during = true;
  const unsigned keep = 25;
  qcc_journal_set_compaction(j, 16 * 1024, keep, snapshot_cb, c);
  unsigned n = 0;
  /* Enough traffic for several compactions; the live model follows along. */
  for (; n < 1500; n++) {
    struct qcc_jrec r;
    sample_mixed(n, &r);
    model_apply(&c->live, &r);
    append_ok(j, &r);
    if (n % 10 == 9) flush_ok(j);
  }
  flush_ok(j);
  struct qcc_journal_stats s;
  qcc_journal_get_stats(j, &s);
  struct qcc_err werr = {0};
  cr_expect_eq(qcc_journal_take_warning(j, &werr), 0, "%s", werr.msg);
  cr_assert_geq(s.compactions, 2u, "compactions: %" PRIu64 " size %" PRIu64, s.compactions, s.size);
  cr_expect_eq(c->calls, s.compactions);
  cr_expect_lt(s.size, 16 * 1024 * 3, "file stays bounded: %" PRIu64, s.size);
  struct qcc_err err = {0};

  /* Replaying the compacted file rebuilds exactly the live state. */
  struct model *m = calloc(1, sizeof *m);
  cr_assert_eq(qcc_journal_replay(j, model_cb, m, &err), 0, "%s", err.msg);
  cr_expect_geq(m->snapshots_seen, 1u);
  m->snapshots_seen = 0;
  cr_expect(model_equal(m, &c->live), "replayed state differs from live state");
  cr_expect(c->live.ndisabled + c->live.ndead + (c->live.pinned[0] != 0) > 0, "the model has state");

  /* The most recent history records are all there, in order, at the end. */
  struct replayed *rp = replay_all(j);
  unsigned found = 0;
  for (unsigned i = n; i-- > n - 10;) {
    for (unsigned k = 0; k < rp->n; k++)
      if (replay_has_sample(rp, k, i)) {
        found++;
        break;
      }
  }
  cr_expect_eq(found, 10, "the last 10 records survive compaction");
  /* History before the last compaction is bounded by keep. */
  unsigned hist = 0;
  for (unsigned k = 0; k < rp->n; k++) hist += !(rp->flags[k] & QCC_JOURNAL_FLAG_SNAPSHOT);
  cr_expect_lt(hist, keep + 16 * 1024 / 24 + 10);
  replayed_free(rp);

  /* The record appended during each compaction is in the new file, after
   * the snapshot. */
  struct find_swap f = {0};
  cr_assert_eq(qcc_journal_replay(j, find_swap_cb, &f, &err), 0);
  cr_expect_geq(f.found, 1u);
  cr_expect_geq(f.after_snapshot, 1u);
  qcc_journal_close(&j);

  /* A restart reads the compacted file cleanly and gets the same state. */
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_journal_scan_file(jpath, NULL, NULL, &res, NULL), 0);
  cr_expect_eq(res.status, QCC_JSCAN_OK, "%s", res.why);
  j = open_ok(QCC_FSYNC_NO);
  memset(m, 0, sizeof *m);
  cr_assert_eq(qcc_journal_replay(j, model_cb, m, &err), 0);
  m->snapshots_seen = 0;
  cr_expect(model_equal(m, &c->live), "state after reopen");
  qcc_journal_close(&j);
  cr_expect_eq(temp_files(), 0, "no temp file left");
  free(m);
  free(c);
}

static int failing_snapshot(struct qcc_journal *j, void *ud, struct qcc_err *err) {
  (void)j;
  (void)ud;
  return qcc_err_set(err, EIO, "state unavailable");
}

Test(journal_writer, f_failed_compaction_keeps_the_old_file) {
  struct qcc_journal *j = open_ok(QCC_FSYNC_NO);
  qcc_journal_set_compaction(j, 4096, 10, failing_snapshot, NULL);
  for (unsigned i = 0; i < 300; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
    flush_ok(j);
  }
  struct qcc_err err = {0};
  cr_expect_eq(qcc_journal_take_warning(j, &err), 1);
  cr_expect_not_null(strstr(err.msg, "state unavailable"), "%s", err.msg);
  struct qcc_journal_stats s;
  qcc_journal_get_stats(j, &s);
  cr_expect_eq(s.compactions, 0);
  struct replayed *rp = replay_all(j);
  cr_expect_eq(rp->n, 300, "nothing lost");
  replayed_free(rp);
  struct qcc_jrec r = {.type = QCC_JT_SHUTDOWN};
  cr_expect_neq(qcc_journal_snapshot_add(j, &r, &err), 0, "snapshot items only during compaction");
  qcc_journal_close(&j);
}

struct restore {
  char pinned[64], disabled[64];
  unsigned breaker_to;
  int64_t cooldown_until;
};

static int restore_cb(const struct qcc_jrec *r, uint64_t off, void *ud) {
  (void)off;
  struct restore *s = ud;
  if (r->type == QCC_JT_OVERRIDE && r->u.override.kind == QCC_JOVERRIDE_PIN)
    snprintf(s->pinned, sizeof s->pinned, "%s", r->u.override.target.id);
  if (r->type == QCC_JT_OVERRIDE && r->u.override.kind == QCC_JOVERRIDE_DISABLE)
    snprintf(s->disabled, sizeof s->disabled, "%s", r->u.override.target.id);
  if (r->type == QCC_JT_BREAKER) {
    s->breaker_to = r->u.breaker.to;
    s->cooldown_until = r->u.breaker.cooldown_until;
  }
  return 0;
}

Test(journal_writer, f_restart_restores_pin_disabled_endpoint_open_breaker) {
  /* What qcc-run replays at start: the state an operator and the breaker
   * left, including the remaining cooldown (an absolute time). */
  struct qcc_journal *j = open_ok(QCC_FSYNC_ALWAYS);
  int64_t until = qcc_journal_now_ms() + 120000;
  struct qcc_jrec r = {.type = QCC_JT_OVERRIDE};
  r.u.override = (struct qcc_jrec_override){QCC_JOVERRIDE_PIN, {0, "production"}, "incident"};
  append_ok(j, &r);
  r.u.override = (struct qcc_jrec_override){QCC_JOVERRIDE_DISABLE, {0xbeef, "work-2", 0x1d}, "rotating key"};
  append_ok(j, &r);
  struct qcc_jrec b = {.type = QCC_JT_BREAKER};
  b.u.breaker = (struct qcc_jrec_breaker){{0xcafe, "prod-3", 0x1e}, QCC_JBREAKER_CLOSED, QCC_JBREAKER_OPEN, 5, until};
  append_ok(j, &b);
  flush_ok(j);
  qcc_journal_close(&j);
  j = open_ok(QCC_FSYNC_ALWAYS);
  struct restore s = {0};
  cr_assert_eq(qcc_journal_replay(j, restore_cb, &s, NULL), 0);
  cr_expect_str_eq(s.pinned, "production");
  cr_expect_str_eq(s.disabled, "work-2");
  cr_expect_eq(s.breaker_to, QCC_JBREAKER_OPEN);
  cr_expect_eq(s.cooldown_until, until);
  qcc_journal_close(&j);
}

Test(journal_writer, g_keys_in_environment_never_reach_the_journal) {
  /* Every record type with realistic inputs while keys are set: records
   * name endpoints by id, never by key, so the key bytes never appear. */
  const char *key = "sk-ant-api03.SECRETSECRETSECRET-journal-test";
  setenv("ANTHROPIC_KEY_PROD1", key, 1);
  setenv("QCC_CLIENT_TOKEN", "client-token-SECRET-42", 1);
  struct qcc_journal *j = open_ok(QCC_FSYNC_ALWAYS);
  for (unsigned i = 0; i < 200; i++) {
    struct qcc_jrec r;
    sample_mixed(i, &r);
    append_ok(j, &r);
  }
  flush_ok(j);
  qcc_journal_close(&j);
  size_t len;
  uint8_t *img = read_whole(jpath, &len);
  cr_assert_not_null(img);
  cr_expect_null(memmem(img, len, key, strlen(key)), "key found in the journal");
  cr_expect_null(memmem(img, len, "SECRET", 6), "token found in the journal");
  /* The check itself can fail: the same search finds an id that is there. */
  cr_expect_not_null(memmem(img, len, "ep-3", 4));
  free(img);
}
