/* runtime/sse.c: the event reader gives the same events (name, data)
 * however the upstream's bytes are split, at every offset, with every line
 * ending the format allows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "runtime/sse.h"

struct ev {
  char name[QCC_SSE_NAME_MAX + 1];
  char data[QCC_SSE_DATA_MAX + 1];
};

struct events {
  struct ev e[16];
  size_t n;
};

/* Feed IN split at CUT (0 = whole), collecting every event. */
static struct events read_all(const char *in, size_t len, size_t cut) {
  struct events out = {0};
  struct qcc_sse s;
  qcc_sse_init(&s);
  size_t parts[2] = {cut, len - cut};
  const char *p = in;
  for (int k = 0; k < 2; k++) {
    size_t left = parts[k];
    while (left > 0) {
      size_t used = 0;
      enum qcc_sse_status st = qcc_sse_feed(&s, p, left, &used);
      cr_assert(used <= left);
      p += used;
      left -= used;
      if (st == QCC_SSE_EVENT) {
        cr_assert(out.n < 16);
        snprintf(out.e[out.n].name, sizeof out.e[0].name, "%s", s.name);
        snprintf(out.e[out.n].data, sizeof out.e[0].data, "%s", s.data);
        out.n++;
      } else {
        cr_assert_eq(left, 0, "MORE must read everything");
      }
    }
  }
  return out;
}

/* Every split of IN gives the events of the whole. */
static struct events every_split(const char *in) {
  size_t len = strlen(in);
  struct events whole = read_all(in, len, 0);
  for (size_t cut = 1; cut < len; cut++) {
    struct events e = read_all(in, len, cut);
    cr_assert_eq(e.n, whole.n, "split at %zu: %zu events, whole %zu", cut, e.n, whole.n);
    for (size_t i = 0; i < e.n; i++) {
      cr_assert_str_eq(e.e[i].name, whole.e[i].name, "split at %zu, event %zu", cut, i);
      cr_assert_str_eq(e.e[i].data, whole.e[i].data, "split at %zu, event %zu", cut, i);
    }
  }
  return whole;
}

static const char anthropic[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n";

Test(sse, anthropic_stream_at_every_split) {
  struct events e = every_split(anthropic);
  cr_assert_eq(e.n, 4);
  cr_assert_str_eq(e.e[0].name, "message_start");
  cr_assert_str_eq(e.e[1].name, "content_block_start");
  cr_assert_str_eq(e.e[2].name, "ping");
  cr_assert_str_eq(e.e[3].name, "content_block_delta");
  cr_assert_str_eq(e.e[2].data, "{\"type\": \"ping\"}");
}

Test(sse, crlf_and_lone_cr_line_ends) {
  struct events a = every_split("event: error\r\ndata: {\"x\":1}\r\n\r\nevent: ping\rdata: 2\r\r");
  cr_assert_eq(a.n, 2);
  cr_assert_str_eq(a.e[0].name, "error");
  cr_assert_str_eq(a.e[0].data, "{\"x\":1}");
  cr_assert_str_eq(a.e[1].name, "ping");
  cr_assert_str_eq(a.e[1].data, "2");
}

Test(sse, comments_unknown_fields_and_blank_lines_are_not_events) {
  struct events e = every_split(": keep-alive\n\n\nid: 7\nretry: 10\n\nevent:ping\ndata:x\n\n");
  cr_assert_eq(e.n, 1);
  cr_assert_str_eq(e.e[0].name, "ping"); /* no space after the colon is fine */
  cr_assert_str_eq(e.e[0].data, "x");
}

Test(sse, multi_line_data_joined_with_lf_and_one_space_dropped) {
  struct events e = every_split("data:  a\ndata\ndata: b\n\n");
  cr_assert_eq(e.n, 1);
  cr_assert_str_eq(e.e[0].name, "");
  cr_assert_str_eq(e.e[0].data, " a\n\nb");
}

Test(sse, next_event_starts_empty) {
  struct events e = every_split("event: error\ndata: 1\n\ndata: 2\n\n");
  cr_assert_eq(e.n, 2);
  cr_assert_str_eq(e.e[0].name, "error");
  cr_assert_str_eq(e.e[1].name, "", "the name does not carry over");
  cr_assert_str_eq(e.e[1].data, "2");
}

Test(sse, long_name_and_data_are_cut_not_errors) {
  char in[3000];
  char big[1200];
  memset(big, 'd', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  snprintf(in, sizeof in, "event: %s\ndata: %s\n\nevent: ping\ndata: x\n\n", big, big);
  struct qcc_sse s;
  qcc_sse_init(&s);
  size_t used = 0;
  cr_assert_eq(qcc_sse_feed(&s, in, strlen(in), &used), QCC_SSE_EVENT);
  cr_assert(s.name_cut && s.data_cut);
  cr_assert_eq(s.name_len, QCC_SSE_NAME_MAX);
  cr_assert_eq(s.data_len, QCC_SSE_DATA_MAX);
  cr_assert(!qcc_sse_is(&s, "ping"));
  size_t used2 = 0;
  cr_assert_eq(qcc_sse_feed(&s, in + used, strlen(in) - used, &used2), QCC_SSE_EVENT);
  cr_assert(qcc_sse_is(&s, "ping"));
  cr_assert(!s.name_cut && !s.data_cut);
}

Test(sse, incomplete_event_is_not_returned) {
  struct qcc_sse s;
  qcc_sse_init(&s);
  size_t used = 0;
  const char *in = "event: content_block_delta\ndata: {}\n";
  cr_assert_eq(qcc_sse_feed(&s, in, strlen(in), &used), QCC_SSE_MORE);
  cr_assert_eq(used, strlen(in));
  cr_assert_eq(qcc_sse_feed(&s, "\n", 1, &used), QCC_SSE_EVENT);
  cr_assert(qcc_sse_is(&s, "content_block_delta"));
  cr_assert_eq(s.events, 1);
}
