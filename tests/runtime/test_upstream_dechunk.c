/* runtime/dechunk.c: chunked framing decoded the same however the bytes
 * are split across reads, and anything that is not chunked framing refused. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dechunk.h"

struct result {
  enum qcc_dechunk_status st;
  char out[4096];
  size_t len;
};

/* Feed IN in pieces of at most STEP bytes (0 = whole); stop at END/ERROR. */
static struct result feed(const char *in, size_t len, size_t step) {
  struct result r = {.st = QCC_DECHUNK_MORE};
  struct qcc_dechunk d;
  qcc_dechunk_init(&d);
  size_t at = 0;
  while (at < len && r.st == QCC_DECHUNK_MORE) {
    size_t n = step == 0 || len - at < step ? len - at : step;
    char buf[4096];
    size_t got = 0;
    r.st = qcc_dechunk_feed(&d, in + at, n, buf, &got);
    cr_assert(got <= n, "decoding grew: %zu from %zu", got, n);
    memcpy(r.out + r.len, buf, got);
    r.len += got;
    at += n;
  }
  return r;
}

static const char sse[] =
    "16\r\nevent: ping\ndata: {}\n\n\r\n"
    "18\r\nevent: x\ndata: {\"a\":1}\n\n\r\n"
    "0\r\n\r\n";
static const char sse_body[] = "event: ping\ndata: {}\n\n" "event: x\ndata: {\"a\":1}\n\n";

Test(dechunk, whole_body_in_one_read) {
  struct result r = feed(sse, sizeof sse - 1, 0);
  cr_assert_eq(r.st, QCC_DECHUNK_END);
  cr_assert_eq(r.len, sizeof sse_body - 1);
  cr_assert(memcmp(r.out, sse_body, r.len) == 0);
}

Test(dechunk, every_split_gives_the_same_body) {
  for (size_t step = 1; step < sizeof sse; step++) {
    struct result r = feed(sse, sizeof sse - 1, step);
    cr_assert_eq(r.st, QCC_DECHUNK_END, "step %zu", step);
    cr_assert_eq(r.len, sizeof sse_body - 1, "step %zu", step);
    cr_assert(memcmp(r.out, sse_body, r.len) == 0, "step %zu", step);
  }
}

Test(dechunk, two_reads_split_at_every_offset) {
  for (size_t cut = 0; cut <= sizeof sse - 1; cut++) {
    struct qcc_dechunk d;
    qcc_dechunk_init(&d);
    char out[256];
    size_t a = 0, b = 0;
    enum qcc_dechunk_status s1 = qcc_dechunk_feed(&d, sse, cut, out, &a);
    cr_assert_eq(s1, cut == sizeof sse - 1 ? QCC_DECHUNK_END : QCC_DECHUNK_MORE, "cut %zu", cut);
    enum qcc_dechunk_status s2 =
        qcc_dechunk_feed(&d, sse + cut, sizeof sse - 1 - cut, out + a, &b);
    cr_assert_eq(s2, QCC_DECHUNK_END, "cut %zu", cut);
    cr_assert_eq(a + b, sizeof sse_body - 1, "cut %zu", cut);
    cr_assert(memcmp(out, sse_body, a + b) == 0, "cut %zu", cut);
  }
}

Test(dechunk, extensions_trailers_and_bare_lf) {
  static const char in[] = "5;name=\"v\" \r\nhello\r\n3\nabc\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
  struct result r = feed(in, sizeof in - 1, 0);
  cr_assert_eq(r.st, QCC_DECHUNK_END);
  cr_assert_eq(r.len, 8);
  cr_assert(memcmp(r.out, "helloabc", 8) == 0);
  r = feed(in, sizeof in - 1, 1);
  cr_assert_eq(r.st, QCC_DECHUNK_END);
  cr_assert(r.len == 8 && memcmp(r.out, "helloabc", 8) == 0);
}

Test(dechunk, leading_zeros_and_bytes_after_the_end) {
  static const char in[] = "0004\r\nabcd\r\n00A\r\n0123456789\r\n0\r\n\r\ngarbage after the end";
  struct result r = feed(in, sizeof in - 1, 0);
  cr_assert_eq(r.st, QCC_DECHUNK_END);
  cr_assert(r.len == 14 && memcmp(r.out, "abcd0123456789", 14) == 0);
}

Test(dechunk, framing_only_read_gives_no_bytes) {
  struct qcc_dechunk d;
  qcc_dechunk_init(&d);
  char out[16];
  size_t n = 99;
  cr_assert_eq(qcc_dechunk_feed(&d, "a\r\n", 3, out, &n), QCC_DECHUNK_MORE);
  cr_assert_eq(n, 0);
  cr_assert_eq(qcc_dechunk_feed(&d, "0123456789", 10, out, &n), QCC_DECHUNK_MORE);
  cr_assert_eq(n, 10);
  cr_assert_eq(qcc_dechunk_feed(&d, "\r\n", 2, out, &n), QCC_DECHUNK_MORE);
  cr_assert_eq(n, 0);
}

Test(dechunk, not_chunked_framing_is_refused) {
  static const char *const bad[] = {
      "zz\r\n",                              /* not hex */
      "\r\n",                                /* no size */
      "3\r\nabcX\r\n",                       /* data not followed by CRLF */
      "3\r\nabc\rX",                         /* CR without LF */
      "11111111111111111\r\n",               /* 17 hex digits: over 64 bits */
      "0\r\n\rX",                            /* final CRLF broken */
      "2\r\nhi\r\nq\r\n",                    /* second size not hex */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct result r = feed(bad[i], strlen(bad[i]), 0);
    cr_assert_eq(r.st, QCC_DECHUNK_ERROR, "case %zu: %s", i, bad[i]);
    r = feed(bad[i], strlen(bad[i]), 1);
    cr_assert_eq(r.st, QCC_DECHUNK_ERROR, "case %zu byte-wise", i);
  }
}

Test(dechunk, long_extension_and_trailer_lines_are_bounded) {
  size_t n = QCC_DECHUNK_LINE_MAX + 16;
  char *in = malloc(n + 8);
  cr_assert_not_null(in);
  in[0] = '1';
  memset(in + 1, ';', n);
  struct result r = feed(in, n + 1, 0);
  cr_assert_eq(r.st, QCC_DECHUNK_ERROR);
  memcpy(in, "0\r\n", 3);
  memset(in + 3, 'x', n - 3);
  r = feed(in, n, 7);
  cr_assert_eq(r.st, QCC_DECHUNK_ERROR);
  free(in);
}
