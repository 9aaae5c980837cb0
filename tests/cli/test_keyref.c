/* schema/keyref.c: the key-reading rules qcc-run's keystore and `qccc
 * endpoint test` share. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schema/enums.h"
#include "schema/keyref.h"

static char dir[] = "/tmp/qcc-keyref-XXXXXX";

static const char *file_with(const char *name, const char *text, size_t n) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(text, 1, n, f), n);
  fclose(f);
  return path;
}

static int res(int kind, const char *ref, char **key, char *why) {
  size_t len = 0;
  why[0] = '\0';
  int rc = qcc_keyref_resolve(kind, ref, key, &len, why, 256);
  if (rc == 0) cr_assert_eq(len, strlen(*key));
  return rc;
}

Test(keyref, every_rule) {
  cr_assert_not_null(mkdtemp(dir));
  char *key = NULL, why[256];
  setenv("QCC_KR_SET", "sk-env-1", 1);
  setenv("QCC_KR_EMPTY", "", 1);
  unsetenv("QCC_KR_UNSET");
  cr_assert_eq(res(QCC_KEY_ENV, "QCC_KR_SET", &key, why), 0);
  cr_expect_str_eq(key, "sk-env-1");
  qcc_keyref_wipe(key, strlen(key));
  cr_expect_eq(res(QCC_KEY_ENV, "QCC_KR_UNSET", &key, why), 1);
  cr_expect_str_eq(why, "environment variable QCC_KR_UNSET is not set");
  cr_expect_null(key);
  cr_expect_eq(res(QCC_KEY_ENV, "QCC_KR_EMPTY", &key, why), 1);
  cr_expect_str_eq(why, "environment variable QCC_KR_EMPTY is empty");

  const char *p = file_with("k1", "sk-file-2 \r\n\t\n", 14);
  cr_assert_eq(res(QCC_KEY_FILE, p, &key, why), 0, "%s", why);
  cr_expect_str_eq(key, "sk-file-2", "trailing whitespace stripped");
  qcc_keyref_wipe(key, strlen(key));
  p = file_with("k2", " \n", 2);
  cr_expect_eq(res(QCC_KEY_FILE, p, &key, why), 1);
  cr_expect_not_null(strstr(why, "is empty"), "%s", why);
  char *big = malloc(QCC_KEYREF_FILE_MAX + 1);
  memset(big, 'k', QCC_KEYREF_FILE_MAX + 1);
  p = file_with("k3", big, QCC_KEYREF_FILE_MAX + 1);
  free(big);
  cr_expect_eq(res(QCC_KEY_FILE, p, &key, why), 1);
  cr_expect_not_null(strstr(why, "larger than 16 KiB"), "%s", why);
  p = file_with("k4", "sk-a\nsk-b\n", 10);
  cr_expect_eq(res(QCC_KEY_FILE, p, &key, why), 1, "an inner newline would split the header");
  cr_expect_not_null(strstr(why, "control characters"), "%s", why);
  cr_expect_null(strstr(why, "sk-a"), "never the value: %s", why);
  cr_expect_eq(res(QCC_KEY_FILE, "/nonexistent/qcc-key", &key, why), 1);
  cr_expect_not_null(strstr(why, "key file /nonexistent/qcc-key"), "%s", why);

  cr_assert_eq(res(QCC_KEY_LITERAL, "sk-lit", &key, why), 0);
  cr_expect_str_eq(key, "sk-lit");
  qcc_keyref_wipe(key, strlen(key));
  cr_expect_eq(res(QCC_KEY_LITERAL, "", &key, why), 1);
  cr_assert_eq(res(QCC_KEY_NONE, "", &key, why), 0);
  cr_expect_str_eq(key, "");
  qcc_keyref_wipe(key, 0);
  for (const char *n = "k1\0k2\0k3\0k4\0"; *n; n += 3) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, n);
    unlink(path);
  }
  rmdir(dir);
}
