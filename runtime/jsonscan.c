#include "jsonscan.h"

#include <stdint.h>
#include <string.h>

/* Parsing state of one scan: the body and where it is. */
struct scan {
  const char *s;
  size_t len;
  size_t i;
};

static void skip_ws(struct scan *sc) {
  while (sc->i < sc->len) {
    char c = sc->s[sc->i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    sc->i++;
  }
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static long hex4(const char *p) {
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval((unsigned char)p[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* Output of a checked string: decoded bytes go to OUT while they fit; N
 * counts them all. OUT NULL checks only. */
struct sink {
  char *out;
  size_t cap;
  size_t n;
};

static void put(struct sink *k, unsigned char b) {
  if (k->out != NULL && k->n < k->cap) k->out[k->n] = (char)b;
  k->n++;
}

static void put_cp(struct sink *k, uint32_t cp) {
  if (cp < 0x80) {
    put(k, (unsigned char)cp);
  } else if (cp < 0x800) {
    put(k, (unsigned char)(0xc0 | (cp >> 6)));
    put(k, (unsigned char)(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    put(k, (unsigned char)(0xe0 | (cp >> 12)));
    put(k, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
    put(k, (unsigned char)(0x80 | (cp & 0x3f)));
  } else {
    put(k, (unsigned char)(0xf0 | (cp >> 18)));
    put(k, (unsigned char)(0x80 | ((cp >> 12) & 0x3f)));
    put(k, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
    put(k, (unsigned char)(0x80 | (cp & 0x3f)));
  }
}

/* Length of the valid UTF-8 sequence at P (AVAIL bytes readable) whose lead
 * byte is >= 0x80, or 0 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t avail) {
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (avail < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if (p[k] < 0x80 || p[k] > 0xbf) return 0;
  return n;
}

/* S[I] is '"': check the whole string token as a JSON parser would and
 * decode it into K. Returns the index just past the closing quote, or 0. */
static size_t check_string(const char *s, size_t len, size_t i, struct sink *k) {
  i++;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') return i + 1;
    if (c < 0x20) return 0;
    if (c >= 0x80) {
      size_t n = utf8_len((const unsigned char *)s + i, len - i);
      if (n == 0) return 0;
      for (size_t j = 0; j < n; j++) put(k, (unsigned char)s[i + j]);
      i += n;
      continue;
    }
    if (c != '\\') {
      put(k, c);
      i++;
      continue;
    }
    if (len - i < 2) return 0;
    unsigned char e = (unsigned char)s[i + 1];
    if (e != 'u') {
      static const char from[] = "\"\\/bfnrt";
      static const char to[] = "\"\\/\b\f\n\r\t";
      const char *p = e != '\0' ? strchr(from, e) : NULL;
      if (p == NULL) return 0;
      put(k, (unsigned char)to[p - from]);
      i += 2;
      continue;
    }
    if (len - i < 6) return 0;
    long cp = hex4(s + i + 2);
    if (cp <= 0) return 0; /* malformed, or \u0000 (JSON parsers reject it by default) */
    i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      /* a high surrogate must be followed by an escaped low one */
      if (len - i < 6 || s[i] != '\\' || s[i + 1] != 'u') return 0;
      long lo = hex4(s + i + 2);
      if (lo < 0xdc00 || lo > 0xdfff) return 0;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      i += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      return 0;
    }
    put_cp(k, (uint32_t)cp);
  }
  return 0;
}

/* Nested values are skipped 64 bytes at a time: one bit per byte says
 * where the quotes, backslashes and brackets are; escaped bytes and string
 * interiors are masked out with bit operations, so only brackets outside
 * strings (and unescaped backslashes) cost a step each. */
struct block {
  uint64_t quote, backslash, bracket; /* bracket: a superset, see classify */
};

#if defined(__SSE2__) && !defined(QCC_JSONSCAN_SCALAR)
#include <emmintrin.h>

static uint64_t mask16(__m128i v, __m128i c) {
  return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c));
}

/* inlined in both walks: a call per 64 bytes shows on a 1 MB body */
__attribute__((always_inline)) static inline void classify(const unsigned char *p, struct block *b) {
  const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
  /* x | 0x26 == 0x7f for the four brackets (and 'Y', '_', 'y', DEL: the
   * caller looks at the byte) */
  const __m128i fold = _mm_set1_epi8(0x26), br = _mm_set1_epi8(0x7f);
  __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
  __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
  __m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
  b->quote = mask16(v0, q) | mask16(v1, q) << 16 | mask16(v2, q) << 32 | mask16(v3, q) << 48;
  b->backslash =
      mask16(v0, bs) | mask16(v1, bs) << 16 | mask16(v2, bs) << 32 | mask16(v3, bs) << 48;
  b->bracket = mask16(_mm_or_si128(v0, fold), br) | mask16(_mm_or_si128(v1, fold), br) << 16 |
               mask16(_mm_or_si128(v2, fold), br) << 32 |
               mask16(_mm_or_si128(v3, fold), br) << 48;
}
#else
/* inlined in both walks: a call per 64 bytes shows on a 1 MB body */
__attribute__((always_inline)) static inline void classify(const unsigned char *p, struct block *b) {
  b->quote = b->backslash = b->bracket = 0;
  for (int k = 0; k < 64; k++) {
    uint64_t bit = (uint64_t)1 << k;
    unsigned char c = p[k];
    if (c == '"') b->quote |= bit;
    if (c == '\\') b->backslash |= bit;
    if ((c | 0x26) == 0x7f) b->bracket |= bit;
  }
}
#endif

/* Inclusive prefix XOR: bit k = XOR of bits 0..k. */
static uint64_t prefix_xor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

/* Bytes escaped by a backslash in a block whose backslashes are BS; *CARRY
 * (in and out, 0 or 1) says the block's first byte is escaped by the one
 * before. A run of backslashes escapes the byte after it when its length is
 * odd. Adding a run's first bit to the run carries to the byte after it, so
 * for runs starting on even bits the odd landing bits are the escaped ones,
 * and the other way round; a run still open at bit 63 escapes the next
 * block's first byte when it started on an odd bit. */
static uint64_t escaped(uint64_t bs, uint64_t *carry) {
  const uint64_t even = 0x5555555555555555ull, odd = ~even;
  uint64_t b = bs & ~*carry; /* an escaped backslash at bit 0 is a plain byte */
  uint64_t starts = b & ~(b << 1);
  uint64_t from_even = (b + (starts & even)) & ~b & odd;
  uint64_t sum;
  bool out = __builtin_add_overflow(b, starts & odd, &sum);
  uint64_t from_odd = sum & ~b & even;
  uint64_t esc = from_even | from_odd | *carry;
  *carry = out;
  return esc;
}

/* S[I] is '{' or '[': the index just past its matching bracket, or 0. Only
 * the structure is checked (strings closed, brackets matched); DEPTH is the
 * nesting level of the container holding this one. One bit per level says
 * which bracket closes it. */
static size_t skip_container(const char *s, size_t len, size_t i, size_t depth) {
  uint64_t closes_brace[QCC_JSONSCAN_MAX_DEPTH / 64] = {0};
  size_t base = depth;
  uint64_t esc_carry = 0, in_string = 0; /* in_string: all ones inside a string */
  unsigned char tail[64];
  for (size_t at = i; at < len; at += 64) {
    const unsigned char *p = (const unsigned char *)s + at;
    if (len - at < 64) { /* never read past the body: pad the rest with spaces */
      memset(tail, ' ', sizeof tail);
      memcpy(tail, p, len - at);
      p = tail;
    }
    struct block b;
    classify(p, &b);
    uint64_t quotes = b.quote;
    if ((b.backslash | esc_carry) != 0) quotes &= ~escaped(b.backslash, &esc_carry);
    uint64_t inside = prefix_xor(quotes) ^ in_string;
    in_string = (uint64_t)0 - (inside >> 63);
    uint64_t events = b.bracket & ~inside;
    if (events == 0) continue;
    while (events != 0) {
      unsigned k = (unsigned)__builtin_ctzll(events);
      events &= events - 1;
      unsigned char c = p[k];
      if (c == '{' || c == '[') {
        if (depth >= QCC_JSONSCAN_MAX_DEPTH) return 0;
        uint64_t bit = (uint64_t)1 << (depth & 63);
        if (c == '{')
          closes_brace[depth >> 6] |= bit;
        else
          closes_brace[depth >> 6] &= ~bit;
        depth++;
      } else if (c == '}' || c == ']') {
        if (depth == base) return 0;
        depth--;
        bool brace = (closes_brace[depth >> 6] >> (depth & 63)) & 1;
        if (brace != (c == '}')) return 0;
        if (depth == base) return at + k + 1;
      }
    }
  }
  return 0;
}

static size_t skip_number(const char *s, size_t len, size_t i) {
  if (i < len && s[i] == '-') i++;
  if (i >= len) return 0;
  if (s[i] == '0') {
    i++;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  } else {
    return 0;
  }
  if (i < len && s[i] == '.') {
    size_t d = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return 0;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return 0;
  }
  return i;
}

static size_t skip_literal(const char *s, size_t len, size_t i, const char *lit) {
  size_t n = strlen(lit);
  if (len - i < n || memcmp(s + i, lit, n) != 0) return 0;
  return i + n;
}

/* Skip the member value at SC->i, checking scalars and top-level-ish
 * strings fully and containers by structure. Returns 0 or -1. */
static int skip_value(struct scan *sc, size_t depth) {
  const char *s = sc->s;
  size_t len = sc->len, i = sc->i, end;
  if (i >= len) return -1;
  switch (s[i]) {
  case '"': {
    struct sink none = {0};
    end = check_string(s, len, i, &none);
    break;
  }
  case '{':
  case '[': end = skip_container(s, len, i, depth); break;
  case 't': end = skip_literal(s, len, i, "true"); break;
  case 'f': end = skip_literal(s, len, i, "false"); break;
  case 'n': end = skip_literal(s, len, i, "null"); break;
  default: end = skip_number(s, len, i); break;
  }
  if (end == 0) return -1;
  sc->i = end;
  return 0;
}

/* The members this scan looks for, at the level it is at. */
enum key { KEY_OTHER, KEY_MODEL, KEY_STREAM, KEY_METADATA, KEY_USER_ID };

/* Read the key token at SC->i (checked fully) and say which one it is. */
static int read_key(struct scan *sc, bool top, enum key *key) {
  if (sc->i >= sc->len || sc->s[sc->i] != '"') return -1;
  char buf[16];
  struct sink k = {buf, sizeof buf, 0};
  size_t end = check_string(sc->s, sc->len, sc->i, &k);
  if (end == 0) return -1;
  sc->i = end;
  *key = KEY_OTHER;
  if (k.n > sizeof buf) return 0;
#define IS(lit) (k.n == sizeof lit - 1 && memcmp(buf, lit, k.n) == 0)
  if (top && IS("model")) *key = KEY_MODEL;
  else if (top && IS("stream")) *key = KEY_STREAM;
  else if (top && IS("metadata")) *key = KEY_METADATA;
  else if (!top && IS("user_id")) *key = KEY_USER_ID;
#undef IS
  return 0;
}

/* Past the member at SC->i: ',' (returns 1, more follow) or '}' (0). */
static int after_member(struct scan *sc) {
  skip_ws(sc);
  if (sc->i >= sc->len) return -1;
  char c = sc->s[sc->i++];
  if (c == '}') return 0;
  if (c != ',') return -1;
  skip_ws(sc);
  return 1;
}

/* The string value at SC->i, checked fully: its span, or -1. */
static int string_value(struct scan *sc, struct qcc_json_span *span) {
  struct sink none = {0};
  size_t end = check_string(sc->s, sc->len, sc->i, &none);
  if (end == 0) return -1;
  span->off = sc->i;
  span->len = end - sc->i;
  sc->i = end;
  return 0;
}

/* The object "metadata" at SC->i ('{'), its members checked like the top
 * level's: the last "user_id" string, if any, goes to F. */
static int scan_metadata(struct scan *sc, struct qcc_jsonscan_facts *f) {
  f->has_user_id = false;
  sc->i++;
  skip_ws(sc);
  if (sc->i < sc->len && sc->s[sc->i] == '}') {
    sc->i++;
    return 0;
  }
  for (;;) {
    enum key key;
    if (read_key(sc, false, &key) != 0) return -1;
    skip_ws(sc);
    if (sc->i >= sc->len || sc->s[sc->i] != ':') return -1;
    sc->i++;
    skip_ws(sc);
    if (key == KEY_USER_ID && sc->i < sc->len && sc->s[sc->i] == '"') {
      if (string_value(sc, &f->user_id) != 0) return -1;
      f->has_user_id = true;
    } else {
      if (key == KEY_USER_ID) f->has_user_id = false;
      if (skip_value(sc, 2) != 0) return -1;
    }
    int more = after_member(sc);
    if (more < 0) return -1;
    if (more == 0) return 0;
  }
}

static int scan_member_value(struct scan *sc, enum key key, struct qcc_jsonscan_facts *f) {
  const char *s = sc->s;
  size_t i = sc->i;
  bool str = i < sc->len && s[i] == '"';
  switch (key) {
  case KEY_MODEL:
    f->has_model = false;
    if (!str) break;
    if (string_value(sc, &f->model) != 0) return -1;
    f->has_model = true;
    /* the last slot follows the last member: what a parser reads is always kept */
    if (f->model_count < QCC_JSONSCAN_MAX_MODELS) f->model_count++;
    f->models[f->model_count - 1] = f->model;
    return 0;
  case KEY_STREAM:
    f->stream = -1;
    if (skip_value(sc, 1) != 0) return -1;
    if (sc->i - i == 4 && memcmp(s + i, "true", 4) == 0) f->stream = 1;
    if (sc->i - i == 5 && memcmp(s + i, "false", 5) == 0) f->stream = 0;
    return 0;
  case KEY_METADATA:
    if (i < sc->len && s[i] == '{') return scan_metadata(sc, f);
    f->has_user_id = false;
    break;
  default: break;
  }
  return skip_value(sc, 1);
}

static void nothing(struct qcc_jsonscan_facts *f) {
  memset(f, 0, sizeof *f);
  f->stream = -1;
}

/* The top-level object, member by member. With STOP (the bounded mode's
 * front) it stops at the first value that is a container (but "metadata",
 * read as in the walk) and returns 1 with *STOP at that member's key.
 * Returns 0 when the whole object was read, -1 when it is not JSON. */
static int scan_top(struct scan *sc, struct qcc_jsonscan_facts *f, size_t *stop) {
  skip_ws(sc);
  if (sc->i >= sc->len || sc->s[sc->i] != '{') return -1;
  sc->i++;
  skip_ws(sc);
  if (sc->i < sc->len && sc->s[sc->i] == '}') {
    sc->i++;
  } else {
    for (;;) {
      size_t at = sc->i;
      enum key key;
      if (read_key(sc, true, &key) != 0) return -1;
      skip_ws(sc);
      if (sc->i >= sc->len || sc->s[sc->i] != ':') return -1;
      sc->i++;
      skip_ws(sc);
      if (stop != NULL && sc->i < sc->len &&
          (sc->s[sc->i] == '[' || (sc->s[sc->i] == '{' && key != KEY_METADATA))) {
        *stop = at;
        return 1;
      }
      if (scan_member_value(sc, key, f) != 0) return -1;
      int more = after_member(sc);
      if (more < 0) return -1;
      if (more == 0) break;
    }
  }
  skip_ws(sc);
  return sc->i == sc->len ? 0 : -1;
}

int qcc_jsonscan_body(const char *body, size_t len, struct qcc_jsonscan_facts *facts) {
  nothing(facts);
  if (body == NULL) return -1;
  struct scan sc = {body, len, 0};
  if (scan_top(&sc, facts, NULL) != 0) {
    nothing(facts);
    return -1;
  }
  facts->object = true;
  return 0;
}

long qcc_jsonscan_decode(const char *tok, size_t len, char *out, size_t cap) {
  if (tok == NULL || len < 2 || tok[0] != '"') return -1;
  struct sink k = {out, cap, 0};
  if (check_string(tok, len, 0, &k) != len || k.n > cap) return -1;
  return (long)k.n;
}

size_t qcc_jsonscan_encode(const char *s, size_t len, char *out) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  if (out != NULL) out[n] = '"';
  n++;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      if (out != NULL) {
        out[n] = '\\';
        out[n + 1] = (char)c;
      }
      n += 2;
    } else if (c < 0x20) {
      if (out != NULL) {
        memcpy(out + n, "\\u00", 4);
        out[n + 4] = hex[c >> 4];
        out[n + 5] = hex[c & 0xf];
      }
      n += 6;
    } else {
      if (out != NULL) out[n] = (char)c;
      n++;
    }
  }
  if (out != NULL) out[n] = '"';
  return n + 1;
}

static bool tail_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Whether BODY[0..*I) ends with WORD (after whitespace); *I moves before it. */
static bool tail_is(const char *body, size_t *i, const char *word, size_t n) {
  while (*i > 0 && tail_ws(body[*i - 1])) (*i)--;
  if (*i < n || memcmp(body + *i - n, word, n) != 0) return false;
  *i -= n;
  return true;
}

int qcc_jsonscan_tail_stream(const char *body, size_t len) {
  if (body == NULL) return -1;
  size_t i = len;
  if (!tail_is(body, &i, "}", 1)) return -1;
  int v = tail_is(body, &i, "true", 4) ? 1 : tail_is(body, &i, "false", 5) ? 0 : -1;
  if (v < 0 || !tail_is(body, &i, ":", 1) || !tail_is(body, &i, "\"stream\"", 8)) return -1;
  /* the key's opening quote is not an escaped one ending a longer key: a
   * member starts after '{' or ',' */
  if (!tail_is(body, &i, ",", 1) && !tail_is(body, &i, "{", 1)) return -1;
  return v;
}

/* ---- the bounded mode: the front and the back, not the middle ---- */

/* S[J] is a '"' closing a string at a structural position: the index of its
 * opening quote (the previous quote after an even run of backslashes: inside
 * a string every quote is escaped), not below LO; false when there is none.
 * A long run of backslashes is counted once per quote after it. */
static bool back_string(const char *s, size_t lo, size_t j, size_t *open) {
  size_t k = j;
  while (k > lo) {
    const char *q = memrchr(s + lo, '"', k - lo);
    if (q == NULL) return false;
    k = (size_t)(q - s);
    size_t n = 0;
    /* the run is counted to the body's start, not LO: a quote's parity is
     * exact even for a string that began below LO (then none is found) */
    while (k - n > 0 && s[k - n - 1] == '\\') n++;
    if ((n & 1) == 0) {
      *open = k;
      return true;
    }
  }
  return false;
}

/* Whether the byte at S[AT] is escaped by the run of backslashes before it
 * (read back to the body's start); -1 when the run is too long to count
 * cheaply (the caller walks the body instead). */
static int escaped_at(const char *s, size_t at) {
  size_t n = 0;
  while (n < at && s[at - n - 1] == '\\') {
    if (++n > 256) return -1;
  }
  return (int)(n & 1);
}

/* S[E-1] closes a container at a structural position: the index of its
 * opening bracket, not below LO, or SIZE_MAX. skip_container backwards, 64
 * bytes a step: a block's string state is known at its end (from the block
 * after it), so at its start it is that flipped once per quote; whether its
 * first byte is escaped is read from the backslashes before it. */
static size_t back_container(const char *s, size_t lo, size_t e) {
  uint64_t closed_by_brace[QCC_JSONSCAN_MAX_DEPTH / 64] = {0};
  size_t depth = 0;
  uint64_t end_in_string = 0; /* all ones when the block's end is inside a string */
  unsigned char pad[64];
  for (size_t end = e; end > lo;) {
    size_t at = end - lo >= 64 ? end - 64 : lo;
    const unsigned char *p = (const unsigned char *)s + at;
    unsigned shift = (unsigned)(64 - (end - at)); /* the block is P[0..64-SHIFT) */
    if (shift != 0) { /* never read below LO: pad the front with spaces */
      memset(pad, ' ', shift);
      memcpy(pad + shift, p, end - at);
      p = pad;
    }
    struct block b;
    classify(p, &b);
    uint64_t quotes = b.quote;
    int carry_in = escaped_at(s, at);
    if (carry_in < 0) return SIZE_MAX;
    /* the first real byte, escaped from before: no part of a run here */
    uint64_t first = (uint64_t)carry_in << shift, none = 0;
    if ((b.backslash | first) != 0) quotes &= ~(escaped(b.backslash & ~first, &none) | first);
    uint64_t flips = prefix_xor(quotes); /* bit 63: the block's quotes are odd */
    uint64_t start_in_string = end_in_string ^ ((uint64_t)0 - (flips >> 63));
    uint64_t inside = flips ^ start_in_string;
    uint64_t events = b.bracket & ~inside;
    while (events != 0) {
      unsigned k = 63 - (unsigned)__builtin_clzll(events);
      events &= ~((uint64_t)1 << k);
      unsigned char c = p[k];
      if (c == '}' || c == ']') {
        if (depth >= QCC_JSONSCAN_MAX_DEPTH) return SIZE_MAX;
        uint64_t bit = (uint64_t)1 << (depth & 63);
        if (c == '}')
          closed_by_brace[depth >> 6] |= bit;
        else
          closed_by_brace[depth >> 6] &= ~bit;
        depth++;
      } else if (c == '{' || c == '[') {
        if (depth == 0) return SIZE_MAX;
        depth--;
        bool brace = (closed_by_brace[depth >> 6] >> (depth & 63)) & 1;
        if (brace != (c == '{')) return SIZE_MAX;
        if (depth == 0) return at + k - shift;
      }
    }
    end_in_string = start_in_string;
    end = at;
  }
  return SIZE_MAX;
}

static bool ws_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t back_ws(const char *s, size_t lo, size_t j) {
  while (j > lo && ws_byte(s[j - 1])) j--;
  return j;
}

/* One member read backwards: KEY, its key token at KS, its value S[VS..VE). */
struct back_member {
  enum key key;
  size_t ks, vs, ve;
};

/* The member whose value ends at VE (S[VE-1] is its last byte), not reading
 * below LO. Returns 0, or -1 when it is not a member there. */
static int read_back(const char *s, size_t lo, size_t ve, struct back_member *m) {
  if (ve <= lo) return -1;
  size_t vs;
  char last = s[ve - 1];
  if (last == '"') {
    if (!back_string(s, lo, ve - 1, &vs)) return -1;
  } else if (last == '}' || last == ']') {
    vs = back_container(s, lo, ve);
    if (vs == SIZE_MAX) return -1;
  } else {
    vs = ve;
    while (vs > lo && ((s[vs - 1] >= '0' && s[vs - 1] <= '9') || (s[vs - 1] >= 'a' && s[vs - 1] <= 'z') ||
                       s[vs - 1] == '.' || s[vs - 1] == '+' || s[vs - 1] == '-' || s[vs - 1] == 'E'))
      vs--;
    if (vs == ve) return -1;
    struct scan sc = {s, ve, vs};
    if (skip_value(&sc, 1) != 0 || sc.i != ve) return -1;
  }
  size_t j = back_ws(s, lo, vs);
  if (j == lo || s[j - 1] != ':') return -1;
  j = back_ws(s, lo, j - 1);
  if (j == lo || s[j - 1] != '"') return -1;
  size_t ks;
  if (!back_string(s, lo, j - 1, &ks)) return -1;
  struct scan sc = {s, j, ks};
  if (read_key(&sc, true, &m->key) != 0 || sc.i != j) return -1;
  m->ks = ks;
  m->vs = vs;
  m->ve = ve;
  return 0;
}

enum { NEED_MODEL = 1, NEED_METADATA = 2, NEED_STREAM = 4 };

/* Whether the '"' at S[P] (LEN bytes in all) opens a string that decodes to
 * the name of a key in NEED. Such a token is at most 8 letters of 6 bytes
 * each (\u escapes), so no more than that is read. */
static bool candidate(const char *s, size_t len, size_t p, unsigned need) {
  /* most quotes before an 'm', 's' or a backslash are no key: the next
   * byte rules them out without decoding */
  const char *t = s + p;
  if (len - p < 8) return false;
  if (t[1] == '\\' ? t[2] != 'u' || t[3] != '0' || t[4] != '0'
                    : t[2] != '\\' && t[2] != 'o' && t[2] != 'e' && t[2] != 't')
    return false;
  size_t end = len - p > 50 ? p + 50 : len;
  char buf[9];
  struct sink k = {buf, sizeof buf, 0};
  if (check_string(s, end, p, &k) == 0 || k.n > sizeof buf) return false;
#define IS(lit) (k.n == sizeof lit - 1 && memcmp(buf, lit, k.n) == 0)
  return ((need & NEED_MODEL) && IS("model")) || ((need & NEED_METADATA) && IS("metadata")) ||
         ((need & NEED_STREAM) && IS("stream"));
#undef IS
}

/* A key named after one in NEED starts with a quote and then its first
 * letter or a backslash: the pairs looked for (L1 and L2 are the letters). */
static size_t pairs_scalar(const char *s, size_t len, size_t i, size_t to, char l1, char l2,
                           unsigned need) {
  for (; i + 1 < to; i++) {
    char b = s[i + 1];
    if (s[i] == '"' && (b == l1 || b == l2 || b == '\\') && candidate(s, len, i, need)) return i;
  }
  return SIZE_MAX;
}

#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
#include <immintrin.h>

/* Quotes followed by L1, L2 or a backslash in 32 bytes at X (Y: one byte on). */
#define PAIRS32(x, y, q, a1, a2, bs, two)                                                      \
  _mm256_and_si256(_mm256_cmpeq_epi8(x, q),                                                    \
                   _mm256_or_si256((two) ? _mm256_or_si256(_mm256_cmpeq_epi8(y, a1),           \
                                                           _mm256_cmpeq_epi8(y, a2))           \
                                         : _mm256_cmpeq_epi8(y, a1),                           \
                                   _mm256_cmpeq_epi8(y, bs)))

/* The same, 64 bytes a step with AVX2 (the middle is most of a big body).
 * TWO: L2 differs from L1 (a constant where it is inlined). */
__attribute__((target("avx2"), always_inline)) static inline size_t
pairs_avx2(const char *s, size_t len, size_t i, size_t to, char l1, char l2, unsigned need, bool two) {
  const __m256i q = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\');
  const __m256i a1 = _mm256_set1_epi8(l1), a2 = _mm256_set1_epi8(l2);
  for (; to - i >= 65; i += 64) {
    const __m256i *p = (const __m256i *)(const void *)(s + i);
    const __m256i *r = (const __m256i *)(const void *)(s + i + 1);
    __m256i x0 = _mm256_loadu_si256(p), x1 = _mm256_loadu_si256(p + 1);
    __m256i y0 = _mm256_loadu_si256(r), y1 = _mm256_loadu_si256(r + 1);
    __m256i h0 = PAIRS32(x0, y0, q, a1, a2, bs, two), h1 = PAIRS32(x1, y1, q, a1, a2, bs, two);
    __m256i h = _mm256_or_si256(h0, h1);
    if (_mm256_testz_si256(h, h)) continue;
    uint64_t m = (uint32_t)_mm256_movemask_epi8(h0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(h1) << 32;
    while (m != 0) {
      size_t at = i + (size_t)__builtin_ctzll(m);
      if (candidate(s, len, at, need)) return at;
      m &= m - 1;
    }
  }
  return pairs_scalar(s, len, i, to, l1, l2, need);
}

__attribute__((target("avx2"))) static size_t pairs_avx2_one(const char *s, size_t len, size_t i,
                                                             size_t to, char l1, unsigned need) {
  return pairs_avx2(s, len, i, to, l1, l1, need, false);
}

__attribute__((target("avx2"))) static size_t pairs_avx2_two(const char *s, size_t len, size_t i,
                                                             size_t to, char l1, char l2, unsigned need) {
  return pairs_avx2(s, len, i, to, l1, l2, need, true);
}
#undef PAIRS32
#endif

/* The first string in S[FROM..TO) that could be a member named after a key
 * in NEED (LEN: the body's length), or SIZE_MAX. */
static size_t middle_may_hold(const char *s, size_t len, size_t from, size_t to, unsigned need) {
  char l1 = (need & (NEED_MODEL | NEED_METADATA)) ? 'm' : 's';
  char l2 = (need & NEED_STREAM) ? 's' : l1;
#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
  if (__builtin_cpu_supports("avx2"))
    return l1 == l2 ? pairs_avx2_one(s, len, from, to, l1, need)
                    : pairs_avx2_two(s, len, from, to, l1, l2, need);
#endif
  return pairs_scalar(s, len, from, to, l1, l2, need);
}

/* ---- the middle's top level, found by counting its depth, not checking it ---- */

struct depth_block {
  uint64_t quote, backslash, open, close;
};

/* The bits of block B inside a string (opening quotes included, closing
 * ones not); the carries IN_STRING and ESC move on to the next block. PX is
 * the prefix XOR (a carry-less multiply where the CPU has one). Most quotes
 * follow no backslash: escaped() runs only for a block where one may be
 * escaped or whose last bytes are backslashes. */
__attribute__((always_inline)) static inline uint64_t
inside_of(const struct depth_block *b, uint64_t *in_string, uint64_t *esc, uint64_t *quotes,
          uint64_t (*px)(uint64_t)) {
  uint64_t q = b->quote, bs = b->backslash;
  if (((q & (bs << 1 | *esc)) | (bs >> 63)) != 0)
    q &= ~escaped(bs, esc);
  else
    *esc = 0;
  uint64_t inside = px(q) ^ *in_string;
  *in_string = (uint64_t)0 - (inside >> 63);
  *quotes = q;
  return inside;
}

/* The quotes and backslashes of a block; its brackets (BRACKETS true, for
 * a block not all inside a string). */
static void depth_classify_scalar(const unsigned char *p, struct depth_block *b, bool brackets) {
  if (brackets) {
    b->open = b->close = 0;
    for (int k = 0; k < 64; k++) {
      uint64_t bit = (uint64_t)1 << k;
      if ((p[k] | 0x20) == '{') b->open |= bit; /* '{' or '[' */
      if ((p[k] | 0x20) == '}') b->close |= bit; /* '}' or ']' */
    }
    return;
  }
  b->quote = b->backslash = 0;
  for (int k = 0; k < 64; k++) {
    uint64_t bit = (uint64_t)1 << k;
    if (p[k] == '"') b->quote |= bit;
    if (p[k] == '\\') b->backslash |= bit;
  }
}

/* The first string in S[FROM..TO) that opens at depth 1 or less and could
 * be a member named after a key in NEED, or SIZE_MAX. S[FROM] is at depth
 * 1 outside any string (the front's first key not read); the nesting is
 * counted forward 64 bytes a step: strings masked out as in skip_container,
 * brackets outside them counted (popcount), not matched. For a JSON object
 * the count is exact; for anything else the bounded mode's answer is a
 * guess anyway. Only a block whose depth may come down to 1 has its
 * strings looked at: in a message history none does. */
/* The depth count's state between blocks. */
struct depth_count {
  long d;             /* nesting at the block's start (the top-level object is 1) */
  uint64_t in_string; /* all ones when the block starts inside a string */
  uint64_t esc;       /* 1 when its first byte is escaped */
};

/* One block of top_level_with at AT (BLK: its bytes); the candidate's
 * index or SIZE_MAX. */
__attribute__((always_inline)) static inline size_t
top_level_block(const char *s, size_t len, size_t at, const unsigned char *blk, size_t to,
                unsigned need, struct depth_count *c,
                void (*classify_block)(const unsigned char *, struct depth_block *, bool),
                uint64_t (*px)(uint64_t)) {
  struct depth_block b;
  uint64_t q;
  classify_block(blk, &b, false);
  if ((b.quote | ~c->in_string) == 0) { /* all inside one string: only the escape carries */
    if (b.backslash >> 63)
      escaped(b.backslash, &c->esc);
    else
      c->esc = 0;
    return SIZE_MAX;
  }
  uint64_t inside = inside_of(&b, &c->in_string, &c->esc, &q, px);
  if (~inside == 0) return SIZE_MAX;
  classify_block(blk, &b, true);
  uint64_t opens = b.open & ~inside, closes = b.close & ~inside;
  long d = c->d;
  c->d = d + __builtin_popcountll(opens) - __builtin_popcountll(closes);
  if (d - __builtin_popcountll(closes) > 1) return SIZE_MAX; /* never back at the top level */
  uint64_t starts = q & inside; /* opening quotes */
  if (to - at < 64) starts &= ((uint64_t)1 << (to - at)) - 1;
  for (; starts != 0; starts &= starts - 1) {
    unsigned k = (unsigned)__builtin_ctzll(starts);
    uint64_t before = ((uint64_t)1 << k) - 1;
    long dk = d + __builtin_popcountll(opens & before) - __builtin_popcountll(closes & before);
    if (dk <= 1 && candidate(s, len, at + k, need)) return at + k;
  }
  return SIZE_MAX;
}

__attribute__((always_inline)) static inline size_t
top_level_with(const char *s, size_t len, size_t from, size_t to, unsigned need,
               void (*classify_block)(const unsigned char *, struct depth_block *, bool),
               uint64_t (*px)(uint64_t)) {
  struct depth_count c = {1, 0, 0};
  size_t at = from, whole = len >= 64 ? len - 63 : 0; /* blocks from below WHOLE are in the body */
  size_t end = to < whole ? to : whole;
  for (; at < end; at += 64) {
    size_t k = top_level_block(s, len, at, (const unsigned char *)s + at, to, need, &c, classify_block, px);
    if (k != SIZE_MAX) return k;
  }
  if (at >= to) return SIZE_MAX;
  /* the last block: never read past the body, pad the rest with spaces */
  unsigned char pad[64];
  memset(pad, ' ', sizeof pad);
  memcpy(pad, s + at, len - at);
  return top_level_block(s, len, at, pad, to, need, &c, classify_block, px);
}

#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
__attribute__((target("avx2"), always_inline)) static inline void
depth_classify_avx2(const unsigned char *p, struct depth_block *b, bool brackets) {
  __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
  __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
#define MASK64(c)                                                                                  \
  ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x0, c)) |                            \
   (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x1, c)) << 32)
  if (brackets) {
    const __m256i low = _mm256_set1_epi8(0x20);
    x0 = _mm256_or_si256(x0, low);
    x1 = _mm256_or_si256(x1, low);
    b->open = MASK64(_mm256_set1_epi8('{'));
    b->close = MASK64(_mm256_set1_epi8('}'));
  } else {
    b->quote = MASK64(_mm256_set1_epi8('"'));
    b->backslash = MASK64(_mm256_set1_epi8('\\'));
  }
