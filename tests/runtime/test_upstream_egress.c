/* runtime/egress.c: CA stores built once per table, errors that name the
 * file (never a secret), the no-proxy list. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/egress.h"
#include "schema/enums.h"
#include "test_upstream_fixture.h"

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static char tmpdir[64];

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qcc-eg-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  unsetenv("SSL_CERT_FILE");
  unsetenv("SSL_CERT_DIR");
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  cr_expect_eq(system(cmd), 0);
}

/* Build a table of EPS (one profile), then its egress; returns qcc_egress_new's rc. */
static int build(struct fx_table *t, const struct fx_endpoint *eps, size_t n,
                 struct qcc_egress **eg, struct qcc_err *err) {
  struct fx_profile prof = {"p", QCC_GROUP_PRIMARY, 1, eps, n};
  fx_table_build(t, &prof, 1, NULL, 0);
  memset(err, 0, sizeof *err);
  return qcc_egress_new(t->table, eg, err);
}

static struct fx_endpoint ep(const char *id, const char *url, const char *ca_file) {
  return (struct fx_endpoint){.id = id, .base_url = url, .key_kind = QCC_KEY_NONE,
                              .key_value = "", .auth = QCC_AUTH_X_API_KEY, .enabled = 1,
                              .ca_file = ca_file};
}

Test(upstream_egress, stores_shared_per_ca_setting, .init = setup, .fini = teardown) {
  if (access(SYSTEM_BUNDLE, R_OK) != 0) cr_skip_test("no %s", SYSTEM_BUNDLE);
  struct fx_endpoint eps[] = {ep("a", "https://a.example", SYSTEM_BUNDLE),
                              ep("b", "https://b.example", SYSTEM_BUNDLE),
                              ep("c", "https://c.example", NULL),
                              ep("d", "http://127.0.0.1:9", NULL)};
  struct fx_table t;
  struct qcc_egress *eg = NULL;
  struct qcc_err err;
  cr_assert_eq(build(&t, eps, 4, &eg, &err), 0, "%s", err.msg);
  const struct qcc_tbl_endpoint *e[4];
  for (uint32_t i = 0; i < 4; i++) e[i] = qcc_table_endpoint(t.table, i);
  /* one store for a and b: the same source string, by pointer */
  cr_expect_eq(qcc_egress_trust_source(eg, e[0]), qcc_egress_trust_source(eg, e[1]));
  cr_expect_str_eq(qcc_egress_trust_source(eg, e[0]), "ca_file " SYSTEM_BUNDLE);
  cr_expect(strncmp(qcc_egress_trust_source(eg, e[2]), "system CAs (", 12) == 0, "%s",
            qcc_egress_trust_source(eg, e[2]));
  cr_expect_str_eq(qcc_egress_trust_source(eg, e[3]), "");
  CURL *easy = curl_easy_init();
  cr_assert_not_null(easy);
  for (int i = 0; i < 4; i++) cr_expect_eq(qcc_egress_apply(eg, e[i], easy), 0);
  curl_easy_cleanup(easy);
  qcc_egress_free(&eg);
  cr_expect_null(eg);
  fx_table_free(&t);
}

Test(upstream_egress, unusable_ca_files_fail_naming_them, .init = setup, .fini = teardown) {
  char junk[128];
  snprintf(junk, sizeof junk, "%s/junk.pem", tmpdir);
  FILE *f = fopen(junk, "w");
  cr_assert_not_null(f);
  fputs("not a certificate\n", f);
  fclose(f);
  char missing[128];
  snprintf(missing, sizeof missing, "%s/missing.pem", tmpdir);
  const char *files[] = {missing, junk};
  for (int k = 0; k < 2; k++) {
    struct fx_endpoint eps[] = {ep("relay-x", "https://x.example", files[k])};
    struct fx_table t;
    struct qcc_egress *eg = NULL;
    struct qcc_err err;
    cr_expect_eq(build(&t, eps, 1, &eg, &err), -1, "%s accepted", files[k]);
    cr_expect_null(eg);
    cr_expect(strstr(err.msg, files[k]) != NULL, "%s", err.msg);
    cr_expect(strstr(err.msg, "relay-x") != NULL, "%s", err.msg);
    fx_table_free(&t);
  }
  /* plain-HTTP endpoints do not load CAs at all */
  struct fx_endpoint plain[] = {ep("p", "http://127.0.0.1:9", missing)};
  struct fx_table t;
  struct qcc_egress *eg = NULL;
  struct qcc_err err;
  cr_expect_eq(build(&t, plain, 1, &eg, &err), 0, "%s", err.msg);
  qcc_egress_free(&eg);
  fx_table_free(&t);
}

