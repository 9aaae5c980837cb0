#include "usagecap.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { L_START = 0, L_FIELD, L_EVENT, L_DATA, L_SKIP };
enum { T_VALUE = 0, T_STRING, T_KEY, T_NUMBER, T_LITERAL };
enum { TAG_ROOT = 1, TAG_MESSAGE, TAG_USAGE, TAG_CACHE, TAG_OTHER };
/* The keys that can lead to usage, named when the key ends (K_NONE: any other,
 * a cut-off or escaped one, or none since the last value). */
enum { K_NONE = 0, K_MESSAGE, K_USAGE, K_CACHE_CREATION, K_IN, K_OUT, K_CW, K_CR, K_5M, K_1H };

/* Every such key has its own length but the two ephemeral ones. */
static uint8_t key_id(const char *k, size_t n) {
#define KEY_IS(s) (n == sizeof s - 1 && memcmp(k, s, sizeof s - 1) == 0)
  switch (n) {
  case 5: return KEY_IS("usage") ? K_USAGE : K_NONE;
  case 7: return KEY_IS("message") ? K_MESSAGE : K_NONE;
  case 12: return KEY_IS("input_tokens") ? K_IN : K_NONE;
  case 13: return KEY_IS("output_tokens") ? K_OUT : K_NONE;
  case 14: return KEY_IS("cache_creation") ? K_CACHE_CREATION : K_NONE;
  case 23: return KEY_IS("cache_read_input_tokens") ? K_CR : K_NONE;
  case 25: return KEY_IS("ephemeral_5m_input_tokens") ? K_5M
                : KEY_IS("ephemeral_1h_input_tokens") ? K_1H : K_NONE;
  case 27: return KEY_IS("cache_creation_input_tokens") ? K_CW : K_NONE;
  default: return K_NONE;
  }
#undef KEY_IS
}

static void settle(struct qcc_usagecap *c);

static void json_reset(struct qcc_usagecap *c) {
  c->tok = T_VALUE;
  c->esc = false;
  c->expect_key = false;
  c->dead = false;
  c->depth = 0;
  settle(c);
  c->klen = 0;
  c->kid = K_NONE;
  c->field_id = QCC_UC_N;
}

void qcc_usagecap_begin(struct qcc_usagecap *c, enum qcc_usagecap_kind kind) {
  memset(c, 0, sizeof *c);
  c->kind = (uint8_t)kind;
  for (int i = 0; i < QCC_UC_N; i++) c->v[i] = -2;
  json_reset(c);
}

static uint8_t cur_tag(const struct qcc_usagecap *c) {
  if (c->depth < 1 || c->depth > QCC_USAGECAP_DEPTH) return TAG_OTHER;
  return c->tag[c->depth - 1];
}

/* The open container's tag and kind, kept at hand: asked at every token,
 * changed only when depth does. Deeper than followed counts as an object. */
static void settle(struct qcc_usagecap *c) {
  c->ctag = cur_tag(c);
  c->cobj = c->depth >= 1 && (c->depth > QCC_USAGECAP_DEPTH || c->obj[c->depth - 1]);
}

/* The key just read names which count, in the current object? */
static uint8_t field_of(const struct qcc_usagecap *c) {
  uint8_t t = c->ctag;
  if (t == TAG_USAGE && c->kid >= K_IN && c->kid <= K_CR)
    return (uint8_t)(QCC_UC_IN + c->kid - K_IN);
  if (t == TAG_CACHE && c->kid >= K_5M) return (uint8_t)(QCC_UC_5M + c->kid - K_5M);
  return QCC_UC_N;
}