#undef MASK64
}

/* prefix_xor in one carry-less multiply by all ones */
__attribute__((target("pclmul"), always_inline)) static inline uint64_t prefix_xor_clmul(uint64_t x) {
  return (uint64_t)_mm_cvtsi128_si64(
      _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8((char)0xff), 0));
}

__attribute__((target("avx2,pclmul,popcnt"))) static size_t
top_level_avx2(const char *s, size_t len, size_t from, size_t to, unsigned need) {
  return top_level_with(s, len, from, to, need, depth_classify_avx2, prefix_xor_clmul);
}
#endif

static size_t top_level_candidate(const char *s, size_t len, size_t from, size_t to, unsigned need) {
#if defined(__x86_64__) && !defined(QCC_JSONSCAN_SCALAR)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul"))
    return top_level_avx2(s, len, from, to, need);
#endif
  return top_level_with(s, len, from, to, need, depth_classify_scalar, prefix_xor);
}

/* Apply a member read from the back to F, the first time KEY is seen there
 * (the last member of that name). Returns 0 or -1 (not JSON). */
static int quick_back_fact(const char *s, const struct back_member *m, struct qcc_jsonscan_facts *f) {
  struct scan sc = {s, m->ve, m->vs};
  switch (m->key) {
  case KEY_MODEL:
    f->has_model = false;
    f->model_count = 0;
    if (s[m->vs] != '"') return 0;
    if (string_value(&sc, &f->model) != 0 || sc.i != m->ve) return -1;
    f->has_model = true;
    f->model_count = 1;
    f->models[0] = f->model;
    return 0;
  case KEY_STREAM:
    f->stream = m->ve - m->vs == 4 && memcmp(s + m->vs, "true", 4) == 0    ? 1
                : m->ve - m->vs == 5 && memcmp(s + m->vs, "false", 5) == 0 ? 0
                                                                           : -1;
    return 0;
  case KEY_METADATA:
    f->has_user_id = false;
    if (s[m->vs] != '{') return 0;
    return scan_metadata(&sc, f) == 0 && sc.i == m->ve ? 0 : -1;
  default: return 0;
  }
}

