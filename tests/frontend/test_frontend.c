/* Frontend tests: load -> resolve -> check against the configs in
 * tests/configs. Run with cwd = QCC_SOURCE_ROOT so diagnostics name files
 * relative to the source root, exactly as the .expected files do. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/frontend.h"
#include "compiler/load.h"
#include "schema/config_schema.h"

static void to_source_root(void) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root, "QCC_SOURCE_ROOT is not set (run through meson test)");
  cr_assert_eq(chdir(root), 0, "cannot chdir to %s", root);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      cr_assert_not_null(buf);
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  buf[n] = '\0';
  if (len != NULL) *len = n;
  return buf;
}

struct run {
  int rc;
  bool io;
  struct qcc_config *cfg;
  size_t errors, warnings;
  char *text; /* diagnostics as printed in FMT */
};

static struct run run_fmt(const char *path, bool strict, bool secrets, enum qcc_diag_format fmt) {
  struct run r = {0};
  struct qcc_frontend_opts o = {strict, secrets};
  struct qcc_diags *d = qcc_diags_new();
  cr_assert_not_null(d);
  r.rc = qcc_frontend_run(path, &o, &r.cfg, d, &r.io);
  r.errors = qcc_diags_errors(d);
  r.warnings = qcc_diags_warnings(d);
  size_t len = 0;
  FILE *mem = open_memstream(&r.text, &len);
  qcc_diags_print(d, fmt, mem);
  fclose(mem);
  qcc_diags_free(&d);
  cr_assert_null(d, "qcc_diags_free must NULL the pointer");
  return r;
}

static struct run run(const char *path) {
  return run_fmt(path, false, false, QCC_DIAG_TEXT);
}

static void run_free(struct run *r) {
  qcc_config_free(&r->cfg);
  free(r->text);
}

static const struct qcc_profile_cfg *profile(const struct qcc_config *c, const char *name) {
  for (size_t i = 0; i < c->profile_count; i++) {
    if (c->profiles[i].name != NULL && strcmp(c->profiles[i].name, name) == 0) {
      return &c->profiles[i];
    }
  }
  cr_assert_fail("no profile %s", name);
  return NULL;
}

static const struct qcc_endpoint_cfg *endpoint(const struct qcc_config *c, const char *id) {
  for (size_t i = 0; i < c->profile_count; i++) {
    for (size_t j = 0; j < c->profiles[i].endpoint_count; j++) {
      if (strcmp(c->profiles[i].endpoints[j].id, id) == 0) return &c->profiles[i].endpoints[j];
    }
  }
  cr_assert_fail("no endpoint %s", id);
  return NULL;
}

/* ---- basics first ---------------------------------------------------------- */

