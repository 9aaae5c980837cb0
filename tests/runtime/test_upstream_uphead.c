/* runtime/uphead.c: the response head as curl hands it over, line by line:
 * 1xx blocks replaced, trailers ignored, the cap enforced, and what the
 * exchange reads from it (framing, type, length, rest hints, the headers
 * the client gets). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runtime/headers.h"
#include "runtime/uphead.h"

static enum qcc_uphead_step feed_all(struct qcc_uphead *h, const char *const *lines) {
  enum qcc_uphead_step st = QCC_UPHEAD_MORE;
  for (size_t i = 0; lines[i] != NULL; i++) st = qcc_uphead_feed(h, lines[i], strlen(lines[i]));
  return st;
}

Test(uphead, interim_block_replaced_and_final_block_read) {
  struct qcc_uphead h = {0};
  const char *lines[] = {"HTTP/1.1 103 Early Hints\r\n", "Link: </x>\r\n", "\r\n",
                         "HTTP/1.1 200 OK\r\n", "Content-Type: text/event-stream; charset=utf-8\r\n",
                         "Transfer-Encoding: chunked\r\n", "Connection: keep-alive\r\n",
                         "request-id: req_1\r\n", "\r\n", NULL};
  cr_assert_eq(feed_all(&h, lines), QCC_UPHEAD_END);
  cr_expect_eq(h.status, 200);
  cr_expect(h.done && h.chunked && h.is_sse && !h.is_json);
  cr_expect(strstr(h.buf, "Link") == NULL, "the 1xx block's lines stay");
  struct qcc_header *fw = NULL;
  size_t n = 0;
  int64_t clen = 5;
  cr_assert_eq(qcc_uphead_forward(&h, false, &fw, &n, &clen), 0);
  cr_expect_eq(clen, -1);
  cr_assert_eq(n, 2, "hop-by-hop dropped: %zu left", n);
  cr_expect(qcc_hdr_name_is(fw[0].name, fw[0].name_len, "content-type"));
  cr_expect(qcc_hdr_name_is(fw[1].name, fw[1].name_len, "request-id"));
  free(fw);
  /* trailers after the final block change nothing */
  cr_expect_eq(qcc_uphead_feed(&h, "x-trailer: 1\r\n", 14), QCC_UPHEAD_MORE);
  cr_expect(strstr(h.buf, "trailer") == NULL);
  qcc_uphead_clear(&h);
  cr_expect_null(h.buf);
}

Test(uphead, json_length_and_rest_hints) {
  struct qcc_uphead h = {0};
  char reset[64], line[128];
  time_t at = time(NULL) + 120;
  strftime(reset, sizeof reset, "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
  snprintf(line, sizeof line, "anthropic-ratelimit-tokens-reset: %s\r\n", reset);
  const char *lines[] = {"HTTP/2 429\r\n", "content-type: application/json\r\n",
                         "content-length: 120\r\n", "retry-after: 7\r\n",
                         "anthropic-ratelimit-tokens-remaining: 0\r\n", line,
                         "anthropic-ratelimit-requests-remaining: 5\r\n",
                         "anthropic-ratelimit-requests-reset: 2099-01-01T00:00:00Z\r\n",
                         "bad line without colon\r\n", "\r\n", NULL};
  cr_assert_eq(feed_all(&h, lines), QCC_UPHEAD_END);
  cr_expect(h.is_json && !h.is_sse && !h.chunked);
  cr_expect_eq(qcc_uphead_content_length(&h), 120);
  uint32_t ra = 0, rs = 0;
  qcc_uphead_rest_hints(&h, &ra, &rs);
  cr_expect_eq(ra, 7);
  cr_expect(rs >= 115 && rs <= 120, "reset in %u s", rs);
  struct qcc_header *fw = NULL;
  size_t n = 0;
  int64_t clen = -1;
  cr_assert_eq(qcc_uphead_forward(&h, false, &fw, &n, &clen), 0);
  cr_expect_eq(clen, 120);
  free(fw);
  cr_assert_eq(qcc_uphead_forward(&h, true, &fw, &n, &clen), 0);
  cr_expect_eq(clen, 0, "no body: length 0");
  free(fw);
  qcc_uphead_clear(&h);
}

Test(uphead, head_past_the_cap_is_refused) {
  struct qcc_uphead h = {0};
  cr_assert_eq(qcc_uphead_feed(&h, "HTTP/1.1 200 OK\r\n", 17), QCC_UPHEAD_MORE);
  char line[1024];
  memset(line, 'v', sizeof line);
  memcpy(line, "x-big: ", 7);
  line[sizeof line - 2] = '\r';
  line[sizeof line - 1] = '\n';
  enum qcc_uphead_step st = QCC_UPHEAD_MORE;
  size_t i = 0;
  for (; i < 100 && st == QCC_UPHEAD_MORE; i++) st = qcc_uphead_feed(&h, line, sizeof line);
  cr_expect_eq(st, QCC_UPHEAD_TOO_BIG);
  cr_expect(h.len <= QCC_UPHEAD_MAX);
  cr_expect_eq(i, QCC_UPHEAD_MAX / sizeof line + 1);
  qcc_uphead_clear(&h);
}