/* The back of the body, read member by member towards STOP. */
struct back {
  size_t stop;  /* the front's first key not read */
  size_t ve;    /* where the next member's value ends */
  size_t tail;  /* the key of the earliest member read */
  unsigned seen; /* NEED_* bits of keys met (their last members) */
  bool met;     /* the back reached STOP: every member was read */
};

/* Read members back while TAIL is above UNTIL, never below LO. Returns 0
 * (done or stopped: MET and TAIL say where), -1 when not JSON. */
static int read_tail(const char *body, size_t lo, size_t until, struct back *bk,
                     struct qcc_jsonscan_facts *f) {
  struct back_member m;
  while (!bk->met && bk->tail > until && read_back(body, lo, bk->ve, &m) == 0) {
    unsigned bit = m.key == KEY_MODEL      ? NEED_MODEL
                   : m.key == KEY_METADATA ? NEED_METADATA
                   : m.key == KEY_STREAM   ? NEED_STREAM
                                           : 0;
    if (bit != 0 && !(bk->seen & bit)) {
      if (quick_back_fact(body, &m, f) != 0) return -1;
      bk->seen |= bit;
    }
    bk->tail = m.ks;
    if (m.ks == bk->stop) {
      bk->met = true;
      break;
    }
    size_t j = back_ws(body, lo, m.ks);
    if (j == lo || body[j - 1] != ',') break;
    bk->ve = back_ws(body, lo, j - 1);
  }
  return 0;
}

