/* Layout: config -> image -> reader gives back every value; determinism;
 * the digest follows the config and nothing else. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "compiler/layout.h"
#include "fixture.h"
#include "schema/table.h"

static struct qcc_table *open_img(const void *img, size_t len) {
  struct qcc_table *t = NULL;
  struct qcc_table_error e;
  cr_assert_eq(qcc_table_open_buffer(img, len, &t, &e), 0, "%s", e.message);
  return t;
}

static void str_eq(const struct qcc_table *t, struct qcc_tbl_str s, const char *want) {
  cr_assert_str_eq(qcc_table_str(t, s), want != NULL ? want : "");
  cr_assert_eq(s.len, want != NULL ? strlen(want) : 0);
}

static void check_roundtrip(const struct qcc_config *c, const struct qcc_table *t) {
  const struct qcc_settings *s = &c->settings;
  const struct qcc_tbl_settings *x = qcc_table_settings(t);
  str_eq(t, x->host, s->host);
  str_eq(t, x->tls_cert, s->tls_cert);
  str_eq(t, x->tls_key, s->tls_key);
  cr_assert_eq(x->port, s->port);
  cr_assert_eq(x->ssl_enabled, s->ssl_enabled);
  cr_assert_eq(x->log_level, s->log_level);
  cr_assert_eq(x->access_log, s->access_log);
  cr_assert_eq(x->journal_fsync, s->journal_fsync);
  cr_assert_eq(x->max_connections, s->max_connections);
  cr_assert_eq(x->max_header_bytes, s->max_header_bytes);
  cr_assert_eq(x->max_body_bytes, s->max_body_bytes);
  cr_assert_eq(x->header_timeout_ms, s->header_timeout_ms);
  cr_assert_eq(x->idle_timeout_ms, s->idle_timeout_ms);
  cr_assert_eq(x->drain_timeout_ms, s->drain_timeout_ms);
  cr_assert_eq(x->health_enabled, s->health_enabled);
  cr_assert_eq(x->health_check, s->health_check);
  cr_assert_eq(x->alert_enabled, s->alert_enabled);
  cr_assert_eq(x->check_interval_ms, s->check_interval_ms);
  cr_assert_eq(x->health_timeout_ms, s->health_timeout_ms);
  cr_assert_eq(x->retry_count, s->retry_count);
  cr_assert_eq(x->alert_threshold, s->alert_threshold);
  cr_assert_eq(x->queue_enabled, s->queue_enabled);
  cr_assert_eq(x->retry_strategy, s->retry_strategy);
  cr_assert_eq(x->persistence_enabled, s->persistence_enabled);
  cr_assert_eq(x->queue_max_size, s->queue_max_size);
  cr_assert_eq(x->max_retries, s->max_retries);
  cr_assert_eq(x->max_wait_ms, s->max_wait_ms);
  cr_assert_eq(x->lb_strategy, s->lb_strategy);
  cr_assert_eq(x->health_aware, s->health_aware);
  cr_assert_eq(x->sticky_session, s->sticky_session);
  cr_assert_eq(x->auto_switch, s->auto_switch);
  cr_assert_eq(x->auto_recovery, s->auto_recovery);
  cr_assert_eq(x->fallback_enabled, s->fallback_enabled);
  cr_assert_eq(x->switch_threshold, s->switch_threshold);
  cr_assert_eq(x->cooldown_ms, s->cooldown_ms);
  cr_assert_eq(x->upstream_connect_timeout_ms, s->upstream_connect_timeout_ms);
  cr_assert_eq(x->upstream_timeout_ms, s->upstream_timeout_ms);
  cr_assert_eq(x->upstream_request_timeout_ms, s->upstream_request_timeout_ms);
  cr_assert_eq(x->upstream_stream_idle_timeout_ms, s->upstream_stream_idle_timeout_ms);
  str_eq(t, x->tls_ca_file, s->tls_ca_file);
  str_eq(t, x->tls_ca_path, s->tls_ca_path);
  str_eq(t, x->alerts_exec, s->alerts_exec);
  str_eq(t, x->alerts_webhook, s->alerts_webhook);
  cr_assert_eq(x->alerts_timeout_ms, s->alerts_timeout_ms);

  cr_assert_eq(qcc_table_profile_count(t), c->profile_count);
  uint32_t ei = 0;
  for (uint32_t i = 0; i < c->profile_count; i++) {
    const struct qcc_profile_cfg *p = &c->profiles[i];
    const struct qcc_tbl_profile *tp = qcc_table_profile(t, i);
    str_eq(t, tp->name, p->name);
    str_eq(t, tp->description, p->description);
    cr_assert_eq(tp->group, p->group);
    cr_assert_eq(tp->enabled, p->enabled);
    cr_assert_eq(tp->lb_override, p->lb_override);
    cr_assert_eq(tp->lb_strategy, p->lb_override ? p->lb_strategy : s->lb_strategy);
    cr_assert_eq(tp->health_aware, p->lb_override ? p->health_aware : s->health_aware);
    cr_assert_eq(tp->sticky_session, p->lb_override ? p->sticky_session : s->sticky_session);
    cr_assert_eq(tp->endpoint_first, ei);
    cr_assert_eq(tp->endpoint_count, p->endpoint_count);
    cr_assert_eq(qcc_table_find_profile(t, p->name), i);
    for (size_t j = 0; j < p->endpoint_count; j++, ei++) {
      const struct qcc_endpoint_cfg *e = &p->endpoints[j];
      const struct qcc_tbl_endpoint *te = qcc_table_endpoint(t, ei);
      str_eq(t, te->id, e->id);
      cr_assert_eq(te->stable_id, XXH3_64bits(e->id, strlen(e->id)));
      cr_assert_eq(qcc_table_find_endpoint(t, te->stable_id), ei);
      str_eq(t, te->base_url, e->base_url);
      cr_assert_eq(te->key.kind, e->key.kind);
      str_eq(t, te->key.value, e->key.value);
      cr_assert_eq(te->profile_index, i);
      cr_assert_eq(te->weight, e->weight);
      cr_assert_eq(te->priority, e->priority);
      cr_assert_eq(te->max_failures, e->max_failures);
      cr_assert_eq(te->timeout_ms, e->timeout_ms);
      cr_assert_eq(te->rate_limit, e->rate_limit);
      cr_assert_eq(te->max_concurrency, e->max_concurrency);
      cr_assert_eq(te->enabled, e->enabled);
      cr_assert_eq(te->auth, e->auth);
      cr_assert_eq(te->allow_insecure, e->allow_insecure);
      cr_assert_eq(te->connect_timeout_ms, e->connect_timeout_ms);
      cr_assert_eq(te->request_timeout_ms, e->request_timeout_ms);
      cr_assert_eq(te->stream_idle_timeout_ms, e->stream_idle_timeout_ms);
      str_eq(t, te->ca_file, e->ca_file);
      str_eq(t, te->proxy, e->proxy);
      str_eq(t, te->proxy_credentials_env, e->proxy_credentials_env);
      cr_assert_eq(te->identity_hash,
                   qcc_layout_identity_hash(e->base_url, e->auth, e->key.kind, e->key.value));
      cr_assert_eq(te->model_map_count, e->model_count);
      for (size_t m = 0; m < e->model_count; m++) {
        const struct qcc_tbl_pair *pr = qcc_table_model_map(t, te->model_map_first + (uint32_t)m);
        str_eq(t, pr->key, e->models[m].key);
        str_eq(t, pr->value, e->models[m].value);
      }
      cr_assert_eq(te->metadata_count, e->metadata_count);
      for (size_t m = 0; m < e->metadata_count; m++) {
        const struct qcc_tbl_pair *pr = qcc_table_metadata(t, te->metadata_first + (uint32_t)m);
        str_eq(t, pr->key, e->metadata[m].key);
        str_eq(t, pr->value, e->metadata[m].value);
      }
    }
  }
  cr_assert_eq(qcc_table_endpoint_count(t), ei);
  cr_assert_eq(qcc_table_token_count(t), c->token_count);
  for (uint32_t i = 0; i < c->token_count; i++) {
    const struct qcc_tbl_token *k = qcc_table_token(t, i);
    str_eq(t, k->name, c->tokens[i].name);
    cr_assert_eq(k->key.kind, c->tokens[i].key.kind);
    str_eq(t, k->key.value, c->tokens[i].key.value);
    cr_assert_eq(k->priority, c->tokens[i].priority);
  }
}

Test(layout, round_trip_every_value) {
  for (unsigned seed = 0; seed < 4; seed++) {
    struct qcc_config *c = fixture_config(4 + seed, 3 + seed, seed);
    size_t len = 0;
    void *img = fixture_image(c, 3 + seed, &len);
    struct qcc_table *t = open_img(img, len);
    const struct qcc_tbl_header *h = qcc_table_header(t);
    cr_assert_eq(h->generation, 3 + seed);
    cr_assert_eq(h->build_time, 1700000000);
    cr_assert_eq(h->file_size, len);
    cr_assert_eq(h->flags & QCC_TABLE_FLAG_LITERAL_KEYS, 0);
    uint8_t d[16];
    qcc_layout_digest(c, d);
    cr_assert_arr_eq(h->source_digest, d, 16);
    check_roundtrip(c, t);
    qcc_table_close(&t);
    free(img);
    fixture_free(&c);
  }
}

Test(layout, empty_config) {
  struct qcc_config *c = fixture_config(0, 0, 2);
  size_t len = 0;
  void *img = fixture_image(c, 1, &len);
  struct qcc_table *t = open_img(img, len);
  cr_assert_eq(qcc_table_profile_count(t), 0);
  cr_assert_eq(qcc_table_endpoint_count(t), 0);
  check_roundtrip(c, t);
  qcc_table_close(&t);
  free(img);
  fixture_free(&c);
}

Test(layout, strings_are_deduplicated) {
  struct qcc_config *c = fixture_config(2, 2, 0);
  size_t len = 0;
  void *img = fixture_image(c, 1, &len);
  struct qcc_table *t = open_img(img, len);
  /* "provider" is a metadata key of every endpoint: one copy in the pool. */
  const struct qcc_tbl_pair *a = qcc_table_metadata(t, 0);
  cr_assert_str_eq(qcc_table_str(t, a->key), "provider");
  unsigned seen = 0;
  for (uint32_t i = 0; i < qcc_table_metadata_count(t); i++) {
    const struct qcc_tbl_pair *p = qcc_table_metadata(t, i);
    if (strcmp(qcc_table_str(t, p->key), "provider") == 0) {
      cr_assert_eq(p->key.off, a->key.off);
      seen++;
    }
  }
  cr_assert_eq(seen, 4, "every endpoint has a provider");
  /* First use order: the settings host is the first string after the NUL. */
  cr_assert_eq(qcc_table_settings(t)->host.off, 1);
  qcc_table_close(&t);
  free(img);
  fixture_free(&c);
}

