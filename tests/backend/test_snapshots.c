/* Generations, snapshots, pruning, rollback, atomic write details. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/layout.h"
#include "compiler/snapshots.h"
#include "compiler/tablefile.h"
#include "fixture.h"

static char *dir;
static char out[512];

static void setup(void) {
  dir = fixture_tmpdir();
  snprintf(out, sizeof out, "%s/table.bin", dir);
}
static void teardown(void) {
  fixture_rmtree(dir);
  free(dir);
}
TestSuite(snapshots, .init = setup, .fini = teardown);

static struct qcc_build_result publish(struct qcc_config *cfg, unsigned keep) {
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  struct qcc_build_result r;
  cr_assert_eq(qcc_snapshots_open(out, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(qcc_snapshots_publish(s, cfg, 1700000000, keep, &r, &err), 0, "%s", err.msg);
  qcc_snapshots_close(&s);
  cr_assert_null(s);
  return r;
}

static struct qcc_tbl_header current(void) {
  struct qcc_table *t = NULL;
  struct qcc_table_error te;
  cr_assert_eq(qcc_table_open(out, &t, &te), 0, "%s", te.message);
  struct qcc_tbl_header h = *qcc_table_header(t);
  qcc_table_close(&t);
  return h;
}

static size_t snapshot_count(void) {
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_snapshots_open(out, &s, &err), 0, "%s", err.msg);
  size_t n = qcc_snapshots_count(s);
  qcc_snapshots_close(&s);
  return n;
}

Test(snapshots, first_build_is_generation_one) {
  struct qcc_config *c = fixture_config(2, 3, 1);
  struct qcc_build_result r = publish(c, 10);
  cr_assert_not(r.unchanged);
  cr_assert_eq(r.generation, 1);
  cr_assert_eq(r.profiles, 2);
  cr_assert_eq(r.endpoints, 6);
  struct qcc_tbl_header h = current();
  cr_assert_eq(h.generation, 1);
  cr_assert_arr_eq(h.source_digest, r.digest, 16);
  char snap[600];
  snprintf(snap, sizeof snap, "%s/table.bin.snapshots/000000000001.bin", dir);
  struct stat a, b;
  cr_assert_eq(stat(snap, &a), 0);
  cr_assert_eq(stat(out, &b), 0);
  cr_assert_eq(a.st_size, b.st_size);
  cr_assert_eq(b.st_mode & 0777, 0644);
  fixture_free(&c);
}

Test(snapshots, unchanged_config_makes_no_generation) {
  struct qcc_config *c = fixture_config(2, 3, 1);
  publish(c, 10);
  struct stat before, after;
  cr_assert_eq(stat(out, &before), 0);
  struct qcc_build_result r = publish(c, 10);
  cr_assert(r.unchanged);
  cr_assert_eq(r.generation, 1);
  cr_assert_eq(r.endpoints, 6);
  cr_assert_eq(stat(out, &after), 0);
  cr_assert_eq(before.st_ino, after.st_ino, "OUT was rewritten");
  cr_assert_eq(snapshot_count(), 1);
  /* a different config is a new generation */
  struct qcc_config *d = fixture_config(2, 3, 2);
  r = publish(d, 10);
  cr_assert_not(r.unchanged);
  cr_assert_eq(r.generation, 2);
  /* going back to the first config is a new generation too: it is not current */
  r = publish(c, 10);
  cr_assert_not(r.unchanged);
  cr_assert_eq(r.generation, 3);
  cr_assert_eq(snapshot_count(), 3);
  fixture_free(&c);
  fixture_free(&d);
}

Test(snapshots, pruned_to_keep) {
  for (unsigned i = 0; i < 8; i++) {
    struct qcc_config *c = fixture_config(1, 2, i);
    struct qcc_build_result r = publish(c, 3);
    cr_assert_eq(r.generation, i + 1);
    cr_assert_leq(snapshot_count(), 3);
    fixture_free(&c);
  }
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_snapshots_open(out, &s, &err), 0);
  cr_assert_eq(qcc_snapshots_count(s), 3);
  cr_assert_eq(qcc_snapshots_generation(s, 0), 6);
  cr_assert_eq(qcc_snapshots_generation(s, 2), 8);
  cr_assert(qcc_snapshots_has(s, 7));
  cr_assert_not(qcc_snapshots_has(s, 5));
  cr_assert_eq(qcc_snapshots_next_generation(s), 9);
  qcc_snapshots_close(&s);
}

