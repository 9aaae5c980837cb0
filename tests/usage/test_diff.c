/* The capture against its pre-fast-path self (tests/usage/ref): random
 * inputs built from the pieces that steer it (SSE fields, event names, the
 * usage keys, nesting, escapes, numbers, CR), read in random splits, give the
 * same counts as the reference read in one piece. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "runtime/usagecap.h"
#include "usagecap_ref.h"

static const char *const PIECES[] = {
    "event: ", "event:", "event: message_start\n", "event: message_delta\n",
    "event: content_block_delta\n", "event: ping\n", "event:  message_start\n",
    "event: message_start\r\n", "event: message_startx\n", "data: ", "data:", "\n", "\n\n", "\r",
    ": comment\n", "id: 1\n", "{", "}", "[", "]", ",", ":", " ", "\"", "\\", "\\\"", "\"type\"",
    "\"message\"", "\"usage\"", "\"cache_creation\"", "\"input_tokens\"", "\"output_tokens\"",
    "\"cache_creation_input_tokens\"", "\"cache_read_input_tokens\"",
    "\"ephemeral_5m_input_tokens\"", "\"ephemeral_1h_input_tokens\"",
    "\"a_key_that_is_much_longer_than_thirty_two_bytes\"", "\"us\\u0061ge\"", "0", "7", "12",
    "31337", "1099511627776", "1099511627777", "123456789012345678", "-1", "1.5", "2e3", "null",
    "true", "\"text\"", "message", "usage", "x", "\t", "\"input_tokens\":12,",
    "\"input_tokens\":", "\"output_tokens\":5", "\"cache_read_input_tokens\":7,",
    "\"cache_creation_input_tokens\":9,", "\"ephemeral_5m_input_tokens\":3,",
    "\"ephemeral_1h_input_tokens\":4", "\"cache_creation\":{", "\"usage\":{", "\"message\":{",
    "\"message\":", "\"content\":[{\"x\":\"}\\\"]\"}],", "}}\n\n",
    "event: content_block_delta\ndata: {\"text\":\"usage\"}\n\n",
    "event: content_block_delta\ndata: {}\n", "event: content_block_delta\ndata:\n\n",
};
#define NPIECES (sizeof PIECES / sizeof PIECES[0])

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng >> 32);
}

static size_t build(char *buf, size_t cap) {
  size_t n = 0, want = next() % 60;
  /* often a plausible start, so the deep paths are reached */
  if (next() % 2) {
    const char *s = next() % 2 ? "event: message_start\ndata: {\"message\":{\"usage\":{"
                               : "{\"usage\":{\"cache_creation\":{";
    memcpy(buf, s, strlen(s)), n = strlen(s);
  }
  for (size_t k = 0; k < want; k++) {
    const char *s = PIECES[next() % NPIECES];
    size_t l = strlen(s);
    if (n + l > cap) break;
    memcpy(buf + n, s, l), n += l;
  }
  return n;
}

static void check(enum qcc_usagecap_kind kind, const char *in, size_t len) {
  struct ref_usagecap r;
  ref_usagecap_begin(&r, kind == QCC_USAGECAP_SSE ? REF_USAGECAP_SSE : REF_USAGECAP_JSON);
  ref_usagecap_feed(&r, in, len);
  struct qcc_usage_tokens want, got;
  bool ws = ref_usagecap_result(&r, &want);
  struct qcc_usagecap c;
  qcc_usagecap_begin(&c, kind);
  size_t off = 0;
  while (off < len) {
    size_t m = next() % 4 == 0 ? len - off : 1 + next() % (len - off);
    qcc_usagecap_feed(&c, in + off, m);
    off += m;
  }
  bool gs = qcc_usagecap_result(&c, &got);
  if (gs != ws || memcmp(&got, &want, sizeof got) != 0) {
    cr_log_error("input (%zu bytes, kind %d): %.*s", len, kind, (int)len, in);
    cr_assert_fail("seen %d/%d in %lld/%lld out %lld/%lld 5m %lld/%lld 1h %lld/%lld cr %lld/%lld",
                   gs, ws, (long long)got.input, (long long)want.input, (long long)got.output,
                   (long long)want.output, (long long)got.cache_write_5m,
                   (long long)want.cache_write_5m, (long long)got.cache_write_1h,
                   (long long)want.cache_write_1h, (long long)got.cache_read,
                   (long long)want.cache_read);
  }
}

Test(usage_diff, random_inputs_random_splits_match_the_reference) {
  char buf[2048];
  int seen = 0;
  for (int k = 0; k < 200000; k++) {
    size_t n = build(buf, sizeof buf);
    enum qcc_usagecap_kind kind = next() % 3 == 0 ? QCC_USAGECAP_JSON : QCC_USAGECAP_SSE;
    check(kind, buf, n);
    struct ref_usagecap r;
    struct qcc_usage_tokens t;
    ref_usagecap_begin(&r, kind == QCC_USAGECAP_SSE ? REF_USAGECAP_SSE : REF_USAGECAP_JSON);
    ref_usagecap_feed(&r, buf, n);
    if (ref_usagecap_result(&r, &t) && t.input > 0) seen++;
  }
  /* the generator reaches counts, or the comparison proves little */
  cr_assert_gt(seen, 500, "%d inputs with counts", seen);
}

Test(usage_diff, corpus_split_at_every_byte_matches_the_reference) {
  static const char *const files[] = {"stream", "stream-crlf", "nameless", "json",
                                      "json-bad-numbers", "json-escapes", "fuzz-event-line-split",
                                      "event-names"};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[512], buf[8192];
    snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, files[f]);
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    cr_assert_gt(n, 2);
    for (int kind = QCC_USAGECAP_SSE; kind <= QCC_USAGECAP_JSON; kind++) {
      struct ref_usagecap r;
      struct qcc_usage_tokens want, got;
      ref_usagecap_begin(&r, kind);
      ref_usagecap_feed(&r, buf + 2, n - 2);
      bool ws = ref_usagecap_result(&r, &want);
      for (size_t cut = 0; cut <= n - 2; cut++) {
        struct qcc_usagecap c;
        qcc_usagecap_begin(&c, kind);
        qcc_usagecap_feed(&c, buf + 2, cut);
        qcc_usagecap_feed(&c, buf + 2 + cut, n - 2 - cut);
        bool gs = qcc_usagecap_result(&c, &got);
        cr_assert(gs == ws && memcmp(&got, &want, sizeof got) == 0, "%s kind %d cut %zu", files[f],
                  kind, cut);
      }
    }
  }
}
