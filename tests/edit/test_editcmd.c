/* The editing commands on a commented config (tests/edit/base.yaml): each
 * result must equal its expected file byte for byte (so the diff is exactly
 * the intended change), the previous file must be kept as .bak, a change
 * that does not validate must leave the file byte-identical, and without a
 * terminal nothing is ever asked. Commands run in-process with stdin from
 * /dev/null (not a tty). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/editcmd.h"

static char dir[256];
static char cfg[512];

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      buf = realloc(buf, cap);
      cr_assert_not_null(buf);
    }
    size_t r = fread(buf + n, 1, 4096, f);
    n += r;
    if (r == 0)
      break;
  }
  fclose(f);
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static const char *src(const char *rel, char *buf, size_t cap) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root, "QCC_SOURCE_ROOT is set by tests/meson.build");
  snprintf(buf, cap, "%s/tests/edit/%s", root, rel);
  return buf;
}

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/qcc-edit-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cfg, sizeof cfg, "%s/qcc.yaml", dir);
  char b[1024];
  char *base = slurp(src("base.yaml", b, sizeof b), NULL);
  cr_assert_not_null(base);
  put(cfg, base);
  free(base);
}

static void teardown(void) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  for (struct dirent *e = readdir(d); e; e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

struct run {
  int rc;
  char *out, *err;
};

/* Run `qccc CMD ARGS... -c CFG` with stdin from /dev/null. */
static struct run run(const char *cmd, ...) {
  char *argv[32];
  int argc = 0;
  va_list ap;
  va_start(ap, cmd);
  for (const char *a = va_arg(ap, const char *); a && argc < 28; a = va_arg(ap, const char *))
    argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc++] = "-c";
  argv[argc++] = cfg;
  argv[argc] = NULL;
  struct run r = {0};
  size_t ol, el;
  FILE *out = open_memstream(&r.out, &ol);
  FILE *err = open_memstream(&r.err, &el);
  FILE *in = fopen("/dev/null", "r");
  cr_assert(out && err && in);
  r.rc = qccc_edit_cmd(cmd, argc, argv, in, out, err);
  fclose(out);
  fclose(err);
  fclose(in);
  return r;
}

static void run_free(struct run *r) {
  free(r->out);
  free(r->err);
}

static void expect_file(const char *path, const char *expected_rel) {
  char b[1024];
  size_t gl, wl;
  char *got = slurp(path, &gl);
  char *want = slurp(src(expected_rel, b, sizeof b), &wl);
  cr_assert_not_null(got);
  cr_assert_not_null(want, "missing expected file %s", expected_rel);
  cr_assert(gl == wl && memcmp(got, want, gl) == 0, "%s differs from %s; got:\n%s", path,
            expected_rel, got);
  free(got);
  free(want);
}

/* The edit happened: result == expected, backup == the old file. */
static void edited(struct run r, const char *expected) {
  cr_assert_eq(r.rc, 0, "rc %d, stderr: %s", r.rc, r.err);
  expect_file(cfg, expected);
  char bak[600];
  snprintf(bak, sizeof bak, "%s.bak", cfg);
  expect_file(bak, "base.yaml");
  run_free(&r);
}

/* Nothing happened: the file is byte-identical, no backup, no temp file. */
static void untouched(void) {
  expect_file(cfg, "base.yaml");
  char bak[600];
  snprintf(bak, sizeof bak, "%s.bak", cfg);
  cr_assert_neq(access(bak, F_OK), 0, "no backup may be written");
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  for (struct dirent *e = readdir(d); e; e = readdir(d))
    cr_assert_null(strstr(e->d_name, ".edit-"), "temp file left: %s", e->d_name);
  closedir(d);
}

TestSuite(edit_cmd, .init = setup, .fini = teardown);

/* ---- each command: the diff is exactly the intended change ---- */