Test(upstream_egress, ssl_cert_file_honoured_and_checked, .init = setup, .fini = teardown) {
  struct fx_endpoint eps[] = {ep("s", "https://s.example", NULL)};
  struct fx_table t;
  struct qcc_egress *eg = NULL;
  struct qcc_err err;
  char missing[128];
  snprintf(missing, sizeof missing, "%s/nope.pem", tmpdir);
  setenv("SSL_CERT_FILE", missing, 1);
  cr_expect_eq(build(&t, eps, 1, &eg, &err), -1);
  cr_expect(strstr(err.msg, "SSL_CERT_FILE") != NULL && strstr(err.msg, missing) != NULL, "%s",
            err.msg);
  fx_table_free(&t);
  if (access(SYSTEM_BUNDLE, R_OK) != 0) cr_skip_test("no %s", SYSTEM_BUNDLE);
  setenv("SSL_CERT_FILE", SYSTEM_BUNDLE, 1);
  cr_assert_eq(build(&t, eps, 1, &eg, &err), 0, "%s", err.msg);
  cr_expect_str_eq(qcc_egress_trust_source(eg, qcc_table_endpoint(t.table, 0)),
                   "SSL_CERT_FILE=" SYSTEM_BUNDLE);
  qcc_egress_free(&eg);
  fx_table_free(&t);
  unsetenv("SSL_CERT_FILE");
}

Test(upstream_egress, noproxy_keeps_the_environment_and_adds_loopback, .init = setup,
     .fini = teardown) {
  struct fx_endpoint eps[] = {ep("p", "http://127.0.0.1:9", NULL)};
  const char *env[] = {NULL, "corp.example,.internal", "*"};
  const char *want[] = {QCC_EGRESS_LOOPBACK, "corp.example,.internal," QCC_EGRESS_LOOPBACK, "*"};
  for (int k = 0; k < 3; k++) {
    if (env[k] != NULL) setenv("NO_PROXY", env[k], 1);
    struct fx_table t;
    struct qcc_egress *eg = NULL;
    struct qcc_err err;
    cr_assert_eq(build(&t, eps, 1, &eg, &err), 0, "%s", err.msg);
    cr_expect_str_eq(qcc_egress_noproxy(eg), want[k]);
    qcc_egress_free(&eg);
    fx_table_free(&t);
  }
  unsetenv("NO_PROXY");
}

Test(upstream_egress, proxy_credentials_variable_must_be_set, .init = setup, .fini = teardown) {
  struct fx_endpoint eps[] = {ep("px", "https://x.example", NULL)};
  eps[0].proxy = "http://proxy.example:3128";
  eps[0].proxy_credentials_env = "QCC_TEST_PROXY_CRED";
  unsetenv("QCC_TEST_PROXY_CRED");
  struct fx_table t;
  struct qcc_egress *eg = NULL;
  struct qcc_err err;
  cr_expect_eq(build(&t, eps, 1, &eg, &err), -1);
  cr_expect(strstr(err.msg, "QCC_TEST_PROXY_CRED") != NULL, "%s", err.msg);
  fx_table_free(&t);
  setenv("QCC_TEST_PROXY_CRED", "user:s3cret-value", 1);
  if (access(SYSTEM_BUNDLE, R_OK) != 0) cr_skip_test("no %s", SYSTEM_BUNDLE);
  cr_assert_eq(build(&t, eps, 1, &eg, &err), 0, "%s", err.msg);
  cr_expect(strstr(err.msg, "s3cret") == NULL);
  CURL *easy = curl_easy_init();
  cr_expect_eq(qcc_egress_apply(eg, qcc_table_endpoint(t.table, 0), easy), 0);
  curl_easy_cleanup(easy);
  qcc_egress_free(&eg);
  fx_table_free(&t);
  unsetenv("QCC_TEST_PROXY_CRED");
}
