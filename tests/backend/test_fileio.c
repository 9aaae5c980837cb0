/* schema/fileio: atomic replace, the mode asked for, read caps, refusals. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "schema/fileio.h"

static char *dir;

static void setup(void) { dir = fixture_tmpdir(); }
static void teardown(void) {
  fixture_rmtree(dir);
  free(dir);
}

TestSuite(fileio, .init = setup, .fini = teardown);

static void path_in(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", dir, name);
}

static char *slurp(const char *path) {
  size_t len = 0;
  char *p = fixture_read_file(path, &len);
  cr_assert_not_null(p, "read %s", path);
  char *s = malloc(len + 1);
  memcpy(s, p, len);
  s[len] = '\0';
  free(p);
  return s;
}

/* Entries of DIR other than . and .. */
static int entries(void) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  for (struct dirent *de = readdir(d); de != NULL; de = readdir(d))
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

Test(fileio, a_replace_writes_the_whole_file_and_leaves_no_temp) {
  char p[512];
  path_in(p, sizeof p, "f.txt");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(p, "first", 5, 0644, &err), 0, "%s", err.msg);
  cr_assert_eq(qcc_file_replace(p, "second one", 10, 0644, &err), 0, "%s", err.msg);
  char *s = slurp(p);
  cr_expect_str_eq(s, "second one");
  free(s);
  cr_expect_eq(entries(), 1, "only the target is left");
}

Test(fileio, b_mode_is_the_one_asked_whatever_the_umask) {
  char p[512];
  struct qcc_err err = {0};
  mode_t old = umask(0);
  path_in(p, sizeof p, "secret");
  cr_assert_eq(qcc_file_replace(p, "k", 1, 0600, &err), 0, "%s", err.msg);
  umask(0077);
  char q[512];
  path_in(q, sizeof q, "public");
  cr_assert_eq(qcc_file_replace(q, "p", 1, 0644, &err), 0, "%s", err.msg);
  umask(old);
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_expect_eq(st.st_mode & 07777, 0600, "got %o", (unsigned)(st.st_mode & 07777));
  cr_assert_eq(stat(q, &st), 0);
  cr_expect_eq(st.st_mode & 07777, 0644, "got %o", (unsigned)(st.st_mode & 07777));
}

/* A write that fails (here: over RLIMIT_FSIZE, so write() gets EFBIG) must
 * leave the old file exactly as it was and no temp file. Run in a child:
 * the limit and SIGXFSZ are process-wide. */
Test(fileio, c_failed_write_keeps_the_old_file) {
  char p[512];
  path_in(p, sizeof p, "keep.txt");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(p, "the old contents", 16, 0644, &err), 0, "%s", err.msg);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 8, .rlim_max = 8};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
    struct qcc_err e = {0};
    int rc = qcc_file_replace(p, "far too long for the limit", 26, 0644, &e);
    _exit(rc == -1 && e.code == EFBIG && strstr(e.msg, "cannot write") != NULL ? 0 : 1);
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the write must fail with EFBIG");
  char *s = slurp(p);
  cr_expect_str_eq(s, "the old contents");
  free(s);
  cr_expect_eq(entries(), 1, "the temp file was removed");
}

Test(fileio, d_abandoned_newfile_leaves_the_target_alone) {
  char p[512];
  path_in(p, sizeof p, "t");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(p, "old", 3, 0644, &err), 0);
  struct qcc_newfile *f = NULL;
  cr_assert_eq(qcc_newfile_new(p, 0644, &f, &err), 0, "%s", err.msg);
  cr_assert_eq(qcc_newfile_write(f, "new", 3, &err), 0);
  cr_expect_eq(access(qcc_newfile_temp(f), F_OK), 0, "the temp file exists while writing");
  qcc_newfile_free(&f);
  cr_expect_null(f);
  char *s = slurp(p);
  cr_expect_str_eq(s, "old");
  free(s);
  cr_expect_eq(entries(), 1);
}

