/* The table under a generation cannot be pulled out from under it: the file
 * is truncated, rewritten in place, replaced by a FIFO, deleted; every reload
 * is rejected with its reason, the current generation stays, and a request's
 * pinned generation still reads the exact bytes it was loaded with. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/tableset.h"
#include "schema/enums.h"
#include "schema/fileio.h"
#include "test_upstream_fixture.h"

static const struct fx_endpoint eps[] = {
    {.id = "ep-a", .base_url = "http://127.0.0.1:9", .key_kind = QCC_KEY_LITERAL,
     .key_value = "sk-test-literal", .enabled = 1, .timeout_ms = 1000},
};
static const struct fx_profile profiles[] = {
    {.name = "main", .enabled = 1, .eps = eps, .count = 1},
};

static char dir[] = "/tmp/qcc-tableset-XXXXXX";
static char path[256];

static void setup(void) {
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/table.bin", dir);
}

static void teardown(void) {
  unlink(path);
  rmdir(dir);
}

TestSuite(tableset, .init = setup, .fini = teardown, .timeout = 10);

/* The pinned generation reads the bytes of IMAGE, untouched. */
static void expect_intact(const struct qcc_generation *g, const void *image, size_t len,
                          const char *when) {
  size_t n = 0;
  const void *b = qcc_table_bytes(g->table, &n);
  cr_expect_eq(n, len, "%s: size", when);
  cr_expect_eq(memcmp(b, image, len), 0, "%s: the pinned table's bytes changed", when);
  const struct qcc_tbl_endpoint *e = qcc_table_endpoint(g->table, 0);
  cr_assert_not_null(e, "%s", when);
  cr_expect_str_eq(qcc_table_str(g->table, e->id), "ep-a", "%s", when);
}

static void expect_rejected(struct qcc_tableset *ts, struct qcc_generation *cur, const char *reason,
                            const char *when) {
  struct qcc_err err = {0};
  uint64_t before = qcc_tableset_rejects(ts);
  cr_expect_eq(qcc_tableset_reload(ts, when, &err), -1, "%s: reload must be rejected", when);
  cr_expect_not_null(strstr(err.msg, reason), "%s: \"%s\" not in: %s", when, reason, err.msg);
  cr_expect_eq(qcc_tableset_rejects(ts), before + 1, "%s", when);
  cr_expect_eq(qcc_tableset_current(ts), cur, "%s: the current generation must stay", when);
}

Test(tableset, a_damaged_file_never_touches_the_loaded_generations) {
  struct fx_table fx;
  fx_table_build(&fx, profiles, 1, NULL, 0);
  size_t len = 0;
  const void *image = qcc_table_bytes(fx.table, &len);
  struct qcc_err err = {0};
  cr_assert_eq(qcc_file_replace(path, image, len, 0600, &err), 0, "%s", err.msg);

  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct qcc_tableset *ts = NULL;
  cr_assert_eq(qcc_tableset_new(loop, path, &ts, &err), 0, "%s", err.msg);
  struct qcc_generation *cur = qcc_tableset_current(ts);
  struct qcc_generation *pin = qcc_generation_ref(cur); /* an in-flight request */

  /* truncated in place: a mapping of the file would be SIGBUS here */
  cr_assert_eq(truncate(path, 0), 0);
  expect_intact(pin, image, len, "truncated");
  expect_rejected(ts, cur, "too short", "truncated");

  /* rewritten in place with same-size garbage */
  int fd = open(path, O_WRONLY);
  cr_assert_geq(fd, 0);
  char *junk = malloc(len);
  for (size_t i = 0; i < len; i++) junk[i] = (char)(i * 7 + 3);
  cr_assert_eq(pwrite(fd, junk, len, 0), (ssize_t)len);
  close(fd);
  free(junk);
  expect_intact(pin, image, len, "garbage in place");
  expect_rejected(ts, cur, "not a qcc table", "garbage in place");

  /* a FIFO with no writer: must not block (the suite's timeout would fire) */
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(mkfifo(path, 0600), 0);
  expect_rejected(ts, cur, "not a regular file", "FIFO");

  /* deleted */
  cr_assert_eq(unlink(path), 0);
  expect_rejected(ts, cur, "No such file", "deleted");
  expect_intact(pin, image, len, "after all of it");

  /* a good file again: swapped; the request's generation lives on, alone */
  cr_assert_eq(qcc_file_replace(path, image, len, 0600, &err), 0, "%s", err.msg);
  cr_expect_eq(qcc_tableset_reload(ts, "good", &err), 0, "%s", err.msg);
  cr_expect_neq(qcc_tableset_current(ts), cur, "a new generation object");
  cr_expect_eq(pin->refs, 1, "only the request holds the old generation");
  expect_intact(pin, image, len, "after the swap");
  qcc_generation_unref(&pin); /* frees the old copy: ASan/valgrind see a leak otherwise */
  cr_expect_null(pin);

  qcc_tableset_free(&ts);
  ev_loop_destroy(loop);
  fx_table_free(&fx);
}