Test(edit_cmd, a_config_set_existing) {
  edited(run("config", "set", "proxy.port", "8080", NULL), "expected/set-port.yaml");
}
Test(edit_cmd, a_config_set_new_section) {
  edited(run("config", "set", "health.check_interval", "30s", NULL),
         "expected/set-new-section.yaml");
}
Test(edit_cmd, a_config_set_flow_mapping) {
  edited(run("config", "set", "loadbalancer.sticky_session", "true", NULL),
         "expected/set-flow.yaml");
}
Test(edit_cmd, a_config_set_endpoint_path) {
  edited(run("config", "set", "profiles.production.endpoints.prod-2.weight", "75", NULL),
         "expected/set-endpoint-weight.yaml");
}
Test(edit_cmd, a_config_reset_key) {
  edited(run("config", "reset", "switching_policy.cooldown_period", NULL),
         "expected/reset-key.yaml");
}
Test(edit_cmd, a_config_reset_all) {
  edited(run("config", "reset", "--yes", NULL), "expected/reset-all.yaml");
}
Test(edit_cmd, a_priority_set) {
  edited(run("priority", "set", "backup", "fallback", NULL), "expected/priority-set.yaml");
}
Test(edit_cmd, a_profile_add) {
  edited(run("profile", "add", "staging", "--priority", "secondary", "--description",
             "staging keys", NULL),
         "expected/profile-add.yaml");
}
Test(edit_cmd, a_profile_remove) {
  edited(run("profile", "remove", "backup", NULL), "expected/profile-remove.yaml");
}
Test(edit_cmd, a_endpoint_add_base_url) {
  edited(run("endpoint", "add", "production", "--base-url", "https://api.deepseek.com/anthropic",
             "--key-env", "DEEPSEEK_API_KEY", "--weight", "10", NULL),
         "expected/endpoint-add-url.yaml");
}
Test(edit_cmd, a_endpoint_add_preset) {
  edited(run("endpoint", "add", "backup", "--preset", "zai", "--key-env", "ZAI_KEY_2", "--id",
             "zai-2", NULL),
         "expected/endpoint-add-preset.yaml");
}
Test(edit_cmd, a_endpoint_add_from) {
  edited(run("endpoint", "add", "production", "--from", "backup-1", "--id", "prod-3", NULL),
         "expected/endpoint-add-from.yaml");
}
Test(edit_cmd, a_endpoint_remove) {
  edited(run("endpoint", "remove", "prod-2", NULL), "expected/endpoint-remove.yaml");
}
Test(edit_cmd, a_policy_flags) {
  edited(run("policy", "--no-auto-failover", "--failure-threshold", "5", "--cooldown", "10m", NULL),
         "expected/policy.yaml");
}

