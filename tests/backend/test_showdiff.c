/* show (text and JSON) and diff, on hand-built tables. Secrets never appear. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/diff.h"
#include "compiler/show.h"
#include "fixture.h"

#define SECRET "sk-ant-api03-VERY-SECRET"

struct built {
  void *img;
  size_t len;
  struct qcc_table *t;
};

static struct built build(const struct qcc_config *c, unsigned long long gen) {
  struct built b;
  b.img = fixture_image(c, gen, &b.len);
  struct qcc_table_error e;
  cr_assert_eq(qcc_table_open_buffer(b.img, b.len, &b.t, &e), 0, "%s", e.message);
  return b;
}

static void unbuild(struct built *b) {
  qcc_table_close(&b->t);
  free(b->img);
}

static void set_literal(struct qcc_config *c, size_t p, size_t e, const char *v) {
  free(c->profiles[p].endpoints[e].key.value);
  c->profiles[p].endpoints[e].key.kind = QCC_KEY_LITERAL;
  c->profiles[p].endpoints[e].key.value = strdup(v);
}

static char *show_text(const struct qcc_table *t) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  cr_assert_not_null(f);
  qcc_show_text(t, "t.bin", f);
  fclose(f);
  return buf;
}

static char *diff_text(const struct qcc_table *a, const struct qcc_table *b, size_t *count) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  cr_assert_not_null(f);
  *count = qcc_diff_tables(a, b, f);
  fclose(f);
  return buf;
}

Test(show, text_has_everything_and_no_secret) {
  struct qcc_config *c = fixture_config(2, 3, 1);
  set_literal(c, 1, 2, SECRET);
  struct built b = build(c, 4);
  char *s = show_text(b.t);
  cr_assert_not_null(strstr(s, "generation: 4"), "%s", s);
  cr_assert_not_null(strstr(s, "profile profile-1 (secondary, 3 endpoints)"), "%s", s);
  cr_assert_not_null(strstr(s, "endpoint ep-0-2"));
  cr_assert_not_null(strstr(s, "key: env:KEY_0_0"));
  cr_assert_not_null(strstr(s, "key: file:/run/keys/0/1"));
  cr_assert_not_null(strstr(s, "key: literal:<redacted>"));
  cr_assert_not_null(strstr(s, "literal keys: yes"));
  cr_assert_not_null(strstr(s, "proxy.port: 7861"));
  cr_assert_not_null(strstr(s, "timeout: 30s"), "%s", s);
  cr_assert_not_null(strstr(s, "models: claude-model-0 -> target-1-0"), "%s", s);
  cr_assert_not_null(strstr(s, "metadata: provider=value-0-0"), "%s", s);
  cr_assert_null(strstr(s, SECRET), "the literal key was printed");
  free(s);
  unbuild(&b);
  fixture_free(&c);
}

Test(show, json_round_trips_and_has_no_secret) {
  struct qcc_config *c = fixture_config(3, 2, 2);
  set_literal(c, 0, 0, SECRET);
  struct built b = build(c, 9);
  json_t *j = qcc_show_json(b.t, "t.bin");
  char *s = json_dumps(j, 0);
  cr_assert_null(strstr(s, SECRET));
  json_error_t je;
  json_t *back = json_loads(s, 0, &je);
  cr_assert_not_null(back, "%s", je.text);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(back, "header"), "generation")), 9);
  json_t *settings = json_object_get(back, "settings");
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(settings, "proxy"), "port")), 7862);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(settings, "queue"), "max_wait_ms")), 120002);
  json_t *profiles = json_object_get(back, "profiles");
  cr_assert_eq(json_array_size(profiles), 3);
  json_t *eps = json_object_get(json_array_get(profiles, 0), "endpoints");
  cr_assert_eq(json_array_size(eps), 2);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(eps, 0), "key")), "literal:<redacted>");
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(eps, 1), "id")), "ep-0-1");
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(eps, 1), "timeout_ms")), 30001);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(eps, 1), "metadata"), "region")),
                   "value-1-1");
  cr_assert_eq(json_array_size(json_object_get(back, "auth_tokens")), 2);
  json_decref(back);
  free(s);
  json_decref(j);
  unbuild(&b);
  fixture_free(&c);
}

Test(show, ms_text) {
  char b[32];
  qcc_ms_text(30000, b, sizeof b);
  cr_assert_str_eq(b, "30s");
  qcc_ms_text(300000, b, sizeof b);
  cr_assert_str_eq(b, "5m");
  qcc_ms_text(7200000, b, sizeof b);
  cr_assert_str_eq(b, "2h");
  qcc_ms_text(1500, b, sizeof b);
  cr_assert_str_eq(b, "1500ms");
  qcc_ms_text(0, b, sizeof b);
  cr_assert_str_eq(b, "0s");
}

Test(diff, same_config_other_generation_is_no_difference) {
  struct qcc_config *c = fixture_config(3, 3, 1);
  struct built a = build(c, 1), b = build(c, 2);
  size_t n = 99;
  char *s = diff_text(a.t, b.t, &n);
  cr_assert_eq(n, 0, "%s", s);
  cr_assert_str_eq(s, "");
  free(s);
  unbuild(&a);
  unbuild(&b);
  fixture_free(&c);
}

Test(diff, field_changes_additions_and_removals) {
  struct qcc_config *c = fixture_config(3, 3, 1);
  struct built a = build(c, 1);
  c->settings.port = 9999;
  c->profiles[0].endpoints[1].weight = 555;
  c->profiles[2].enabled = false;
  free(c->profiles[1].endpoints[2].id);
  c->profiles[1].endpoints[2].id = strdup("brand-new");
  free(c->profiles[1].name);
  c->profiles[1].name = strdup("renamed");
  struct built b = build(c, 2);
  size_t n = 0;
  char *s = diff_text(a.t, b.t, &n);
  cr_assert_not_null(strstr(s, "~ settings proxy.port: 7861 -> 9999\n"), "%s", s);
  cr_assert_not_null(strstr(s, "~ endpoint ep-0-1 weight: 101 -> 555\n"), "%s", s);
  cr_assert_not_null(strstr(s, "~ profile profile-2 enabled: true -> false\n"), "%s", s);
  cr_assert_not_null(strstr(s, "- endpoint ep-1-2 (profile profile-1)\n"), "%s", s);
  cr_assert_not_null(strstr(s, "+ endpoint brand-new (profile renamed)\n"), "%s", s);
  cr_assert_not_null(strstr(s, "- profile profile-1\n"), "%s", s);
  cr_assert_not_null(strstr(s, "+ profile renamed (secondary)\n"), "%s", s);
  cr_assert_not_null(strstr(s, "~ endpoint ep-1-0 profile: profile-1 -> renamed\n"), "%s", s);
  cr_assert_eq(n, 9, "%zu lines:\n%s", n, s);
  free(s);
  /* and the other way round */
  s = diff_text(b.t, a.t, &n);
  cr_assert_not_null(strstr(s, "~ endpoint ep-0-1 weight: 555 -> 101\n"), "%s", s);
  free(s);
  unbuild(&a);
  unbuild(&b);
  fixture_free(&c);
}