static void push(struct qcc_usagecap *c, bool object) {
  uint8_t parent = c->depth == 0 ? 0 : cur_tag(c);
  uint8_t tag = TAG_OTHER;
  if (c->depth == 0) tag = TAG_ROOT;
  else if (object && parent == TAG_ROOT && c->kid == K_MESSAGE) tag = TAG_MESSAGE;
  else if (object && (parent == TAG_ROOT || parent == TAG_MESSAGE) && c->kid == K_USAGE)
    tag = TAG_USAGE;
  else if (object && parent == TAG_USAGE && c->kid == K_CACHE_CREATION) tag = TAG_CACHE;
  if (tag == TAG_USAGE) c->seen = true;
  if ((unsigned)c->depth < QCC_USAGECAP_DEPTH) { /* never negative */
    c->tag[c->depth] = tag;
    c->obj[c->depth] = object;
  }
  c->depth++;
  settle(c);
  c->expect_key = object;
  c->klen = 0;
  c->kid = K_NONE;
}

/* A value ended: the count it was (if any) is settled. */
static void value_end(struct qcc_usagecap *c, int64_t v) {
  if (c->field_id < QCC_UC_N) c->v[c->field_id] = v;
  c->field_id = QCC_UC_N;
  c->klen = 0;
  c->kid = K_NONE;
}

static void number_end(struct qcc_usagecap *c) {
  c->tok = T_VALUE;
  bool ok = !c->nbad && c->ndig > 0 && c->num <= QCC_USAGE_MAX_TOKENS;
  value_end(c, ok ? c->num : QCC_USAGE_UNKNOWN);
}

/* Where the string's run of plain bytes ends: the next '"' or '\\' in
 * P[0..LEN), or LEN. Short runs (keys, most values) sixteen (SSE2) or eight
 * bytes at a time; long ones (text) with memchr. */
static inline size_t plain_run(const char *p, size_t len) {
  const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
  size_t i = 0;
#if defined(__SSE2__)
  /* sixteen at a time while the read allows (most values and keys fit one) */
  while (len - i >= 16 && i < 64) {
    __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('"')),
                                _mm_cmpeq_epi8(w, _mm_set1_epi8('\\')));
    unsigned m = (unsigned)_mm_movemask_epi8(hits);
    if (m) return i + (size_t)__builtin_ctz(m);
    i += 16;
  }
#endif
  while (len - i >= 8 && i < 64) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t hit = (((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* the lowest flagged byte is always a true match (a false one only
     * follows a true one) */
    if (hit) return i + (size_t)__builtin_ctzll(hit) / 8;
#else
    if (hit) break;
#endif
    i += 8;
  }
  if (len - i >= 8 && i >= 64) {
    const char *q = memchr(p + i, '"', len - i);
    size_t end = q != NULL ? (size_t)(q - p) : len;
    const char *b = memchr(p + i, '\\', end - i);
    return b != NULL ? (size_t)(b - p) : end;
  }
  for (; i < len; i++)
    if (p[i] == '"' || p[i] == '\\') return i;
  return len;
}

/* Skip string bytes: returns bytes used; sets tok back to T_VALUE at the
 * closing quote. Keys are kept (cut at the buffer; a cut key matches
 * nothing). */
static size_t string_bytes(struct qcc_usagecap *c, const char *p, size_t len) {
  size_t i = 0;
  bool key = c->tok == T_KEY;
  while (i < len) {
    if (c->esc) {
      c->esc = false;
      if (key) c->klen = sizeof c->key; /* escaped keys match nothing */
      i++;
      continue;
    }
    size_t end = i + plain_run(p + i, len - i);
    if (key && c->klen == 0 && end < len && p[end] == '"') {
      /* the whole key in this read: named in place, not copied */
      c->kid = key_id(p + i, end - i);
      c->tok = T_VALUE;
      c->field_id = field_of(c);
      c->expect_key = false;
      return end + 1;
    }
    if (key && c->klen < sizeof c->key) {
      size_t n = end - i;
      if (c->klen + n <= sizeof c->key) memcpy(c->key + c->klen, p + i, n), c->klen += (uint8_t)n;
      else c->klen = sizeof c->key;
    }
    i = end;
    if (i == len) break;
    if (p[i] == '\\') {
      c->esc = true;
      i++;
      continue;
    }
    c->tok = T_VALUE;
    if (key) {
      c->kid = c->klen < sizeof c->key ? key_id(c->key, c->klen) : K_NONE;
      c->field_id = field_of(c);
      c->expect_key = false;
    } else {
      value_end(c, QCC_USAGE_UNKNOWN); /* a count given as a string */
    }
    return i + 1;
  }
  return len;
}

static bool is_alpha(char ch) { return (unsigned)((ch | 0x20) - 'a') < 26; }

/* Number bytes after the ones NUM, NDIG, NBAD describe: returns where the
 * number ended (the next token's byte), or E with the number kept in C
 * (tok T_NUMBER) when the read ended inside it. */
static const char *number_bytes(struct qcc_usagecap *c, const char *p, const char *e, int64_t num,
                                unsigned ndig, bool nbad) {
  for (;;) {
    while (p < e && (unsigned)(*p - '0') < 10) {
      if (ndig < 15) num = num * 10 + (*p - '0');
      else nbad = true;
      if (ndig < 255) ndig++;
      p++;
    }
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')) {
      nbad = true;
      p++;
      continue;
    }
    break;
  }
  if (p == e) {
    c->tok = T_NUMBER;
    c->num = num;
    c->ndig = (uint8_t)ndig;
    c->nbad = nbad;
  } else {
    c->tok = T_VALUE;
    value_end(c, !nbad && ndig > 0 && num <= QCC_USAGE_MAX_TOKENS ? num : QCC_USAGE_UNKNOWN);
  }
  return p;
}