Test(layout, deterministic_bytes) {
  struct qcc_config *a = fixture_config(5, 5, 3);
  struct qcc_config *b = fixture_config(5, 5, 3);
  size_t la = 0, lb = 0;
  void *ia = fixture_image(a, 9, &la);
  void *ib = fixture_image(b, 9, &lb);
  cr_assert_eq(la, lb);
  cr_assert_eq(memcmp(ia, ib, la), 0, "two layouts of equal configs differ");
  free(ib);
  /* Another generation changes only the header. */
  ib = fixture_image(b, 10, &lb);
  cr_assert_eq(la, lb);
  cr_assert_neq(memcmp(ia, ib, QCC_TABLE_HEADER_SIZE), 0);
  cr_assert_eq(memcmp((char *)ia + QCC_TABLE_HEADER_SIZE, (char *)ib + QCC_TABLE_HEADER_SIZE,
                      la - QCC_TABLE_HEADER_SIZE),
               0);
  free(ia);
  free(ib);
  fixture_free(&a);
  fixture_free(&b);
}

Test(layout, digest_follows_the_config) {
  struct qcc_config *c = fixture_config(3, 3, 1);
  uint8_t d0[16], d1[16];
  qcc_layout_digest(c, d0);
  /* positions and file names are not part of it */
  c->profiles[0].pos.line = 99;
  c->profiles[1].endpoints[1].pos.col = 7;
  qcc_layout_digest(c, d1);
  cr_assert_arr_eq(d0, d1, 16);
  /* every kind of value is */
  c->profiles[1].endpoints[1].weight++;
  qcc_layout_digest(c, d1);
  cr_assert_arr_neq(d0, d1, 16);
  c->profiles[1].endpoints[1].weight--;
  qcc_layout_digest(c, d1);
  cr_assert_arr_eq(d0, d1, 16);
  c->settings.cooldown_ms++;
  qcc_layout_digest(c, d1);
  cr_assert_arr_neq(d0, d1, 16);
  c->settings.cooldown_ms--;
  c->profiles[2].endpoints[0].metadata[0].value[0] ^= 1;
  qcc_layout_digest(c, d1);
  cr_assert_arr_neq(d0, d1, 16);
  c->profiles[2].endpoints[0].metadata[0].value[0] ^= 1;
  c->tokens[0].priority++;
  qcc_layout_digest(c, d1);
  cr_assert_arr_neq(d0, d1, 16);
  fixture_free(&c);
}

