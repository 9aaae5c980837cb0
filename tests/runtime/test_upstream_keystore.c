/* runtime/keystore.c: keys from env / file / literal, reasons without
 * secrets, constant-time client tokens. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/keystore.h"
#include "schema/enums.h"
#include "test_upstream_fixture.h"

static char tmpdir[64];

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qcc-ks-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  cr_expect_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *data, size_t len, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

TestSuite(upstream_keystore, .init = setup, .fini = teardown);

Test(upstream_keystore, env_file_literal_and_missing) {
  setenv("QCC_TEST_KEY_A", "sk-env-value", 1);
  unsetenv("QCC_TEST_KEY_MISSING");
  setenv("QCC_TEST_KEY_EMPTY", "", 1);
  char good[256], big[256], empty[256];
  write_file("good.key", "sk-file-value \n\r\n", 17, good, sizeof good);
  char *huge = malloc(20000);
  cr_assert_not_null(huge);
  memset(huge, 'k', 20000);
  write_file("big.key", huge, 20000, big, sizeof big);
  free(huge);
  write_file("empty.key", "\n", 1, empty, sizeof empty);
  char missing[300];
  snprintf(missing, sizeof missing, "%s/nope.key", tmpdir);
  struct fx_endpoint eps[] = {
      {"env", "http://127.0.0.1:1", QCC_KEY_ENV, "QCC_TEST_KEY_A", 0, 1, 0, NULL},
      {"file", "http://127.0.0.1:1", QCC_KEY_FILE, good, 0, 1, 0, NULL},
      {"lit", "http://127.0.0.1:1", QCC_KEY_LITERAL, "sk-literal", 0, 1, 0, NULL},
      {"noenv", "http://127.0.0.1:1", QCC_KEY_ENV, "QCC_TEST_KEY_MISSING", 0, 1, 0, NULL},
      {"emptyenv", "http://127.0.0.1:1", QCC_KEY_ENV, "QCC_TEST_KEY_EMPTY", 0, 1, 0, NULL},
      {"big", "http://127.0.0.1:1", QCC_KEY_FILE, big, 0, 1, 0, NULL},
      {"emptyfile", "http://127.0.0.1:1", QCC_KEY_FILE, empty, 0, 1, 0, NULL},
      {"nofile", "http://127.0.0.1:1", QCC_KEY_FILE, missing, 0, 1, 0, NULL},
      {"none", "http://127.0.0.1:1", QCC_KEY_NONE, NULL, 0, 1, 0, NULL},
  };
  struct fx_profile pr = {"p", QCC_GROUP_PRIMARY, 1, eps, sizeof eps / sizeof eps[0]};
  struct fx_table t;
  fx_table_build(&t, &pr, 1, NULL, 0);
  struct qcc_keystore *ks = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(t.table, &ks, &err), 0);
  const char *why = NULL;
  cr_expect_str_eq(qcc_keystore_endpoint_key(ks, 0, &why), "sk-env-value");
  cr_expect_str_eq(qcc_keystore_endpoint_key(ks, 1, &why), "sk-file-value");
  cr_expect_str_eq(qcc_keystore_endpoint_key(ks, 2, &why), "sk-literal");

  cr_expect_null(qcc_keystore_endpoint_key(ks, 3, &why));
  cr_assert_not_null(why);
  cr_expect_str_eq(why, "environment variable QCC_TEST_KEY_MISSING is not set");
  cr_expect_null(qcc_keystore_endpoint_key(ks, 4, &why));
  cr_expect_str_eq(why, "environment variable QCC_TEST_KEY_EMPTY is empty");
  cr_expect_null(qcc_keystore_endpoint_key(ks, 5, &why));
  cr_expect(strstr(why, "16 KiB") != NULL, "%s", why);
  cr_expect(strstr(why, "big.key") != NULL, "%s", why);
  cr_expect(strstr(why, "kkkk") == NULL, "reason leaks content: %s", why);
  cr_expect_null(qcc_keystore_endpoint_key(ks, 6, &why));
  cr_expect(strstr(why, "is empty") != NULL, "%s", why);
  cr_expect_null(qcc_keystore_endpoint_key(ks, 7, &why));
  cr_expect(strstr(why, "nope.key") != NULL && strstr(why, "No such file") != NULL, "%s", why);
  /* no key configured: usable, with no credential */
  cr_expect_str_eq(qcc_keystore_endpoint_key(ks, 8, &why), "");
  cr_expect_null(qcc_keystore_endpoint_key(ks, 9, &why));
  qcc_keystore_free(&ks);
  cr_expect_null(ks);
  fx_table_free(&t);
  unsetenv("QCC_TEST_KEY_A");
  unsetenv("QCC_TEST_KEY_EMPTY");
}

