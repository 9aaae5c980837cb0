/* The forward walk over a JSON request body: the top-level object read
 * member by member (keys and strings checked and decoded as a parser
 * would, numbers and literals checked, nested values skipped by structure
 * 64 bytes a step), which gives qcc_jsonscan_body its facts and the bounded
 * mode (jsonscan_bounded.c) its front; plus the string token decoder and
 * encoder and the "stream" read from the body's last bytes. */
#include "jsonscan.h"

#include <stdint.h>
#include <string.h>

#include "jsonscan_int.h"

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
size_t jsonscan_check_string(const char *s, size_t len, size_t i, struct sink *k) {
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
    jsonscan_classify(p, &b);
    uint64_t quotes = b.quote;
    if ((b.backslash | esc_carry) != 0) quotes &= ~jsonscan_escaped(b.backslash, &esc_carry);
    uint64_t inside = jsonscan_prefix_xor(quotes) ^ in_string;
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
int jsonscan_skip_value(struct scan *sc, size_t depth) {
  const char *s = sc->s;
  size_t len = sc->len, i = sc->i, end;
  if (i >= len) return -1;
  switch (s[i]) {
  case '"': {
    struct sink none = {0};
    end = jsonscan_check_string(s, len, i, &none);
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


/* Read the key token at SC->i (checked fully) and say which one it is. */
int jsonscan_read_key(struct scan *sc, bool top, enum key *key) {
  if (sc->i >= sc->len || sc->s[sc->i] != '"') return -1;
  char buf[16];
  struct sink k = {buf, sizeof buf, 0};
  size_t end = jsonscan_check_string(sc->s, sc->len, sc->i, &k);
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

/* The object "metadata" at SC->i ('{'), its members checked like the top
 * level's: the last "user_id" string, if any, goes to F. */
int jsonscan_scan_metadata(struct scan *sc, struct qcc_jsonscan_facts *f) {
  f->has_user_id = false;
  sc->i++;
  skip_ws(sc);
  if (sc->i < sc->len && sc->s[sc->i] == '}') {
    sc->i++;
    return 0;
  }
  for (;;) {
    enum key key;
    if (jsonscan_read_key(sc, false, &key) != 0) return -1;
    skip_ws(sc);
    if (sc->i >= sc->len || sc->s[sc->i] != ':') return -1;
    sc->i++;
    skip_ws(sc);
    if (key == KEY_USER_ID && sc->i < sc->len && sc->s[sc->i] == '"') {
      if (jsonscan_string_value(sc, &f->user_id) != 0) return -1;
      f->has_user_id = true;
    } else {
      if (key == KEY_USER_ID) f->has_user_id = false;
      if (jsonscan_skip_value(sc, 2) != 0) return -1;
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
    if (jsonscan_string_value(sc, &f->model) != 0) return -1;
    f->has_model = true;
    /* the last slot follows the last member: what a parser reads is always kept */
    if (f->model_count < QCC_JSONSCAN_MAX_MODELS) f->model_count++;
    f->models[f->model_count - 1] = f->model;
    return 0;
  case KEY_STREAM:
    f->stream = -1;
    if (jsonscan_skip_value(sc, 1) != 0) return -1;
    if (sc->i - i == 4 && memcmp(s + i, "true", 4) == 0) f->stream = 1;
    if (sc->i - i == 5 && memcmp(s + i, "false", 5) == 0) f->stream = 0;
    return 0;
  case KEY_METADATA:
    if (i < sc->len && s[i] == '{') return jsonscan_scan_metadata(sc, f);
    f->has_user_id = false;
    break;
  default: break;
  }
  return jsonscan_skip_value(sc, 1);
}

/* The top-level object, member by member. With STOP (the bounded mode's
 * front) it stops at the first value that is a container (but "metadata",
 * read as in the walk) and returns 1 with *STOP at that member's key.
 * Returns 0 when the whole object was read, -1 when it is not JSON. */
int jsonscan_scan_top(struct scan *sc, struct qcc_jsonscan_facts *f, size_t *stop) {
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
      if (jsonscan_read_key(sc, true, &key) != 0) return -1;
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
  jsonscan_nothing(facts);
  if (body == NULL) return -1;
  struct scan sc = {body, len, 0};
  if (jsonscan_scan_top(&sc, facts, NULL) != 0) {
    jsonscan_nothing(facts);
    return -1;
  }
  facts->object = true;
  return 0;
}

long qcc_jsonscan_decode(const char *tok, size_t len, char *out, size_t cap) {
  if (tok == NULL || len < 2 || tok[0] != '"') return -1;
  struct sink k = {out, cap, 0};
  if (jsonscan_check_string(tok, len, 0, &k) != len || k.n > cap) return -1;
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
