/* runtime/headers.c: what goes upstream, what comes back, how keys are set. */
#include <criterion/criterion.h>
#include <string.h>

#include "runtime/headers.h"

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static bool drop_req(const struct qcc_header *all, size_t n, size_t i) {
  return qcc_hdr_drop_request(all, n, &all[i]);
}

Test(upstream_headers, hop_by_hop_list_case_insensitive) {
  const char *hop[] = {"Connection", "keep-alive", "TE", "Trailer", "transfer-ENCODING",
                       "Upgrade", "Proxy-Authorization", "proxy-connection", "HTTP2-Settings"};
  for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
    cr_expect(qcc_hdr_is_hop_by_hop(hop[i], strlen(hop[i])), "%s is hop-by-hop", hop[i]);
  const char *e2e[] = {"anthropic-version", "content-type", "Accept-Encoding", "TEX", "Proxy",
                       "x-connection"};
  for (size_t i = 0; i < sizeof e2e / sizeof e2e[0]; i++)
    cr_expect(!qcc_hdr_is_hop_by_hop(e2e[i], strlen(e2e[i])), "%s is end-to-end", e2e[i]);
}

Test(upstream_headers, request_drops_client_credentials_and_framing) {
  struct qcc_header h[] = {
      H("X-Api-Key", "client-secret"), H("authorization", "Bearer client"),
      H("Host", "127.0.0.1:7860"),     H("Content-Length", "12"),
      H("Expect", "100-continue"),     H("anthropic-version", "2023-06-01"),
      H("anthropic-beta", "x,y"),      H("Accept-Encoding", "gzip"),
      H("User-Agent", "claude-cli"),   H("content-type", "application/json"),
  };
  size_t n = sizeof h / sizeof h[0];
  for (size_t i = 0; i < 5; i++) cr_expect(drop_req(h, n, i), "%.*s dropped", (int)h[i].name_len, h[i].name);
  for (size_t i = 5; i < n; i++) cr_expect(!drop_req(h, n, i), "%.*s kept", (int)h[i].name_len, h[i].name);
}

Test(upstream_headers, connection_named_headers_are_hop_by_hop) {
  struct qcc_header h[] = {
      H("Connection", "keep-alive, X-Private ,x-other"),
      H("x-private", "1"),
      H("X-Other", "2"),
      H("X-Kept", "3"),
      H("connection", "close"),
  };
  size_t n = sizeof h / sizeof h[0];
  cr_expect(drop_req(h, n, 0));
  cr_expect(drop_req(h, n, 1));
  cr_expect(drop_req(h, n, 2));
  cr_expect(!drop_req(h, n, 3));
  cr_expect(qcc_hdr_drop_response(h, n, &h[1]));
  cr_expect(!qcc_hdr_drop_response(h, n, &h[3]));
  cr_expect(qcc_hdr_named_by_connection(h, n, "X-PRIVATE", 9));
  cr_expect(!qcc_hdr_named_by_connection(h, n, "X-Priv", 6));
}

Test(upstream_headers, response_keeps_end_to_end_drops_length_and_hops) {
  struct qcc_header h[] = {
      H("Content-Type", "text/event-stream"), H("Content-Encoding", "gzip"),
      H("request-id", "req_1"),               H("Content-Length", "10"),
      H("Transfer-Encoding", "chunked"),      H("Keep-Alive", "timeout=5"),
  };
  size_t n = sizeof h / sizeof h[0];
  for (size_t i = 0; i < 3; i++) cr_expect(!qcc_hdr_drop_response(h, n, &h[i]));
  for (size_t i = 3; i < n; i++) cr_expect(qcc_hdr_drop_response(h, n, &h[i]));
}

Test(upstream_headers, unsafe_names_and_values_dropped) {
  struct qcc_header h[] = {
      H("X-Evil", "a\r\nx-api-key: stolen"), H("Bad Name", "v"), H("", "v"), H("Ok", ""),
  };
  size_t n = sizeof h / sizeof h[0];
  cr_expect(drop_req(h, n, 0));
  cr_expect(drop_req(h, n, 1));
  cr_expect(drop_req(h, n, 2));
  cr_expect(!drop_req(h, n, 3));
}