Test(upstream_keystore, key_with_newline_inside_is_refused) {
  setenv("QCC_TEST_KEY_NL", "sk-a\r\nx-evil: 1", 1);
  struct fx_endpoint eps[] = {
      {"nl", "http://127.0.0.1:1", QCC_KEY_ENV, "QCC_TEST_KEY_NL", 0, 1, 0, NULL},
  };
  struct fx_profile pr = {"p", QCC_GROUP_PRIMARY, 1, eps, 1};
  struct fx_table t;
  fx_table_build(&t, &pr, 1, NULL, 0);
  struct qcc_keystore *ks = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(t.table, &ks, &err), 0);
  const char *why = NULL;
  cr_expect_null(qcc_keystore_endpoint_key(ks, 0, &why));
  cr_expect(strstr(why, "control characters") != NULL);
  cr_expect(strstr(why, "sk-a") == NULL);
  qcc_keystore_free(&ks);
  fx_table_free(&t);
  unsetenv("QCC_TEST_KEY_NL");
}

/* A FIFO put where a key file was expected: refused at once (opening it
 * for reading would wait for a writer and freeze qcc-run's loop). */
Test(upstream_keystore, key_file_fifo_is_refused_without_blocking, .timeout = 5) {
  char fifo[300];
  snprintf(fifo, sizeof fifo, "%s/fifo.key", tmpdir);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  struct fx_endpoint eps[] = {{"fifo", "http://127.0.0.1:1", QCC_KEY_FILE, fifo, 0, 1, 0, NULL}};
  struct fx_profile pr = {"p", QCC_GROUP_PRIMARY, 1, eps, 1};
  struct fx_table t;
  fx_table_build(&t, &pr, 1, NULL, 0);
  struct qcc_keystore *ks = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(t.table, &ks, &err), 0);
  const char *why = NULL;
  cr_expect_null(qcc_keystore_endpoint_key(ks, 0, &why));
  cr_assert_not_null(why);
  cr_expect(strstr(why, "fifo.key") != NULL && strstr(why, "not a regular file") != NULL, "%s", why);
  qcc_keystore_free(&ks);
  fx_table_free(&t);
}

Test(upstream_keystore, reload_picks_up_changed_key_file) {
  char path[256];
  write_file("rot.key", "sk-old\n", 7, path, sizeof path);
  struct fx_endpoint eps[] = {{"rot", "http://127.0.0.1:1", QCC_KEY_FILE, path, 0, 1, 0, NULL}};
  struct fx_profile pr = {"p", QCC_GROUP_PRIMARY, 1, eps, 1};
  struct fx_table t;
  fx_table_build(&t, &pr, 1, NULL, 0);
  struct qcc_keystore *ks = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(t.table, &ks, &err), 0);
  cr_expect_str_eq(qcc_keystore_endpoint_key(ks, 0, NULL), "sk-old");
  qcc_keystore_free(&ks);
  write_file("rot.key", "sk-new\n", 7, path, sizeof path);
  cr_assert_eq(qcc_keystore_new(t.table, &ks, &err), 0);
  cr_expect_str_eq(qcc_keystore_endpoint_key(ks, 0, NULL), "sk-new");
  qcc_keystore_free(&ks);
  fx_table_free(&t);
}

Test(upstream_keystore, client_tokens) {
  setenv("QCC_TEST_TOKEN_1", "tok-one", 1);
  unsetenv("QCC_TEST_TOKEN_GONE");
  struct fx_endpoint eps[] = {{"e", "http://127.0.0.1:1", QCC_KEY_LITERAL, "k", 0, 1, 0, NULL}};
  struct fx_profile pr = {"p", QCC_GROUP_PRIMARY, 1, eps, 1};
  struct fx_token toks[] = {
      {"one", QCC_KEY_ENV, "QCC_TEST_TOKEN_1", 5},
      {"gone", QCC_KEY_ENV, "QCC_TEST_TOKEN_GONE", 1},
      {"two", QCC_KEY_LITERAL, "tok-two", 9},
  };
  struct fx_table t;
  fx_table_build(&t, &pr, 1, toks, 3);
  struct qcc_keystore *ks = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(t.table, &ks, &err), 0);
  cr_expect_eq(qcc_keystore_token_count(ks), 2);
  uint32_t prio = 0;
  cr_expect(qcc_keystore_token_ok(ks, "tok-one", 7, &prio));
  cr_expect_eq(prio, 5);
  cr_expect(qcc_keystore_token_ok(ks, "tok-two", 7, &prio));
  cr_expect_eq(prio, 9);
  prio = 77;
  cr_expect(!qcc_keystore_token_ok(ks, "tok-on", 6, &prio));
  cr_expect(!qcc_keystore_token_ok(ks, "tok-one!", 8, &prio));
  cr_expect(!qcc_keystore_token_ok(ks, "", 0, &prio));
  cr_expect_eq(prio, 77, "priority untouched on a miss");
  qcc_keystore_free(&ks);
  fx_table_free(&t);
  unsetenv("QCC_TEST_TOKEN_1");
}
