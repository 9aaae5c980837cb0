/* runtime/fsyncer.c: the everysec fsync thread of the journal and the usage
 * store, on real files: a dirty file is synced within about a second, a
 * clean one never, a failed sync is reported and retried, stop says whether
 * a sync was still due. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/fsyncer.h"

static int temp_file(void) {
  char path[] = "/tmp/qcc-fsyncer-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  unlink(path);
  cr_assert(write(fd, "x", 1) == 1);
  return fd;
}

/* Up to 3 s for the count to reach WANT. */
static bool wait_count(const struct qcc_fsyncer *s, uint64_t want) {
  for (int i = 0; i < 300; i++) {
    if (qcc_fsyncer_count(s) >= want) return true;
    usleep(10000);
  }
  return false;
}

Test(fsyncer, dirty_is_synced_clean_is_not) {
  int fd = temp_file();
  struct qcc_fsyncer *s = NULL;
  struct qcc_err err = {0};
  cr_assert(qcc_fsyncer_start(fd, "test", &s, &err) == 0, "%s", err.msg);
  usleep(1300000);
  cr_expect_eq(qcc_fsyncer_count(s), 0, "nothing written, nothing synced");
  qcc_fsyncer_mark_dirty(s);
  cr_expect(wait_count(s, 1), "a dirty file is synced within the second");
  usleep(1300000);
  cr_expect_eq(qcc_fsyncer_count(s), 1, "once, not every second");
  /* the owner replaces its file: the next sync is of the new one */
  int fd2 = temp_file();
  qcc_fsyncer_set_fd(s, fd2);
  close(fd);
  qcc_fsyncer_mark_dirty(s);
  cr_expect(wait_count(s, 2));
  cr_expect_eq(qcc_fsyncer_take_error(s), 0, "no failure on a regular file");
  cr_expect(!qcc_fsyncer_stop(&s), "nothing due at stop");
  cr_expect(s == NULL);
  close(fd2);
}

Test(fsyncer, failure_reported_and_retried_and_due_at_stop) {
  int p[2];
  cr_assert(pipe(p) == 0); /* fdatasync on a pipe fails (EINVAL) */
  struct qcc_fsyncer *s = NULL;
  struct qcc_err err = {0};
  cr_assert(qcc_fsyncer_start(p[1], "test", &s, &err) == 0);
  qcc_fsyncer_mark_dirty(s);
  cr_expect(wait_count(s, 2), "a failed sync is tried again the next second");
  cr_expect_neq(qcc_fsyncer_take_error(s), 0, "the failure is reported");
  cr_expect(qcc_fsyncer_stop(&s), "still due when stopped: the owner syncs at close");
  close(p[0]);
  close(p[1]);
}

Test(fsyncer, null_is_a_no_op) {
  qcc_fsyncer_mark_dirty(NULL);
  qcc_fsyncer_set_fd(NULL, 3);
  cr_expect_eq(qcc_fsyncer_count(NULL), 0);
  cr_expect_eq(qcc_fsyncer_take_error(NULL), 0);
  struct qcc_fsyncer *s = NULL;
  cr_expect(!qcc_fsyncer_stop(&s));
}