static const char *literal_bytes(struct qcc_usagecap *c, const char *p, const char *e) {
  while (p < e && is_alpha(*p)) p++;
  if (p == e) return e;
  c->tok = T_VALUE;
  value_end(c, QCC_USAGE_UNKNOWN);
  return p;
}

static void json_feed(struct qcc_usagecap *c, const char *p, size_t len) {
  const char *e = p + len;
  if (c->dead) return;
  /* a token the last read cut */
  if (c->tok == T_STRING || c->tok == T_KEY) p += string_bytes(c, p, len);
  else if (c->tok == T_NUMBER) p = number_bytes(c, p, e, c->num, c->ndig, c->nbad);
  else if (c->tok == T_LITERAL) p = literal_bytes(c, p, e);
  /* each token below either ends in this read or leaves p at e */
  while (p < e) {
    char ch = *p++;
    switch (ch) {
    case ' ': case '\t': case '\n': case '\r': case ':':
      break;
    case ',':
      if (c->cobj) c->expect_key = true;
      c->field_id = QCC_UC_N;
      break;
    case '{':
    case '[':
      if (c->field_id < QCC_UC_N) value_end(c, QCC_USAGE_UNKNOWN);
      push(c, ch == '{');
      break;
    case '}':
    case ']':
      if (c->depth == 0) {
        c->dead = true;
        return;
      }
      c->depth--;
      settle(c);
      c->expect_key = false;
      c->field_id = QCC_UC_N;
      break;
    case '"':
      if (c->cobj && c->expect_key) {
        c->tok = T_KEY;
        /* only keys where usage can be matter; others are never kept */
        c->klen = c->ctag == TAG_OTHER ? sizeof c->key : 0;
        c->kid = K_NONE;
      } else {
        c->tok = T_STRING;
      }
      {
        /* the usual string, whole in this read and without escapes */
        size_t r = plain_run(p, (size_t)(e - p));
        if (p + r < e && p[r] == '"') {
          c->tok = T_VALUE;
          if (!c->expect_key || !c->cobj) {
            value_end(c, QCC_USAGE_UNKNOWN); /* a count given as a string */
          } else {
            c->kid = c->ctag == TAG_OTHER ? K_NONE : key_id(p, r);
            c->field_id = field_of(c);
            c->expect_key = false;
            if (p + r + 1 < e && p[r + 1] == ':') r++; /* its colon: nothing to do */
          }
          p += r + 1;
          break;
        }
      }
      p += string_bytes(c, p, (size_t)(e - p));
      break;
    default:
      if (c->depth == 0) {
        c->dead = true; /* not a JSON object or array */
        return;
      } else if ((unsigned)(ch - '0') < 10 || ch == '-') {
        p = ch == '-' ? number_bytes(c, p, e, 0, 0, true)
                      : number_bytes(c, p, e, ch - '0', 1, false);
      } else {
        c->tok = T_LITERAL;
        p = literal_bytes(c, p, e);
      }
      break;
    }
  }
}

