/* Crash safety: a child builds over and over, alternating two configs; it is
 * SIGKILLed at random moments. After each kill OUT is a valid table and is
 * one of the two (never a mix, never missing); the next build cleans up. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler/snapshots.h"
#include "fixture.h"

#define ROUNDS 40

static int publish(const char *out, const struct qcc_config *cfg, struct qcc_build_result *r) {
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  int rc = qcc_snapshots_open(out, &s, &err);
  if (rc == 0) rc = qcc_snapshots_publish(s, cfg, 1700000000, 3, r, &err);
  qcc_snapshots_close(&s);
  return rc;
}

Test(crash, sigkill_during_builds_leaves_a_valid_table, .timeout = 120) {
  char *dir = fixture_tmpdir();
  char out[512];
  snprintf(out, sizeof out, "%s/table.bin", dir);
  /* Big enough that a build takes a while: kills land in the middle. */
  struct qcc_config *a = fixture_config(20, 25, 1);
  struct qcc_config *b = fixture_config(20, 25, 2);
  struct qcc_build_result ra, rb;
  cr_assert_eq(publish(out, a, &ra), 0);
  cr_assert_eq(publish(out, b, &rb), 0);
  cr_assert_arr_neq(ra.digest, rb.digest, 16);
  srand((unsigned)time(NULL));
  unsigned seen_a = 0, seen_b = 0;
  for (int round = 0; round < ROUNDS; round++) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      struct qcc_build_result r;
      for (int i = 0; i < 100000; i++) /* bounded; the parent kills it long before */
        if (publish(out, i % 2 ? a : b, &r) != 0) _exit(3);
      _exit(0);
    }
    usleep((useconds_t)(rand() % 20000));
    kill(pid, SIGKILL);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0), "builder failed");

    struct qcc_table *t = NULL;
    struct qcc_table_error te;
    cr_assert_eq(qcc_table_open(out, &t, &te), 0, "round %d: OUT invalid: %s", round, te.message);
    const uint8_t *d = qcc_table_header(t)->source_digest;
    bool is_a = memcmp(d, ra.digest, 16) == 0, is_b = memcmp(d, rb.digest, 16) == 0;
    cr_assert(is_a || is_b, "round %d: OUT is neither table", round);
    seen_a += is_a;
    seen_b += is_b;
    qcc_table_close(&t);
  }
  /* The next build after the kills cleans the leftovers and works. */
  struct qcc_config *c = fixture_config(2, 2, 3);
  struct qcc_build_result rc;
  cr_assert_eq(publish(out, c, &rc), 0);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls -a %s %s/table.bin.snapshots | grep -c '\\.tmp\\.' > %s/count", dir, dir, dir);
  cr_assert_eq(system(cmd) >= 0, 1);
  char path[600];
  snprintf(path, sizeof path, "%s/count", dir);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  int left = -1;
  cr_assert_eq(fscanf(f, "%d", &left), 1);
  fclose(f);
  cr_assert_eq(left, 0, "temp files left after the next build");
  cr_log_info("OUT was A %u times, B %u times", seen_a, seen_b);
  fixture_free(&a);
  fixture_free(&b);
  fixture_free(&c);
  fixture_rmtree(dir);
  free(dir);
}
