/* Anthropic-shaped error bodies: shape, escaping, cutting. Parsed back with
 * jansson, so anything not valid JSON fails. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "runtime/queue.h"

static json_t *parse(const char *buf, int len) {
  cr_assert_gt(len, 0);
  cr_assert_eq(strlen(buf), (size_t)len);
  json_error_t je;
  json_t *o = json_loads(buf, 0, &je);
  cr_assert_not_null(o, "not JSON (%s): %s", je.text, buf);
  cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "error");
  cr_assert(json_is_object(json_object_get(o, "error")));
  return o;
}

static const char *etype(json_t *o) {
  return json_string_value(json_object_get(json_object_get(o, "error"), "type"));
}

static const char *emsg(json_t *o) {
  return json_string_value(json_object_get(json_object_get(o, "error"), "message"));
}

Test(errors, escaping_round_trips) {
  char buf[512];
  const char *msg = "quote \" backslash \\ newline \n tab \t bell \a caf\xc3\xa9 \xe2\x82\xac";
  int n = qcc_error_json("api_error", msg, buf, sizeof(buf));
  json_t *o = parse(buf, n);
  cr_expect_str_eq(etype(o), "api_error");
  cr_expect_str_eq(emsg(o), msg);
  json_decref(o);
}

Test(errors, invalid_utf8_becomes_question_mark) {
  char buf[256];
  int n = qcc_error_json("overloaded_error", "bad \xff\xfe byte \xc3", buf, sizeof(buf));
  json_t *o = parse(buf, n);
  cr_expect_str_eq(emsg(o), "bad ?? byte ?");
  json_decref(o);
}

Test(errors, cut_to_fit_stays_valid) {
  char msg[400];
  for (size_t i = 0; i + 2 < sizeof(msg); i += 2)
    memcpy(msg + i, "\xc3\xa9", 2); /* two-byte characters: cuts must not split them */
  msg[sizeof(msg) - 2] = '"';
  msg[sizeof(msg) - 1] = '\0';
  for (size_t cap = 70; cap < 200; cap += 7) {
    char buf[200];
    int n = qcc_error_json("overloaded_error", msg, buf, cap);
    cr_assert_lt((size_t)n, cap);
    json_t *o = parse(buf, n);
    cr_expect_lt(strlen(emsg(o)), strlen(msg));
    json_decref(o);
  }
  char tiny[20];
  cr_expect_eq(qcc_error_json("overloaded_error", "x", tiny, sizeof(tiny)), -1);
}

Test(errors, full_queue_body) {
  char buf[512];
  int n = qcc_queue_full_json(17, buf, sizeof(buf));
  json_t *o = parse(buf, n);
  cr_expect_str_eq(etype(o), "overloaded_error");
  cr_expect_not_null(strstr(emsg(o), "retry after 17 s"));
  cr_expect_not_null(strstr(emsg(o), "queue is full"));
  json_decref(o);
}

Test(errors, expired_body_names_what_was_tried) {
  struct qcc_queue_attempt tried[] = {
      {.endpoint = "prod-1", .status = 503, .reason = "overloaded"},
      {.endpoint = "prod-\"2\"", .status = 0, .reason = "timeout"},
      {.endpoint = "backup", .status = 529, .reason = NULL},
  };
  char buf[1024];
  int n = qcc_queue_expired_json(tried, 3, 6, 120500, "18c2f0", buf, sizeof(buf));
  json_t *o = parse(buf, n);
  cr_expect_str_eq(etype(o), "overloaded_error");
  const char *m = emsg(o);
  cr_expect_not_null(strstr(m, "prod-1 (HTTP 503, overloaded)"), "%s", m);
  cr_expect_not_null(strstr(m, "prod-\"2\" (timeout)"), "%s", m);
  cr_expect_not_null(strstr(m, "backup (HTTP 529)"), "%s", m);
  cr_expect_not_null(strstr(m, "6 attempts"), "%s", m);
  cr_expect_not_null(strstr(m, "120.5 s"), "%s", m);
  cr_expect_not_null(strstr(m, "dead letter 18c2f0"), "%s", m);
  json_decref(o);
  n = qcc_queue_expired_json(NULL, 0, 1, 0, NULL, buf, sizeof(buf));
  o = parse(buf, n);
  cr_expect_not_null(strstr(emsg(o), "no endpoint"));
  cr_expect_not_null(strstr(emsg(o), "1 attempt "));
  json_decref(o);
}