Test(upstream_headers, auth_line_per_style) {
  char buf[128];
  int n = qcc_hdr_auth_line(QCC_AUTH_X_API_KEY, "sk-ant-1", buf, sizeof buf);
  cr_assert_eq(n, (int)strlen("x-api-key: sk-ant-1"));
  cr_expect_str_eq(buf, "x-api-key: sk-ant-1");
  n = qcc_hdr_auth_line(QCC_AUTH_BEARER, "tok", buf, sizeof buf);
  cr_expect_str_eq(buf, "Authorization: Bearer tok");
  cr_expect_eq(n, 25);
  cr_expect_eq(qcc_hdr_auth_line(QCC_AUTH_BEARER, "tok", buf, 10), -1);
  cr_expect_eq(qcc_hdr_auth_line((enum qcc_auth_style)7, "tok", buf, sizeof buf), -1);
}

Test(upstream_headers, header_line_forms) {
  char buf[64];
  struct qcc_header a = H("anthropic-beta", "tools-1");
  cr_expect_eq(qcc_hdr_line(&a, buf, sizeof buf), 23);
  cr_expect_str_eq(buf, "anthropic-beta: tools-1");
  struct qcc_header e = H("X-Empty", "");
  qcc_hdr_line(&e, buf, sizeof buf);
  cr_expect_str_eq(buf, "X-Empty;");
  cr_expect_eq(qcc_hdr_line(&a, buf, 10), -1);
}

Test(upstream_headers, parse_response_lines) {
  struct qcc_header h;
  const char *l = "Content-Type:  text/event-stream \r\n";
  cr_assert_eq(qcc_hdr_parse_line(l, strlen(l), &h), 1);
  cr_expect_eq(h.name_len, 12);
  cr_expect(strncmp(h.name, "Content-Type", 12) == 0);
  cr_expect_eq(h.value_len, strlen("text/event-stream"));
  cr_expect(strncmp(h.value, "text/event-stream", h.value_len) == 0);
  cr_expect_eq(qcc_hdr_parse_line("\r\n", 2, &h), 0);
  cr_expect_eq(qcc_hdr_parse_line("no colon\r\n", 10, &h), -1);
  cr_expect_eq(qcc_hdr_parse_line(" folded: x\r\n", 12, &h), -1);
  cr_expect_eq(qcc_hdr_parse_line("X-E:\r\n", 6, &h), 1);
  cr_expect_eq(h.value_len, 0);
  /* found by fuzz_upstream_head: a CR left inside the value is refused, not trimmed around */
  cr_expect_eq(qcc_hdr_parse_line("X: v\r\t \r\n", 9, &h), -1);
  cr_expect_eq(qcc_hdr_parse_line("X: a\rb\r\n", 8, &h), -1);
}

Test(upstream_headers, parse_status_lines) {
  const char *a = "HTTP/1.1 200 OK\r\n";
  cr_expect_eq(qcc_hdr_parse_status(a, strlen(a)), 200);
  const char *b = "HTTP/2 529 \r\n";
  cr_expect_eq(qcc_hdr_parse_status(b, strlen(b)), 529);
  const char *c = "HTTP/1.1 100 Continue\r\n";
  cr_expect_eq(qcc_hdr_parse_status(c, strlen(c)), 100);
  const char *d = "Http-Thing: 200\r\n";
  cr_expect_eq(qcc_hdr_parse_status(d, strlen(d)), -1);
  const char *e = "HTTP/1.1 20x\r\n";
  cr_expect_eq(qcc_hdr_parse_status(e, strlen(e)), -1);
  const char *f = "HTTP/1.1 2000\r\n";
  cr_expect_eq(qcc_hdr_parse_status(f, strlen(f)), -1);
}

Test(upstream_headers, value_lists_a_token) {
  struct qcc_header te = H("Transfer-Encoding", "gzip, Chunked ");
  cr_expect(qcc_hdr_value_has_token(&te, "chunked"));
  cr_expect(qcc_hdr_value_has_token(&te, "gzip"));
  struct qcc_header near = H("Transfer-Encoding", "xchunked, chunkedx");
  cr_expect(!qcc_hdr_value_has_token(&near, "chunked"));
}