Test(diff, redacted_key_change_and_models) {
  struct qcc_config *c = fixture_config(1, 3, 1);
  set_literal(c, 0, 0, SECRET);
  struct built a = build(c, 1);
  set_literal(c, 0, 0, SECRET "-rotated");
  free(c->profiles[0].endpoints[1].models[0].value);
  c->profiles[0].endpoints[1].models[0].value = strdup("glm-4.6");
  struct built b = build(c, 2);
  size_t n = 0;
  char *s = diff_text(a.t, b.t, &n);
  cr_assert_null(strstr(s, SECRET), "%s", s);
  cr_assert_not_null(strstr(s, "~ endpoint ep-0-0 key: literal:<redacted> -> literal:<redacted> (value changed)\n"),
                     "%s", s);
  cr_assert_not_null(strstr(s, "~ endpoint ep-0-1 models: {claude-model-0 -> target-1-0} -> {claude-model-0 -> glm-4.6}\n"),
                     "%s", s);
  cr_assert_eq(n, 2, "%s", s);
  free(s);
  unbuild(&a);
  unbuild(&b);
  fixture_free(&c);
}

Test(diff, endpoint_order) {
  struct qcc_config *c = fixture_config(1, 3, 1);
  struct built a = build(c, 1);
  struct qcc_endpoint_cfg tmp = c->profiles[0].endpoints[0];
  c->profiles[0].endpoints[0] = c->profiles[0].endpoints[2];
  c->profiles[0].endpoints[2] = tmp;
  struct built b = build(c, 2);
  size_t n = 0;
  char *s = diff_text(a.t, b.t, &n);
  cr_assert_not_null(strstr(s, "~ profile profile-0 endpoint order changed\n"), "%s", s);
  cr_assert_eq(n, 1, "%s", s);
  free(s);
  unbuild(&a);
  unbuild(&b);
  fixture_free(&c);
}
