/* The usage capture (runtime/usagecap.h): a real stream split at every byte
 * boundary, the cache split present and absent, JSON answers, malformed and
 * absurd numbers, content that looks like usage. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "runtime/usagecap.h"

/* An Anthropic stream as the API sends it (cache split present). */
static const char STREAM[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
    "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],"
    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,"
    "\"cache_creation_input_tokens\":2048,\"cache_read_input_tokens\":31337,"
    "\"cache_creation\":{\"ephemeral_5m_input_tokens\":2000,\"ephemeral_1h_input_tokens\":48},"
    "\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"\\\"usage\\\":{\\\"output_tokens\\\":999999} is what it says\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":15}}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"input_tokens\":13,\"output_tokens\":42}}\n"
    "\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n"
    "\n";

static struct qcc_usage_tokens run(enum qcc_usagecap_kind kind, const char *s, size_t len,
                                   bool *seen) {
  struct qcc_usagecap c;
  qcc_usagecap_begin(&c, kind);
  qcc_usagecap_feed(&c, s, len);
  struct qcc_usage_tokens t;
  *seen = qcc_usagecap_result(&c, &t);
  return t;
}

static void expect_tokens(struct qcc_usage_tokens t, int64_t in, int64_t out, int64_t w5, int64_t w1,
                          int64_t rd, const char *what) {
  cr_expect_eq(t.input, in, "%s: input %lld, want %lld", what, (long long)t.input, (long long)in);
  cr_expect_eq(t.output, out, "%s: output %lld, want %lld", what, (long long)t.output, (long long)out);
  cr_expect_eq(t.cache_write_5m, w5, "%s: 5m %lld, want %lld", what, (long long)t.cache_write_5m,
               (long long)w5);
  cr_expect_eq(t.cache_write_1h, w1, "%s: 1h %lld, want %lld", what, (long long)t.cache_write_1h,
               (long long)w1);
  cr_expect_eq(t.cache_read, rd, "%s: read %lld, want %lld", what, (long long)t.cache_read,
               (long long)rd);
}

Test(usage_capture, whole_stream) {
  bool seen;
  struct qcc_usage_tokens t = run(QCC_USAGECAP_SSE, STREAM, sizeof STREAM - 1, &seen);
  cr_assert(seen);
  /* the last message_delta wins; text that looks like usage is not usage */
  expect_tokens(t, 13, 42, 2000, 48, 31337, "whole");
}

Test(usage_capture, split_at_every_byte_boundary) {
  size_t n = sizeof STREAM - 1;
  for (size_t cut = 0; cut <= n; cut++) {
    struct qcc_usagecap c;
    qcc_usagecap_begin(&c, QCC_USAGECAP_SSE);
    qcc_usagecap_feed(&c, STREAM, cut);
    qcc_usagecap_feed(&c, STREAM + cut, n - cut);
    struct qcc_usage_tokens t;
    cr_assert(qcc_usagecap_result(&c, &t), "cut %zu: no usage", cut);
    char what[32];
    snprintf(what, sizeof what, "cut at %zu", cut);
    expect_tokens(t, 13, 42, 2000, 48, 31337, what);
  }
  /* and one byte at a time */
  struct qcc_usagecap c;
  qcc_usagecap_begin(&c, QCC_USAGECAP_SSE);
  for (size_t i = 0; i < n; i++) qcc_usagecap_feed(&c, STREAM + i, 1);
  struct qcc_usage_tokens t;
  cr_assert(qcc_usagecap_result(&c, &t));
  expect_tokens(t, 13, 42, 2000, 48, 31337, "bytewise");
}

Test(usage_capture, crlf_stream) {
  char buf[sizeof STREAM * 2];
  size_t k = 0;
  for (const char *p = STREAM; *p; p++) {
    if (*p == '\n') buf[k++] = '\r';
    buf[k++] = *p;
  }
  bool seen;
  struct qcc_usage_tokens t = run(QCC_USAGECAP_SSE, buf, k, &seen);
  cr_assert(seen);
  expect_tokens(t, 13, 42, 2000, 48, 31337, "crlf");
}

Test(usage_capture, no_cache_split_counts_all_writes_as_5m) {
  const char s[] = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
                   "{\"input_tokens\":5,\"cache_creation_input_tokens\":700,\"cache_read_input_tokens\":9,"
                   "\"output_tokens\":1}}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\","
                   "\"usage\":{\"output_tokens\":3}}\n\n";
  bool seen;
  expect_tokens(run(QCC_USAGECAP_SSE, s, sizeof s - 1, &seen), 5, 3, 700, 0, 9, "no split");
  cr_expect(seen);
}