Test(upstream_headers, next_line_of_a_stored_head) {
  const char head[] = "content-type: text/event-stream\nbad line\n\nretry-after:  7 \nx:y";
  size_t at = 0;
  struct qcc_header h;
  const char *names[] = {"content-type", "retry-after", "x"};
  const char *values[] = {"text/event-stream", "7", "y"};
  for (size_t i = 0; i < 3; i++) {
    cr_assert(qcc_hdr_next(head, sizeof head - 1, &at, &h), "line %zu", i);
    cr_assert(qcc_hdr_name_is(h.name, h.name_len, names[i]));
    cr_assert_eq(h.value_len, strlen(values[i]));
    cr_assert_eq(memcmp(h.value, values[i], h.value_len), 0);
  }
  cr_assert(!qcc_hdr_next(head, sizeof head - 1, &at, &h));
  cr_assert_eq(at, sizeof head - 1);
}

Test(upstream_headers, content_length_values) {
  struct { const char *v; int64_t want; } cases[] = {
      {"0", 0}, {"1234", 1234}, {"999999999999999999", 999999999999999999LL},
      {"", -1}, {"1000000000000000000", -1}, {"12a", -1}, {"-1", -1}, {"1 2", -1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct qcc_header h = {.name = "content-length", .name_len = 14, .value = cases[i].v,
                           .value_len = strlen(cases[i].v)};
    cr_assert_eq(qcc_hdr_content_length(&h), cases[i].want, "%s", cases[i].v);
  }
}

/* The skip of the per-header Connection scan: only when every token a
 * Connection header lists is itself hop-by-hop may the scan be skipped. */
Test(upstream_headers, connection_names_more_than_hops) {
  const struct qcc_header ka[] = {H("Host", "x"), H("Connection", "keep-alive"), H("X-A", "1")};
  cr_expect(!qcc_hdr_connection_names_more(ka, 3));
  const struct qcc_header hops[] = {H("connection", " Keep-Alive , upgrade,TE ,,")};
  cr_expect(!qcc_hdr_connection_names_more(hops, 1));
  const struct qcc_header none[] = {H("X-A", "1")};
  cr_expect(!qcc_hdr_connection_names_more(none, 1));
  const struct qcc_header more[] = {H("Connection", "keep-alive, X-Private"), H("X-Private", "s")};
  cr_expect(qcc_hdr_connection_names_more(more, 2));
  cr_expect(drop_req(more, 2, 1), "the named header is still dropped");
  const struct qcc_header close_[] = {H("X-A", "1"), H("Connection", "close")};
  cr_expect(qcc_hdr_connection_names_more(close_, 2), "close is not a hop-by-hop header name");
}

/* CR, LF or NUL anywhere in a value (the 16-byte blocks, their edges and the
 * tail) makes it unsafe; bytes just above CR and just below do not mislead. */
Test(upstream_headers, unsafe_value_byte_at_every_offset) {
  char v[53];
  const char bad[] = {'\r', '\n', '\0'};
  for (size_t len = 1; len <= sizeof v; len++) {
    memset(v, 'a', sizeof v);
    struct qcc_header h = {"X-V", 3, v, len};
    cr_expect(!qcc_hdr_is_unsafe(&h), "clean value of %zu bytes", len);
    for (size_t at = 0; at < len; at++) {
      for (size_t b = 0; b < sizeof bad; b++) {
        memset(v, 'a', sizeof v);
        v[at] = bad[b];
        cr_expect(qcc_hdr_is_unsafe(&h), "byte %d at %zu of %zu", bad[b], at, len);
      }
      memset(v, 'a', sizeof v);
      v[at] = '\t'; /* below CR, allowed in a value */
      if (at + 1 < len) v[at + 1] = 0x0e; /* just above CR */
      if (at + 2 < len) v[at + 2] = (char)0xff;
      cr_expect(!qcc_hdr_is_unsafe(&h), "tab/0x0e/0xff at %zu of %zu", at, len);
    }
  }
}
