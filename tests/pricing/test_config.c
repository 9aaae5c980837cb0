/* qccc config get/set/reset on the pricing, budget and usage keys: the
 * scalar rows go through the same key table as every other setting, and a
 * model name with dots (glm-4.6) is one path segment. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/editcmd.h"

static char dir[] = "/tmp/qcc-pricing-cfg-XXXXXX";
static char path[256];

static void setup(void) {
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/qcc.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("version: 1\n"
        "proxy:\n"
        "  auth_tokens:\n"
        "    - {name: 李四, env: QCC_T}\n"
        "pricing:\n"
        "  \"claude-sonnet-4*\": {input: 3, output: 15}\n"
        "  glm-4.6: {input: 0.6, output: 2.2}\n"
        "profiles:\n"
        "  - name: p\n"
        "    endpoints:\n"
        "      - id: e1\n"
        "        base_url: https://a.example.com\n"
        "        api_key_env: K\n",
        f);
  cr_assert_eq(fclose(f), 0);
}

static void teardown(void) {
  char p[300];
  snprintf(p, sizeof p, "%s.bak", path);
  unlink(p);
  unlink(path);
  rmdir(dir);
}

TestSuite(config, .init = setup, .fini = teardown, .timeout = 60);

struct res {
  int rc;
  char *out, *err;
};

static struct res cmd(const char *verb, const char *key, const char *value) {
  char *argv[] = {(char *)verb, (char *)key, (char *)value, "-c", path, NULL};
  char *argv2[] = {(char *)verb, (char *)key, "-c", path, NULL};
  struct res r = {0, NULL, NULL};
  size_t ol = 0, el = 0;
  FILE *out = open_memstream(&r.out, &ol), *err = open_memstream(&r.err, &el),
       *in = fopen("/dev/null", "r");
  cr_assert(out && err && in);
  r.rc = value ? qccc_edit_cmd("config", 5, argv, in, out, err)
               : qccc_edit_cmd("config", 4, argv2, in, out, err);
  fclose(out);
  fclose(err);
  fclose(in);
  return r;
}

static void expect_get(const char *key, const char *want) {
  struct res r = cmd("get", key, NULL);
  cr_assert_eq(r.rc, 0, "get %s: %s", key, r.err);
  cr_assert_str_eq(r.out, want, "get %s", key);
  free(r.out);
  free(r.err);
}

static void expect_set(const char *key, const char *value, int rc) {
  struct res r = cmd("set", key, value);
  cr_assert_eq(r.rc, rc, "set %s %s: %s", key, value, r.err);
  free(r.out);
  free(r.err);
}

Test(config, defaults_read_back) {
  expect_get("usage.timezone", "local\n");
  expect_get("usage.detail_retention", "30d\n");
  expect_get("usage.retention", "400d\n");
  expect_get("profiles.p.endpoints.e1.price_multiplier", "1\n");
  expect_get("profiles.p.endpoints.e1.budget.daily_usd", "\n");
  expect_get("pricing.glm-4.6.output", "2.2\n");
  expect_get("pricing.claude-sonnet-4*.cache_read", "\n");
}

Test(config, scalars_set_and_validate) {
  expect_set("profiles.p.endpoints.e1.price_multiplier", "0.5", 0);
  expect_get("profiles.p.endpoints.e1.price_multiplier", "0.5\n");
  expect_set("profiles.p.endpoints.e1.budget.daily_usd", "12.5", 0);
  expect_get("profiles.p.endpoints.e1.budget.daily_usd", "12.5\n");
  expect_set("proxy.auth_tokens.李四.budget.monthly_usd", "100", 0);
  expect_get("proxy.auth_tokens.李四.budget.monthly_usd", "100\n");
  expect_set("pricing.glm-4.6.cache_read", "0.11", 0);
  expect_get("pricing.glm-4.6.cache_read", "0.11\n");
  expect_set("usage.timezone", "Asia/Shanghai", 0);
  expect_get("usage.timezone", "Asia/Shanghai\n");
  /* invalid values are refused and change nothing */
  expect_set("usage.timezone", "Nowhere/Land", QCCC_EDIT_INVALID);
  expect_set("usage.retention", "1d", QCCC_EDIT_INVALID);
  expect_set("profiles.p.endpoints.e1.price_multiplier", "0", QCCC_EDIT_INVALID);
  expect_set("pricing.glm-4.6.input", "0.0000001", QCCC_EDIT_INVALID);
  expect_get("usage.timezone", "Asia/Shanghai\n");
  expect_get("usage.retention", "400d\n");
  /* a required kind has no default to go back to */
  struct res r = cmd("reset", "pricing.glm-4.6.input", NULL);
  cr_assert_neq(r.rc, 0);
  cr_assert_not_null(strstr(r.err, "required"), "%s", r.err);
  free(r.out);
  free(r.err);
  r = cmd("reset", "pricing.glm-4.6.cache_read", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  free(r.out);
  free(r.err);
  expect_get("pricing.glm-4.6.cache_read", "\n");
}
