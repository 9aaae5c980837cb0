/* compiler/claudesettings: what `qccc claude-settings --write/--undo` does to
 * a settings document, key by key. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/claudesettings.h"

static const char URL[] = "http://127.0.0.1:7860";
static const char TOK[] = "tok-1";

static json_t *doc(const char *text) {
  json_t *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_claudesettings_parse(text, strlen(text), &j, &err), 0, "%s", err.msg);
  return j;
}

static char *dump(json_t *j) { return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER); }

static void expect(json_t *j, const char *want) {
  char *got = dump(j);
  cr_assert_str_eq(got, want);
  free(got);
}

Test(claudesettings, write_merges_two_keys_and_keeps_the_rest_in_order) {
  json_t *j = doc("{\"model\":\"opus\",\"env\":{\"FOO\":\"bar\",\"ANTHROPIC_BASE_URL\":\"https://relay\"},\"z\":[1]}");
  json_t *undo = NULL;
  cr_assert_eq(qcc_claudesettings_write(j, &undo, URL, TOK), 1);
  expect(j, "{\"model\":\"opus\",\"env\":{\"FOO\":\"bar\",\"ANTHROPIC_BASE_URL\":\"http://127.0.0.1:7860\","
            "\"ANTHROPIC_AUTH_TOKEN\":\"tok-1\"},\"z\":[1]}");
  expect(undo, "{\"version\":1,\"vars\":{\"ANTHROPIC_BASE_URL\":{\"had\":\"https://relay\",\"wrote\":\"http://127.0.0.1:7860\"},"
               "\"ANTHROPIC_AUTH_TOKEN\":{\"wrote\":\"tok-1\"}},\"created_env\":false}");
  cr_assert_eq(qcc_claudesettings_write(j, &undo, URL, TOK), 0, "a second write changes nothing");
  size_t restored, kept;
  cr_assert_eq(qcc_claudesettings_undo(j, undo, &restored, &kept), 1);
  cr_assert_eq(restored, 2);
  cr_assert_eq(kept, 0);
  expect(j, "{\"model\":\"opus\",\"env\":{\"FOO\":\"bar\",\"ANTHROPIC_BASE_URL\":\"https://relay\"},\"z\":[1]}");
  json_decref(undo);
  json_decref(j);
}

Test(claudesettings, an_api_key_file_keeps_its_variable_never_both) {
  json_t *j = doc("{\"env\":{\"ANTHROPIC_API_KEY\":\"sk-old\"}}");
  json_t *undo = NULL;
  cr_assert_str_eq(qcc_claudesettings_auth_var(j), QCC_CS_KEY);
  qcc_claudesettings_write(j, &undo, URL, TOK);
  expect(j, "{\"env\":{\"ANTHROPIC_API_KEY\":\"tok-1\",\"ANTHROPIC_BASE_URL\":\"http://127.0.0.1:7860\"}}");
  size_t restored, kept;
  qcc_claudesettings_undo(j, undo, &restored, &kept);
  expect(j, "{\"env\":{\"ANTHROPIC_API_KEY\":\"sk-old\"}}");
  json_decref(undo);
  json_decref(j);
}

Test(claudesettings, undo_leaves_keys_changed_since_and_removes_an_env_it_created) {
  json_t *j = doc("{\"a\":1}");
  json_t *undo = NULL;
  qcc_claudesettings_write(j, &undo, URL, TOK);
  json_object_set_new(json_object_get(j, "env"), QCC_CS_URL, json_string("http://elsewhere"));
  size_t restored, kept;
  qcc_claudesettings_undo(j, undo, &restored, &kept);
  cr_assert_eq(restored, 1);
  cr_assert_eq(kept, 1);
  expect(j, "{\"a\":1,\"env\":{\"ANTHROPIC_BASE_URL\":\"http://elsewhere\"}}");
  json_object_del(json_object_get(j, "env"), QCC_CS_URL);
  qcc_claudesettings_undo(j, undo, &restored, &kept);
  expect(j, "{\"a\":1}");
  json_decref(undo);
  json_decref(j);
}

Test(claudesettings, a_later_write_keeps_the_first_value_replaced) {
  json_t *j = doc("{\"env\":{\"ANTHROPIC_BASE_URL\":\"https://relay\"}}");
  json_t *undo = NULL;
  qcc_claudesettings_write(j, &undo, URL, TOK);
  qcc_claudesettings_write(j, &undo, "http://127.0.0.1:9999", TOK); /* the port changed */
  size_t restored, kept;
  qcc_claudesettings_undo(j, undo, &restored, &kept);
  expect(j, "{\"env\":{\"ANTHROPIC_BASE_URL\":\"https://relay\"}}");
  json_decref(undo);
  json_decref(j);
}

Test(claudesettings, refuses_what_is_not_a_settings_object) {
  const char *bad[] = {"[1]", "{\"env\":[1]}", "{\"env\":\"x\"}", "{\"a\":", "nul"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *j = NULL;
    struct qcc_err err = {0};
    cr_assert_eq(qcc_claudesettings_parse(bad[i], strlen(bad[i]), &j, &err), -1, "%s", bad[i]);
    cr_assert_null(j);
    cr_assert_neq(err.msg[0], '\0');
  }
  json_t *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_claudesettings_parse("", 0, &j, &err), 0, "an empty file is {}");
  expect(j, "{}");
  json_decref(j);
  const char *no_wrote = "{\"version\":1,\"vars\":{\"X\":{\"had\":1}}}";
  cr_assert_null(qcc_claudesettings_parse_undo(no_wrote, strlen(no_wrote)), "no wrote: not a record");
  const char *v2 = "{\"version\":2,\"vars\":{}}";
  cr_assert_null(qcc_claudesettings_parse_undo(v2, strlen(v2)), "another version: not ours to read");
}