Test(frontend, a1_minimal_config_gets_spec_defaults) {
  to_source_root();
  struct run r = run("tests/configs/good/minimal.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  cr_assert_eq(r.errors, 0);
  cr_assert_eq(r.warnings, 0);
  const struct qcc_config *c = r.cfg;
  const struct qcc_settings *s = &c->settings;
  cr_assert_eq(c->version, 1);
  cr_assert_str_eq(s->host, "127.0.0.1");
  cr_assert_eq(s->port, 7860);
  cr_assert_not(s->ssl_enabled);
  cr_assert_null(s->tls_cert);
  cr_assert_eq(s->log_level, QCC_LOG_INFO);
  cr_assert(s->access_log);
  cr_assert_eq(s->max_connections, 1000);
  cr_assert_eq(s->max_body_bytes, 32u * 1024 * 1024);
  cr_assert_eq(s->max_header_bytes, 64u * 1024);
  cr_assert_eq(s->header_timeout_ms, 10000);
  cr_assert_eq(s->idle_timeout_ms, 120000);
  cr_assert_eq(s->drain_timeout_ms, 30000);
  cr_assert_eq(s->journal_fsync, QCC_FSYNC_EVERYSEC);
  cr_assert(s->health_enabled);
  cr_assert_eq(s->check_interval_ms, 60000);
  cr_assert_eq(s->health_timeout_ms, 10000);
  cr_assert_eq(s->retry_count, 3);
  cr_assert_eq(s->health_check, QCC_CHECK_MODELS);
  cr_assert(s->alert_enabled);
  cr_assert_eq(s->alert_threshold, 3);
  cr_assert(s->queue_enabled);
  cr_assert_eq(s->queue_max_size, 1000);
  cr_assert_eq(s->retry_strategy, QCC_RETRY_EXPONENTIAL_BACKOFF);
  cr_assert_eq(s->max_retries, 5);
  cr_assert_eq(s->max_wait_ms, 120000);
  cr_assert(s->persistence_enabled);
  cr_assert_eq(s->lb_strategy, QCC_LB_WEIGHTED);
  cr_assert(s->health_aware);
  cr_assert(s->sticky_session, "on by default: one conversation per key keeps its prompt cache");
  cr_assert(s->auto_switch);
  cr_assert(s->auto_recovery);
  cr_assert_eq(s->switch_threshold, 3);
  cr_assert_eq(s->cooldown_ms, 300000);
  cr_assert(s->fallback_enabled);
  cr_assert_eq(s->upstream_connect_timeout_ms, 5000);
  cr_assert_eq(s->upstream_timeout_ms, 30000);
  cr_assert_eq(s->upstream_request_timeout_ms, 600000);
  cr_assert_eq(s->upstream_stream_idle_timeout_ms, 90000);
  cr_assert_null(s->tls_ca_file);
  cr_assert_null(s->tls_ca_path);
  cr_assert_null(s->alerts_exec);
  cr_assert_null(s->alerts_webhook);
  cr_assert_eq(s->alerts_timeout_ms, 10000);
  cr_assert_eq(c->token_count, 0);
  cr_assert_eq(c->file_count, 1);
  cr_assert_str_eq(c->files[0], "tests/configs/good/minimal.yaml");
  cr_assert_eq(c->profile_count, 1);
  const struct qcc_profile_cfg *p = &c->profiles[0];
  cr_assert_str_eq(p->name, "only");
  cr_assert_eq(p->group, QCC_GROUP_PRIMARY);
  cr_assert(p->enabled);
  cr_assert_not(p->lb_override);
  cr_assert_eq(p->lb_strategy, QCC_LB_WEIGHTED);
  cr_assert_eq(p->endpoint_count, 1);
  const struct qcc_endpoint_cfg *e = &p->endpoints[0];
  cr_assert_str_eq(e->id, "e");
  cr_assert_str_eq(e->base_url, "https://api.anthropic.com", "trailing / is removed");
  cr_assert_eq(e->key.kind, QCC_KEY_ENV);
  cr_assert_str_eq(e->key.value, "ANTHROPIC_API_KEY");
  cr_assert_eq(e->auth, QCC_AUTH_X_API_KEY);
  cr_assert_eq(e->weight, 100);
  cr_assert_eq(e->priority, 1);
  cr_assert(e->enabled);
  cr_assert_eq(e->max_failures, 3);
  cr_assert_eq(e->timeout_ms, 30000);
  cr_assert_eq(e->connect_timeout_ms, 5000);
  cr_assert_eq(e->request_timeout_ms, 600000);
  cr_assert_eq(e->stream_idle_timeout_ms, 90000);
  cr_assert_null(e->ca_file);
  cr_assert_null(e->proxy);
  cr_assert_eq(e->max_concurrency, 0);
  cr_assert_eq(e->rate_limit, 0);
  cr_assert_not(e->allow_insecure);
  cr_assert_null(e->from);
  cr_assert_eq(e->pos.line, 6, "endpoint position is its id");
  cr_assert_eq(e->pos.col, 13);
  cr_assert_eq(e->base_url_pos.line, 7);
  run_free(&r);
}

Test(frontend, a2_every_key_loads_as_written) {
  to_source_root();
  struct run r = run("tests/configs/good/full.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  const struct qcc_config *c = r.cfg;
  const struct qcc_settings *s = &c->settings;
  cr_assert_str_eq(s->host, "127.0.0.2");
  cr_assert_eq(s->port, 8123);
  cr_assert(s->ssl_enabled);
  cr_assert_str_eq(s->tls_cert, "/etc/qcc/cert.pem");
  cr_assert_str_eq(s->tls_key, "/etc/qcc/key.pem");
  cr_assert_eq(s->log_level, QCC_LOG_DEBUG, "log_level is case-insensitive");
  cr_assert_not(s->access_log);
  cr_assert_eq(s->max_connections, 250);
  cr_assert_eq(s->max_body_bytes, 1000000);
  cr_assert_eq(s->max_header_bytes, 16384);
  cr_assert_eq(s->header_timeout_ms, 1500);
  cr_assert_eq(s->idle_timeout_ms, 120000);
  cr_assert_eq(s->drain_timeout_ms, 5000, "plain integers are seconds");
  cr_assert_eq(c->token_count, 2);
  cr_assert_str_eq(c->tokens[0].name, "ci");
  cr_assert_eq(c->tokens[0].key.kind, QCC_KEY_ENV);
  cr_assert_str_eq(c->tokens[0].key.value, "QCC_TEST_TOKEN");
  cr_assert_eq(c->tokens[0].priority, 7);
  cr_assert_null(c->tokens[1].name);
  cr_assert_eq(c->tokens[1].key.kind, QCC_KEY_FILE);
  cr_assert_eq(c->tokens[1].priority, 0);
  cr_assert_not(s->health_enabled);
  cr_assert_eq(s->check_interval_ms, 3600000);
  cr_assert_eq(s->health_timeout_ms, 2000);
  cr_assert_eq(s->retry_count, 0);
  cr_assert_eq(s->health_check, QCC_CHECK_COUNT_TOKENS);
  cr_assert_not(s->alert_enabled);
  cr_assert_eq(s->alert_threshold, 9);
  cr_assert_not(s->queue_enabled);
  cr_assert_eq(s->queue_max_size, 10);
  cr_assert_eq(s->retry_strategy, QCC_RETRY_FIXED_INTERVAL);
  cr_assert_eq(s->max_retries, 2);
  cr_assert_eq(s->max_wait_ms, 45000);
  cr_assert_not(s->persistence_enabled);
  cr_assert_eq(s->lb_strategy, QCC_LB_ROUND_ROBIN, "round-robin is an alias");
  cr_assert_not(s->health_aware);
  cr_assert(s->sticky_session);
  cr_assert_not(s->auto_switch);
  cr_assert_not(s->auto_recovery);
  cr_assert_eq(s->switch_threshold, 4);
  cr_assert_eq(s->cooldown_ms, 600000);
  cr_assert_not(s->fallback_enabled);
  cr_assert_eq(s->journal_fsync, QCC_FSYNC_ALWAYS);

  const struct qcc_profile_cfg *m = profile(c, "main");
  cr_assert_str_eq(m->description, "the main one");
  cr_assert_eq(m->group, QCC_GROUP_PRIMARY);
  cr_assert(m->lb_override);
  cr_assert_eq(m->lb_strategy, QCC_LB_LEAST_CONNECTIONS);
  cr_assert(m->health_aware, "given on the profile");
  cr_assert(m->sticky_session, "not given: comes from loadbalancer");
  const struct qcc_endpoint_cfg *m1 = endpoint(c, "m1");
  cr_assert_str_eq(m1->base_url, "https://api.example.com/v1");
  cr_assert_eq(m1->key.kind, QCC_KEY_FILE);
  cr_assert_str_eq(m1->key.value, "keys/m1");
  cr_assert_eq(m1->auth, QCC_AUTH_BEARER);
  cr_assert_eq(m1->weight, 7);
  cr_assert_eq(m1->priority, 3);
  cr_assert_eq(m1->max_failures, 9);
  cr_assert_eq(m1->timeout_ms, 90000);
  cr_assert_eq(m1->max_concurrency, 12);
  cr_assert(m1->allow_insecure);
  cr_assert_eq(m1->model_count, 2);
  cr_assert_str_eq(m1->models[0].key, "claude-sonnet-4-5");
  cr_assert_str_eq(m1->models[0].value, "glm-4.6");
  cr_assert_str_eq(m1->models[1].key, "claude-haiku");
  cr_assert_eq(m1->metadata_count, 3);
  cr_assert_str_eq(m1->metadata[1].key, "region");
  cr_assert_str_eq(m1->metadata[1].value, "eu-west-1");
  cr_assert_str_eq(m1->metadata[2].key, "rate_limit");
  cr_assert_eq(m1->rate_limit, 120);
  const struct qcc_endpoint_cfg *m2 = endpoint(c, "m2");
  cr_assert_not(m2->enabled);
  const struct qcc_profile_cfg *sp = profile(c, "spare");
  cr_assert_eq(sp->group, QCC_GROUP_FALLBACK);
  cr_assert_not(sp->enabled);
  cr_assert_not(sp->lb_override);
  cr_assert_eq(sp->lb_strategy, QCC_LB_ROUND_ROBIN);
  const struct qcc_endpoint_cfg *s1 = endpoint(c, "s1");
  cr_assert_str_eq(s1->from, "m1");
  cr_assert_str_eq(s1->base_url, "https://api.example.com/v1");
  cr_assert_eq(s1->key.kind, QCC_KEY_FILE);
  cr_assert_eq(s1->auth, QCC_AUTH_X_API_KEY, "own auth wins over from:");
  cr_assert_eq(s1->weight, 100, "other fields are not inherited");
  cr_assert_not(s1->allow_insecure);
  run_free(&r);
}

Test(frontend, a3_from_chain_inherits_base_url_key_auth) {
  to_source_root();
  struct run r = run("tests/configs/good/from-chain.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  const struct qcc_endpoint_cfg *a = endpoint(r.cfg, "a"), *b = endpoint(r.cfg, "b"),
                                *c = endpoint(r.cfg, "c"), *d = endpoint(r.cfg, "d");
  cr_assert_str_eq(c->base_url, "https://a.example.com", "c -> b -> a");
  cr_assert_str_eq(c->key.value, "A_KEY");
  cr_assert_eq(c->key.kind, QCC_KEY_ENV);
  cr_assert_eq(b->auth, QCC_AUTH_X_API_KEY, "b sets its own auth");
  cr_assert_eq(c->auth, QCC_AUTH_X_API_KEY, "c inherits b's auth");
  cr_assert_eq(a->auth, QCC_AUTH_BEARER);
  cr_assert_eq(c->weight, 3);
  cr_assert_eq(b->weight, 100, "weight is not inherited");
  cr_assert_eq(b->timeout_ms, 5000);
  cr_assert_eq(c->timeout_ms, 30000);
  cr_assert_str_eq(d->base_url, "https://d.example.com", "own base_url wins");
  cr_assert_eq(d->key.kind, QCC_KEY_FILE);
  cr_assert_eq(d->auth, QCC_AUTH_BEARER);
  run_free(&r);
}

Test(frontend, a3b_endpoints_inherit_upstream_and_tls_unless_their_own) {
  to_source_root();
  struct run r = run("tests/configs/good/upstream.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  const struct qcc_settings *s = &r.cfg->settings;
  cr_assert_eq(s->upstream_connect_timeout_ms, 2000);
  cr_assert_eq(s->upstream_timeout_ms, 45000);
  cr_assert_eq(s->upstream_request_timeout_ms, 600000, "default 10m");
  cr_assert_eq(s->upstream_stream_idle_timeout_ms, 120000);
  cr_assert_str_eq(s->tls_ca_file, "certs/corp.pem", "paths are kept as written");
  cr_assert_str_eq(s->tls_ca_path, "/etc/ssl/certs");
  cr_assert_str_eq(s->alerts_exec, "notify-send qcc");
  cr_assert_str_eq(s->alerts_webhook, "https://hooks.example.com/qcc");
  cr_assert_eq(s->alerts_timeout_ms, 5000);
  const struct qcc_endpoint_cfg *a = endpoint(r.cfg, "inherits"), *b = endpoint(r.cfg, "own");
  cr_assert_eq(a->connect_timeout_ms, 2000);
  cr_assert_eq(a->timeout_ms, 45000);
  cr_assert_eq(a->request_timeout_ms, 600000);
  cr_assert_eq(a->stream_idle_timeout_ms, 120000);
  cr_assert_str_eq(a->ca_file, "certs/corp.pem");
  cr_assert_null(a->proxy);
  cr_assert_null(a->proxy_credentials_env);
  cr_assert_eq(b->connect_timeout_ms, 500);
  cr_assert_eq(b->timeout_ms, 10000);
  cr_assert_eq(b->request_timeout_ms, 3600000);
  cr_assert_eq(b->stream_idle_timeout_ms, 30000);
  cr_assert_str_eq(b->ca_file, "/etc/b-ca.pem");
  cr_assert_str_eq(b->proxy, "socks5h://127.0.0.1:1080");
  cr_assert_str_eq(b->proxy_credentials_env, "B_PROXY_AUTH");
  run_free(&r);
}

Test(frontend, a3d_keep_warm_inherits_and_off_is_a_value) {
  to_source_root();
  struct run r = run("tests/configs/good/keepwarm.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  cr_assert_eq(r.cfg->settings.upstream_keep_warm_ms, 40000);
  cr_assert_eq(r.cfg->settings.upstream_keep_warm_for_ms, 2 * 3600000u);
  cr_assert_eq(endpoint(r.cfg, "inherits")->keep_warm_ms, 40000);
  cr_assert_eq(endpoint(r.cfg, "nowarm")->keep_warm_ms, 0, "off is not replaced by upstream's");
  cr_assert_eq(endpoint(r.cfg, "zero")->keep_warm_ms, 0);
  cr_assert_eq(endpoint(r.cfg, "own")->keep_warm_ms, 10000);
  run_free(&r);
  r = run("tests/configs/good/upstream.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  cr_assert_eq(r.cfg->settings.upstream_keep_warm_ms, 25000, "default 25s");
  cr_assert_eq(r.cfg->settings.upstream_keep_warm_for_ms, 30 * 60000u, "default 30m");
  cr_assert_eq(endpoint(r.cfg, "own")->keep_warm_ms, 25000);
  run_free(&r);
}

/* JSON-style YAML, CJK names, pricing from an included file (issue 14). */
Test(frontend, a3c_pricing_budgets_and_usage_load_in_exact_units) {
  to_source_root();
  struct run r = run("tests/configs/good/pricing.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  const struct qcc_settings *s = &r.cfg->settings;
  cr_assert_str_eq(s->usage_timezone, "Asia/Shanghai");
  cr_assert_eq(s->usage_detail_retention_ms, 7 * 86400000ull);
  cr_assert_eq(s->usage_retention_ms, 90 * 86400000ull);
  cr_assert_eq(r.cfg->price_count, 2);
  const struct qcc_price_cfg *p = &r.cfg->prices[0];
  cr_assert_str_eq(p->model, "claude-sonnet-4-5");
  cr_assert_eq(p->input, 3000000);
  cr_assert_eq(p->cache_write_5m, 3750000);
  cr_assert_eq(p->cache_read, 300000);
  cr_assert_eq(p->priced, 0x1f);
  cr_assert_str_eq(p->pos.file, "tests/configs/good/include/prices.yaml");
  cr_assert_eq(p->pos.line, 3);
  p = &r.cfg->prices[1];
  cr_assert_str_eq(p->model, "claude-*");
  cr_assert_eq(p->output, 5000001, "six decimals are exact");
  cr_assert_eq(p->priced, 0x3, "only input and output given");
  const struct qcc_endpoint_cfg *relay = endpoint(r.cfg, "relay"), *direct = endpoint(r.cfg, "direct");
  cr_assert_eq(relay->price_multiplier, 350000);
  cr_assert_eq(relay->budget_daily_usd, 12345678);
  cr_assert_eq(relay->budget_monthly_usd, 300000000);
  cr_assert_eq(relay->budget_daily_tokens, 0, "not set = no cap");
  cr_assert_eq(direct->price_multiplier, 1000000, "default 1");
  cr_assert_eq(direct->budget_daily_usd, 0);
  cr_assert_str_eq(r.cfg->tokens[0].name, "张三");
  cr_assert_eq(r.cfg->tokens[0].budget_daily_usd, 5500000);
  cr_assert_eq(r.cfg->tokens[0].budget_daily_tokens, 2000000);
  run_free(&r);
  /* without a usage: section: local, 30 days, 400 days */
  r = run("tests/configs/good/minimal.yaml");
  cr_assert_str_eq(r.cfg->settings.usage_timezone, "local");
  cr_assert_eq(r.cfg->settings.usage_detail_retention_ms, 30 * 86400000ull);
  cr_assert_eq(r.cfg->settings.usage_retention_ms, 400 * 86400000ull);
  cr_assert_eq(r.cfg->price_count, 0);
  run_free(&r);
}

Test(frontend, a4_includes_append_profiles_relative_to_file) {
  to_source_root();
  struct run r = run("tests/configs/good/includes.yaml");
  cr_assert_eq(r.rc, 0, "diagnostics:\n%s", r.text);
  const struct qcc_config *c = r.cfg;
  cr_assert_eq(c->profile_count, 3);
  cr_assert_str_eq(c->profiles[0].name, "root-profile");
  cr_assert_str_eq(c->profiles[1].name, "team-a");
  cr_assert_str_eq(c->profiles[2].name, "team-b");
  cr_assert_eq(c->profiles[2].group, QCC_GROUP_FALLBACK, "set by profile_groups in team-b.yaml");
  cr_assert_eq(c->profiles[1].group, QCC_GROUP_SECONDARY);
  cr_assert_eq(c->settings.port, 9001);
  cr_assert_eq(c->settings.health_check, QCC_CHECK_TCP, "from include/settings.yaml");
  cr_assert_eq(c->file_count, 4);
  cr_assert_str_eq(c->files[1], "tests/configs/good/include/team-a.yaml");
  cr_assert_str_eq(c->files[2], "tests/configs/good/include/team-b.yaml");
  const struct qcc_endpoint_cfg *a1 = endpoint(c, "a1");
  cr_assert_str_eq(a1->base_url, "https://r.example.com", "from: across files");
  cr_assert_str_eq(a1->pos.file, c->files[1]);
  cr_assert_eq(a1->pos.line, 7);
  run_free(&r);
}

Test(frontend, a5_examples_validate_cleanly) {
  to_source_root();
  const char *files[] = {"examples/quickstart.yaml", "examples/failover.yaml"};
  for (size_t i = 0; i < 2; i++) {
    struct run r = run_fmt(files[i], true, false, QCC_DIAG_TEXT);
    cr_assert_eq(r.rc, 0, "%s:\n%s", files[i], r.text);
    cr_assert_eq(r.warnings + r.errors, 0, "%s:\n%s", files[i], r.text);
    run_free(&r);
  }
  struct run q = run("examples/quickstart.yaml");
  cr_assert_eq(q.cfg->profile_count, 1);
  cr_assert_eq(q.cfg->profiles[0].endpoint_count, 2);
  cr_assert_str_eq(q.cfg->profiles[0].endpoints[0].base_url, "http://127.0.0.1:18001");
  cr_assert_str_eq(q.cfg->profiles[0].endpoints[1].base_url, "http://127.0.0.1:18002");
  cr_assert_str_eq(q.cfg->profiles[0].endpoints[0].key.value, "QCC_DEMO_KEY_1");
  cr_assert_str_eq(q.cfg->profiles[0].endpoints[1].key.value, "QCC_DEMO_KEY_2");
  run_free(&q);
  struct run f = run("examples/failover.yaml");
  cr_assert_eq(f.cfg->profile_count, 3);
  cr_assert_eq(profile(f.cfg, "backup")->group, QCC_GROUP_SECONDARY);
  cr_assert_eq(profile(f.cfg, "last-resort")->group, QCC_GROUP_FALLBACK);
  cr_assert_str_eq(endpoint(f.cfg, "backup-1")->base_url, "https://api.anthropic.com");
  cr_assert_str_eq(endpoint(f.cfg, "backup-2")->base_url,
                   "https://backup.example.com/anthropic");
  run_free(&f);
}

/* ---- every rule: bad/NNN-what.yaml beside its exact expected text ---------- */

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(frontend, b1_bad_configs_print_expected_diagnostics) {
  to_source_root();
  const char *dir = "tests/configs/bad";
  DIR *dp = opendir(dir);
  cr_assert_not_null(dp);
  char *names[256];
  size_t n = 0;
  for (struct dirent *de = readdir(dp); de != NULL; de = readdir(dp)) {
    size_t len = strlen(de->d_name);
    if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0 && n < 256) {
      names[n++] = strdup(de->d_name);
    }
  }
  closedir(dp);
  qsort(names, n, sizeof names[0], name_cmp);
  cr_assert_geq(n, 30, "expected the rule configs, found %zu", n);
  size_t failed = 0;
  for (size_t i = 0; i < n; i++) {
    char yaml[512], expected[512];
    snprintf(yaml, sizeof yaml, "%s/%s", dir, names[i]);
    snprintf(expected, sizeof expected, "%s/%.*s.expected", dir,
             (int)(strlen(names[i]) - 5), names[i]);
    char *want = slurp(expected, NULL);
    cr_assert_not_null(want, "missing %s", expected);
    char *src = slurp(yaml, NULL);
    bool strict = strstr(src, "# qccc-test: --strict") != NULL;
    bool secrets = strstr(src, "# qccc-test: --check-secrets") != NULL;
    struct run r = run_fmt(yaml, strict, secrets, QCC_DIAG_TEXT);
    if (strcmp(r.text, want) != 0) {
      failed++;
      cr_log_error("%s: got\n%s\nwant\n%s", yaml, r.text, want);
    }
    /* Every diagnostic carries a hint. */
    size_t diags = 0, hints = 0;
    for (const char *p = strstr(r.text, ": error: "); p != NULL; p = strstr(p + 1, ": error: ")) {
      diags++;
    }
    for (const char *p = strstr(r.text, ": warning: "); p != NULL;
         p = strstr(p + 1, ": warning: ")) {
      diags++;
    }
    for (const char *p = strstr(r.text, "\n  hint: "); p != NULL; p = strstr(p + 1, "\n  hint: ")) {
      hints++;
    }
    cr_expect_eq(diags, hints, "%s: %zu diagnostics, %zu hints", yaml, diags, hints);
    /* Files with errors must fail; a warning-only file passes. */
    bool has_error = strstr(want, ": error: ") != NULL;
    cr_expect_eq(r.rc, has_error ? -1 : 0, "%s rc", yaml);
    cr_expect(r.errors > 0 || r.warnings > 0, "%s reports nothing", yaml);
    run_free(&r);
    free(want);
    free(src);
    free(names[i]);
  }
  cr_assert_eq(failed, 0, "%zu of %zu bad configs differ from their .expected", failed, n);
}

Test(frontend, b2_multi_error_file_reports_all) {
  to_source_root();
  struct run r = run("tests/configs/bad/038-multi-error.yaml");
  cr_assert_eq(r.rc, -1);
  size_t lines = 0;
  for (const char *p = strstr(r.text, ": error: "); p != NULL; p = strstr(p + 1, ": error: ")) {
    lines++;
  }
  cr_assert_eq(lines, r.errors);
  cr_assert_geq(r.errors, 12, "load, resolve and check errors all reported:\n%s", r.text);
  cr_assert_not_null(strstr(r.text, "unknown key 'hots'"));
  cr_assert_not_null(strstr(r.text, "duplicate profile name 'p'"));
  cr_assert_not_null(strstr(r.text, "from: 'nobody'"));
  cr_assert_not_null(strstr(r.text, "plain http to 'example.org'"));
  run_free(&r);
}

Test(frontend, b3_missing_root_file_is_io_error) {
  to_source_root();
  struct run r = run("tests/configs/no-such-config.yaml");
  cr_assert_eq(r.rc, -1);
  cr_assert(r.io, "main must be able to exit 2");
  cr_assert_null(r.cfg);
  cr_assert_str_eq(r.text, "tests/configs/no-such-config.yaml: error: cannot read config: No "
                           "such file or directory\n  hint: pass the config with -c FILE\n");
  run_free(&r);
  struct run bad = run("tests/configs/bad/002-unknown-key-did-you-mean.yaml");
  cr_assert_not(bad.io, "a bad config is not an I/O error");
  run_free(&bad);
}

Test(frontend, b4_strict_turns_literal_key_warning_into_error) {
  to_source_root();
  const char *f = "tests/configs/bad/020-literal-key-warning.yaml";
  struct run lax = run_fmt(f, false, false, QCC_DIAG_TEXT);
  cr_assert_eq(lax.rc, 0);
  cr_assert_eq(lax.warnings, 1);
  cr_assert_eq(lax.errors, 0);
  cr_assert_eq(lax.cfg->profiles[0].endpoints[0].key.kind, QCC_KEY_LITERAL);
  struct run strict = run_fmt(f, true, false, QCC_DIAG_TEXT);
  cr_assert_eq(strict.rc, -1);
  cr_assert_eq(strict.errors, 1);
  cr_assert_eq(strict.warnings, 0);
  cr_assert_null(strict.cfg);
  run_free(&lax);
  run_free(&strict);
}

Test(frontend, b5_secrets_never_printed_in_any_format) {
  to_source_root();
  const char *files[] = {"tests/configs/bad/020-literal-key-warning.yaml",
                         "tests/configs/bad/021-literal-key-strict.yaml",
                         "tests/configs/bad/033-base-url-credentials.yaml"};
  const char *secrets[] = {"DO-NOT-PRINT-ME", "sk-ant", "tok-", "hunter2"};
  enum qcc_diag_format fmts[] = {QCC_DIAG_TEXT, QCC_DIAG_JSON, QCC_DIAG_GITHUB};
  for (size_t i = 0; i < 3; i++) {
    for (size_t f = 0; f < 3; f++) {
      struct run r = run_fmt(files[i], true, false, fmts[f]);
      cr_assert_gt(strlen(r.text), 0);
      for (size_t s = 0; s < 4; s++) {
        cr_assert_null(strstr(r.text, secrets[s]), "%s leaks '%s':\n%s", files[i], secrets[s],
                       r.text);
      }
      run_free(&r);
    }
  }
}

Test(frontend, b6_check_secrets_passes_when_references_resolve) {
  to_source_root();
  char keyfile[] = "/tmp/qcc-fe-key-XXXXXX", cfgfile[] = "/tmp/qcc-fe-cfg-XXXXXX";
  int kfd = mkstemp(keyfile), cfd = mkstemp(cfgfile);
  cr_assert(kfd >= 0 && cfd >= 0);
  cr_assert_eq(write(kfd, "k\n", 2), 2);
  close(kfd);
  FILE *c = fdopen(cfd, "w");
  fprintf(c,
          "version: 1\nprofiles:\n  - name: p\n    endpoints:\n"
          "      - {id: a, base_url: 'https://x.example', api_key_env: QCC_FE_TEST_KEY}\n"
          "      - {id: b, base_url: 'https://x.example', api_key_file: '%s'}\n",
          keyfile);
  fclose(c);
  unsetenv("QCC_FE_TEST_KEY");
  struct run missing = run_fmt(cfgfile, false, true, QCC_DIAG_TEXT);
  cr_assert_eq(missing.rc, -1);
  cr_assert_eq(missing.errors, 1, "%s", missing.text);
  cr_assert_not_null(strstr(missing.text, "'QCC_FE_TEST_KEY'"));
  struct run unchecked = run_fmt(cfgfile, false, false, QCC_DIAG_TEXT);
  cr_assert_eq(unchecked.rc, 0, "references are not resolved without --check-secrets");
  setenv("QCC_FE_TEST_KEY", "secret-value-xyz", 1);
  struct run ok = run_fmt(cfgfile, false, true, QCC_DIAG_TEXT);
  cr_assert_eq(ok.rc, 0, "%s", ok.text);
  setenv("QCC_FE_TEST_KEY", "", 1);
  struct run empty = run_fmt(cfgfile, false, true, QCC_DIAG_TEXT);
  cr_assert_eq(empty.rc, -1);
  cr_assert_not_null(strstr(empty.text, "is empty"));
  unlink(keyfile);
  unlink(cfgfile);
  run_free(&missing);
  run_free(&unchecked);
  run_free(&ok);
  run_free(&empty);
}

Test(frontend, b7_json_and_github_formats) {
  to_source_root();
  const char *f = "tests/configs/bad/002-unknown-key-did-you-mean.yaml";
  struct run j = run_fmt(f, false, false, QCC_DIAG_JSON);
  json_error_t err;
  json_t *arr = json_loads(j.text, 0, &err);
  cr_assert_not_null(arr, "invalid JSON: %s\n%s", err.text, j.text);
  cr_assert(json_is_array(arr));
  cr_assert_eq(json_array_size(arr), 2);
  json_t *first = json_array_get(arr, 0);
  cr_assert_str_eq(json_string_value(json_object_get(first, "file")), f);
  cr_assert_eq(json_integer_value(json_object_get(first, "line")), 4);
  cr_assert_eq(json_integer_value(json_object_get(first, "col")), 3);
  cr_assert_str_eq(json_string_value(json_object_get(first, "severity")), "error");
  cr_assert_str_eq(json_string_value(json_object_get(first, "message")),
                   "unknown key 'prot' in 'proxy'");
  cr_assert_str_eq(json_string_value(json_object_get(first, "hint")), "did you mean 'port'?");
  json_decref(arr);
  struct run g = run_fmt(f, false, false, QCC_DIAG_GITHUB);
  cr_assert_str_eq(g.text,
                   "::error file=tests/configs/bad/002-unknown-key-did-you-mean.yaml,line=4,"
                   "col=3::unknown key 'prot' in 'proxy'%0Ahint: did you mean 'port'?\n"
                   "::error file=tests/configs/bad/002-unknown-key-did-you-mean.yaml,line=11,"
                   "col=9::unknown key 'wieght' in an endpoint%0Ahint: did you mean 'weight'?\n");
  struct run none = run_fmt("tests/configs/good/minimal.yaml", false, false, QCC_DIAG_JSON);
  cr_assert_str_eq(none.text, "[]\n");
  run_free(&j);
  run_free(&g);
  run_free(&none);
}

/* ---- the knob table and what is generated from it ------------------------- */

Test(frontend, c1_every_default_parses_within_range) {
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    cr_assert_eq(k->id, (enum qcc_knob_id)i);
    cr_assert_not_null(k->help);
    cr_assert_gt(strlen(k->help), 0, "%s has no help", k->path);
    if (k->kind == QCC_KNOB_ENUM) cr_assert_not_null(k->enum_desc, "%s", k->path);
    if (k->def == NULL) continue;
    if (k->def[0] == '=') {
      /* "=PATH": the value of another setting of the same kind and range;
       * a number inherits only where 0 cannot be given (0 = not given),
       * except keep_warm, whose 0 (off) resolve tells apart by set_mask. */
      const struct qcc_knob *from = qcc_knob_inherits(k);
      cr_assert_not_null(from, "%s inherits from unknown %s", k->path, k->def + 1);
      cr_assert_eq(from->kind, k->kind, "%s", k->path);
      cr_assert_null(qcc_knob_inherits(from), "%s: no chains", k->path);
      if (k->kind != QCC_KNOB_STRING && k->kind != QCC_KNOB_BOOL && k->kind != QCC_KNOB_ENUM) {
        if (k->id != QCC_K_EP_KEEP_WARM) cr_assert_gt(k->min, 0, "%s", k->path);
        cr_assert(from->min >= k->min && from->max <= k->max, "%s: %s's range does not fit",
                  k->path, from->path);
      }
      continue;
    }
    struct qcc_knob_value v;
    cr_assert_eq(qcc_knob_parse(k, k->def, &v), QCC_KNOB_OK, "default of %s: %s", k->path,
                 k->def);
    /* Every key's parent is a real compound key (or the top level). */
    const char *dot = strrchr(k->path, '.');
    if (dot != NULL) {
      char parent[160];
      snprintf(parent, sizeof parent, "%.*s", (int)(dot - k->path), k->path);
      size_t len = strlen(parent);
      if (len > 2 && strcmp(parent + len - 2, "[]") == 0) parent[len - 2] = '\0';
      cr_assert_not_null(qcc_knob_find(parent), "%s has no parent", k->path);
    }
  }
}

Test(frontend, c2_scalar_parsing) {
  const struct qcc_knob *t = qcc_knob_find("profiles[].endpoints[].timeout");
  const struct qcc_knob *sz = qcc_knob_find("proxy.max_body_size");
  const struct qcc_knob *port = qcc_knob_find("proxy.port");
  const struct qcc_knob *lb = qcc_knob_find("loadbalancer.strategy");
  cr_assert_not_null(t);
  struct qcc_knob_value v;
  cr_assert_eq(qcc_knob_parse(t, "500ms", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 500);
  cr_assert_eq(qcc_knob_parse(t, "5m", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 300000);
  cr_assert_eq(qcc_knob_parse(t, "1h", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 3600000);
  cr_assert_eq(qcc_knob_parse(t, "12", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 12000);
  cr_assert_eq(qcc_knob_parse(t, "2h", &v), QCC_KNOB_BAD_RANGE);
  cr_assert_eq(qcc_knob_parse(t, "99999999999999999999s", &v), QCC_KNOB_BAD_RANGE);
  cr_assert_eq(qcc_knob_parse(t, "5 m", &v), QCC_KNOB_BAD_SYNTAX);
  cr_assert_eq(qcc_knob_parse(t, "m", &v), QCC_KNOB_BAD_SYNTAX);
  cr_assert_eq(qcc_knob_parse(t, "", &v), QCC_KNOB_BAD_SYNTAX);
  cr_assert_eq(qcc_knob_parse(sz, "32MiB", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 33554432);
  cr_assert_eq(qcc_knob_parse(sz, "64KiB", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 65536);
  cr_assert_eq(qcc_knob_parse(sz, "1MB", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 1000000);
  cr_assert_eq(qcc_knob_parse(sz, "4096", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, 4096);
  cr_assert_eq(qcc_knob_parse(sz, "32mib", &v), QCC_KNOB_BAD_SYNTAX);
  cr_assert_eq(qcc_knob_parse(port, "65535", &v), QCC_KNOB_OK);
  cr_assert_eq(qcc_knob_parse(port, "65536", &v), QCC_KNOB_BAD_RANGE);
  cr_assert_eq(qcc_knob_parse(port, "-1", &v), QCC_KNOB_BAD_RANGE);
  cr_assert_eq(qcc_knob_parse(port, "0x10", &v), QCC_KNOB_BAD_TYPE);
  cr_assert_eq(qcc_knob_parse(lb, "round-robin", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, QCC_LB_ROUND_ROBIN);
  cr_assert_eq(qcc_knob_parse(lb, "FAILOVER", &v), QCC_KNOB_OK);
  cr_assert_eq(v.num, QCC_LB_FAILOVER);
  cr_assert_eq(qcc_knob_parse(lb, "fail", &v), QCC_KNOB_BAD_TYPE);
  cr_assert_eq(qcc_edit_distance("prot", "port"), 1, "a swap costs 1");
  cr_assert_eq(qcc_edit_distance("weigth", "weight"), 1);
  cr_assert_eq(qcc_edit_distance("", "abc"), 3);
  cr_assert_eq(qcc_edit_distance("same", "same"), 0);
}

static char *generated(int (*gen)(FILE *)) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  cr_assert_eq(gen(mem), 0);
  fclose(mem);
  return buf;
}

Test(frontend, c3_generated_files_are_up_to_date) {
  to_source_root();
  char *json = generated(qcc_config_schema_json);
  char *md = generated(qcc_config_reference_md);
  char *json_file = slurp("schema/qcc.schema.json", NULL);
  char *md_file = slurp("docs/config-reference.md", NULL);
  cr_assert_not_null(json_file);
  cr_assert_not_null(md_file);
  cr_assert_str_eq(json_file, json,
                   "schema/qcc.schema.json is stale: build/tests/frontend/frontend-tool "
                   "schema-json > schema/qcc.schema.json");
  cr_assert_str_eq(md_file, md,
                   "docs/config-reference.md is stale: build/tests/frontend/frontend-tool "
                   "reference-md > docs/config-reference.md");
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    char needle[200];
    snprintf(needle, sizeof needle, "| `%s` |", qcc_knobs[i].path);
    cr_assert_not_null(strstr(md, needle), "docs miss %s", qcc_knobs[i].path);
  }
  free(json);
  free(md);
  free(json_file);
  free(md_file);
}

/* Walk the JSON Schema down a knob path ("profiles[].endpoints[].weight"). */
static json_t *schema_node(json_t *root, const char *path) {
  char buf[200];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *node = root;
  for (char *save = NULL, *part = strtok_r(buf, ".", &save); part != NULL;
       part = strtok_r(NULL, ".", &save)) {
    size_t len = strlen(part);
    bool list = len > 2 && strcmp(part + len - 2, "[]") == 0;
    bool dict = len > 2 && strcmp(part + len - 2, "{}") == 0; /* pricing{}: any name */
    if (list || dict) part[len - 2] = '\0';
    node = json_object_get(json_object_get(node, "properties"), part);
    if (node == NULL) return NULL;
    if (list) node = json_object_get(node, "items");
    if (dict) node = json_object_get(node, "additionalProperties");
  }
  return node;
}

Test(frontend, c4_json_schema_matches_the_knob_table) {
  char *text = generated(qcc_config_schema_json);
  json_error_t err;
  json_t *root = json_loads(text, 0, &err);
  cr_assert_not_null(root, "invalid JSON at line %d: %s", err.line, err.text);
  cr_assert_str_eq(json_string_value(json_object_get(root, "$schema")),
                   "https://json-schema.org/draft/2020-12/schema");
  cr_assert(json_is_false(json_object_get(root, "additionalProperties")));
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    json_t *n = schema_node(root, k->path);
    cr_assert_not_null(n, "schema lacks %s", k->path);
    if (k->kind == QCC_KNOB_INT) {
      cr_assert_eq((uint64_t)json_integer_value(json_object_get(n, "minimum")), k->min, "%s",
                   k->path);
      cr_assert_eq((uint64_t)json_integer_value(json_object_get(n, "maximum")), k->max, "%s",
                   k->path);
    }
    if (k->kind == QCC_KNOB_ENUM) {
      json_t *e = json_object_get(json_array_get(json_object_get(n, "anyOf"), 0), "enum");
      cr_assert_eq(json_array_size(e), k->enum_desc->count, "%s", k->path);
      for (size_t v = 0; v < k->enum_desc->count; v++) {
        cr_assert_str_eq(json_string_value(json_array_get(e, v)), k->enum_desc->names[v]);
      }
    }
    if ((k->flags & QCC_KF_REQUIRED) != 0 && k->id != QCC_K_VERSION) {
      /* required is listed on the parent object */
      char parent[160];
      const char *dot = strrchr(k->path, '.');
      snprintf(parent, sizeof parent, "%.*s", (int)(dot - k->path), k->path);
      json_t *p = schema_node(root, parent);
      cr_assert_not_null(p);
      json_t *req = json_object_get(p, "required");
      bool listed = false; /* pricing{} requires two keys */
      for (size_t r = 0; r < json_array_size(req); r++)
        listed |= strcmp(json_string_value(json_array_get(req, r)), qcc_knob_key(k)) == 0;
      cr_assert(listed, "%s is not in its parent's required list", k->path);
    }
  }
  json_t *req = json_object_get(root, "required");
  cr_assert_str_eq(json_string_value(json_array_get(req, 0)), "version");
  json_decref(root);
  free(text);
}

Test(frontend, c5_libcyaml_skeleton_enforces_the_same_keys) {
  const char good[] = "version: 1\nproxy: {port: 1}\nprofiles:\n"
                      "  - name: a\n    endpoints: [{id: x, metadata: {k: v}}, {id: y}]\n"
                      "  - name: b\n";
  struct qcc_cyaml_doc *doc = NULL;
  char msg[256];
  cr_assert_eq(qcc_cyaml_load(good, strlen(good), &doc, msg, sizeof msg), 0, "%s", msg);
  cr_assert_eq(qcc_cyaml_doc_profiles(doc), 2);
  cr_assert_str_eq(qcc_cyaml_doc_profile_name(doc, 0), "a");
  cr_assert_str_eq(qcc_cyaml_doc_profile_name(doc, 1), "b");
  cr_assert_eq(qcc_cyaml_doc_endpoints(doc, 0), 2);
  cr_assert_eq(qcc_cyaml_doc_endpoints(doc, 1), 0);
  cr_assert_null(qcc_cyaml_doc_profile_name(doc, 2));
  qcc_cyaml_doc_free(&doc);
  cr_assert_null(doc);
  const char *bad[] = {"version: 1\nproxy: {prot: 1}\n", "version: 1\nprofiles: [{nme: a}]\n",
                       "version: 1\nhealth: [1]\n"};
  for (size_t i = 0; i < 3; i++) {
    cr_assert_eq(qcc_cyaml_load(bad[i], strlen(bad[i]), &doc, msg, sizeof msg), -1, "%s", bad[i]);
    cr_assert_null(doc);
    cr_assert_not_null(strstr(msg, "libcyaml"));
  }
}

/* ---- robustness --------------------------------------------------------------- */

static void run_bytes(const char *data, size_t len) {
  char path[] = "/tmp/qcc-fe-cut-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq((size_t)write(fd, data, len), len);
  close(fd);
  struct qcc_diags *d = qcc_diags_new();
  struct qcc_config *cfg = NULL;
  bool io = false;
  struct qcc_frontend_opts o = {false, false};
  int rc = qcc_frontend_run(path, &o, &cfg, d, &io);
  cr_assert(rc == 0 || rc == -1);
  cr_assert((rc == 0) == (cfg != NULL));
  cr_assert(rc == 0 || qcc_diags_errors(d) > 0, "a failure always says why");
  FILE *null = fopen("/dev/null", "w");
  qcc_diags_print(d, QCC_DIAG_TEXT, null);
  qcc_diags_print(d, QCC_DIAG_JSON, null);
  fclose(null);
  qcc_config_free(&cfg);
  qcc_diags_free(&d);
  unlink(path);
}

Test(frontend, d1_every_truncation_and_byte_flip_is_survived) {
  to_source_root();
  size_t len = 0;
  char *src = slurp("tests/configs/good/full.yaml", &len);
  cr_assert_not_null(src);
  for (size_t cut = 0; cut <= len; cut += 1) run_bytes(src, cut);
  const char flips[] = {'\0', ':', '-', '[', '{', '&', '*', '"', '\t', '\n', '#', '!'};
  for (size_t at = 0; at < len; at += 7) {
    char saved = src[at];
    src[at] = flips[at % sizeof flips];
    run_bytes(src, len);
    src[at] = saved;
  }
  free(src);
}

Test(frontend, d2_alias_bomb_is_bounded) {
  /* 3000 aliased profiles x 3000 aliased endpoints = 9M endpoints if expanded
   * naively, from a 30 KB file: the loader must stop at its node budget. */
  size_t cap = 64 * 1024, used = 0;
  char *buf = malloc(cap);
  used += (size_t)snprintf(buf + used, cap - used,
                           "version: 1\nx: &e {id: e, base_url: 'https://x', api_key_env: K}\n"
                           "y: &E [");
  for (int i = 0; i < 3000; i++) used += (size_t)snprintf(buf + used, cap - used, "%s*e", i ? "," : "");
  used += (size_t)snprintf(buf + used, cap - used, "]\nz: &p {name: p, endpoints: *E}\nprofiles: [");
  for (int i = 0; i < 3000; i++) used += (size_t)snprintf(buf + used, cap - used, "%s*p", i ? "," : "");
  used += (size_t)snprintf(buf + used, cap - used, "]\n");
  cr_assert_lt(used, cap);
  run_bytes(buf, used);
  free(buf);
}