/* The end of a data line (or of the document): a number there is whole. */
static void json_line_end(struct qcc_usagecap *c) {
  if (c->tok == T_NUMBER) number_end(c);
  else if (c->tok == T_LITERAL) json_feed(c, "\n", 1);
}

static inline void event_end(struct qcc_usagecap *c) {
  /* most events never touched the JSON state */
  if (c->tok != T_VALUE || c->depth != 0 || c->dead || c->esc || c->field_id != QCC_UC_N) {
    json_line_end(c);
    json_reset(c);
  }
  c->ev_named = false;
  c->ev_usage = false;
}

static void event_name_end(struct qcc_usagecap *c) {
  c->ev_named = true;
  c->ev_usage = (c->evlen == 13 && memcmp(c->ev, "message_start", 13) == 0) ||
                (c->evlen == 13 && memcmp(c->ev, "message_delta", 13) == 0);
}

/* An event line that is most of a stream, and never usage. */
static const char SKIP_EVENT[] = "event: content_block_delta\n";

/* After the name of an event whose data is never read: its usual rest,
 * "data: ...\n\n", whole in this read, with one memchr; else its lines go
 * the usual way. */
static inline void skip_data(struct qcc_usagecap *c, const char *p, size_t len, size_t *at) {
  size_t i = *at;
  if (len - i > 5 && memcmp(p + i, "data:", 5) == 0) {
    const char *nl = memchr(p + i + 5, '\n', len - i - 5);
    if (nl != NULL && nl + 1 < p + len && nl[1] == '\n') {
      *at = (size_t)(nl - p) + 2;
      event_end(c);
    }
  }
}

