#include "reqpath.h"

#include <string.h>

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* RFC 3986 2.3: these are the same character whether encoded or not. */
static bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

/* needs_work runs for every request: one table load per byte, and the
 * common byte (a letter, a digit, '-') is settled by that one test. */
enum { PLAIN = 0, WORK, QUERY, SLASH };
static const unsigned char byte_kind[256] = {
    ['%'] = WORK, ['\\'] = WORK, ['#'] = WORK, ['?'] = QUERY, ['/'] = SLASH};

bool qcc_reqpath_needs_work(const char *in, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char k = byte_kind[(unsigned char)in[i]];
    if (k == PLAIN) continue;
    if (k == WORK) return true;
    if (k == QUERY) return memchr(in + i, '#', len - i) != NULL; /* a fragment to drop */
    if (i + 1 < len && in[i + 1] == '.') return true;
  }
  return false;
}

/* Is OUT[a..b) "." or ".." (after decoding)? 0 = no, else the dot count. */
static int dot_segment(const char *out, size_t a, size_t b) {
  size_t n = b - a;
  if (n == 1 && out[a] == '.') return 1;
  if (n == 2 && out[a] == '.' && out[a + 1] == '.') return 2;
  return 0;
}

/* ".;x" and "..;x" (';' raw or encoded, which OUT holds as "%3B"): Tomcat
 * and others drop path parameters before resolving dots, so these would
 * climb there; nothing legitimate looks like this. */
static bool dot_param(const char *out, size_t a, size_t b) {
  size_t d = 0;
  while (d < 2 && a + d < b && out[a + d] == '.') d++;
  if (d == 0) return false;
  a += d;
  return (a < b && out[a] == ';') || (b - a >= 3 && memcmp(out + a, "%3B", 3) == 0);
}

enum qcc_reqpath_status qcc_reqpath_normalize(const char *in, size_t len, char *out,
                                              size_t *out_len, bool *had_dots) {
  static const char hex[] = "0123456789ABCDEF";
  *out_len = 0;
  *had_dots = false;
  if (len == 0 || in[0] != '/') return QCC_REQPATH_NOT_ORIGIN;
  size_t end = len; /* end of the path */
  for (size_t i = 0; i < len; i++) {
    if (in[i] == '?' || in[i] == '#') {
      end = i;
      break;
    }
  }
  size_t w = 1, r = 1;
  out[0] = '/';
  /* Invariant: OUT[0..w) ends with '/' when a segment starts. */
  while (r <= end) {
    size_t seg = w;
    while (r < end && in[r] != '/') {
      unsigned char c = (unsigned char)in[r];
      if (c == '\\') return QCC_REQPATH_ENCODED_SEP;
      if (c != '%') {
        out[w++] = (char)c;
        r++;
        continue;
      }
      int hi = r + 2 < end ? hexval((unsigned char)in[r + 1]) : -1;
      int lo = hi >= 0 ? hexval((unsigned char)in[r + 2]) : -1;
      if (lo < 0) return QCC_REQPATH_BAD_ESCAPE;
      unsigned char v = (unsigned char)(hi * 16 + lo);
      /* A server that decodes before it splits would see a separator here. */
      if (v == '/' || v == '\\' || v == 0) return QCC_REQPATH_ENCODED_SEP;
      if (unreserved(v)) {
        out[w++] = (char)v;
      } else {
        out[w++] = '%';
        out[w++] = hex[v >> 4];
        out[w++] = hex[v & 15];
      }
      r += 3;
    }
    int dots = dot_segment(out, seg, w);
    if (dots == 0 && dot_param(out, seg, w)) return QCC_REQPATH_DOT_PARAM;
    if (dots > 0) {
      *had_dots = true;
      w = seg; /* "/a/." and "/a/./" both leave "/a/" */
      if (dots == 2 && w > 1) {
        w--; /* the '/' that ended the previous segment */
        while (w > 0 && out[w - 1] != '/') w--;
      }
    } else if (r < end) {
      out[w++] = '/';
    }
    r++; /* past the '/' (or past END, which ends the loop) */
  }
  /* The query as it came; a fragment is not part of a request target. */
  if (end < len && in[end] == '?') {
    size_t q = end;
    while (q < len && in[q] != '#') q++;
    memcpy(out + w, in + end, q - end);
    w += q - end;
  }
  out[w] = '\0';
  *out_len = w;
  return QCC_REQPATH_OK;
}

enum qcc_reqpath_status qcc_reqpath_check(const char *in, size_t len, char *out,
                                          size_t *out_len) {
  bool dots = false;
  enum qcc_reqpath_status st = qcc_reqpath_normalize(in, len, out, out_len, &dots);
  if (st == QCC_REQPATH_OK && dots && !(*out_len >= 4 && memcmp(out, "/v1/", 4) == 0))
    return QCC_REQPATH_LEAVES_V1;
  return st;
}

const char *qcc_reqpath_reason(enum qcc_reqpath_status st) {
  switch (st) {
  case QCC_REQPATH_OK: return "ok";
  case QCC_REQPATH_BAD_ESCAPE: return "malformed percent-encoding in the request path";
  case QCC_REQPATH_ENCODED_SEP:
    return "an encoded '/' or '\\', a %00 or a '\\' in the request path is refused";
  case QCC_REQPATH_DOT_PARAM: return "a '.;' or '..;' path segment is refused";
  case QCC_REQPATH_NOT_ORIGIN: return "the request target must start with /";
  case QCC_REQPATH_LEAVES_V1: return "the request path's dot-segments lead outside /v1/";
  }
  return "bad request path";
}