Test(layout, literal_key_sets_the_flag) {
  struct qcc_config *c = fixture_config(2, 2, 1);
  free(c->profiles[1].endpoints[0].key.value);
  c->profiles[1].endpoints[0].key.kind = QCC_KEY_LITERAL;
  c->profiles[1].endpoints[0].key.value = strdup("sk-ant-secret");
  size_t len = 0;
  void *img = fixture_image(c, 1, &len);
  struct qcc_table *t = open_img(img, len);
  cr_assert_eq(qcc_table_header(t)->flags & QCC_TABLE_FLAG_LITERAL_KEYS, QCC_TABLE_FLAG_LITERAL_KEYS);
  check_roundtrip(c, t);
  qcc_table_close(&t);
  free(img);
  fixture_free(&c);
}

Test(layout, identity_hash_tracks_url_auth_and_key) {
  uint64_t h = qcc_layout_identity_hash("https://a", QCC_AUTH_BEARER, QCC_KEY_ENV, "K");
  cr_assert_eq(h, qcc_layout_identity_hash("https://a", QCC_AUTH_BEARER, QCC_KEY_ENV, "K"));
  cr_assert_neq(h, qcc_layout_identity_hash("https://b", QCC_AUTH_BEARER, QCC_KEY_ENV, "K"));
  cr_assert_neq(h, qcc_layout_identity_hash("https://a", QCC_AUTH_X_API_KEY, QCC_KEY_ENV, "K"));
  cr_assert_neq(h, qcc_layout_identity_hash("https://a", QCC_AUTH_BEARER, QCC_KEY_FILE, "K"));
  cr_assert_neq(h, qcc_layout_identity_hash("https://a", QCC_AUTH_BEARER, QCC_KEY_ENV, "K2"));
}

Test(layout, build_time_honours_source_date_epoch) {
  setenv("SOURCE_DATE_EPOCH", "1234567", 1);
  cr_assert_eq(qcc_layout_build_time(), 1234567);
  setenv("SOURCE_DATE_EPOCH", "junk", 1);
  cr_assert_gt(qcc_layout_build_time(), 1600000000);
  unsetenv("SOURCE_DATE_EPOCH");
  cr_assert_gt(qcc_layout_build_time(), 1600000000);
}