Test(fileio, e_create_refuses_an_existing_target) {
  char p[512];
  path_in(p, sizeof p, "once");
  struct qcc_err err = {0};
  struct qcc_newfile *f = NULL;
  cr_assert_eq(qcc_newfile_new(p, 0600, &f, &err), 0);
  cr_assert_eq(qcc_newfile_write(f, "one", 3, &err), 0);
  cr_assert_eq(qcc_newfile_commit(&f, QCC_NEWFILE_CREATE, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(qcc_newfile_new(p, 0600, &f, &err), 0);
  cr_assert_eq(qcc_newfile_write(f, "two", 3, &err), 0);
  cr_expect_eq(qcc_newfile_commit(&f, QCC_NEWFILE_CREATE, NULL, &err), -1);
  cr_expect_eq(err.code, EEXIST);
  cr_expect_null(f);
  char *s = slurp(p);
  cr_expect_str_eq(s, "one");
  free(s);
  cr_expect_eq(entries(), 1);
}

Test(fileio, f_pwrite_and_keep_fd) {
  char p[512];
  path_in(p, sizeof p, "hdr");
  struct qcc_err err = {0};
  struct qcc_newfile *f = NULL;
  cr_assert_eq(qcc_newfile_new(p, 0600, &f, &err), 0);
  cr_assert_eq(qcc_newfile_pwrite(f, "body", 4, 4, &err), 0);
  cr_assert_eq(qcc_newfile_pwrite(f, "HEAD", 4, 0, &err), 0);
  int fd = -1;
  cr_assert_eq(qcc_newfile_commit(&f, QCC_NEWFILE_REPLACE, &fd, &err), 0, "%s", err.msg);
  cr_assert_geq(fd, 0);
  cr_expect_eq(write(fd, "+", 1), 1, "the kept descriptor still writes the file"); /* at 0 */
  close(fd);
  char *s = slurp(p);
  cr_expect_str_eq(s, "+EADbody");
  free(s);
}

Test(fileio, g_read_whole_file_nul_terminated) {
  char p[512];
  path_in(p, sizeof p, "r");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(p, "hello", 5, 0644, &err), 0);
  void *buf = NULL;
  size_t len = 0;
  cr_assert_eq(qcc_file_read(p, 5, &buf, &len, &err), 0, "%s", err.msg);
  cr_expect_eq(len, 5);
  cr_expect_str_eq((char *)buf, "hello");
  cr_expect_eq((uintptr_t)buf % 8, 0, "aligned");
  free(buf);
}

Test(fileio, g2_read_with_mode) {
  char p[512];
  path_in(p, sizeof p, "m");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(p, "x: 1\n", 5, 0640, &err), 0);
  void *buf = NULL;
  size_t len = 0;
  mode_t mode = 0;
  cr_assert_eq(qcc_file_read_mode(p, 100, &buf, &len, &mode, &err), 0, "%s", err.msg);
  cr_expect_eq(mode, 0640, "mode %o", (unsigned)mode);
  cr_expect_str_eq((char *)buf, "x: 1\n");
  free(buf);
  cr_assert_eq(qcc_file_replace(p, "x: 2\n", 5, 0600, &err), 0);
  cr_assert_eq(qcc_file_read_mode(p, 100, &buf, &len, &mode, &err), 0, "%s", err.msg);
  cr_expect_eq(mode, 0600, "mode %o", (unsigned)mode);
  free(buf);
}

Test(fileio, h_read_cap_enforced) {
  char p[512];
  path_in(p, sizeof p, "big");
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(p, "123456", 6, 0644, &err), 0);
  void *buf = (void *)1;
  size_t len = 99;
  cr_expect_eq(qcc_file_read(p, 5, &buf, &len, &err), -1);
  cr_expect_eq(err.code, EFBIG);
  cr_expect_null(buf);
  cr_expect_eq(len, 0);
  cr_expect_not_null(strstr(err.msg, "more than the 5 allowed"), "%s", err.msg);
}

Test(fileio, i_read_refuses_a_fifo_without_blocking, .timeout = 5) {
  char p[512];
  path_in(p, sizeof p, "fifo");
  cr_assert_eq(mkfifo(p, 0600), 0);
  struct qcc_err err = {0};
  void *buf = NULL;
  size_t len = 0;
  cr_expect_eq(qcc_file_read(p, 100, &buf, &len, &err), -1); /* no writer: must not hang */
  cr_expect_not_null(strstr(err.msg, "not a regular file"), "%s", err.msg);
  cr_expect_eq(qcc_file_read(dir, 100, &buf, &len, &err), -1);
  cr_expect_not_null(strstr(err.msg, "not a regular file"), "%s", err.msg);
  path_in(p, sizeof p, "missing");
  cr_expect_eq(qcc_file_read(p, 100, &buf, &len, &err), -1);
  cr_expect_eq(err.code, ENOENT);
}

Test(fileio, j_clean_temps_removes_only_dead_writers_files) {
  char dead[512], live[512], other[512];
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0); /* a pid that no longer runs */
  snprintf(dead, sizeof dead, "%s/.t.bin.tmp.%ld.0", dir, (long)pid);
  snprintf(live, sizeof live, "%s/.t.bin.tmp.%ld.0", dir, (long)getppid());
  snprintf(other, sizeof other, "%s/.u.bin.tmp.%ld.0", dir, (long)pid);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(dead, "x", 1, 0600, &err), 0);
  cr_assert_eq(qcc_file_replace(live, "x", 1, 0600, &err), 0);
  cr_assert_eq(qcc_file_replace(other, "x", 1, 0600, &err), 0);
  char target[512];
  path_in(target, sizeof target, "t.bin");
  cr_expect_eq(qcc_file_clean_temps(target), 1);
  cr_expect_neq(access(dead, F_OK), 0);
  cr_expect_eq(access(live, F_OK), 0);
  cr_expect_eq(access(other, F_OK), 0);
  cr_expect_eq(qcc_dir_clean_temps(dir), 1);
  cr_expect_neq(access(other, F_OK), 0);
  cr_expect_eq(qcc_dir_fsync(dir, &err), 0, "%s", err.msg);
  cr_expect_eq(qcc_dir_fsync_of(target, &err), 0, "%s", err.msg);
}