Test(usage_capture, stream_cut_after_start_keeps_what_arrived) {
  const char *end = strstr(STREAM, "event: content_block_delta");
  bool seen;
  expect_tokens(run(QCC_USAGECAP_SSE, STREAM, (size_t)(end - STREAM), &seen), 12, 1, 2000, 48,
                31337, "cut");
  cr_expect(seen);
}

Test(usage_capture, events_without_names_are_read) {
  const char s[] = "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7,"
                   "\"output_tokens\":1}}}\n\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":8}}\n\n";
  bool seen;
  expect_tokens(run(QCC_USAGECAP_SSE, s, sizeof s - 1, &seen), 7, 8, 0, 0, 0, "nameless");
}

Test(usage_capture, json_answer_top_level_usage_only) {
  const char s[] = "{\"id\":\"msg\",\"content\":[{\"type\":\"tool_use\",\"input\":{\"usage\":"
                   "{\"input_tokens\":5555}}}],\"usage\":{\"input_tokens\":21,"
                   "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4,\"output_tokens\":77}}";
  size_t n = sizeof s - 1;
  for (size_t cut = 0; cut <= n; cut++) {
    struct qcc_usagecap c;
    qcc_usagecap_begin(&c, QCC_USAGECAP_JSON);
    qcc_usagecap_feed(&c, s, cut);
    qcc_usagecap_feed(&c, s + cut, n - cut);
    struct qcc_usage_tokens t;
    cr_assert(qcc_usagecap_result(&c, &t));
    expect_tokens(t, 21, 77, 0, 0, 4, "json");
  }
}

Test(usage_capture, json_number_at_the_very_end) {
  const char s[] = "{\"usage\":{\"output_tokens\":5}, \"x\": 12";
  bool seen;
  struct qcc_usage_tokens t = run(QCC_USAGECAP_JSON, s, sizeof s - 1, &seen);
  cr_expect_eq(t.output, 5);
}

Test(usage_capture, malformed_and_absurd_numbers_are_unknown) {
  static const char *const bad[] = {"-5", "1.5", "1e3", "\"12\"", "null", "true", "{}", "[]",
                                    "1099511627777", "99999999999999999999", "-"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char s[256];
    int n = snprintf(s, sizeof s, "{\"usage\":{\"input_tokens\":%s,\"output_tokens\":3}}", bad[i]);
    bool seen;
    struct qcc_usage_tokens t = run(QCC_USAGECAP_JSON, s, (size_t)n, &seen);
    cr_expect(seen, "%s", bad[i]);
    cr_expect_eq(t.input, QCC_USAGE_UNKNOWN, "input %s -> %lld", bad[i], (long long)t.input);
    cr_expect_eq(t.output, 3, "the other kinds stay (%s)", bad[i]);
  }
  /* 2^40 itself is still a count */
  const char ok[] = "{\"usage\":{\"input_tokens\":1099511627776}}";
  bool seen;
  cr_expect_eq(run(QCC_USAGECAP_JSON, ok, sizeof ok - 1, &seen).input, INT64_C(1099511627776));
}

Test(usage_capture, no_usage_is_unknown) {
  static const char *const s[] = {"", "not json at all", "{\"type\":\"message\"}",
                                  "event: message_start\ndata: {\"message\":{}}\n\n", "[1,2,3]"};
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
    for (int kind = QCC_USAGECAP_SSE; kind <= QCC_USAGECAP_JSON; kind++) {
      bool seen = true;
      struct qcc_usage_tokens t = run((enum qcc_usagecap_kind)kind, s[i], strlen(s[i]), &seen);
      cr_expect(!seen);
      cr_expect_eq(t.input, QCC_USAGE_UNKNOWN);
      cr_expect_eq(t.output, QCC_USAGE_UNKNOWN);
      cr_expect_eq(t.cache_read, QCC_USAGE_UNKNOWN);
    }
  }
}

Test(usage_capture, off_reads_nothing) {
  bool seen;
  run(QCC_USAGECAP_OFF, STREAM, sizeof STREAM - 1, &seen);
  cr_expect(!seen);
}

Test(usage_capture, deep_nesting_and_long_keys_do_not_confuse) {
  char s[4096];
  size_t k = 0;
  k += (size_t)snprintf(s + k, sizeof s - k, "{\"a_very_long_key_name_that_is_longer_than_the_buffer_x\":");
  for (int i = 0; i < 100; i++) s[k++] = '[';
  for (int i = 0; i < 100; i++) s[k++] = ']';
  k += (size_t)snprintf(s + k, sizeof s - k, ",\"usage\":{\"input_tokens\":9,\"output_tokens\":2}}");
  bool seen;
  struct qcc_usage_tokens t = run(QCC_USAGECAP_JSON, s, k, &seen);
  cr_expect(seen);
  cr_expect_eq(t.input, 9);
  cr_expect_eq(t.output, 2);
}
