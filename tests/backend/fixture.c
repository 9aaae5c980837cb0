#include "fixture.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/layout.h"

static char *dupf(const char *fmt, unsigned a, unsigned b, unsigned c) {
  char buf[256];
  snprintf(buf, sizeof buf, fmt, a, b, c);
  char *s = strdup(buf);
  cr_assert_not_null(s);
  return s;
}

struct qcc_config *fixture_config(size_t profiles, size_t eps, unsigned seed) {
  struct qcc_config *c = calloc(1, sizeof *c);
  cr_assert_not_null(c);
  c->version = 1;
  struct qcc_settings *s = &c->settings;
  s->host = dupf("127.0.0.%u", 1 + seed % 200, 0, 0);
  s->port = (uint16_t)(7860 + seed);
  s->ssl_enabled = seed % 2;
  s->tls_cert = s->ssl_enabled ? dupf("/etc/qcc/cert-%u.pem", seed, 0, 0) : NULL;
  s->tls_key = s->ssl_enabled ? dupf("/etc/qcc/key-%u.pem", seed, 0, 0) : NULL;
  s->log_level = (enum qcc_log_level)(seed % QCC_LOG_COUNT);
  s->access_log = true;
  s->max_connections = 1000 + seed;
  s->max_header_bytes = 65536 + seed;
  s->max_body_bytes = 33554432ull + seed;
  s->header_timeout_ms = 10000 + seed;
  s->idle_timeout_ms = 60000 + seed;
  s->drain_timeout_ms = 30000 + seed;
  s->journal_fsync = (enum qcc_fsync_policy)(seed % QCC_FSYNC_COUNT);
  s->health_enabled = true;
  s->health_check = (enum qcc_check_kind)((seed + 1) % QCC_CHECK_COUNT);
  s->check_interval_ms = 60000 + seed;
  s->health_timeout_ms = 10000 + seed;
  s->retry_count = 3 + seed;
  s->alert_enabled = seed % 2 == 0;
  s->alert_threshold = 4 + seed;
  s->queue_enabled = true;
  s->queue_max_size = 1000 + seed;
  s->retry_strategy = (enum qcc_retry_strategy)(seed % QCC_RETRY_COUNT);
  s->max_retries = 5 + seed;
  s->max_wait_ms = 120000 + seed;
  s->persistence_enabled = seed % 3 == 0;
  s->lb_strategy = (enum qcc_lb_strategy)(seed % QCC_LB_COUNT);
  s->health_aware = true;
  s->sticky_session = seed % 2 == 1;
  s->auto_switch = true;
  s->auto_recovery = seed % 2 == 0;
  s->fallback_enabled = true;
  s->switch_threshold = 3 + seed;
  s->cooldown_ms = 300000 + seed;
  s->upstream_connect_timeout_ms = 5000 + seed;
  s->upstream_timeout_ms = 30000 + seed;
  s->upstream_request_timeout_ms = 600000 + seed;
  s->upstream_stream_idle_timeout_ms = 90000 + seed;
  s->tls_ca_file = seed % 2 == 0 ? dupf("/etc/qcc/ca-%u.pem", seed, 0, 0) : NULL;
  s->tls_ca_path = seed % 3 == 0 ? dupf("/etc/qcc/ca-%u.d", seed, 0, 0) : NULL;
  s->alerts_exec = seed % 2 == 1 ? dupf("notify-send qcc-%u", seed, 0, 0) : NULL;
  s->alerts_webhook = dupf("https://hooks.example.com/%u", seed, 0, 0);
  s->alerts_timeout_ms = 10000 + seed;