Test(snapshots, keep_zero_writes_only_out) {
  struct qcc_config *c = fixture_config(1, 1, 0);
  struct qcc_build_result r = publish(c, 0);
  cr_assert_eq(r.generation, 1);
  cr_assert_eq(current().generation, 1);
  cr_assert_eq(snapshot_count(), 0);
  fixture_free(&c);
}

Test(snapshots, rollback_default_and_to) {
  struct qcc_config *cs[4];
  uint8_t digests[4][16];
  for (unsigned i = 0; i < 4; i++) {
    cs[i] = fixture_config(2, 2, 10 + i);
    struct qcc_build_result r = publish(cs[i], 10);
    memcpy(digests[i], r.digest, 16);
  }
  cr_assert_eq(current().generation, 4);
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  uint64_t became = 0;
  cr_assert_eq(qcc_snapshots_open(out, &s, &err), 0);
  cr_assert_eq(qcc_snapshots_rollback(s, 0, &became, &err), 0, "%s", err.msg);
  cr_assert_eq(became, 3);
  struct qcc_tbl_header h = current();
  cr_assert_eq(h.generation, 3);
  cr_assert_arr_eq(h.source_digest, digests[2], 16);
  /* default again: the one before 3 */
  cr_assert_eq(qcc_snapshots_rollback(s, 0, &became, &err), 0, "%s", err.msg);
  cr_assert_eq(became, 2);
  cr_assert_eq(qcc_snapshots_rollback(s, 4, &became, &err), 0, "%s", err.msg);
  cr_assert_eq(current().generation, 4);
  cr_assert_arr_eq(current().source_digest, digests[3], 16);
  /* errors: missing generation, already current */
  cr_assert_eq(qcc_snapshots_rollback(s, 99, &became, &err), -1);
  cr_assert_not_null(strstr(err.msg, "99"), "%s", err.msg);
  cr_assert_eq(qcc_snapshots_rollback(s, 4, &became, &err), -1);
  cr_assert_not_null(strstr(err.msg, "already current"), "%s", err.msg);
  cr_assert_eq(qcc_snapshots_rollback(s, 1, &became, &err), 0);
  cr_assert_eq(qcc_snapshots_rollback(s, 0, &became, &err), -1, "nothing older than 1");
  qcc_snapshots_close(&s);
  /* the next build continues after the newest generation */
  struct qcc_build_result r = publish(cs[1], 10);
  cr_assert_eq(r.generation, 5);
  for (unsigned i = 0; i < 4; i++) fixture_free(&cs[i]);
}

Test(snapshots, rollback_restores_damaged_out) {
  struct qcc_config *c = fixture_config(1, 2, 3);
  publish(c, 10);
  FILE *f = fopen(out, "wb"); /* not how qccc writes: simulates damage */
  cr_assert_not_null(f);
  fputs("garbage", f);
  fclose(f);
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  uint64_t became = 0;
  cr_assert_eq(qcc_snapshots_open(out, &s, &err), 0);
  cr_assert_eq(qcc_snapshots_rollback(s, 0, &became, &err), 0, "%s", err.msg);
  cr_assert_eq(became, 1);
  qcc_snapshots_close(&s);
  cr_assert_eq(current().generation, 1);
  fixture_free(&c);
}