Test(edit_cmd, b_edit_keeps_file_mode) {
  cr_assert_eq(chmod(cfg, 0600), 0);
  struct run r = run("config", "set", "proxy.port", "8080", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  struct stat st;
  cr_assert_eq(stat(cfg, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  run_free(&r);
}

Test(edit_cmd, b_same_value_changes_nothing) {
  struct run r = run("config", "set", "proxy.port", "7860", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  run_free(&r);
  untouched();
}

/* ---- get / list ---- */

Test(edit_cmd, c_config_get_value_and_default) {
  struct run r = run("config", "get", "proxy.port", NULL);
  cr_assert_eq(r.rc, 0);
  cr_assert_str_eq(r.out, "7860\n");
  run_free(&r);
  r = run("config", "get", "queue.max_size", NULL);
  cr_assert_eq(r.rc, 0);
  cr_assert_str_eq(r.out, "1000\n");
  run_free(&r);
  r = run("config", "get", "profiles.production.endpoints.prod-1.base_url", NULL);
  cr_assert_str_eq(r.out, "https://api.anthropic.com\n");
  run_free(&r);
  r = run("config", "get", "profiles.nope.priority", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_USAGE);
  cr_assert(strstr(r.err, "nope"), "%s", r.err);
  run_free(&r);
}

Test(edit_cmd, c_config_list_marks_defaults) {
  struct run r = run("config", "list", NULL);
  cr_assert_eq(r.rc, 0);
  cr_assert(strstr(r.out, "proxy.port"), "%s", r.out);
  const char *port = strstr(r.out, "proxy.port");
  cr_assert(strncmp(strchr(port, '7'), "7860\n", 5) == 0, "explicit value without marker");
  cr_assert(strstr(r.out, "queue.max_size                       1000  (default)"), "%s", r.out);
  run_free(&r);
  untouched();
}

Test(edit_cmd, c_endpoint_list_from_config) {
  struct run r = run("endpoint", "list", "production", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  cr_assert(strstr(r.out, "prod-1"));
  cr_assert(strstr(r.out, "prod-2"));
  cr_assert_null(strstr(r.out, "backup-1"));
  cr_assert(strstr(r.out, "env:ANTHROPIC_KEY_PROD1"));
  run_free(&r);
}

/* Issue 16: the config listing fits 100 columns with long ids and URLs
 * (BASE_URL cut first); --wide adds GROUP and PRIO and cuts nothing. */
Test(edit_cmd, c_endpoint_list_fits_100_columns) {
  const char *url = "https://very-long-relay-hostname.internal.example-company.com/api/anthropic/v1";
  struct run r = run("endpoint", "add", "production", "--base-url", url, "--id",
                     "anthropic-production-key-number-one-eu-west-1", "--key-env",
                     "ANTHROPIC_PRODUCTION_KEY_NUMBER_ONE_EU_WEST_1", "-y", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  run_free(&r);
  r = run("endpoint", "list", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  size_t w = 0, best = 0;
  for (const char *p = r.out; *p; p++) {
    if (*p == '\n') {
      best = w > best ? w : best;
      w = 0;
    } else if (((unsigned char)*p & 0xC0) != 0x80) {
      w++;
    }
  }
  cr_assert_leq(best, 100, "%s", r.out);
  cr_assert(strstr(r.out, "…"), "something was cut: %s", r.out);
  cr_assert_null(strstr(r.out, "GROUP"), "%s", r.out);
  run_free(&r);
  r = run("endpoint", "list", "--wide", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  cr_assert(strstr(r.out, url), "%s", r.out);
  cr_assert(strstr(r.out, "GROUP"), "%s", r.out);
  run_free(&r);
}

/* ---- a failed validation leaves the file byte-identical ---- */

Test(edit_cmd, d_out_of_range_is_rejected) {
  struct run r = run("config", "set", "proxy.port", "99999", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_INVALID);
  /* the frontend's message, naming qcc.yaml (not our temp file) */
  cr_assert(strstr(r.err, "qcc.yaml:7:9: error:"), "%s", r.err);
  cr_assert(strstr(r.err, "65535"), "%s", r.err);
  cr_assert_null(strstr(r.err, ".edit-"), "%s", r.err);
  run_free(&r);
  untouched();
}

Test(edit_cmd, d_dangling_from_is_rejected) {
  struct run r = run("endpoint", "remove", "prod-1", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_INVALID);
  cr_assert(strstr(r.err, "prod-1"), "%s", r.err);
  run_free(&r);
  untouched();
}

Test(edit_cmd, d_no_primary_is_rejected) {
  struct run r = run("priority", "set", "production", "fallback", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_INVALID);
  cr_assert(strstr(r.err, "primary"), "%s", r.err);
  run_free(&r);
  untouched();
}

Test(edit_cmd, d_bad_enum_and_duration_rejected) {
  struct run r = run("config", "set", "loadbalancer.strategy", "random", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_INVALID);
  run_free(&r);
  r = run("config", "set", "health.timeout", "soon", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_INVALID);
  run_free(&r);
  untouched();
}

Test(edit_cmd, d_broken_yaml_is_never_edited) {
  put(cfg, "proxy: [unclosed\n");
  struct run r = run("config", "set", "proxy.port", "1", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_INVALID);
  run_free(&r);
  size_t n;
  char *now = slurp(cfg, &n);
  cr_assert_str_eq(now, "proxy: [unclosed\n");
  free(now);
}

/* ---- names and usage ---- */

Test(edit_cmd, e_unknown_key_did_you_mean) {
  struct run r = run("config", "set", "proxy.prot", "1", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_USAGE);
  cr_assert(strstr(r.err, "did you mean \"proxy.port\""), "%s", r.err);
  run_free(&r);
  r = run("config", "get", "profiles.production.endpoints.prod-1.wieght", NULL);
  cr_assert(strstr(r.err, "did you mean \"profiles.production.endpoints.prod-1.weight\""), "%s",
            r.err);
  run_free(&r);
  r = run("priority", "set", "prodution", "primary", NULL);
  cr_assert(strstr(r.err, "did you mean \"production\""), "%s", r.err);
  run_free(&r);
  untouched();
}

Test(edit_cmd, e_secrets_are_never_written_or_shown) {
  struct run r = run("config", "set", "profiles.production.endpoints.prod-1.api_key",
                     "sk-ant-NEVER-WRITE-ME", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_USAGE);
  cr_assert_null(strstr(r.err, "NEVER-WRITE-ME"));
  run_free(&r);
  untouched();
}

/* ---- not on a terminal: never ask, name the missing flag ---- */

Test(edit_cmd, f_noninteractive_missing_values) {
  struct run r = run("endpoint", "add", "production", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_USAGE);
  cr_assert(strstr(r.err, "--from") && strstr(r.err, "--base-url") && strstr(r.err, "--preset"),
            "%s", r.err);
  cr_assert_eq(r.out[0], '\0', "nothing asked: %s", r.out);
  run_free(&r);
  r = run("endpoint", "add", "production", "--preset", "deepseek", NULL);
  cr_assert(strstr(r.err, "--key-env") && strstr(r.err, "--key-file"), "%s", r.err);
  cr_assert_eq(r.out[0], '\0');
  run_free(&r);
  r = run("endpoint", "add", NULL);
  cr_assert(strstr(r.err, "PROFILE"), "%s", r.err);
  run_free(&r);
  r = run("policy", NULL);
  cr_assert(strstr(r.err, "--auto-failover") && strstr(r.err, "--cooldown"), "%s", r.err);
  run_free(&r);
  r = run("config", "reset", NULL);
  cr_assert(strstr(r.err, "--yes"), "%s", r.err);
  run_free(&r);
  r = run("endpoint", "add", "production", "--weight", "-3", "--from", "prod-1", NULL);
  cr_assert(strstr(r.err, "--weight"), "%s", r.err);
  run_free(&r);
  r = run("endpoint", "add", "production", "--from", "prod-1", "--id", "prod-2", NULL);
  cr_assert(strstr(r.err, "already used"), "%s", r.err);
  run_free(&r);
  r = run("endpoint", "add", "production", "--preset", "zia", "--key-env", "K", NULL);
  cr_assert(strstr(r.err, "did you mean \"zai\""), "%s", r.err);
  run_free(&r);
  r = run("priority", "set", "backup", "--weight", "3", NULL);
  cr_assert(strstr(r.err, "--weight"), "%s", r.err);
  run_free(&r);
  untouched();
}

Test(edit_cmd, f_missing_config_file) {
  unlink(cfg);
  struct run r = run("config", "set", "proxy.port", "1", NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_USAGE);
  cr_assert(strstr(r.err, "not found"), "%s", r.err);
  run_free(&r);
  cr_assert_neq(access(cfg, F_OK), 0);
}

/* ---- export / import ---- */

Test(edit_cmd, g_export_writes_defaults) {
  char out[600];
  snprintf(out, sizeof out, "%s/export.yaml", dir);
  struct run r = run("config", "export", out, NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  run_free(&r);
  expect_file(out, "expected/export.yaml");
  untouched();
}

Test(edit_cmd, g_export_turns_literal_keys_into_references) {
  char b[1024];
  char *base = slurp(src("base.yaml", b, sizeof b), NULL);
  char *lit = strstr(base, "api_key_env: ZAI_API_KEY");
  cr_assert_not_null(lit);
  char text[8192];
  snprintf(text, sizeof text, "%.*sapi_key: sk-LITERAL-SECRET-0123456789%s", (int)(lit - base),
           base, lit + strlen("api_key_env: ZAI_API_KEY"));
  free(base);
  put(cfg, text);
  char out[600];
  snprintf(out, sizeof out, "%s/export.yaml", dir);
  struct run r = run("config", "export", out, NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  char *exp = slurp(out, NULL);
  cr_assert_null(strstr(exp, "LITERAL-SECRET"), "exported file holds no key");
  cr_assert(strstr(exp, "api_key_env: QCC_KEY_BACKUP_1"), "%s", exp);
  cr_assert_null(strstr(r.err, "LITERAL-SECRET"));
  cr_assert_null(strstr(r.out, "LITERAL-SECRET"));
  free(exp);
  run_free(&r);
}

Test(edit_cmd, g_import_validates_then_replaces) {
  char b[1024];
  struct run r = run("config", "import", src("expected/set-port.yaml", b, sizeof b), NULL);
  edited(r, "expected/set-port.yaml");
}

Test(edit_cmd, g_import_invalid_leaves_file) {
  char bad[600];
  snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
  put(bad, "version: 1\nproxy:\n  port: 0\n");
  struct run r = run("config", "import", bad, NULL);
  cr_assert_eq(r.rc, QCCC_EDIT_INVALID);
  cr_assert(strstr(r.err, "bad.yaml:3:"), "%s", r.err);
  run_free(&r);
  unlink(bad);
  untouched();
}

Test(edit_cmd, h_priority_set_keeps_profile_groups_in_step) {
  char b[1024];
  char *base = slurp(src("base.yaml", b, sizeof b), NULL);
  char text[8192];
  snprintf(text, sizeof text,
           "%sprofile_groups:\n  primary: [production]\n  secondary:\n    - backup   # relay\n",
           base);
  free(base);
  put(cfg, text);
  struct run r = run("priority", "set", "backup", "fallback", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  run_free(&r);
  char *now = slurp(cfg, NULL);
  cr_assert(strstr(now, "  - name: backup\n    priority: fallback\n"), "%s", now);
  cr_assert(strstr(now, "profile_groups:\n  primary: [production]\n  secondary: []\n"
                        "  fallback:\n    - backup\n"),
            "%s", now);
  free(now);
}

/* ---- issue 13: the two reported inputs, in process ---- */

Test(edit_cmd, i_chinese_description_then_endpoint_add) {
  put(cfg, "# 主配置 🚀\nversion: 1\nprofiles:\n  - name: only\n    endpoints:\n      - id: e\n"
           "        base_url: https://api.anthropic.com/\n        api_key_env: K\n");
  struct run r = run("profile", "add", "backup", "--description", "备份配置", "-y", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  run_free(&r);
  r = run("endpoint", "add", "backup", "--base-url", "https://b.example.com", "--key-env", "B",
          NULL);
  cr_assert_eq(r.rc, 0, "was 'internal: the edited text does not parse': %s", r.err);
  run_free(&r);
  char *got = slurp(cfg, NULL);
  cr_assert_str_eq(got, "# 主配置 🚀\nversion: 1\nprofiles:\n  - name: only\n    endpoints:\n"
                        "      - id: e\n        base_url: https://api.anthropic.com/\n"
                        "        api_key_env: K\n  - name: backup\n    description: 备份配置\n"
                        "    priority: primary\n    endpoints:\n      - id: backup-1\n"
                        "        base_url: https://b.example.com\n        api_key_env: B\n");
  free(got);
}

Test(edit_cmd, i_plan_json_port_is_an_exact_edit) {
  char b[1024];
  const char *root = getenv("QCC_SOURCE_ROOT");
  snprintf(b, sizeof b, "%s/tests/configs/good/plan-example.json", root);
  size_t len;
  char *plan = slurp(b, &len);
  cr_assert_not_null(plan);
  put(cfg, plan);
  struct run r = run("config", "set", "proxy.port", "7861", NULL);
  cr_assert_eq(r.rc, 0, "%s", r.err);
  run_free(&r);
  /* the plan with exactly "7860" -> "7861" (was: "host": "127.78611") */
  char *at = strstr(plan, "\"port\": 7860,");
  cr_assert_not_null(at);
  at[strlen("\"port\": 786")] = '1';
  char *got = slurp(cfg, NULL);
  cr_assert_str_eq(got, plan);
  free(got);
  free(plan);
}