  c->profile_count = profiles;
  c->profiles = calloc(profiles ? profiles : 1, sizeof *c->profiles);
  cr_assert_not_null(c->profiles);
  for (size_t i = 0; i < profiles; i++) {
    struct qcc_profile_cfg *p = &c->profiles[i];
    p->name = dupf("profile-%u", (unsigned)i, 0, 0);
    p->description = i % 2 == 0 ? dupf("profile number %u, seed %u", (unsigned)i, seed, 0) : NULL;
    p->group = (enum qcc_group)(i % QCC_GROUP_COUNT);
    p->enabled = true;
    p->lb_override = i % 3 == 1;
    p->lb_strategy = (enum qcc_lb_strategy)((i + seed + 1) % QCC_LB_COUNT);
    p->health_aware = i % 2 == 0;
    p->sticky_session = i % 2 == 1;
    p->endpoint_count = eps;
    p->endpoints = calloc(eps ? eps : 1, sizeof *p->endpoints);
    cr_assert_not_null(p->endpoints);
    for (size_t j = 0; j < eps; j++) {
      struct qcc_endpoint_cfg *e = &p->endpoints[j];
      unsigned k = (unsigned)(i * eps + j);
      e->id = dupf("ep-%u-%u", (unsigned)i, (unsigned)j, 0);
      e->base_url = dupf("https://api%u.example.com/v%u", k % 7, seed, 0);
      e->key.kind = (enum qcc_key_kind)(1 + k % 2); /* env or file */
      e->key.value = e->key.kind == QCC_KEY_ENV ? dupf("KEY_%u_%u", (unsigned)i, (unsigned)j, 0)
                                                : dupf("/run/keys/%u/%u", (unsigned)i, (unsigned)j, 0);
      e->auth = (enum qcc_auth_style)(k % QCC_AUTH_COUNT);
      e->weight = 100 + k;
      e->priority = 1 + k % 5;
      e->max_failures = 3 + k % 4;
      e->timeout_ms = 30000 + k;
      e->connect_timeout_ms = 5000 + k;
      e->request_timeout_ms = 600000 + k;
      e->stream_idle_timeout_ms = 90000 + k;
      e->ca_file = k % 2 == 0 ? dupf("/etc/qcc/ep-ca-%u.pem", k, 0, 0) : NULL;
      e->proxy = k % 3 == 0 ? dupf("socks5h://127.0.0.1:%u", 1080 + k, 0, 0) : NULL;
      e->proxy_credentials_env = k % 3 == 0 ? dupf("PROXY_AUTH_%u", k, 0, 0) : NULL;
      e->rate_limit = k % 3 == 0 ? 60 + k : 0;
      e->max_concurrency = k % 4 == 0 ? 0 : 10 + k;
      e->enabled = k % 5 != 4;
      e->allow_insecure = k % 6 == 5;
      e->model_count = k % 3;
      e->models = calloc(e->model_count + 1, sizeof *e->models);
      cr_assert_not_null(e->models);
      for (size_t m = 0; m < e->model_count; m++) {
        e->models[m].key = dupf("claude-model-%u", (unsigned)m, 0, 0);
        e->models[m].value = dupf("target-%u-%u", k, (unsigned)m, 0);
      }
      e->metadata_count = k % 2 + 1;
      e->metadata = calloc(e->metadata_count + 1, sizeof *e->metadata);
      cr_assert_not_null(e->metadata);
      for (size_t m = 0; m < e->metadata_count; m++) {
        e->metadata[m].key = m == 0 ? dupf("provider", 0, 0, 0) : dupf("region", 0, 0, 0);
        e->metadata[m].value = dupf("value-%u-%u", k, (unsigned)m, 0);
      }
    }
  }
  c->token_count = 2;
  c->tokens = calloc(2, sizeof *c->tokens);
  cr_assert_not_null(c->tokens);
  c->tokens[0].name = dupf("ci", 0, 0, 0);
  c->tokens[0].key.kind = QCC_KEY_ENV;
  c->tokens[0].key.value = dupf("QCC_CLIENT_TOKEN", 0, 0, 0);
  c->tokens[0].priority = 5;
  c->tokens[1].name = NULL;
  c->tokens[1].key.kind = QCC_KEY_FILE;
  c->tokens[1].key.value = dupf("/run/qcc/token-%u", seed, 0, 0);
  c->tokens[1].priority = 1;
  return c;
}

static void free_pairs(struct qcc_pair *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].key);
    free(p[i].value);
  }
  free(p);
}

void fixture_free(struct qcc_config **cfg) {
  struct qcc_config *c = *cfg;
  if (c == NULL) return;
  free(c->settings.host);
  free(c->settings.tls_cert);
  free(c->settings.tls_key);
  free(c->settings.tls_ca_file);
  free(c->settings.tls_ca_path);
  free(c->settings.alerts_exec);
  free(c->settings.alerts_webhook);
  for (size_t i = 0; i < c->profile_count; i++) {
    struct qcc_profile_cfg *p = &c->profiles[i];
    free(p->name);
    free(p->description);
    for (size_t j = 0; j < p->endpoint_count; j++) {
      struct qcc_endpoint_cfg *e = &p->endpoints[j];
      free(e->id);
      free(e->from);
      free(e->base_url);
      free(e->key.value);
      free(e->ca_file);
      free(e->proxy);
      free(e->proxy_credentials_env);
      free_pairs(e->models, e->model_count);
      free_pairs(e->metadata, e->metadata_count);
    }
    free(p->endpoints);
  }
  free(c->profiles);
  for (size_t i = 0; i < c->token_count; i++) {
    free(c->tokens[i].name);
    free(c->tokens[i].key.value);
  }
  free(c->tokens);
  free(c);
  *cfg = NULL;
}

void *fixture_image(const struct qcc_config *cfg, unsigned long long generation, size_t *len) {
  struct qcc_layout *l = NULL;
  struct qcc_err err = {0};
  struct qcc_layout_opts o = {.generation = generation, .build_time = 1700000000};
  cr_assert_eq(qcc_layout_new(cfg, &o, &l, &err), 0, "layout: %s", err.msg);
  const void *b = qcc_layout_bytes(l, len);
  void *copy = aligned_alloc(8, (*len + 7) & ~(size_t)7);
  cr_assert_not_null(copy);
  memcpy(copy, b, *len);
  qcc_layout_free(&l);
  return copy;
}

void *fixture_read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return NULL;
  }
  size_t n = (size_t)st.st_size;
  void *buf = aligned_alloc(8, n + 8);
  size_t got = 0;
  while (buf != NULL && got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (buf == NULL || got != n) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

char *fixture_tmpdir(void) {
  char tmpl[] = "/tmp/qcc-backend-XXXXXX";
  char *d = mkdtemp(tmpl);
  cr_assert_not_null(d);
  return strdup(d);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void fixture_rmtree(const char *dir) {
  if (dir != NULL) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
