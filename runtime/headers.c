#include "headers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

bool qcc_hdr_is_hop_by_hop(const char *name, size_t len) {
  /* by length first: every request and response header comes through here,
   * and most (x-stainless-*, anthropic-*) match no length below */
  switch (len) {
  case 2: return strncasecmp(name, "te", 2) == 0;
  case 7: return strncasecmp(name, "trailer", 7) == 0 || strncasecmp(name, "upgrade", 7) == 0;
  case 10: return strncasecmp(name, "connection", 10) == 0 || strncasecmp(name, "keep-alive", 10) == 0;
  case 14:
    if (strncasecmp(name, "http2-settings", 14) == 0) return true;
    break;
  case 17:
    if (strncasecmp(name, "transfer-encoding", 17) == 0) return true;
    break;
  default: break;
  }
  /* Proxy-Connection, Proxy-Authorization, Proxy-Authenticate, ... */
  return len >= 6 && (name[0] | 0x20) == 'p' && strncasecmp(name, "proxy-", 6) == 0;
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Does the comma-separated token list V contain NAME? */
static bool list_has(const char *v, size_t vlen, const char *name, size_t len) {
  size_t i = 0;
  while (i < vlen) {
    while (i < vlen && (is_ows(v[i]) || v[i] == ',')) i++;
    size_t start = i;
    while (i < vlen && v[i] != ',') i++;
    size_t end = i;
    while (end > start && is_ows(v[end - 1])) end--;
    if (end - start == len && len > 0 && strncasecmp(v + start, name, len) == 0) return true;
  }
  return false;
}

bool qcc_hdr_value_has_token(const struct qcc_header *h, const char *token) {
  return list_has(h->value, h->value_len, token, strlen(token));
}

bool qcc_hdr_connection_names_more(const struct qcc_header *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!qcc_hdr_name_is(h[i].name, h[i].name_len, "connection")) continue;
    const char *v = h[i].value;
    size_t vlen = h[i].value_len, k = 0;
    while (k < vlen) {
      while (k < vlen && (is_ows(v[k]) || v[k] == ',')) k++;
      size_t start = k;
      while (k < vlen && v[k] != ',') k++;
      size_t end = k;
      while (end > start && is_ows(v[end - 1])) end--;
      if (end > start && !qcc_hdr_is_hop_by_hop(v + start, end - start)) return true;
    }
  }
  return false;
}

bool qcc_hdr_named_by_connection(const struct qcc_header *h, size_t n, const char *name,
                                 size_t len) {
  for (size_t i = 0; i < n; i++)
    if (qcc_hdr_name_is(h[i].name, h[i].name_len, "connection") &&
        list_has(h[i].value, h[i].value_len, name, len))
      return true;
  return false;
}

/* Bytes a forwarded name may not hold: controls, space, ':' and DEL. */
static const unsigned char bad_in_name[256] = {[0 ... ' '] = 1, [':'] = 1, [0x7f] = 1};

/* CR, LF or NUL in S: every header value of every request goes through here,
 * so the common byte (above CR) costs one comparison, and 16 of them a few
 * instructions where SSE2 is there (any byte <= CR sends the block to the
 * exact test). */
static bool has_crlf_nul(const char *s, size_t n) {
  size_t i = 0;
#ifdef __SSE2__
  const __m128i cr = _mm_set1_epi8('\r');
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    /* min(v, CR) == v exactly where the byte is <= CR (unsigned) */
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, cr), v)) == 0) continue;
    for (size_t k = i; k < i + 16; k++) {
      unsigned char c = (unsigned char)s[k];
      if (c == '\r' || c == '\n' || c == '\0') return true;
    }
  }
#endif
  for (; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= '\r' && (c == '\r' || c == '\n' || c == '\0')) return true;
  }
  return false;
}

bool qcc_hdr_is_unsafe(const struct qcc_header *h) {
  if (h->name == NULL || h->name_len == 0) return true;
  for (size_t i = 0; i < h->name_len; i++)
    if (bad_in_name[(unsigned char)h->name[i]]) return true;
  if (h->value == NULL && h->value_len > 0) return true;
  return has_crlf_nul(h->value, h->value_len);
}