/* Bytes the back is read over before the middle is looked at: the
 * settings after the history (metadata, max_tokens, thinking, stream). */
#define BACK_FIRST 4096

static int bounded(const char *body, size_t len, struct qcc_jsonscan_facts *f) {
  struct scan sc = {body, len, 0};
  struct back bk = {0};
  int front = scan_top(&sc, f, &bk.stop);
  if (front <= 0) return front; /* all read, or not JSON: the walk says the same */
  size_t stop = bk.stop, e = back_ws(body, stop, len);
  if (e <= stop || body[e - 1] != '}') return -1;
  bk.tail = e - 1;
  bk.ve = back_ws(body, stop, e - 1);
  size_t room = e - 1 - stop;
  size_t lo = room > BACK_FIRST ? e - 1 - BACK_FIRST : stop;
  if (read_tail(body, lo, stop, &bk, f) != 0) return -1;
  f->quick = true; /* MODELS holds the last model only, whatever was read */
  if (bk.met) return 0;
  unsigned need = (NEED_MODEL | NEED_METADATA | NEED_STREAM) & ~bk.seen;
  if (need == 0) return 0;
  /* A token that may be a later member (in Claude Code's bodies a Task
   * call's or a tool schema's "model"): when the first one is near the end
   * (a tool's parameter) the back is read over it, with every later one;
   * else the middle's depth is counted and only a token at the top level
   * makes it walk. Reading back costs about twice the count per byte and
   * fails on a container that reaches below LO. */
  size_t at = middle_may_hold(body, len, stop, bk.tail, need);
  if (at == SIZE_MAX) return 0;
  lo = room > QCC_JSONSCAN_TAIL_BUDGET ? e - 1 - QCC_JSONSCAN_TAIL_BUDGET : stop;
  if (at >= lo && (e - at) * 2 < at - stop) {
    if (read_tail(body, lo, at, &bk, f) != 0) return -1;
    if (bk.met || bk.tail <= at) return 0;
  }
  return top_level_candidate(body, len, stop, bk.tail, need) == SIZE_MAX ? 0 : -1;
}

int qcc_jsonscan_bounded(const char *body, size_t len, struct qcc_jsonscan_facts *facts) {
  nothing(facts);
  if (body == NULL) return -1;
  int rc = bounded(body, len, facts);
  if (rc == 0) {
    facts->object = true;
    return 0;
  }
  /* not JSON where read, or a later duplicate may hide in the middle */
  return qcc_jsonscan_body(body, len, facts);
}

int qcc_jsonscan_quick(const char *body, size_t len, struct qcc_jsonscan_facts *facts) {
  if (len < QCC_JSONSCAN_QUICK_MIN) return qcc_jsonscan_body(body, len, facts);
  return qcc_jsonscan_bounded(body, len, facts);
}