Test(snapshots, literal_key_table_is_private) {
  struct qcc_config *c = fixture_config(1, 2, 0);
  free(c->profiles[0].endpoints[1].key.value);
  c->profiles[0].endpoints[1].key.kind = QCC_KEY_LITERAL;
  c->profiles[0].endpoints[1].key.value = strdup("sk-ant-do-not-print");
  publish(c, 10);
  struct stat st;
  cr_assert_eq(stat(out, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  char snap[600];
  snprintf(snap, sizeof snap, "%s/table.bin.snapshots/000000000001.bin", dir);
  cr_assert_eq(stat(snap, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  fixture_free(&c);
}

Test(snapshots, dead_writers_temp_files_are_cleaned) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) _exit(0);
  cr_assert_eq(waitpid(pid, NULL, 0), pid); /* now surely not running */
  char stale[600], live[600];
  snprintf(stale, sizeof stale, "%s/.table.bin.tmp.%ld.0", dir, (long)pid);
  snprintf(live, sizeof live, "%s/.table.bin.tmp.%ld.0", dir, (long)getppid());
  FILE *f = fopen(stale, "w");
  cr_assert_not_null(f);
  fclose(f);
  f = fopen(live, "w");
  cr_assert_not_null(f);
  fclose(f);
  struct qcc_config *c = fixture_config(1, 1, 0);
  publish(c, 10);
  cr_assert_neq(access(stale, F_OK), 0, "stale temp file left");
  cr_assert_eq(access(live, F_OK), 0, "a live writer's temp file was removed");
  fixture_free(&c);
}

Test(snapshots, tablefile_write_and_install) {
  struct qcc_config *c = fixture_config(2, 2, 4);
  size_t len = 0;
  uint8_t *img = fixture_image(c, 5, &len);
  struct qcc_err err = {0};
  /* the writer recomputes checksums: a stale checksum in the image is fixed */
  ((struct qcc_tbl_header *)img)->payload_checksum ^= 1;
  cr_assert_eq(qcc_tablefile_write(out, img, len, &err), 0, "%s", err.msg);
  cr_assert_eq(current().generation, 5);
  size_t got = 0;
  void *disk = fixture_read_file(out, &got);
  cr_assert_eq(got, len);
  ((struct qcc_tbl_header *)img)->payload_checksum ^= 1;
  cr_assert_eq(memcmp(disk, img, len), 0);
  free(disk);
  char other[600];
  snprintf(other, sizeof other, "%s/copy.bin", dir);
  cr_assert_eq(qcc_tablefile_install(out, other, &err), 0, "%s", err.msg);
  disk = fixture_read_file(other, &got);
  cr_assert_eq(got, len);
  cr_assert_eq(memcmp(disk, img, len), 0);
  free(disk);
  /* installing a damaged table is refused and leaves the target alone */
  char bad[600];
  snprintf(bad, sizeof bad, "%s/bad.bin", dir);
  FILE *f = fopen(bad, "wb");
  cr_assert_not_null(f);
  fwrite(img, 1, len / 2, f);
  fclose(f);
  cr_assert_eq(qcc_tablefile_install(bad, other, &err), -1);
  cr_assert_not_null(strstr(err.msg, "truncated"), "%s", err.msg);
  disk = fixture_read_file(other, &got);
  cr_assert_eq(got, len);
  free(disk);
  /* unwritable directory */
  cr_assert_eq(qcc_tablefile_write("/nonexistent-dir/t.bin", img, len, &err), -1);
  cr_assert_neq(err.msg[0], '\0');
  free(img);
  fixture_free(&c);
}

Test(snapshots, concurrent_builds_get_distinct_generations, .timeout = 60) {
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork();
    cr_assert_geq(kids[k], 0);
    if (kids[k] == 0) {
      for (unsigned i = 0; i < 10; i++) {
        struct qcc_config *c = fixture_config(2, 2, 100 * (unsigned)(k + 1) + i);
        struct qcc_snapshots *s = NULL;
        struct qcc_err err = {0};
        struct qcc_build_result r;
        if (qcc_snapshots_open(out, &s, &err) != 0 || qcc_snapshots_publish(s, c, 1, 100, &r, &err) != 0)
          _exit(1);
        qcc_snapshots_close(&s);
        fixture_free(&c);
      }
      _exit(0);
    }
  }
  for (int k = 0; k < 2; k++) {
    int status = 0;
    cr_assert_eq(waitpid(kids[k], &status, 0), kids[k]);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "builder %d failed", k);
  }
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_snapshots_open(out, &s, &err), 0);
  cr_assert_eq(qcc_snapshots_count(s), 20, "two builds shared a generation");
  cr_assert_eq(qcc_snapshots_generation(s, 19), 20);
  qcc_snapshots_close(&s);
  cr_assert_eq(current().generation, 20);
}
