/* Fuzz target: the upstream response head as qcc-run's upstream side sees it
 * (runtime/headers.c): curl hands over one header line at a time, the first
 * is the status line, the rest are parsed into name/value pairs, and the
 * forwarding rules decide which of them reach the client. Any bytes must be
 * parsed without a fault, and no header that could break the client side's
 * framing (hop-by-hop, Content-Length, CR/LF/NUL) may ever be forwarded.
 * The same lines are also run through the request-side rule, since a
 * client's request headers are outside bytes too, and through the exchange's
 * reader of the head (runtime/uphead.c): whatever it forwards must pass the
 * same rules, and its hints must stay in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/headers.h"
#include "runtime/uphead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 128

static bool ows(char c) { return c == ' ' || c == '\t'; }

static void check_parsed(const char *line, size_t len, const struct qcc_header *h) {
  if (h->name != line || h->name_len == 0 || h->name_len >= len) __builtin_trap();
  if (h->value < line + h->name_len + 1 || h->value + h->value_len > line + len) __builtin_trap();
  if (memchr(h->name, ':', h->name_len) != NULL) __builtin_trap();
  for (size_t i = 0; i < h->name_len; i++)
    if (ows(h->name[i])) __builtin_trap();
  if (h->value_len > 0 && (ows(h->value[0]) || ows(h->value[h->value_len - 1])))
    __builtin_trap();
  /* A value may still end in CR ("v\r\t \r\n" gives "v\r"): is_unsafe must drop it (below). */
}

/* "Name: value" / "Name;" exactly, or -1 when it does not fit. */
static void check_line(const struct qcc_header *h) {
  char buf[512];
  int n = qcc_hdr_line(h, buf, sizeof buf);
  size_t want = h->name_len + (h->value_len == 0 ? 1 : 2 + h->value_len);
  if (want + 1 > sizeof buf) {
    if (n != -1) __builtin_trap();
    return;
  }
  if (n < 0 || (size_t)n != want || buf[n] != '\0') __builtin_trap();
  if (memcmp(buf, h->name, h->name_len) != 0) __builtin_trap();
  if (h->value_len > 0 && memcmp(buf + h->name_len + 2, h->value, h->value_len) != 0)
    __builtin_trap();
}

static bool framing_name(const struct qcc_header *h) {
  static const char *const names[] = {"content-length", "transfer-encoding", "connection",
                                      "keep-alive", "upgrade", "te", "trailer"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (h->name_len == strlen(names[i]) && strncasecmp(h->name, names[i], h->name_len) == 0)
      return true;
  return false;
}

static bool has_unsafe_byte(const struct qcc_header *h) {
  for (size_t i = 0; i < h->value_len; i++)
    if (h->value[i] == '\r' || h->value[i] == '\n' || h->value[i] == '\0') return true;
  for (size_t i = 0; i < h->name_len; i++)
    if ((unsigned char)h->name[i] <= ' ' || h->name[i] == ':') return true;
  return false;
}

/* The lines through qcc_uphead, as the exchange reads them. */
static void check_uphead(const char *p, size_t size) {
  struct qcc_uphead u = {0};
  size_t off = 0;
  enum qcc_uphead_step st = QCC_UPHEAD_MORE;
  while (off < size && st == QCC_UPHEAD_MORE) {
    const char *nl = memchr(p + off, '\n', size - off);
    size_t len = nl != NULL ? (size_t)(nl - (p + off)) + 1 : size - off;
    st = qcc_uphead_feed(&u, p + off, len);
    off += len;
  }
  if (u.len > QCC_UPHEAD_MAX) __builtin_trap();
  if (st == QCC_UPHEAD_END && (!u.done || u.status < 200 || u.status > 999)) __builtin_trap();
  uint32_t ra = 0, rs = 0;
  qcc_uphead_rest_hints(&u, &ra, &rs);
  if (ra > 999999999u) __builtin_trap();
  struct qcc_header *fw = NULL;
  size_t n = 0;
  int64_t clen = 0;
  if (qcc_uphead_forward(&u, false, &fw, &n, &clen) == 0) {
    if (clen < -1) __builtin_trap();
    for (size_t i = 0; i < n; i++)
      if (qcc_hdr_is_unsafe(&fw[i]) || framing_name(&fw[i]) ||
          qcc_hdr_is_hop_by_hop(fw[i].name, fw[i].name_len))
        __builtin_trap();
    free(fw);
  }
  qcc_uphead_clear(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  check_uphead(p, size);
  struct qcc_header hs[MAX_HEADERS];
  size_t n = 0;
  bool first = true;
  size_t off = 0;
  while (off < size) {
    /* One line as curl's header callback gets it: up to and including LF. */
    const char *nl = memchr(p + off, '\n', size - off);
    size_t len = nl != NULL ? (size_t)(nl - (p + off)) + 1 : size - off;
    const char *line = p + off;
    off += len;
    if (first) {
      first = false;
      int st = qcc_hdr_parse_status(line, len);
      if (st != -1 && (st < 100 || st > 999)) __builtin_trap();
      if (st != -1 && (len < 5 || memcmp(line, "HTTP/", 5) != 0)) __builtin_trap();
      continue;
    }
    struct qcc_header h = {0};
    int rc = qcc_hdr_parse_line(line, len, &h);
    if (rc == 0) {
      /* Only an empty line (CR/LF alone) ends a block. */
      for (size_t i = 0; i < len; i++)
        if (line[i] != '\r' && line[i] != '\n') __builtin_trap();
      first = true; /* a new head follows (100 Continue, redirects) */
      continue;
    }
    if (rc != 1) {
      if (rc != -1) __builtin_trap();
      continue;
    }
    check_parsed(line, len, &h);
    check_line(&h);
    if (n < MAX_HEADERS) hs[n++] = h;
  }
  for (size_t i = 0; i < n; i++) {
    const struct qcc_header *h = &hs[i];
    bool unsafe = qcc_hdr_is_unsafe(h);
    if (has_unsafe_byte(h) && !unsafe) __builtin_trap();
    bool drop = qcc_hdr_drop_response(hs, n, h);
    /* What reaches the client can neither reframe nor inject. */
    if (!drop && (unsafe || framing_name(h) || qcc_hdr_is_hop_by_hop(h->name, h->name_len)))
      __builtin_trap();
    if (!drop && qcc_hdr_named_by_connection(hs, n, h->name, h->name_len)) __builtin_trap();
    bool drop_req = qcc_hdr_drop_request(hs, n, h);
    /* Credentials and framing never go upstream from the client. */
    if (!drop_req && (unsafe || qcc_hdr_name_is(h->name, h->name_len, "x-api-key") ||
                      qcc_hdr_name_is(h->name, h->name_len, "authorization") ||
                      qcc_hdr_name_is(h->name, h->name_len, "content-length") ||
                      qcc_hdr_name_is(h->name, h->name_len, "transfer-encoding")))
      __builtin_trap();
  }
  return 0;
}