static void sse_feed(struct qcc_usagecap *c, const char *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    switch (c->line) {
    case L_SKIP: {
      const char *nl = memchr(p + i, '\n', len - i);
      if (nl == NULL) return;
      i = (size_t)(nl - p) + 1;
      c->line = L_START;
      break;
    }
    case L_START: {
      /* whole lines in this read: the common ones without the byte machine */
      size_t left = len - i;
      if (left >= sizeof SKIP_EVENT - 1 && memcmp(p + i, SKIP_EVENT, sizeof SKIP_EVENT - 1) == 0) {
        /* the bulk of a stream: its data is never read */
        c->ev_named = true;
        c->ev_usage = false;
        i += sizeof SKIP_EVENT - 1;
        skip_data(c, p, len, &i);
        break;
      }
      /* every other "event: NAME" line whole in this read (a name after
       * more spaces goes the byte way) */
      if (left > 7 && memcmp(p + i, "event: ", 7) == 0 && p[i + 7] != ' ') {
        const char *name = p + i + 7;
        const char *nl = memchr(name, '\n', left - 7);
        if (nl != NULL) {
          /* a CR ends the name too (the rest of the line is skipped) */
          size_t n = (size_t)(nl - name);
          c->ev_named = true;
          c->ev_usage = n >= 13 && (n == 13 || name[13] == '\r') &&
                        (memcmp(name, "message_start", 13) == 0 ||
                         memcmp(name, "message_delta", 13) == 0);
          i = (size_t)(nl - p) + 1;
          if (!c->ev_usage) skip_data(c, p, len, &i);
          break;
        }
      }
      if (left >= 5 && memcmp(p + i, "data:", 5) == 0) {
        i += 5;
        c->line = c->ev_usage || !c->ev_named ? L_DATA : L_SKIP;
        break;
      }
      char ch = p[i++];
      if (ch == '\n') {
        event_end(c);
      } else if (ch == '\r') {
        /* the LF that follows ends the line */
      } else if (ch == ':') {
        c->line = L_SKIP;
      } else {
        c->field[0] = ch;
        c->flen = 1;
        c->line = L_FIELD;
      }
      break;
    }
    case L_FIELD: {
      char ch = p[i++];
      if (ch != ':' && ch != '\n') {
        if (c->flen < sizeof c->field) c->field[c->flen++] = ch;
        else c->line = L_SKIP;
        break;
      }
      bool is_event = c->flen == 5 && memcmp(c->field, "event", 5) == 0;
      bool is_data = c->flen == 4 && memcmp(c->field, "data", 4) == 0;
      if (ch == '\n') {
        c->line = L_START;
        if (is_event) {
          c->evlen = 0;
          event_name_end(c);
        }
      } else if (is_event) {
        c->evlen = 0;
        c->line = L_EVENT;
      } else if (is_data && (c->ev_usage || !c->ev_named)) {
        c->line = L_DATA;
      } else {
        c->line = L_SKIP;
      }
      break;
    }
    case L_EVENT: {
      char ch = p[i++];
      if (ch == '\n' || ch == '\r') {
        event_name_end(c);
        c->line = ch == '\n' ? L_START : L_SKIP;
      } else if (ch == ' ' && c->evlen == 0) {
        /* the optional space after the colon */
      } else if (c->evlen < sizeof c->ev) {
        c->ev[c->evlen++] = ch;
      } else {
        c->evlen = sizeof c->ev; /* too long for a name we read */
      }
      break;
    }
    case L_DATA: {
      const char *nl = memchr(p + i, '\n', len - i);
      size_t end = nl != NULL ? (size_t)(nl - p) : len;
      json_feed(c, p + i, end - i);
      if (nl == NULL) return;
      json_line_end(c);
      i = end + 1;
      c->line = L_START;
      break;
    }
    }
  }
}

void qcc_usagecap_feed(struct qcc_usagecap *c, const char *p, size_t len) {
  if (c->kind == QCC_USAGECAP_SSE) sse_feed(c, p, len);
  else if (c->kind == QCC_USAGECAP_JSON) json_feed(c, p, len);
}

static int64_t count_of(int64_t v) { return v == -2 ? 0 : v; }

bool qcc_usagecap_result(const struct qcc_usagecap *c, struct qcc_usage_tokens *out) {
  struct qcc_usagecap t = *c;
  /* a number at the very end of a JSON answer has no byte after it */
  if (t.kind == QCC_USAGECAP_JSON && t.tok == T_NUMBER) number_end(&t);
  if (!t.seen) {
    *out = (struct qcc_usage_tokens){QCC_USAGE_UNKNOWN, QCC_USAGE_UNKNOWN, QCC_USAGE_UNKNOWN,
                                     QCC_USAGE_UNKNOWN, QCC_USAGE_UNKNOWN};
    return false;
  }
  out->input = count_of(t.v[QCC_UC_IN]);
  out->output = count_of(t.v[QCC_UC_OUT]);
  out->cache_read = count_of(t.v[QCC_UC_CR]);
  if (t.v[QCC_UC_5M] != -2 || t.v[QCC_UC_1H] != -2) {
    out->cache_write_5m = count_of(t.v[QCC_UC_5M]);
    out->cache_write_1h = count_of(t.v[QCC_UC_1H]);
  } else {
    out->cache_write_5m = count_of(t.v[QCC_UC_CW]);
    out->cache_write_1h = 0;
  }
  return true;
}