static bool hop(const struct qcc_header *all, size_t n, const struct qcc_header *h) {
  return qcc_hdr_is_hop_by_hop(h->name, h->name_len) ||
         qcc_hdr_named_by_connection(all, n, h->name, h->name_len);
}

bool qcc_hdr_drop_request(const struct qcc_header *all, size_t n, const struct qcc_header *h) {
  static const char *const own[] = {"x-api-key", "authorization", "host", "content-length",
                                    "expect"};
  if (qcc_hdr_is_unsafe(h)) return true;
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    if (qcc_hdr_name_is(h->name, h->name_len, own[i])) return true;
  return hop(all, n, h);
}

bool qcc_hdr_drop_response(const struct qcc_header *all, size_t n, const struct qcc_header *h) {
  if (qcc_hdr_is_unsafe(h)) return true;
  if (qcc_hdr_name_is(h->name, h->name_len, "content-length")) return true;
  return hop(all, n, h);
}

int qcc_hdr_auth_line(enum qcc_auth_style style, const char *key, char *buf, size_t cap) {
  int n;
  switch (style) {
  case QCC_AUTH_X_API_KEY: n = snprintf(buf, cap, "x-api-key: %s", key); break;
  case QCC_AUTH_BEARER: n = snprintf(buf, cap, "Authorization: Bearer %s", key); break;
  default: return -1;
  }
  if (n < 0 || (size_t)n >= cap) return -1;
  return n;
}

int qcc_hdr_line(const struct qcc_header *h, char *buf, size_t cap) {
  /* name + ": " + value + NUL */
  size_t need = h->name_len + 2 + h->value_len + 1;
  if (need > cap) return -1;
  memcpy(buf, h->name, h->name_len);
  size_t at = h->name_len;
  if (h->value_len == 0) {
    buf[at++] = ';';
  } else {
    buf[at++] = ':';
    buf[at++] = ' ';
    memcpy(buf + at, h->value, h->value_len);
    at += h->value_len;
  }
  buf[at] = '\0';
  return (int)at;
}

int qcc_hdr_parse_line(const char *line, size_t len, struct qcc_header *out) {
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  if (len == 0) return 0;
  /* A bare CR/LF/NUL left inside the line could split the head we write to
   * the client: refuse the line rather than trim around it. */
  if (has_crlf_nul(line, len)) return -1;
  const char *colon = memchr(line, ':', len);
  if (colon == NULL || colon == line || is_ows(line[0])) return -1;
  size_t nlen = (size_t)(colon - line);
  for (size_t i = 0; i < nlen; i++)
    if (is_ows(line[i])) return -1;
  size_t v = nlen + 1;
  while (v < len && is_ows(line[v])) v++;
  size_t end = len;
  while (end > v && is_ows(line[end - 1])) end--;
  out->name = line;
  out->name_len = nlen;
  out->value = line + v;
  out->value_len = end - v;
  return 1;
}

bool qcc_hdr_next(const char *buf, size_t len, size_t *at, struct qcc_header *out) {
  while (*at < len) {
    const char *line = buf + *at;
    const char *nl = memchr(line, '\n', len - *at);
    size_t n = nl != NULL ? (size_t)(nl - line) + 1 : len - *at;
    *at += n;
    if (qcc_hdr_parse_line(line, n, out) == 1) return true;
  }
  return false;
}

int64_t qcc_hdr_content_length(const struct qcc_header *h) {
  if (h->value_len == 0 || h->value_len > 18) return -1;
  int64_t v = 0;
  for (size_t k = 0; k < h->value_len; k++) {
    if (h->value[k] < '0' || h->value[k] > '9') return -1;
    v = v * 10 + (h->value[k] - '0');
  }
  return v;
}

int qcc_hdr_parse_status(const char *line, size_t len) {
  if (len < 5 || memcmp(line, "HTTP/", 5) != 0) return -1;
  size_t i = 5;
  while (i < len && line[i] != ' ') i++;
  while (i < len && line[i] == ' ') i++;
  if (len - i < 3) return -1;
  int st = 0;
  for (size_t k = 0; k < 3; k++) {
    char c = line[i + k];
    if (c < '0' || c > '9') return -1;
    st = st * 10 + (c - '0');
  }
  if (i + 3 < len && line[i + 3] != ' ' && line[i + 3] != '\r' && line[i + 3] != '\n') return -1;
  if (st < 100) return -1;
  return st;
}
